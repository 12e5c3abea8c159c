"""Every dashboard page under streamlit.testing: widgets set, run, no exception, the expected charts present."""

import base64
import json

import numpy as np
import pytest
import torch

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from alkit.app.launch import dashboard_app  # noqa: E402
from alkit.app.worker import get_worker  # noqa: E402
from alkit.learner import TrainConfig  # noqa: E402
from alkit.loop import ALConfig, ALRun  # noqa: E402
from alkit.store import RunStore  # noqa: E402

torch.set_num_threads(1)
APP = str(dashboard_app())
PAGES = ["run", "curves", "embeddings", "batch", "theory", "label", "play", "replay"]
FAST = TrainConfig(epochs=2, batch_size=32)


def open_page(page, timeout=120):
    at = AppTest.from_file(APP, default_timeout=timeout).run()
    assert not at.exception, at.exception
    return at.switch_page(f"views/{page}.py").run()


def charts(at):
    """Every chart on the page, in page order, as ``{"engine", "title", "traces"}``: plotly charts and alkit's
    light SVG charts (``alkit.app.lite``) alike; each trace has ``name``, ``type``, ``x``, ``y`` and ``dash``."""
    def walk(node):
        yield node
        for child in (getattr(node, "children", None) or {}).values():
            yield from walk(child)

    out = []
    for el in (e for e in walk(at.main) if getattr(e, "type", None) in ("plotly_chart", "bidi_component")):
        if el.type == "plotly_chart":
            fig = json.loads(el.proto.spec)
            title = (fig["layout"].get("title") or {}).get("text", "")
            traces = [{"name": t.get("name", ""), "type": t["type"], "x": arr(t["x"]).tolist() if "x" in t else [],
                       "y": arr(t["y"]).tolist() if "y" in t else [], "dash": (t.get("line") or {}).get("dash")}
                      for t in fig["data"]]
            out.append({"engine": "plotly", "title": title, "traces": traces})
        elif el.proto.component_name.endswith("alkit_lite_chart"):
            spec = json.loads(el.proto.json)
            traces = [{"name": t.get("name", ""), "type": t["type"], "x": t["x"], "y": t["y"], "dash": t.get("dash")}
                      for t in spec["traces"]]
            out.append({"engine": "lite", "title": spec["title"], "traces": traces})
        elif el.proto.component_name.endswith("alkit_embedding_scatter"):
            data = json.loads(el.proto.json)
            out.append({"engine": "scatter", "title": data["title"], "traces": [], "data": data})
    return out


def lite_specs(at):
    """The raw specs of alkit's light SVG charts on the page (colours, axes, bar mode), in page order."""
    return [json.loads(e.proto.json) for e in at.get("bidi_component")
            if e.proto.component_name.endswith("alkit_lite_chart")]


def markdown_tables(at):
    return [m.value for m in at.markdown if m.value.lstrip().startswith("|")]


def arr(v):
    """A plotly JSON array: a list, or a typed array ``{"dtype", "bdata", "shape"}`` (numpy data)."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        shape = v.get("shape")
        return a.reshape([int(s) for s in str(shape).split(",")]) if shape else a
    return np.asarray(v)


def no_errors(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A store with entropy and random runs (2 seeds, embeddings) and one run with theory/WAAL/DAL extras."""
    ws = tmp_path_factory.mktemp("dash") / "workspace"
    store = RunStore(ws)
    ids = {}
    for strat in ("entropy", "random"):
        for seed in (0, 1):
            cfg = ALConfig(dataset="digits", strategy=strat, initial=10, query=5, rounds=2, seed=seed, train=FAST,
                           store_embeddings=120)
            ids[(strat, seed)] = ALRun(cfg, store=store).run() and None
    runs = {(r["strategy"], r["seed"]): r["run_id"] for r in store.list_runs()}
    cfg = ALConfig(dataset="digits", strategy="waal", initial=10, query=5, rounds=2, train=FAST).resolved()
    rid = store.create_run(cfg.to_dict(), 0, strategy="waal", dataset="digits")
    for r in range(3):
        store.log_round(rid, r, n_labeled=10 + 5 * r, metrics={"accuracy": 0.5 + 0.1 * r}, timings={"train": 1.0},
                        selected=list(range(10 * r, 10 * r + (10 if r == 0 else 5))),
                        extras={"theory": {"labeled_risk": 0.1 / (r + 1), "proxy_h_divergence": 1.0 - 0.2 * r,
                                           "w1_labeled_unlabeled": 2.0 - 0.5 * r, "test_error": 0.5 - 0.1 * r},
                                "waal_w1": 0.3 * r, "waal_critic_mean_labeled": -0.1 * r,
                                "h_divergence": [1.5, 1.0 - 0.1 * r]})
    runs["theory"] = rid
    store.close()
    return ws, runs


