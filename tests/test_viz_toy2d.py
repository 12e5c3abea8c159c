"""alkit.viz.toy2d: the heatmaps are the score functions on the grid, the coverage measures are brute force."""

import itertools
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import alkit  # noqa: E402
from alkit.data import blobs  # noqa: E402
from alkit.strategies import entropy_scores, margin_scores  # noqa: E402
from alkit.strategies.bayesian import bald_scores  # noqa: E402
from alkit.viz import batch as batch_viz  # noqa: E402
from alkit.viz import toy2d  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    ds = blobs(n_samples=90, n_classes=3, n_test=30, seed=0)
    learner = alkit.Learner("mlp", (2,), 3, alkit.TrainConfig(epochs=30, batch_size=32, lr=3e-3), "cpu")
    learner.fit(ds.x_train, ds.y_train, seed=0)
    return ds, learner


def test_grid_layout_and_image():
    g = toy2d.make_grid(np.array([[0.0, -1.0], [2.0, 3.0]]), steps=5, pad=0.0)
    assert g.shape == (5, 5) and g.xs[0] == 0 and g.xs[-1] == 2 and g.ys[0] == -1 and g.ys[-1] == 3
    pts = g.points
    assert pts.shape == (25, 2) and pts.dtype == torch.float32
    img_x, img_y = g.image(pts[:, 0]), g.image(pts[:, 1])
    assert np.allclose(img_x, np.tile(g.xs, (5, 1))) and np.allclose(img_y, np.tile(g.ys[:, None], (1, 5)))
    with pytest.raises(ValueError, match="one per grid point"):
        g.image(np.zeros(24))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        toy2d.make_grid(np.zeros((3, 3)))


def test_heatmap_is_the_score_function_on_the_grid(fitted):
    _, learner = fitted
    g = toy2d.make_grid(np.array([[-6.0, -6.0], [6.0, 6.0]]), steps=21)
    probs = learner.predict_proba(g.points)
    for name, fn in (("entropy", entropy_scores), ("margin", margin_scores)):
        got = toy2d.grid_scores(name, learner, g)
        assert np.array_equal(got, fn(probs).numpy())
    fig, ax = plt.subplots()
    mesh = toy2d.utility_heatmap(ax, g, toy2d.grid_scores("entropy", learner, g))
    assert np.array_equal(np.asarray(mesh.get_array()).reshape(g.shape), g.image(entropy_scores(probs)))
    plt.close(fig)
    assert np.allclose(toy2d.grid_probs(learner, g), probs.numpy())


def test_mc_heatmap_uses_the_given_seed(fitted):
    _, learner = fitted
    pts = torch.randn(50, 2, generator=torch.Generator().manual_seed(1)) * 3
    got = toy2d.grid_scores("bald", learner, pts, strategy_params={"mc_samples": 7}, seed=5)
    want = bald_scores(learner.mc_probs(pts, 7, seed=5)).numpy()
    assert np.array_equal(got, want)
    assert not np.array_equal(got, toy2d.grid_scores("bald", learner, pts, strategy_params={"mc_samples": 7}, seed=6))


def test_grid_view_holds_exactly_the_needs_and_no_labels(fitted):
    _, learner = fitted
    pts = torch.zeros(4, 2)
    view = toy2d.grid_view({"probs", "labeled_embeddings"}, learner, pts, labeled_x=torch.ones(3, 2))
    assert view.n_unlabeled == 4 and view.n_labeled == 3
    assert view.has("probs") and view.has("labeled_embeddings") and not view.has("labeled_targets")
    assert view.labeled_embeddings.shape[0] == 3


def test_set_valued_strategies_have_no_heatmap(fitted):
    _, learner = fitted
    with pytest.raises(TypeError, match="no per-item utility"):
        toy2d.grid_scores("kcenter", learner, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="by name"):
        toy2d.grid_scores(alkit.get_strategy("entropy"), learner, torch.zeros(3, 2), strategy_params={"x": 1})


def _brute_radius(p, c):
    return max(min(math.dist(a, b) for b in c) for a in p)


