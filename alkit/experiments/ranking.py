"""Rankings of one unlabeled pool by several strategies, and their Spearman correlations.

DAL's paper compares query strategies by the *orders* they put the same unlabeled pool in (Gissin &
Shalev-Shwartz 2019, Fig. 3): two strategies that rank the pool alike will pick alike, whatever
their scores mean. This module turns what a strategy produces into a per-item ranking signal and
correlates the signals:

* a score strategy (``entropy``, ``margin``, ...) ranks by its acquisition score;
* a batch strategy (``kcenter``, ``dal``, ``random``, ...) ranks by its **selection order** when
  asked for the whole pool (first pick = rank 1); items it was not asked to order share the last rank.

>>> import numpy as np
>>> names, m = spearman_matrix({"a": np.array([3., 2., 1.]), "b": np.array([1., 2., 3.])})
>>> names, round(float(m[0, 1]), 6)
(['a', 'b'], -1.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["order_signal", "pool_rankings", "rank_of", "spearman_matrix"]


def _vector(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().float().cpu().numpy()
    v = np.asarray(x, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"{name}: a ranking signal must be 1-D, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError(f"{name}: a ranking signal must be finite")
    return v


def rank_of(signal: Any) -> np.ndarray:
    """Average ranks of a signal, 1 = largest (query first); ties share the mean of their ranks."""
    from scipy.stats import rankdata

    return rankdata(-_vector(signal, "signal"), method="average")


def order_signal(order: Sequence[int] | torch.Tensor, n: int) -> np.ndarray:
    """A signal (larger = earlier) from a selection order of positions in ``range(n)``.

    The first position of ``order`` gets ``n``, the next ``n - 1``, ...; positions not in ``order``
    get 0 (tied last).
    """
    pos = np.asarray(order.cpu() if isinstance(order, torch.Tensor) else order, dtype=np.int64).reshape(-1)
    if len(np.unique(pos)) != len(pos) or (len(pos) and (pos.min() < 0 or pos.max() >= n)):
        raise ValueError(f"order must hold distinct positions in [0, {n}), got {len(pos)} positions")
    signal = np.zeros(n, dtype=np.float64)
    signal[pos] = n - np.arange(len(pos), dtype=np.float64)
    return signal


def spearman_matrix(signals: Mapping[str, Any]) -> tuple[list[str], np.ndarray]:
    """Pairwise Spearman rank correlations of equally long signals: ``(names, matrix)``.

    Spearman's ρ is the Pearson correlation of the average ranks (so ties are handled as in
    ``scipy.stats.spearmanr``). A constant signal has no ranking: its correlations are NaN.
    """
    names = list(signals)
    if len(names) < 1:
        raise ValueError("spearman_matrix needs at least one signal")
    ranks = [rank_of(_vector(signals[k], k)) for k in names]
    n = {len(r) for r in ranks}
    if len(n) != 1:
        raise ValueError(f"all signals must have the same length, got {sorted(n)}")
    r = np.stack(ranks)
    r = r - r.mean(1, keepdims=True)
    norm = np.sqrt((r * r).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        m = (r @ r.T) / np.outer(norm, norm)
    m = np.clip(m, -1.0, 1.0)
    np.fill_diagonal(m, 1.0)
    const = norm == 0
    m[const, :] = np.nan
    m[:, const] = np.nan
    return names, m


def pool_rankings(view: Any, strategies: Mapping[str, Any], seed: int = 0) -> dict[str, np.ndarray]:
    """The ranking signal of every strategy on the same pool view (larger = queried earlier).

    Parameters
    ----------
    view : PoolView
        Must hold every field the strategies need (build it with the union of their ``required()``).
    strategies : mapping name -> Strategy
        Strategies with a ``score`` method are ranked by it; the others by the order of
        ``query(view, N_U)`` (the whole pool), each with a generator seeded by ``seed``.
    seed : int
        Seed of the generators handed to the selection-order strategies.

    Returns
    -------
    dict name -> float64 array of shape (N_U,), aligned with ``view.unlabeled``.
    """
    n = int(view.n_unlabeled)
    out: dict[str, np.ndarray] = {}
    pos_of = {int(i): p for p, i in enumerate(view.unlabeled.cpu().tolist())}
    for name, strategy in strategies.items():
        score = getattr(strategy, "score", None)
        if callable(score) and _has_own_score(strategy):
            out[name] = _vector(score(view), name)
            continue
        gen = torch.Generator(device=view.device).manual_seed(int(seed))
        sel = strategy.query(view, n, gen)
        order = [pos_of[int(i)] for i in sel.indices.cpu().tolist()]
        out[name] = order_signal(order, n)
    return out


def _has_own_score(strategy: Any) -> bool:
    """Whether ``strategy.score`` is implemented (not the base class' NotImplementedError stub)."""
    from alkit.strategies.base import ScoreStrategy

    return isinstance(strategy, ScoreStrategy) and type(strategy).score is not ScoreStrategy.score
