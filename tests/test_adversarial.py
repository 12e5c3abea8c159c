"""adv_bim and adv_deepfool: closed-form checks on linear models, the iteration cap, batching, a frozen model."""

import math

import pytest
import torch
from torch import nn

from alkit.models import ALModel
from alkit.strategies import PoolView, get_strategy
from alkit.strategies.adversarial import bim_perturbation, deepfool_perturbation
from alkit.testing import forbid_host_transfers, synthetic_view


def linear_model(weight, bias):
    """An ALModel computing ``z = weight @ x + bias`` (identity extractor, Dropout(0) + Linear head)."""
    weight = torch.as_tensor(weight, dtype=torch.float32)
    bias = torch.as_tensor(bias, dtype=torch.float32)
    k, d = weight.shape
    head = nn.Sequential(nn.Dropout(0.0), nn.Linear(d, k))
    with torch.no_grad():
        head[-1].weight.copy_(weight)
        head[-1].bias.copy_(bias)
    return ALModel(nn.Sequential(nn.Identity()), head, (d,), k).eval()


def binary_model(w, c):
    """Binary linear model ``z = (0, w.x + c)``."""
    w = torch.as_tensor(w, dtype=torch.float32)
    return linear_model(torch.stack([torch.zeros_like(w), w]), [0.0, c])


def view_of(model, x):
    n = x.shape[0]
    return PoolView.from_tensors(torch.arange(n), num_classes=model.num_classes, inputs=x, model=model)


W = torch.tensor([0.7, -1.3, 0.0, 0.4, 2.1])  # one zero weight: that coordinate never moves
C = 0.3


def generic_inputs(n=40, seed=0):
    """Inputs whose gaps |w.x+c| stay moderate (no softmax saturation) and are not step multiples."""
    g = torch.Generator().manual_seed(seed)
    x = 0.8 * torch.randn(n, W.numel(), generator=g)
    s = x @ W + C
    ratio = s.abs() / (0.05 * W.abs().sum())
    keep = (ratio - ratio.round()).abs() > 0.05  # stay away from exact step multiples
    keep &= s.abs() > 1e-3
    return x[keep]


# --- BIM ---------------------------------------------------------------------------------------


def test_bim_binary_linear_closed_form():
    model, x, eps = binary_model(W, C), generic_inputs(), 0.05
    s = x @ W + C
    n = torch.ceil(s.abs() / (eps * W.abs().sum()))
    assert n.max() < 100
    eta, flipped, steps = bim_perturbation(model, x, eps=eps, max_iter=100)
    assert flipped.all()
    assert torch.equal(steps, n.long())
    nnz = int((W != 0).sum())
    torch.testing.assert_close(eta.square().sum(1), n.square() * eps**2 * nnz, rtol=1e-4, atol=1e-6)
    # every step moves against the sign of the gap, coordinate by coordinate
    torch.testing.assert_close(eta, -(n * s.sign()).unsqueeze(1) * eps * W.sign(), rtol=1e-4, atol=1e-6)


def test_bim_ranking_follows_the_gap():
    model, x = binary_model(W, C), generic_inputs()
    scores = get_strategy("adv_bim").score(view_of(model, x))
    s = (x @ W + C).abs()
    n = torch.ceil(s / (0.05 * W.abs().sum()))
    for i in range(len(s)):
        for j in range(len(s)):
            if n[i] < n[j]:
                assert scores[i] > scores[j]
            elif n[i] == n[j]:
                assert scores[i] == scores[j]


def test_never_flipped_items_rank_after_flipped_ones():
    # z = (0, relu(w.x + c)): items with w.x + c < 0 predict class 0, get zero gradient and never flip.
    ext = nn.Sequential(nn.Linear(W.numel(), 1), nn.ReLU())
    head = nn.Sequential(nn.Dropout(0.0), nn.Linear(1, 2))
    with torch.no_grad():
        ext[0].weight.copy_(W.unsqueeze(0))
        ext[0].bias.fill_(C)
        head[-1].weight.copy_(torch.tensor([[0.0], [1.0]]))
        head[-1].bias.zero_()
    model = ALModel(ext, head, (W.numel(),), 2).eval()
    x = generic_inputs()
    positive = (x @ W + C) > 0
    assert positive.any() and (~positive).any()
    for name in ("adv_bim", "adv_deepfool"):
        scores = get_strategy(name, max_iter=30).score(view_of(model, x))
        assert torch.isfinite(scores).all()
        assert scores[positive].min() > scores[~positive].max(), name


# --- DeepFool ----------------------------------------------------------------------------------


