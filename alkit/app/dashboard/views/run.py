"""Run page: start a run in the background or step it round by round; live progress and timings."""

from __future__ import annotations

import dashui
import streamlit as st

import alkit
from alkit.app.worker import get_worker
from alkit.loop import ALConfig
from alkit.presets import get_preset
from alkit.viz.curves import learning_curve_figure
from alkit.viz.runs import round_seconds, runs_table, timings_figure

st.title("Run")
store = dashui.store()
runs = store.list_runs()
if not runs:
    dashui.show_empty_store()

# ----------------------------------------------------------------------------- start a run
with st.expander("Start a run", expanded=not runs or "worker_run" not in st.session_state):
    datasets = alkit.list_datasets()
    c1, c2, c3 = st.columns(3)
    dataset = c1.selectbox("Dataset", datasets, index=datasets.index("digits"), key="run_dataset",
                           help="digits, blobs, moons and sampling_bias need no download")
    strategies = alkit.list_strategies()
    strategy = c2.selectbox("Strategy", strategies, index=strategies.index("entropy"), key="run_strategy")
    models = ["(dataset default)"] + alkit.list_models()
    model = c3.selectbox("Model", models, key="run_model")
    preset = get_preset(dataset)
    c1, c2, c3, c4 = st.columns(4)
    initial = c1.number_input("Initial labels", 1, 100000, preset.initial, key="run_initial")
    query = c2.number_input("Budget per round (b)", 1, 100000, preset.query, key="run_query")
    rounds = c3.number_input("Query rounds", 0, 1000, preset.rounds, key="run_rounds")
    seed = c4.number_input("Seed", 0, 2**31 - 1, 0, key="run_seed")
    c1, c2, c3 = st.columns(3)
    epochs = c1.number_input("Training epochs per round", 1, 1000, preset.train.epochs, key="run_epochs")
    store_emb = c2.number_input("Store embeddings of (pool items)", 0, 100000, 1000, step=500, key="run_store_emb",
                                help="needed by the Embeddings page; a fixed random subset plus each round's batch")
    mode = c3.radio("Mode", ["Run every round in the background", "Step one round at a time"], key="run_mode")
    theory = st.checkbox("Log the bound terms each round (labeled risk, proxy H-divergence, W1(L, U)) for the "
                         "Theory page", False, key="run_theory")
    if st.button("Start", type="primary", key="run_start"):
        train = preset.train.to_dict()
        train["epochs"] = int(epochs)
        train["min_steps"] = min(int(train.get("min_steps", 0)), 20 * int(epochs))
        try:
            cfg = ALConfig(dataset=dataset, strategy=strategy, model=None if model == models[0] else model,
                           initial=int(initial), query=int(query), rounds=int(rounds), seed=int(seed),
                           store_embeddings=int(store_emb), theory_terms=bool(theory), train=alkit.TrainConfig.from_dict(train))
            from alkit.app.worker import RunWorker

            w = RunWorker(cfg, workspace=dashui.workspace(), mode="step" if mode.startswith("Step") else "auto")
        except (ValueError, TypeError, alkit.store.StoreError) as exc:
            st.error(f"Cannot start this run: {exc}")
        else:
            st.session_state["worker_run"] = w.run_id
            st.session_state["current_run"] = w.run_id
            st.rerun()


# ----------------------------------------------------------------------------- the live run
def live_panel() -> None:
    rid = st.session_state.get("worker_run")
    w = get_worker(rid) if rid else None
    if w is None:
        return
    s = w.status()
    st.session_state["run_round"] = s["round"]
    st.subheader(f"Run {w.run_id}: {w.config.strategy} on {w.config.dataset}")
    done = s["round"] + 1
    st.progress(min(1.0, done / s["total_rounds"]),
                text=f"{done} of {s['total_rounds']} rounds (round 0 = the initial set) · {s['state'].replace('_', ' ')}")
    if s["phase"]:
        st.caption(f"now: **{s['phase']}** for {s['phase_seconds']:.1f} s")
    if s["error"]:
        st.error(f"The run failed: {s['error']}")
        with st.expander("traceback"):
            st.code(s["traceback"] or "")
    c1, c2, c3 = st.columns(3)
    can_go = s["alive"] and s["state"] != "failed"
    if c1.button("Step one round", key="run_step", disabled=not (can_go and w.mode == "step"),
                 help="train on one more batch; the lecture pace"):
        w.step()
        st.rerun()
    if c2.button("Run the rest", key="run_rest", disabled=not (can_go and w.mode == "step")):
        w.continue_auto()
        st.rerun()
    if c3.button("Stop after this round", key="run_stop", disabled=not can_go):
        w.stop()
        st.rerun()
    rounds = store.get_rounds(w.run_id) if s["round"] >= 0 else []
    if rounds:
        m = st.columns(3)
        m[0].metric("labels", rounds[-1]["n_labeled"])
        acc = rounds[-1]["metrics"].get("accuracy")
        prev = rounds[-2]["metrics"].get("accuracy") if len(rounds) > 1 else None
        m[1].metric("test accuracy", f"{acc:.3f}", None if prev is None else f"{acc - prev:+.3f}")
        m[2].metric("last round (s)", f"{round_seconds(rounds[-1]['timings']):.2f}")
        c1, c2 = st.columns(2)
        curve = {w.config.strategy: [([r["n_labeled"] for r in rounds], [r["metrics"]["accuracy"] for r in rounds])]}
        dashui.chart(learning_curve_figure(curve, title="This run so far"), key="run_curve", container=c1)
        dashui.chart(timings_figure(rounds, title="Seconds per phase and round"), key="run_timings", container=c2)
    elif s["state"] == "waiting_for_step":
        st.info("Press **Step one round** to train round 0 on the initial labels.")


busy = False
rid = st.session_state.get("worker_run")
if rid and get_worker(rid) is not None:
    busy = get_worker(rid).status()["alive"]
st.fragment(run_every=1.0 if busy else None)(live_panel)()

# ----------------------------------------------------------------------------- every run
if runs:
    st.subheader("Runs in the store")
    rows = runs_table(store.list_runs())
    dashui.table(rows, key="run_table", grid=True)
    stopped = [r["run"] for r in rows if r["status"] == "interrupted"]
    if stopped:
        st.caption(f"{len(stopped)} interrupted run(s): their process stopped before the last round (Ctrl+C, "
                   "*Stop*, a crash or `kill -9`). Continue one from its last complete round in a terminal with "
                   f"`alkit resume RUN_ID` (the *resume* column), e.g. `alkit resume {stopped[0]}`.")
