"""Benchmark tables and figures in the survey's style: AUBC, F-acc, win-tie-loss, bootstrap intervals.

The numbers come from :mod:`alkit.metrics` (``aubc``, ``f_acc``, ``bootstrap_ci``, ``win_tie_loss``);
this module only arranges them. Curves are given either as a :class:`~alkit.experiments.compare.ComparisonResult`
or as its ``curves`` mapping, ``{strategy: [(n_labeled, accuracy) per seed]}``. Several datasets are a
mapping ``{dataset: result}``.

The figures are matplotlib (they render as static images in every frontend, including CI); Random is
always drawn dashed in black, as in the survey's plots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alkit.metrics import WinTieLoss, aubc, bootstrap_ci, f_acc, win_tie_loss

__all__ = [
    "RANDOM_STYLE",
    "aubc_interval_figure",
    "aubc_scores",
    "benchmark_rows",
    "curves_of",
    "learning_curves_figure",
    "multi_dataset_wtl",
    "pairwise_outcomes",
    "rows_to_markdown",
    "win_tie_loss_figure",
]

RANDOM_STYLE = {"color": "black", "linestyle": "--"}
"""How Random is drawn in every figure of this module (dashed, black)."""

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]

Curves = Mapping[str, Sequence[tuple[Sequence[float], Sequence[float]]]]


def curves_of(result: Any) -> dict[str, list[tuple[list[float], list[float]]]]:
    """``{strategy: [(n_labeled, acc) per seed]}`` from a ComparisonResult or such a mapping.

    Strategies without any run are dropped. Raises ``ValueError`` on anything else or when no
    strategy has a run.
    """
    curves = getattr(result, "curves", result)
    if not isinstance(curves, Mapping):
        raise ValueError(f"expected a ComparisonResult or a {{strategy: curves}} mapping, got {type(result).__name__}")
    out: dict[str, list[tuple[list[float], list[float]]]] = {}
    for name, runs in curves.items():
        runs = list(runs)
        if not runs:
            continue
        pairs = []
        for i, run in enumerate(runs):
            try:
                n, a = run
            except (TypeError, ValueError) as err:
                raise ValueError(f"run {i} of {name!r} must be a pair (n_labeled, accuracy)") from err
            n, a = [float(v) for v in n], [float(v) for v in a]
            if len(n) != len(a) or not n:
                raise ValueError(f"run {i} of {name!r}: n_labeled and accuracy must be non-empty and of equal length")
            pairs.append((n, a))
        out[str(name)] = pairs
    if not out:
        raise ValueError("no strategy has any run")
    return out


def _run_aubc(n: Sequence[float], a: Sequence[float]) -> float:
    return aubc(n, a) if len(n) > 1 else float(a[-1])


def aubc_scores(result: Any) -> dict[str, list[float]]:
    """``{strategy: [AUBC per seed]}`` (a single-point curve counts as its accuracy, as in ``table()``)."""
    return {s: [_run_aubc(n, a) for n, a in runs] for s, runs in curves_of(result).items()}


def benchmark_rows(
    result: Any,
    *,
    random: str | None = "random",
    margin: float = 0.005,
    n_boot: int = 10000,
    alpha: float = 0.05,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One row per strategy: AUBC and F-acc (mean, std, bootstrap CI), win-tie-loss, gain over Random.

    Parameters
    ----------
    result : ComparisonResult or mapping
        The runs of one dataset.
    random : str or None
        Name of the baseline; ``aubc_vs_random`` is each mean AUBC minus the baseline's (``None``:
        no such column). A name that has no runs is an error.
    margin : float
        Tie band of :func:`alkit.metrics.win_tie_loss` (0.005 = half a point, the survey's rule).
    n_boot, alpha, seed
        :func:`alkit.metrics.bootstrap_ci` settings for the intervals of the mean over seeds
        (with one seed the interval is that value: it says nothing about the spread).

    Returns
    -------
    list of dict
        Sorted by ``rank`` (win-tie-loss: wins - losses, then wins, then name). Keys: ``rank,
        strategy, seeds, aubc_mean, aubc_std, aubc_lo, aubc_hi, facc_mean, facc_std, facc_lo,
        facc_hi, win, tie, loss, net`` and ``aubc_vs_random`` when ``random`` is given.
        With a single strategy the win/tie/loss entries are 0.
    """
    curves = curves_of(result)
    if random is not None and random not in curves:
        raise ValueError(f"baseline {random!r} has no runs; strategies: {sorted(curves)}")
    scores = aubc_scores(curves)
    finals = {s: [f_acc(a) for _, a in runs] for s, runs in curves.items()}
    if len(scores) >= 2:
        wtl = win_tie_loss(scores, margin=margin)
        counts, net, ranking = wtl.counts, wtl.net, wtl.ranking
    else:
        only = next(iter(scores))
        counts, net, ranking = {only: {"win": 0, "tie": 0, "loss": 0}}, {only: 0}, [only]
    base = float(np.mean(scores[random])) if random is not None else math.nan
    rows = []
    for rank, s in enumerate(ranking, start=1):
        au, fa = np.asarray(scores[s]), np.asarray(finals[s])
        a_lo, a_hi = bootstrap_ci(au, n_boot=n_boot, alpha=alpha, seed=seed)
        f_lo, f_hi = bootstrap_ci(fa, n_boot=n_boot, alpha=alpha, seed=seed)
        row = {
            "rank": rank,
            "strategy": s,
            "seeds": int(au.size),
            "aubc_mean": float(au.mean()),
            "aubc_std": float(au.std(ddof=1)) if au.size > 1 else 0.0,
            "aubc_lo": a_lo,
            "aubc_hi": a_hi,
            "facc_mean": float(fa.mean()),
            "facc_std": float(fa.std(ddof=1)) if fa.size > 1 else 0.0,
            "facc_lo": f_lo,
            "facc_hi": f_hi,
            **counts[s],
            "net": net[s],
        }
        if random is not None:
            row["aubc_vs_random"] = row["aubc_mean"] - base
        rows.append(row)
    return rows


