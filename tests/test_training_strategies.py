"""Strategies that change training: CEAL's pseudo-labels, LPL's loss module, the ensemble (reference §4.9, §4.16)."""

import math

import pytest
import torch
import torch.nn.functional as F

from alkit.data import load_dataset
from alkit.learner import Learner, TrainConfig
from alkit.loop import ALConfig, ALRun
from alkit.models import get_model
from alkit.strategies import PoolView, get_strategy
from alkit.strategies.scores import entropy
from alkit.strategies.training import (
    LossPredictionModule,
    ceal_threshold,
    ensemble_var_ratio_scores,
    forward_with_taps,
    lpl_ranking_loss,
    lpl_taps,
)
from alkit.testing import synthetic_view

TINY = TrainConfig(epochs=3, batch_size=32, min_steps=20)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def cfg(strategy, **kw):
    base = dict(dataset="digits", strategy=strategy, initial=20, query=10, rounds=2, seed=0, train=TINY, device="cpu")
    base.update(kw)
    return ALConfig(**base)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


class SpyLearner:
    """Records what a hook trains on, without training."""

    def __init__(self, config=None):
        self.config = config or TrainConfig()
        self.calls = []

    def fit(self, x, y, *, seed, x_val=None, y_val=None, sample_weight=None, plan=None):
        self.calls.append(dict(x=x, y=y, x_val=x_val, y_val=y_val, w=sample_weight, plan=plan))
        return None


@pytest.fixture
def train_sets(monkeypatch):
    """Records every (input, output) of CEAL's FitPlan.train_set inside a real Learner.fit."""
    from alkit.strategies import training

    calls = []
    real = training._CEALPlan.train_set

    def spy(self, x, y, w):
        out = real(self, x, y, w)
        calls.append(((x, y, w), out))
        return out

    monkeypatch.setattr(training._CEALPlan, "train_set", spy)
    return calls


# ---------------------------------------------------------------------------------- CEAL
def test_ceal_threshold_schedules_reproduce_reference_numbers():
    dr = 0.033e-5
    # DeepAL+: delta <= 0 after round 17 for 5e-5 and after round 8 for 1e-5
    assert ceal_threshold(16, 5e-5, dr, "deepal") > 0 >= ceal_threshold(17, 5e-5, dr, "deepal")
    assert ceal_threshold(7, 1e-5, dr, "deepal") > 0 >= ceal_threshold(8, 1e-5, dr, "deepal")
    assert ceal_threshold(3, 5e-5, dr, "deepal") == pytest.approx(5e-5 - 3.3e-7 * 6)
    assert ceal_threshold(0, 5e-5, dr, "deepal") == 5e-5
    assert ceal_threshold(3, 0.005, 0.00033, "linear") == pytest.approx(0.005 - 0.00099)
    assert ceal_threshold(9, 0.01, 1.0, "constant") == 0.01
    with pytest.raises(ValueError, match="schedule"):
        ceal_threshold(1, 0.1, 0.0, "cosine")
    # the strategy's defaults follow the schedule
    assert get_strategy("ceal").threshold(17) <= 0 < get_strategy("ceal").threshold(16)
    assert get_strategy("ceal", schedule="linear").threshold(1) == pytest.approx(0.005 - 0.00033)


def test_ceal_round_index_is_derived_from_the_view():
    s = get_strategy("ceal")
    v1 = synthetic_view({"probs"}, n_pool=60, n_labeled=10)
    v2 = synthetic_view({"probs"}, n_pool=60, n_labeled=15)
    v3 = synthetic_view({"probs"}, n_pool=60, n_labeled=20)
    assert s.query(v1, 5, _gen()).extras["ceal_round"] == 1
    assert s.query(v1, 5, _gen()).extras["ceal_round"] == 1  # idempotent on the same view
    assert s.query(v2, 5, _gen()).extras["ceal_round"] == 2
    assert s.query(v3, 5, _gen()).extras == {"ceal_round": 3, "ceal_delta": s.threshold(3)}


def test_ceal_delta_zero_is_entropy_and_trains_on_labeled_only():
    view = synthetic_view({"probs"}, n_pool=60, n_labeled=10)
    s = get_strategy("ceal", delta0=0.0, schedule="constant")
    sel = s.query(view, 7, _gen())
    ref = get_strategy("entropy").query(view, 7, _gen())
    assert torch.equal(sel.indices, ref.indices) and torch.allclose(sel.scores, ref.scores)
    idx, lab = s.pseudo_labels()
    assert idx.numel() == 0 and lab.numel() == 0
    spy = SpyLearner()
    hook = s.training_hook()
    x_l, y_l = torch.randn(17, 6), torch.randint(0, 4, (17,))
    unl = torch.tensor(sorted(set(view.unlabeled.tolist()) - set(sel.indices.tolist())))
    hook.fit(spy, x_l, y_l, x_unlabeled=torch.randn(len(unl), 6), unlabeled_indices=unl, seed=0)
    (call,) = spy.calls
    assert call["x"] is x_l and call["y"] is y_l and call["w"] is None and call["plan"] is None  # plain training
    assert hook.round_extras()["ceal_pseudo_labels"] == 0


