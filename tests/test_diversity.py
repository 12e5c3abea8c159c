"""Hand-checkable sanity tests of kmeans, kcenter, badge and cluster_margin (reference §4.10–4.13)."""

import itertools
import math

import pytest
import torch

from alkit.strategies import PoolView, get_strategy, margin_scores
from alkit.strategies import diversity as div


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def emb_view(x, labeled=None, **extra):
    n = x.shape[0]
    fields = {"embeddings": x, **extra}
    lab_idx = None
    if labeled is not None:
        fields["labeled_embeddings"] = labeled
        lab_idx = torch.arange(n, n + labeled.shape[0])  # the view checks N_L rows against the labeled indices
    return PoolView.from_tensors(torch.arange(n), lab_idx, **fields)


# --------------------------------------------------------------------------- kcenter
def brute_kcenter(x, lab, b):
    """Recompute every min distance from scratch each step, float64, plain loops; ties to lowest index."""
    x, lab = x.double(), lab.double()
    centres = [lab[i] for i in range(lab.shape[0])]
    picks = []
    for _ in range(b):
        best, best_i = -1.0, -1
        for i in range(x.shape[0]):
            if i in picks:
                continue
            d = min(float(torch.sqrt(((x[i] - c) ** 2).sum())) for c in centres)
            if d > best:
                best, best_i = d, i
        picks.append(best_i)
        centres.append(x[best_i])
    return picks


def radius(x, centres):
    return float(torch.cdist(x.double(), centres.double()).min(dim=1).values.max())


def test_argmax_returns_first_maximum():
    assert int(torch.argmax(torch.tensor([0.0, 2.0, 1.0, 2.0, 2.0]))) == 1


def test_kcenter_equals_brute_force():
    g = gen(0)
    x = torch.rand(200, 2, generator=g, dtype=torch.float64)
    lab = torch.rand(10, 2, generator=g, dtype=torch.float64)
    sel = get_strategy("kcenter").query(emb_view(x, lab), 25, gen())
    assert sel.indices.tolist() == brute_kcenter(x, lab, 25)
    # scores are the min distance at pick time: non-increasing along the sequence
    assert torch.all(sel.scores[1:] <= sel.scores[:-1] + 1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_kcenter_two_approximation(seed):
    g = gen(seed)
    pts = torch.randn(12, 2, generator=g, dtype=torch.float64)
    lab, x = pts[:1], pts[1:]
    sel = get_strategy("kcenter").query(emb_view(x, lab), 3, gen())
    greedy = radius(x, torch.cat([lab, x[sel.indices]]))
    opt = min(radius(x, torch.cat([lab, x[list(s)]])) for s in itertools.combinations(range(11), 3))
    assert greedy <= 2 * opt + 1e-12


def test_kcenter_radius_non_increasing_in_budget():
    g = gen(1)
    x, lab = torch.randn(150, 3, generator=g), torch.randn(5, 3, generator=g)
    s = get_strategy("kcenter")
    radii = [radius(x, lab)]  # b = 0: no query (a budget must be >= 1)
    radii += [radius(x, torch.cat([lab, x[s.query(emb_view(x, lab), b, gen()).indices]])) for b in range(3, 30, 3)]
    assert all(r2 <= r1 + 1e-6 for r1, r2 in zip(radii, radii[1:]))


def test_kcenter_is_memory_bounded(monkeypatch):
    """Blocks never exceed max(budget, |L|) distances; no cdist; results equal the unchunked ones."""
    g = gen(2)
    x, lab = torch.randn(300, 4, generator=g, dtype=torch.float64), torch.randn(20, 4, generator=g, dtype=torch.float64)
    ref = get_strategy("kcenter").query(emb_view(x, lab), 10, gen()).indices
    shapes = []
    orig = div._sq_dists

    def spy(a, a_sq, c, c_sq):
        shapes.append((a.shape[0], c.shape[0]))
        return orig(a, a_sq, c, c_sq)

    def no_cdist(*args, **kwargs):
        raise AssertionError("cdist builds a full matrix")

    monkeypatch.setattr(div, "CHUNK_ELEMS", 64)
    monkeypatch.setattr(div, "_sq_dists", spy)
    monkeypatch.setattr(torch, "cdist", no_cdist)
    assert div._row_block(20) == 3 and div._row_block(1000) == 1
    got = get_strategy("kcenter").query(emb_view(x, lab), 10, gen()).indices
    assert torch.equal(got, ref)
    assert shapes and max(r * c for r, c in shapes) <= 64 and all(r < 300 for r, _ in shapes)


def test_kcenter_prefers_the_sparse_blob():
    g = gen(3)
    dense = torch.randn(180, 2, generator=g) * 0.3
    sparse = torch.randn(20, 2, generator=g) * 3.0 + torch.tensor([10.0, 0.0])
    x = torch.cat([dense, sparse])
    sel = get_strategy("kcenter").query(emb_view(x, dense[:2].clone()), 20, gen())
    share = (sel.indices >= 180).float().mean().item()
    assert share > 20 / 200


def test_kcenter_empty_labeled_starts_at_the_point_nearest_the_mean():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.4, 0.1], [5.0, 5.0]])
    sel = get_strategy("kcenter").query(emb_view(x, torch.empty(0, 2)), 2, gen())
    mean = x.mean(0)
    assert sel.indices[0].item() == int(((x - mean) ** 2).sum(1).argmin())
    assert torch.isfinite(sel.scores).all()


