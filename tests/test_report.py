"""alkit.experiments.report: the JSON of a sweep report, its text and HTML forms, and sweep_report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alkit.experiments import stats
from alkit.experiments.report import build_report, report_text, sweep_report, write_report_html

LB = [100, 200, 300, 400]
BASE = [0.5, 0.6, 0.7, 0.8]


def runs(gain: float, noise: list[float], base: list[float] = BASE) -> dict[int, tuple[list[int], list[float]]]:
    return {s: (LB, [base[0]] + [v + gain + e for v in base[1:]]) for s, e in enumerate(noise)}


N1, N2, N3 = [0.0, 0.01, -0.005], [0.0, 0.012, -0.004], [0.01, 0.0, -0.005]
CURVES = {
    "digits": {"random": runs(0.0, N1), "good": runs(0.05, N2), "same": runs(0.0, N3)},
    "mnist5k": {"random": runs(0.0, N1), "good": runs(0.1, N2)},
}


@pytest.fixture(scope="module")
def report():
    return build_report(CURVES, n_boot=500)


def test_json_keys_the_issue_names(report):
    text = json.dumps(report, allow_nan=False)  # no NaN / Infinity anywhere
    assert json.loads(text) == report
    d = report["datasets"]["digits"]
    for st in ("random", "good", "same"):
        assert set(d["aubc"][st]) >= {"mean", "ci_low", "ci_high", "n"}
        assert d["aubc"][st]["ci_low"] <= d["aubc"][st]["mean"] <= d["aubc"][st]["ci_high"]
        assert d["aubc"][st]["n"] == 3
    pm = d["penalty_matrix"]
    assert pm["strategies"] == ["random", "good", "same"]
    assert isinstance(pm["matrix"], list) and all(isinstance(r, list) for r in pm["matrix"])
    assert pm["n_rounds"] == 3
    assert set(d["verdicts"]) == {"good", "same"}  # the baseline has no verdict against itself
    for v in d["verdicts"].values():
        assert set(v) >= {"verdict", "diff", "ci_low", "ci_high", "p", "n"}
    assert d["verdicts"]["good"]["verdict"] == "better" and d["verdicts"]["same"]["verdict"] == "no different"
    for key in ("final_accuracy", "labels_saved", "win_tie_loss", "ranking"):
        assert key in d
    assert set(report) >= {"datasets", "penalty_matrix", "baseline", "alpha", "meta"}


def test_report_numbers_are_the_stats_numbers(report):
    d = report["datasets"]["digits"]
    c = CURVES["digits"]
    au = stats.aubc_intervals(c, n_boot=500)
    assert d["aubc"]["good"]["mean"] == pytest.approx(au["good"].mean)
    assert d["aubc"]["good"]["ci_low"] == pytest.approx(au["good"].ci_low)
    pm = stats.penalty_matrix(c)
    np.testing.assert_allclose(d["penalty_matrix"]["matrix"], pm.matrix)
    v = stats.verdict(c, "good", "random", n_boot=500)
    assert d["verdicts"]["good"]["p"] == pytest.approx(v.p) and d["verdicts"]["good"]["diff"] == pytest.approx(v.diff)
    ls = stats.labels_saved_ci(c, "good", "random", n_boot=500)
    assert d["labels_saved"]["good"]["saved"] == pytest.approx(ls.saved)
    assert d["target"] == pytest.approx(np.mean([0.8, 0.81, 0.795]))
    wtl = d["win_tie_loss"]["good"]
    assert wtl["vs"]["random"]["win"] == pm.wins[1, 0]
    assert wtl["total"]["win"] + wtl["total"]["tie"] + wtl["total"]["loss"] == 2 * pm.n_rounds
    assert [r["strategy"] for r in d["ranking"]][0] == "good"
    assert report["datasets"]["digits"]["final_accuracy"]["good"]["mean"] == pytest.approx(
        np.mean([0.8 + 0.05 + e for e in N2]))


def test_summed_penalty_matrix(report):
    tot = report["penalty_matrix"]
    assert tot["strategies"] == ["random", "good", "same"]
    d1 = report["datasets"]["digits"]["penalty_matrix"]["matrix"]
    d2 = report["datasets"]["mnist5k"]["penalty_matrix"]["matrix"]
    expect = np.array(d1, dtype=float)
    expect[:2, :2] += np.array(d2)
    np.testing.assert_allclose(tot["matrix"], expect)
    assert tot["n_datasets"][0][1] == 2 and tot["n_datasets"][0][2] == 1
    assert tot["matrix"][1][0] > 1.0  # good beats random on both datasets at more than one round


def test_deterministic_under_a_seed():
    a, b = build_report(CURVES, n_boot=300, seed=4), build_report(CURVES, n_boot=300, seed=4)
    assert a == b


def test_missing_baseline_says_so():
    curves = {"x": {"entropy": runs(0.0, N1), "margin": runs(0.02, N2)}}
    rep = build_report(curves, n_boot=100)
    d = rep["datasets"]["x"]
    assert d["verdicts"]["entropy"]["verdict"] == "no baseline"
    assert d["labels_saved"]["margin"]["saved"] is None and "no baseline" in d["labels_saved"]["margin"]["note"]
    assert any("no baseline" in n for n in d["notes"])
    assert d["penalty_matrix"]["strategies"] == ["entropy", "margin"]  # the rest still works
    json.dumps(rep, allow_nan=False)
    assert "no baseline" in report_text(rep)


def test_running_cell_cuts_to_common_rounds_and_round0_only():
    c = {"d": {"random": runs(0.0, N1), "good": runs(0.05, N2)}}
    c["d"]["good"][1] = (LB[:2], c["d"]["good"][1][1][:2])
    rep = build_report(c, n_boot=100)
    d = rep["datasets"]["d"]
    assert d["n_rounds"] == 1 and d["budgets"] == [100, 200]
    assert d["short_cells"] == [{"strategy": "good", "seed": 1, "n_points": 2}]
    assert d["notes"] and "rounds 0..1" in d["notes"][0]
    dropped = build_report(c, n_boot=100, short="drop")["datasets"]["d"]
    assert dropped["n_rounds"] == 3 and dropped["aubc"]["good"]["n"] == 2
    start = {"d": {"random": {0: ([100], [0.5])}, "good": {0: ([100], [0.5])}}, "e": {"random": {}}}
    rep0 = build_report(start, n_boot=100)
    assert rep0["datasets"]["d"]["penalty_matrix"] is None and "only round 0" in rep0["datasets"]["d"]["notes"][0]
    assert rep0["datasets"]["e"]["strategies"] == []
    assert rep0["penalty_matrix"] is None
    report_text(rep0)  # no crash


def test_labels_not_reached_is_null_in_json():
    c = {"d": {"random": runs(0.0, N1), "slow": runs(-0.1, N2)}}
    rep = build_report(c, n_boot=100)
    ls = rep["datasets"]["d"]["labels_saved"]["slow"]
    assert ls["saved"] is None and ls["n_strategy"] is None and ls["ci_low"] is None
    assert "not reached" in report_text(rep)


def test_report_text(report):
    text = report_text(report)
    assert "== digits" in text and "== mnist5k" in text
    assert "better" in text and "no different" in text and "(baseline)" in text
    assert "Penalty matrix summed over datasets" in text
    d = report["datasets"]["digits"]
    assert f"{d['aubc']['good']['mean']:.4f}" in text
    with pytest.raises(ValueError, match="datasets"):
        report_text({"x": 1})


def test_html_is_self_contained(tmp_path, report):
    weird = {"d": {"random": runs(0.0, N1), "a<b>&c": runs(0.05, N2)}}
    for rep in (report, build_report(weird, n_boot=100)):
        path = write_report_html(rep, tmp_path / "sub" / "r.html")
        page = path.read_text(encoding="utf-8")
        assert page.count("<svg") == len(rep["datasets"]) + (1 if len(rep["datasets"]) > 1 else 0)
        assert "http" not in page and "<script" not in page and "<link" not in page  # requests nothing
        assert "<b>&c" not in page.replace("<b>random</b>", "")  # names are escaped
        assert not (tmp_path / "sub" / "r.html.tmp").exists()
    page = write_report_html(report, tmp_path / "r2.html").read_text()
    assert f"{report['datasets']['digits']['aubc']['good']['mean']:.4f}" in page
    with pytest.raises(ValueError, match="datasets"):
        write_report_html({}, tmp_path / "x.html")


def test_bad_input():
    with pytest.raises(ValueError, match="non-empty mapping"):
        build_report({})
    with pytest.raises(ValueError, match="must be a mapping"):
        build_report({"d": [1, 2]})
    with pytest.raises(ValueError, match="alpha"):
        build_report(CURVES, alpha=0)
    with pytest.raises(ValueError, match="n_boot"):
        build_report(CURVES, n_boot=-1)
    with pytest.raises(ValueError, match="target"):
        build_report(CURVES, target=float("nan"))
    with pytest.raises(ValueError, match="baseline"):
        build_report(CURVES, baseline="")
    with pytest.raises(ValueError, match="dataset 'd'.*seeds must be integers"):
        build_report({"d": {"random": {"x": (LB, BASE)}}})


def test_sweep_report_of_a_real_sweep(tmp_path):
    import alkit
    from alkit.experiments.sweep import sweep_curves
    from alkit.store import RunStore

    spec = {"datasets": ["digits"], "strategies": ["random", "entropy"], "seeds": [0, 1], "initial": 20,
            "query": 20, "rounds": 1}
    res = alkit.sweep(spec, workspace=str(tmp_path), engine="serial", progress=False)
    assert res.ok
    with RunStore(str(tmp_path)) as store:
        rep = sweep_report(store, res.sweep_id[:8], n_boot=100)  # a unique prefix is enough
        curves = sweep_curves(store, res.sweep_id)
        with pytest.raises(Exception, match="no sweep"):
            sweep_report(store, "sw-does-not-exist")
    assert rep["meta"]["sweep_id"] == res.sweep_id and rep["meta"]["spec"]["strategies"] == ["random", "entropy"]
    assert rep["meta"]["status_counts"] == {"finished": 4}
    assert rep == build_report(curves, n_boot=100, meta=rep["meta"])
    d = rep["datasets"]["digits"]
    assert d["budgets"] == [20, 40] and d["aubc"]["entropy"]["n"] == 2
    assert d["verdicts"]["entropy"]["verdict"] in stats.VERDICTS
    assert report_text(rep).startswith(f"Sweep {res.sweep_id}")
