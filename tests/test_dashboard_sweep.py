"""The Learning-curves page on a sweep (bands, AUBC table, verdicts, penalty heatmap, live refresh) and the
figure builders of :mod:`alkit.viz.sweep` it draws with."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import torch

from alkit.metrics import bootstrap_ci
from alkit.viz.sweep import (
    aubc_table_rows,
    beaten_share,
    cell_progress,
    mean_band,
    penalty_heatmap_figure,
    sweep_curve_figure,
    verdict_sentences,
)

torch.set_num_threads(1)

TINY = {"name": "tiny", "datasets": ["digits"], "strategies": ["random", "entropy"], "seeds": [0, 1], "initial": 20,
        "query": 20, "rounds": 2, "train": {"epochs": 4, "min_steps": 15}}


# ----------------------------------------------------------------------------- builders, by hand


def test_mean_band_by_hand_and_with_a_shorter_curve():
    runs = {0: ([10, 20, 30], [0.5, 0.6, 0.7]), 1: ([10, 20, 30], [0.7, 0.8, 0.9]), 2: ([10, 20], [0.6, 1.0])}
    b = mean_band(runs, n_boot=500, seed=3)
    assert b["n_labeled"] == [10, 20, 30]
    assert b["n_seeds"] == [3, 3, 2]  # the running seed 2 has no round at 30 labels
    np.testing.assert_allclose(b["mean"], [0.6, 0.8, 0.8])
    lo, hi = bootstrap_ci([0.6, 0.8, 1.0], n_boot=500, seed=3)
    assert (b["low"][1], b["high"][1]) == pytest.approx((lo, hi))
    for lo, m, hi in zip(b["low"], b["mean"], b["high"], strict=True):
        assert lo <= m <= hi
        assert lo < hi  # more than one seed, differing values: a real interval
    one = mean_band({4: ([10, 20], [0.3, 0.4])})
    assert one["low"] == one["mean"] == one["high"] == [0.3, 0.4]  # one seed: no interval
    with pytest.raises(ValueError, match="non-empty"):
        mean_band({})
    with pytest.raises(ValueError, match="seed 0: n_labeled has 2 entries but accuracy has 1"):
        mean_band({0: ([10, 20], [0.5])})


def test_curve_figure_bands_contain_the_mean_and_random_is_dashed_black():
    rng = np.random.default_rng(0)
    curves = {s: {seed: ([10, 20, 30, 40], list(np.clip(0.5 + 0.1 * np.arange(4) + rng.normal(0, 0.03, 4), 0, 1)))
                  for seed in range(5)} for s in ("entropy", "random")}
    fig = sweep_curve_figure(curves, n_boot=300)
    by_name = {t.name: t for t in fig.data}
    for s in curves:
        line, band = by_name[f"{s} (n=5)"], by_name[f"{s} 95% band"]
        mean = np.mean([curves[s][k][1] for k in range(5)], axis=0)
        np.testing.assert_allclose(line.y, mean)
        k = len(line.x)
        high, low = np.asarray(band.y[:k]), np.asarray(band.y[k:])[::-1]
        assert list(band.x[:k]) == list(line.x) and band.fill == "toself"
        assert np.all(low <= mean) and np.all(mean <= high) and np.all(low < high)
    assert by_name["random (n=5)"].line.dash == "dash" and by_name["random (n=5)"].line.color == "#000000"
    assert by_name["entropy (n=5)"].line.dash == "solid"


def test_heatmap_values_equal_the_matrix_and_the_column_means():
    names = ["random", "entropy", "badge"]
    m = [[0.0, 0.1, 0.0], [0.5, 0.0, 0.2], [0.9, 0.4, 0.0]]
    fig = penalty_heatmap_figure({"strategies": names, "matrix": m, "n_rounds": 10, "alpha": 0.05})
    main, beaten = fig.data
    assert main.type == beaten.type == "heatmap"
    assert [list(r) for r in main.z] == m and list(main.x) == names and list(main.y) == names
    assert [main.text[i][i] for i in range(3)] == ["", "", ""] and main.text[2][0] == "0.90"
    # column j's mean over the other rows: random (0.5 + 0.9) / 2, entropy (0.1 + 0.4) / 2, badge (0 + 0.2) / 2
    np.testing.assert_allclose(beaten.z[0], [0.7, 0.25, 0.1])
    assert beaten_share(names, m) == pytest.approx([0.7, 0.25, 0.1])
    assert main.zmin == beaten.zmin == 0 and main.zmax == beaten.zmax == 1
    with pytest.raises(ValueError, match="must be 3 x 3"):
        penalty_heatmap_figure({"strategies": names, "matrix": [[0.0, 1.0], [0.0, 0.0]]})
    with pytest.raises(ValueError, match="'strategies' and 'matrix'"):
        penalty_heatmap_figure({"matrix": m})


def test_tables_and_sentences_from_a_made_up_report():
    d = {"baseline": "random", "n_rounds": 3,
         "aubc": {"random": {"mean": 0.70, "ci_low": 0.68, "ci_high": 0.72, "n": 4},
                  "badge": {"mean": 0.75, "ci_low": 0.73, "ci_high": 0.77, "n": 4},
                  "bald": {"mean": 0.69, "ci_low": 0.60, "ci_high": 0.78, "n": 4}},
         "final_accuracy": {s: {"mean": 0.8} for s in ("random", "badge", "bald")},
         "ranking": [{"strategy": "badge", "rank": 1}, {"strategy": "random", "rank": 2},
                     {"strategy": "bald", "rank": 2}],
         "verdicts": {"bald": {"verdict": "no different", "diff": -0.01, "ci_low": -0.05, "ci_high": 0.03,
                               "p": 0.52, "n": 4},
                      "badge": {"verdict": "better", "diff": 0.05, "ci_low": 0.03, "ci_high": 0.07, "p": 0.0004,
                                "n": 4}}}
    rows = aubc_table_rows(d)
    assert [r["strategy"] for r in rows] == ["badge", "random", "bald"]
    assert rows[0]["95% CI"] == "[0.7300, 0.7700]" and rows[0]["vs random"] == "better (+0.0500)"
    assert rows[1]["vs random"] == "(baseline)" and rows[2]["seeds"] == 4
    s = verdict_sentences(d)
    assert s == ["badge is significantly better than random at α = 0.05: AUBC +0.0500 (95% CI +0.0300 to +0.0700), "
                 "paired t-test over 4 seeds, p = 0.0004.",
                 "bald is not significantly different from random at α = 0.05: AUBC -0.0100 (95% CI -0.0500 to "
                 "+0.0300), paired t-test over 4 seeds, p = 0.520."]
    assert aubc_table_rows({"aubc": {}}) == []
    assert cell_progress(8, {"finished": 3, "running": 2, "failed": 1, "interrupted": 0}) == \
        "3 of 8 cells finished, 2 running, 1 failed, 2 not started"


# ----------------------------------------------------------------------------- the page


pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from alkit.app.launch import dashboard_app  # noqa: E402
from alkit.experiments.report import sweep_report  # noqa: E402
from alkit.experiments.sweep import SweepSpec, sweep  # noqa: E402
from alkit.store import RunStore  # noqa: E402

APP = str(dashboard_app())


def arr(v):
    """A plotly JSON array: a list, or a typed array ``{"dtype", "bdata", "shape"}``."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        shape = v.get("shape")
        return a.reshape([int(s) for s in str(shape).split(",")]) if shape else a
    return np.asarray(v)


