"""alkit.viz.comparison: survey-style benchmark tables and figures (AUBC, F-acc, win-tie-loss, bootstrap CIs)."""

import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from alkit.experiments.compare import ComparisonResult  # noqa: E402
from alkit.metrics import aubc, bootstrap_ci, win_tie_loss  # noqa: E402
from alkit.viz.comparison import (  # noqa: E402
    aubc_interval_figure,
    aubc_scores,
    benchmark_rows,
    curves_of,
    learning_curves_figure,
    multi_dataset_wtl,
    pairwise_outcomes,
    rows_to_markdown,
    win_tie_loss_figure,
)

N = [20, 40, 60, 80]


def _curves(seed=0, seeds=3):
    rng = np.random.default_rng(seed)
    base = {"random": 0.70, "entropy": 0.74, "margin": 0.742, "kcenter": 0.66}
    out = {}
    for name, level in base.items():
        runs = []
        for _ in range(seeds):
            acc = [level + 0.05 * r + float(rng.normal(0, 0.001)) for r in range(len(N))]
            runs.append((list(N), acc))
        out[name] = runs
    return out


def test_rows_match_the_metrics_module():
    curves = _curves()
    rows = benchmark_rows(ComparisonResult(run_ids={}, curves=curves, seconds={}), n_boot=2000)
    by = {r["strategy"]: r for r in rows}
    assert set(by) == set(curves)
    for name, runs in curves.items():
        au = [aubc(n, a) for n, a in runs]
        r = by[name]
        assert r["seeds"] == 3
        assert r["aubc_mean"] == pytest.approx(np.mean(au))
        assert r["aubc_std"] == pytest.approx(np.std(au, ddof=1))
        assert (r["aubc_lo"], r["aubc_hi"]) == pytest.approx(bootstrap_ci(au, n_boot=2000))
        assert r["aubc_lo"] <= r["aubc_mean"] <= r["aubc_hi"]
        assert r["facc_mean"] == pytest.approx(np.mean([a[-1] for _, a in runs]))
        assert r["facc_lo"] <= r["facc_mean"] <= r["facc_hi"]
        assert r["win"] + r["tie"] + r["loss"] == len(curves) - 1
        assert r["net"] == r["win"] - r["loss"]
    assert by["random"]["aubc_vs_random"] == 0.0
    assert by["entropy"]["aubc_vs_random"] == pytest.approx(by["entropy"]["aubc_mean"] - by["random"]["aubc_mean"])
    wtl = win_tie_loss(aubc_scores(curves))
    assert [r["strategy"] for r in rows] == wtl.ranking
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    # entropy and margin differ by 0.002 in level: inside the tie band; kcenter loses to everyone
    assert by["kcenter"]["loss"] == 3 and by["entropy"]["tie"] >= 1


def test_single_seed_interval_is_the_value_and_single_strategy_has_no_comparisons():
    curves = {"random": [(N, [0.5, 0.6, 0.7, 0.8])]}
    (row,) = benchmark_rows(curves)
    assert row["aubc_lo"] == row["aubc_hi"] == pytest.approx(0.65)
    assert row["aubc_std"] == 0.0 and (row["win"], row["tie"], row["loss"]) == (0, 0, 0)


def test_unknown_baseline_and_bad_input_are_clear_errors():
    with pytest.raises(ValueError, match="baseline 'rnd'"):
        benchmark_rows(_curves(), random="rnd")
    with pytest.raises(ValueError, match="ComparisonResult"):
        curves_of([1, 2, 3])
    with pytest.raises(ValueError, match="no strategy"):
        curves_of({"a": []})
    with pytest.raises(ValueError, match="equal length"):
        curves_of({"a": [([1, 2], [0.5])]})
    rows = benchmark_rows(_curves(), random=None)
    assert "aubc_vs_random" not in rows[0]


def test_single_point_curve_counts_as_its_accuracy_like_table():
    curves = {"a": [([20], [0.6])], "b": [([20], [0.7])]}
    assert aubc_scores(curves) == {"a": [0.6], "b": [0.7]}
    res = ComparisonResult(run_ids={}, curves=curves, seconds={})
    assert {r["strategy"]: r["aubc_mean"] for r in res.table()} == pytest.approx(
        {r["strategy"]: r["aubc_mean"] for r in benchmark_rows(curves, random="a")})


def test_multi_dataset_sums_over_datasets_and_pairwise_matrix_agrees():
    d1, d2 = _curves(0), _curves(1)
    wtl = multi_dataset_wtl({"d1": d1, "d2": d2})
    for c in wtl.counts.values():
        assert c["win"] + c["tie"] + c["loss"] == 2 * (len(d1) - 1)
    one = win_tie_loss(aubc_scores(d1))
    names, mat = pairwise_outcomes(aubc_scores(d1))
    assert np.array_equal(mat, -mat.T) and np.all(np.diag(mat) == 0)
    for i, n in enumerate(names):
        off = np.delete(mat[i], i)
        assert (int((off == 1).sum()), int((off == 0).sum()), int((off == -1).sum())) == (
            one.counts[n]["win"], one.counts[n]["tie"], one.counts[n]["loss"])
    with pytest.raises(ValueError, match="without scores"):
        pairwise_outcomes({"a": 0.5, "b": 0.6}, order=["a", "c"])
    with pytest.raises(ValueError, match="non-empty"):
        multi_dataset_wtl({})


def test_markdown_table():
    text = rows_to_markdown([{"strategy": "a|b", "aubc": 0.123456, "x": math.nan}], digits=3)
    lines = text.splitlines()
    assert lines[0] == "| strategy | aubc | x |" and lines[1] == "|---|---|---|"
    assert lines[2] == "| a\\|b | 0.123 | nan |"
    with pytest.raises(ValueError):
        rows_to_markdown([])


def test_figures_draw_random_dashed_and_one_interval_per_strategy():
    import matplotlib.pyplot as plt

    curves = _curves()
    rows = benchmark_rows(curves)
    fig = learning_curves_figure(curves)
    lines = {ln.get_label().split(" ")[0]: ln for ln in fig.axes[0].get_lines()}
    assert set(lines) == set(curves)
    assert lines["random"].get_linestyle() == "--" and lines["entropy"].get_linestyle() == "-"
    assert np.allclose(lines["random"].get_ydata(), np.mean([a for _, a in curves["random"]], axis=0))
    plt.close(fig)

    fig = aubc_interval_figure(rows)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == max(rows, key=lambda r: r["aubc_mean"])["strategy"]  # best on top
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    rnd = next(r for r in rows if r["strategy"] == "random")
    assert len(dashed) == 1 and dashed[0].get_xdata()[0] == pytest.approx(rnd["aubc_mean"])
    assert len(ax.containers) == len(rows)  # one error bar per strategy
    plt.close(fig)

    wtl = win_tie_loss(aubc_scores(curves))
    fig = win_tie_loss_figure(wtl)
    ax = fig.axes[0]
    widths = sum(p.get_width() for p in ax.patches)
    assert widths == pytest.approx(len(curves) * (len(curves) - 1))
    assert ax.get_yticklabels()[-1].get_text().startswith(wtl.ranking[0])
    plt.close(fig)
