"""Every seed alkit uses: derivation, masking, generators, and seeded blocks of the global RNGs.

One rule holds the package together: no random step reads a running RNG. Each one gets a seed derived
from (run seed, round, phase) by :func:`seed_for`, and draws either from its own ``torch.Generator``
(:func:`make_generator`, :func:`cpu_generator`) or inside :func:`seeded`, which seeds the global
generators (weight initialisation, dropout) for one block and restores them after it. That is what
makes a seed fix the picks and lets a resumed run replay exactly the selections of an uninterrupted one.
Seeds are reduced to 63 bits (:data:`SEED_MASK`), the range ``torch.Generator.manual_seed`` accepts
from every derivation here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["SEED_MASK", "mask_seed", "seed_for", "make_generator", "cpu_generator", "seeded"]

#: 63 bits: every seed alkit derives is reduced to this range before it seeds a generator.
SEED_MASK = (1 << 63) - 1


def mask_seed(seed: int) -> int:
    """``int(seed)`` reduced to 63 bits (:data:`SEED_MASK`)."""
    return int(seed) & SEED_MASK


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
    return int((int(state[0]) << 31) ^ int(state[1])) & SEED_MASK


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``."""
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(int(seed))
    return g


def cpu_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` reduced to 63 bits (mini-batch orders, masks)."""
    return torch.Generator().manual_seed(mask_seed(seed))


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | str | None = None) -> Iterator[None]:
    """Seed every global torch generator for a block, then restore each one's state.

    ``torch.manual_seed`` reseeds the CPU generator *and* every CUDA device and MPS; a fork of the
    CPU state alone leaves the accelerators reseeded after the block. Here the CPU generator, the
    generator of every CUDA device and the MPS generator are saved, seeded with ``seed`` and
    restored on exit, so nothing outside the block sees a change.

    Parameters
    ----------
    seed : int
        Reduced to 63 bits.
    device : torch.device or str, optional
        The device the block computes on. A CUDA device initialises CUDA first, so its generator
        is seeded for the block (CUDA generators are only touched once CUDA is initialised: an
        uninitialised CUDA keeps its default seed, and nothing queues a lazy reseed).
    """
    seed = mask_seed(seed)
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.init()
    cpu_state = torch.get_rng_state()
    cuda_ids = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    cuda_states = [torch.cuda.get_rng_state(i) for i in cuda_ids]
    mps_state = torch.mps.get_rng_state() if _mps_available() else None
    try:
        # Not torch.manual_seed: on an uninitialised CUDA it would queue a seed applied at CUDA's
        # initialisation, which no restore here could undo.
        torch.default_generator.manual_seed(seed)
        for i in cuda_ids:
            torch.cuda.default_generators[i].manual_seed(seed)
        if mps_state is not None:
            torch.mps.manual_seed(seed)
        yield
    finally:
        torch.set_rng_state(cpu_state)
        for i, state in zip(cuda_ids, cuda_states):
            torch.cuda.set_rng_state(state, i)
        if mps_state is not None:
            torch.mps.set_rng_state(mps_state)