def test_ceal_pseudo_labels_on_fake_probabilities():
    sure = torch.tensor([[1 - 2e-7, 1e-7, 1e-7], [1e-7, 1 - 2e-7, 1e-7], [1e-7, 1e-7, 1 - 2e-7]])
    rows = [sure[i % 3] for i in range(6)] + [torch.tensor([0.4, 0.3, 0.3])] * 4 + [torch.tensor([0.9, 0.05, 0.05])] * 2
    probs = torch.stack(rows)  # 6 confident (H ~ 3e-6), 4 uncertain, 2 medium
    n_u = len(probs)
    unlabeled = torch.arange(0, 2 * n_u, 2)  # pool indices 0, 2, ..., 22
    view = PoolView.from_tensors(unlabeled, torch.arange(1, 8, 2), probs=probs)
    h = entropy(probs)
    delta = 1e-4
    assert bool((h[:6] < delta).all()) and bool((h[6:] > delta).all())
    s = get_strategy("ceal", delta0=delta, schedule="constant")
    # b = 4 takes the uncertain items: every confident item is pseudo-labeled
    sel = s.query(view, 4, _gen())
    assert sorted(sel.indices.tolist()) == unlabeled[6:10].tolist()
    idx, lab = s.pseudo_labels()
    assert idx.tolist() == unlabeled[:6].tolist() and lab.tolist() == [0, 1, 2, 0, 1, 2]
    # b = 10 also queries the 4 lowest pool indices of the (tied) confident items: they leave S
    sel = s.query(view, 10, _gen())
    queried = set(sel.indices.tolist())
    idx, lab = s.pseudo_labels()
    assert not queried & set(idx.tolist())
    assert set(idx.tolist()) == set(unlabeled[:6].tolist()) - queried
    assert lab.tolist() == probs.argmax(-1)[torch.isin(unlabeled, idx)].tolist()


def test_ceal_hook_adds_pseudo_labels_with_weights_and_holds_out_labeled_items_only(train_sets):
    probs = torch.tensor([[0.999999, 1e-6], [1e-6, 0.999999], [0.5, 0.5], [0.6, 0.4]])
    unlabeled = torch.tensor([3, 5, 8, 9])
    view = PoolView.from_tensors(unlabeled, torch.tensor([0, 1, 2, 4, 6, 7]), probs=probs)
    s = get_strategy("ceal", delta0=1e-3, schedule="constant", pseudo_weight=0.5)
    sel = s.query(view, 1, _gen())
    assert sel.indices.tolist() == [8]
    rest = torch.tensor([3, 5, 9])
    x_u = torch.arange(3, dtype=torch.float32)[:, None].repeat(1, 4)  # row i is the item rest[i]
    x_l, y_l = 10 + torch.randn(7, 4), torch.tensor([0, 1, 0, 1, 0, 1, 1])
    learner = Learner("mlp", (4,), 2, TrainConfig(epochs=2, validation="holdout", val_fraction=0.3), "cpu")
    hook = s.training_hook()
    report = hook.fit(learner, x_l, y_l, x_unlabeled=x_u, unlabeled_indices=rest, seed=5)
    ((x_in, _, w_in), (x, y, w)) = train_sets[0]
    n_val = round(0.3 * 7)
    # the learner held n_val labeled items out before the plan added the pseudo-labels: none of them validates
    assert len(x_in) == 7 - n_val and w_in is None and bool((x_in > 5).all()) and len(report.val_accuracy) == 2
    assert len(x) == 7 - n_val + 2 and torch.equal(x[:-2], x_in)
    assert torch.equal(x[-2:], x_u[:2]) and y[-2:].tolist() == [0, 1]
    assert w.tolist() == [1.0] * (7 - n_val) + [0.5, 0.5]
    assert hook.round_extras() == {"ceal_pseudo_labels": 2, "ceal_delta": 1e-3, "ceal_pseudo_weight": 0.5}
    # S is consumed: the next fit without a query trains on L only
    spy = SpyLearner()
    hook.fit(spy, x_l, y_l, x_unlabeled=x_u, unlabeled_indices=rest, seed=5)
    assert len(spy.calls[0]["x"]) == 7 and spy.calls[0]["plan"] is None
    assert hook.round_extras()["ceal_pseudo_labels"] == 0


