"""Learning curves: accuracy against labels for any set of runs, mean and band over seeds; AUBC and win-tie-loss."""

from __future__ import annotations

import dashui
import streamlit as st

from alkit.viz.curves import learning_curve_figure
from alkit.viz.runs import aubc_rows, group_curves, wtl_rows

st.title("Learning curves")
store = dashui.store()
runs = [r for r in store.list_runs() if r["n_rounds"] >= 1]
if not runs:
    dashui.show_empty_store()
    st.stop()

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
st.caption(f"{len(ids)} runs selected. Random is drawn dashed in black; a running run joins with the rounds it has.")
if not ids:
    st.info("No run matches these filters.")
    st.stop()

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
    st.caption(f"Each pair of strategies on each dataset: a win when the mean AUBC is higher by more than {margin:g}.")
    dashui.table(wtl, key="curves_wtl")
else:
    st.caption("Win / tie / loss needs at least two strategies with two or more rounds.")
