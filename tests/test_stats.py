"""alkit.experiments.stats: paired t-tests, the penalty matrix, intervals, labels saved, ranking, verdicts.

Tiny made-up curves whose statistics can be worked out by hand: with 3 seeds (2 degrees of freedom) the
two-sided p value of the t statistic has the closed form ``p = 1 - t / sqrt(t**2 + 2)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from alkit.experiments import stats
from alkit.metrics import aubc, bootstrap_ci, labels_to_reach

B = [10, 20, 30, 40, 50]  # budgets of rounds 0..4


def p_df2(t: float) -> float:
    """Two-sided p value of a t statistic with 2 degrees of freedom, by the closed form."""
    return 1.0 - abs(t) / math.sqrt(t * t + 2.0)


def curves_from(acc_by_strategy: dict[str, dict[int, list[float]]], budgets=B):
    return {st: {s: (budgets[: len(a)], a) for s, a in runs.items()} for st, runs in acc_by_strategy.items()}


# ----------------------------------------------------------------------------- paired t-test


def test_paired_t_by_hand_and_scipy():
    a, b = [0.7, 0.8, 0.9], [0.6, 0.6, 0.6]  # d = 0.1, 0.2, 0.3: mean 0.2, sd 0.1
    r = stats.paired_t_test(a, b)
    assert r.mean_diff == pytest.approx(0.2)
    assert r.t == pytest.approx(0.2 / (0.1 / math.sqrt(3)))  # = 2 sqrt(3)
    assert r.t == pytest.approx(2 * math.sqrt(3))
    assert r.p == pytest.approx(p_df2(2 * math.sqrt(3)))  # 0.0742: not significant at 0.05
    assert r.p == pytest.approx(0.07417990022744853)
    ref = sps.ttest_rel(a, b)
    assert r.t == pytest.approx(ref.statistic) and r.p == pytest.approx(ref.pvalue)
    swapped = stats.paired_t_test(b, a)
    assert swapped.t == pytest.approx(-r.t) and swapped.p == pytest.approx(r.p) and swapped.mean_diff < 0


def test_paired_t_matches_scipy_on_random_pairs():
    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 10):
        for _ in range(20):
            a, b = rng.normal(size=n), rng.normal(size=n)
            r, ref = stats.paired_t_test(a, b), sps.ttest_rel(a, b)
            assert r.t == pytest.approx(ref.statistic, rel=1e-9) and r.p == pytest.approx(ref.pvalue, rel=1e-9)


def test_paired_t_degenerate_cases():
    # all differences zero: no evidence of a difference
    assert tuple(stats.paired_t_test([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])) == (0.0, 1.0, 0.0)
    # all differences equal and non-zero: the same gain at every seed
    up = stats.paired_t_test([0.6, 0.7, 0.8], [0.5, 0.6, 0.7])
    assert up.t == math.inf and up.p == 0.0 and up.mean_diff == pytest.approx(0.1)
    down = stats.paired_t_test([0.5, 0.6, 0.7], [0.6, 0.7, 0.8])
    assert down.t == -math.inf and down.p == 0.0
    # equal up to floating-point rounding (0.3 - 0.1 != 0.5 - 0.3 in binary) is still "all equal"
    assert stats.paired_t_test([0.3, 0.5, 0.7], [0.1, 0.3, 0.5]).p == 0.0
    # one pair: no test
    one = stats.paired_t_test([0.7], [0.5])
    assert math.isnan(one.t) and math.isnan(one.p) and one.mean_diff == pytest.approx(0.2)


def test_paired_t_bad_input():
    with pytest.raises(ValueError, match="same length"):
        stats.paired_t_test([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least one pair"):
        stats.paired_t_test([], [])
    with pytest.raises(ValueError, match="finite"):
        stats.paired_t_test([1.0, float("nan")], [1.0, 2.0])
    with pytest.raises(ValueError, match="1-D"):
        stats.paired_t_test([[1.0, 2.0]], [[1.0, 2.0]])


# ----------------------------------------------------------------------------- penalty matrix

# a beats b at rounds 1 and 2 (differences 0.10, 0.11, 0.12 over the seeds: t = 19.05, p = 0.0027);
# rounds 3 and 4 are identical; round 0 differs by a constant, which would be p = 0 if it were counted.
A_ACC = {0: [0.50, 0.70, 0.80, 0.85, 0.90], 1: [0.52, 0.71, 0.81, 0.86, 0.91], 2: [0.54, 0.72, 0.82, 0.87, 0.92]}
B_ACC = {0: [0.40, 0.60, 0.70, 0.85, 0.90], 1: [0.42, 0.60, 0.70, 0.86, 0.91], 2: [0.44, 0.60, 0.70, 0.87, 0.92]}


def test_penalty_matrix_by_hand():
    d = [0.10, 0.11, 0.12]
    t = np.mean(d) / (np.std(d, ddof=1) / math.sqrt(3))
    assert p_df2(t) < 0.05
    pm = stats.penalty_matrix(curves_from({"a": A_ACC, "b": B_ACC}))
    assert pm.strategies == ["a", "b"]
    assert pm.n_rounds == 4 and pm.rounds == [1, 2, 3, 4]  # round 0 left out
    np.testing.assert_allclose(pm.matrix, [[0.0, 0.5], [0.0, 0.0]])  # 2 of 4 rounds -> 0.5
    np.testing.assert_array_equal(pm.wins, [[0, 2], [0, 0]])
    assert pm.seeds == [0, 1, 2]
    np.testing.assert_array_equal(pm.n_seeds, [[3, 3], [3, 3]])
    wtl = stats.round_win_tie_loss(pm)
    assert wtl["a"]["b"] == {"win": 2, "tie": 2, "loss": 0}
    assert wtl["b"]["a"] == {"win": 0, "tie": 2, "loss": 2}


def test_penalty_matrix_both_directions_and_rounds_subset():
    b = {s: list(v) for s, v in B_ACC.items()}
    for s, bump in zip((0, 1, 2), (0.05, 0.06, 0.07), strict=True):
        b[s][4] += bump  # b significantly better at round 4
    pm = stats.penalty_matrix(curves_from({"a": A_ACC, "b": b}))
    np.testing.assert_allclose(pm.matrix, [[0.0, 0.5], [0.25, 0.0]])
    assert (pm.matrix + pm.matrix.T <= 1.0 + 1e-12).all()
    sub = stats.penalty_matrix(curves_from({"a": A_ACC, "b": b}), rounds=[1, 3, 4])
    assert sub.n_rounds == 3
    np.testing.assert_allclose(sub.matrix, [[0.0, 1 / 3], [1 / 3, 0.0]])


def test_penalty_matrix_alpha():
    # differences 0.1, 0.2, 0.3 at every round: p = 0.0742, significant at 0.1, not at 0.05
    a = {s: [0.5, 0.6 + 0.1 * (s + 1), 0.6 + 0.1 * (s + 1)] for s in range(3)}
    b = {s: [0.5, 0.6, 0.6] for s in range(3)}
    c = curves_from({"a": a, "b": b})
    np.testing.assert_allclose(stats.penalty_matrix(c, alpha=0.05).matrix, [[0, 0], [0, 0]])
    np.testing.assert_allclose(stats.penalty_matrix(c, alpha=0.1).matrix, [[0, 1], [0, 0]])


def test_penalty_matrix_equals_brute_force():
    rng = np.random.default_rng(7)
    names = ["random", "entropy", "margin", "badge"]
    acc = {st: {s: list(0.5 + np.cumsum(rng.normal(0.03 + 0.01 * k, 0.01, 6))) for s in range(5)}
           for k, st in enumerate(names)}
    curves = curves_from(acc, budgets=[10, 20, 30, 40, 50, 60])
    pm = stats.penalty_matrix(curves)
    expect = np.zeros((4, 4))
    for i, si in enumerate(names):
        for j, sj in enumerate(names):
            if i == j:
                continue
            for r in range(1, 6):
                res = sps.ttest_rel([acc[si][s][r] for s in range(5)], [acc[sj][s][r] for s in range(5)])
                if res.pvalue < 0.05 and res.statistic > 0:
                    expect[i, j] += 1 / 5
    np.testing.assert_allclose(pm.matrix, expect)
    assert pm.matrix.sum() > 0  # the made-up gains are large enough for some significant rounds


def test_penalty_matrix_unequal_lengths_cut_to_common_rounds():
    b = dict(B_ACC)
    b[1] = B_ACC[1][:3]  # a running cell: rounds 0..2 only
    pm = stats.penalty_matrix(curves_from({"a": A_ACC, "b": b}))
    assert pm.n_rounds == 2 and pm.rounds == [1, 2]
    np.testing.assert_allclose(pm.matrix, [[0.0, 1.0], [0.0, 0.0]])
    al = stats.align_curves(curves_from({"a": A_ACC, "b": b}))
    assert al.short_cells == [{"strategy": "b", "seed": 1, "n_points": 3}]
    np.testing.assert_array_equal(al.budgets, [10, 20, 30])
    dropped = stats.align_curves(curves_from({"a": A_ACC, "b": b}), short="drop")
    assert dropped.seeds("b") == [0, 2] and dropped.n_rounds == 4


def test_penalty_matrix_pairs_by_seed_number():
    a = dict(A_ACC)
    b = dict(B_ACC)
    a[7] = [0.5, 0.0, 0.0, 0.85, 0.90]  # an outlier only a has: ignored
    b[9] = [0.5, 1.0, 1.0, 0.85, 0.90]  # an outlier only b has: ignored
    pm = stats.penalty_matrix(curves_from({"a": a, "b": b}))
    np.testing.assert_allclose(pm.matrix, [[0.0, 0.5], [0.0, 0.0]])
    assert pm.seeds == [0, 1, 2]
    np.testing.assert_array_equal(pm.n_seeds, [[4, 3], [3, 4]])
    # pairing is by seed number, not by position: renumbering b's seeds changes the pairs
    shuffled = {2: B_ACC[0], 0: B_ACC[1], 1: B_ACC[2]}
    r = stats.paired_t_test([A_ACC[s][1] for s in (0, 1, 2)], [shuffled[s][1] for s in (0, 1, 2)])
    pm2 = stats.penalty_matrix(curves_from({"a": A_ACC, "b": shuffled}))
    assert (pm2.wins[0, 1] > 0) == (r.p < 0.05 and r.mean_diff > 0)


def test_penalty_matrix_ties_and_too_few_seeds():
    same = curves_from({"a": A_ACC, "b": A_ACC, "c": {0: A_ACC[0]}})
    pm = stats.penalty_matrix(same)
    np.testing.assert_array_equal(pm.matrix, np.zeros((3, 3)))  # identical: p = 1; one seed: no test
    assert stats.round_win_tie_loss(pm)["a"]["c"] == {"win": 0, "tie": 4, "loss": 0}


def test_penalty_matrix_bad_input():
    c = curves_from({"a": A_ACC, "b": B_ACC})
    with pytest.raises(ValueError, match="round 0"):
        stats.penalty_matrix(c, rounds=[0, 1])
    with pytest.raises(ValueError, match="outside the common rounds 1..4"):
        stats.penalty_matrix(c, rounds=[5])
    with pytest.raises(ValueError, match="duplicates"):
        stats.penalty_matrix(c, rounds=[1, 1])
    with pytest.raises(ValueError, match="alpha"):
        stats.penalty_matrix(c, alpha=1.5)
    with pytest.raises(ValueError, match="only round 0"):
        stats.penalty_matrix(curves_from({"a": {0: [0.5]}, "b": {0: [0.5]}}))
    with pytest.raises(ValueError, match="same budgets"):
        stats.penalty_matrix({"a": {0: ([10, 20], [0.5, 0.6])}, "b": {0: ([10, 30], [0.5, 0.6])}})
    with pytest.raises(ValueError, match="seeds must be integers"):
        stats.penalty_matrix({"a": {0.5: ([10, 20], [0.5, 0.6])}})
    with pytest.raises(ValueError, match="strictly increasing"):
        stats.penalty_matrix({"a": {0: ([20, 10], [0.5, 0.6])}})
    with pytest.raises(ValueError, match="pair"):
        stats.penalty_matrix({"a": {0: [0.5, 0.6, 0.7]}})
    with pytest.raises(ValueError, match="differ in length"):
        stats.penalty_matrix({"a": {0: ([10, 20, 30], [0.5, 0.6])}})
    with pytest.raises(ValueError, match="non-empty mapping"):
        stats.penalty_matrix({})
    with pytest.raises(ValueError, match="mapping"):
        stats.penalty_matrix({"a": [([10, 20], [0.5, 0.6])]})
    with pytest.raises(ValueError, match="short"):
        stats.align_curves(c, short="pad")


def test_sum_penalty_matrices_by_hand():
    p1 = stats.penalty_matrix(curves_from({"a": A_ACC, "b": B_ACC}))  # a beats b 0.5
    p2 = stats.penalty_matrix(curves_from({"b": A_ACC, "c": B_ACC}))  # b beats c 0.5
    p3 = stats.penalty_matrix(curves_from({"a": A_ACC, "c": B_ACC, "b": B_ACC}))  # a beats c and b 0.5
    s = stats.sum_penalty_matrices({"d1": p1, "d2": p2, "d3": p3})
    assert s.strategies == ["a", "b", "c"]
    np.testing.assert_allclose(s.matrix, [[0, 1.0, 0.5], [0, 0, 0.5], [0, 0, 0]])
    np.testing.assert_array_equal(s.n_datasets, [[0, 2, 1], [2, 0, 2], [1, 2, 0]])
    with pytest.raises(ValueError, match="at least one"):
        stats.sum_penalty_matrices([])
    with pytest.raises(ValueError, match="PenaltyMatrix"):
        stats.sum_penalty_matrices([np.zeros((2, 2))])


# ----------------------------------------------------------------------------- intervals


def test_mean_ci_deterministic_and_contains_the_mean():
    x = [0.61, 0.64, 0.60, 0.66, 0.63]
    m1, m2 = stats.mean_ci(x, seed=5), stats.mean_ci(x, seed=5)
    assert m1 == m2
    assert m1.ci_low <= m1.mean <= m1.ci_high and m1.n == 5
    assert (m1.ci_low, m1.ci_high) == bootstrap_ci(x, n_boot=10000, alpha=0.05, seed=5)
    assert m1.std == pytest.approx(np.std(x, ddof=1))
    y = [0.613, 0.648, 0.601, 0.667, 0.632, 0.655, 0.609, 0.621]
    assert stats.mean_ci(y, n_boot=200, seed=6) != stats.mean_ci(y, n_boot=200, seed=5)  # other resamples
    one = stats.mean_ci([0.7])
    assert (one.mean, one.ci_low, one.ci_high, one.std) == (0.7, 0.7, 0.7, 0.0)
    with pytest.raises(ValueError, match="n_boot"):
        stats.mean_ci(x, n_boot=0)
    with pytest.raises(ValueError, match="at least one"):
        stats.mean_ci([])


def test_aubc_intervals_and_difference_by_hand():
    # straight lines: AUBC = (a_0 + a_R) / 2
    base = {0: [0.5, 0.6, 0.7], 1: [0.5, 0.62, 0.74], 2: [0.5, 0.58, 0.66]}
    better = {0: [0.5, 0.65, 0.8], 1: [0.5, 0.67, 0.84], 2: [0.5, 0.6, 0.7]}
    c = curves_from({"random": base, "x": better})
    au = stats.aubc_intervals(c, n_boot=2000)
    assert au["random"].mean == pytest.approx(np.mean([0.6, 0.62, 0.58]))
    assert au["x"].mean == pytest.approx(np.mean([0.65, 0.67, 0.6]))
    assert stats.per_seed_aubc(c, "x") == pytest.approx({0: 0.65, 1: 0.67, 2: 0.6})
    d = stats.aubc_difference(c, "x", "random", n_boot=2000)
    diffs = [0.05, 0.05, 0.02]
    assert d.diff == pytest.approx(np.mean(diffs)) and d.n == 3
    assert d.t == pytest.approx(np.mean(diffs) / (np.std(diffs, ddof=1) / math.sqrt(3)))
    assert d.ci_low <= d.diff <= d.ci_high
    assert (d.ci_low, d.ci_high) == pytest.approx(bootstrap_ci(np.array([0.65, 0.67, 0.6]) - [0.6, 0.62, 0.58],
                                                               n_boot=2000))
    fa = stats.final_accuracy_intervals(c, n_boot=2000)
    assert fa["x"].mean == pytest.approx(np.mean([0.8, 0.84, 0.7]))
    with pytest.raises(ValueError, match="unknown strategy"):
        stats.aubc_difference(c, "nope", "random")
    with pytest.raises(ValueError, match="share no seed"):
        stats.aubc_difference(curves_from({"random": {0: base[0]}, "x": {1: better[1]}}), "x", "random")


# ----------------------------------------------------------------------------- labels saved

LB = [100, 200, 300, 400]


def test_labels_saved_on_linear_curves():
    base = {s: [0.5, 0.6, 0.7, 0.8] for s in range(3)}
    fast = {s: [0.5, 0.7, 0.8, 0.9] for s in range(3)}
    c = curves_from({"random": base, "fast": fast}, budgets=LB)
    r = stats.labels_saved_ci(c, "fast", "random", n_boot=500)
    # default target: random's mean final accuracy 0.8; random needs 400, fast 300
    assert r.target == pytest.approx(0.8)
    assert r.n_baseline == pytest.approx(400) and r.n_strategy == pytest.approx(300)
    assert r.saved == pytest.approx(100) and r.reached_share == 1.0
    assert r.ci_low == pytest.approx(100) and r.ci_high == pytest.approx(100)  # seeds identical: no spread
    t = stats.labels_saved_ci(c, "fast", "random", target=0.65, n_boot=500)
    # random: 200 + 0.5 * 100 = 250; fast: 100 + 0.75 * 100 = 175
    assert (t.n_baseline, t.n_strategy, t.saved) == pytest.approx((250, 175, 75))
    # at round 0 already: both need n_0
    assert stats.labels_saved_ci(c, "fast", "random", target=0.5, n_boot=10).saved == pytest.approx(0)


def test_labels_saved_not_reached_is_none():
    base = {s: [0.5, 0.6, 0.7, 0.8] for s in range(3)}
    slow = {s: [0.5, 0.55, 0.6, 0.7] for s in range(3)}
    c = curves_from({"random": base, "slow": slow}, budgets=LB)
    r = stats.labels_saved_ci(c, "slow", "random", n_boot=200)
    assert r.n_strategy is None and r.saved is None and r.n_baseline == pytest.approx(400)
    assert r.ci_low is None and r.ci_high is None and r.reached_share == 0.0
    high = stats.labels_saved_ci(c, "slow", "random", target=0.95, n_boot=200)
    assert high.n_baseline is None and high.n_strategy is None and high.saved is None


def test_labels_saved_interval_with_spread():
    rng = np.random.default_rng(1)
    base = {s: list(np.array([0.5, 0.6, 0.7, 0.8]) + rng.normal(0, 0.01)) for s in range(6)}
    fast = {s: list(np.array([0.5, 0.7, 0.8, 0.9]) + rng.normal(0, 0.01)) for s in range(6)}
    c = curves_from({"random": base, "fast": fast}, budgets=LB)
    r1 = stats.labels_saved_ci(c, "fast", "random", n_boot=1000, seed=3)
    r2 = stats.labels_saved_ci(c, "fast", "random", n_boot=1000, seed=3)
    assert r1 == r2
    assert r1.ci_low <= r1.saved <= r1.ci_high and r1.ci_low < r1.ci_high
    assert 50 < r1.saved < 150


def test_first_crossing_equals_labels_to_reach():
    rng = np.random.default_rng(0)
    n = np.array([10.0, 20, 35, 50, 80])
    curves = rng.uniform(0.4, 0.9, size=(200, 5))
    target = rng.uniform(0.3, 1.0, size=200)
    got = stats._first_crossing(n, curves, target)
    want = np.array([labels_to_reach(n, c, t) for c, t in zip(curves, target, strict=True)])
    np.testing.assert_allclose(got, want, equal_nan=True)
    assert np.isnan(got).any() and np.isfinite(got).any()


# ----------------------------------------------------------------------------- ranking and verdicts


def test_competition_ranks():
    assert stats.competition_ranks({"a": 3, "b": 1, "c": 1, "d": 0}) == {"a": 1, "b": 2, "c": 2, "d": 4}
    assert stats.competition_ranks({"a": 0, "b": 0}) == {"a": 1, "b": 1}
    with pytest.raises(ValueError, match="NaN"):
        stats.competition_ranks({"a": float("nan")})


def _offsets(base: list[float], gain: float, noise: list[float]) -> dict[int, list[float]]:
    return {s: [base[0]] + [v + gain + e for v in base[1:]] for s, e in enumerate(noise)}


BASE = [0.5, 0.6, 0.7, 0.8]
NOISE = [0.0, 0.01, -0.005]


def test_ranking_admits_ties():
    c = curves_from({
        "top": _offsets(BASE, 0.10, NOISE),
        "mid1": _offsets(BASE, 0.0, NOISE),
        "mid2": _offsets(BASE, 0.0, NOISE),  # identical to mid1: p = 1
        "low": _offsets(BASE, -0.10, NOISE[::-1]),
    }, budgets=LB)
    rows = stats.aubc_ranking(c)
    got = {r.strategy: (r.rank, r.score, r.wins, r.losses) for r in rows}
    assert got == {"top": (1, 3, 3, 0), "mid1": (2, 0, 1, 1), "mid2": (2, 0, 1, 1), "low": (4, -3, 0, 3)}
    assert [r.strategy for r in rows] == ["top", "mid1", "mid2", "low"]


def test_verdicts():
    c = curves_from({
        "random": _offsets(BASE, 0.0, NOISE),
        "good": _offsets(BASE, 0.05, [0.0, 0.012, -0.004]),
        "bad": _offsets(BASE, -0.05, [0.0, 0.008, -0.006]),
        "same": _offsets(BASE, 0.0, [0.01, 0.0, -0.005]),  # gains +0.01, -0.01, 0: mean 0
    }, budgets=LB)
    v = stats.verdicts(c, "random", n_boot=500)
    assert set(v) == {"good", "bad", "same"}
    assert v["good"].verdict == "better" and v["good"].p < 0.05 and v["good"].diff > 0
    assert v["bad"].verdict == "worse" and v["bad"].p < 0.05 and v["bad"].diff < 0
    assert v["same"].verdict == "no different" and v["same"].p > 0.05
    d = stats.aubc_difference(c, "good", "random", n_boot=500)
    assert (v["good"].diff, v["good"].p, v["good"].ci_low, v["good"].n) == (d.diff, d.p, d.ci_low, 3)
    # a single common seed: no test, so no difference is shown
    one = stats.verdict(curves_from({"random": {0: BASE}, "good": {0: [0.5, 0.9, 0.9, 0.9]}}, budgets=LB),
                        "good", n_boot=10)
    assert one.verdict == "no different" and math.isnan(one.p) and one.n == 1
    with pytest.raises(ValueError, match="unknown strategy 'nope'"):
        stats.verdicts(c, "nope")


def test_aubc_agrees_with_metrics():
    c = curves_from({"a": A_ACC})
    assert stats.per_seed_aubc(c, "a") == {s: aubc(B, a) for s, a in A_ACC.items()}
    with pytest.raises(ValueError, match="2 rounds"):
        stats.per_seed_aubc(curves_from({"a": {0: [0.5]}}), "a")