@pytest.mark.parametrize("overshoot", [0.0, 0.02])
def test_deepfool_first_step_on_binary_linear_model(overshoot):
    model, x = binary_model(W, C), generic_inputs()
    s = x @ W + C
    r, flipped, iters = deepfool_perturbation(model, x, max_iter=1, overshoot=overshoot)
    wn = W.norm()
    # one step of norm |w.x + c| / ||w||_2 (+ the 1e-4 push of the reference code), scaled by 1 + overshoot
    expected = (1 + overshoot) * (s.abs() + 1e-4) / wn
    torch.testing.assert_close(r.norm(dim=1), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(r.norm(dim=1), (1 + overshoot) * s.abs() / wn, rtol=0, atol=2e-4)
    # straight toward the boundary, and the label flips in that single step
    torch.testing.assert_close(r, -(expected * s.sign()).unsqueeze(1) * W / wn, rtol=1e-5, atol=1e-6)
    assert flipped.all() and torch.equal(iters, torch.ones_like(iters))


def test_deepfool_steps_to_the_closest_class_not_the_last_one():
    # x = 0 predicts class 0 (z = b). Class 1's boundary is 0.2 away, class 2's (the last class
    # examined, where DeepAL+'s never-updated minimum would step) is 1.0 away.
    weight = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    bias = torch.tensor([1.0, 0.8, 0.0])
    model = linear_model(weight, bias)
    x = torch.zeros(1, 2)
    r, flipped, iters = deepfool_perturbation(model, x, max_iter=1, overshoot=0.02)
    right = 1.02 * (0.2 + 1e-4) * torch.tensor([[1.0, 0.0]])
    buggy = 1.02 * (1.0 + 1e-4) * torch.tensor([[0.0, 1.0]])
    torch.testing.assert_close(r, right)
    assert not torch.allclose(r, buggy, atol=1e-2)
    assert flipped.all() and model(x + r).argmax(1).item() == 1
    # and the ranking follows the closest boundary: an item near class 2 only stays far
    x2 = torch.tensor([[0.0, 0.0], [-0.5, 0.0], [-0.9, 0.0]])  # gaps to class 1: 0.2, 0.7, 1.1; class 2: 1.0
    scores = get_strategy("adv_deepfool").score(view_of(model, x2))
    torch.testing.assert_close(-scores, (1.02 * (torch.tensor([0.2, 0.7, 1.0]) + 1e-4)).square())


def test_deepfool_nonlinear_model_flips():
    view = synthetic_view({"inputs", "model"}, n_pool=40, n_labeled=0)
    x, model = view.inputs, view.model
    r, flipped, iters = deepfool_perturbation(model, x, max_iter=50)
    assert flipped.all()
    assert (iters >= 1).all() and (iters <= 50).all()
    assert (model(x + r).argmax(1) != model(x).argmax(1)).all()


# --- both --------------------------------------------------------------------------------------


@pytest.mark.parametrize("attack", ["bim", "deepfool"])
def test_iteration_cap_on_a_model_that_never_flips(attack):
    model = linear_model(torch.zeros(3, 4), [1.0, 0.0, -1.0])  # constant logits: no gradient, no flip
    x = torch.randn(9, 4, generator=torch.Generator().manual_seed(1))
    fn = bim_perturbation if attack == "bim" else deepfool_perturbation
    r, flipped, iters = fn(model, x, max_iter=7)
    assert not flipped.any()
    assert torch.equal(iters, torch.full_like(iters, 7))
    assert torch.isfinite(r).all()
    name = "adv_bim" if attack == "bim" else "adv_deepfool"
    scores = get_strategy(name, max_iter=7).score(view_of(model, x))
    assert torch.isfinite(scores).all()


def test_bim_steps_stop_at_the_cap_on_a_far_item():
    model = binary_model(W, C)
    x = generic_inputs()
    n = torch.ceil((x @ W + C).abs() / (0.05 * W.abs().sum()))
    cap = int(n.min().item()) + 1
    _, flipped, steps = bim_perturbation(model, x, eps=0.05, max_iter=cap)
    assert torch.equal(flipped, n <= cap)
    assert torch.equal(steps, n.clamp_max(cap).long())


@pytest.mark.parametrize("name", ["adv_bim", "adv_deepfool"])
def test_batched_equals_one_at_a_time(name):
    view = synthetic_view({"inputs", "model"}, n_pool=30, n_labeled=5, seed=2)
    batched = get_strategy(name, batch_size=256).score(view)
    chunked = get_strategy(name, batch_size=7).score(view)
    single = get_strategy(name, batch_size=1).score(view)
    torch.testing.assert_close(chunked, batched, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(single, batched, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["adv_bim", "adv_deepfool"])
def test_model_is_left_untouched(name):
    view = synthetic_view({"inputs", "model"}, n_pool=30, n_labeled=5, seed=4)
    model = view.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    with forbid_host_transfers():
        get_strategy(name).query(view, 5, torch.Generator().manual_seed(0))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())
    assert [p.requires_grad for p in model.parameters()] == flags
    assert not model.training


@pytest.mark.parametrize("name", ["adv_bim", "adv_deepfool"])
def test_seeded_determinism_and_no_grad_context(name):
    s = get_strategy(name)
    a = s.query(synthetic_view(s.required(), seed=5), 10, torch.Generator().manual_seed(3))
    with torch.no_grad():  # the attack needs gradients even when called under no_grad
        b = s.query(synthetic_view(s.required(), seed=5), 10, torch.Generator().manual_seed(3))
    assert torch.equal(a.indices, b.indices)
    assert torch.equal(a.scores, b.scores)


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("adv_bim", {"eps": 0.0}),
        ("adv_bim", {"max_iter": 0}),
        ("adv_bim", {"batch_size": 2.5}),
        ("adv_deepfool", {"overshoot": -0.1}),
        ("adv_deepfool", {"max_iter": math.inf}),
    ],
)
def test_invalid_hyperparameters(name, bad):
    view = synthetic_view({"inputs", "model"})
    with pytest.raises(ValueError, match=next(iter(bad))):
        get_strategy(name, **bad).score(view)