def multi_dataset_wtl(results: Mapping[str, Any], margin: float = 0.005) -> WinTieLoss:
    """Win-tie-loss summed over datasets, ``{dataset: result}`` (each compared on the methods it ran)."""
    if not isinstance(results, Mapping) or not results:
        raise ValueError("results must be a non-empty {dataset: ComparisonResult or curves} mapping")
    return win_tie_loss({str(d): aubc_scores(r) for d, r in results.items()}, margin=margin)


def pairwise_outcomes(scores: Mapping[str, Any], margin: float = 0.005,
                      order: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """The matrix behind win-tie-loss on one dataset: entry ``[i, j]`` is +1 (i wins), 0 (tie), -1 (i loses).

    ``scores`` is ``{method: aubc or [aubc per seed]}``; rows follow ``order`` (default: the mapping's
    order). Row sums of ``== 1`` / ``== 0`` (off the diagonal) / ``== -1`` equal :func:`win_tie_loss`'s counts.
    """
    means = {str(m): float(np.mean(np.atleast_1d(np.asarray(v, dtype=float)))) for m, v in scores.items()}
    names = list(order) if order is not None else list(means)
    missing = [n for n in names if n not in means]
    if missing:
        raise ValueError(f"order names methods without scores: {missing}")
    m = len(names)
    out = np.zeros((m, m), dtype=int)
    tol = 1e-12  # the same floating-point allowance as alkit.metrics.win_tie_loss
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i != j:
                d = means[a] - means[b]
                out[i, j] = 1 if d > margin + tol else (-1 if d < -margin - tol else 0)
    return names, out


def rows_to_markdown(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
                     digits: int = 4) -> str:
    """A Markdown table of ``rows`` (floats rounded to ``digits``); ``columns`` picks and orders keys."""
    if not rows:
        raise ValueError("no rows to format")
    cols = list(columns) if columns is not None else list(rows[0])

    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "nan" if not math.isfinite(float(v)) else f"{float(v):.{digits}f}"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- figures
def _axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def learning_curves_figure(result: Any, *, random: str = "random", band: bool = True, ax: Any = None,
                           title: str = "Accuracy against labels") -> Any:
    """Mean accuracy per budget over seeds (±1 std band with several seeds); Random dashed black.

    Returns the matplotlib Figure. Each strategy's seeds must share the budgets of its first seed.
    """
    curves = curves_of(result)
    fig, ax = _axes(ax, (7.5, 4.5))
    for i, (name, runs) in enumerate(curves.items()):
        n = np.asarray(runs[0][0], dtype=float)
        acc = np.asarray([np.asarray(a, dtype=float)[: len(n)] for _, a in runs])
        if acc.shape[1] != len(n):
            raise ValueError(f"{name!r}: every seed needs the budgets of the first seed")
        mean = acc.mean(0)
        style = dict(RANDOM_STYLE, linewidth=2.2) if name == random else {"color": _COLORS[i % len(_COLORS)],
                                                                          "linewidth": 1.4}
        ax.plot(n, mean, marker="o", markersize=3, label=f"{name} (n={len(acc)})", **style)
        if band and len(acc) > 1:
            sd = acc.std(0, ddof=1)
            ax.fill_between(n, mean - sd, mean + sd, color=style["color"], alpha=0.1, linewidth=0)
    ax.set_xlabel("number of labeled items")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2 if len(curves) > 8 else 1, loc="lower right")
    return fig


