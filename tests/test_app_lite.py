"""alkit.app.lite: the dashboard's figures as lite-renderer specs (same points as the plotly figure), fallbacks."""

import json
import math
import shutil
import subprocess

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from alkit.app.lite import LITE_CSS, LITE_JS, PALETTE, lite_spec
from alkit.app.playground_figures import gain_figure
from alkit.viz.batch import class_histogram_figure, diversity_figure, image_grid_figure
from alkit.viz.curves import learning_curve_figure
from alkit.viz.round_terms import dal_figure, series_figure
from alkit.viz.runs import per_class_figure, timings_figure


def _plain_list(v):
    """What the spec must hold for a figure's x / y: plain numbers or strings, NaN -> None."""
    out = []
    for a in np.asarray(v, dtype=object).tolist():
        if isinstance(a, (float, np.floating)) and not math.isfinite(a):
            out.append(None)
        else:
            out.append(a.item() if isinstance(a, np.generic) else a)
    return out


def _same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        if u is None or v is None or isinstance(u, str) or isinstance(v, str):
            assert u == v
        else:
            assert u == pytest.approx(v, rel=1e-12, abs=1e-15)


def _check(fig, *, numeric_strings=False):
    """lite_spec(fig) is JSON-safe and has one trace per figure trace with the same type, x and y."""
    spec = lite_spec(fig)
    assert spec is not None
    json.dumps(spec, allow_nan=False)
    assert len(spec["traces"]) == len(fig.data)
    for tr, st in zip(fig.data, spec["traces"]):
        assert st["type"] == tr.type
        x = _plain_list(tr.x)
        if numeric_strings:
            x = [float(v) for v in x]
        _same(st["x"], x)
        _same(st["y"], _plain_list(tr.y))
        assert st["name"] == (tr.name if tr.name is not None else st["name"])
    return spec


def _curves(rng, strategies=("random", "entropy"), seeds=3, budgets=(10, 20, 40, 80)):
    n = np.asarray(budgets)
    return {s: [(n, np.clip(0.5 + 0.1 * np.log(n / 10) + rng.normal(0, 0.02, len(n)), 0, 1)) for _ in range(seeds)]
            for s in strategies}


def test_learning_curves_keep_mean_lines_and_std_bands():
    rng = np.random.default_rng(0)
    curves = _curves(rng)
    fig = learning_curve_figure(curves, title="digits")
    spec = _check(fig)
    assert spec["title"] == "digits" and spec["height"] == 450
    assert spec["legend"] == {"orientation": "v", "show": True}
    band, line = spec["traces"][0], spec["traces"][1]
    assert band["fill"] == "toself" and band["fillcolor"] == "rgba(0,0,0,0.12)" and band["width"] == 0
    assert not band["showlegend"] and not band["hover"] and band["group"] == "random"
    assert line["group"] == "random" and line["name"] == "random (n=3)" and line["mode"] == "lines+markers"
    assert line["color"] == "#000000" and line["dash"] == "dash" and line["width"] == 2
    assert spec["traces"][3]["dash"] == "solid" and spec["traces"][3]["color"] == "#d62728"
    acc = np.asarray([a for _, a in curves["entropy"]])
    _same(spec["traces"][3]["y"], acc.mean(0).tolist())
    _same(spec["traces"][2]["y"][:4], (acc.mean(0) + acc.std(0, ddof=1)).tolist())
    p = spec["panels"][0]
    assert p["x"]["title"] == "number of labeled items" and p["y"]["title"] == "test accuracy"
    assert p["x"]["categories"] is None and p["domain"] == [0.0, 1.0]
    # one strategy: the band has no legend entry, so there is no legend (as in plotly)
    assert lite_spec(learning_curve_figure(_curves(rng, ("entropy",))))["legend"]["show"] is False


def test_series_figure_nan_is_a_gap_and_highlight_is_a_vertical_line():
    series = {"labeled risk": ([0, 1, 2, 3], [0.3, float("nan"), 0.2, 0.1]), "W1(L, U)": ([0, 1, 2, 3], [0.5, 0.4, 0.45, 0.3])}
    spec = _check(series_figure(series, title="Risks", highlight=2))
    assert spec["traces"][0]["y"] == [0.3, None, 0.2, 0.1]
    assert [t["color"] for t in spec["traces"]] == list(PALETTE[:2])
    assert spec["height"] == 360 and spec["panels"][0]["x"]["title"] == "round"
    (shape,) = spec["shapes"]
    assert shape["x0"] == shape["x1"] == 2 and shape["xdom"] is False
    assert (shape["y0"], shape["y1"], shape["ydom"]) == (0, 1, True) and shape["dash"] == "dot"
    spec = _check(series_figure(series, x_map={0: 10, 1: 20, 2: 40, 3: 80}, x_label="labels", highlight=1))
    assert spec["traces"][1]["x"] == [10, 20, 40, 80] and spec["shapes"][0]["x0"] == 20