def plotly_figs(at):
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def lite_specs(at):
    return [json.loads(e.proto.json) for e in at.get("bidi_component")
            if e.proto.component_name.endswith("alkit_lite_chart")]


def record_fragments(monkeypatch):
    """Record the ``run_every`` of the Learning-curves page's ``st.fragment`` calls (other pages have their own)."""
    import streamlit

    asked, real = [], streamlit.fragment

    def fragment(func=None, *, run_every=None, **kw):
        if func is None:
            return lambda f: fragment(f, run_every=run_every, **kw)
        if func.__name__ in ("draw_sweep", "draw_runs"):
            asked.append(run_every)
        return real(func, run_every=run_every, **kw)

    monkeypatch.setattr(streamlit, "fragment", fragment)
    return asked


def open_curves(timeout=300):
    at = AppTest.from_file(APP, default_timeout=timeout).run()
    assert not at.exception, at.exception
    at = at.switch_page("views/curves.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A workspace with one finished tiny sweep (digits, random and entropy, 2 seeds, 2 rounds)."""
    ws = tmp_path_factory.mktemp("dash_sweep") / "workspace"
    res = sweep(SweepSpec.from_dict(TINY), workspace=ws, engine="serial", progress=False)
    assert res.ok
    return ws, res.sweep_id


def test_the_page_picks_the_sweep_and_shows_bands_verdicts_and_heatmap(swept, monkeypatch):
    ws, sid = swept
    monkeypatch.setenv("ALKIT_WORKSPACE", str(ws))
    asked = record_fragments(monkeypatch)
    at = open_curves()
    assert asked == [None]  # nothing runs: the fragment has no timer
    assert at.radio(key="curves_source").value == "A sweep"
    (box,) = [b for b in at.selectbox if b.label == "Sweep"]
    assert box.value == sid and at.session_state["curves_sweep_id"] == sid
    assert box.options == [f"tiny · {sid} · 4 of 4 cells · 4 finished"]
    assert any(c.value.startswith("4 of 4 cells finished, 0 running") for c in at.caption)
    assert at.session_state["curves_live_every"] is None  # nothing runs: no timer
    with RunStore(ws, readonly=True) as store:
        rep = sweep_report(store, sid, n_boot=10000, short="drop")
    d = rep["datasets"]["digits"]
    # the curves: one line and one band per strategy, the band around the line, random dashed
    (spec,) = lite_specs(at)
    tr = {t["name"]: t for t in spec["traces"]}
    for s in ("random", "entropy"):
        line, band = tr[f"{s} (n=2)"], tr[f"{s} 95% band"]
        k = len(line["x"])
        assert k == 3 and band["x"][:k] == line["x"]
        hi, lo = band["y"][:k], band["y"][k:][::-1]
        assert all(a <= m <= b for a, m, b in zip(lo, line["y"], hi, strict=True))
    assert tr["random (n=2)"]["dash"] == "dash"
    # the AUBC table is the report's
    table = next(m.value for m in at.markdown if m.value.lstrip().startswith("| strategy"))
    for s, a in d["aubc"].items():
        assert f"| {s} |" in table and f"{a['mean']:.4f}" in table and f"[{a['ci_low']:.4f}, {a['ci_high']:.4f}]" in table
    # the verdict sentence says what the report's verdict is
    v = d["verdicts"]["entropy"]
    words = {"better": "is significantly better than random", "worse": "is significantly worse than random",
             "no different": "is not significantly different from random"}[v["verdict"]]
    text = next(m.value for m in at.markdown if "Against random" in m.value)
    assert f"entropy {words} at α = 0.05: AUBC {v['diff']:+.4f}" in text
    # the heatmap: the report's penalty matrix, rows and columns named
    (fig,) = plotly_figs(at)
    main, beaten = (t for t in fig["data"] if t["type"] == "heatmap")
    pm = d["penalty_matrix"]
    np.testing.assert_allclose(arr(main["z"]).reshape(2, 2), pm["matrix"])
    assert list(main["y"]) == pm["strategies"] == list(main["x"])
    np.testing.assert_allclose(arr(beaten["z"]).ravel(), [pm["matrix"][1][0], pm["matrix"][0][1]])
    assert any("α = 0.05" in c.value and "row" in c.value for c in at.caption)
    # the runs view is one click away and unchanged
    at.radio(key="curves_source").set_value("Runs").run()
    assert not at.exception and at.multiselect(key="curves_strategies").value == ["entropy", "random"]


def test_a_running_cell_turns_the_refresh_on_and_its_end_turns_it_off(swept, tmp_path, monkeypatch):
    """A sweep whose cell is still running (its run is owned by this live process and has 1 of 3 rounds): the
    page counts it, sets the fragment's interval, and drops the interval once the run has finished."""
    import shutil

    ws = tmp_path / "live"
    shutil.copytree(swept[0], ws)
    sid = swept[1]
    with RunStore(ws) as store:
        cells = store.sweep_cells(sid)
        cell = next(c for c in cells if c["strategy"] == "entropy" and c["seed"] == 1)
        run = store.get_run(cell["run_id"])
        rid = store.create_run(run["config"], 1, strategy="entropy", dataset="digits")  # running: owned by us
        for r in store.get_rounds(cell["run_id"])[:1]:
            store.log_round(rid, 0, n_labeled=r["n_labeled"], metrics=r["metrics"], timings={}, selected=list(range(20)))
        store.add_sweep_cell(sid, dataset="digits", strategy="entropy", seed=1, run_id=rid)
    monkeypatch.setenv("ALKIT_WORKSPACE", str(ws))
    asked = record_fragments(monkeypatch)
    at = open_curves()
    assert asked == [3.0]  # the page's one fragment, with a timer
    assert any(c.value.startswith("3 of 4 cells finished, 1 running") and "refreshing every 3 s" in c.value
               for c in at.caption)
    assert at.session_state["curves_live_every"] == 3.0
    assert "1 running" in next(b for b in at.selectbox if b.label == "Sweep").options[0]
    (spec,) = lite_specs(at)
    n_entropy = next(t for t in spec["traces"] if t["name"] == "entropy (n=2)")
    assert len(n_entropy["x"]) == 3  # seed 0 has 3 rounds; the running seed 1 joins at round 0 only
    # the runs view refreshes too while a chosen run runs (5 runs: the sweep's 4 and the replaced cell's old one)
    at.radio(key="curves_source").set_value("Runs").run()
    assert not at.exception and asked == [3.0, 3.0]
    assert any(c.value.startswith("1 of the 5 chosen runs are running") for c in at.caption)
    with RunStore(ws) as store:
        store.set_status(rid, "finished")
    at.run()
    assert not at.exception and asked == [3.0, 3.0, None]
    at.radio(key="curves_source").set_value("A sweep").run()
    assert not at.exception
    assert any(c.value.startswith("4 of 4 cells finished, 0 running") for c in at.caption)
    assert at.session_state["curves_live_every"] is None
    assert asked == [3.0, 3.0, None, None]  # the timer is off once nothing runs
    assert next(b for b in at.selectbox if b.label == "Sweep").options == [f"tiny · {sid} · 4 of 4 cells · 4 finished"]
