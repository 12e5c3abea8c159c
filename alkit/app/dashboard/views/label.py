"""Label: you are the oracle. The run queries, you label the images, it trains on your labels."""

from __future__ import annotations

import dashui
import streamlit as st

import alkit
from alkit.app.worker import RunWorker, get_worker
from alkit.loop import ALConfig
from alkit.presets import get_preset
from alkit.viz.batch import to_image, upscale

st.title("Label")
st.markdown("A run that asks **you** for labels: each round the strategy queries a batch, you label it, "
            "the model retrains on your answers. Your labels are what the run stores.")

IMAGE_SETS = ["digits", "mnist5k", "fashion_mnist"]
TILE_PX = 168  # 8x8 digits x21, 28x28 MNIST x6: both about as big as a thumb on a projected screen
BIG_PX = 240   # the image the keyboard labels next


def preset_initial() -> None:
    """A new dataset brings its own preset initial-set size (not the previous dataset's)."""
    st.session_state["label_initial"] = get_preset(st.session_state["label_dataset"]).initial


with st.expander("Start a labeling run", expanded="label_run" not in st.session_state):
    c1, c2, c3 = st.columns(3)
    dataset = c1.selectbox("Dataset", IMAGE_SETS, key="label_dataset", on_change=preset_initial)
    strategies = alkit.list_strategies()
    strategy = c2.selectbox("Strategy", strategies, index=strategies.index("margin"), key="label_strategy")
    seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="label_seed")
    c1, c2, c3, c4 = st.columns(4)
    if "label_initial" not in st.session_state:
        preset_initial()
    initial = c1.number_input("Initial labels", 1, 10000, key="label_initial")
    query = c2.number_input("Images per round", 1, 100, 10, key="label_query")
    rounds = c3.number_input("Rounds", 1, 100, 5, key="label_rounds")
    epochs = c4.number_input("Epochs per round", 1, 200, 20, key="label_epochs")
    human_seed = st.checkbox("I label the initial set too (else it comes with the dataset's labels)", False,
                             key="label_human_seed")
    if st.button("Start labeling", type="primary", key="label_start"):
        train = get_preset(dataset).train.to_dict()
        train["epochs"] = int(epochs)
        train["min_steps"] = min(int(train.get("min_steps", 0)), 10 * int(epochs))
        try:
            cfg = ALConfig(dataset=dataset, strategy=strategy, initial=int(initial), query=int(query),
                           rounds=int(rounds), seed=int(seed), store_embeddings=0,
                           train=alkit.TrainConfig.from_dict(train))
            w = RunWorker(cfg, workspace=dashui.workspace(), human=True, human_seed=human_seed)
        except (ValueError, TypeError, alkit.store.StoreError) as exc:
            st.error(f"Cannot start: {exc}")
        else:
            st.session_state["label_run"] = w.run_id
            st.session_state["current_run"] = w.run_id
            st.rerun()


def answers_of(rnd: int) -> dict[int, int]:
    """The keyboard's answers of round ``rnd``: pool index -> class (kept in the session, no widget's state)."""
    return st.session_state.setdefault(f"label_answers_{rnd}", {})


def bump(rnd: int, i: int) -> None:
    versions = st.session_state.setdefault(f"label_versions_{rnd}", {})
    versions[i] = versions.get(i, 0) + 1


def box_key(rnd: int, i: int) -> str:
    """The key of image ``i``'s class box: ``label_<round>_<index>_<version>``, the version counting the
    keyboard's changes to its answer."""
    return f"label_{rnd}_{i}_{st.session_state.get(f'label_versions_{rnd}', {}).get(i, 0)}"


