"""The one place where alkit chooses a device.

Everything else asks :func:`resolve_device` and keeps tensors there; nothing in a
query path moves data to the host until the selected indices are final.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterator

import torch

__all__ = ["resolve_device", "synchronize", "Timer", "exact_dtype", "deterministic_algorithms", "CUBLAS_WORKSPACE_CONFIG"]

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


def exact_dtype(device: torch.device | str) -> torch.dtype:
    """The dtype of alkit's exact reductions on ``device``: float64, or float32 on MPS (no float64 there)."""
    return torch.float32 if torch.device(device).type == "mps" else torch.float64


#: cuBLAS workspace setting that makes its matrix products deterministic (NVIDIA's documented value).
CUBLAS_WORKSPACE_CONFIG = ":4096:8"


@contextlib.contextmanager
def deterministic_algorithms(enabled: bool = True) -> Iterator[None]:
    """Run a block with ``torch.use_deterministic_algorithms(True)`` and deterministic cuDNN, then restore.

    ``index_add_``, ``scatter_add_`` and cuDNN convolutions are nondeterministic on CUDA, so without
    this a seed fixes the picks on the CPU only. Inside the block torch uses deterministic kernels
    and raises ``RuntimeError`` for an operation that has none; cuDNN autotuning is off. The flags
    are restored on exit (they are process-wide while the block runs). ``CUBLAS_WORKSPACE_CONFIG``
    is set to ``:4096:8`` when unset and left set, since cuBLAS reads it when it creates its
    workspace: set it before CUDA starts (a warning says when CUDA was already initialised
    without it). Deterministic kernels can be slower; ``make gpu-check`` measures the cost.

    Parameters
    ----------
    enabled : bool
        False makes the block a no-op (the current flags are kept, whatever they are).
    """
    if not enabled:
        yield
        return
    if os.environ.get("CUBLAS_WORKSPACE_CONFIG") not in (":4096:8", ":16:8"):
        if torch.cuda.is_initialized():
            warnings.warn(
                "deterministic mode: CUDA was initialised before CUBLAS_WORKSPACE_CONFIG was set, so cuBLAS may "
                f"keep a nondeterministic workspace; export CUBLAS_WORKSPACE_CONFIG={CUBLAS_WORKSPACE_CONFIG} "
                "before starting Python", RuntimeWarning, stacklevel=3)
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE_CONFIG
    saved = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[2], saved[3]
