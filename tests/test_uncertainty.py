"""Hand-checkable sanity tests of Random and the deterministic uncertainty strategies (reference §4.1–4.5)."""

import math

import pytest
import torch

from alkit.strategies import (
    PoolView,
    entropy_scores,
    get_strategy,
    least_conf_scores,
    margin_scores,
    top_k,
    var_ratio_mc_scores,
    var_ratio_scores,
)

P2 = torch.tensor([[0.9, 0.1], [0.5, 0.5]], dtype=torch.float64)
P3 = torch.tensor([[0.6, 0.2, 0.2], [0.4, 0.35, 0.25]], dtype=torch.float64)


def view_of(probs, unlabeled=None, **extra):
    unl = torch.arange(len(probs)) if unlabeled is None else torch.as_tensor(unlabeled)
    return PoolView.from_tensors(unl, probs=probs, **extra)


def test_entropy_reference_values():
    h = entropy_scores(P2)
    assert h[1].item() == pytest.approx(math.log(2), abs=1e-6)
    assert h[0].item() == pytest.approx(0.325083, abs=1e-6)
    h3 = entropy_scores(P3)
    assert h3.tolist() == pytest.approx([0.950271, 1.080528], abs=1e-6)


def test_entropy_extremes_and_no_nan():
    k = 7
    uniform = torch.full((1, k), 1 / k, dtype=torch.float64)
    assert entropy_scores(uniform).item() == pytest.approx(math.log(k))
    one_hot = torch.eye(k, dtype=torch.float64)
    h = entropy_scores(one_hot)
    assert torch.equal(h, torch.zeros(k, dtype=torch.float64))  # exactly 0, no NaN from 0*log 0


def test_entropy_class_permutation_invariant():
    p = torch.distributions.Dirichlet(torch.ones(5)).sample((50,))
    perm = torch.randperm(5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(entropy_scores(p), entropy_scores(p[:, perm]), atol=1e-6)


@pytest.mark.parametrize("name", ["entropy", "margin", "least_conf", "var_ratio"])
def test_most_uncertain_first(name):
    s = get_strategy(name)
    assert s.query(view_of(P2, [10, 20]), 1).indices.tolist() == [20]
    assert s.query(view_of(P3, [10, 20]), 1).indices.tolist() == [20]


def test_margin_and_least_conf_values():
    assert margin_scores(P3).tolist() == pytest.approx([-0.40, -0.05])
    assert margin_scores(P2)[1].item() == 0.0
    assert least_conf_scores(P3).tolist() == pytest.approx([-0.6, -0.4])
    assert var_ratio_scores(P3).tolist() == pytest.approx([0.4, 0.6])


def test_binary_rankings_coincide():
    p1 = torch.rand(200, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    p = torch.stack([p1, 1 - p1], 1)
    orders = [torch.argsort(f(p), descending=True, stable=True) for f in (entropy_scores, margin_scores,
                                                                          least_conf_scores)]
    assert torch.equal(orders[0], orders[1]) and torch.equal(orders[1], orders[2])


def test_var_ratio_ranks_like_least_conf_on_dirichlet():
    p = torch.distributions.Dirichlet(torch.ones(10)).sample((1000,))
    view = view_of(p)
    a = get_strategy("var_ratio").query(view, 1000).indices
    b = get_strategy("least_conf").query(view, 1000).indices
    assert torch.equal(a, b)


def test_var_ratio_mc_definition():
    # passes predicting classes [0,0,1,1] -> 0.5 ; [0,0,0,0] -> 0
    t0 = torch.tensor([[0.9, 0.1], [0.8, 0.2]])
    t1 = torch.tensor([[0.1, 0.9], [0.7, 0.3]])
    mc = torch.stack([t0, t0, t1, t1])  # (T=4, N=2, K=2)
    assert var_ratio_mc_scores(mc).tolist() == pytest.approx([0.5, 0.0])
    s = get_strategy("var_ratio", mode="mc", mc_samples=4)
    assert s.required() == {"mc_probs"}
    view = PoolView.from_tensors(torch.tensor([3, 8]), mc_probs=mc)
    assert s.query(view, 1).indices.tolist() == [3]


def test_var_ratio_mc_secondary_key_only_breaks_ties():
    g = torch.Generator().manual_seed(0)
    mc = torch.randn(6, 300, 3, generator=g).softmax(-1)
    plain = var_ratio_mc_scores(mc)
    with_key = get_strategy("var_ratio", mode="mc", mc_samples=6).score(PoolView.from_tensors(torch.arange(300),
                                                                                              mc_probs=mc))
    # a strictly larger vote-based score is never overtaken
    bigger = plain[:, None] > plain[None, :]
    assert bool((with_key[:, None] > with_key[None, :])[bigger].all())


def test_var_ratio_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        get_strategy("var_ratio", mode="bayes").required()


def test_top_k_ties_go_to_lowest_index_or_seeded_random():
    scores = torch.tensor([1.0, 3.0, 3.0, 2.0, 3.0])
    assert top_k(scores, 3).tolist() == [1, 2, 4]
    a = top_k(scores, 2, generator=torch.Generator().manual_seed(0))
    b = top_k(scores, 2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and set(a.tolist()) <= {1, 2, 4}
    seen = {tuple(top_k(scores, 1, generator=torch.Generator().manual_seed(s)).tolist()) for s in range(30)}
    assert seen == {(1,), (2,), (4,)}  # every tied item can win under random tie-breaking


def test_top_k_rejects_nan_and_bad_k():
    with pytest.raises(ValueError, match="NaN"):
        top_k(torch.tensor([0.1, float("nan")]), 1)
    with pytest.raises(ValueError, match="k must be"):
        top_k(torch.tensor([0.1, 0.2]), 3)


def test_scores_reject_bad_probabilities():
    with pytest.raises(ValueError, match="shape"):
        entropy_scores(torch.rand(5))
    with pytest.raises(ValueError, match="NaN or inf"):
        entropy_scores(torch.tensor([[0.5, float("nan")]]))
    with pytest.raises(TypeError, match="floating"):
        entropy_scores(torch.tensor([[1, 0]]))


def test_random_is_uniform_and_never_labeled():
    unl = torch.arange(100, 200)
    view = PoolView.from_tensors(unl, labeled=torch.arange(100))
    s = get_strategy("random")
    g = torch.Generator().manual_seed(0)
    counts = torch.zeros(300)
    draws = 10_000
    for _ in range(draws):
        idx = s.query(view, 10, g).indices
        counts[idx] += 1
    freq = counts[100:200] / draws
    assert counts[:100].sum() == 0
    assert bool(((freq - 0.1).abs() <= 0.015).all()), (freq.min(), freq.max())
