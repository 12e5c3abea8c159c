"""Theory: per-round bound terms and W1(L, U) from the run store; WAAL / DAL internals where present."""

from __future__ import annotations

import dashui
import streamlit as st

from alkit.viz.round_terms import dal_figure, dal_series, series_figure, split_theory, theory_series, waal_series

st.title("Theory")
store = dashui.store()
run = dashui.pick_run("theory_run")
if run is None:
    dashui.show_empty_store()
    st.stop()
rounds = store.get_rounds(run["run_id"])
x_map = {r["round"]: r["n_labeled"] for r in rounds}
x_axis = st.radio("x axis", ["labels", "round"], horizontal=True, key="theory_x")
xm = x_map if x_axis == "labels" else None
xl = "number of labeled items" if x_axis == "labels" else "round"

th = theory_series(rounds)
st.subheader("Bound terms")
if th:
    st.caption("Per-round terms stored in `extras['theory']`: the labeled risk, the proxy H-divergence and "
               "W1(L, U) between labeled and unlabeled features bound the unlabeled risk from above.")
    groups = split_theory(th)
    if groups["risk"]:
        dashui.chart(series_figure(groups["risk"], title="Risks and errors", x_label=xl, x_map=xm),
                     key="theory_terms")
    if groups["divergence"]:
        dashui.chart(series_figure(groups["divergence"], title="Labeled vs unlabeled: W1(L, U) and H-divergence",
                                   x_label=xl, x_map=xm), key="theory_w1")
    dashui.table([{"term": k, **{f"r{r}": round(v, 4) for r, v in zip(*val)}} for k, val in th.items()],
                 key="theory_table")
else:
    st.info("This run stored no per-round theory terms (`extras['theory']`). Runs made with the theory logging "
            "switched on (see `alkit.theory`) show the labeled risk, proxy H-divergence and W1(L, U) here.")

waal = waal_series(rounds)
dal = dal_series(rounds)
st.subheader("Strategy internals")
if waal:
    keep = {k: v for k, v in waal.items() if any(s in k for s in ("critic_mean", "w1", "objective", "train_w", "gp"))}
    dashui.chart(series_figure(keep or waal, title="WAAL critic", x_label=xl, x_map=xm), key="theory_waal")
if dal:
    dashui.chart(dal_figure(dal), key="theory_dal")
if not waal and not dal:
    st.caption(f"No WAAL or DAL internals in this run (strategy `{run['strategy']}`); runs of `waal` or `dal` show "
               "their critic values / proxy H-divergence per mini-query here.")
