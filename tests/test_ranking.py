"""alkit.experiments.ranking: ranking signals of several strategies on one pool, and their Spearman matrix."""

import numpy as np
import pytest
import torch

from alkit.experiments.ranking import order_signal, pool_rankings, rank_of, spearman_matrix
from alkit.strategies import get_strategy
from alkit.testing import synthetic_view


def test_spearman_matrix_equals_scipy_with_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a = rng.normal(size=50)
    b = a + rng.normal(size=50)
    c = np.round(rng.normal(size=50))  # many ties
    names, m = spearman_matrix({"a": a, "b": b, "c": torch.tensor(c)})
    assert names == ["a", "b", "c"]
    want = spearmanr(np.stack([a, b, c], 1)).statistic
    np.testing.assert_allclose(m, want, atol=1e-12)
    assert np.allclose(np.diag(m), 1.0) and np.allclose(m, m.T)


def test_constant_signal_and_bad_input():
    _, m = spearman_matrix({"x": [1.0, 2.0, 3.0], "flat": [0.0, 0.0, 0.0]})
    assert np.isnan(m[0, 1]) and np.isnan(m[1, 1]) and m[0, 0] == 1.0
    with pytest.raises(ValueError, match="same length"):
        spearman_matrix({"x": [1.0, 2.0], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="finite"):
        spearman_matrix({"x": [1.0, float("nan")]})


def test_rank_and_order_signal():
    assert rank_of([0.1, 0.9, 0.5]).tolist() == [3.0, 1.0, 2.0]
    assert order_signal([2, 0], 4).tolist() == [3.0, 0.0, 4.0, 0.0]
    assert rank_of(order_signal([2, 0], 4)).tolist() == [2.0, 3.5, 1.0, 3.5]  # unordered items tie last
    with pytest.raises(ValueError, match="distinct"):
        order_signal([1, 1], 3)


def test_pool_rankings_scores_and_selection_orders():
    view = synthetic_view({"probs", "embeddings", "labeled_embeddings"}, n_pool=60, n_labeled=10)
    strategies = {n: get_strategy(n) for n in ("entropy", "margin", "kcenter", "random")}
    sig = pool_rankings(view, strategies, seed=3)
    assert set(sig) == set(strategies) and all(v.shape == (50,) for v in sig.values())
    np.testing.assert_allclose(sig["entropy"], strategies["entropy"].score(view).numpy(), rtol=1e-6)
    # kcenter's first pick has the largest signal, and the order matches a real query
    sel = strategies["kcenter"].query(view, 5)
    first = torch.searchsorted(view.unlabeled, sel.indices).tolist()
    assert np.argsort(-sig["kcenter"])[:5].tolist() == first
    assert sorted(sig["random"].tolist()) == list(range(1, 51))  # a permutation: every item ordered
    again = pool_rankings(view, {"random": get_strategy("random")}, seed=3)
    assert np.array_equal(again["random"], sig["random"])