def test_ceal_run_pseudo_labels_never_reach_the_labeled_set(digits):
    # delta0 = 2 nats: the tiny model's entropies lie in ~[1.7, 2.1], so S is large (and mostly wrong)
    run = ALRun(cfg("ceal", strategy_params={"delta0": 2.0, "schedule": "constant"}), dataset=digits)
    fits = []
    real_fit = run.learner.fit

    def spy_fit(x, y, **kw):
        n_lab = int(run.labeled_mask.sum())
        plan = kw.get("plan")
        assert len(x) == n_lab  # the learner gets the labeled set; the plan adds the pseudo-labels
        if plan is not None:  # the pseudo-labels come from the model before retraining
            fits.append((len(x) + len(plan.x_s), n_lab, torch.equal(run.learner.predict(plan.x_s).cpu(), plan.y_s)))
        else:
            fits.append((len(x), n_lab, None))
        return real_fit(x, y, **kw)

    run.learner.fit = spy_fit
    run.run()
    assert [h.n_labeled for h in run.history] == [20, 30, 40]
    assert int(run.labeled_mask.sum()) == 40
    assert bool((run.labels[run.labeled_mask] >= 0).all()) and bool((run.labels[~run.labeled_mask] == -1).all())
    assert torch.equal(run.labels[run.labeled_mask], digits.y_train[run.labeled_mask])  # the oracle's answers only
    assert fits[0] == (20, 20, None)  # round 0: no query, no pseudo-labels
    for (n_x, n_lab, same_model), h in zip(fits[1:], run.history[1:], strict=True):
        n_s = h.extras["ceal_pseudo_labels"]
        assert n_s > 0 and n_x == n_lab + n_s and same_model
        assert h.extras["ceal_delta"] == 2.0 and h.extras["ceal_round"] == h.round


# ---------------------------------------------------------------------------------- LPL
def test_lpl_ranking_loss_reference_values():
    target = torch.tensor([1.0, 0.2])
    assert lpl_ranking_loss(torch.tensor([2.0, 0.5]), target).item() == pytest.approx(0.0)
    assert lpl_ranking_loss(torch.tensor([0.5, 2.0]), target).item() == pytest.approx(2.5)
    pred, tgt = torch.randn(8), torch.rand(8)
    assert lpl_ranking_loss(pred + 3.7, tgt).item() == pytest.approx(lpl_ranking_loss(pred, tgt).item(), abs=1e-5)
    # a tie maps to sign -1 (reference code): max(0, 1 + (p_i - p_j))
    assert lpl_ranking_loss(torch.tensor([0.3, 0.0]), torch.tensor([1.0, 1.0])).item() == pytest.approx(1.3)
    # pairs are (i, 2B-1-i) and the loss is the mean over the B pairs
    p4, t4 = torch.tensor([0.0, 0.0, 0.0, 2.0]), torch.tensor([1.0, 0.0, 0.0, 0.0])
    assert lpl_ranking_loss(p4, t4).item() == pytest.approx((3.0 + 1.0) / 2)
    with pytest.raises(ValueError, match="even"):
        lpl_ranking_loss(torch.zeros(3), torch.zeros(3))


def test_lpl_taps_and_module_shapes():
    mlp = get_model("mlp", (6,), 4)
    assert lpl_taps(mlp) == [2, 4]  # the two ReLUs
    res = get_model("resnet18", (3, 16, 16), 4, width=4)
    taps = lpl_taps(res)
    logits, feats = forward_with_taps(res, torch.randn(2, 3, 16, 16), taps)
    assert logits.shape == (2, 4) and [f.shape[1] for f in feats] == [4, 8, 16, 32]
    for f, g in zip(feats, res.stage_outputs(torch.randn(2, 3, 16, 16)), strict=True):
        assert f.shape == g.shape
    module = LossPredictionModule([f.shape[1] for f in feats])
    assert module(feats).shape == (2,)


def test_lpl_ranking_loss_gives_no_backbone_gradient_once_detached():
    torch.manual_seed(0)
    model = get_model("mlp", (6,), 4)
    taps = lpl_taps(model)
    module = LossPredictionModule([256, 128])
    x, y = torch.randn(8, 6), torch.randint(0, 4, (8,))
    for detach in (False, True):
        model.zero_grad(set_to_none=True)
        module.zero_grad(set_to_none=True)
        logits, feats = forward_with_taps(model, x, taps)
        per = F.cross_entropy(logits, y, reduction="none")
        if detach:
            feats = [f.detach() for f in feats]
        lpl_ranking_loss(module(feats), per).backward()
        grads = [p.grad for p in model.parameters()]
        assert any(p.grad is not None for p in module.parameters())
        if detach:
            assert all(g is None or bool((g == 0).all()) for g in grads)
        else:
            assert any(g is not None and bool((g != 0).any()) for g in grads)


