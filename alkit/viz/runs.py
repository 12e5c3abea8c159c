"""Learning curves, AUBC / win-tie-loss tables and per-phase timings read from the run store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alkit.metrics import aubc, bootstrap_ci, win_tie_loss

__all__ = ["runs_table", "group_curves", "aubc_rows", "wtl_rows", "round_seconds", "timings_figure", "per_class_figure"]

#: The loop's phases, in order; a strategy's own ``score`` / ``select`` timings lie inside ``query``.
PHASES = ("select", "infer", "query", "train", "evaluate", "theory")

Curve = tuple[list[int], list[float]]


def runs_table(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows for a table of ``RunStore.list_runs()`` output (short, display-ready).

    ``status`` is the store's derived status (a killed run reads ``interrupted``); ``resume`` holds the
    ``alkit resume RUN_ID`` command of each interrupted run ("" for the others).
    """
    rows = []
    for r in runs:
        acc = r.get("last_accuracy")
        rows.append({"run": r["run_id"], "name": r.get("name") or "", "dataset": r["dataset"],
                     "strategy": r["strategy"], "seed": r["seed"], "status": r["status"], "rounds": r["n_rounds"],
                     "labels": r.get("last_n_labeled"), "accuracy": None if acc is None else round(float(acc), 4),
                     "resume": f"alkit resume {r['run_id']}" if r["status"] == "interrupted" else ""})
    return rows


def _common_prefix(curves: list[Curve]) -> list[Curve]:
    """Cut every curve to the budgets all of them share (running runs are shorter)."""
    if not curves:
        return curves
    m = min(len(n) for n, _ in curves)
    first = curves[0][0]
    k = 0
    while k < m and all(n[k] == first[k] for n, _ in curves):
        k += 1
    return [(list(n[:k]), list(a[:k])) for n, a in curves]


def group_curves(store: Any, run_ids: Sequence[str]) -> dict[str, dict[str, list[Curve]]]:
    """``{dataset: {strategy: [(n_labeled, accuracy) per run]}}`` for the chosen runs.

    Runs of one strategy with different budget schedules (initial set, batch size) are kept apart
    under ``"strategy [init+b]"``; within a group the curves are cut to their shared budgets so
    a mean over seeds is always over the same points. Runs without rounds are skipped.
    """
    groups: dict[str, dict[tuple[str, tuple], list[Curve]]] = {}
    for rid in run_ids:
        info = store.get_run(rid)
        rounds = store.get_rounds(rid)
        n = [int(r["n_labeled"]) for r in rounds if r["metrics"].get("accuracy") is not None]
        a = [float(r["metrics"]["accuracy"]) for r in rounds if r["metrics"].get("accuracy") is not None]
        if not n:
            continue
        cfg = info.get("config") or {}
        sched = (cfg.get("initial"), cfg.get("query"))
        groups.setdefault(info["dataset"], {}).setdefault((info["strategy"], sched), []).append((n, a))
    out: dict[str, dict[str, list[Curve]]] = {}
    for ds, by in groups.items():
        names = [s for s, _ in by]
        out[ds] = {}
        for (strat, sched), curves in by.items():
            label = strat if names.count(strat) == 1 else f"{strat} [{sched[0]}+{sched[1]}]"
            out[ds][label] = _common_prefix(curves)
    return out


