"""The one place where alkit chooses a device.

Everything else asks :func:`resolve_device` and keeps tensors there; nothing in a
query path moves data to the host until the selected indices are final.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import torch

__all__ = ["resolve_device", "synchronize", "Timer", "seed_for", "make_generator"]

_VALID = ("auto", "cpu", "cuda", "mps")


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Resolve ``"auto"`` to cuda, then mps, then cpu; validate explicit names.

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"`` (or None), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Raises
    ------
    ValueError
        For an unknown name or a device that is not available here.
    """
    if isinstance(device, torch.device):
        return device
    name = "auto" if device is None else str(device)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    base = name.split(":")[0]
    if base not in _VALID:
        raise ValueError(f"unknown device {name!r}; use one of {', '.join(_VALID)} (or cuda:N)")
    if base == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; use --device auto or cpu")
    if base == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError("device 'mps' requested but MPS is not available; use --device auto or cpu")
    return torch.device(name)


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels so wall-clock timings are honest on asynchronous devices."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":  # pragma: no cover - no mps here
        torch.mps.synchronize()


class Timer:
    """Accumulate per-phase wall-clock seconds: ``with timer("train"): ...``."""

    def __init__(self, device: torch.device | None = None) -> None:
        self.device = device
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        if self.device is not None:
            synchronize(self.device)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if self.device is not None:
                synchronize(self.device)
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - t0


_PHASES = {"initial": 1, "train": 2, "query": 3, "oracle": 4, "mc": 5, "init_model": 6, "view": 7, "extra": 8}


def seed_for(seed: int, round_idx: int, phase: str) -> int:
    """A 63-bit seed derived from (run seed, round, phase).

    Deriving every random step from these three numbers (not from a running RNG)
    is what lets a resumed run replay exactly the selections of an uninterrupted one.
    """
    import numpy as np

    code = _PHASES.get(phase)
    if code is None:
        code = int.from_bytes(phase.encode()[:7].ljust(7, b"\0"), "little") + 100
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(round_idx) + 1, code]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``."""
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(int(seed))
    return g