@pytest.fixture
def ws(filled, monkeypatch):
    monkeypatch.setenv("ALKIT_WORKSPACE", str(filled[0]))
    return filled


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_on_an_empty_store(page):
    at = open_page(page)
    no_errors(at)
    if page not in ("label", "play"):
        assert any("run store is empty" in i.value for i in at.info)
    if page == "play":  # the game needs no store
        (game,) = charts(at)
        assert game["engine"] == "scatter" and game["data"]["background"] is not None


def test_run_page_starts_a_run_and_steps_one_round_at_a_time():
    at = open_page("run")
    at.number_input(key="run_initial").set_value(10)
    at.number_input(key="run_query").set_value(4)
    at.number_input(key="run_rounds").set_value(2)
    at.number_input(key="run_epochs").set_value(2)
    at.number_input(key="run_store_emb").set_value(60)
    at.selectbox(key="run_strategy").set_value("margin")
    at.radio(key="run_mode").set_value("Step one round at a time")
    at.button(key="run_start").click().run()
    no_errors(at)
    rid = at.session_state["worker_run"]
    w = get_worker(rid)
    assert w.config.strategy == "margin" and w.config.query == 4 and w.mode == "step"
    store = RunStore(readonly=True)
    for expected in (0, 1):
        w.wait(lambda s, e=expected: s["state"] == "waiting_for_step" and s["round"] == e - 1)
        at.button(key="run_step").click().run()  # the click returns; the round trains in the worker
        w.wait(lambda s, e=expected: s["round"] == e and not s["busy"])
        at.run()
        no_errors(at)
        assert at.session_state["run_round"] == expected
        assert len(store.get_rounds(rid)) == expected + 1
    names = {t["name"] for c in charts(at) for t in c["traces"]}
    assert "train" in names and any(n.startswith("margin") for n in names)  # curve + phase timings
    at.button(key="run_stop").click().run()
    w.wait(lambda s: not s["alive"])
    assert store.get_run(rid)["status"] == "interrupted"


def test_curves_page_draws_curves_and_tables(ws):
    at = open_page("curves")
    no_errors(at)
    (fig,) = charts(at)
    assert fig["engine"] == "lite"  # no plotly.js for a fresh tab to load
    names = [t["name"] for t in fig["traces"] if t["name"]]
    assert "entropy (n=2)" in names and "random (n=2)" in names
    rnd = next(t for t in fig["traces"] if t["name"] == "random (n=2)")
    assert rnd["dash"] == "dash"
    aubc, wtl = markdown_tables(at)  # AUBC and win-tie-loss
    assert "entropy" in aubc and "random" in aubc and "win" in wtl.lower()
    at.multiselect(key="curves_strategies").set_value(["entropy"]).run()
    no_errors(at)
    assert len(markdown_tables(at)) == 1
    # the sidebar switch draws the same figure with plotly (zoom, export)
    at.toggle(key="plotly_charts").set_value(True).run()
    no_errors(at)
    (fig,) = charts(at)
    assert fig["engine"] == "plotly" and any(t["name"] == "entropy (n=2)" for t in fig["traces"])


def scatter_payloads(at):
    """The data of every canvas scatter (alkit's components-v2 embedding chart) on the page."""
    return [json.loads(e.proto.json) for e in at.get("bidi_component")
            if e.proto.component_name.endswith("alkit_embedding_scatter")]


def selected_of(data):
    return {i for i, g in zip(data["index"], data["group"]) if data["groups"][g]["name"] == "selected"}


