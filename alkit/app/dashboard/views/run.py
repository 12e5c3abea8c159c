"""Run page: start a run in the background or step it round by round; live progress and timings."""

from __future__ import annotations

import dataclasses

import dashui
import streamlit as st

import alkit
from alkit.app.worker import get_worker
from alkit.loop import ALConfig
from alkit.presets import get_preset
from alkit.viz.curves import learning_curve_figure
from alkit.viz.runs import round_seconds, runs_table, timings_figure

#: ALConfig fields that change the learning curve of a Random run (everything but the strategy's own choices
#: and what is only logged): a stored run that agrees on all of them is the Random baseline of a new run.
CURVE_FIELDS = ("dataset", "dataset_params", "model", "model_params", "initial", "initial_mode", "query", "seed",
                "oracle", "noise_rate", "train")


def baseline_for(cfg: dict, runs: list[dict]) -> str | None:
    """A stored Random run with the same curve settings as ``cfg`` (most rounds first; a failed one never)."""
    best = None
    for r in runs:
        if r["strategy"] != "random" or r["dataset"] != cfg["dataset"] or r["status"] == "failed":
            continue
        other = store.get_run(r["run_id"])["config"]
        if all(other.get(k) == cfg.get(k) for k in CURVE_FIELDS) and (best is None or r["n_rounds"] > best["n_rounds"]):
            best = r
    return None if best is None else best["run_id"]


def preset_sizes() -> None:
    """The chosen dataset's preset in the size fields (a new dataset must not inherit the old one's sizes)."""
    p = get_preset(st.session_state["run_dataset"])
    st.session_state.update(run_initial=p.initial, run_query=p.query, run_rounds=p.rounds, run_epochs=p.train.epochs)


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
                           on_change=preset_sizes, help="digits, blobs, moons and sampling_bias need no download; "
                           "choosing one fills in its preset sizes")
    strategies = alkit.list_strategies()
    strategy = c2.selectbox("Strategy", strategies, index=strategies.index("entropy"), key="run_strategy")
    models = ["(dataset default)"] + alkit.list_models()
    model = c3.selectbox("Model", models, key="run_model")
    preset = get_preset(dataset)
    if "run_initial" not in st.session_state:  # first visit (or the form was not drawn): the preset's sizes
        preset_sizes()
    c1, c2, c3, c4 = st.columns(4)
    initial = c1.number_input("Initial labels", 1, 100000, key="run_initial")
    query = c2.number_input("Budget per round (b)", 1, 100000, key="run_query")
    rounds = c3.number_input("Query rounds", 0, 1000, key="run_rounds")
    seed = c4.number_input("Seed", 0, 2**31 - 1, 0, key="run_seed")
    c1, c2, c3 = st.columns(3)
    epochs = c1.number_input("Training epochs per round", 1, 1000, key="run_epochs")
    store_emb = c2.number_input("Store embeddings of (pool items)", 0, 100000, 1000, step=500, key="run_store_emb",
                                help="needed by the Embeddings page; a fixed random subset plus each round's batch")
    mode = c3.radio("Mode", ["Run every round in the background", "Step one round at a time"], key="run_mode")
    theory = st.checkbox("Log the bound terms each round (labeled risk, proxy H-divergence, W1(L, U)) for the "
                         "Theory page", False, key="run_theory")
    with_random = st.checkbox("Show Random with the same settings on the live curve (a stored Random run with the "
                              "same data, sizes, seed and training if there is one, else one runs alongside)", True,
                              key="run_with_random", disabled=strategy == "random")
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
            base = None
            if with_random and strategy != "random":
                base = baseline_for(w.config.to_dict(), store.list_runs())
                if base is None:  # the baseline runs every round at once: it is the reference, not the lesson
                    rcfg = dataclasses.replace(w.config, strategy="random", strategy_params={}, store_embeddings=0,
                                               theory_terms=False)
                    base = RunWorker(rcfg, workspace=dashui.workspace(), mode="auto",
                                     name=f"dashboard (Random baseline of {w.run_id})").run_id
            st.session_state["worker_baseline"] = base
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
    # callbacks, not `if st.button(...)`: they run before the page redraws, so a click that lands while the
    # live view refreshes itself every second still reaches the worker
    c1.button("Step one round", key="run_step", disabled=not (can_go and w.mode == "step"),
              help="train on one more batch; the lecture pace", on_click=w.step)
    c2.button("Run the rest", key="run_rest", disabled=not (can_go and w.mode == "step"), on_click=w.continue_auto)
    c3.button("Stop after this round", key="run_stop", disabled=not can_go, on_click=w.stop)
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
        base = st.session_state.get("worker_baseline")
        base_rounds = store.get_rounds(base) if base else []
        if base_rounds:  # Random up to one round past this run's labels: the reference, not a forecast
            stop = rounds[-1]["n_labeled"]
            shown = [r for r in base_rounds if r["n_labeled"] <= stop]
            shown += [r for r in base_rounds if r["n_labeled"] > stop][:1]
            curve["random"] = [([r["n_labeled"] for r in shown], [r["metrics"]["accuracy"] for r in shown])]
        dashui.chart(learning_curve_figure(curve, title="This run so far"), key="run_curve", container=c1)
        if base:
            c1.caption(f"Random (dashed) with the same data, sizes, seed and training: run `{base}`"
                       + ("" if base_rounds else " (its first round is still training)") + ".")
        dashui.chart(timings_figure(rounds, title="Seconds per phase and round"), key="run_timings", container=c2)
    elif s["state"] == "waiting_for_step":
        st.info("Press **Step one round** to train round 0 on the initial labels.")


def runs_panel() -> None:
    """The store's runs, re-read on every refresh: a run's status and rounds are never older than a second."""
    now = store.list_runs()
    if not now:
        return
    st.subheader("Runs in the store")
    rows = runs_table(now)
    dashui.table(rows, key="run_table", grid=True)
    stopped = [r["run"] for r in rows if r["status"] == "interrupted"]
    if stopped:
        st.caption(f"{len(stopped)} interrupted run(s): their process stopped before the last round (Ctrl+C, "
                   "*Stop*, a crash or `kill -9`). Continue one from its last complete round in a terminal with "
                   f"`alkit resume {stopped[0]}` (the *resume* column).")


def anything_running() -> bool:
    """Our run or its Random baseline is alive, or some run in the store (from a terminal, say) is running."""
    for key in ("worker_run", "worker_baseline"):
        w = get_worker(st.session_state.get(key) or "")
        if w is not None and w.status()["alive"]:
            return True
    return any(r["status"] == "running" for r in store.list_runs())


def live() -> None:
    live_panel()
    runs_panel()
    if st.session_state.get("run_live_every") and not anything_running():
        # everything ended: one full rerun redraws the page and stops this fragment's timer
        st.session_state["run_live_every"] = False
        st.rerun()


busy = anything_running()
st.session_state["run_live_every"] = busy
st.fragment(run_every=1.0 if busy else None)(live)()
