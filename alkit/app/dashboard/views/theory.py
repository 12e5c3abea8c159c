"""Theory: per-round bound terms, each on its own axis, and how Ben-David et al.'s bound adds up per round."""

from __future__ import annotations

import dashui
import streamlit as st

from alkit.viz.round_terms import (
    THEORY_TERMS,
    bound_decomposition,
    bound_stack_figure,
    dal_figure,
    dal_series,
    series_figure,
    term_name,
    theory_panel_figures,
    theory_series,
    waal_series,
)

LESSON = ("Lesson 02, *Bounds* (`notebooks/02_bounds.ipynb`; open it with `jupyter lab notebooks/02_bounds.ipynb`) "
          "derives these bounds and checks them on toy data")

st.title("Theory")
st.markdown("Two bounds say why *which* items get labeled matters: the risk on the unlabeled data is at most the "
            "risk on the labeled data plus how different the labeled set looks from the unlabeled pool (an "
            "H-divergence for DAL, Ben-David et al. 2010; a Wasserstein distance W1 for WAAL, Shui et al. 2020), "
            f"plus terms no one can measure without every label. {LESSON}.")
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
if th:
    st.subheader("How the bound adds up, round by round")
    parts = bound_decomposition(th)
    if parts:
        dashui.chart(bound_stack_figure(parts, x_label=xl, x_map=xm), key="theory_stack")
        st.caption(
            "Ben-David et al.'s bound: unlabeled risk ≤ labeled risk + ½ · H-divergence(L, U) + λ*. Blue and orange "
            "are measured (the H-divergence by its proxy on the model's features); grey, **the rest**, is the "
            "measured test error minus both, so the bars add up to the black line exactly. The bound covers the rest "
            "with λ* (the error of the best single model on labeled and unlabeled data together, unknown without "
            "U's labels), a finite-sample term and whatever the linear domain classifier's proxy misses of the true "
            "divergence. Grey below zero: the two measured terms alone already exceed the measured risk.")
        dashui.table([{"round": p["round"], "labels": x_map.get(p["round"]), "labeled risk": p["labeled_risk"],
                       "½ proxy H-div.": p["divergence_term"], "the rest": p["rest"], "test error": p["test_error"]}
                      for p in parts])
    else:
        st.caption("This run stored no labeled risk, test error and proxy H-divergence for the same rounds, so the "
                   "bound cannot be added up here.")

    st.subheader("Each term on its own axis")
    figs = theory_panel_figures(th, x_label=xl, x_map=xm)
    for row in range(0, len(figs), 2):
        cols = st.columns(2)
        for col, (title, fig) in zip(cols, figs[row:row + 2]):
            dashui.chart(fig, key=f"theory_panel_{title}", container=col)
    st.markdown("\n".join(f"* **{name}**: {meaning}." for key, (name, meaning) in THEORY_TERMS.items() if key in th))
    with st.expander("Every stored value"):
        dashui.table([{"term": term_name(k), "key": k, **{f"r{r}": round(v, 4) for r, v in zip(*val)}}
                      for k, val in th.items()], key="theory_table")
else:
    st.info("This run stored no per-round theory terms (`extras['theory']`). Runs started with the theory logging "
            "on (`alkit run --theory-terms`, or the *Log the bound terms* box on the Run page) show the labeled risk, "
            "proxy H-divergence and W1(L, U) here.")

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