def test_embeddings_page_computes_the_aligned_map_in_the_background_then_draws_each_rounds_slice(ws):
    from alkit.app import maps

    path, runs = ws
    rid = runs[("entropy", 0)]
    at = AppTest.from_file(APP, default_timeout=600).run()
    at.session_state["current_run"] = rid
    at.switch_page("views/embeddings.py").run()
    no_errors(at)
    assert at.radio(key="emb_space").value == "aligned"  # the default: each round in its own aligned slice
    if any("computing…" in i.value for i in at.info):  # not computed yet: the page says so and does not block
        assert any("Aligned UMAP over rounds" in i.value for i in at.info)
        (data,) = scatter_payloads(at)  # meanwhile round 2's own model features by PCA, named as such
        assert data["title"].endswith("· One round's model features · PCA")
        assert any(c.value.startswith("Shown while the Aligned UMAP over rounds map is computed: PCA of round 2's")
                   for c in at.caption)
        assert maps.service(path).wait_idle(600)
        at.run()
        no_errors(at)
    assert not at.get("plotly_chart")  # the canvas scatter replaced plotly here
    assert any("AlignedUMAP over rounds 0–2" in c.value for c in at.caption)
    store = RunStore(path, readonly=True)
    sel = store.get_selections(rid)
    for rnd in (2, 1):
        at.slider(key="emb_n").set_value(5000)
        at.select_slider(key="emb_round").set_value(rnd).run()
        no_errors(at)
        (data,) = scatter_payloads(at)
        assert selected_of(data) == set(sel[rnd]["indices"])
        assert sorted(data["index"]) == sorted(store.get_embeddings(rid, rnd)[0].tolist())  # round rnd's own items
        # every shown point has its picture in the sprite sheet (8x8 digits), so hover can show it
        assert data["n_images"] == len(data["index"]) and data["tile"] == 8
        assert data["sprite"].startswith("data:image/png;base64,")
        assert data["classes"] == [str(k) for k in range(10)]
    assert len(list(maps.maps_dir(path).glob("aligned-umap-*.npz"))) >= 1


def test_embeddings_page_input_space_class_colours_and_two_strategies_side_by_side(ws):
    path, runs = ws
    rid, other = runs[("entropy", 0)], runs[("random", 1)]
    at = AppTest.from_file(APP, default_timeout=600).run()
    at.session_state["current_run"] = rid
    at.switch_page("views/embeddings.py").run()
    at.radio(key="emb_space").set_value("input").run()
    at.radio(key="emb_method").set_value("PCA (instant)").run()
    no_errors(at)
    assert any("raw inputs" in c.value for c in at.caption)
    (data,) = scatter_payloads(at)
    store = RunStore(path, readonly=True)
    assert selected_of(data) == set(store.get_selections(rid)[2]["indices"])
    assert set(store.labeled_indices(rid, 1)) <= set(data["index"])  # the labeled points are always shown
    at.radio(key="emb_color").set_value("class").run()
    no_errors(at)
    (data,) = scatter_payloads(at)
    assert [g["name"] for g in data["groups"]] == [f"class {k}" for k in range(10)] + ["labeled", "selected"]
    assert selected_of(data) == set(store.get_selections(rid)[2]["indices"])
    at.selectbox(key="emb_other").set_value(other).run()
    no_errors(at)
    a, b = scatter_payloads(at)
    assert a["title"].startswith("entropy · round 2") and b["title"].startswith("random · round 2")
    pos_a = {i: (x, y) for i, x, y in zip(a["index"], a["x"], a["y"])}
    pos_b = {i: (x, y) for i, x, y in zip(b["index"], b["x"], b["y"])}
    assert pos_a == pos_b  # the same points at the same places: one map for both runs
    assert selected_of(b) == set(store.get_selections(other)[2]["indices"]) != selected_of(a)
    # one round's model features: every round drawn on the points of the chosen round
    at.selectbox(key="emb_other").set_value("")
    at.radio(key="emb_color").set_value("status")
    at.radio(key="emb_space").set_value("round").run()
    at.selectbox(key=f"emb_ref_{rid}").set_value(1)
    at.select_slider(key="emb_round").set_value(2).run()
    no_errors(at)
    (data,) = scatter_payloads(at)
    assert set(data["index"]) == set(store.get_embeddings(rid, 1)[0].tolist())
    assert selected_of(data) == set(store.get_selections(rid)[2]["indices"]) & set(data["index"])
    assert any("model of round 1" in c.value for c in at.caption)


