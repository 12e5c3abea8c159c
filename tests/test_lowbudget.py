"""typiclust and probcover (alkit.strategies.lowbudget): hand-checkable pools, brute-force references, the representation."""

import math

import numpy as np
import pytest
import torch

from alkit.strategies import PoolView, get_strategy
from alkit.strategies import lowbudget as lb
from alkit.testing import count_host_syncs, forbid_host_transfers, synthetic_view


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def view_of(unl_x, lab_x=None, num_classes=2, **extra):
    """A view whose raw inputs are ``unl_x`` (unlabeled, pool indices 0..) and ``lab_x`` (labeled, after them)."""
    lab_x = torch.empty(0, unl_x.shape[1], dtype=unl_x.dtype) if lab_x is None else lab_x
    n_u, n_l = len(unl_x), len(lab_x)
    return PoolView(unlabeled=torch.arange(n_u), labeled=torch.arange(n_u, n_u + n_l), num_classes=num_classes,
                    device=torch.device("cpu"),
                    _fields={"inputs": unl_x, "labeled_inputs": lab_x, **extra})


def two_blobs_and_outliers(n=40, seed=0):
    g = gen(seed)
    a = torch.randn(n, 2, generator=g, dtype=torch.float64) * 0.3
    b = torch.randn(n, 2, generator=g, dtype=torch.float64) * 0.3 + torch.tensor([10.0, 0.0], dtype=torch.float64)
    out = torch.tensor([[5.0, 4.0], [5.0, -4.0], [-4.0, 0.0], [14.0, 0.0]], dtype=torch.float64)  # 4 from a blob
    return torch.cat([a, b, out])  # rows 0..n-1: blob A, n..2n-1: blob B, 2n..2n+3: outliers


# ------------------------------------------------------------------------------------------- typicality
def numpy_typicality(x, groups, k):
    x = np.asarray(x, np.float64)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    out = np.zeros(len(x))
    for i in range(len(x)):
        same = np.flatnonzero((groups == groups[i]) & (np.arange(len(x)) != i))
        kk = min(k, (len(same) + 1) // 2)
        if kk:
            out[i] = 1.0 / np.sort(d[i, same])[:kk].mean()
    return out


@pytest.mark.parametrize("k", [1, 3, 20])
def test_typicality_equals_a_brute_force_knn_density(k):
    g = gen(k)
    x = torch.randn(70, 3, generator=g, dtype=torch.float64)
    groups = torch.randint(0, 5, (70,), generator=g)
    groups[69] = 9  # a group of one row: typicality 0
    got = lb.typicality(x, groups, k)
    ref = numpy_typicality(x.numpy(), groups.numpy(), k)
    assert np.allclose(got.numpy(), ref, rtol=1e-9, atol=1e-12) and got[69] == 0
    # without groups: the whole set is one group (k capped at N // 2)
    assert np.allclose(lb.typicality(x, None, k).numpy(), numpy_typicality(x.numpy(), np.zeros(70), k), rtol=1e-9)


def test_typicality_hand_checked():
    # 0, 1, 3 on a line, one group, k = 1 (3 // 2): nearest distances 1, 1, 2
    x = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)
    assert lb.typicality(x, None, 5).tolist() == [1.0, 1.0, 0.5]
    with pytest.raises(ValueError, match="k must be a positive integer"):
        lb.typicality(x, None, 0)
    with pytest.raises(ValueError, match=r"groups must have shape \(3,\)"):
        lb.typicality(x, torch.zeros(2, dtype=torch.long), 1)


