"""Tests of alkit.metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from alkit.metrics import (
    LabelsSaved,
    RunSummary,
    WinTieLoss,
    accuracy,
    aubc,
    bootstrap_ci,
    f_acc,
    labels_saved,
    labels_to_reach,
    per_class_accuracy,
    summarize_runs,
    win_tie_loss,
)

torch.set_num_threads(1)

# ----------------------------------------------------------------------------- accuracy


def test_accuracy_labels_scores_and_tensors():
    pred = [0, 1, 2, 2]
    target = [0, 1, 1, 2]
    assert accuracy(pred, target) == pytest.approx(0.75)
    assert accuracy(np.array(pred), torch.tensor(target)) == pytest.approx(0.75)
    logits = torch.tensor([[3.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.1, 0.0, 0.9]])
    assert accuracy(logits, target) == pytest.approx(0.75)
    assert isinstance(accuracy(pred, target), float)


def test_per_class_accuracy_nan_for_absent_class():
    pred = [0, 0, 1, 1, 1]
    target = [0, 1, 1, 1, 0]
    # class 0: targets at 0 and 4, predicted 0 and 1 -> 1/2; class 1: 2/3; class 2 absent -> nan
    out = per_class_accuracy(pred, target, 3)
    assert out[0] == pytest.approx(0.5)
    assert out[1] == pytest.approx(2 / 3)
    assert math.isnan(out[2])
    assert per_class_accuracy(torch.tensor(pred), torch.tensor(target), 2) == pytest.approx([0.5, 2 / 3])


@pytest.mark.parametrize(
    "pred, target, match",
    [
        ([0, 1], [0, 1, 1], "different lengths"),
        ([], [], "empty"),
        ([[[0]]], [0], "pred must be"),
        ([0, 1], [[0, 1]], "target must be 1-D"),
        ([0.5, 1.0], [0, 1], "integer class labels"),
    ],
)
def test_accuracy_bad_inputs(pred, target, match):
    with pytest.raises(ValueError, match=match):
        accuracy(pred, target)


def test_per_class_accuracy_bad_inputs():
    with pytest.raises(ValueError, match="outside 0..1"):
        per_class_accuracy([0, 2], [0, 1], 2)
    with pytest.raises(ValueError, match="num_classes"):
        per_class_accuracy([0], [0], 0)


# ----------------------------------------------------------------------------- AUBC

WAAL_N = list(range(1000, 6001, 500))
# Table of WAAL (Shui et al., 2020), FashionMNIST, accuracy in percent
WAAL_RANDOM = [58.03, 66.81, 71.21, 73.12, 75.80, 77.34, 78.68, 79.58, 80.02, 80.93, 81.30]
WAAL_WAAL = [72.29, 76.99, 79.85, 81.08, 82.04, 82.74, 83.25, 83.96, 84.45, 85.20, 85.99]


def test_aubc_constant_curve():
    assert aubc([10, 20, 50, 100], [0.7] * 4) == pytest.approx(0.7)


def test_aubc_linear_curve():
    n = np.array([100, 150, 300, 1000])
    a0, ar = 0.4, 0.9
    acc = a0 + (ar - a0) * (n - n[0]) / (n[-1] - n[0])  # a straight line in n
    assert aubc(n, acc) == pytest.approx((a0 + ar) / 2)


def test_aubc_unequal_steps_by_hand():
    # n = 100, 200, 400, 1000; a = 0.5, 0.6, 0.7, 0.8
    # trapezoids: 100 * (0.5+0.6)/2 = 55, 200 * (0.6+0.7)/2 = 130, 600 * (0.7+0.8)/2 = 450
    # area 635 over the budget range 900  ->  635 / 900 = 0.70555...
    assert aubc([100, 200, 400, 1000], [0.5, 0.6, 0.7, 0.8]) == pytest.approx(635 / 900)


def test_aubc_equal_steps_formula():
    a = [0.3, 0.5, 0.6, 0.65]
    expected = (0.5 * a[0] + a[1] + a[2] + 0.5 * a[3]) / 3
    assert aubc([0, 1, 2, 3], a) == pytest.approx(expected)
    # scale of the budget axis does not matter
    assert aubc([500, 1000, 1500, 2000], a) == pytest.approx(expected)


def test_aubc_waal_fashionmnist_rows():
    # (1/2*58.03 + 66.81 + ... + 80.93 + 1/2*81.30) / 10 = 753.155 / 10 = 75.3155 %
    assert round(aubc(WAAL_N, np.array(WAAL_RANDOM) / 100), 4) == 0.7532
    # (1/2*72.29 + 76.99 + ... + 85.20 + 1/2*85.99) / 10 = 818.70 / 10 = 81.87 %
    assert round(aubc(WAAL_N, np.array(WAAL_WAAL) / 100), 4) == 0.8187
    # units follow the input: percentages in, percent out
    assert aubc(WAAL_N, WAAL_RANDOM) == pytest.approx(75.3155)
    assert aubc(torch.tensor(WAAL_N), torch.tensor(WAAL_WAAL, dtype=torch.float64)) == pytest.approx(81.87)


@pytest.mark.parametrize(
    "n, acc, match",
    [
        ([1, 2, 3], [0.1, 0.2], "different lengths"),
        ([1], [0.5], "at least 2 points"),
        ([1, 3, 2], [0.1, 0.2, 0.3], "strictly increasing"),
        ([1, 1, 2], [0.1, 0.2, 0.3], "strictly increasing"),
        ([1, 2, 3], [0.1, float("nan"), 0.3], "finite"),
        ([1, 2, float("inf")], [0.1, 0.2, 0.3], "finite"),
        ([[1, 2]], [[0.1, 0.2]], "1-D"),
        (["a", "b"], [0.1, 0.2], "numeric"),
    ],
)
def test_aubc_bad_inputs(n, acc, match):
    with pytest.raises(ValueError, match=match):
        aubc(n, acc)


def test_f_acc():
    assert f_acc(WAAL_WAAL) == pytest.approx(85.99)
    assert f_acc(torch.tensor([0.1, 0.4])) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="at least 1"):
        f_acc([])


# ----------------------------------------------------------------------------- labels saved


def test_labels_to_reach_interpolates():
    n, acc = [100, 200, 300], [0.50, 0.70, 0.80]
    # first point >= 0.6 is (200, 0.70); previous (100, 0.50): 100 + (0.6-0.5)/(0.7-0.5) * 100 = 150
    assert labels_to_reach(n, acc, 0.6) == pytest.approx(150.0)
    assert labels_to_reach(n, acc, 0.7) == pytest.approx(200.0)
    assert labels_to_reach(n, acc, 0.3) == pytest.approx(100.0)  # reached at the first point
    assert math.isnan(labels_to_reach(n, acc, 0.81))


def test_labels_to_reach_uses_first_crossing():
    # dips below the target after reaching it: the first crossing counts
    # first point >= 0.6 is (200, 0.65): 100 + (0.6-0.4)/(0.65-0.4) * 100 = 180
    assert labels_to_reach([100, 200, 300, 400], [0.4, 0.65, 0.55, 0.7], 0.6) == pytest.approx(180.0)


def test_labels_saved_by_hand():
    method = ([100, 200, 300], [0.50, 0.70, 0.80])
    random = ([100, 200, 300, 400], [0.40, 0.55, 0.65, 0.75])
    # method: 100 + (0.1/0.2)*100 = 150; random: 200 + (0.05/0.10)*100 = 250; saved 100
    res = labels_saved(method, random, 0.6)
    assert isinstance(res, LabelsSaved)
    assert res.n_method == pytest.approx(150.0)
    assert res.n_random == pytest.approx(250.0)
    assert res.saved == pytest.approx(100.0)
    # target 0.78: the method reaches it (200 + 0.8*100 = 280), random never does
    res = labels_saved(method, random, 0.78)
    assert res.n_method == pytest.approx(280.0)
    assert math.isnan(res.n_random) and math.isnan(res.saved)
    # random better than the method: negative saving
    res = labels_saved(random, method, 0.6)
    assert res.saved == pytest.approx(-100.0)


def test_labels_saved_bad_inputs():
    with pytest.raises(ValueError, match="pair"):
        labels_saved(([1, 2], [0.1, 0.2], [3]), ([1, 2], [0.1, 0.2]), 0.1)
    with pytest.raises(ValueError, match="target_acc"):
        labels_saved(([1, 2], [0.1, 0.2]), ([1, 2], [0.1, 0.2]), float("nan"))


# ----------------------------------------------------------------------------- win / tie / loss


def test_win_tie_loss_single_dataset_around_margin():
    # means: A 0.800, B 0.796, C 0.790
    # A-B = 0.004 -> tie; A-C = 0.010 -> win; B-C = 0.006 -> win
    scores = {"A": [0.79, 0.81], "B": [0.796], "C": 0.790}
    res = win_tie_loss(scores, margin=0.005)
    assert isinstance(res, WinTieLoss)
    assert res.counts == {
        "A": {"win": 1, "tie": 1, "loss": 0},
        "B": {"win": 1, "tie": 1, "loss": 0},
        "C": {"win": 0, "tie": 0, "loss": 2},
    }
    assert res.net == {"A": 1, "B": 1, "C": -2}
    assert res.ranking == ["A", "B", "C"]  # A, B tied on net and wins: alphabetical


def test_win_tie_loss_margin_boundary_is_tie():
    # a difference equal to the margin (up to rounding) is a tie
    res = win_tie_loss({"x": 0.805, "y": 0.800}, margin=0.005)
    assert res.counts["x"] == {"win": 0, "tie": 1, "loss": 0}
    res = win_tie_loss({"x": 0.805, "y": 0.800}, margin=0.0)
    assert res.counts["x"]["win"] == 1 and res.counts["y"]["loss"] == 1


def test_win_tie_loss_several_datasets():
    scores = {
        "d1": {"A": [0.80, 0.80], "B": [0.796, 0.796], "C": [0.79]},  # as above
        "d2": {"A": 0.70, "B": 0.75, "C": 0.71},  # B-A 0.05 win, B-C 0.04 win, C-A 0.01 win
        "d3": {"A": 0.60, "C": 0.60},  # B missing on d3: only A vs C (tie)
    }
    res = win_tie_loss(scores)
    assert res.counts["A"] == {"win": 1, "tie": 2, "loss": 2}
    assert res.counts["B"] == {"win": 3, "tie": 1, "loss": 0}
    assert res.counts["C"] == {"win": 1, "tie": 1, "loss": 3}
    assert res.net == {"A": -1, "B": 3, "C": -2}
    assert res.ranking == ["B", "A", "C"]
    total = {m: sum(c.values()) for m, c in res.counts.items()}
    assert total == {"A": 5, "B": 4, "C": 5}


@pytest.mark.parametrize(
    "scores, margin, match",
    [
        ({}, 0.005, "non-empty"),
        ({"A": 0.5}, 0.005, "at least 2 methods"),
        ({"A": 0.5, "B": 0.4}, -0.1, "margin"),
        ({"A": 0.5, "B": float("nan")}, 0.005, "finite"),
        ({"A": [], "B": 0.4}, 0.005, "method 'A'"),
        ({"d": {"A": 0.5}, "B": 0.4}, 0.005, "mixes"),
    ],
)
def test_win_tie_loss_bad_inputs(scores, margin, match):
    with pytest.raises(ValueError, match=match):
        win_tie_loss(scores, margin=margin)


# ----------------------------------------------------------------------------- bootstrap


def test_bootstrap_ci_contains_mean_and_is_deterministic():
    values = [0.74, 0.76, 0.75, 0.78, 0.73]
    low, high = bootstrap_ci(values)
    assert low <= np.mean(values) <= high
    assert min(values) <= low < high <= max(values)
    assert bootstrap_ci(values) == (low, high)
    assert bootstrap_ci(values, seed=1) != (low, high)
    assert bootstrap_ci(np.array(values), seed=0, n_boot=10000) == (low, high)


def test_bootstrap_ci_narrows_with_less_spread_and_higher_alpha():
    wide = np.array([0.70, 0.74, 0.78, 0.82, 0.86])
    narrow = 0.78 + (wide - 0.78) / 4
    lw, hw = bootstrap_ci(wide)
    ln, hn = bootstrap_ci(narrow)
    assert hn - ln < hw - lw
    assert (hn - ln) == pytest.approx((hw - lw) / 4)  # same resamples, scaled data
    l90, h90 = bootstrap_ci(wide, alpha=0.10)
    assert h90 - l90 <= hw - lw


def test_bootstrap_ci_single_value_and_custom_stat():
    assert bootstrap_ci([0.5]) == (0.5, 0.5)
    # a stat without axis= is evaluated per resample and gives the same answer as the vectorised one
    values = [1.0, 2.0, 4.0, 8.0]
    fast = bootstrap_ci(values, n_boot=500, stat=np.median)
    slow = bootstrap_ci(values, n_boot=500, stat=lambda s: float(np.median(s)))
    assert fast == pytest.approx(slow)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"values": []}, "at least 1"),
        ({"values": [0.1, float("nan")]}, "finite"),
        ({"values": [0.1], "n_boot": 0}, "n_boot"),
        ({"values": [0.1], "alpha": 1.0}, "alpha"),
    ],
)
def test_bootstrap_ci_bad_inputs(kw, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_ci(**kw)


# ----------------------------------------------------------------------------- summarize


def test_summarize_runs_by_hand():
    n = [10, 20, 30]
    runs = [(n, [0.5, 0.6, 0.7]), (n, [0.7, 0.8, 0.9])]
    s = summarize_runs(runs)
    assert isinstance(s, RunSummary)
    assert s.n_runs == 2
    np.testing.assert_allclose(s.n_labeled, n)
    np.testing.assert_allclose(s.mean, [0.6, 0.7, 0.8])
    # sample std (ddof=1) of two values 0.2 apart: 0.2 / sqrt(2)
    np.testing.assert_allclose(s.std, [0.2 / math.sqrt(2)] * 3)
    # AUBCs: (0.25 + 0.6 + 0.35) / 2 = 0.6 and 0.8
    np.testing.assert_allclose(s.aubcs, [0.6, 0.8])
    assert s.aubc_mean == pytest.approx(0.7)
    assert s.aubc_std == pytest.approx(0.2 / math.sqrt(2))
    assert s.final_mean == pytest.approx(0.8)
    assert s.final_std == pytest.approx(0.2 / math.sqrt(2))
    assert summarize_runs(runs, ddof=0).aubc_std == pytest.approx(0.1)


def test_summarize_single_run_has_zero_std():
    s = summarize_runs([(WAAL_N, np.array(WAAL_RANDOM) / 100)])
    assert s.aubc_mean == pytest.approx(0.753155)
    assert s.aubc_std == 0.0 and np.all(s.std == 0.0)


def test_summarize_runs_bad_inputs():
    with pytest.raises(ValueError, match="empty"):
        summarize_runs([])
    with pytest.raises(ValueError, match="share budgets"):
        summarize_runs([([1, 2], [0.1, 0.2]), ([1, 3], [0.1, 0.2])])
    with pytest.raises(ValueError, match="wrap a single curve"):
        summarize_runs(([1, 2], [0.1, 0.2]))
    with pytest.raises(ValueError, match=r"curves\[1\]"):
        summarize_runs([([1, 2], [0.1, 0.2]), ([1, 2], [0.1])])
