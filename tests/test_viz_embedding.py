"""alkit.viz.embedding: the subsample keeps the selected points, the map is fitted once, figures map back."""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from alkit.store import RunStore
from alkit.viz.embedding import (
    Projector,
    RunEmbeddingMap,
    embedding_figure,
    picked_pool_indices,
    point_status,
    subsample_keep,
)


@pytest.mark.parametrize("n,n_show,n_keep", [(1000, 100, 30), (1000, 10, 40), (50, 100, 5), (500, 500, 0)])
def test_subsample_always_keeps_the_selected(n, n_show, n_keep):
    rng = np.random.default_rng(n + n_keep)
    keep = rng.choice(n, n_keep, replace=False)
    rows = subsample_keep(n, n_show, keep, seed=3)
    assert set(keep.tolist()) <= set(rows.tolist())
    assert len(set(rows.tolist())) == len(rows)
    assert list(rows) == sorted(rows)
    assert len(rows) == min(n, max(n_show, n_keep))
    np.testing.assert_array_equal(rows, subsample_keep(n, n_show, keep, seed=3))


def test_subsample_rejects_positions_outside_the_array():
    with pytest.raises(ValueError, match="outside"):
        subsample_keep(10, 5, [3, 10])


def test_point_status_priority():
    status = point_status(np.array([5, 6, 7, 8]), labeled_before=[6, 8], selected=[7, 8])
    assert status.tolist() == ["unlabeled", "labeled", "selected", "selected"]


def test_pca_projector_is_fitted_once_and_transforms_consistently():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 6)).astype(np.float32) * np.array([5, 3, 1, 1, 1, 1], np.float32)
    p = Projector("pca").fit(x)
    xy = p.transform(x)
    assert xy.shape == (200, 2)
    assert xy[:, 0].var() >= xy[:, 1].var() > 0
    # a linear map: transform of a shifted copy is the fitted layout shifted by the projected shift
    shift = np.full((1, 6), 0.5, np.float32)
    np.testing.assert_allclose(p.transform(x + shift) - xy, np.repeat(shift @ p._components.T, 200, 0), atol=1e-4)
    with pytest.raises(ValueError, match="6-dim"):
        p.transform(x[:, :5])
    with pytest.raises(ValueError, match="NaN"):
        p.transform(np.full((3, 6), np.nan))


def test_projector_input_errors():
    with pytest.raises(ValueError, match="unknown projection method"):
        Projector("tsne")
    with pytest.raises(RuntimeError, match="not fitted"):
        Projector("pca").transform(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="at least 3"):
        Projector("pca").fit(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="transform_epochs"):
        Projector("umap", transform_epochs=0)


def _store_with_embeddings(ws, rounds=3, n=300, d=8):
    store = RunStore(ws)
    rid = store.create_run({"dataset": "digits"}, 0, strategy="entropy", dataset="digits")
    rng = np.random.default_rng(1)
    for r in range(rounds):
        sel = list(range(r * 5, r * 5 + 5))
        idx = np.unique(np.concatenate([np.arange(100, 100 + n), sel]))
        store.log_round(rid, r, n_labeled=5 * (r + 1), metrics={"accuracy": 0.5}, timings={}, selected=sel,
                        scores=[1.0] * 5, labels=[0] * 5, embeddings=rng.standard_normal((len(idx), d)),
                        embedding_index=idx)
    return store, rid


def test_run_map_fits_once_on_the_reference_round_and_memoises(tmp_path):
    store, rid = _store_with_embeddings(tmp_path)
    m = RunEmbeddingMap(store, rid, method="pca")
    assert m.ref_round == 2
    idx2, xy2 = m.coords(2)
    comps = m.projector._components.copy()
    idx0, xy0 = m.coords(0)
    np.testing.assert_array_equal(m.projector._components, comps)  # not refitted for round 0
    assert m.coords(0)[1] is xy0  # memoised
    assert set(range(0, 5)) <= set(idx0.tolist()) and set(range(10, 15)) <= set(idx2.tolist())
    assert xy0.shape == (len(idx0), 2)


def test_run_map_without_embeddings_says_how_to_get_them(tmp_path):
    store = RunStore(tmp_path)
    rid = store.create_run({}, 0, strategy="random", dataset="digits")
    store.log_round(rid, 0, n_labeled=1, metrics={}, timings={}, selected=[0])
    with pytest.raises(ValueError, match="store_embeddings"):
        RunEmbeddingMap(store, rid)
    s2, rid2 = _store_with_embeddings(tmp_path / "b")
    with pytest.raises(ValueError, match="no embeddings for round 7"):
        RunEmbeddingMap(s2, rid2, ref_round=7)