# --------------------------------------------------------------------------- kmeans
def blobs(n_per=30, seed=0):
    g = gen(seed)
    centres = torch.tensor([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0], [20.0, 20.0], [-20.0, -20.0]])
    x = torch.cat([c + torch.randn(n_per, 2, generator=g) for c in centres])
    return x, torch.arange(5).repeat_interleave(n_per)


def test_kmeans_one_point_per_blob_nearest_its_mean():
    x, blob = blobs()
    sel = get_strategy("kmeans", n_init=3).query(emb_view(x), 5, gen(4))
    picked = sel.indices
    assert sorted(blob[picked].tolist()) == [0, 1, 2, 3, 4]
    for i in picked.tolist():
        members = (blob == blob[i]).nonzero().squeeze(1)
        mean = x[members].mean(0)
        nearest = members[((x[members] - mean) ** 2).sum(1).argmin()]
        assert i == nearest.item()


def test_kmeans_budget_at_least_pool_returns_all():
    x, _ = blobs(n_per=4)
    sel = get_strategy("kmeans").query(emb_view(x), 20, gen())
    assert sorted(sel.indices.tolist()) == list(range(20))


def test_kmeans_is_seeded():
    x = torch.randn(120, 6, generator=gen(5))
    s = get_strategy("kmeans", n_init=2)
    a, b = s.query(emb_view(x), 7, gen(9)).indices, s.query(emb_view(x), 7, gen(9)).indices
    assert torch.equal(a, b)


def test_kmeans_empty_cluster_falls_back_to_nearest_unused():
    # three distinct locations, each duplicated: five centroids leave at least two clusters empty
    x = torch.tensor([[0.0, 0.0]] * 4 + [[10.0, 0.0]] * 4 + [[0.0, 10.0]] * 4)
    sel = get_strategy("kmeans").query(emb_view(x), 5, gen(0))
    idx = sel.indices.tolist()
    assert len(set(idx)) == 5
    assert sel.extras["empty_clusters"] >= 2
    assert {tuple(x[i].tolist()) for i in idx} == {(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)}


def test_lloyd_converges_to_blob_means():
    x, blob = blobs()
    init = torch.stack([x[blob == j][0] for j in range(5)])
    c, labels, _, _ = div.lloyd(x, init)
    assert torch.equal(labels, blob)
    assert torch.allclose(c, torch.stack([x[blob == j].mean(0) for j in range(5)]), atol=1e-5)


# --------------------------------------------------------------------------- badge
def materialise(a, e):
    return torch.einsum("nk,nd->nkd", a, e).reshape(a.shape[0], -1)