def aubc_rows(curves: Mapping[str, list[Curve]], *, n_boot: int = 2000) -> list[dict[str, Any]]:
    """Per strategy: seeds, AUBC mean / std / 95% bootstrap CI, final accuracy; best AUBC first.

    Strategies whose curves have fewer than 2 points (no area) are listed with AUBC ``None``.
    """
    rows = []
    for name, cs in curves.items():
        if not cs:
            continue
        finals = [a[-1] for _, a in cs if a]
        vals = [aubc(n, a) for n, a in cs if len(n) >= 2]
        row: dict[str, Any] = {"strategy": name, "seeds": len(cs), "labels": cs[0][0][-1] if cs[0][0] else None,
                               "aubc": None, "aubc_std": None, "ci_low": None, "ci_high": None,
                               "final_accuracy": float(np.mean(finals)) if finals else None}
        if vals:
            row["aubc"] = float(np.mean(vals))
            row["aubc_std"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
            if len(vals) > 1:
                lo, hi = bootstrap_ci(vals, n_boot=n_boot, seed=0)
                row["ci_low"], row["ci_high"] = float(lo), float(hi)
        rows.append(row)
    rows.sort(key=lambda r: -1.0 if r["aubc"] is None else -r["aubc"])
    return rows


def wtl_rows(by_dataset: Mapping[str, Mapping[str, list[Curve]]], *, margin: float = 0.005) -> list[dict[str, Any]]:
    """Win / tie / loss counts by mean AUBC over every dataset (:func:`alkit.metrics.win_tie_loss`).

    Empty when fewer than two strategies have an AUBC.
    """
    scores: dict[str, dict[str, list[float]]] = {}
    for ds, curves in by_dataset.items():
        table = {name: [aubc(n, a) for n, a in cs if len(n) >= 2] for name, cs in curves.items()}
        table = {k: v for k, v in table.items() if v}
        if len(table) >= 2:
            scores[ds] = table
    if not scores:
        return []
    res = win_tie_loss(scores, margin=margin)
    return [{"strategy": m, "win": res.counts[m]["win"], "tie": res.counts[m]["tie"], "loss": res.counts[m]["loss"],
             "net": res.net[m]} for m in res.ranking]


def _phase_seconds(timings: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for ph in PHASES:
        v = timings.get(ph)
        if ph == "select" and "query" in timings:
            continue  # the strategy's select step, already inside query
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[ph] = float(v)
    return out


def round_seconds(timings: Mapping[str, Any]) -> float:
    """Wall seconds of one round: the sum of the loop's phases (never counting a sub-timing twice)."""
    return float(sum(_phase_seconds(timings).values()))


def timings_figure(rounds: Sequence[Mapping[str, Any]], *, title: str = "Seconds per phase") -> Any:
    """Stacked bars of the loop's phases (select/infer/query/train/evaluate) per round.

    Sub-timings measured inside a strategy (``score``, ``select`` inside ``query``) are left out so
    the stack adds up to the round's wall time.
    """
    import plotly.graph_objects as go

    colors = {"select": "#8c564b", "infer": "#9467bd", "query": "#d62728", "train": "#1f77b4", "evaluate": "#2ca02c",
              "theory": "#7f7f7f"}
    x = [r["round"] for r in rounds]
    fig = go.Figure()
    per_round = [_phase_seconds(r.get("timings") or {}) for r in rounds]
    for ph in PHASES:
        ys = [t.get(ph, 0.0) for t in per_round]
        if any(ys):
            fig.add_trace(go.Bar(x=x, y=ys, name=ph, marker_color=colors[ph],
                                 hovertemplate=f"round %{{x}}<br>{ph}: %{{y:.3f}} s<extra></extra>"))
    fig.update_layout(barmode="stack", title=title, xaxis_title="round", xaxis_dtick=1, yaxis_title="seconds",
                      template="plotly_white", height=300, margin={"t": 40})
    return fig


def per_class_figure(per_class: Sequence[float], class_names: Sequence[str] | None = None, *, title: str = "") -> Any:
    """Bar chart of per-class test accuracy of one round."""
    import plotly.graph_objects as go

    names = list(class_names) if class_names is not None else [str(k) for k in range(len(per_class))]
    fig = go.Figure(go.Bar(x=names[: len(per_class)], y=list(per_class), marker_color="#1f77b4",
                           hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    fig.update_layout(title=title, yaxis_range=[0, 1], yaxis_title="test accuracy", template="plotly_white",
                      height=280, margin={"t": 40})
    return fig
