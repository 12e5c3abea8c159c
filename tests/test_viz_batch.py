"""alkit.viz.batch: image tiles, class histograms, batch spread and covering radius against brute force."""

import itertools
import math

import numpy as np
import pytest

from alkit.viz.batch import (
    batch_rows,
    class_histogram_figure,
    covering_radius,
    diversity_by_round,
    diversity_figure,
    framed,
    image_grid_figure,
    is_wrong,
    mean_pairwise_distance,
    tile_caption,
    to_image,
    upscale,
)


def _brute_cover(p, c):
    return max(min(math.dist(a, b) for b in c) for a in p)


@pytest.mark.parametrize("seed", range(4))
def test_covering_radius_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal((23, 3))
    c = rng.standard_normal((4, 3))
    expected = _brute_cover(p.tolist(), c.tolist())
    assert covering_radius(p, c) == pytest.approx(expected, rel=1e-9)
    assert covering_radius(p, c, chunk=5) == pytest.approx(expected, rel=1e-9)
    assert covering_radius(p, p) == pytest.approx(0.0, abs=1e-6)


def test_covering_radius_errors():
    with pytest.raises(ValueError, match="at least one centre"):
        covering_radius(np.zeros((3, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="same number of columns"):
        covering_radius(np.zeros((3, 2)), np.zeros((1, 3)))


def test_mean_pairwise_distance_equals_brute_force():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 4))
    pairs = [math.dist(a, b) for a, b in itertools.combinations(x.tolist(), 2)]
    assert mean_pairwise_distance(x) == pytest.approx(sum(pairs) / len(pairs))
    assert math.isnan(mean_pairwise_distance(x[:1]))


def test_diversity_by_round_matches_definitions_and_radius_never_grows():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((60, 5))
    sels = {0: [0, 1, 2], 1: [10, 11], 2: [20, 30, 40]}
    div = diversity_by_round(x, sels)
    assert div["round"] == [0, 1, 2] and div["n_labeled"] == [3, 5, 8]
    assert div["covering_radius"][1] == pytest.approx(_brute_cover(x.tolist(), x[[0, 1, 2, 10, 11]].tolist()))
    assert div["mean_distance"][2] == pytest.approx(mean_pairwise_distance(x[[20, 30, 40]]))
    assert all(a >= b for a, b in zip(div["covering_radius"], div["covering_radius"][1:]))
    sub = diversity_by_round(x, sels, max_points=20)
    assert sub["pool_points"] == [20]
    with pytest.raises(ValueError, match="outside"):
        diversity_by_round(x, {0: [60]})
    assert len(diversity_figure(div, highlight=1).data) == 4


def test_to_image_shapes_and_normalisation():
    img = to_image(np.linspace(0, 1, 64))
    assert img.shape == (8, 8, 3) and img.dtype == np.uint8 and img[0, 0, 0] == 0 and img[-1, -1, 0] == 255
    x = (np.full((1, 4, 4), 0.5) - 0.5) / 0.25  # normalised mid-grey
    assert to_image(x, mean=(0.5,), std=(0.25,))[0, 0].tolist() == [128, 128, 128]
    assert to_image(np.zeros((3, 5, 5))).shape == (5, 5, 3)
    assert to_image(np.zeros(2)) is None and to_image(np.zeros(50)) is None
    big = upscale(img, 120)
    assert big.shape == (120, 120, 3) and (big[:15, :15] == img[0, 0]).all()


def test_batch_rows_sorted_by_score_with_unscored_last():
    rows = batch_rows([5, 6, 7, 8], [0.1, None, 0.9, 0.5], [1, 0, 2, 1], predicted=[1, 1, 1, 0],
                      true_labels=np.array([0] * 5 + [1, 0, 2, 0]), class_names=["a", "b", "c"])
    assert [r["pool_index"] for r in rows] == [7, 8, 5, 6]
    assert rows[0]["predicted_name"] == "b" and rows[0]["true_name"] == "c" and rows[0]["rank"] == 3
    # pool item 7: true class c (2), the model said b (1): wrong
    assert tile_caption(rows[0]) == "true c · model b ✗ · score 0.9"
    assert [is_wrong(r) for r in rows] == [True, False, False, True]  # items 7, 8, 5, 6
    assert tile_caption(rows[1]) == "true a · model a ✓ · score 0.5"
    unscored = batch_rows([3], None, [2], class_names=["a", "b", "c"])  # the initial set: only its label
    assert tile_caption(unscored[0]) == "label c" and is_wrong(unscored[0]) is None
    with pytest.raises(ValueError, match="differ in length"):
        batch_rows([1, 2], [0.1], [0, 0])


def test_grid_and_histogram_figures():
    imgs = [np.zeros((8, 8, 3), np.uint8)] * 5
    fig = image_grid_figure(imgs, [f"t{i}" for i in range(5)], ncols=2)
    assert len(fig.data) == 5 and [a.text for a in fig.layout.annotations] == [f"t{i}" for i in range(5)]
    with pytest.raises(ValueError, match="captions"):
        image_grid_figure(imgs, ["x"])
    hist = class_histogram_figure([0, 0, 1], [0, 1, 1, 2], 3)
    for tr in hist.data:
        assert sum(tr.y) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="outside"):
        class_histogram_figure([3], [0], 3)


def test_framed_draws_only_the_border_and_copies():
    img = np.full((12, 10, 3), 7, np.uint8)
    out = framed(img, color=(200, 1, 2), width=2)
    assert img.max() == 7  # the input is untouched
    border = np.ones((12, 10), bool)
    border[2:-2, 2:-2] = False
    assert (out[border] == [200, 1, 2]).all() and (out[~border] == 7).all()
    assert (framed(np.zeros((2, 2, 3), np.uint8), width=9) == [214, 39, 40]).all()  # clipped: all frame
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        framed(np.zeros((4, 4), np.uint8))


def test_histogram_has_every_class_on_a_categorical_axis():
    from alkit.app.lite import lite_spec

    names = [str(k) for k in range(10)]
    hist = class_histogram_figure([3, 3], [0, 1, 9], 10, class_names=names, batch_name="initial set")
    assert hist.layout.xaxis.type == "category"
    assert [list(t.x) for t in hist.data] == [names, names]  # classes 2, 4-8 appear in neither, still drawn
    assert [t.name for t in hist.data] == ["pool (n=3)", "initial set (n=2)"]
    spec = lite_spec(hist)
    assert spec["panels"][0]["x"]["category"] and spec["panels"][0]["x"]["categories"] == names
