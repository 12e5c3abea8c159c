"""Figures of the "you are the strategy" game (:mod:`alkit.app.playground`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["play_figure", "play_payload", "decision_region_image", "gain_figure", "picker_colors", "gain_points"]

_CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
_PICKER_SYMBOLS = ["x", "triangle-up", "square", "star", "cross", "pentagon", "hexagram", "bowtie"]
#: Colours of the other pickers (Random first): none is a class colour of the toys' first classes (blue, orange,
#: green), so a strategy's pick never looks like a labeled point.
_PICKER_COLORS = ["#d62728", "#17becf", "#e7298a", "#7570b3", "#a6761d", "#66a61e", "#e6ab02", "#666666",
                  "#8c564b", "#bcbd22"]
YOU_COLOR = "#000000"


def picker_colors(names: Sequence[str]) -> dict[str, str]:
    """One distinct colour per picker, the same on the game's map and on the gain chart: ``you`` black (your
    pick is ringed in black), Random red, then each strategy the next colour in its order in ``names``."""
    out: dict[str, str] = {}
    others = [n for n in dict.fromkeys(names) if n != "you"]
    others.sort(key=lambda n: n != "random")  # Random first, the others in their given order
    for i, n in enumerate(others):
        out[n] = _PICKER_COLORS[i % len(_PICKER_COLORS)]
    if "you" in names:
        out["you"] = YOU_COLOR
    return out


def gain_points(gain: float) -> float:
    """An accuracy gain (a difference of fractions) in percentage points, the unit of chart and table alike."""
    return 100.0 * float(gain)


def play_figure(pg: Any, *, pick: Sequence[int] = (), others: Mapping[str, Sequence[int]] | None = None,
                grid_res: int = 70, title: str = "") -> Any:
    """The pool over the model's decision regions.

    Unlabeled points are grey (their classes are hidden: you are the strategy), labeled points
    carry their class colour, your current pick is ringed in black and ``others`` (picker -> points)
    are overlaid with one symbol per picker. Each pool point's ``customdata[0]`` is its pool index.
    """
    import plotly.graph_objects as go

    k = pg.num_classes
    xs, ys, probs = pg.grid_probs(grid_res)
    pred = probs.argmax(-1)
    conf = probs.max(-1)
    colors = [_CLASS_COLORS[c % len(_CLASS_COLORS)] for c in range(k)]
    # One colour band per class, from near-white (the model is unsure) to the class colour (it is sure):
    # z = predicted class + how confident, so one heatmap draws both the regions and the uncertain band.
    # (A contour trace would say the same but costs the browser seconds to draw.)
    scale = []
    for c in range(k):
        scale += [[c / k, "#fbfbfb"], [(c + 1) / k - 1e-6 if c < k - 1 else 1.0, colors[c]]]
    sure = np.clip((conf - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 0.999)
    fig = go.Figure()
    fig.add_trace(go.Heatmap(x=xs, y=ys, z=pred + sure, zmin=0, zmax=k, colorscale=scale, showscale=False,
                             opacity=0.35, hoverinfo="skip", name="prediction (darker: surer)", showlegend=True))
    x = pg.ds.x_train.numpy()
    y = pg.ds.y_train.numpy()
    lab = np.asarray(sorted(pg.labeled), dtype=np.int64)
    unl = np.asarray(pg.unlabeled(), dtype=np.int64)
    fig.add_trace(go.Scatter(x=x[unl, 0], y=x[unl, 1], mode="markers", name="unlabeled (click or lasso)",
                             marker={"size": 7, "color": "#9e9e9e", "opacity": 0.75}, customdata=unl[:, None],
                             hovertemplate="pool index %{customdata[0]}<extra></extra>"))
    for c in range(k):
        m = lab[y[lab] == c]
        if m.size:
            fig.add_trace(go.Scatter(x=x[m, 0], y=x[m, 1], mode="markers", name=f"labeled: {pg.ds.class_names[c]}",
                                     marker={"size": 11, "color": colors[c], "line": {"width": 1.5, "color": "white"}},
                                     customdata=m[:, None], hovertemplate="labeled %{customdata[0]}<extra></extra>"))
    if pick:
        p = np.asarray(list(pick), dtype=np.int64)
        fig.add_trace(go.Scatter(x=x[p, 0], y=x[p, 1], mode="markers", name=f"your pick ({len(p)})",
                                 marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "black"}},
                                 customdata=p[:, None], hovertemplate="your pick %{customdata[0]}<extra></extra>"))
    colors = picker_colors(list(others or {}))
    for i, (name, pts) in enumerate((others or {}).items()):
        p = np.asarray(list(pts), dtype=np.int64)
        if p.size:
            fig.add_trace(go.Scatter(x=x[p, 0], y=x[p, 1], mode="markers", name=f"{name}'s pick",
                                     marker={"size": 10, "symbol": _PICKER_SYMBOLS[i % len(_PICKER_SYMBOLS)],
                                             "color": colors[name], "line": {"width": 1}},
                                     customdata=p[:, None], hovertemplate=f"{name} %{{customdata[0]}}<extra></extra>"))
    x0, x1, y0, y1 = pg.bounds()
    # No dragmode: Streamlit's click-to-select needs its default; the lasso is in the chart's toolbar.
    fig.update_layout(title=title, template="plotly_white", height=520,
                      xaxis={"range": [x0, x1], "title": ""}, yaxis={"range": [y0, y1], "title": ""},
                      legend={"orientation": "h", "y": -0.1}, margin={"l": 10, "r": 10, "t": 40 if title else 10})
    return fig


def _hex_rgb(c: str) -> np.ndarray:
    c = c.lstrip("#")
    return np.array([int(c[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def decision_region_image(probs: np.ndarray, *, opacity: float = 0.35) -> np.ndarray:
    """The model's decision regions as an RGB picture, ``(rows, cols, 3)`` uint8, top row = highest y.

    ``probs`` is ``(len(ys), len(xs), K)`` on an ascending grid (:meth:`alkit.app.playground.Playground.grid_probs`).
    Each cell takes its predicted class's colour, faded towards white where the model is unsure
    (confidence 1/K: white, confidence 1: the class colour), then laid over white at ``opacity``:
    the same picture :func:`play_figure` draws with a heatmap.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 3 or probs.shape[-1] < 2:
        raise ValueError(f"probs must have shape (rows, cols, K>=2), got {probs.shape}")
    k = probs.shape[-1]
    colors = np.stack([_hex_rgb(_CLASS_COLORS[c % len(_CLASS_COLORS)]) for c in range(k)])
    pred = probs.argmax(-1)
    sure = np.clip((probs.max(-1) - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)[..., None]
    faint = _hex_rgb("#fbfbfb")
    mixed = faint * (1.0 - sure) + colors[pred] * sure
    rgb = 255.0 * (1.0 - opacity) + mixed * opacity
    return np.clip(rgb[::-1] + 0.5, 0, 255).astype(np.uint8)


def play_payload(pg: Any, *, pick: Sequence[int] = (), others: Mapping[str, Sequence[int]] | None = None,
                 grid_res: int = 70, title: str = "", height: int = 520) -> dict[str, Any]:
    """:func:`play_figure` as data for alkit's canvas scatter (the dashboard's Play page).

    Groups: unlabeled (grey, the only pickable one), labeled per class, "your pick" (black rings)
    and one group per other picker; the decision regions are the background image.
    """
    import base64
    import io

    from PIL import Image

    from alkit.viz.embedding import scatter_group, scatter_payload

    k = pg.num_classes
    xs, ys, probs = pg.grid_probs(grid_res)
    buf = io.BytesIO()
    Image.fromarray(decision_region_image(probs), mode="RGB").save(buf, format="PNG")
    dx = (float(xs[-1]) - float(xs[0])) / max(1, len(xs) - 1)
    dy = (float(ys[-1]) - float(ys[0])) / max(1, len(ys) - 1)
    background = {"src": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"),
                  "x0": float(xs[0]) - dx / 2, "x1": float(xs[-1]) + dx / 2,
                  "y0": float(ys[0]) - dy / 2, "y1": float(ys[-1]) + dy / 2}
    x = pg.ds.x_train.numpy()
    y = pg.ds.y_train.numpy()
    lab = np.asarray(sorted(pg.labeled), dtype=np.int64)
    unl = np.asarray(pg.unlabeled(), dtype=np.int64)
    groups = [scatter_group("unlabeled", "#9e9e9e", size=7, opacity=0.75, legend="unlabeled (click or lasso)")]
    parts: list[tuple[np.ndarray, int]] = [(unl, 0)]
    for c in range(k):
        m = lab[y[lab] == c]
        if m.size:
            groups.append(scatter_group(f"labeled: {pg.ds.class_names[c]}", _CLASS_COLORS[c % len(_CLASS_COLORS)],
                                        size=11, outline="white", outline_width=1.5, pickable=False))
            parts.append((m, len(groups) - 1))
    if len(pick):
        p = np.asarray(list(pick), dtype=np.int64)
        groups.append(scatter_group("your pick", None, size=16, outline="black", outline_width=3, pickable=False,
                                    legend=f"your pick ({len(p)})"))
        parts.append((p, len(groups) - 1))
    symbols = ["x", "triangle", "square", "diamond"]
    colors = picker_colors(list(others or {}))
    for i, (name, pts) in enumerate((others or {}).items()):
        p = np.asarray(list(pts), dtype=np.int64)
        if p.size:
            groups.append(scatter_group(f"{name}'s pick", colors[name], size=11,
                                        symbol=symbols[i % len(symbols)], outline="white", pickable=False))
            parts.append((p, len(groups) - 1))
    ids = np.concatenate([p for p, _ in parts])
    group = np.concatenate([np.full(len(p), g, dtype=np.int64) for p, g in parts])
    return scatter_payload(x[ids], ids, group, groups, background=background, title=title,
                           height=height)


def gain_figure(rows: Sequence[Mapping[str, Any]], *, title: str = "Accuracy gain of each pick") -> Any:
    """Bars of accuracy gain per picker in percentage points (:func:`gain_points`), each in its
    :func:`picker_colors` colour (the colour of its pick on the map), Random with ±1 std over its draws."""
    import plotly.graph_objects as go

    if not rows:
        raise ValueError("no comparison rows")
    names = [r["picker"] for r in rows]
    gains = [gain_points(r["gain"]) for r in rows]
    errs = [gain_points(r.get("gain_std", 0.0)) for r in rows]
    palette = picker_colors(names)
    colors = [palette[n] for n in names]
    fig = go.Figure(go.Bar(x=names, y=gains, marker_color=colors, error_y={"type": "data", "array": errs,
                                                                             "visible": any(errs)},
                           hovertemplate="%{x}: %{y:+.2f} points<extra></extra>"))
    fig.add_hline(y=0, line_color="#444", line_width=1)
    fig.update_layout(title=title, yaxis_title="accuracy gain (percentage points)", template="plotly_white",
                      height=340, margin={"t": 45})
    return fig
