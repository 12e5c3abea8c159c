"""alkit.viz.discriminators: the lessons' figure builders draw what they are given (Agg backend)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from alkit.viz.discriminators import (  # noqa: E402
    MapPanel,
    curves_figure,
    grid_values,
    rank_correlation_figure,
    score_map_figure,
    tradeoff_figure,
    waal_query_figure,
)


def test_grid_values_evaluates_the_function_on_the_grid():
    xs, ys, v = grid_values(lambda p: p[:, 0] + 10 * p[:, 1], (0, 1, -1, 1), resolution=5)
    assert v.shape == (5, 5)
    assert v[0, 0] == pytest.approx(0 - 10) and v[-1, -1] == pytest.approx(1 + 10)
    assert v[2, 4] == pytest.approx(xs[4] + 10 * ys[2])
    with pytest.raises(ValueError, match="extent"):
        grid_values(lambda p: p[:, 0], (1, 0, 0, 1))
    with pytest.raises(ValueError, match="grid points"):
        grid_values(lambda p: p[:3, 0], (0, 1, 0, 1), resolution=4)


def test_score_map_figure_has_one_axis_per_panel_and_the_points():
    pts = {"labeled": torch.zeros(3, 2), "unlabeled": np.ones((7, 2)), "picked": np.ones((2, 2))}
    fig = score_map_figure([MapPanel("a", fn=lambda p: p[:, 0], points=pts, cbar="P(u)"),
                            MapPanel("b", points=pts)], (-1, 2, -1, 2), resolution=10)
    visible = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert [ax.get_title() for ax in visible] == ["a", "b"]
    labels = [t.get_text() for t in visible[0].get_legend().get_texts()]
    assert labels == ["unlabeled (7)", "labeled (3)", "picked (2)"]
    with pytest.raises(ValueError):
        score_map_figure([], (0, 1, 0, 1))


def test_rank_correlation_figure_annotates_every_cell():
    m = np.array([[1.0, 0.5], [0.5, np.nan]])
    fig = rank_correlation_figure(["x", "y"], m)
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["0.50", "0.50", "1.00", "n/a"]
    with pytest.raises(ValueError, match="2×2"):
        rank_correlation_figure(["x", "y"], np.eye(3))


def test_curves_tradeoff_and_waal_query_figures():
    fig = curves_figure({"W": {"a": [0, 1, 2], "b": [2, 1]}, "GP": {"a": [1, 1, 1]}}, hlines={"GP": 0.0})
    assert [ax.get_title() for ax in fig.axes] == ["W", "GP"] and len(fig.axes[0].lines) == 2
    fig = tradeoff_figure([0, 1, 2], {"mean U": [1, 2, 3], "mean g": [0.1, 0.2, 0.3]}, marker=1)
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="values"):
        tradeoff_figure([0, 1], {"m": [1, 2, 3]})
    u, g = np.linspace(15, 40, 20), np.linspace(0, 1, 20)
    mask = np.zeros(20, dtype=bool)
    mask[:3] = True
    fig = waal_query_figure(u, g, mask, eta=5.0, colour=np.arange(20) % 10, colour_label="class")
    ax = fig.axes[0]
    assert any("picked (3)" == t.get_text() for t in ax.get_legend().get_texts())
    assert len(ax.lines) == 1  # the iso-score line
    with pytest.raises(ValueError, match="shapes"):
        waal_query_figure(u, g[:5], mask, eta=1.0)