def test_embedding_figure_traces_and_selection_round_trip():
    pool = np.array([10, 11, 12, 13, 14])
    status = np.array(["unlabeled", "selected", "labeled", "unlabeled", "selected"], dtype=object)
    xy = np.arange(10, dtype=np.float32).reshape(5, 2)
    fig = embedding_figure(xy, pool, status, labels=[0, 1, 2, 0, 1], scores={11: 0.9, 14: 0.4},
                           class_names=["a", "b", "c"])
    names = [t.name.split(" ")[0] for t in fig.data]
    assert names == ["unlabeled", "labeled", "selected"]  # selected drawn last (on top)
    sel_trace = fig.data[2]
    assert sorted(int(c[0]) for c in sel_trace.customdata) == [11, 14]
    assert sorted(float(c[2]) for c in sel_trace.customdata) == [0.4, 0.9]
    # plotly selections either carry customdata or only (curve, point) positions
    assert picked_pool_indices(fig, [{"customdata": [14, 1, 0.4]}]) == [14]
    assert picked_pool_indices(fig, [{"curve_number": 0, "point_index": 1}, {"curve_number": 2, "point_index": 0}]) \
        == [13, 11]
    assert picked_pool_indices(fig, [{"customdata": {"0": 12, "1": 2, "2": None}}]) == [12]
    # the figure's own customdata wins over whatever the browser echoed back
    assert picked_pool_indices(fig, [{"curve_number": 2, "point_index": 1, "customdata": {"x": 1}}]) == [14]
    fig.add_trace(type(fig.data[0])(x=[0], y=[0]))  # a trace without pool indices
    assert picked_pool_indices(fig, [{"curve_number": 3, "point_index": 0}]) == []
    json.loads(fig.to_json())
    with pytest.raises(ValueError, match="do not match"):
        embedding_figure(xy[:3], pool, status)


# ------------------------------------------------------------------ canvas scatter data (dashboard component)
def _decode_png(data_url):
    import base64
    import io

    from PIL import Image

    assert data_url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))))


def test_sprite_sheet_puts_image_k_at_row_k_div_cols():
    from alkit.viz.embedding import sprite_sheet

    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (4, 4, 3), dtype=np.uint8) for _ in range(7)]
    png, cols, tile = sprite_sheet(imgs, max_cols=3)
    assert (cols, tile) == (3, 4)
    import base64

    sheet = _decode_png("data:image/png;base64," + base64.b64encode(png).decode())
    assert sheet.shape == (3 * 4, 3 * 4, 3)  # 7 images in rows of 3: 3 rows
    for k, im in enumerate(imgs):
        r, c = divmod(k, cols)
        np.testing.assert_array_equal(sheet[4 * r:4 * r + 4, 4 * c:4 * c + 4], im)
    assert not sheet[8:, 4:].any()  # the unused cells stay black


def test_sprite_sheet_of_grey_pictures_has_one_channel_and_errors_are_named():
    from alkit.viz.embedding import sprite_sheet

    grey = [np.full((3, 3, 3), v, np.uint8) for v in (0, 100, 255)]
    png, cols, tile = sprite_sheet(grey)
    import base64

    sheet = _decode_png("data:image/png;base64," + base64.b64encode(png).decode())
    assert sheet.shape == (3, 9) and sheet[0, 3] == 100 and (cols, tile) == (3, 3)
    with pytest.raises(ValueError, match="at least one"):
        sprite_sheet([])
    with pytest.raises(ValueError, match="same shape"):
        sprite_sheet([np.zeros((3, 3, 3), np.uint8), np.zeros((4, 4, 3), np.uint8)])
    with pytest.raises(ValueError, match="square"):
        sprite_sheet([np.zeros((3, 5, 3), np.uint8)])