def test_batch_page_shows_tiles_histogram_and_spread(ws):
    _, runs = ws
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["current_run"] = runs[("entropy", 1)]
    at.switch_page("views/batch.py").run()
    no_errors(at)
    at.select_slider(key="batch_round").set_value(1).run()
    no_errors(at)
    assert len(at.get("imgs") or at.get("image")) >= 1  # the batch's tiles
    tiles = [img for el in (at.get("imgs") or at.get("image")) for img in getattr(el.proto, "imgs", [])]
    assert len(tiles) == 5 and all(t.caption.startswith("true ") and " · model " in t.caption for t in tiles)
    # a tile says ✗ exactly when the querying model's recorded prediction differs from the item's true class
    from alkit.data import load_dataset

    store = RunStore(readonly=True)
    rid = runs[("entropy", 1)]
    sel = store.get_selections(rid)[1]["indices"]
    pred = store.get_rounds(rid)[1]["extras"]["selected_predicted"]
    y = load_dataset("digits").y_train
    wrong = sum(int(p) != int(y[i]) for i, p in zip(sel, pred))
    assert sum("✗" in t.caption for t in tiles) == wrong and sum("✓" in t.caption for t in tiles) == 5 - wrong
    assert any(f"**{wrong} of 5**" in c.value for c in at.caption)
    hist, div = charts(at)
    assert {t["name"].split(" ")[0] for t in hist["traces"]} == {"pool", "batch"}
    assert all(t["x"] == [str(k) for k in range(10)] for t in hist["traces"])  # every class has its slot
    assert lite_specs(at)[0]["panels"][0]["x"]["category"]  # ... and its own tick label
    assert div["traces"][0]["x"] == [0, 1, 2]


def test_theory_page_shows_terms_or_a_hint(ws):
    _, runs = ws
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["current_run"] = runs["theory"]
    at.switch_page("views/theory.py").run()
    no_errors(at)
    figs = charts(at)
    assert [c["title"] for c in figs] == [
        "How the bound adds up: labeled risk + ½ proxy H-divergence + the rest", "Risks", "Proxy H-divergence",
        "W1(L, U) in the model's features", "WAAL critic", "DAL: proxy H-divergence"]
    # the stack: labeled risk 0.1/(r+1), half of 1 - 0.2r, and the rest add up to test error 0.5 - 0.1r, per round
    bars = [t for t in figs[0]["traces"] if t["type"] == "bar"]
    (line,) = [t for t in figs[0]["traces"] if t["type"] == "scatter"]
    assert line["x"] == [10, 15, 20] and line["y"] == pytest.approx([0.5, 0.4, 0.3])
    assert bars[0]["y"] == pytest.approx([0.1, 0.05, 0.1 / 3]) and bars[1]["y"] == pytest.approx([0.5, 0.4, 0.3])
    assert [sum(b["y"][k] for b in bars) for k in range(3)] == pytest.approx(line["y"])
    assert bars[2]["y"][0] == pytest.approx(-0.1)  # 0.1 + 0.5 already exceed the measured 0.5
    specs = lite_specs(at)
    assert specs[0]["barmode"] == "relative"
    assert specs[2]["panels"][0]["y"]["range"] == [0.0, 2.0]  # the H-divergence on its own 0-2 axis, not W1's
    names = [t["name"] for f in figs[1:4] for t in f["traces"]]
    assert names == ["labeled risk", "test error (measured unlabeled risk)", "proxy H-divergence, model features",
                     "W1(L, U), model features"]
    text = " ".join(m.value for m in at.markdown)
    assert "02_bounds" in text and "**W1(L, U), model features**: Wasserstein-1" in text
    at.selectbox(key="theory_run").set_value(runs[("random", 0)]).run()
    no_errors(at)
    assert charts(at) == [] and any("extras['theory']" in i.value for i in at.info)


