"""Hand-checkable tests of the MC-dropout strategies and greedy BatchBALD (reference §4.6-4.8)."""

import itertools
import math

import pytest
import torch
from torch import nn

from alkit.data import load_dataset
from alkit.learner import Learner, TrainConfig
from alkit.loop import ALConfig, ALRun, build_view
from alkit.models import ALModel, ModelError
from alkit.strategies import PoolView, get_strategy
from alkit.strategies.bayesian import (
    _JointEntropy,
    bald_scores,
    batch_bald_select,
    mc_mean,
    mean_std_scores,
)
from alkit.strategies.scores import entropy_scores, least_conf_scores, margin_scores

LOG2 = math.log(2)


def mc(*passes):
    """(T, N, K) float64 from T nested lists of shape (N, K)."""
    return torch.tensor(passes, dtype=torch.float64)


def random_mc(t, n, k, seed=0, sharp=2.0):
    g = torch.Generator().manual_seed(seed)
    logits = sharp * torch.randn(n, k, generator=g, dtype=torch.float64)
    return (logits + torch.randn(t, n, k, generator=g, dtype=torch.float64)).softmax(-1)


def view_of(mc_probs, unlabeled=None):
    unl = torch.arange(mc_probs.shape[1]) if unlabeled is None else torch.as_tensor(unlabeled)
    return PoolView.from_tensors(unl, mc_probs=mc_probs)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- reference sanity
def test_bald_full_disagreement_is_log2():
    assert bald_scores(mc([[1.0, 0.0]], [[0.0, 1.0]])).item() == pytest.approx(LOG2, abs=1e-12)


def test_bald_is_zero_for_aleatoric_uncertainty():
    p = mc([[0.5, 0.5], [0.9, 0.1]], [[0.5, 0.5], [0.1, 0.9]])  # item 0: both passes unsure alike
    assert bald_scores(p)[0].item() == pytest.approx(0.0, abs=1e-12)
    assert bald_scores(p)[1].item() > 0.3  # item 1: the passes disagree
    view = view_of(p)
    assert get_strategy("entropy_mc").score(view)[0].item() == pytest.approx(LOG2, abs=1e-12)


def test_bald_is_non_negative_on_random_inputs():
    g = torch.Generator().manual_seed(0)
    e = -torch.log(torch.rand(7, 300, 5, generator=g, dtype=torch.float64)) ** 3  # peaked Dirichlet-like rows
    p = e / e.sum(-1, keepdim=True)
    assert bald_scores(p).min().item() >= -1e-9
    assert bald_scores(random_mc(10, 200, 4, seed=1)).min().item() >= -1e-9


def test_mean_std_reference_values():
    p = mc([[1.0, 0.0]], [[0.0, 1.0]])
    sigma = p.std(dim=0, correction=0)  # population std over passes
    assert sigma[0].tolist() == pytest.approx([0.5, 0.5])
    assert mean_std_scores(p).item() == pytest.approx(0.5)
    # sqrt(mean p^2 - mean(p)^2) by hand on 3 passes of class 0: 0.2, 0.4, 0.9
    q = mc([[0.2, 0.8]], [[0.4, 0.6]], [[0.9, 0.1]])
    m, m2 = (0.2 + 0.4 + 0.9) / 3, (0.04 + 0.16 + 0.81) / 3
    assert mean_std_scores(q).item() == pytest.approx(math.sqrt(m2 - m * m))