def test_embedding_payload_orders_groups_and_keeps_each_points_image_and_score():
    from alkit.viz.embedding import STATUS_GROUPS, embedding_payload

    xy = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]])
    pidx = np.array([10, 11, 12, 13])
    status = np.array(["selected", "unlabeled", "labeled", "unlabeled"], dtype=object)
    imgs = [np.full((2, 2, 3), 10 * (k + 1), np.uint8) for k in range(4)]
    d = embedding_payload(xy, pidx, status, labels=[3, 1, 2, 0], scores={10: 0.5, 11: float("nan")},
                          class_names=list("abcd"), images=imgs, picked=[12], title="t")
    assert d["index"] == [11, 13, 12, 10]  # unlabeled, labeled, selected: the drawing order
    assert d["group"] == [0, 0, 1, 2] and [g["name"] for g in d["groups"]] == [g["name"] for g in STATUS_GROUPS]
    assert d["x"] == [2.0, 6.0, 4.0, 0.0] and d["y"] == [3.0, 7.0, 5.0, 1.0]
    assert d["label"] == [1, 0, 2, 3] and d["score"] == [None, None, None, 0.5]  # NaN -> None (valid JSON)
    assert d["classes"] == list("abcd") and d["picked"] == [12] and d["title"] == "t"
    sheet = _decode_png(d["sprite"])
    assert (d["tile"], d["cols"], d["n_images"]) == (2, 4, 4)
    # cell k holds the picture of point k after reordering: point 0 is pool item 11, drawn from imgs[1]
    assert [int(sheet[0, 2 * k]) for k in range(4)] == [20, 40, 30, 10]
    json.dumps(d, allow_nan=False)


def test_scatter_payload_rejects_bad_input_by_name():
    from alkit.viz.embedding import embedding_payload, scatter_group, scatter_payload

    g = [scatter_group("a", "#000")]
    with pytest.raises(ValueError, match="do not match"):
        scatter_payload(np.zeros((3, 2)), [1, 2], [0, 0], g)
    with pytest.raises(ValueError, match="group ids"):
        scatter_payload(np.zeros((2, 2)), [1, 2], [0, 1], g)
    with pytest.raises(ValueError, match="NaN"):
        scatter_payload(np.array([[0.0, np.nan]]), [1], [0], g)
    with pytest.raises(ValueError, match="images has 1"):
        scatter_payload(np.zeros((2, 2)), [1, 2], [0, 0], g, images=[np.zeros((2, 2, 3), np.uint8)])
    with pytest.raises(ValueError, match="background lacks"):
        scatter_payload(np.zeros((1, 2)), [1], [0], g, background={"src": "x"})
    with pytest.raises(ValueError, match="invisible"):
        scatter_group("ring", None)
    with pytest.raises(ValueError, match="symbol"):
        scatter_group("s", "#000", symbol="star")
    with pytest.raises(ValueError, match="unknown status"):
        embedding_payload(np.zeros((1, 2)), [1], np.array(["queried"], dtype=object))


def test_scatter_component_files_ship_with_the_package():
    from alkit.app.lite import SCATTER_CSS, SCATTER_JS

    js = SCATTER_JS.read_text()
    assert js.count("export default function") == 1 and "setStateValue(\"picked\"" in js
    assert SCATTER_CSS.read_text().strip()
    if shutil.which("node"):
        import subprocess

        with tempfile.TemporaryDirectory() as d:
            mod = Path(d) / "m.mjs"
            mod.write_text(js)
            subprocess.run(["node", "--check", str(mod)], check=True, capture_output=True)


# ------------------------------------------------------------------ maps in their own space (issue 15)
def test_round_relations_pair_the_rows_of_the_same_pool_item():
    from alkit.viz.embedding import round_relations

    rel = round_relations([np.array([5, 7, 9]), np.array([7, 9, 11]), np.array([3, 11, 7])])
    assert rel == [{1: 0, 2: 1}, {0: 2, 2: 1}]  # 7 and 9 in rounds 0 -> 1; 7 and 11 in rounds 1 -> 2
    with pytest.raises(ValueError, match="share no pool item"):
        round_relations([np.array([1, 2]), np.array([3, 4])])
    with pytest.raises(ValueError, match="twice"):
        round_relations([np.array([1, 1]), np.array([1, 2])])