def test_label_page_stores_the_labels_the_person_gives():
    at = open_page("label")
    at.number_input(key="label_initial").set_value(10)
    at.number_input(key="label_query").set_value(3)
    at.number_input(key="label_rounds").set_value(1)
    at.number_input(key="label_epochs").set_value(2)
    at.button(key="label_start").click().run()
    no_errors(at)
    w = get_worker(at.session_state["label_run"])
    pending = w.wait(lambda s: s["pending"] is not None, timeout=120)["pending"]
    at.run()
    no_errors(at)
    assert len(at.get("imgs") or at.get("image")) >= 3
    at.selectbox(key=f"label_0_{pending[0]}_0").set_value(7)
    at.button[-1].click().run()  # submit with two images unlabeled: refused
    assert any("Choose a class" in e.value for e in at.error)
    assert w.status()["pending"] == pending
    given = [7, 2, 5]
    for i, y in zip(pending, given):
        at.selectbox(key=f"label_0_{i}_0").set_value(y)
    at.button[-1].click().run()
    w.wait(lambda s: s["state"] == "finished", timeout=120)
    at.run()
    no_errors(at)
    assert at.session_state["label_round"] == 1
    stored = RunStore(readonly=True).get_selections(w.run_id)[1]
    assert stored["indices"] == pending and stored["labels"] == given


def test_play_page_compares_a_pick_and_moves_on():
    at = open_page("play")
    no_errors(at)
    pg = at.session_state["play_game"]
    pick = pg.unlabeled()[:3]
    at.multiselect(key="play_strategies").set_value(["entropy", "margin"])
    at.number_input(key="play_repeats").set_value(2)
    at.text_input(key="play_typed").set_value(",".join(map(str, pick))).run()
    no_errors(at)
    assert at.session_state["play_pick"] == pick
    at.button(key="play_compare").click().run()
    no_errors(at)
    rows = at.session_state["play_rows"]
    assert [r["picker"] for r in rows] == ["you", "random", "entropy", "margin"]
    assert [c["title"] for c in charts(at)][1] == "Accuracy gain of each pick"
    # one colour per picker, the same on the map and on the gain chart, and one unit (percentage points) for gain
    (game,) = scatter_payloads(at)
    on_map = {g["name"].removesuffix("'s pick"): g["color"] for g in game["groups"] if g["name"].endswith("'s pick")}
    (gain,) = [sp for sp in lite_specs(at) if sp["title"] == "Accuracy gain of each pick"]
    bar = gain["traces"][0]
    assert set(on_map) == {"random", "entropy", "margin"} and len(set(bar["color"])) == 4
    assert {n: c for n, c in zip(bar["x"], bar["color"]) if n != "you"} == on_map
    assert bar["y"] == pytest.approx([100 * r["gain"] for r in rows])
    table = markdown_tables(at)[0]
    assert "gain (percentage points)" in table
    for r in rows:
        assert f"| {r['picker']} | {100 * r['accuracy']:.1f} | {100 * r['gain']:+.1f}" in table
    n = len(pg.labeled)
    at.button(key="play_commit").click().run()
    no_errors(at)
    assert at.session_state["play_game"].round == 1 and len(at.session_state["play_game"].labeled) == n + 3
    assert at.session_state["play_pick"] == []
    history = next(c for c in charts(at) if c["title"] == "Your game so far")
    assert history["engine"] == "lite" and len(history["traces"][-1]["x"]) == 2  # round 0 and round 1


