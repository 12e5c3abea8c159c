"""The common suite every registered strategy must pass (like scikit-learn's test_common)."""

import inspect
import re

import pytest
import torch

from alkit.strategies import (
    NEEDS,
    PoolView,
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
    "lpl", "ensemble_var_ratio", "dal", "vaal", "waal", "asal", "gaal", "typiclust", "probcover",
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
@pytest.mark.parametrize("budget", [1, 7, 50])
def test_returns_b_distinct_unlabeled_indices(name, budget):
    s = _strategy(name)
    view = _view(s, n_pool=60, n_labeled=10)
    sel = s.query(view, budget, _gen())
    idx = sel.indices
    assert idx.dtype == torch.long and idx.dim() == 1
    assert len(idx) == budget
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
    everything = s.query(view, 25, _gen()).indices  # budget = N_U: the whole unlabeled pool
    assert sorted(everything.tolist()) == view.unlabeled.tolist()
    for bad in (0, -1, 26, 1000):  # outside 1..N_U: an error, never a shorter selection
        with pytest.raises(ValueError, match=rf"1\.\.N_U = 1\.\.25 \(the unlabeled pool\), got {bad}"):
            s.query(view, bad, _gen())
    empty = _view(s, n_pool=10, n_labeled=10)
    assert empty.n_unlabeled == 0
    with pytest.raises(ValueError, match=r"unlabeled pool is empty \(N_U = 0\)"):
        s.query(empty, 5, _gen())
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


# ------------------------------------------------------------------ PoolView validates every field when built
_NU, _NL, _K, _D = 6, 4, 3, 5


def _good_fields():
    return {
        "probs": torch.full((_NU, _K), 1 / _K),
        "mc_probs": torch.full((2, _NU, _K), 1 / _K),
        "embeddings": torch.zeros(_NU, _D),
        "labeled_embeddings": torch.zeros(_NL, _D),
        "grad_factors": (torch.zeros(_NU, _K), torch.zeros(_NU, 7)),
        "inputs": torch.zeros(_NU, 1, 2, 2),
        "labeled_inputs": torch.zeros(_NL, 1, 2, 2),
        "labeled_targets": torch.zeros(_NL, dtype=torch.long),
        "model": torch.nn.Linear(2, _K),
    }


def _build(**override):
    fields = _good_fields()
    fields.update(override)
    unl = fields.pop("unlabeled", torch.arange(_NL, _NL + _NU))
    lab = fields.pop("labeled", torch.arange(_NL))
    return PoolView(unlabeled=unl, labeled=lab, num_classes=_K, device=torch.device("cpu"), _fields=fields)


def test_a_view_with_every_field_right_is_accepted():
    view = _build()
    assert view.n_unlabeled == _NU and view.has("grad_factors")


# (field, bad value, error type, message): wrong rank, wrong length, wrong dtype for every declared field.
_BAD = [
    ("unlabeled", torch.arange(_NU).view(2, 3), ValueError, r"'unlabeled' must have shape \(N_U,\), got \(2, 3\)"),
    ("unlabeled", torch.arange(_NU).int(), TypeError, r"'unlabeled' \(N_U,\) must be int64, got torch.int32"),
    ("labeled", torch.zeros(_NL), TypeError, r"'labeled' \(N_L,\) must be int64, got torch.float32"),
    ("labeled", torch.zeros(1, _NL, dtype=torch.long), ValueError, r"'labeled' must have shape \(N_L,\)"),
    ("probs", torch.zeros(_NU), ValueError, r"'probs' must have shape \(N_U, K\), got \(6,\)"),
    ("probs", torch.zeros(_NU + 1, _K), ValueError, r"'probs' must have shape \(N_U, K\) with N_U = 6 rows, got \(7, 3\)"),
    ("probs", torch.zeros(_NU, _K + 1), ValueError, r"'probs' must have shape \(N_U, K\) with K = num_classes = 3"),
    ("probs", torch.zeros(_NU, _K, dtype=torch.long), TypeError, r"'probs' \(N_U, K\) must be floating point"),
    ("mc_probs", torch.zeros(_NU, _K), ValueError, r"'mc_probs' must have shape \(T, N_U, K\), got \(6, 3\)"),
    ("mc_probs", torch.zeros(2, _NU - 1, _K), ValueError, r"'mc_probs' must have shape \(T, N_U, K\) with N_U = 6"),
    ("mc_probs", torch.zeros(2, _NU, _K, dtype=torch.int32), TypeError, r"'mc_probs' .* must be floating point"),
    ("embeddings", torch.zeros(_NU, _D, 1), ValueError, r"'embeddings' must have shape \(N_U, d\), got \(6, 5, 1\)"),
    ("embeddings", torch.zeros(_NL, _D), ValueError, r"'embeddings' must have shape \(N_U, d\) with N_U = 6 rows"),
    ("embeddings", torch.zeros(_NU, _D, dtype=torch.long), TypeError, r"'embeddings' .* must be floating point"),
    ("labeled_embeddings", torch.zeros(_NL), ValueError, r"'labeled_embeddings' must have shape \(N_L, d\)"),
    ("labeled_embeddings", torch.zeros(_NU, _D), ValueError, r"\(N_L, d\) with N_L = 4 rows, got \(6, 5\)"),
    ("labeled_embeddings", torch.zeros(_NL, _D + 1), ValueError, r"same feature size d"),
    ("labeled_embeddings", torch.zeros(_NL, _D, dtype=torch.long), TypeError, r"must be floating point"),
    ("grad_factors", torch.zeros(_NU, _K), TypeError, r"'grad_factors' must be a pair"),
    ("grad_factors", (torch.zeros(_NU),) * 2, ValueError, r"'grad_factors\[0\]' must have shape \(N_U, K\)"),
    ("grad_factors", (torch.zeros(_NU, _K), torch.zeros(_NU + 2, 7)), ValueError,
     r"'grad_factors\[1\]' must have shape \(N_U, d'\) with N_U = 6 rows, got \(8, 7\)"),
    ("grad_factors", (torch.zeros(_NU, _K, dtype=torch.long), torch.zeros(_NU, 7)), TypeError, r"floating point"),
    ("inputs", torch.zeros(_NU), ValueError, r"'inputs' must have shape \(N_U, \*input_shape\), got \(6,\)"),
    ("inputs", torch.zeros(_NU + 1, 1, 2, 2), ValueError, r"'inputs' .* with N_U = 6 rows, got \(7, 1, 2, 2\)"),
    ("inputs", torch.zeros(_NU, 1, 2, 2, dtype=torch.uint8), TypeError, r"'inputs' .* must be floating point"),
    ("labeled_inputs", torch.zeros(_NL), ValueError, r"'labeled_inputs' must have shape \(N_L, \*input_shape\)"),
    ("labeled_inputs", torch.zeros(_NU, 1, 2, 2), ValueError, r"'labeled_inputs' .* with N_L = 4 rows"),
    ("labeled_inputs", torch.zeros(_NL, 1, 3, 3), ValueError, r"same item shape"),
    ("labeled_inputs", torch.zeros(_NL, 1, 2, 2, dtype=torch.long), TypeError, r"must be floating point"),
    ("labeled_targets", torch.zeros(_NL, 1, dtype=torch.long), ValueError, r"'labeled_targets' must have shape \(N_L,\)"),
    ("labeled_targets", torch.zeros(_NL + 1, dtype=torch.long), ValueError, r"with N_L = 4 rows, got \(5,\)"),
    ("labeled_targets", torch.zeros(_NL), TypeError, r"'labeled_targets' \(N_L,\) must be int64, got torch.float32"),
    ("model", lambda x: x, TypeError, r"'model' must be a torch.nn.Module"),
    ("probs", [[0.5, 0.5]], TypeError, r"'probs' must be a torch.Tensor"),
]


@pytest.mark.parametrize(("name", "bad", "exc", "match"), _BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(_BAD)])
def test_view_rejects_a_field_of_wrong_rank_length_or_dtype(name, bad, exc, match):
    with pytest.raises(exc, match=match):
        _build(**{name: bad})