def aubc_interval_figure(rows: Sequence[Mapping[str, Any]], *, random: str = "random", ax: Any = None,
                         title: str = "AUBC with bootstrap intervals") -> Any:
    """Mean AUBC per strategy with its bootstrap interval, best at the top; Random's mean as a dashed line.

    ``rows`` come from :func:`benchmark_rows`. Returns the matplotlib Figure.
    """
    if not rows:
        raise ValueError("no rows to draw")
    order = sorted(rows, key=lambda r: r["aubc_mean"])
    fig, ax = _axes(ax, (7.0, 0.32 * len(order) + 1.4))
    y = np.arange(len(order))
    means = np.array([r["aubc_mean"] for r in order])
    lo = np.array([r["aubc_lo"] for r in order])
    hi = np.array([r["aubc_hi"] for r in order])
    colors = ["black" if r["strategy"] == random else "#1f77b4" for r in order]
    for yi, m, a, b, c in zip(y, means, lo, hi, colors, strict=True):
        ax.errorbar([m], [yi], xerr=[[m - a], [b - m]], fmt="none", ecolor=c, capsize=3)
    ax.scatter(means, y, c=colors, zorder=3, s=18)
    ax.set_yticks(y)
    ax.set_yticklabels([r["strategy"] for r in order], fontsize=8)
    base = [r for r in rows if r["strategy"] == random]
    if base:
        ax.axvline(base[0]["aubc_mean"], label=f"{random} (mean)", **RANDOM_STYLE)
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("AUBC (area under the accuracy-budget curve, budget axis scaled to [0, 1])")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def win_tie_loss_figure(wtl: WinTieLoss, *, ax: Any = None, title: str = "Win / tie / loss") -> Any:
    """Stacked horizontal bars of wins, ties and losses, in the ranking's order (best at the top)."""
    names = list(wtl.ranking)[::-1]
    fig, ax = _axes(ax, (7.0, 0.32 * len(names) + 1.4))
    y = np.arange(len(names))
    left = np.zeros(len(names))
    for key, color in (("win", "#2ca02c"), ("tie", "#bbbbbb"), ("loss", "#d62728")):
        vals = np.array([wtl.counts[n][key] for n in names], dtype=float)
        ax.barh(y, vals, left=left, color=color, label=key)
        left += vals
    ax.set_yticks(y)
    ax.set_yticklabels([f"{n} ({wtl.net[n]:+d})" for n in names], fontsize=8)
    ax.set_xlabel("comparisons (opponents x datasets)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