def test_replay_page_steps_through_a_stored_run(ws):
    _, runs = ws
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["current_run"] = runs[("random", 1)]
    at.switch_page("views/replay.py").run()
    no_errors(at)
    assert at.session_state["replay_round"] == 0
    first = len(charts(at))
    (data,) = scatter_payloads(at)  # round 0 queried nothing: its points are the initial set
    assert [g["name"] for g in data["groups"]] == ["unlabeled", "labeled", "initial"]
    assert next(c for c in charts(at) if c["title"].startswith("Classes"))["title"] == "Classes: initial set vs whole pool"
    at.button(key="replay_next").click().run()
    no_errors(at)
    assert at.session_state["replay_round"] == 1
    (data,) = scatter_payloads(at)
    assert [g["name"] for g in data["groups"]] == ["unlabeled", "labeled", "selected"]
    figs = charts(at)
    assert len(figs) == first >= 3
    curve = figs[0]["traces"][-1]
    assert len(curve["x"]) == 2  # the curve is drawn up to the replayed round
    # the map is round 1's own model features (PCA), not round 1 pushed through another round's fit
    from alkit.app import maps

    assert data["title"] == "Round 1's own model features, PCA"
    store = RunStore(ws[0], readonly=True)
    own = maps.MapSpec.for_run(store.get_run(runs[("random", 1)]), "round", method="pca", ref_round=1)
    pidx, xy = maps.compute(own, ws[0], store)[0].at(1)
    store.close()
    got = dict(zip(data["index"], zip(data["x"], data["y"])))
    assert got and all(np.allclose(got[i], xy[k], atol=1e-4) for k, i in enumerate(pidx.tolist()) if i in got)
    at.radio(key="replay_space").set_value("aligned").run()
    no_errors(at)
    (data,) = scatter_payloads(at)
    if data["title"] == "Round 1's own model features, PCA":  # not computed yet: the page says so, PCA meanwhile
        assert any("computing…" in i.value for i in at.info)
    else:
        assert data["title"] == "Aligned UMAP over rounds 0–2, round 1"
    at.button(key="replay_last").click().run()
    assert at.session_state["replay_round"] == 2 and at.button(key="replay_next").disabled


def test_pages_keep_working_while_a_run_writes(ws):
    from alkit.app.worker import RunWorker

    w = RunWorker(ALConfig(dataset="digits", strategy="entropy", initial=10, query=5, rounds=6, train=FAST,
                           store_embeddings=60))
    for page in ("run", "curves", "batch", "replay"):
        no_errors(open_page(page))
    w.wait(lambda s: not s["alive"], timeout=120)
    assert w.status()["state"] == "finished"


def test_run_page_tells_a_dead_run_from_a_live_one(tmp_path, monkeypatch):
    """A run whose process is gone (here: the recorded process start time is not this process's, as after pid
    reuse) reads `interrupted` with its `alkit resume` command; a run this live process owns reads `running`."""
    import sqlite3

    ws = tmp_path / "liveness"
    with RunStore(ws) as s:
        live, dead = (s.create_run({"k": i}, i, strategy="random", dataset="digits") for i in (0, 1))
        for rid in (live, dead):
            s.log_round(rid, 0, n_labeled=10, metrics={"accuracy": 0.5}, timings={}, selected=list(range(10)))
    con = sqlite3.connect(ws / "alkit.sqlite")
    con.execute("UPDATE run_owners SET start_token = 'another-boot|ns|0' WHERE run_id = ?", (dead,))
    con.commit()
    con.close()
    monkeypatch.setenv("ALKIT_WORKSPACE", str(ws))
    at = open_page("run")
    no_errors(at)
    df = at.dataframe[0].value
    status = dict(zip(df["run"], df["status"]))
    assert status == {live: "running", dead: "interrupted"}
    assert dict(zip(df["run"], df["resume"])) == {live: "", dead: f"alkit resume {dead}"}
    assert any(f"alkit resume {dead}" in c.value for c in at.caption)


def test_run_page_a_new_dataset_brings_its_preset_sizes():
    from alkit.presets import get_preset

    def sizes(at):
        return tuple(at.number_input(key=k).value for k in ("run_initial", "run_query", "run_rounds", "run_epochs"))

    def preset(name):
        p = get_preset(name)
        return p.initial, p.query, p.rounds, p.train.epochs

    at = open_page("run")
    assert sizes(at) == preset("digits")
    at.number_input(key="run_initial").set_value(7).run()
    at.selectbox(key="run_strategy").set_value("margin").run()  # another field keeps the edited size
    assert sizes(at)[0] == 7
    for name in ("mnist5k", "moons", "digits"):
        at.selectbox(key="run_dataset").set_value(name).run()
        no_errors(at)
        assert sizes(at) == preset(name), name


