"""Learning curves: a stored sweep (bootstrap bands, AUBC with intervals, verdicts vs Random, penalty heatmap)
or any set of runs (mean and band over seeds; AUBC and win-tie-loss). Refreshes itself while something runs."""

from __future__ import annotations

import dashui
import streamlit as st

from alkit.experiments.report import sweep_report
from alkit.experiments.sweep import sweep_curves
from alkit.viz.curves import learning_curve_figure
from alkit.viz.runs import aubc_rows, group_curves, wtl_rows
from alkit.viz.sweep import (
    aubc_table_rows,
    cell_progress,
    penalty_heatmap_figure,
    sweep_curve_figure,
    verdict_sentences,
)

#: Seconds between the page's own refreshes while a chosen run or a cell of the chosen sweep is running.
LIVE_EVERY = 3.0
#: Bootstrap resamples of the report (the same as ``alkit report``), and of the curve bands.
N_BOOT, N_BOOT_BAND = 10000, 2000
SHORT = {"finished cells only": "drop", "every cell, cut to the rounds all have": "cut"}

st.title("Learning curves")
store = dashui.store()
sweeps = store.list_sweeps()
runs = [r for r in store.list_runs() if r["n_rounds"] >= 1]
if not runs and not sweeps:
    dashui.show_empty_store()
    st.stop()


def live_interval(running: bool) -> float | None:
    """The fragment's refresh interval (kept in ``session_state["curves_live_every"]`` for the end check)."""
    every = LIVE_EVERY if running else None
    st.session_state["curves_live_every"] = every
    return every


def stop_when_idle(running: bool) -> None:
    """Inside the fragment: when nothing runs any more, one full rerun redraws the page and drops the timer."""
    if not running and st.session_state.get("curves_live_every"):
        st.session_state["curves_live_every"] = None
        st.rerun()


# ----------------------------------------------------------------------------- a sweep


def sweep_label(s: dict) -> str:
    counts = s["status_counts"]
    state = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no cell started"
    name = f"{s['name']} · " if s.get("name") else ""
    return f"{name}{s['sweep_id']} · {s['n_runs']} of {s['n_cells']} cells · {state}"


def cell_state(sid: str) -> tuple[list[dict], dict[str, int]]:
    cells = store.sweep_cells(sid)
    counts: dict[str, int] = {}
    for c in cells:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    return cells, counts


@st.cache_data(show_spinner="Computing the sweep's statistics…", max_entries=8)
def sweep_data(ws: str, sid: str, fingerprint: tuple, short: str) -> tuple[dict, dict, dict]:
    """Curves, report and figures of a sweep; ``fingerprint`` (every cell's run, status and rounds) keys the
    cache, so a refresh that finds no new round costs nothing (the bands alone take ~0.7 s for 170 cells)."""
    curves = sweep_curves(store, sid)
    report = sweep_report(store, sid, n_boot=N_BOOT, short=short)
    alpha, base = report["alpha"], report["baseline"]
    level = int(round(100 * (1 - alpha)))
    figs = {}
    for ds, by_strategy in curves.items():
        pm = report["datasets"].get(ds, {}).get("penalty_matrix")
        figs[ds] = (sweep_curve_figure(by_strategy, title=f"{ds}: mean test accuracy over seeds, {level}% bootstrap "
                                       "band", alpha=alpha, n_boot=N_BOOT_BAND, baseline=base),
                    penalty_heatmap_figure(pm, title=f"{ds}: penalty matrix over {pm['n_rounds']} rounds")
                    if pm and len(pm["strategies"]) > 1 else None)
    return curves, report, figs


def draw_sweep(sid: str, n_cells: int, short: str) -> None:
    cells, counts = cell_state(sid)
    running = counts.get("running", 0) > 0
    st.caption(cell_progress(n_cells, counts) + (f" · refreshing every {LIVE_EVERY:g} s" if running else ""),
               help="A running cell's curve grows as its rounds arrive; the page refreshes itself until no "
                    "cell runs.")
    fingerprint = tuple((c["run_id"], c["status"], c["n_rounds"]) for c in cells)
    try:
        curves, report, figs = sweep_data(dashui.workspace(), sid, fingerprint, short)
    except ValueError as err:
        st.error(f"Cannot compute this sweep's statistics: {err}")
        stop_when_idle(running)
        return
    if not curves:
        st.info("No cell of this sweep has stored a round yet.")
    alpha, base = report["alpha"], report["baseline"]
    level = int(round(100 * (1 - alpha)))
    for ds in curves:
        d = report["datasets"].get(ds, {})
        st.subheader(ds)
        curve_fig, heatmap = figs[ds]
        dashui.chart(curve_fig, key=f"curves_sweep_fig_{ds}")
        st.caption(f"Line: mean over seeds at each budget; band: {level}% percentile-bootstrap interval of that "
                   f"mean ({N_BOOT_BAND} resamples). {base} is dashed in black.")
        for note in d.get("notes", []):
            st.caption(f"Note: {note}.")
        rows = aubc_table_rows(d, alpha=alpha)
        if not rows:
            continue
        st.markdown(f"**AUBC** (area under the budget curve, budget axis scaled to [0, 1]; {level}% bootstrap "
                    f"interval over seeds, {report['n_boot']} resamples; rounds 0..{d['n_rounds']})")
        dashui.table(rows, key=f"curves_sweep_aubc_{ds}")
        sentences = verdict_sentences(d, alpha=alpha)
        if sentences:
            st.markdown(f"**Against {base}** (two-sided paired t-test on the per-seed AUBC):\n\n"
                        + "\n".join(f"- {s}" for s in sentences))
        pm = d.get("penalty_matrix")
        if heatmap is not None:
            dashui.chart(heatmap, key=f"curves_sweep_pm_{ds}")
            st.caption(f"Read a row: the share of the {pm['n_rounds']} rounds at which strategy i (row) is "
                       f"significantly better than strategy j (column), paired t-test over seeds at α = "
                       f"{pm['alpha']:g} (Ash et al., 2020). The bottom row is each column's mean over the other "
                       "strategies, how often it is beaten: lower is better.")
    stop_when_idle(running)


