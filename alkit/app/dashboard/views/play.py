"""Play: you are the strategy. Pick points on a 2-D toy, then see how your pick compares."""

from __future__ import annotations

import dashui
import streamlit as st

from alkit.app.playground import PLAY_STRATEGIES, Playground, playable_strategies
from alkit.app.playground_figures import gain_figure, gain_points, play_payload
from alkit.viz.curves import learning_curve_figure

st.title("Play: you are the strategy")
st.markdown("Grey points are unlabeled (their classes are hidden), coloured points are labeled, the shading is the "
            "model's prediction (darker: surer). **Click** points to pick them (or **drag** a lasso around some), "
            "then compare the accuracy gain of your pick with Random's and each strategy's pick from the "
            "same state.")

with st.expander("Game settings", expanded="play_game" not in st.session_state):
    c1, c2, c3 = st.columns(3)
    dataset = c1.selectbox("Toy", ["moons", "blobs", "sampling_bias"], key="play_dataset")
    initial = c2.number_input("Initial labels", 2, 100, 6, key="play_initial")
    seed = c3.number_input("Seed", 0, 10000, 0, key="play_seed")
    if st.button("New game", key="play_new") or "play_game" not in st.session_state:
        with st.spinner("Training the first model…"):
            st.session_state["play_game"] = Playground(dataset, initial=int(initial), seed=int(seed))
        st.session_state["play_pick"], st.session_state["play_rows"] = [], None
        st.session_state["play_typed"] = ""
        st.session_state["play_chart_n"] = st.session_state.get("play_chart_n", 0) + 1

pg: Playground = st.session_state["play_game"]
c1, c2, c3 = st.columns([2, 1, 1])
chosen = c1.multiselect("Strategies to compare", playable_strategies(), default=list(PLAY_STRATEGIES),
                        key="play_strategies")
k_max = c2.number_input("Points per pick", 1, 50, 5, key="play_k")
repeats = c3.number_input("Random draws", 1, 20, 3, key="play_repeats")
st.caption(f"Round {pg.round} · {len(pg.labeled)} labels · test accuracy {pg.accuracy:.3f}")

pick: list[int] = list(st.session_state.get("play_pick", []))
rows = st.session_state.get("play_rows")
others = {r["picker"]: r["points"] for r in rows[1:]} if rows else None
payload = play_payload(pg, pick=pick, others=others)
clicked = dashui.embedding_scatter(payload, key=f"play_chart_{st.session_state.get('play_chart_n', 0)}")
unl = set(pg.unlabeled())
new = [i for i in clicked if i in unl]
typed = st.text_input("…or type pool indices (comma-separated)", key="play_typed")
if typed.strip():
    try:
        typed_idx = [int(t) for t in typed.replace(" ", "").split(",") if t]
    except ValueError:
        st.error(f"Pool indices are whole numbers separated by commas, got {typed!r}")
    else:
        rejected = [i for i in typed_idx if i not in unl]
        if rejected:
            st.warning(f"Ignored {rejected[:10]}: not unlabeled pool points (pool size {len(pg.ds.x_train)}).")
        new += [i for i in typed_idx if i in unl]
merged = list(dict.fromkeys(pick + new))
if len(merged) > k_max:
    st.warning(f"You picked {len(merged)} points; the first {int(k_max)} count.")
    merged = merged[: int(k_max)]
if merged != pick:
    st.session_state["play_pick"] = merged
    st.session_state["play_rows"] = None
    st.rerun()



def reset_pick() -> None:
    st.session_state["play_pick"], st.session_state["play_rows"] = [], None
    st.session_state["play_typed"] = ""
    st.session_state["play_chart_n"] = st.session_state.get("play_chart_n", 0) + 1


def commit_pick() -> None:
    pg.commit(st.session_state["play_pick"])
    reset_pick()


c1, c2, c3 = st.columns(3)
c1.markdown(f"**Your pick:** {', '.join(map(str, pick)) or '—'}")
c2.button("Clear pick", key="play_clear", on_click=reset_pick)
if c3.button("Compare", type="primary", key="play_compare", disabled=not pick):
    bar = st.progress(0.0, text="retraining…")
    try:
        rows = pg.compare(pick, strategies=chosen, random_repeats=int(repeats),
                          progress=lambda what, i, n: bar.progress(i / n, text=f"retrained with {what}'s pick"))
    except ValueError as exc:
        st.error(str(exc))
    else:
        st.session_state["play_rows"] = rows
        st.rerun()

if rows:
    dashui.chart(gain_figure(rows), key="play_gain")
    dashui.table([{"picker": r["picker"], "test accuracy (%)": f"{100 * r['accuracy']:.1f}",
                   "gain (percentage points)": f"{gain_points(r['gain']):+.1f}"
                   + (f" ± {gain_points(r['gain_std']):.1f}" if r.get("gain_std") else ""),
                   "points": ", ".join(map(str, r["points"]))} for r in rows])
    st.caption("Gain: test accuracy after adding the pick minus before it, in percentage points (chart and table "
               "alike); Random's is the mean over its draws ± 1 std.")
    st.button("Keep my pick: label it and play the next round", key="play_commit", on_click=commit_pick)
if len(pg.history) > 1:
    fig = learning_curve_figure({"your game": [([n for n, _ in pg.history], [a for _, a in pg.history])]},
                                title="Your game so far")
    fig.update_layout(height=260)
    dashui.chart(fig, key="play_history")
