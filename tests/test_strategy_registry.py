"""The common suite every registered strategy must pass (like scikit-learn's test_common)."""

import inspect

import pytest
import torch

from alkit.strategies import (
    NEEDS,
    ScoreStrategy,
    UnknownStrategyError,
    get_strategy,
    get_strategy_class,
    list_strategies,
    register_strategy,
)
from alkit.strategies.base import Strategy
from alkit.testing import forbid_host_transfers, synthetic_view

ALL = list_strategies()
FULL_SET = {
    "random", "entropy", "margin", "least_conf", "var_ratio", "entropy_mc", "margin_mc", "least_conf_mc", "bald",
    "mean_std", "batch_bald", "ceal", "kmeans", "kcenter", "badge", "cluster_margin", "adv_bim", "adv_deepfool",
    "lpl", "ensemble_var_ratio", "dal", "vaal", "waal", "asal", "gaal",
}


def _strategy(name):
    return get_strategy(name)


def _view(strategy, **kw):
    return synthetic_view(strategy.required(), mc_samples=max(strategy.mc_samples, 3), **kw)


def _gen(seed=0, device="cpu"):
    return torch.Generator(device=device).manual_seed(seed)


def test_registry_names_are_known_snake_case():
    assert {"random", "entropy", "margin", "least_conf", "var_ratio"} <= set(ALL)
    assert set(ALL) <= FULL_SET, f"unexpected strategy names: {set(ALL) - FULL_SET}"
    assert ALL == sorted(ALL)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(UnknownStrategyError, match="Valid names: .*entropy"):
        get_strategy("entropyy")
    with pytest.raises(UnknownStrategyError, match="Did you mean 'entropy'"):
        get_strategy("entropyy")


def test_duplicate_registration_raises():
    with pytest.raises(ValueError, match="already registered"):
        register_strategy("entropy")(type("Dup", (Strategy,), {}))
    with pytest.raises(ValueError, match="snake_case"):
        register_strategy("BadName")


def test_unknown_hyperparameter_is_rejected():
    with pytest.raises(TypeError, match="hyperparameters"):
        get_strategy("entropy", temperature=2.0)


@pytest.mark.parametrize("name", ALL)
def test_needs_are_declared_and_valid(name):
    s = _strategy(name)
    assert s.required() <= NEEDS
    doc = inspect.getdoc(type(s))
    assert doc and len(doc) > 20, f"{name} needs a docstring"


@pytest.mark.parametrize("name", ALL)
def test_params_roundtrip(name):
    s = _strategy(name)
    again = get_strategy(name, **s.get_params())
    assert repr(again) == repr(s)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("budget", [1, 7, 50, 53])
def test_returns_min_b_distinct_unlabeled_indices(name, budget):
    s = _strategy(name)
    view = _view(s, n_pool=60, n_labeled=10)
    sel = s.query(view, budget, _gen())
    idx = sel.indices
    assert idx.dtype == torch.long and idx.dim() == 1
    assert len(idx) == min(budget, view.n_unlabeled)
    assert len(set(idx.tolist())) == len(idx), "duplicates"
    assert set(idx.tolist()) <= set(view.unlabeled.tolist()), "picked a labeled or out-of-pool index"
    if sel.scores is not None:
        assert sel.scores.shape == idx.shape


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_indices(name):
    s = _strategy(name)
    a = s.query(_view(s, seed=3), 8, _gen(11)).indices
    b = s.query(_view(s, seed=3), 8, _gen(11)).indices
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", ALL)
def test_budget_edge_cases(name):
    s = _strategy(name)
    view = _view(s, n_pool=30, n_labeled=5)
    assert len(s.query(view, 0, _gen()).indices) == 0
    everything = s.query(view, 1000, _gen()).indices
    assert sorted(everything.tolist()) == view.unlabeled.tolist()
    empty = _view(s, n_pool=10, n_labeled=10)
    assert empty.n_unlabeled == 0
    assert len(s.query(empty, 5, _gen()).indices) == 0
    with pytest.raises(ValueError, match=">= 0"):
        s.query(view, -1, _gen())
    with pytest.raises(TypeError, match="integer"):
        s.query(view, 2.5, _gen())


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("kind", ["one_hot", "uniform"])
def test_finite_scores_on_degenerate_probabilities(name, kind):
    s = _strategy(name)
    n_u, k = 20, 4
    probs = torch.full((n_u, k), 1.0 / k) if kind == "uniform" else torch.nn.functional.one_hot(
        torch.arange(n_u) % k, k).float()
    view = synthetic_view(s.required(), n_pool=n_u + 5, n_labeled=5, num_classes=k, probs=probs,
                          mc_samples=max(s.mc_samples, 3))
    if isinstance(s, ScoreStrategy):
        scores = s.score(view)
        assert torch.isfinite(scores).all()
    sel = s.query(view, 6, _gen())
    assert len(sel.indices) == 6
    if sel.scores is not None:
        assert torch.isfinite(sel.scores).all()


@pytest.mark.parametrize("name", ALL)
def test_query_stays_on_device(name, device):
    """Scoring and selection never move tensors to the host (caught even on a CPU-only machine)."""
    s = _strategy(name)
    view = synthetic_view(s.required(), mc_samples=max(s.mc_samples, 3), device=device)
    with forbid_host_transfers():
        sel = s.query(view, 5, _gen(0, device))
    assert sel.indices.device.type == torch.device(device).type


def test_host_guard_catches_a_transfer():
    class Leaky(ScoreStrategy):
        """A deliberately broken strategy that scores on the host."""

        needs = frozenset({"probs"})

        def score(self, view):
            return torch.as_tensor(view.probs.numpy().max(1))

    view = synthetic_view({"probs"})
    with forbid_host_transfers(), pytest.raises(AssertionError, match="numpy"):
        Leaky().query(view, 3)


def test_missing_need_is_a_clear_error():
    view = synthetic_view(set())
    with pytest.raises(ValueError, match="needs \\['probs'\\]"):
        get_strategy("entropy").query(view, 3)
    with pytest.raises(AttributeError, match="declare it in the strategy's `needs`"):
        _ = view.probs


def test_full_name_set_is_reachable():
    for name in ALL:
        assert get_strategy_class(name).name == name


@pytest.mark.parametrize("name", ALL)
def test_docstring_documents_every_hyperparameter_and_a_reference(name):
    cls = get_strategy_class(name)
    doc = inspect.getdoc(cls) or ""
    assert "References" in doc, f"{name}: numpydoc References section missing"
    missing = [p for p in cls.param_names() if p not in doc]
    assert not missing, f"{name}: hyperparameters {missing} not documented"