def test_identical_passes_give_zero_bald_and_mean_std():
    p = random_mc(1, 20, 3).expand(6, 20, 3)
    assert torch.allclose(bald_scores(p), torch.zeros(20, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(mean_std_scores(p), torch.zeros(20, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize(("mc_fn", "det_name"), [(entropy_scores, "entropy"), (margin_scores, "margin"),
                                                 (least_conf_scores, "least_conf")])
def test_mc_mean_of_identical_passes_equals_deterministic(mc_fn, det_name):
    probs = random_mc(1, 40, 4, seed=3)[0]
    det_view = PoolView.from_tensors(torch.arange(100, 140), probs=probs)
    assert torch.allclose(mc_fn(mc_mean(probs.expand(5, 40, 4))), get_strategy(det_name).score(det_view))


@pytest.mark.parametrize("name", ["entropy_mc", "margin_mc", "least_conf_mc", "bald", "mean_std", "batch_bald",
                                  "var_ratio"])
def test_mc_strategies_refuse_a_view_with_identical_passes(name):
    """The DeepAL+ bug: identical passes make BALD rank by rounding noise; every MC strategy refuses them."""
    probs = random_mc(1, 40, 4, seed=3)[0]
    params = {"mode": "mc", "mc_samples": 5} if name == "var_ratio" else {"mc_samples": 5}
    s = get_strategy(name, **params)
    for same in (probs.expand(5, 40, 4), probs.float().expand(5, 40, 4) + 1e-7 * (torch.arange(5) % 2)[:, None, None]):
        with pytest.raises(ValueError, match=r"\(5, 40, 4\): all 5 MC-dropout passes are identical"):
            s.query(view_of(same), 10)
    noisy = random_mc(5, 40, 4, seed=3)  # real disagreement between passes: accepted
    assert len(s.query(view_of(noisy), 10, torch.Generator().manual_seed(0)).indices) == 10


def test_identical_pass_guard_costs_one_host_sync():
    from alkit.strategies.scores import check_mc_passes_differ
    from alkit.testing import count_host_syncs

    p = random_mc(5, 40, 4, seed=3)
    with count_host_syncs() as n:
        assert check_mc_passes_differ(p) is p
    assert n.total == 1


def test_mc_mean_rows_sum_to_one():
    p = random_mc(10, 50, 6, seed=4)
    assert torch.allclose(mc_mean(p).sum(-1), torch.ones(50, dtype=torch.float64))
    assert torch.allclose(mc_mean(p), p.mean(0))


def test_bald_ranks_disagreement_over_aleatoric():
    p = mc([[0.5, 0.5], [1.0, 0.0], [0.9, 0.1]], [[0.5, 0.5], [0.0, 1.0], [0.9, 0.1]])
    assert get_strategy("bald").query(view_of(p, [7, 8, 9]), 1).indices.tolist() == [8]


@pytest.mark.parametrize("name", ["entropy_mc", "margin_mc", "least_conf_mc", "bald", "mean_std", "batch_bald"])
@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_mc_samples_must_be_a_positive_integer(name, bad):
    s = get_strategy(name, mc_samples=bad)
    with pytest.raises(ValueError, match="mc_samples must be a positive integer"):
        s.required()


def test_mc_defaults_follow_the_survey():
    for name in ["entropy_mc", "margin_mc", "least_conf_mc", "bald", "mean_std", "batch_bald"]:
        s = get_strategy(name)
        assert s.mc_samples == 10 and s.required() == {"mc_probs"}
    with pytest.raises(ValueError, match="num_samples"):
        get_strategy("batch_bald", num_samples=0).required()
    with pytest.raises(ValueError, match="max_exact_configs"):
        get_strategy("batch_bald", max_exact_configs=-1).required()


# ----------------------------------------------------------------------------- BatchBALD
def brute_joint_entropy(p, idx):
    """H(y_idx) in float64 by enumerating every label configuration; p is (T, N, K)."""
    t, _, k = p.shape
    h = 0.0
    for config in itertools.product(range(k), repeat=len(idx)):
        per_pass = torch.ones(t, dtype=torch.float64)
        for i, y in zip(idx, config):
            per_pass = per_pass * p[:, i, y]
        q = per_pass.mean().item()
        h -= q * math.log(q) if q > 0 else 0.0
    return h


def brute_mutual_information(p, idx):
    cond = sum(-(torch.special.xlogy(p[:, i], p[:, i]).sum(-1)).mean().item() for i in idx)
    return brute_joint_entropy(p, idx) - cond


def test_batch_bald_with_one_pick_is_the_bald_argmax():
    p = random_mc(10, 300, 5, seed=5)
    for seed in range(3):
        pos, gains = batch_bald_select(p, 1, generator=gen(seed))
        assert pos.item() == bald_scores(p).argmax().item()
        assert gains.item() == pytest.approx(bald_scores(p).max().item())
    view = view_of(p, torch.arange(1000, 1300))
    assert torch.equal(get_strategy("batch_bald").query(view, 1, gen()).indices,
                       get_strategy("bald").query(view, 1).indices)


def test_batch_bald_skips_duplicates_that_top_b_bald_takes():
    # T = 8 passes. A flips with the parity of t (BALD = log 2); rows 1 and 2 are exact copies of A.
    # B disagrees along an independent split (t < 4) and is softer (BALD = log 2 - H(0.9) = 0.368).
    # Once A is in the batch its label reveals the parity, so a copy of A adds nothing (gain 0),
    # while B still adds log 2 - H(0.9).
    t = torch.arange(8)
    a = torch.stack([(t % 2 == 0).double(), (t % 2 == 1).double()], -1)
    b_hi = torch.tensor([0.9] * 4 + [0.1] * 4, dtype=torch.float64)
    b = torch.stack([b_hi, 1 - b_hi], -1)
    filler = torch.tensor([0.7, 0.3], dtype=torch.float64).expand(8, 2)
    p = torch.stack([a, a, a, filler, b, filler], dim=1)  # (8, 6, 2)
    h09 = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert bald_scores(p).tolist() == pytest.approx([LOG2, LOG2, LOG2, 0.0, LOG2 - h09, 0.0], abs=1e-12)
    view = view_of(p, [10, 11, 12, 13, 14, 15])
    assert get_strategy("bald").query(view, 2).indices.tolist() == [10, 11]  # two copies of A
    sel = get_strategy("batch_bald").query(view, 2, gen())
    assert sel.indices.tolist() == [10, 14]
    assert sel.scores.tolist() == pytest.approx([LOG2, LOG2 - h09], abs=1e-9)
    assert brute_mutual_information(p, [0, 1]) == pytest.approx(LOG2, abs=1e-12)  # two copies: still log 2


def test_batch_bald_matches_brute_force_greedy_in_exact_mode():
    p = random_mc(6, 10, 2, seed=6, sharp=1.0)
    chosen = []
    for _ in range(4):
        rest = [i for i in range(10) if i not in chosen]
        values = [brute_mutual_information(p, chosen + [i]) for i in rest]
        chosen.append(rest[max(range(len(rest)), key=values.__getitem__)])
    pos, gains = batch_bald_select(p, 4, generator=gen())  # 2^3 = 8 configurations: exact
    assert pos.tolist() == chosen
    assert gains.cumsum(0)[-1].item() == pytest.approx(brute_mutual_information(p, chosen), abs=1e-9)
    assert gains.cumsum(0)[-1].item() <= bald_scores(p)[pos].sum().item() + 1e-12  # MI is subadditive


def test_sampled_joint_entropy_agrees_with_exact():
    p = random_mc(8, 3, 3, seed=7, sharp=1.0)
    ref = brute_joint_entropy(p, [0, 1, 2]) - brute_joint_entropy(p, [0, 1])  # H(y_2 | y_0, y_1)
    kw = dict(dtype=torch.float64, device=torch.device("cpu"))
    exact = _JointEntropy(8, 3, num_samples=1, max_exact_configs=10**6, generator=gen(), **kw)
    sampled = _JointEntropy(8, 3, num_samples=20000, max_exact_configs=0, generator=gen(1), **kw)
    for j in (exact, sampled):
        j.add(p[:, 0])
        j.add(p[:, 1])
    assert exact.exact and not sampled.exact
    assert exact.conditional_entropy(p[:, 2:]).item() == pytest.approx(ref, abs=1e-12)
    assert sampled.conditional_entropy(p[:, 2:]).item() == pytest.approx(ref, abs=0.02)


def test_batch_bald_sampled_mode_is_seeded_and_close_to_exact():
    p = random_mc(10, 120, 4, seed=8)

    def run(seed, cap):
        return batch_bald_select(p, 6, num_samples=4000, generator=gen(seed), max_exact_configs=cap)

    a, b = run(3, 0), run(3, 0)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    exact = run(0, 10**6)  # 4^5 = 1024 configurations at most
    assert a[1].sum().item() == pytest.approx(exact[1].sum().item(), abs=0.05)
    assert torch.isfinite(a[1]).all()


@pytest.mark.parametrize("cap", [10**6, 9])  # exact throughout / sampled from the third pick on
def test_lazy_greedy_equals_full_greedy(cap):
    """The lazy evaluation (submodular bounds) picks what evaluating every candidate each step picks."""
    p = random_mc(8, 150, 3, seed=9)
    pos, gains = batch_bald_select(p, 8, num_samples=500, generator=gen(2), max_exact_configs=cap)
    cond = torch.special.entr(p).sum(-1).mean(0)
    joint = _JointEntropy(8, 3, num_samples=500, max_exact_configs=cap, generator=gen(2),
                          dtype=torch.float64, device=torch.device("cpu"))
    taken = []
    for step in range(8):
        g = joint.conditional_entropy(p) - cond
        g[taken] = -math.inf
        best = int(g.argmax())
        assert best == pos[step].item()
        assert g[best].item() == pytest.approx(gains[step].item(), abs=1e-9)
        taken.append(best)
        joint.add(p[:, best])
    assert joint.exact == (cap > 9)


def test_batch_bald_float32_degenerate_inputs_stay_finite():
    one_hot = torch.nn.functional.one_hot(torch.arange(30) % 3, 3).float().expand(10, 30, 3)
    pos, gains = batch_bald_select(one_hot, 12, num_samples=50, generator=gen(), max_exact_configs=9)
    assert len(set(pos.tolist())) == 12 and torch.isfinite(gains).all()
    assert gains.abs().max().item() < 1e-5  # identical passes: no information about the weights


# ----------------------------------------------------------------------------- with the real learner
def test_bald_query_end_to_end_with_the_mlp_learner():
    ds = load_dataset("blobs", n_samples=150, n_test=30)
    lr = Learner("mlp", ds.input_shape, ds.num_classes, TrainConfig(epochs=3, batch_size=16), device="cpu")
    labeled = torch.arange(0, 150, 10)
    unlabeled = torch.tensor([i for i in range(150) if i % 10])
    lr.fit(ds.x_train[labeled], ds.y_train[labeled], seed=0)
    labels = torch.full((150,), -1, dtype=torch.long)
    labels[labeled] = ds.y_train[labeled]
    for name in ["bald", "batch_bald", "mean_std"]:
        s = get_strategy(name, mc_samples=6)
        view = build_view(s.required(), lr, ds, labeled, unlabeled, labels, mc_samples=s.mc_samples, seed=1)
        assert view.mc_probs.shape == (6, len(unlabeled), 3)
        assert not view.has("probs")
        sel = s.query(view, 5, gen())
        again = s.query(build_view(s.required(), lr, ds, labeled, unlabeled, labels, mc_samples=6, seed=1), 5, gen())
        assert torch.equal(sel.indices, again.indices)
        assert set(sel.indices.tolist()) <= set(unlabeled.tolist())
    direct = lr.mc_probs(ds.x_train[unlabeled], 6, seed=1)
    assert torch.equal(direct, view.mc_probs)


class NoDropout(ALModel):
    def __init__(self):
        super().__init__(nn.Sequential(nn.Linear(2, 8), nn.ReLU()), nn.Sequential(nn.Linear(8, 3)), (2,), 3)


def test_mc_strategy_on_a_model_without_dropout_is_a_clear_error():
    ds = load_dataset("blobs", n_samples=60, n_test=30)
    config = ALConfig(dataset="blobs", strategy="entropy_mc", model=NoDropout, initial=10, query=5, rounds=1,
                      train=TrainConfig(epochs=1, batch_size=16), device="cpu")
    run = ALRun(config, dataset=ds)
    run.step()  # round 0 trains; the first query needs MC dropout
    with pytest.raises(ModelError, match="no dropout"):
        run.step()


def test_joint_mutual_information_hand_checked():
    from alkit.strategies.bayesian import bald_scores, joint_mutual_information

    flip = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])  # (T=2, b=1, K=2): the two networks disagree fully
    assert torch.isclose(joint_mutual_information(flip), torch.tensor(math.log(2), dtype=torch.float64))
    copies = flip.repeat(1, 2, 1)  # the same item twice: a copy adds nothing
    assert torch.isclose(joint_mutual_information(copies), torch.tensor(math.log(2), dtype=torch.float64))
    indep = torch.tensor([[[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]],
                          [[0.0, 1.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]])  # 4 networks, 2 independent bits
    assert torch.isclose(joint_mutual_information(indep), torch.tensor(2 * math.log(2), dtype=torch.float64))
    g = torch.Generator().manual_seed(0)
    mc = torch.softmax(torch.randn(7, 5, 3, generator=g), -1)
    for i in range(5):  # b = 1 is BALD
        assert torch.isclose(joint_mutual_information(mc[:, i:i + 1]).float(), bald_scores(mc)[i], atol=1e-6)
    # joint MI never exceeds the sum of the single-item terms (sub-additivity for a shared w)
    assert joint_mutual_information(mc[:, :3]) <= bald_scores(mc)[:3].sum().double() + 1e-9
    with pytest.raises(ValueError, match="configurations"):
        joint_mutual_information(torch.full((2, 20, 3), 1 / 3), max_configs=1000)