def test_dal_figure_one_line_per_round():
    spec = _check(dal_figure({"h_divergence": [(0, [0.9, 0.8, 0.7]), (3, [0.6, 0.5])]}))
    assert [t["name"] for t in spec["traces"]] == ["round 0", "round 3"]
    assert spec["traces"][1]["x"] == [1, 2] and spec["legend"]["show"] is True
    assert spec["panels"][0]["y"]["title"] == "proxy H-divergence"


def test_class_histogram_grouped_shares_on_a_percent_axis():
    rng = np.random.default_rng(1)
    names = ["cat", "dog", "ship"]
    fig = class_histogram_figure(rng.integers(0, 3, 20).tolist(), rng.integers(0, 3, 300).tolist(), 3,
                                 class_names=names, title="shares")
    spec = _check(fig)
    assert spec["barmode"] == "group" and spec["panels"][0]["y"]["tickformat"] == ".0%"
    assert spec["panels"][0]["x"]["categories"] == names
    assert [t["color"] for t in spec["traces"]] == ["#9e9e9e", "#d62728"]
    assert all(sum(t["y"]) == pytest.approx(1.0) for t in spec["traces"])
    # default class names "0", "1", ... stay categories (the figure asks for a categorical axis): every class
    # gets its own tick label, not only 0, 2, 4, ... as on a numeric axis
    spec = _check(class_histogram_figure([0, 1], [0, 1, 2, 2], 3))
    assert spec["panels"][0]["x"]["categories"] == ["0", "1", "2"]


def test_diversity_figure_two_panels_with_their_titles():
    div = {"round": [0, 1, 2, 3], "mean_distance": [5.0, 4.5, 4.6, 4.0], "covering_radius": [9.0, 7.0, 6.5, 6.0]}
    spec = _check(diversity_figure(div, title="spread", highlight=2))
    assert len(spec["panels"]) == 2
    assert [p["title"] for p in spec["panels"]] == ["within-batch mean distance", "covering radius of labeled set"]
    assert spec["panels"][0]["domain"][1] <= spec["panels"][1]["domain"][0]
    assert [t["panel"] for t in spec["traces"]] == [0, 0, 1, 1]
    assert all(p["x"]["dtick"] == 1 for p in spec["panels"])
    ring = spec["traces"][1]["marker"]
    assert ring["open"] and ring["symbol"] == "circle" and ring["size"] == 13 and ring["lineWidth"] == 3
    assert spec["legend"]["show"] is False


def test_timings_figure_stacked_bars():
    rounds = [{"round": r, "timings": {"infer": 0.5, "query": 1.0 + r, "select": 0.25, "train": 2.0}} for r in range(3)]
    spec = _check(timings_figure(rounds))
    assert spec["barmode"] == "stack"
    assert [t["name"] for t in spec["traces"]] == ["infer", "query", "train"]
    assert spec["traces"][1]["y"] == [1.0, 2.0, 3.0] and spec["traces"][2]["color"] == "#1f77b4"
    assert spec["panels"][0]["y"]["title"] == "seconds"


def test_per_class_figure_keeps_the_fixed_range():
    spec = _check(per_class_figure(np.array([0.9, 0.5, 0.75]), ["a", "b", "c"], title="per class"))
    assert spec["panels"][0]["y"]["range"] == [0, 1] and spec["panels"][0]["x"]["categories"] == ["a", "b", "c"]
    assert spec["legend"]["show"] is False and spec["height"] == 280


def test_gain_figure_error_bars_bar_colours_and_zero_line():
    rows = [{"picker": "you", "gain": 0.02}, {"picker": "random", "gain": 0.005, "gain_std": 0.01},
            {"picker": "entropy", "gain": -0.01}]
    spec = _check(gain_figure(rows))
    (bar,) = spec["traces"]
    assert bar["color"] == ["#000000", "#d62728", "#17becf"]  # you black, Random red, each strategy its own
    assert bar["err"] == pytest.approx([0.0, 1.0, 0.0])
    (zero,) = spec["shapes"]
    assert zero["xdom"] and not zero["ydom"] and zero["y0"] == zero["y1"] == 0
    # no spread anywhere: the error bars are hidden
    assert lite_spec(gain_figure(rows[:1]))["traces"][0]["err"] is None


