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