def label_panel() -> None:
    rid = st.session_state.get("label_run")
    w = get_worker(rid) if rid else None
    if w is None:
        st.info("Start a labeling run above.")
        return
    s = w.status()
    st.session_state["label_round"] = s["round"]
    st.progress(min(1.0, (s["round"] + 1) / s["total_rounds"]),
                text=f"run {w.run_id}: {s['round'] + 1} of {s['total_rounds']} rounds · {s['state'].replace('_', ' ')}")
    if s["error"]:
        st.error(f"The run failed: {s['error']}")
    if s["accuracy"] is not None:
        st.metric("test accuracy with your labels", f"{s['accuracy']:.3f}")
    pending = s["pending"]
    if not pending:
        if s["busy"]:
            st.caption(f"working: {s['phase'] or 'starting'}…")
        elif s["state"] == "finished":
            st.success("Done: every round is labeled. Compare this run with others on the Learning curves page.")
        return
    ds = w.run.dataset
    names = ds.class_names
    rnd = s["round"]
    answers = answers_of(rnd)
    todo = [i for i in pending if i not in answers]
    st.subheader(f"Round {rnd + 1}: label these {len(pending)} images")
    if len(names) <= 10:  # one key per class: 0-9
        keyboard(ds, rnd, pending, todo)
    with st.form(f"label_form_{rnd}"):
        cols = st.columns(5)
        for k, i in enumerate(pending):
            with cols[k % 5]:
                img = to_image(ds.x_train[i], mean=ds.mean, std=ds.std)
                if img is not None:
                    st.image(upscale(img, TILE_PX), width=TILE_PX)
                # a new key whenever the keyboard changed this image's answer, so the box shows that answer
                st.selectbox(f"#{i}" + (" (next)" if todo and i == todo[0] else ""), list(range(len(names))),
                             index=answers.get(i), format_func=lambda c: names[c], placeholder="class?",
                             key=box_key(rnd, i))
        sent = st.form_submit_button("Submit labels (Enter)", type="primary", shortcut="Enter")
    if sent:
        given = [st.session_state.get(box_key(rnd, i)) for i in pending]
        missing = [i for i, a in zip(pending, given) if a is None]
        if missing:
            st.error(f"Choose a class for every image (missing: {', '.join(f'#{i}' for i in missing)}).")
            return
        w.answer([int(a) for a in given])
        agree = sum(int(a) == int(ds.y_train[i]) for i, a in zip(pending, given))
        st.session_state["label_feedback"] = f"{agree} of {len(pending)} of your labels match the dataset's labels."
        st.rerun()


def keyboard(ds, rnd: int, pending: list[int], todo: list[int]) -> None:
    """Label with the keyboard: the next unlabeled image large, one button per class with its digit as the
    shortcut (Streamlit's ``shortcut=``), Backspace takes the last answer back; Enter submits the form."""
    names = ds.class_names
    answers, order_key = answers_of(rnd), f"label_order_{rnd}"

    def answered() -> list[int]:
        return [i for i in st.session_state.get(order_key, []) if i in answers]

    # The callbacks read and write the round's answers (a plain dict in the session, no widget's value), as they
    # are when the key is pressed: two keys pressed before the page redraws label two images, in order, and no
    # widget state the browser sends back from before the redraw can undo an answer (seen on a loaded machine:
    # a value written into a form's selectbox was lost when the next key interrupted the redraw).
    def give(c: int) -> None:
        left_now = [i for i in pending if i not in answers]
        if left_now:
            answers[left_now[0]] = c
            bump(rnd, left_now[0])
            st.session_state[order_key] = answered() + [left_now[0]]

    def undo() -> None:
        done = answered()
        if done:
            answers.pop(done[-1], None)
            bump(rnd, done[-1])
            st.session_state[order_key] = done[:-1]

    order = answered()
    left, right = st.columns([1, 3])
    if todo:
        img = to_image(ds.x_train[todo[0]], mean=ds.mean, std=ds.std)
        if img is not None:
            left.image(upscale(img, BIG_PX), width=BIG_PX, caption=f"next: #{todo[0]}")
        right.markdown(f"**Keyboard:** press a class's key (`0` to `{len(names) - 1}`, shown on its button) to label "
                       f"#{todo[0]} and move on; `Backspace` takes the last answer back; `Enter` submits. "
                       f"{len(pending) - len(todo)} of {len(pending)} labeled.")
    else:
        right.markdown(f"**All {len(pending)} labeled.** Press `Enter` (or *Submit labels*) to train on them; "
                       "`Backspace` takes the last answer back.")
    cols = right.columns(min(5, len(names)))
    for c, n in enumerate(names):
        # the button shows its key beside the label (Streamlit draws the shortcut hint)
        cols[c % len(cols)].button(f"class {n}" if n == str(c) else n, key=f"label_key_{rnd}_{c}", shortcut=str(c),
                                   on_click=give, args=(c,), disabled=not todo, width="stretch")
    right.button("Undo", key=f"label_undo_{rnd}", shortcut="Backspace", on_click=undo, disabled=not order,
                 icon=":material/undo:")


if st.session_state.get("label_feedback"):
    st.caption(st.session_state["label_feedback"])
rid = st.session_state.get("label_run")
w = get_worker(rid) if rid else None
st.fragment(run_every=1.0 if (w is not None and w.status()["busy"]) else None)(label_panel)()