def _lpl_fit(digits, **params):
    s = get_strategy("lpl", **params)
    learner = Learner("mlp", digits.input_shape, digits.num_classes, TINY, "cpu")
    x, y = digits.x_train[:40], digits.y_train[:40]
    rest = torch.arange(40, len(digits.x_train))
    s.training_hook().fit(learner, x, y, x_unlabeled=digits.x_train[rest], unlabeled_indices=rest, seed=3)
    return s, learner


def test_lpl_hook_detached_backbone_equals_plain_training(digits):
    """Detached from epoch 0, the ranking loss leaves the backbone bit-identical to lam=0 training."""
    _, detached = _lpl_fit(digits, detach_epoch=0)
    _, plain = _lpl_fit(digits, lam=0.0, detach_epoch=0)
    _, coupled = _lpl_fit(digits, detach_epoch=10_000)
    a, b, c = (dict(m.model.named_parameters()) for m in (detached, plain, coupled))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_lpl_query_uses_the_trained_module_and_a_seeded_subset(digits):
    s, learner = _lpl_fit(digits)
    assert s._backbone is learner.model
    unl = torch.arange(40, 140)
    view = PoolView.from_tensors(unl, torch.arange(40), num_classes=10,
                                 inputs=digits.x_train[unl], model=learner.model)
    sel = s.query(view, 5, _gen())
    pred = s._module(forward_with_taps(learner.model, digits.x_train[unl], s._taps)[1]).detach()
    assert torch.equal(sel.indices, unl[pred.argsort(descending=True, stable=True)[:5]])
    sub = get_strategy("lpl", subset=20)
    sub._module, sub._backbone, sub._taps = s._module, s._backbone, s._taps
    a, b = sub.query(view, 5, _gen(1)), sub.query(view, 5, _gen(1))
    assert torch.equal(a.indices, b.indices)
    assert sub.query(view, 30, _gen(1)).indices.numel() == 30  # the subset grows to the budget


def test_lpl_two_round_run_on_digits(digits):
    run = ALRun(cfg("lpl"), dataset=digits)
    run.run()
    assert [h.n_labeled for h in run.history] == [20, 30, 40]
    assert all(0.0 <= h.accuracy <= 1.0 for h in run.history)
    assert all(h.extras["lpl_taps"] == [2, 4] and h.extras["lpl_detach_epoch"] >= 1 for h in run.history)
    assert all(h.scores == sorted(h.scores, reverse=True) for h in run.history[1:])


def _spearman(a, b):
    ra = a.argsort().argsort().double()
    rb = b.argsort().argsort().double()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / (ra.norm() * rb.norm()))


def test_lpl_module_alone_learns_a_monotone_loss_ranking():
    """Calibrated (5 seeds): Spearman on 500 held-out items is 0.988-0.993 after 50 steps, >= 0.993 after 200."""
    g = torch.Generator().manual_seed(0)
    w1, w2 = torch.randn(8, generator=g), torch.randn(4, generator=g)

    def sample(n):
        f1 = torch.randn(n, 8, generator=g)
        f2 = torch.randn(n, 4, 3, 3, generator=g)
        z = f1 @ w1 + 3.0 * f2.mean((2, 3)) @ w2
        return [f1, f2], torch.exp(0.5 * z)  # a monotone map of the features: the "true loss"

    with torch.random.fork_rng():
        torch.manual_seed(0)
        module = LossPredictionModule([8, 4], hidden=32)
    opt = torch.optim.Adam(module.parameters(), lr=1e-2)
    for _ in range(200):
        feats, loss = sample(64)
        opt.zero_grad()
        lpl_ranking_loss(module(feats), loss).backward()
        opt.step()
    feats, loss = sample(500)
    with torch.no_grad():
        rho = _spearman(module(feats), loss)
    assert rho > 0.9