def sweep_source() -> None:
    by_id = {s["sweep_id"]: s for s in sweeps}
    ids = list(by_id)  # newest first
    c1, c2 = st.columns([3, 2])
    labels = {i: sweep_label(by_id[i]) for i in ids}
    chosen = st.session_state.get("curves_sweep_id")
    # the key follows the labels: a mounted selectbox keeps showing its old option texts otherwise (the counts
    # change while cells run); the choice itself lives in session_state["curves_sweep_id"]
    sid = c1.selectbox("Sweep", ids, index=ids.index(chosen) if chosen in ids else 0, format_func=labels.get,
                       key=f"curves_sweep_{hash(tuple(labels.values())) & 0xFFFFFFFF:x}")
    st.session_state["curves_sweep_id"] = sid
    short = c2.radio("Statistics over", list(SHORT), key="curves_sweep_short",
                     help="While cells run their curves are shorter: leave them out of the statistics until they "
                          "finish, or cut every curve to the rounds all cells have.")
    info = by_id[sid]
    _, counts = cell_state(sid)
    every = live_interval(counts.get("running", 0) > 0)
    st.fragment(run_every=every)(draw_sweep)(sid, int(info["n_cells"]), SHORT[short])


# ----------------------------------------------------------------------------- runs


def draw_runs(ids: list[str], band: str, margin: float) -> None:
    status = {r["run_id"]: r["status"] for r in store.list_runs()}
    n_running = sum(status.get(i) == "running" for i in ids)
    if n_running:
        st.caption(f"{n_running} of the {len(ids)} chosen runs are running · refreshing every {LIVE_EVERY:g} s")
    by_ds = group_curves(store, ids)
    for ds, curves in by_ds.items():
        st.subheader(ds)
        fig = learning_curve_figure(curves, title=f"{ds}: test accuracy against labels",
                                    band="std" if band.startswith("±") else "none")
        dashui.chart(fig, key=f"curves_fig_{ds}")
        st.markdown("**AUBC** (area under the budget curve, budget axis scaled to [0, 1]; 95% bootstrap CI over seeds)")
        rows = aubc_rows(curves)
        dashui.table([{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
                     key=f"curves_aubc_{ds}")
    wtl = wtl_rows(by_ds, margin=float(margin))
    if wtl:
        st.subheader("Win / tie / loss by mean AUBC")
        st.caption(f"Each pair of strategies on each dataset: a win when the mean AUBC is higher by more than "
                   f"{margin:g}.")
        dashui.table(wtl, key="curves_wtl")
    else:
        st.caption("Win / tie / loss needs at least two strategies with two or more rounds.")
    stop_when_idle(n_running > 0)


def runs_source() -> None:
    if not runs:
        st.info("No run has stored a round yet.")
        return
    datasets = sorted({r["dataset"] for r in runs})
    c1, c2, c3 = st.columns([2, 1, 1])
    chosen_ds = c1.multiselect("Datasets", datasets, default=datasets[:1], key="curves_datasets")
    band = c2.radio("Band over seeds", ["±1 std", "none"], horizontal=True, key="curves_band")
    margin = c3.number_input("Tie margin (AUBC)", 0.0, 0.5, 0.005, step=0.001, format="%.3f", key="curves_margin")
    pool = [r for r in runs if r["dataset"] in chosen_ds]
    strategies = sorted({r["strategy"] for r in pool})
    chosen_s = st.multiselect("Strategies", strategies, default=strategies, key="curves_strategies")
    statuses = st.multiselect("Run status", ["finished", "running", "interrupted", "failed"],
                              default=["finished", "running"], key="curves_status")
    ids = [r["run_id"] for r in pool if r["strategy"] in chosen_s and r["status"] in statuses]
    with st.expander("Pick runs one by one"):
        by_id = {r["run_id"]: r for r in runs}
        ids = st.multiselect("Runs", ids, default=ids, format_func=lambda i: dashui.run_label(by_id[i]),
                             key=f"curves_runs_{hash(tuple(ids))}")
    st.caption(f"{len(ids)} runs selected. Random is drawn dashed in black; a running run joins with the rounds "
               "it has.")
    if not ids:
        st.info("No run matches these filters.")
        live_interval(False)
        return
    every = live_interval(any(r["status"] == "running" for r in runs if r["run_id"] in set(ids)))
    st.fragment(run_every=every)(draw_runs)(ids, band, float(margin))


if sweeps:
    source = st.radio("Show", ["A sweep", "Runs"], horizontal=True, key="curves_source",
                      help="A sweep: its cells with intervals, verdicts and the penalty matrix. Runs: any runs of "
                           "the store, chosen by filters.")
else:
    source = "Runs"
if source == "A sweep":
    sweep_source()
else:
    runs_source()