def test_run_page_draws_random_with_the_same_settings_and_reuses_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ALKIT_WORKSPACE", str(tmp_path / "ws"))
    at = open_page("run")
    for key, value in (("run_initial", 10), ("run_query", 5), ("run_rounds", 2), ("run_epochs", 2),
                       ("run_store_emb", 0)):
        at.number_input(key=key).set_value(value)
    at.selectbox(key="run_strategy").set_value("margin")
    assert at.checkbox(key="run_with_random").value  # on by default
    at.button(key="run_start").click().run()
    no_errors(at)
    rid, base = at.session_state["worker_run"], at.session_state["worker_baseline"]
    for w in (get_worker(rid), get_worker(base)):
        assert w.wait(lambda s: not s["alive"], timeout=120)["state"] == "finished"
    store = RunStore(readonly=True)
    mine, ref = store.get_run(rid)["config"], store.get_run(base)["config"]
    assert ref["strategy"] == "random" and mine["strategy"] == "margin"
    assert {k: v for k, v in ref.items() if k not in ("strategy", "store_embeddings", "theory_terms")} == \
        {k: v for k, v in mine.items() if k not in ("strategy", "store_embeddings", "theory_terms")}
    at.run()
    no_errors(at)
    curve = next(c for c in charts(at) if c["title"] == "This run so far")
    rnd = next(t for t in curve["traces"] if t["name"].startswith("random"))
    assert rnd["dash"] == "dash" and rnd["x"] == [10, 15, 20]
    assert rnd["y"] == pytest.approx([r["metrics"]["accuracy"] for r in store.get_rounds(base)])
    # the runs table is current: both runs finished with their 3 rounds
    df = at.dataframe[0].value
    assert dict(zip(df["run"], df["status"])) == {rid: "finished", base: "finished"}
    assert dict(zip(df["run"], df["rounds"])) == {rid: 3, base: 3}
    # the same settings again (another strategy): the stored Random run is the baseline, none is started
    at.selectbox(key="run_strategy").set_value("entropy")
    at.button(key="run_start").click().run()
    no_errors(at)
    assert at.session_state["worker_baseline"] == base
    get_worker(at.session_state["worker_run"]).wait(lambda s: not s["alive"], timeout=120)
    assert [r["strategy"] for r in store.list_runs()].count("random") == 1


def test_label_page_keyboard_labels_undo_and_submit():
    at = open_page("label")
    for key, value in (("label_initial", 10), ("label_query", 3), ("label_rounds", 1), ("label_epochs", 2)):
        at.number_input(key=key).set_value(value)
    at.button(key="label_start").click().run()
    w = get_worker(at.session_state["label_run"])
    pending = w.wait(lambda s: s["pending"] is not None, timeout=120)["pending"]
    at.run()
    no_errors(at)
    keys = [b for b in at.button if b.key and b.key.startswith("label_key_0_")]
    # one button per class, its digit as the keyboard shortcut
    assert {b.key: b.proto.shortcut for b in keys} == {f"label_key_0_{c}": str(c) for c in range(10)}
    imgs = [img for el in (at.get("imgs") or at.get("image")) for img in getattr(el.proto, "imgs", [])]
    assert len(imgs) == 1 + len(pending)  # the next image, large, and the grid
    for c in (4, 9):
        at.button(key=f"label_key_0_{c}").click().run()
    at.button(key="label_undo_0").click().run()  # takes the 9 back
    # two keys pressed before the page redraws (a fast typist, a loaded machine): two images, in order
    at.button(key="label_key_0_1").click()
    at.button(key="label_key_0_6").click().run()
    no_errors(at)
    assert [at.session_state["label_answers_0"][i] for i in pending] == [4, 1, 6]
    # each image's class box shows the keyboard's answer (a fresh box each time the answer changed)
    boxes = {b.key.rsplit("_", 1)[0]: b.value for b in at.selectbox if b.key and b.key.startswith("label_0_")}
    assert [boxes[f"label_0_{i}"] for i in pending] == [4, 1, 6]
    assert at.button(key="label_key_0_0").disabled  # nothing left to label
    at.button[-1].click().run()  # Submit (its shortcut: Enter)
    w.wait(lambda s: s["state"] == "finished", timeout=120)
    stored = RunStore(readonly=True).get_selections(w.run_id)[1]
    assert stored["indices"] == pending and stored["labels"] == [4, 1, 6]
