"""alkit.theory: the 1-D toy, sample divergences, the bounds' reference numbers, and theory terms in the loop."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from alkit.data import load_dataset
from alkit.learner import TrainConfig
from alkit.loop import ALConfig, run_active_learning
from alkit.store import RunStore
from alkit.theory import bounds, divergence, toy
from alkit.theory.loop_terms import THEORY_KEYS

D = toy.data_distribution()


# ----------------------------------------------------------------------------- toy (§5.1)
@pytest.mark.parametrize("name, expected", [
    ("A", {"one_sided_q1": 0.2, "one_sided_q2": 0.2, "ks_q1": 1.0, "ks_q2": 0.4, "w1_q1": 13 / 60, "w1_q2": 1 / 12}),
    ("B", {"one_sided_q1": 0.8, "one_sided_q2": 0.8, "ks_q1": 0.8, "ks_q2": 0.8, "w1_q1": 0.20, "w1_q2": 0.15}),
])
def test_toy_instances_reference_table(name, expected):
    inst = toy.INSTANCES[name]
    got = inst.closed_forms()
    assert got == pytest.approx(expected, abs=1e-12)
    for q, key in ((inst.q1, "q1"), (inst.q2, "q2")):
        # exact piecewise-linear evaluation
        assert toy.one_sided_divergence(D, q) == pytest.approx(expected[f"one_sided_{key}"], abs=1e-12)
        assert toy.ks_divergence(D, q) == pytest.approx(expected[f"ks_{key}"], abs=1e-12)
        assert toy.wasserstein1(D, q) == pytest.approx(expected[f"w1_{key}"], abs=1e-12)
        # brute force over thresholds, quadrature and scipy on quantile points
        bf = toy.threshold_search(q, n_grid=20_001)
        assert bf["one_sided"] == pytest.approx(expected[f"one_sided_{key}"], abs=1e-9)
        assert bf["ks"] == pytest.approx(expected[f"ks_{key}"], abs=1e-9)
        assert bf["min_error"] == pytest.approx((1 - expected[f"one_sided_{key}"] / 2) / 2, abs=1e-9)
        assert toy.w1_quadrature(q, n_grid=20_001) == pytest.approx(expected[f"w1_{key}"], abs=1e-6)
        assert toy.w1_scipy(q, n=20_000) == pytest.approx(expected[f"w1_{key}"], abs=1e-6)
    # the lesson of each instance
    assert got["one_sided_q1"] == pytest.approx(got["one_sided_q2"]) and got["w1_q2"] < got["w1_q1"]
    assert (got["ks_q1"] == pytest.approx(got["ks_q2"])) == (name == "B")


def test_toy_closed_forms_match_exact_over_the_family():
    rng = np.random.default_rng(0)
    for _ in range(200):
        w = rng.uniform(0.05, 0.6)
        a = rng.uniform(0, 1 - w)
        c = rng.uniform(a + w / 2, 1 - w / 2)
        q1, q2 = toy.query_one_interval(a, w), toy.query_two_intervals(a, w, c)
        assert toy.w1_q1_closed_form(a, w) == pytest.approx(toy.wasserstein1(D, q1), abs=1e-12)
        assert toy.w1_q2_closed_form(a, w, c) == pytest.approx(toy.wasserstein1(D, q2), abs=1e-12)
        assert toy.one_sided_divergence_q1_closed_form(a, w) == pytest.approx(toy.one_sided_divergence(D, q1), abs=1e-12)
        assert toy.one_sided_divergence_q2_closed_form(a, w, c) == pytest.approx(toy.one_sided_divergence(D, q2),
                                                                                  abs=1e-12)
        assert toy.ks_divergence_q1_closed_form(a, w) == pytest.approx(toy.ks_divergence(D, q1), abs=1e-12)
        assert toy.ks_divergence_q2_closed_form(a, w, c) == pytest.approx(toy.ks_divergence(D, q2), abs=1e-12)
        # one-sided divergence is the same for both queries until c passes a + 1/2
        if c <= a + 0.5:
            assert toy.one_sided_divergence(D, q2) == pytest.approx(2 * a, abs=1e-12)


def test_uniform_union_basics():
    q = toy.INSTANCES["A"].q2
    assert q.length == pytest.approx(0.4) and q.support == (0.1, 0.8)
    u = np.linspace(0, 1, 101)
    assert np.allclose(q.cdf(q.quantile(u)), u)
    assert q.pdf(0.2) == pytest.approx(2.5) and q.pdf(0.45) == 0.0
    x = q.sample(1000, np.random.default_rng(0))
    assert x.shape == (1000,) and ((x >= 0.1) & (x <= 0.8)).all() and not ((x > 0.3) & (x < 0.6)).any()
    assert str(q) == "U([0.1, 0.3] u [0.6, 0.8])"
    assert toy.threshold_error(0.1, q) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="disjoint"):
        toy.UniformUnion(((0.0, 0.5), (0.4, 1.0)))
    with pytest.raises(ValueError, match="c"):
        toy.query_two_intervals(0.1, 0.4, 0.95)


def test_toy_sample_estimates_are_close():
    inst = toy.INSTANCES["B"]
    est = toy.sample_divergences(inst.q2, 20_000, np.random.default_rng(0))
    assert est["one_sided"] == pytest.approx(0.8, abs=0.03)
    assert est["ks"] == pytest.approx(0.8, abs=0.03)
    assert est["w1"] == pytest.approx(0.15, abs=0.01)


def test_shift_sweep_h_saturates_w1_grows():
    sweep = toy.shift_sweep(D, [0.0, 0.5, 1.0, 1.5, 2.0])
    assert np.allclose(sweep["ks"], [0, 1, 2, 2, 2])
    assert np.allclose(sweep["one_sided"], [0, 1, 2, 2, 2])
    assert np.allclose(sweep["w1"], [0, 0.5, 1.0, 1.5, 2.0])


# ----------------------------------------------------------------------------- sample divergences
def test_1d_sample_distances_match_scipy():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=300), rng.normal(0.4, 2.0, size=170)
    assert divergence.w1_1d(x, y) == pytest.approx(wasserstein_distance(x, y), rel=1e-10)
    assert divergence.w1_1d(torch.as_tensor(x), torch.as_tensor(y)) == pytest.approx(wasserstein_distance(x, y))
    from scipy.stats import ks_2samp

    assert divergence.ks_1d(x, y) == pytest.approx(ks_2samp(x, y).statistic)
    assert 0 <= divergence.one_sided_1d(x, y) <= divergence.ks_1d(x, y)
    with pytest.raises(ValueError, match="empty"):
        divergence.w1_1d([], y)


def test_exact_sliced_and_sinkhorn_w1():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(200, 3)), rng.normal(size=(200, 3)) + np.array([1.0, 0.0, 0.0])
    ot = divergence.exact_w1(x, y)
    assert sorted(ot.cols.tolist()) == list(range(200)) and ot.w1 == pytest.approx(ot.distances.mean())
    # 1-D: exact assignment equals the CDF formula
    assert divergence.exact_w1(x[:, :1], y[:, :1]).w1 == pytest.approx(divergence.w1_1d(x[:, 0], y[:, 0]))
    # a translation by 1 costs at least 1 (Jensen) and the plan is a permutation
    assert ot.w1 >= 1.0 - 1e-9
    sink = divergence.sinkhorn_w1(x, y, epsilon=0.005)
    assert ot.w1 - 1e-6 <= sink <= ot.w1 * 1.03
    sliced = divergence.sliced_w1(x, y, n_projections=64, generator=torch.Generator().manual_seed(0))
    assert 0 < sliced <= ot.w1
    v, m = divergence.w1_estimate(x, y[:150], generator=torch.Generator().manual_seed(0))
    assert m == "sinkhorn" and v > 0
    assert divergence.w1_estimate(x, y)[1] == "exact"
    with pytest.raises(ValueError, match="equal sizes"):
        divergence.exact_w1(x, y[:10])


def test_domain_classifier_divergence():
    rng = np.random.default_rng(3)
    same_a, same_b = rng.normal(size=(200, 5)), rng.normal(size=(300, 5))
    far_b = rng.normal(size=(300, 5)) + 4.0
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    near = divergence.domain_classifier_divergence(same_a, same_b, generator=g())
    far = divergence.domain_classifier_divergence(same_a, far_b, generator=g())
    assert near.divergence < 0.3 and far.divergence > 1.9
    assert far.balanced_error == pytest.approx(0.5 * (far.error_a + far.error_b))
    assert divergence.proxy_h_divergence(far.balanced_error) == pytest.approx(far.divergence)
    mlp = divergence.domain_classifier_divergence(same_a, far_b, hidden=16, generator=g())
    assert mlp.divergence > 1.9
    # seeded and without touching the global RNG
    state = torch.get_rng_state()
    again = divergence.domain_classifier_divergence(same_a, same_b, generator=g())
    assert again == near and torch.equal(state, torch.get_rng_state())


# ----------------------------------------------------------------------------- bounds (§5.4)
@pytest.fixture(scope="module")
def e2():
    return bounds.theorem1_experiment()


@pytest.fixture(scope="module")
def e3():
    return bounds.w1_rates()


@pytest.fixture(scope="module")
def e4():
    return bounds.ben_david_experiment()


def test_theorem1_reference_numbers(e2):
    _, q = e2
    w1 = {k: v.w1 for k, v in q.items()}
    assert w1 == pytest.approx({"narrow": 0.5578, "shifted": 1.2387, "diverse": 0.1352}, abs=5e-4)
    best = {k: v.hypotheses["fitted"].best_bound for k, v in q.items()}
    assert best == pytest.approx({"narrow": 1.397, "shifted": 1.977, "diverse": 0.344}, abs=1e-3)
    risk = {k: v.hypotheses["fitted"].risk_d for k, v in q.items()}
    assert risk == pytest.approx({"narrow": 0.078, "shifted": 0.130, "diverse": 0.073}, abs=1e-3)
    shrunk = q["diverse"].hypotheses["shrunk"]
    assert shrunk.H == pytest.approx(0.5) and shrunk.best_bound == pytest.approx(0.310, abs=1e-3)
    assert shrunk.risk_d == pytest.approx(0.224, abs=1e-3)
    assert q["narrow"].phi == pytest.approx([0.175, 0.175, 0.166, 0.121, 0.06, 0.024], abs=1e-3)
    for qb in q.values():  # the bound holds for every lambda and hypothesis
        for hb in qb.hypotheses.values():
            assert (hb.risk_d <= hb.bounds + 1e-12).all()
    # diversity makes the bound useful: the diverse query has the smallest W1 and the tightest bound
    assert min(best, key=best.get) == "diverse" and min(w1, key=w1.get) == "diverse"
    # phi is measured on the stored coupling
    nar = q["narrow"]
    assert np.allclose(bounds.jpl_phi(nar.label_jump, nar.distances, nar.lambdas), nar.phi)
    assert nar.distances.mean() == pytest.approx(nar.w1)


def test_theorem1_pieces():
    assert bounds.theorem1_bound(0.1, 1.0, 0.5, 0.2, 0.0) == pytest.approx(0.8)
    phi = bounds.jpl_phi(np.array([1.0, 0.0, 1.0]), np.array([0.5, 0.1, 2.0]), [0.0, 1.0, 3.0])
    assert phi.tolist() == pytest.approx([2 / 3, 1 / 3, 0.0])
    x = np.random.default_rng(0).normal(size=(400, 2))
    w, b = bounds.fit_logistic(x, (x[:, 0] > 0).astype(float))
    assert w[0] > 2 * abs(w[1]) and abs(b) < 0.5


def test_w1_rates_reference_table(e3):
    r = e3
    assert r[1]["w1"] == pytest.approx([0.164, 0.077, 0.033], abs=1.5e-3)
    assert r[2]["w1"] == pytest.approx([0.396, 0.225, 0.117], abs=1.5e-3)
    assert r[8]["w1"] == pytest.approx([2.06, 1.74, 1.46], abs=5e-3)
    assert [round(r[d]["slope"], 2) for d in (1, 2, 8)] == [-0.58, -0.44, -0.12]


def test_ben_david_reference_numbers(e4):
    bd = e4
    assert bd.d_hdh == pytest.approx(0.921, abs=1e-3) and bd.lambda_star == pytest.approx(0.2625, abs=1e-4)
    assert bd.err_source[bd.erm] == pytest.approx(0.055, abs=1e-4)
    assert bd.err_target[bd.erm] == pytest.approx(0.222, abs=1e-3)
    assert bd.bounds[bd.erm] == pytest.approx(0.778, abs=1e-3)
    assert len(bd.bounds) == 410 and (bd.slack >= 0).all() and bd.slack.min() == pytest.approx(0.327, abs=1e-3)


# ----------------------------------------------------------------------------- theory in the loop
@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _cfg(**kw):
    base = dict(dataset="digits", strategy="entropy", initial=20, query=10, rounds=1, seed=0, device="cpu",
                train=TrainConfig(epochs=5, batch_size=32, min_steps=30))
    base.update(kw)
    return ALConfig(**base)


def test_theory_terms_stored_per_round_and_runs_unchanged(digits, tmp_path):
    store = RunStore(tmp_path)
    with_terms = run_active_learning(_cfg(theory_terms=True), store=store, dataset=digits)
    plain = run_active_learning(_cfg(), dataset=digits)
    assert [h.selected for h in with_terms.history] == [h.selected for h in plain.history]
    assert [h.accuracy for h in with_terms.history] == [h.accuracy for h in plain.history]
    assert all("theory" not in h.extras for h in plain.history)
    rows = store.get_rounds(with_terms.run_id)
    assert [r["round"] for r in rows] == [0, 1]
    for row, h in zip(rows, with_terms.history):
        t = row["extras"]["theory"]
        assert set(THEORY_KEYS) <= set(t)
        assert t["test_error"] == pytest.approx(1 - h.accuracy, abs=1e-6)
        assert 0 <= t["labeled_risk"] <= 1 and 0 <= t["proxy_h_divergence"] <= 2
        assert t["w1_labeled_unlabeled"] > 0 and math.isfinite(t["w1_labeled_unlabeled"])
        assert t["n_labeled"] == h.n_labeled
    # the terms are themselves reproducible (seeded from run seed, round and phase)
    again = run_active_learning(_cfg(theory_terms=True), dataset=digits)
    assert [h.extras["theory"] for h in again.history] == [r["extras"]["theory"] for r in rows]
    assert ALConfig.from_dict(_cfg(theory_terms=True).to_dict()).theory_terms is True


def test_theory_figures_build(e2, e3, e4):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from alkit.viz import bound_figures as vt

    x_data, q = e2
    sweep = toy.shift_sweep(D, np.linspace(0, 2, 5))
    rng = np.random.default_rng(0)
    panel = {"xy_labeled": rng.normal(size=(10, 2)), "xy_unlabeled": rng.normal(size=(50, 2)),
             "z_labeled": rng.normal(size=10), "z_unlabeled": rng.normal(size=50)}
    per_round = [{"n_labeled": n, "test_error": 0.5 / k, "labeled_risk": 0.0, "proxy_h_divergence": 0.5,
                  "w1_labeled_unlabeled": 2.0 / k, "proxy_h_divergence_input": None,
                  "w1_labeled_unlabeled_input": 1.0 / k} for k, n in enumerate((20, 40, 60), start=1)]
    figs = [
        vt.toy_instance_figure(toy.INSTANCES["B"], "B", n_grid=201),
        vt.shift_figure(D, 0.5, sweep),
        vt.c_sweep_figure(0.1, 0.4, np.linspace(0.3, 0.8, 11)),
        vt.labeled_vs_unlabeled_figure({"random": panel, "entropy": panel}),
        vt.theorem1_figure(x_data, q),
        vt.theorem1_terms_figure(q, 1.0, "shrunk"),
        vt.w1_rates_figure(e3),
        vt.ben_david_figure(e4),
        vt.theory_terms_figure({"random": per_round, "entropy": per_round}),
        vt.terms_vs_error_figure({"random": per_round}),
    ]
    assert len(figs[0].axes) == 4 and len(figs[3].axes) == 6 and len(figs[8].axes) >= 5
    for fig in figs:
        vt.show(fig)  # outside IPython: only closes the figure