def test_covering_radius_equals_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(5):
        p = rng.normal(size=(40, 2))
        c = rng.normal(size=(6, 2))
        assert toy2d.covering_radius(p, c) == pytest.approx(_brute_radius(p, c), abs=1e-9)
    p = rng.normal(size=(30, 2))
    radii = [toy2d.covering_radius(p, p[:k]) for k in range(1, 31)]
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(radii))  # more centres never hurt
    assert radii[-1] == pytest.approx(0.0, abs=1e-6)
    assert toy2d.covering_radius is batch_viz.covering_radius  # the dashboard's function, reused
    assert toy2d.covering_radius(torch.as_tensor(p), torch.as_tensor(p[:3])) == pytest.approx(radii[2])


def test_kcenter_greedy_radius_is_within_twice_the_optimum():
    """Reference §4.11 (ii) through the library strategy and this module's radius."""
    rng = np.random.default_rng(3)
    for _ in range(10):
        x = torch.as_tensor(rng.normal(size=(12, 2)))
        lab, unl = torch.tensor([0]), torch.arange(1, 12)
        view = alkit.PoolView.from_tensors(unl, lab, embeddings=x[unl], labeled_embeddings=x[lab])
        picks = alkit.get_strategy("kcenter").query(view, 3, None).indices
        greedy = toy2d.covering_radius(x, x[torch.cat([lab, picks])])
        best = min(toy2d.covering_radius(x, x[[0, *s]]) for s in itertools.combinations(range(1, 12), 3))
        assert greedy <= 2 * best + 1e-9


def test_within_batch_distances_are_all_pairs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(7, 3))
    got = toy2d.within_batch_distances(x)
    want = [math.dist(x[i], x[j]) for i in range(7) for j in range(i + 1, 7)]
    assert got.shape == (21,) and np.allclose(got, want)
    assert toy2d.within_batch_distances(x[:1]).size == 0


def test_round_recorder_follows_the_run():
    ds = blobs(n_samples=60, n_classes=2, n_test=20, seed=1)
    cfg = alkit.ALConfig(dataset="blobs", strategy="entropy", initial=6, query=5, rounds=2, device="cpu",
                         train=alkit.TrainConfig(epochs=5, batch_size=16, lr=3e-3))
    run = alkit.ALRun(cfg, dataset=ds)
    g = toy2d.make_grid(ds.x_train, steps=8)
    rec = toy2d.RoundRecorder(g).attach(run)
    run.run()
    assert len(rec) == 3 and [s.round for s in rec.snapshots] == [0, 1, 2]
    for snap, res in zip(rec.snapshots, run.history, strict=True):
        assert snap.picks.tolist() == res.selected and snap.accuracy == res.accuracy
        assert snap.probs.shape == (64, 2) and snap.utility.shape == (64,)
    assert [len(s.labeled) for s in rec.snapshots] == [6, 11, 16]
    assert set(rec[1].picks) <= set(rec[1].labeled) and not set(rec[1].picks) & set(rec[0].labeled)
    # the recorded utility is the last model's entropy on the grid
    assert np.allclose(rec[2].utility, entropy_scores(run.learner.predict_proba(g.points)).numpy())


def test_drawing_helpers_return_what_they_drew(fitted):
    ds, learner = fitted
    g = toy2d.make_grid(ds.x_train, steps=30)
    fig, ax = plt.subplots()
    cs = toy2d.decision_boundary(ax, g, toy2d.grid_probs(learner, g), fill=True)
    assert cs is not None and len(cs.allsegs) == 2  # two boundary levels for three classes
    arts = toy2d.selection_overlay(ax, ds.x_train, ds.y_train, labeled=[0, 1, 2], picks=[5, 6])
    assert arts["labeled"].get_offsets().shape == (3, 2) and arts["picks"].get_offsets().shape == (2, 2)
    assert np.allclose(arts["picks"].get_offsets(), ds.x_train[[5, 6]].numpy())
    assert toy2d.show(fig) is None and not plt.fignum_exists(fig.number)  # shown once, then freed
    fig, ax = plt.subplots()
    flat = np.zeros((g.shape[0] * g.shape[1], 3))
    flat[:, 1] = 1.0
    assert toy2d.decision_boundary(ax, g, flat) is None  # one class everywhere: no boundary
    plt.close(fig)
