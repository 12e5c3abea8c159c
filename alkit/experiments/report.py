"""The report of a sweep: per dataset the statistics of :mod:`alkit.experiments.stats`, as JSON, text and HTML.

``build_report(curves)`` takes ``{dataset: {strategy: {seed: (n_labeled, accuracy)}}}`` (what
:func:`alkit.experiments.sweep.sweep_curves` returns) and gives a JSON-serialisable dict; ``report_text``
prints it as plain tables, ``write_report_html`` writes one self-contained HTML file (tables and the
penalty heatmaps as inline SVG: it opens offline and requests nothing). ``sweep_report(store, sweep_id)``
does the first from a run store.

Numbers that do not exist are ``None`` (JSON ``null``): a curve that never reaches the target, a test with
one seed, a missing baseline. The JSON never holds ``NaN`` or ``Infinity``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from alkit.experiments import stats

__all__ = ["build_report", "report_text", "sweep_report", "write_report_html"]


def _clean(x: Any) -> Any:
    """JSON-safe copy: numpy scalars and arrays to Python, NaN / inf to ``None``, keys to ``str``."""
    if isinstance(x, Mapping):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    return x


def _dataset_report(curves: Any, *, baseline: str, alpha: float, n_boot: int, seed: int,
                    target: float | None, short: str) -> tuple[dict[str, Any], stats.PenaltyMatrix | None]:
    al = stats.align_curves(curves, short=short)
    out: dict[str, Any] = {
        "strategies": al.strategies,
        "seeds": {st: al.seeds(st) for st in al.strategies},
        "budgets": al.budgets.tolist(),
        "n_rounds": al.n_rounds,
        "short_cells": al.short_cells,
        "baseline": baseline,
        "notes": [],
    }
    if al.short_cells:
        how = "cut to" if short == "cut" else "dropped; the others use"
        out["notes"].append(f"{len(al.short_cells)} curve(s) have a different length; every curve is {how} "
                            f"rounds 0..{al.n_rounds}")
    if al.n_rounds < 1:
        out["notes"].append("only round 0 is stored in common: no statistic yet")
        for k in ("aubc", "final_accuracy", "labels_saved", "win_tie_loss", "verdicts"):
            out[k] = {}
        out["penalty_matrix"] = None
        out["ranking"] = []
        out["target"] = None
        return out, None
    kw = {"n_boot": n_boot, "alpha": alpha, "seed": seed}
    out["aubc"] = {st: vars(m) for st, m in stats.aubc_intervals(al, **kw).items()}
    out["final_accuracy"] = {st: vars(m) for st, m in stats.final_accuracy_intervals(al, **kw).items()}
    pm = stats.penalty_matrix(al, alpha=alpha)
    out["penalty_matrix"] = {"strategies": pm.strategies, "matrix": pm.matrix, "wins": pm.wins,
                             "n_rounds": pm.n_rounds, "rounds": pm.rounds, "seeds": pm.seeds,
                             "n_seeds": pm.n_seeds, "alpha": pm.alpha}
    wtl = stats.round_win_tie_loss(pm)
    out["win_tie_loss"] = {
        st: {"total": {k: sum(v[k] for v in vs.values()) for k in ("win", "tie", "loss")}, "vs": vs}
        for st, vs in wtl.items()
    }
    out["ranking"] = [vars(r) for r in stats.aubc_ranking(al, alpha=alpha)]
    others = [st for st in al.strategies if st != baseline]
    if baseline not in al.acc:
        note = f"no baseline: {baseline!r} has no curves in this dataset (strategies: {al.strategies})"
        out["notes"].append(note)
        out["target"] = None
        out["verdicts"] = {st: {"verdict": "no baseline", "diff": None, "ci_low": None, "ci_high": None, "p": None,
                                "n": 0, "note": note} for st in al.strategies}
        out["labels_saved"] = {st: {"target": target, "n_strategy": None, "n_baseline": None, "saved": None,
                                    "ci_low": None, "ci_high": None, "reached_share": None, "n": 0, "note": note}
                               for st in al.strategies}
        return out, pm
    base_final = float(np.mean([a[-1] for a in al.acc[baseline].values()]))
    out["target"] = base_final if target is None else float(target)
    out["verdicts"] = {}
    out["labels_saved"] = {}
    for st in others:
        if not al.common_seeds(st, baseline):
            note = f"{st!r} shares no seed with {baseline!r}"
            out["verdicts"][st] = {"verdict": "no different", "diff": None, "ci_low": None, "ci_high": None,
                                   "p": None, "n": 0, "note": note}
            out["labels_saved"][st] = {"target": out["target"], "n_strategy": None, "n_baseline": None,
                                       "saved": None, "ci_low": None, "ci_high": None, "reached_share": None,
                                       "n": 0, "note": note}
            continue
        out["verdicts"][st] = vars(stats.verdict(al, st, baseline, **kw))
        out["labels_saved"][st] = vars(stats.labels_saved_ci(al, st, baseline, target=target, **kw))
    return out, pm


def build_report(curves: Mapping[str, Any], *, baseline: str = "random", alpha: float = 0.05, n_boot: int = 10000,
                 seed: int = 0, target: float | None = None, meta: Mapping[str, Any] | None = None,
                 short: str = "cut") -> dict[str, Any]:
    """Every statistic of a sweep, per dataset, as a JSON-serialisable dict.

    Parameters
    ----------
    curves : dict
        ``{dataset: {strategy: {seed: (n_labeled, accuracy)}}}``.
    baseline : str, default "random"
        The strategy verdicts and labels saved are measured against. A dataset without it gets
        ``"no baseline"`` verdicts and a note, not an error.
    alpha : float, default 0.05
        Level of every test and ``1 - alpha`` the coverage of every interval.
    n_boot, seed
        Bootstrap resamples and the seed of their generator (the same seed gives the same report).
    target : float, optional
        Accuracy for labels saved; default: the baseline's mean final accuracy, per dataset.
    meta : dict, optional
        Stored as it is under ``"meta"`` (e.g. the sweep id and spec).
    short : {"cut", "drop"}
        What to do with curves shorter than the others (cells still running): see
        :func:`alkit.experiments.stats.align_curves`.

    Returns
    -------
    dict
        ``{"baseline", "alpha", "n_boot", "seed", "meta", "datasets": {dataset: {...}}, "penalty_matrix":
        {"strategies", "matrix", "n_datasets"}}``. Per dataset: ``aubc`` and ``final_accuracy``
        (``{strategy: {mean, ci_low, ci_high, n, std}}``), ``labels_saved``, ``win_tie_loss``,
        ``penalty_matrix`` (``strategies``, ``matrix`` as a list of lists, ``n_rounds``, ...), ``ranking``,
        ``verdicts`` (``{strategy: {verdict, diff, ci_low, ci_high, p, n, t}}``), ``target``, ``budgets``,
        ``seeds``, ``short_cells`` and ``notes``.
    """
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty mapping {dataset: {strategy: {seed: (n_labeled, accuracy)}}}")
    if not isinstance(baseline, str) or not baseline:
        raise ValueError(f"baseline must be a strategy name, got {baseline!r}")
    stats._alpha(alpha)
    stats._n_boot(n_boot)
    if target is not None and not (isinstance(target, (int, float)) and math.isfinite(float(target))):
        raise ValueError(f"target must be a finite accuracy or None, got {target!r}")
    datasets: dict[str, Any] = {}
    matrices: list[stats.PenaltyMatrix] = []
    for ds, by_strategy in curves.items():
        if not isinstance(by_strategy, Mapping):
            raise ValueError(f"curves[{ds!r}] must be a mapping {{strategy: {{seed: (n_labeled, accuracy)}}}}")
        nonempty = {st: runs for st, runs in by_strategy.items() if runs}
        if not nonempty:
            datasets[str(ds)] = {"strategies": [], "notes": ["no strategy has a stored round yet"]}
            continue
        try:
            rep, pm = _dataset_report(nonempty, baseline=baseline, alpha=alpha, n_boot=n_boot, seed=seed,
                                  target=target, short=short)
        except ValueError as err:
            raise ValueError(f"dataset {ds!r}: {err}") from err
        datasets[str(ds)] = rep
        if pm is not None:
            matrices.append(pm)
    total = None
    if matrices:
        s = stats.sum_penalty_matrices(matrices)
        total = {"strategies": s.strategies, "matrix": s.matrix, "n_datasets": s.n_datasets}
    report = {"baseline": baseline, "alpha": float(alpha), "n_boot": int(n_boot), "seed": int(seed),
              "target": target, "meta": dict(meta) if meta is not None else {}, "datasets": datasets,
              "penalty_matrix": total}
    return _clean(report)


def sweep_report(store: Any, sweep_id: str, **kw: Any) -> dict[str, Any]:
    """:func:`build_report` of a stored sweep (id or unique prefix), with its id, name, spec and cell statuses as ``meta``.

    The curves are :func:`alkit.experiments.sweep.sweep_curves` (the rounds stored so far, so a running
    sweep gives a report of its common rounds). Other keyword arguments go to :func:`build_report`.
    """
    from alkit.experiments.sweep import sweep_curves

    info = store.get_sweep(sweep_id)
    cells = store.sweep_cells(info["sweep_id"])
    counts: dict[str, int] = {}
    for c in cells:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    meta = {"sweep_id": info["sweep_id"], "name": info.get("name"), "spec": info.get("spec"),
            "n_cells": info.get("n_cells"), "n_runs": len(cells), "status_counts": counts}
    meta.update(kw.pop("meta", None) or {})
    return build_report(sweep_curves(store, info["sweep_id"]), meta=meta, **kw)


# ----------------------------------------------------------------------------- text


def _f(x: Any, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _p(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:.2g}" if x < 0.001 else f"{x:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[k]) for r in rows)) if rows else len(h) for k, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths,
                                                                                            strict=True)))

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _saved_cell(ls: Mapping[str, Any] | None) -> str:
    if not ls:
        return ""
    if ls.get("saved") is None:
        return "not reached" if ls.get("n") else "-"
    ci = (f" [{ls['ci_low']:.1f}, {ls['ci_high']:.1f}]" if ls.get("ci_low") is not None
          else f" [n/a: {ls['reached_share']:.0%} of resamples reach]")
    return f"{ls['saved']:+.1f}{ci}"


def _dataset_rows(d: Mapping[str, Any], baseline: str) -> list[list[str]]:
    rank = {r["strategy"]: r["rank"] for r in d.get("ranking", [])}
    rows = []
    for st in sorted(d["strategies"], key=lambda s: (rank.get(s, 0), s)):
        a, f = d["aubc"][st], d["final_accuracy"][st]
        v = d["verdicts"].get(st)
        if st == baseline:
            word = "(baseline)"
        elif v is None:
            word = "-"
        else:
            word = v["verdict"] + (f" ({v['diff']:+.4f}, p={_p(v['p'])})" if v.get("diff") is not None else "")
        rows.append([st, str(rank.get(st, "")), str(a["n"]), _f(a["mean"]), f"[{_f(a['ci_low'])}, {_f(a['ci_high'])}]",
                     _f(f["mean"]), _saved_cell(d["labels_saved"].get(st)), word])
    return rows


def _matrix_text(strategies: list[str], matrix: list[list[float]]) -> str:
    header = ["row beats column", *strategies, "row sum"]
    rows = [[s, *(f"{v:.2f}" for v in row), f"{sum(row):.2f}"] for s, row in zip(strategies, matrix, strict=True)]
    rows.append(["column sum (lost)", *(f"{sum(col):.2f}" for col in zip(*matrix, strict=True)), ""])
    return _table(header, rows)


def report_text(report: Mapping[str, Any]) -> str:
    """The report as plain-text tables (what ``alkit report`` prints in a terminal)."""
    if not isinstance(report, Mapping) or "datasets" not in report:
        raise ValueError("report must be the dict build_report returns (it has no 'datasets')")
    base = report["baseline"]
    level = int(round(100 * (1 - report["alpha"])))
    out = []
    meta = report.get("meta") or {}
    if meta.get("sweep_id"):
        out.append(f"Sweep {meta['sweep_id']}" + (f" ({meta['name']})" if meta.get("name") else ""))
    out.append(f"alpha = {report['alpha']:g}; intervals: {level}% percentile bootstrap over seeds, "
               f"B = {report['n_boot']}, seed {report['seed']}")
    for ds, d in report["datasets"].items():
        out.append("")
        if not d.get("strategies") or not d.get("aubc"):
            out.append(f"== {ds}: " + "; ".join(d.get("notes", [])))
            continue
        b = d["budgets"]
        out.append(f"== {ds}  (rounds 0..{d['n_rounds']}, {b[0]:g} to {b[-1]:g} labels; baseline {base})")
        for note in d.get("notes", []):
            out.append(f"   note: {note}")
        tgt = d.get("target")
        saved_h = f"labels saved @ {tgt:.4f}" if tgt is not None else "labels saved"
        out.append(_table(["strategy", "rank", "seeds", "AUBC", f"{level}% CI", "final acc", saved_h,
                           f"vs {base} (AUBC diff, p)"], _dataset_rows(d, base)))
        pm = d["penalty_matrix"]
        out.append("")
        out.append(f"Penalty matrix (share of {pm['n_rounds']} rounds where the row is significantly better, "
                   f"paired t-test, alpha = {pm['alpha']:g}):")
        out.append(_matrix_text(pm["strategies"], pm["matrix"]))
    if report.get("penalty_matrix") and len(report["datasets"]) > 1:
        tot = report["penalty_matrix"]
        out.append("")
        out.append("Penalty matrix summed over datasets (each dataset adds at most 1 per cell):")
        out.append(_matrix_text(tot["strategies"], tot["matrix"]))
    return "\n".join(out)


# ----------------------------------------------------------------------------- HTML


def _heatmap_svg(strategies: list[str], matrix: list[list[float]], vmax: float, title: str) -> str:
    """A penalty heatmap as inline SVG: cell = row beats column, white (0) to dark blue (``vmax``)."""
    m = len(strategies)
    cell, left, top = 46, 10 + 7 * max(len(s) for s in strategies), 30 + 7 * max(len(s) for s in strategies)
    width = max(left + m * cell + 20, 8 * len(title) + 10, left + 320)  # room for the title and the caption
    height = top + m * cell + 30
    parts = [f"<svg width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' "
             f"aria-label='{html.escape(title)}' style='font-family:sans-serif;font-size:12px'>",
             f"<text x='4' y='16' font-weight='bold'>{html.escape(title)}</text>"]
    for j, s in enumerate(strategies):
        x = left + j * cell + cell / 2
        parts.append(f"<text transform='translate({x + 4},{top - 6}) rotate(-60)'>{html.escape(s)}</text>")
    for i, s in enumerate(strategies):
        y = top + i * cell
        parts.append(f"<text x='{left - 6}' y='{y + cell / 2 + 4}' text-anchor='end'>{html.escape(s)}</text>")
        for j, v in enumerate(matrix[i]):
            frac = 0.0 if vmax <= 0 else min(1.0, v / vmax)
            r, g, b = (int(255 + (c - 255) * frac) for c in (8, 48, 107))
            ink = "white" if frac > 0.55 else "black"
            x = left + j * cell
            label = "" if i == j else f"{v:.2f}"
            parts.append(f"<rect x='{x}' y='{y}' width='{cell}' height='{cell}' fill='rgb({r},{g},{b})' "
                         f"stroke='#ccc'><title>{html.escape(s)} beats {html.escape(strategies[j])}: {v:.3f}</title>"
                         f"</rect><text x='{x + cell / 2}' y='{y + cell / 2 + 4}' text-anchor='middle' "
                         f"fill='{ink}'>{label}</text>")
    parts.append(f"<text x='{left}' y='{top + m * cell + 20}'>row beats column; 0 (white) to {vmax:.2f} (dark)"
                 "</text></svg>")
    return "".join(parts)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report_html(report: Mapping[str, Any], path: str | Path) -> Path:
    """Write the report as one self-contained HTML file (tables + inline-SVG penalty heatmaps; no requests).

    The style follows :func:`alkit.viz.curves.write_report`; the file is written to a temporary name and
    moved into place, so a reader never sees half of it. Returns the path.
    """
    if not isinstance(report, Mapping) or "datasets" not in report:
        raise ValueError("report must be the dict build_report returns (it has no 'datasets')")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    base = report["baseline"]
    level = int(round(100 * (1 - report["alpha"])))
    meta = report.get("meta") or {}
    title = f"Sweep report {meta['sweep_id']}" if meta.get("sweep_id") else "Sweep report"
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
             "margin:0.5em 0 1em}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f3f3f3}"
             "td:first-child{text-align:left}.note{color:#666}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p>Baseline <b>{html.escape(base)}</b>; alpha = {report['alpha']:g}; intervals: {level}% percentile "
             f"bootstrap over seeds (B = {report['n_boot']}, seed {report['seed']}). Verdicts: two-sided paired "
             "t-test on per-seed AUBC. Penalty matrix: share of rounds at which the row is significantly better "
             "than the column (paired t-test per round, Ash et al. 2020).</p>"]
    tot = report.get("penalty_matrix")
    if tot and len(report["datasets"]) > 1:
        vmax = max([1.0, *(max(r) for r in tot["matrix"])])
        parts.append("<h2>All datasets</h2>")
        parts.append(_heatmap_svg(tot["strategies"], tot["matrix"], vmax, "Penalty matrix, summed over datasets"))
    for ds, d in report["datasets"].items():
        parts.append(f"<h2>{html.escape(str(ds))}</h2>")
        for note in d.get("notes", []):
            parts.append(f"<p class='note'>{html.escape(note)}</p>")
        if not d.get("aubc"):
            continue
        tgt = d.get("target")
        saved_h = f"labels saved @ {tgt:.4f}" if tgt is not None else "labels saved"
        parts.append(_html_table(["strategy", "rank", "seeds", "AUBC", f"{level}% CI", "final acc", saved_h,
                                  f"vs {base} (AUBC diff, p)"], _dataset_rows(d, base)))
        pm = d["penalty_matrix"]
        parts.append(_heatmap_svg(pm["strategies"], pm["matrix"], 1.0,
                                  f"{ds}: penalty matrix over {pm['n_rounds']} rounds"))
    parts.append("</body></html>")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    tmp.replace(path)
    return path