def factors(n=30, k=4, d=5, seed=0):
    g = gen(seed)
    p = (2 * torch.randn(n, k, generator=g, dtype=torch.float64)).softmax(-1)
    a = p - torch.nn.functional.one_hot(p.argmax(-1), k).double()
    return a, torch.randn(n, d, generator=g, dtype=torch.float64)


def test_badge_confident_prediction_has_zero_gradient():
    p = torch.eye(3, dtype=torch.float64)
    a = p - torch.nn.functional.one_hot(p.argmax(-1), 3).double()
    e = torch.randn(3, 4, dtype=torch.float64, generator=gen())
    assert torch.equal(div.badge_sq_norms(a, e), torch.zeros(3, dtype=torch.float64))
    assert materialise(a, e).abs().max() == 0


def test_badge_norm_identity_and_factorised_distances():
    a, e = factors()
    g = materialise(a, e)
    assert torch.allclose(div.badge_sq_norms(a, e), (g * g).sum(1), atol=1e-6)
    idx = torch.tensor([0, 3, 7, 29])
    explicit = ((g.unsqueeze(1) - g[idx].unsqueeze(0)) ** 2).sum(-1)
    assert torch.allclose(div.badge_sq_dists(a, e, idx), explicit, atol=1e-5)
    a32, e32 = a.float(), e.float()
    assert torch.allclose(div.badge_sq_dists(a32, e32, idx).double(), explicit, atol=1e-4)


def test_badge_first_pick_is_largest_gradient_and_seeded():
    a, e = factors(seed=1)
    view = PoolView.from_tensors(torch.arange(30), grad_factors=(a, e))
    s = get_strategy("badge")
    sel = s.query(view, 10, gen(3))
    assert sel.indices[0].item() == int(materialise(a, e).norm(dim=1).argmax())
    assert len(set(sel.indices.tolist())) == 10
    assert torch.equal(sel.indices, s.query(view, 10, gen(3)).indices)


def test_badge_two_far_clusters_one_each():
    g = gen(7)
    n = 20
    a = torch.tensor([[0.5, -0.5]]).repeat(2 * n, 1)
    u = torch.tensor([1.0, 0.0, 0.0])
    e = torch.cat([u + 0.05 * torch.randn(n, 3, generator=g), -u + 0.05 * torch.randn(n, 3, generator=g)])
    e = e / e.norm(dim=1, keepdim=True)  # equal gradient norms
    view = PoolView.from_tensors(torch.arange(2 * n), grad_factors=(a, e))
    hits = sum(
        len(set((get_strategy("badge").query(view, 2, gen(s)).indices >= n).tolist())) == 2 for s in range(40)
    )
    assert hits >= 38


def test_badge_all_zero_gradients_fall_back_to_uniform():
    a = torch.zeros(10, 3)
    e = torch.randn(10, 4, generator=gen())
    sel = get_strategy("badge").query(PoolView.from_tensors(torch.arange(10), grad_factors=(a, e)), 6, gen(1))
    assert len(set(sel.indices.tolist())) == 6


# --------------------------------------------------------------------------- cluster_margin
def margin_view(n=40, seed=0, dim=3):
    g = gen(seed)
    probs = (2 * torch.randn(n, 4, generator=g)).softmax(-1)
    return PoolView.from_tensors(torch.arange(n), probs=probs, embeddings=torch.randn(n, dim, generator=g))


def test_cluster_margin_with_km_equal_b_is_margin_top_b():
    view = margin_view()
    cm = get_strategy("cluster_margin", margin_multiplier=1)
    got = cm.query(view, 8, gen()).indices
    ref = get_strategy("margin").query(view, 8).indices
    assert set(got.tolist()) == set(ref.tolist())


