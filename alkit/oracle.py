"""Oracles answer label queries. The pool's true labels live here, never in a strategy."""

from __future__ import annotations

import torch

__all__ = ["Oracle", "IdealOracle", "NoisyOracle", "make_oracle"]


class Oracle:
    """Base class: ``label(indices) -> labels`` for pool indices (host tensors, int64)."""

    def label(self, indices: torch.Tensor) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError


class IdealOracle(Oracle):
    """Returns the true label of every queried item."""

    def __init__(self, y_true: torch.Tensor) -> None:
        self._y = y_true.detach().to("cpu", torch.int64)

    def label(self, indices: torch.Tensor) -> torch.Tensor:
        return self._y[indices.to("cpu", torch.long)].clone()


class NoisyOracle(Oracle):
    """With probability ``rate`` answers a uniformly drawn *other* class (symmetric label noise).

    Each item's answer is a pure function of (seed, pool index), so a resumed run and an
    uninterrupted one receive the same noisy labels.
    """

    def __init__(self, y_true: torch.Tensor, num_classes: int, rate: float, seed: int) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"noise rate must be in [0, 1], got {rate}")
        if num_classes < 2:
            raise ValueError("a noisy oracle needs at least 2 classes")
        y = y_true.detach().to("cpu", torch.int64)
        g = torch.Generator().manual_seed(int(seed))
        flip = torch.rand(len(y), generator=g) < rate
        shift = torch.randint(1, num_classes, (len(y),), generator=g)
        self._answers = torch.where(flip, (y + shift) % num_classes, y)
        self.rate = rate

    def label(self, indices: torch.Tensor) -> torch.Tensor:
        return self._answers[indices.to("cpu", torch.long)].clone()


def make_oracle(kind: str, y_true: torch.Tensor, num_classes: int, *, rate: float = 0.0, seed: int = 0) -> Oracle:
    """Build an oracle by name: ``ideal`` or ``noisy``.

    ``human`` (what a run labelled on the dashboard's Label page records) cannot be built from the
    dataset: its answers came from a person, so it raises and says so (e.g. on ``alkit resume``).
    """
    if kind == "human":
        raise ValueError("oracle 'human' takes its answers from a person: pass the HumanOracle as ALRun(..., "
                         "oracle=...) (the dashboard's Label page does); a run labelled by a person cannot be "
                         "resumed or replayed without one (its stored labels are in the run store's selections)")
    if kind == "ideal":
        return IdealOracle(y_true)
    if kind == "noisy":
        return NoisyOracle(y_true, num_classes, rate, seed)
    raise ValueError(f"unknown oracle {kind!r}; valid: ideal, noisy")