# ------------------------------------------------------------------------------------------- typiclust
def test_typiclust_picks_blob_centres_never_an_outlier():
    x = two_blobs_and_outliers()
    view = view_of(x)
    s = get_strategy("typiclust", representation="inputs")
    sel = s.query(view, 2, gen())
    picks = sel.indices.tolist()
    assert sorted(p // 40 for p in picks) == [0, 1], picks  # one pick in each blob
    for p in picks:
        blob = x[(p // 40) * 40 : (p // 40) * 40 + 40]
        # the densest point of a blob sits near its mean, well inside 1 std (0.3)
        assert (x[p] - blob.mean(0)).norm() < 0.3
        assert torch.equal(sel.scores[picks.index(p)], lb.typicality(blob, None, 20).max())
    # with 4 picks (4 clusters), the outliers' tiny clusters are skipped: every pick stays in a blob
    for seed in range(5):
        picks4 = s.query(view, 4, gen(seed)).indices.tolist()
        assert all(p < 80 for p in picks4) and len(set(picks4)) == 4, (seed, picks4)


def test_typiclust_queries_the_cluster_without_labels_first():
    x = two_blobs_and_outliers()
    # blob A's centre is labeled: the only query of budget 1 (2 clusters) must go to blob B
    view = view_of(x[40:], lab_x=x[:40].mean(0, keepdim=True))
    for seed in range(4):
        pick = get_strategy("typiclust", representation="inputs").query(view, 1, gen(seed)).indices.item()
        assert pick < 40, (seed, pick)  # rows 0..39 of this view are blob B


def test_typiclust_visits_the_largest_unlabeled_cluster_first_and_alternates_under_the_cap():
    g = gen(4)
    sizes, centres = (10, 30, 20), (0.0, 20.0, 40.0)
    x = torch.cat([torch.randn(n, 2, generator=g) * 0.3 + torch.tensor([c, 0.0]) for n, c in zip(sizes, centres)])
    blob = torch.tensor([0] * 10 + [1] * 30 + [2] * 20)
    picks = get_strategy("typiclust", representation="inputs").query(view_of(x), 3, gen()).indices
    assert blob[picks].tolist() == [1, 2, 0]  # 30, then 20, then 10 items
    # max_clusters=2 (fewer clusters than picks): the cluster with fewer labels so far goes next
    two = get_strategy("typiclust", representation="inputs", max_clusters=2).query(view_of(x[10:]), 4, gen())
    b2 = blob[10:][two.indices].tolist()
    assert sorted(b2) == [1, 1, 2, 2] and b2[0] != b2[1] and b2[2] != b2[3]


def test_typiclust_with_all_clusters_tiny_still_returns_b_distinct_items():
    x = torch.randn(12, 2, generator=gen(3))
    sel = get_strategy("typiclust", representation="inputs").query(view_of(x[2:], x[:2]), 9, gen())
    assert len(set(sel.indices.tolist())) == 9 and set(sel.indices.tolist()) <= set(range(10))


# ------------------------------------------------------------------------------------------- probcover
def brute_force_cover(x, lab, delta, b):
    """Greedy max coverage by Python sets: (picks, newly covered per pick), stopping when nothing new is covered."""
    pts = np.concatenate([x, lab]) if len(lab) else np.asarray(x)
    d = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
    ball = [set(np.flatnonzero(d[i] < delta)) | {i} for i in range(len(pts))]
    covered = set().union(*(ball[len(x) + j] for j in range(len(lab))))
    picks, gains = [], []
    for _ in range(b):
        best, gain = None, 0
        for i in range(len(x)):
            if i not in picks and len(ball[i] - covered) > gain:
                best, gain = i, len(ball[i] - covered)
        if best is None:
            break
        picks.append(best)
        gains.append(gain)
        covered |= ball[best]
    return picks, gains


@pytest.mark.parametrize("seed", range(4))
def test_probcover_greedy_equals_brute_force_greedy(seed):
    g = gen(seed)
    x = torch.rand(60, 2, generator=g, dtype=torch.float64) * 4
    lab = torch.rand(5, 2, generator=g, dtype=torch.float64) * 4
    delta = 0.6
    ref_picks, ref_gains = brute_force_cover(x.numpy(), lab.numpy(), delta, 12)
    assert len(ref_picks) == 12  # positive gains all along: the greedy part alone
    sel = get_strategy("probcover", delta=delta, representation="inputs").query(view_of(x, lab), 12, gen())
    assert sel.indices.tolist() == ref_picks
    assert sel.scores.tolist() == ref_gains
    # coverage: the share of the 65 items inside the labeled balls and the 12 picks' balls
    d = torch.cdist(torch.cat([x, lab]), torch.cat([x, lab]))
    covered = (d[torch.tensor(ref_picks + list(range(60, 65)))] < delta).any(0)
    assert sel.extras["coverage"] == pytest.approx(float(covered.double().mean()))


def test_probcover_respects_what_labeled_balls_cover():
    # a dense clump of 10 (one of them labeled) and a sparser clump of 5: the clump already covered gains nothing
    dense = torch.tensor([[0.0, 0.0]]) + 0.01 * torch.arange(10.0).unsqueeze(1)
    sparse = torch.tensor([[5.0, 0.0]]) + 0.1 * torch.arange(5.0).unsqueeze(1)
    view = view_of(torch.cat([dense[1:], sparse]), lab_x=dense[:1])  # unlabeled: 0..8 dense, 9..13 sparse
    sel = get_strategy("probcover", delta=0.5, representation="inputs").query(view, 2, gen())
    assert sel.indices[0].item() in range(9, 14) and sel.scores[0].item() == 5
    # the pool is then covered: the second pick is a seeded draw, distinct and unlabeled
    assert sel.scores[1].item() == 0 and sel.extras["coverage"] == 1.0
    again = get_strategy("probcover", delta=0.5, representation="inputs").query(view, 2, gen())
    assert torch.equal(sel.indices, again.indices)
    # without the labeled item the dense clump is worth more (10 > 5)
    unl = view_of(torch.cat([dense, sparse]))
    assert get_strategy("probcover", delta=0.5, representation="inputs").query(unl, 1, gen()).indices.item() < 10


def test_probcover_after_full_coverage_draws_from_the_generator():
    x = torch.randn(30, 2, generator=gen(1))
    s = get_strategy("probcover", delta=100.0, representation="inputs")  # one ball covers everything
    a = [s.query(view_of(x), 10, gen(seed)).indices.tolist() for seed in (0, 0, 1)]
    assert a[0] == a[1] and a[0] != a[2] and len(set(a[0])) == 10
    assert s.query(view_of(x), 10, gen(0)).scores.tolist() == [30] + [0] * 9


def test_purity_delta_is_the_largest_delta_with_enough_purity():
    # points on a line, labels 0 0 0 | 1 1: the nearest other-label distances r are 3, 2, 1, 1, 2
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 1])
    assert lb._nearest_other(x, labels).tolist() == [3.0, 2.0, 1.0, 1.0, 2.0]
    assert lb.purity_delta(x, labels, 1.0).item() == 1.0  # every ball pure: delta <= min r
    assert lb.purity_delta(x, labels, 0.6).item() == 2.0  # 3 of 5 balls pure up to delta = 2
    assert lb.ball_purity(x, labels, 2.0).item() == 0.6 and lb.ball_purity(x, labels, 2.0001).item() == 0.2
    # random data against a grid search over every candidate radius
    g = gen(5)
    x = torch.randn(200, 3, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 4, (200,), generator=g)
    for alpha in (0.5, 0.9, 0.95):
        d = lb.purity_delta(x, labels, alpha).item()
        grid = np.unique(lb._nearest_other(x, labels).numpy())
        ok = [r for r in grid if lb.ball_purity(x, labels, float(r)).item() >= alpha]
        assert d == max(ok), alpha
    with pytest.raises(ValueError, match=r"purity must lie in \(0, 1\]"):
        lb.purity_delta(x, labels, 0.0)


def test_probcover_default_delta_is_the_purity_rule():
    s = get_strategy("probcover")
    view = synthetic_view(s.required(), n_pool=200, n_labeled=20, input_dim=5, num_classes=3, seed=2)
    sel = s.query(view, 10, gen(4))
    x = lb.pool_representation(view)
    labels, _ = lb.kmeans_labels(x, 3, gen(4))  # the same generator stream: the same pseudo-labels
    assert sel.extras["delta"] == pytest.approx(lb.purity_delta(x, labels, 0.95).item())
    assert lb.ball_purity(x, labels, sel.extras["delta"]).item() >= 0.95
    with pytest.raises(ValueError, match="at least 2 pseudo-classes"):
        s.query(view_of(torch.randn(20, 2), num_classes=0), 3, gen())
    assert get_strategy("probcover", purity_clusters=2).query(view_of(torch.randn(20, 2), num_classes=0), 3, gen())


# ------------------------------------------------------------------------------------------- the representation
def test_pca_representation_is_fitted_on_the_whole_pool_and_reads_no_label():
    g = gen(8)
    x = torch.randn(50, 1, 4, 4, generator=g, dtype=torch.float64) @ torch.randn(4, 4, generator=g, dtype=torch.float64)
    lab_a, lab_b = torch.arange(10), torch.arange(30, 50)  # two different labeled sets of the same pool
    feats = []
    for lab in (lab_a, lab_b):
        unl = torch.tensor([i for i in range(50) if i not in set(lab.tolist())])
        v = PoolView(unlabeled=unl, labeled=lab, num_classes=2, device=torch.device("cpu"),
                     _fields={"inputs": x[unl], "labeled_inputs": x[lab]})
        f = lb.pool_representation(v, "pca", 3)
        order = torch.cat([unl, lab]).argsort()
        feats.append(f[order])  # back to pool order
    # the same features whatever the split (up to the sign of each component)
    assert torch.allclose(feats[0].abs(), feats[1].abs(), atol=1e-9)
    # the top 3 principal components of the 16 flattened pixels
    flat = x.flatten(1)
    centred = flat - flat.mean(0)
    var = torch.linalg.svdvals(centred)[:3] ** 2 / 49
    assert torch.allclose(feats[0].var(0), var, rtol=1e-9)
    # pca_dim >= the input size: only centred, every distance kept
    f16 = lb.pool_representation(view_of(flat), "pca", 16)
    assert torch.allclose(torch.cdist(f16, f16), torch.cdist(flat, flat), atol=1e-6)  # cdist rounds near 0
    assert torch.equal(lb.pool_representation(view_of(flat), "inputs"), flat)


def test_representation_decides_the_needs():
    for name in ("typiclust", "probcover"):
        assert get_strategy(name).required() == {"inputs", "labeled_inputs"}
        s = get_strategy(name, representation="embeddings")
        assert s.required() == {"embeddings", "labeled_embeddings"}
        emb = synthetic_view(s.required(), n_pool=80, n_labeled=10, seed=1)
        sel = s.query(emb, 5, gen())
        assert len(set(sel.indices.tolist())) == 5
        with pytest.raises(ValueError, match="needs"):
            s.query(synthetic_view({"inputs", "labeled_inputs"}, n_pool=80, n_labeled=10), 5, gen())
        # embeddings and the same numbers as inputs give the same picks
        x = torch.randn(60, 3, generator=gen(2))
        as_inputs = get_strategy(name, representation="inputs").query(view_of(x[10:], x[:10]), 6, gen(1))
        v = PoolView(unlabeled=torch.arange(50), labeled=torch.arange(50, 60), num_classes=2,
                     device=torch.device("cpu"), _fields={"embeddings": x[10:], "labeled_embeddings": x[:10]})
        assert torch.equal(s.query(v, 6, gen(1)).indices, as_inputs.indices)


# ------------------------------------------------------------------------------------------- contract
@pytest.mark.parametrize("name", ["typiclust", "probcover"])
def test_seeded_no_duplicates_and_budget_errors(name):
    s = get_strategy(name)
    view = synthetic_view(s.required(), n_pool=120, n_labeled=15, seed=3)
    a = s.query(view, 25, gen(7))
    b = s.query(view, 25, gen(7))
    assert torch.equal(a.indices, b.indices)
    assert len(set(a.indices.tolist())) == 25 and not set(a.indices.tolist()) & set(view.labeled.tolist())
    with pytest.raises(ValueError, match=r"1\.\.N_U = 1\.\.105"):
        s.query(view, 106, gen())


@pytest.mark.parametrize(("name", "params", "match"), [
    ("typiclust", {"representation": "pixels"}, "representation must be one of pca, inputs, embeddings"),
    ("typiclust", {"pca_dim": 0}, "pca_dim must be a positive integer"),
    ("typiclust", {"k_neighbors": 0}, "k_neighbors must be a positive integer"),
    ("typiclust", {"min_cluster_size": 2.5}, "min_cluster_size must be a positive integer"),
    ("typiclust", {"max_clusters": 0}, "max_clusters must be a positive integer"),
    ("typiclust", {"n_init": 0}, "n_init must be a positive integer"),
    ("probcover", {"delta": -1.0}, "delta must be a positive finite number or None"),
    ("probcover", {"delta": math.inf}, "delta must be a positive finite number"),
    ("probcover", {"purity": 1.5}, r"purity must lie in \(0, 1\]"),
    ("probcover", {"purity_clusters": 1}, "purity_clusters must be an integer >= 2"),
    ("probcover", {"tol": -1}, "tol must be a number >= 0"),
])
def test_bad_hyperparameters_are_named(name, params, match):
    s = get_strategy(name, **params)
    with pytest.raises(ValueError, match=match):
        s.query(synthetic_view({"inputs", "labeled_inputs"}, n_pool=40, n_labeled=5), 3, gen())


def test_greedy_loops_add_no_sync_per_pick(device):
    s = get_strategy("probcover", delta=1.5)
    syncs = []
    for b in (1, 7, 40):
        view = synthetic_view(s.required(), n_pool=300, n_labeled=20, device=device)
        with count_host_syncs() as c:
            s.query(view, b, torch.Generator(device=device).manual_seed(0))
        syncs.append(c.total)
    assert syncs == [3, 3, 3], syncs  # the edge list's nonzero, then delta and coverage for the extras
    t = get_strategy("typiclust", max_clusters=10)  # 10 clusters whatever b: the same k-means every time
    for b in (1, 7, 40):
        view = synthetic_view(t.required(), n_pool=300, n_labeled=20, device=device)
        with count_host_syncs() as c:
            sel = t.query(view, b, torch.Generator(device=device).manual_seed(0))
        from alkit.strategies.diversity import lloyd_check_every

        assert c.total <= math.ceil(sel.extras["n_iter"] / lloyd_check_every(torch.device(device))) + 1, c


@pytest.mark.parametrize("name", ["typiclust", "probcover"])
def test_query_stays_on_device_with_pca(name, device):
    s = get_strategy(name, pca_dim=4)  # 4 < 6 inputs: the PCA path runs
    view = synthetic_view(s.required(), n_pool=150, n_labeled=10, device=device)
    with forbid_host_transfers():
        sel = s.query(view, 8, torch.Generator(device=device).manual_seed(0))
    assert sel.indices.device.type == torch.device(device).type


# ------------------------------------------------------------------------------------------- lesson 11's exercise
def test_exercise_11_1_checks_the_radius_and_names_the_usual_slips(monkeypatch):
    from alkit.lessons import exercise, widgets

    monkeypatch.setattr(widgets, "SOLUTIONS", False)
    g = gen(9)
    feats = torch.randn(150, 4, generator=g)
    pseudo = torch.randint(0, 3, (150,), generator=g)
    ex = exercise("11.1", feats=feats, pseudo=pseudo)
    right = lb.purity_delta(feats, pseudo, 0.9).item()
    assert ex.check(right) is True
    at_95 = lb.purity_delta(feats, pseudo, 0.95).item()
    assert at_95 < right  # a stricter purity, a smaller radius
    for wrong, words in ((at_95, "purity 0.95"), (0.9, "radius")):
        with pytest.raises(AssertionError, match="not right yet") as err:
            ex.check(wrong)
        assert words in str(err.value) and f"{right:.3f}" not in str(err.value), str(err.value)
    monkeypatch.setattr(widgets, "SOLUTIONS", True)
    assert ex.check(None) is True  # the worked solution passes the brute-force checker