def test_numpy_typed_arrays_nan_and_inf_become_plain_lists():
    x = np.arange(5, dtype=np.int8)
    y = np.array([0.5, np.nan, np.inf, -1.25, 2.0], dtype=np.float32)
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines"))
    for source in (fig, fig.to_plotly_json(), fig.to_dict()):
        spec = lite_spec(source)
        assert spec["traces"][0]["x"] == [0, 1, 2, 3, 4] and type(spec["traces"][0]["x"][0]) is int
        assert spec["traces"][0]["y"] == [0.5, None, None, -1.25, 2.0]
        json.dumps(spec, allow_nan=False)
    assert lite_spec(go.Figure(go.Bar(y=[3, 1])))["traces"][0]["x"] == [0, 1]  # no x: 0, 1, ...


def test_layout_options_are_carried_over():
    fig = go.Figure([go.Bar(x=["a", "b"], y=[1, -2], name="one"), go.Bar(x=["a", "b"], y=[2, 1], name="two"),
                     go.Scatter(x=["a", "b"], y=[0.1, 0.2], name="line", line={"dash": "dashdot"},
                                marker={"symbol": "diamond", "size": 9}, visible="legendonly")])
    fig.update_layout(barmode="relative", legend_orientation="h", height=300, yaxis_tickformat=".1%",
                      xaxis_showticklabels=False, title="t<br>two &amp; lines")
    spec = lite_spec(fig)
    assert spec["barmode"] == "relative" and spec["legend"] == {"orientation": "h", "show": True}
    assert spec["panels"][0]["y"]["tickformat"] == ".1%" and spec["panels"][0]["x"]["showticklabels"] is False
    assert spec["title"] == "t two & lines" and spec["height"] == 300
    line = spec["traces"][2]
    assert line["visible"] == "legendonly" and line["dash"] == "dashdot" and line["marker"]["symbol"] == "diamond"
    assert [t["color"] for t in spec["traces"]] == list(PALETTE[:3])
    one = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="only"))
    assert lite_spec(one)["legend"]["show"] is False
    one.update_layout(showlegend=True)
    assert lite_spec(one)["legend"]["show"] is True


def _grid():
    fig = make_subplots(rows=2, cols=2)
    for k in range(4):
        fig.add_trace(go.Scatter(x=[0, 1], y=[k, k + 1]), row=k // 2 + 1, col=k % 2 + 1)
    return fig


@pytest.mark.parametrize("make", [
    lambda: go.Figure(go.Heatmap(z=[[1, 2], [3, 4]])),
    _grid,
    lambda: image_grid_figure([np.zeros((4, 4, 3), np.uint8)] * 2, ["a", "b"]),
    lambda: go.Figure(go.Scatter3d(x=[0], y=[0], z=[0])),
    lambda: go.Figure(go.Scatter(x=[1, 2], y=[1, 10])).update_yaxes(type="log"),
    lambda: go.Figure(go.Bar(x=[1, 2], y=["a", "b"], orientation="h")),
    lambda: go.Figure(go.Bar(x=["a"], y=[1], text=["1"])),
    lambda: go.Figure(go.Scatter(x=[1, 2], y=[1, 2], marker={"color": [0.1, 0.9]})),
    lambda: go.Figure(go.Scatter(x=[1, 2], y=[1, 2], mode="lines+text")),
    lambda: go.Figure(go.Scatter(x=["2024-01-01", "2024-01-02"], y=[1, 2])),
    lambda: go.Figure(go.Scatter(x=[1, "b"], y=[1, 2])),
    lambda: go.Figure(go.Scatter(x=[1, 2], y=[1, 2])).add_annotation(x=1, y=1, text="note"),
    lambda: go.Figure(go.Scatter(x=[1, 2], y=[1, 2])).update_layout(yaxis_tickformat="$.2s"),
    lambda: go.Figure(go.Scatter(x=[1, 2], y=[1, 2], yaxis="y2")).update_layout(yaxis2={"overlaying": "y"}),
])
def test_unsupported_figures_fall_back(make):
    assert lite_spec(make()) is None


def test_web_files_exist_with_the_class_names_tests_select():
    js, css = LITE_JS.read_text(), LITE_CSS.read_text()
    assert "export default function" in js and 'dataset.ready = "1"' in js
    for name in ("alk-lite", "alk-lite-svg", "alk-lite-legend-item", "alk-lite-title"):
        assert name in js and f".{name}" in css


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
def test_lite_chart_js_parses_as_an_es_module(tmp_path):
    mod = tmp_path / "lite_chart.mjs"
    mod.write_text(LITE_JS.read_text())
    res = subprocess.run(["node", "--check", str(mod)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