# ---------------------------------------------------------------------------------- ensemble
def test_ensemble_var_ratio_hand_check():
    a = torch.tensor([0.9, 0.1])
    b = torch.tensor([0.2, 0.8])
    members = torch.stack([a, a, b, b])[:, None, :]  # votes [0, 0, 1, 1]
    assert ensemble_var_ratio_scores(members, secondary=False).tolist() == [0.5]
    mean = members.mean(0)
    want = 0.5 + float(entropy(mean)) / math.log(2) / 8
    assert ensemble_var_ratio_scores(members).item() == pytest.approx(want)
    # the entropy tie-break never reorders vote counts: a unanimous but maximally uncertain point
    # scores below a 3-1 split of confident members
    flat = torch.full((4, 1, 3), 1 / 3)
    sure = torch.tensor([[0.98, 0.01, 0.01]] * 3 + [[0.01, 0.98, 0.01]])[:, None, :]
    s = ensemble_var_ratio_scores(torch.cat([flat, sure], dim=1))
    assert s[0] < 0.25 < s[1]


def test_ensemble_without_fit_falls_back_to_the_view_model_entropy():
    s = get_strategy("ensemble_var_ratio", k=3)
    view = synthetic_view(s.required(), n_pool=40, n_labeled=5)
    sel = s.query(view, 6, _gen())
    with torch.no_grad():
        probs = view.model(view.inputs).softmax(-1)
    assert torch.equal(sel.indices, view.unlabeled[entropy(probs).argsort(descending=True, stable=True)[:6]])
    # one "member": var-ratio 0, the score is the entropy tie-break normalised by log K, scaled by 1/2
    assert torch.allclose(sel.scores, entropy(probs).sort(descending=True).values[:6] / math.log(4) / 2)


def test_ensemble_hook_trains_distinct_members_and_keeps_member_0(digits):
    s = get_strategy("ensemble_var_ratio", k=3)
    learner = Learner("mlp", digits.input_shape, digits.num_classes, TINY, "cpu")
    x, y = digits.x_train[:30], digits.y_train[:30]
    rest = torch.arange(30, len(digits.x_train))
    hook = s.training_hook()
    hook.fit(learner, x, y, x_unlabeled=digits.x_train[rest], unlabeled_indices=rest, seed=11)
    members = s._members
    assert len(members) == 3 and members[0] is learner.model
    first = [next(m.parameters()) for m in members]
    assert not torch.equal(first[0], first[1]) and not torch.equal(first[1], first[2])
    assert len(set(hook.round_extras()["ensemble_seeds"])) == 3
    plain = Learner("mlp", digits.input_shape, digits.num_classes, TINY, "cpu")
    plain.fit(x, y, seed=11)  # member 0 is exactly what a plain strategy trains
    assert all(torch.equal(p, q) for p, q in zip(plain.model.parameters(), learner.model.parameters(), strict=True))
    view = PoolView.from_tensors(rest, torch.arange(30), num_classes=10, inputs=digits.x_train[rest],
                                 model=learner.model)
    scores = s.score(view)
    assert bool((scores >= 1 / 3).any())  # the members disagree somewhere


def test_ensemble_two_round_run_is_seeded(digits):
    a = ALRun(cfg("ensemble_var_ratio", strategy_params={"k": 3}), dataset=digits)
    b = ALRun(cfg("ensemble_var_ratio", strategy_params={"k": 3}), dataset=digits)
    a.run()
    b.run()
    assert [h.n_labeled for h in a.history] == [20, 30, 40]
    assert [h.selected for h in a.history] == [h.selected for h in b.history]
    assert [h.accuracy for h in a.history] == [h.accuracy for h in b.history]
    assert [h.scores for h in a.history] == [h.scores for h in b.history]
    assert all(h.extras["ensemble_k"] == 3 for h in a.history)
    assert max(h.scores[0] for h in a.history[1:]) >= 1 / 3  # real disagreement drove the picks


def test_ceal_holdout_with_a_tiny_labeled_set_never_validates_on_pseudo_labels(train_sets):
    view = PoolView.from_tensors(torch.tensor([3, 5]), torch.tensor([0, 1, 2]),
                                 probs=torch.tensor([[1 - 1e-7, 1e-7], [0.5, 0.5]]))
    s = get_strategy("ceal", delta0=1e-3, schedule="constant")
    assert s.query(view, 1, _gen()).indices.tolist() == [5]
    learner = Learner("mlp", (2,), 2, TrainConfig(epochs=2, validation="holdout"), "cpu")
    report = s.training_hook().fit(learner, torch.randn(4, 2), torch.tensor([0, 1, 0, 1]),
                                   x_unlabeled=torch.randn(1, 2), unlabeled_indices=torch.tensor([3]), seed=0)
    ((x_in, _, _), (x, _, _)) = train_sets[0]
    # 4 labeled items are too few to hold any out (Learner.fit's rule), so nothing validates
    assert len(x_in) == 4 and len(x) == 5 and report.val_accuracy == [] and report.best_epoch is None