@pytest.mark.parametrize("name", ["unlabeled", "labeled", "probs", "mc_probs", "embeddings", "labeled_embeddings",
                                  "grad_factors", "inputs", "labeled_inputs", "labeled_targets", "model"])
def test_view_rejects_a_field_on_another_device(name):
    """The meta device stands in for an accelerator: same shapes and dtypes, another device."""
    good = _good_fields()
    good["unlabeled"], good["labeled"] = torch.arange(_NL, _NL + _NU), torch.arange(_NL)
    value = good[name]
    if name == "grad_factors":
        value = (value[0], value[1].to("meta"))
        name_in_error = "grad_factors[1]"
    elif name == "model":
        value = torch.nn.Linear(2, _K, device="meta")
        name_in_error = "model"
    else:
        value = value.to("meta")
        name_in_error = name
    with pytest.raises(ValueError, match=rf"'{re.escape(name_in_error)}' .*on meta, the view's device is cpu"):
        _build(**{name: value})


def test_view_validation_reads_no_tensor_data():
    """Only metadata is read: building a view over meta tensors (which hold no data) works."""
    meta = {k: (tuple(t.to("meta") for t in v) if isinstance(v, tuple) else
                torch.nn.Linear(2, _K, device="meta") if k == "model" else v.to("meta")) for k, v in _good_fields().items()}
    view = PoolView(unlabeled=torch.arange(_NU, device="meta"), labeled=torch.arange(_NL, device="meta"),
                    num_classes=_K, device=torch.device("meta"), _fields=meta)
    assert view.n_unlabeled == _NU
