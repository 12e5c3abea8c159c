"""Figures and plain-text pieces of a sweep: mean curves with bootstrap bands, the penalty heatmap, verdicts.

Everything here takes what :func:`alkit.experiments.sweep.sweep_curves` and
:func:`alkit.experiments.report.build_report` return (plain dicts), so a notebook and the dashboard draw
the same thing from the same numbers:

* :func:`mean_band` / :func:`sweep_curve_figure`: per strategy the mean accuracy over seeds at each budget
  with a percentile-bootstrap interval of that mean (Random dashed in black);
* :func:`penalty_heatmap_figure`: the pairwise penalty matrix ``P[i, j]`` (share of rounds where strategy
  ``i`` is significantly better than ``j``), with the column means ("how often beaten") below it;
* :func:`aubc_table_rows`, :func:`verdict_sentences`, :func:`cell_progress`: the tables and sentences
  the dashboard prints beside them.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alkit.metrics import bootstrap_ci

__all__ = ["mean_band", "sweep_curve_figure", "beaten_share", "penalty_heatmap_figure", "aubc_table_rows",
           "verdict_sentences", "cell_progress"]

_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
            "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d"]


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _level(alpha: float) -> int:
    return int(round(100 * (1 - alpha)))


def mean_band(runs: Mapping[int, tuple[Sequence[float], Sequence[float]]], *, alpha: float = 0.05,
              n_boot: int = 2000, seed: int = 0) -> dict[str, list]:
    """Mean accuracy over seeds at each budget and a percentile-bootstrap interval of that mean.

    Parameters
    ----------
    runs : dict
        ``{seed: (n_labeled, accuracy)}`` of one strategy on one dataset. Curves may have different
        lengths (a running cell has fewer rounds): each budget is averaged over the seeds that reached it.
    alpha : float, default 0.05
        ``1 - alpha`` is the interval's nominal coverage.
    n_boot, seed
        Bootstrap resamples and the seed of their generator (see :func:`alkit.metrics.bootstrap_ci`).

    Returns
    -------
    dict
        ``n_labeled``, ``mean``, ``low``, ``high``, ``n_seeds`` (lists, one entry per budget, budgets
        increasing). At a budget only one seed reached, ``low == high == mean`` (no interval).

    Raises
    ------
    ValueError
        If ``runs`` is empty or a curve's two sequences differ in length.
    """
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("runs must be a non-empty mapping {seed: (n_labeled, accuracy)}")
    at: dict[float, list[float]] = {}
    for s, curve in runs.items():
        n, a = curve
        if len(n) != len(a):
            raise ValueError(f"seed {s}: n_labeled has {len(n)} entries but accuracy has {len(a)}")
        for x, y in zip(n, a, strict=True):
            at.setdefault(float(x), []).append(float(y))
    out: dict[str, list] = {"n_labeled": [], "mean": [], "low": [], "high": [], "n_seeds": []}
    for x in sorted(at):
        vals = np.asarray(at[x])
        m = float(vals.mean())
        lo, hi = bootstrap_ci(vals, n_boot=n_boot, alpha=alpha, seed=seed) if len(vals) > 1 else (m, m)
        out["n_labeled"].append(int(x) if float(x).is_integer() else x)
        out["mean"].append(m)
        out["low"].append(min(float(lo), m))
        out["high"].append(max(float(hi), m))
        out["n_seeds"].append(len(vals))
    return out


def sweep_curve_figure(curves: Mapping[str, Mapping[int, tuple[Sequence[float], Sequence[float]]]], *,
                       title: str = "Accuracy against labels", alpha: float = 0.05, n_boot: int = 2000,
                       seed: int = 0, baseline: str = "random") -> Any:
    """Mean curve per strategy with its bootstrap band over seeds; ``baseline`` dashed in black.

    Parameters
    ----------
    curves : dict
        ``{strategy: {seed: (n_labeled, accuracy)}}`` of one dataset (one entry of
        :func:`alkit.experiments.sweep.sweep_curves`). Strategies without seeds are skipped.
    alpha, n_boot, seed
        As in :func:`mean_band`.

    Returns
    -------
    plotly.graph_objects.Figure
        Per strategy a filled band trace (no legend entry, legend group = strategy) and a line trace
        named ``"strategy (n=k)"``, ``k`` the number of seeds.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (name, runs) in enumerate(curves.items()):
        if not runs:
            continue
        b = mean_band(runs, alpha=alpha, n_boot=n_boot, seed=seed)
        color = "#000000" if name == baseline else _PALETTE[i % len(_PALETTE)]
        x = list(b["n_labeled"])
        if len(runs) > 1:
            fig.add_trace(go.Scatter(
                x=x + x[::-1], y=list(b["high"]) + list(b["low"])[::-1], mode="lines", fill="toself",
                fillcolor=_rgba(color, 0.13), line={"width": 0}, hoverinfo="skip", showlegend=False,
                legendgroup=name, name=f"{name} {_level(alpha)}% band",
            ))
        fig.add_trace(go.Scatter(
            x=x, y=list(b["mean"]), mode="lines+markers", name=f"{name} (n={len(runs)})", legendgroup=name,
            line={"color": color, "dash": "dash" if name == baseline else "solid", "width": 2}, marker={"size": 5},
            hovertemplate=f"{html.escape(str(name))}<br>labels=%{{x}}<br>mean accuracy=%{{y:.4f}}<extra></extra>",
        ))
    fig.update_layout(title=title, xaxis_title="number of labeled items", yaxis_title="test accuracy",
                      template="plotly_white", hovermode="x unified", legend={"orientation": "v"})
    return fig


