"""The one top-k helper every score-based strategy uses."""

from __future__ import annotations

import torch

__all__ = ["top_k", "check_budget"]


def check_budget(budget: int, n_unlabeled: int) -> int:
    """Validate a query budget against the unlabeled pool and return it as an ``int``.

    A strategy asked for more items than the pool holds would have to return fewer, or pad;
    neither is what the caller meant, so both ends are errors (the loop asks for
    ``min(query, N_U)``).

    Raises
    ------
    TypeError
        When ``budget`` is not an integer (bools are rejected too).
    ValueError
        When ``budget`` lies outside ``1 .. n_unlabeled``.
    """
    if isinstance(budget, bool) or not isinstance(budget, int):
        try:
            import numpy as np

            if isinstance(budget, np.integer):
                budget = int(budget)
            else:
                raise TypeError
        except TypeError:
            raise TypeError(f"budget must be an integer, got {budget!r} ({type(budget).__name__})") from None
    if not 1 <= budget <= n_unlabeled:
        if n_unlabeled < 1:
            raise ValueError(f"budget {budget}: the unlabeled pool is empty (N_U = 0), there is nothing to query")
        raise ValueError(f"budget must lie in 1..N_U = 1..{n_unlabeled} (the unlabeled pool), got {budget}")
    return int(budget)


def top_k(
    scores: torch.Tensor,
    k: int,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Positions of the ``k`` largest scores, best first, on the scores' device.

    Ties are broken by position ascending (i.e. lowest pool index, since views
    list unlabeled indices in ascending order) unless ``generator`` is given, in
    which case tied items are ordered by a seeded random permutation.

    Parameters
    ----------
    scores : Tensor, shape (N,)
        Acquisition values, larger = query first. NaN is an error.
    k : int
        Number of positions to return, ``0 <= k <= N``.
    generator : torch.Generator, optional
        Seeded tie-breaking; must live on the scores' device.

    Returns
    -------
    Tensor, int64, shape (k,)
    """
    if scores.dim() != 1:
        raise ValueError(f"scores must be 1-D, got shape {tuple(scores.shape)}")
    n = scores.numel()
    if not 0 <= k <= n:
        raise ValueError(f"k must be in [0, {n}], got {k}")
    if k == 0:
        return torch.empty(0, dtype=torch.long, device=scores.device)
    if bool(torch.isnan(scores).any()):
        raise ValueError("acquisition scores contain NaN; check the probabilities fed to the strategy")
    if generator is None:
        order = torch.sort(scores, descending=True, stable=True).indices
        return order[:k]
    perm = torch.randperm(n, generator=generator, device=scores.device)
    order = torch.sort(scores[perm], descending=True, stable=True).indices
    return perm[order[:k]]