def _three_rounds(n=120, seed=0):
    """Three rounds of 4 clusters; round t stores its own subset (shared items plus a few of its own), with
    features of another dimension in round 2 (another model)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((4, 6)) * 6
    pool = [np.arange(0, n), np.arange(5, n + 5), np.arange(10, n + 10)]
    feats = []
    for t, idx in enumerate(pool):
        f = centres[idx % 4] + rng.standard_normal((len(idx), 6))
        feats.append(f[:, :4] if t == 2 else f)
    return feats, pool


def test_aligned_umap_slices_keep_each_rounds_points_in_pool_order_and_are_seeded():
    from alkit.viz.embedding import aligned_umap_map

    feats, pool = _three_rounds()
    a = aligned_umap_map(feats, pool, [0, 1, 2], n_epochs=60, seed=3)
    assert a.space == "aligned" and a.rounds == [0, 1, 2] and not a.shared
    for t in range(3):
        idx, xy = a.at(t)
        np.testing.assert_array_equal(idx, pool[t])  # slice t: round t's stored items, in stored order
        assert xy.shape == (len(pool[t]), 2) and xy.dtype == np.float32 and np.isfinite(xy).all()
    b = aligned_umap_map(feats, pool, [0, 1, 2], n_epochs=60, seed=3)
    for t in range(3):
        np.testing.assert_array_equal(a.at(t)[1], b.at(t)[1])  # the same seed, the same layout
    # the alignment: an item shared by rounds 0 and 1 lies near itself in both slices (the clusters are the same)
    i0, xy0 = a.at(0)
    i1, xy1 = a.at(1)
    _, r0, r1 = np.intersect1d(i0, i1, return_indices=True)
    spread = np.linalg.norm(xy0 - xy0.mean(0), axis=1).mean()
    assert np.median(np.linalg.norm(xy0[r0] - xy1[r1], axis=1)) < 0.5 * spread
    with pytest.raises(ValueError, match="no slice for round 5"):
        a.at(5)
    with pytest.raises(ValueError, match="one entry per round"):
        aligned_umap_map(feats, pool[:2], [0, 1, 2])
    with pytest.raises(ValueError, match="feature rows"):
        aligned_umap_map([feats[0][:10]], [pool[0]], [0])


def test_input_space_map_places_every_pool_item_in_one_fitted_space():
    from alkit.viz.embedding import input_space_map

    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 2, 3)).astype(np.float32)  # images of any shape are flattened
    m = input_space_map(x, method="pca", max_fit=20, seed=1)
    assert m.shared and m.info["n_fit"] == 20 and m.info["n_points"] == 50
    idx, xy = m.at(7)  # the same layout for any round
    np.testing.assert_array_equal(idx, np.arange(50))
    # a linear map fitted on 20 rows: all 50 rows are the same projection of the flattened inputs
    flat = x.reshape(50, -1)
    fit_rows = np.sort(np.random.default_rng(1).choice(50, 20, replace=False))
    mean = flat[fit_rows].mean(0)
    _, _, vt = np.linalg.svd(flat[fit_rows] - mean, full_matrices=False)
    np.testing.assert_allclose(np.abs(xy), np.abs((flat - mean) @ vt[:2].T), atol=1e-4)


def test_cached_layout_is_hit_the_second_time_and_missed_when_the_data_change(tmp_path):
    from alkit.viz.embedding import array_digest, cached_layout, round_space_map

    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 5)).astype(np.float32)
    calls = []

    def compute(arr):
        calls.append(1)
        return round_space_map(np.arange(100, 130), arr, 2, method="pca")

    parts = {"space": "round", "method": "pca", "data": array_digest(np.arange(100, 130), x)}
    first, hit1 = cached_layout(tmp_path, parts, lambda: compute(x))
    again, hit2 = cached_layout(tmp_path, parts, lambda: compute(x))
    assert (hit1, hit2, len(calls)) == (False, True, 1)
    np.testing.assert_array_equal(first.at(0)[1], again.at(0)[1])
    np.testing.assert_array_equal(again.at(0)[0], np.arange(100, 130))
    assert again.info["ref_round"] == 2 and again.method == "pca"
    x2 = x.copy()
    x2[3, 1] += 1.0  # one value changed: another key, computed again
    parts2 = {**parts, "data": array_digest(np.arange(100, 130), x2)}
    _, hit3 = cached_layout(tmp_path, parts2, lambda: compute(x2))
    assert not hit3 and len(calls) == 2 and len(list(tmp_path.glob("round-pca-*.npz"))) == 2
    from alkit.viz.embedding import layout_key

    (tmp_path / f"{layout_key(parts)}.npz").write_bytes(b"broken")
    _, hit = cached_layout(tmp_path, parts, lambda: compute(x))  # a damaged file is computed again
    assert not hit and len(calls) == 3


def test_the_input_map_is_one_file_for_every_run_of_a_dataset(tmp_path):
    from alkit.app import maps

    store = RunStore(tmp_path)
    runs = []
    for strat in ("entropy", "random"):
        rid = store.create_run({"dataset": "digits", "dataset_params": {}}, 0, strategy=strat, dataset="digits")
        store.log_round(rid, 0, n_labeled=5, metrics={"accuracy": 0.5}, timings={}, selected=[1, 2, 3, 4, 5])
        runs.append(store.get_run(rid))
    a, b = (maps.MapSpec.for_run(r, "input", method="pca") for r in runs)
    assert a == b  # the same request: the run does not enter an input-space map
    assert maps.cached(a, tmp_path) is None
    la, hit_a = maps.compute(a, tmp_path, store)
    lb, hit_b = maps.compute(b, tmp_path, store)
    assert (hit_a, hit_b) == (False, True)
    np.testing.assert_array_equal(la.at(0)[1], lb.at(3)[1])
    assert len(list(maps.maps_dir(tmp_path).glob("input-pca-*.npz"))) == 1
    from alkit.data import load_dataset

    assert la.info["n_points"] == len(load_dataset("digits").x_train)


def test_round_space_and_aligned_specs_follow_the_stored_rounds(tmp_path):
    from alkit.app import maps

    store, rid = _store_with_embeddings(tmp_path, rounds=3, n=60, d=5)
    run = store.get_run(rid)
    spec = maps.MapSpec.for_run(run, "round", method="pca", ref_round=1)
    layout, hit = maps.compute(spec, tmp_path, store)
    idx1, emb1 = store.get_embeddings(rid, 1)
    np.testing.assert_array_equal(layout.at(0)[0], idx1)  # every round drawn on round 1's items
    assert not hit and maps.cached(spec, tmp_path, store) is not None
    two = maps.MapSpec.for_run(run, "aligned", rounds=[0, 1])
    three = maps.MapSpec.for_run(run, "aligned", rounds=[0, 1, 2])
    assert two.slot == three.slot and two.name != three.name  # more rounds replace a queued request
    assert maps.key_parts(two, store) != maps.key_parts(three, store)
    with pytest.raises(ValueError, match="method must be 'umap'"):
        maps.MapSpec("aligned", "pca", run_id=rid, rounds=(0,))
    with pytest.raises(ValueError, match="space must be one of"):
        maps.MapSpec("tsne")


def test_class_colouring_draws_classes_with_status_rings_on_top():
    from alkit.viz.embedding import class_colors, embedding_payload

    xy = np.arange(10, dtype=float).reshape(5, 2)
    status = np.array(["selected", "unlabeled", "labeled", "unlabeled", "labeled"], dtype=object)
    d = embedding_payload(xy, np.array([10, 11, 12, 13, 14]), status, labels=[2, 0, 1, 2, 0],
                          class_names=["a", "b", "c"], color_by="class")
    names = [g["name"] for g in d["groups"]]
    assert names == ["class a", "class b", "class c", "labeled", "selected"]
    assert [g["color"] for g in d["groups"][:3]] == class_colors(3) and d["groups"][3]["color"] is None
    # every point once by class (unlabeled, labeled, selected order), then the rings: labeled, then selected
    assert d["index"] == [11, 13, 12, 14, 10, 12, 14, 10]
    assert d["group"] == [0, 2, 1, 0, 2, 3, 3, 4]
    assert len(set(class_colors(20))) == 20
    with pytest.raises(ValueError, match="needs labels"):
        embedding_payload(xy, np.arange(5), status, color_by="class")
    with pytest.raises(ValueError, match="color_by"):
        embedding_payload(xy, np.arange(5), status, color_by="strategy")


def test_a_dashboard_run_has_its_maps_computed_in_the_background_as_rounds_finish(tmp_path):
    from alkit.app import maps
    from alkit.app.worker import RunWorker
    from alkit.learner import TrainConfig
    from alkit.loop import ALConfig

    w = RunWorker(ALConfig(dataset="digits", strategy="random", initial=10, query=5, rounds=1, store_embeddings=40,
                           train=TrainConfig(epochs=1, batch_size=32)), workspace=tmp_path)
    w.wait(lambda s: not s["alive"], timeout=300)
    assert w.status()["state"] == "finished"
    svc = maps.service(tmp_path)
    assert svc.wait_idle(600) and svc.children >= 1
    store = RunStore(tmp_path, readonly=True)
    specs = maps.run_specs(store, store.get_run(w.run_id))
    assert [s.space for s in specs] == ["aligned", "input"] and specs[0].rounds == (0, 1)
    for spec in specs:  # both on disk, computed by the child (this process computed none)
        layout = maps.cached(spec, tmp_path, store)
        assert layout is not None and layout.method == "umap"


def test_map_children_keep_numbas_code_in_one_folder_per_user(monkeypatch, tmp_path):
    from alkit.app import maps

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert maps.child_env()["NUMBA_CACHE_DIR"] == str(tmp_path / "xdg" / "alkit" / "numba")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))  # the user's own choice wins
    assert maps.numba_dir() == tmp_path / "mine" and maps.child_env()["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")