def test_cluster_margin_round_robin_counts(monkeypatch):
    groups = torch.tensor([0] * 10 + [1] * 5 + [2] + [3])  # sizes 10, 5, 1, 1
    n = groups.numel()
    monkeypatch.setattr(div, "hac_labels", lambda x, n_clusters=None, distance_threshold=None: groups.clone())
    view = margin_view(n=n)
    cm = get_strategy("cluster_margin", margin_multiplier=3)  # k_m = min(18, 17): every item is a candidate
    for seed in range(5):
        cm.reset_clusters()
        sel = cm.query(view, 6, gen(seed))
        counts = torch.bincount(groups[sel.indices], minlength=4).tolist()
        assert counts == [2, 2, 1, 1]
    # groups 7 (size 1), 5 (size 2), 9 (size 3): pass 0 takes 2, one of {0, 1}, one of {3, 4, 5}; pass 1 the other 5
    pos = div.round_robin(torch.tensor([5, 5, 7, 9, 9, 9]), 4, gen()).tolist()
    assert pos[0] == 2 and {0, 1} <= set(pos) and len(set(pos) & {3, 4, 5}) == 1


def test_cluster_margin_clusters_once(monkeypatch):
    calls = []
    orig = div.hac_labels

    def counting(*args, **kwargs):
        calls.append(1)
        return orig(*args, **kwargs)

    monkeypatch.setattr(div, "hac_labels", counting)
    view = margin_view(n=40)
    cm = get_strategy("cluster_margin", margin_multiplier=2)
    first = cm.query(view, 5, gen(0)).indices
    # next round: the picked items are labeled, the view shrinks
    keep = torch.ones(40, dtype=torch.bool)
    keep[first] = False
    view2 = PoolView.from_tensors(view.unlabeled[keep], probs=view.probs[keep], embeddings=view.embeddings[keep])
    second = cm.query(view2, 5, gen(1)).indices
    assert len(calls) == 1
    assert not set(first.tolist()) & set(second.tolist())


def test_torch_average_linkage_matches_scikit_learn():
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import adjusted_rand_score

    x = torch.randn(120, 5, generator=gen(8), dtype=torch.float64)
    for kw in ({"n_clusters": 7}, {"distance_threshold": 2.5}):
        ours = div.average_linkage(x, **kw)
        ref = AgglomerativeClustering(linkage="average", **{"n_clusters": None, **kw}).fit_predict(x.numpy())
        assert adjusted_rand_score(ours.numpy(), ref) == 1.0


def test_cluster_margin_uses_margin_scores():
    view = margin_view()
    sel = get_strategy("cluster_margin").query(view, 4, gen())
    assert torch.allclose(sel.scores, margin_scores(view.probs)[sel.indices])
    assert math.isfinite(float(sel.scores.sum()))


def test_kcenter_pca_variant_matches_explicit_projection():
    """pca_dim reproduces the survey/DeepAL+ variant: k-center on the top principal components."""
    from alkit.strategies import get_strategy
    from alkit.strategies.diversity import pca_project
    from alkit.testing import synthetic_view

    view = synthetic_view({"embeddings", "labeled_embeddings"}, n_pool=300, n_labeled=20, dim=16, seed=4)
    g = torch.Generator().manual_seed(0)
    picked = get_strategy("kcenter", pca_dim=4).query(view, 10, g).indices
    xu, xl = pca_project(view.embeddings.double(), view.labeled_embeddings.double(), 4)
    # the projection keeps the variance of the top components: its covariance is diagonal, descending
    both = torch.cat([xu, xl])
    cov = torch.cov(both.T)
    assert torch.allclose(cov, torch.diag(torch.diagonal(cov)), atol=1e-8)
    assert bool((torch.diagonal(cov)[:-1] >= torch.diagonal(cov)[1:]).all())
    projected = type(view)(unlabeled=view.unlabeled, labeled=view.labeled, num_classes=view.num_classes,
                           device=view.device, _fields={"embeddings": xu.float(), "labeled_embeddings": xl.float()})
    expected = get_strategy("kcenter").query(projected, 10, g).indices
    assert torch.equal(picked, expected)
    with pytest.raises(ValueError, match="pca_dim"):
        get_strategy("kcenter", pca_dim=0).query(view, 3, g)