def _check_matrix(strategies: Sequence[str], matrix: Sequence[Sequence[float]]) -> np.ndarray:
    p = np.asarray(matrix, dtype=float)
    m = len(strategies)
    if p.shape != (m, m):
        raise ValueError(f"penalty matrix must be {m} x {m} (one row and column per strategy), got shape {p.shape}")
    return p


def beaten_share(strategies: Sequence[str], matrix: Sequence[Sequence[float]]) -> list[float]:
    """Column means of the penalty matrix over the *other* strategies: how often ``j`` is beaten.

    ``beaten[j] = sum_{i != j} P[i, j] / (m - 1)``; lower is better. With one strategy it is ``[0.0]``.
    """
    p = _check_matrix(strategies, matrix)
    m = len(strategies)
    if m < 2:
        return [0.0] * m
    off = p.sum(axis=0) - np.diag(p)
    return [float(v) for v in off / (m - 1)]


def penalty_heatmap_figure(penalty: Mapping[str, Any], *, title: str = "Penalty matrix") -> Any:
    """The penalty matrix as a heatmap, rows = strategy ``i``, columns = strategy ``j``, with "how often beaten" below.

    Parameters
    ----------
    penalty : dict
        A dataset's ``penalty_matrix`` from :func:`alkit.experiments.report.build_report`: ``strategies``
        and ``matrix`` (``matrix[i][j]`` = share of rounds at which ``i`` is significantly better than
        ``j``, in [0, 1]); ``n_rounds`` and ``alpha`` go into the hover text when present.

    Returns
    -------
    plotly.graph_objects.Figure
        Two heatmap traces on a shared x axis: the matrix (``z`` equals ``matrix``; the diagonal carries no
        label) and one row of :func:`beaten_share`. Colour scale 0 (white) to 1 (dark blue) on both.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if not isinstance(penalty, Mapping) or "strategies" not in penalty or "matrix" not in penalty:
        raise ValueError("penalty must be a report's penalty_matrix: a dict with 'strategies' and 'matrix'")
    names = [str(s) for s in penalty["strategies"]]
    p = _check_matrix(names, penalty["matrix"])
    m = len(names)
    z = [[float(v) for v in row] for row in p]
    text = [["" if i == j else f"{z[i][j]:.2f}" for j in range(m)] for i in range(m)]
    beaten = beaten_share(names, z)
    rounds = penalty.get("n_rounds")
    over = f" of {rounds} rounds" if rounds else " of rounds"
    scale = [[0.0, "#ffffff"], [1.0, "#08306b"]]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[m / (m + 1.5), 1.5 / (m + 1.5)],
                        vertical_spacing=0.04)
    fig.add_trace(go.Heatmap(
        z=z, x=names, y=names, text=text, texttemplate="%{text}", colorscale=scale, zmin=0.0, zmax=1.0,
        xgap=1, ygap=1, name="row beats column", colorbar={"title": {"text": "share"}, "len": 0.8, "y": 0.6},
        hovertemplate=f"%{{y}} beats %{{x}} in %{{z:.0%}}{over}<extra></extra>",
    ), row=1, col=1)
    fig.add_trace(go.Heatmap(
        z=[beaten], x=names, y=["how often beaten"], text=[[f"{v:.2f}" for v in beaten]], texttemplate="%{text}",
        colorscale=scale, zmin=0.0, zmax=1.0, xgap=1, ygap=1, showscale=False, name="how often beaten",
        hovertemplate="%{x} is beaten, on average over the other strategies, in %{z:.0%}" + over + "<extra></extra>",
    ), row=2, col=1)
    fig.update_yaxes(autorange="reversed", title_text="strategy i (row) ...", row=1, col=1)
    fig.update_xaxes(title_text="... beats strategy j (column)", tickangle=-45, row=2, col=1)
    fig.update_layout(title=title, template="plotly_white", height=int(170 + 30 * (m + 1.5)),
                      margin={"l": 110, "r": 20, "t": 60, "b": 120})
    return fig


def _fmt(x: Any, digits: int = 4) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _p(x: Any) -> str:
    if x is None:
        return "–"
    return f"{x:.2g}" if x < 0.001 else f"{x:.3f}"


def aubc_table_rows(dataset_report: Mapping[str, Any], *, alpha: float = 0.05) -> list[dict[str, Any]]:
    """Rows of a dataset's AUBC table (best rank first): strategy, rank, seeds, AUBC, CI, final accuracy, vs baseline.

    ``dataset_report`` is one entry of a report's ``datasets``; a dataset without statistics yet gives ``[]``.
    """
    aubc = dataset_report.get("aubc") or {}
    if not aubc:
        return []
    base = dataset_report.get("baseline", "random")
    rank = {r["strategy"]: r["rank"] for r in dataset_report.get("ranking") or []}
    final = dataset_report.get("final_accuracy") or {}
    verdicts = dataset_report.get("verdicts") or {}
    level = _level(alpha)
    rows = []
    for st in sorted(aubc, key=lambda s: (rank.get(s, 1e9), -(aubc[s]["mean"] or 0.0), s)):
        a = aubc[st]
        v = verdicts.get(st)
        if st == base:
            word = "(baseline)"
        elif not v:
            word = "–"
        else:
            word = v["verdict"] + (f" ({v['diff']:+.4f})" if v.get("diff") is not None else "")
        rows.append({"strategy": st, "rank": rank.get(st, ""), "seeds": a["n"], "AUBC": _fmt(a["mean"]),
                     f"{level}% CI": f"[{_fmt(a['ci_low'])}, {_fmt(a['ci_high'])}]",
                     "final accuracy": _fmt((final.get(st) or {}).get("mean")), f"vs {base}": word})
    return rows


#: How each verdict of :func:`alkit.experiments.stats.verdict` reads in a sentence.
VERDICT_WORDS = {"better": "is significantly better than", "worse": "is significantly worse than",
                 "no different": "is not significantly different from"}


def verdict_sentences(dataset_report: Mapping[str, Any], *, alpha: float = 0.05) -> list[str]:
    """One plain sentence per strategy (not the baseline) saying how its AUBC compares with the baseline's.

    E.g. ``"badge is significantly better than random: AUBC +0.0384 (95% CI +0.0283 to +0.0478), paired
    t-test over 10 seeds, p = 4.5e-05."`` Order: better, no different, worse, then the rest; within a group
    by the difference, largest first.
    """
    verdicts = dataset_report.get("verdicts") or {}
    base = dataset_report.get("baseline", "random")
    level = _level(alpha)
    order = {"better": 0, "no different": 1, "worse": 2}
    out = []
    for st, v in sorted(verdicts.items(), key=lambda kv: (order.get(kv[1]["verdict"], 3),
                                                         -(kv[1].get("diff") or 0.0), kv[0])):
        word = VERDICT_WORDS.get(v["verdict"])
        if word is None or v.get("diff") is None:
            why = v.get("note") or v["verdict"]
            out.append(f"{st}: no comparison with {base} ({why}).")
            continue
        ci = ""
        if v.get("ci_low") is not None and v.get("ci_high") is not None:
            ci = f" ({level}% CI {v['ci_low']:+.4f} to {v['ci_high']:+.4f})"
        test = f"paired t-test over {v['n']} seeds, p = {_p(v.get('p'))}" if v.get("p") is not None else \
            f"{v['n']} common seed(s): too few for a test"
        out.append(f"{st} {word} {base} at α = {alpha:g}: AUBC {v['diff']:+.4f}{ci}, {test}.")
    return out


def cell_progress(n_cells: int, status_counts: Mapping[str, int]) -> str:
    """``"k of n cells finished, m running"`` (plus failed / interrupted / not started when there are any)."""
    done = int(status_counts.get("finished", 0))
    parts = [f"{done} of {int(n_cells)} cells finished", f"{int(status_counts.get('running', 0))} running"]
    for k in ("failed", "interrupted"):
        if status_counts.get(k):
            parts.append(f"{int(status_counts[k])} {k}")
    waiting = int(n_cells) - sum(int(v) for v in status_counts.values())
    if waiting > 0:
        parts.append(f"{waiting} not started")
    return ", ".join(parts)
