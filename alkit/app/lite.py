"""Plotly figures as small SVG charts for the dashboard: ``lite_spec(fig)`` + ``alkit/app/web/lite_chart.js``.

Why this exists: ``st.plotly_chart`` makes a fresh browser tab fetch and parse Streamlit's 4.7 MB
plotly.js chunk before the first chart is drawn, so a dashboard page opened in a new tab waited for it
(``python -m benchmarks.dashboard`` measures page-ready times; README, *Measured costs*). The dashboard's charts are simple (mean lines with ±std bands, grouped or
stacked bars), so :func:`lite_spec` turns such a figure into a compact JSON-safe dict and a small,
dependency-free SVG renderer (a Streamlit components-v2 module, :data:`LITE_JS` / :data:`LITE_CSS`)
draws it; no plotly.js is loaded for a page whose charts all convert.

Supported (anything else makes :func:`lite_spec` return ``None``):

* ``scatter`` traces: mode ``lines`` / ``markers`` / ``lines+markers`` / ``none`` (the default mode
  follows plotly: ``lines+markers`` under 20 points); line colour, dash (solid, dot, dash,
  longdash, dashdot, longdashdot) and width; one marker colour, size and symbol (circle, square,
  diamond and their ``-open`` forms); opacity; fill ``tozeroy`` / ``tonexty`` / ``toself`` with
  ``fillcolor``; NaN / None y values break the line;
* ``bar`` traces (vertical): one colour or one per bar, ``error_y`` of type ``data`` (``array``,
  ``arrayminus``), ``barmode`` group / stack / overlay / relative, ``bargap``;
* x values that are numbers or strings (strings give a categorical axis, except numeric strings,
  which plotly also reads as numbers); the y axis is linear;
* layout: title, height (default 450), axis title, range, ``tickformat`` (``.N%``, ``.Nf``, ``d``,
  ``,``), ``dtick`` / ``tick0``, ``showticklabels``, ``showgrid``, ``rangemode``, legend
  orientation (``h``: below the plot, else at the right), ``showlegend``, ``colorway``;
* ``shape`` lines (``add_hline`` / ``add_vline`` or lines in data coordinates);
* subplots in **one row** (``make_subplots(rows=1, cols=n)``), each panel with its own axes and its
  subplot title.

Ignored on purpose: the template, margins, hover templates and text (the chart's hover shows every
trace's value at the nearest x, like plotly's "x unified"). Returned ``None`` for: heatmaps,
images, 3-D and every other trace type, horizontal bars, log / date axes, subplot grids of more
than one row, shared or overlaying axes, annotations other than subplot titles, and any attribute
the renderer would otherwise silently drop.

plotly stays the engine everywhere else: the figure builders in :mod:`alkit.viz` still return
``go.Figure`` objects, notebooks and HTML reports draw them with plotly, and the dashboard falls
back to ``st.plotly_chart`` whenever :func:`lite_spec` returns ``None``.
"""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["lite_spec", "LITE_JS", "LITE_CSS", "PALETTE", "SCATTER_JS", "SCATTER_CSS"]

_WEB = Path(__file__).resolve().parent / "web"
#: The renderer (a Streamlit components-v2 ES module) and its stylesheet: file paths.
LITE_JS = _WEB / "lite_chart.js"
LITE_CSS = _WEB / "lite_chart.css"
#: The dashboard's canvas scatter of :mod:`alkit.viz.embedding` payloads (a components-v2 module): JS and CSS paths.
SCATTER_JS = _WEB / "embedding_scatter.js"
SCATTER_CSS = _WEB / "embedding_scatter.css"

#: plotly's default qualitative colour order, used for traces that set no colour.
PALETTE = ("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF",
           "#FECB52")

_DASHES = {"solid", "dot", "dash", "longdash", "dashdot", "longdashdot"}
_SYMBOLS = {"circle", "square", "diamond"}
_BARMODES = {"group", "stack", "overlay", "relative"}
_FILLS = {"none", "tozeroy", "tonexty", "toself"}
_TICKFORMAT = re.compile(r"^,?(\.\d+)?[%f]$|^,?d?$")
_AXIS_RE = re.compile(r"^([xy])axis(\d*)$")

# Keys that are read, or that change nothing the renderer draws; any other key means "not supported".
_LAYOUT_KEYS = {"template", "title", "height", "width", "autosize", "margin", "legend", "showlegend", "barmode",
                "bargap", "hovermode", "shapes", "annotations", "font", "uirevision", "dragmode", "plot_bgcolor",
                "paper_bgcolor", "colorway", "hoverlabel", "clickmode", "hoverdistance", "spikedistance"}
_AXIS_KEYS = {"title", "range", "autorange", "tickformat", "dtick", "tick0", "showticklabels", "type", "anchor",
              "domain", "showgrid", "zeroline", "gridcolor", "zerolinecolor", "zerolinewidth", "showline",
              "linecolor", "ticks", "automargin", "tickfont", "fixedrange", "rangemode", "side", "tickmode",
              "categoryorder", "ticklen", "tickcolor", "mirror", "layer", "showspikes", "spikemode"}
_COMMON_KEYS = {"type", "name", "x", "y", "x0", "dx", "showlegend", "legendgroup", "hovertemplate", "hoverinfo",
                "hovertext", "customdata", "uid", "meta", "opacity", "visible", "xaxis", "yaxis", "hoverlabel",
                "ids", "legendrank"}
_SCATTER_KEYS = _COMMON_KEYS | {"mode", "line", "marker", "fill", "fillcolor", "connectgaps", "text", "cliponaxis"}
_BAR_KEYS = _COMMON_KEYS | {"marker", "error_y", "orientation"}
_ANNOTATION_KEYS = {"text", "x", "y", "xref", "yref", "xanchor", "yanchor", "showarrow", "font"}
_SHAPE_KEYS = {"type", "x0", "x1", "y0", "y1", "xref", "yref", "line", "layer", "opacity", "name", "visible"}


class _Unsupported(Exception):
    """The figure uses something the lite renderer does not draw (the caller falls back to plotly)."""


def _need(cond: Any, why: str) -> None:
    if not cond:
        raise _Unsupported(why)


def _only(d: Any, allowed: set[str], what: str) -> dict:
    _need(isinstance(d, dict), f"{what} is not a mapping")
    extra = set(d) - allowed
    _need(not extra, f"{what}: unsupported {sorted(extra)}")
    return d


def _plain(v: Any) -> Any:
    """Plain Python values: numpy arrays and scalars, and plotly's typed arrays ({dtype, bdata, shape})."""
    if isinstance(v, dict):
        if "bdata" in v and "dtype" in v and set(v) <= {"dtype", "bdata", "shape"}:
            arr = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
            shape = v.get("shape")
            if shape is not None:
                arr = arr.reshape([int(s) for s in str(shape).strip("()[]").split(",") if s.strip()]
                                  if isinstance(shape, str) else list(shape))
            return arr.tolist()
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _text(v: Any) -> str:
    """plotly's pseudo-HTML title text as plain text: <br> -> space, other tags dropped, entities decoded."""
    if v is None:
        return ""
    if isinstance(v, dict):
        v = v.get("text")
        if v is None:
            return ""
    s = re.sub(r"<br\s*/?>", " ", str(v), flags=re.I)
    s = re.sub(r"</?(b|i|em|sup|sub|span|a)(\s[^>]*)?>", "", s, flags=re.I)
    return html.unescape(s)


def _num(v: Any, what: str) -> int | float | None:
    """A JSON-safe number: NaN / inf / None -> None; anything else than a number is unsupported."""
    if v is None:
        return None
    _need(isinstance(v, (int, float)) and not isinstance(v, bool), f"{what}: not a number ({v!r})")
    return v if isinstance(v, int) or math.isfinite(v) else None


def _number_like(s: str) -> int | float | None:
    try:
        f = float(s)
    except ValueError:
        return None
    if not math.isfinite(f):
        return None
    return int(f) if re.fullmatch(r"\s*[+-]?\d+\s*", s) else f


def _color(v: Any, what: str) -> str | None:
    if v is None:
        return None
    _need(isinstance(v, str), f"{what}: only one colour per trace")
    return v


def _axis(ax: dict, letter: str, name: str) -> dict:
    _only(ax, _AXIS_KEYS, name)
    kind = ax.get("type") or "-"
    _need(kind in ("-", "linear") or (letter == "x" and kind == "category"), f"{name}: type {kind!r}")
    _need(ax.get("autorange", True) in (True, False, None, "true", "false"), f"{name}: autorange {ax.get('autorange')!r}")
    _need(ax.get("side") in (None, "bottom" if letter == "x" else "left"), f"{name}: side")
    _need(ax.get("tickmode") in (None, "auto", "linear"), f"{name}: tickmode")
    _need(ax.get("categoryorder") in (None, "trace"), f"{name}: categoryorder")
    _need(ax.get("rangemode") in (None, "normal", "tozero"), f"{name}: rangemode")
    fmt = ax.get("tickformat") or ""
    _need(isinstance(fmt, str) and _TICKFORMAT.match(fmt), f"{name}: tickformat {fmt!r}")
    rng = ax.get("range")
    if rng is not None:
        _need(isinstance(rng, list) and len(rng) == 2, f"{name}: range")
        rng = [_num(r, f"{name}.range") for r in rng]
        rng = rng if None not in rng and rng[0] != rng[1] else None
    dtick = ax.get("dtick")
    if dtick is not None:
        dtick = _num(dtick, f"{name}.dtick")
        _need(dtick is None or dtick > 0, f"{name}: dtick")
    return {"title": _text(ax.get("title")), "range": rng, "tickformat": fmt, "dtick": dtick,
            "tick0": _num(ax.get("tick0"), f"{name}.tick0") or 0, "showticklabels": ax.get("showticklabels", True) is not False,
            "grid": ax.get("showgrid", True) is not False, "tozero": ax.get("rangemode") == "tozero",
            "category": kind == "category", "categories": None}


def _xy(tr: dict, what: str) -> tuple[list, list]:
    y = tr.get("y")
    _need(isinstance(y, list), f"{what}: y is not a list")
    x = tr.get("x")
    if x is None:
        x0, dx = tr.get("x0", 0), tr.get("dx", 1)
        _need(isinstance(x0, (int, float)) and isinstance(dx, (int, float)), f"{what}: x0 / dx")
        x = [x0 + dx * i for i in range(len(y))]
    _need(isinstance(x, list) and all(not isinstance(v, (list, dict)) for v in x), f"{what}: x is not a flat list")
    n = min(len(x), len(y))
    return x[:n], [_num(v, f"{what}.y") for v in y[:n]]


def _scatter(tr: dict, what: str, color: str) -> dict:
    _only(tr, _SCATTER_KEYS, what)
    x, y = _xy(tr, what)
    mode = tr.get("mode") or ("lines+markers" if len(x) < 20 else "lines")
    parts = set(mode.split("+"))
    _need(parts <= {"lines", "markers"} or mode == "none", f"{what}: mode {mode!r}")
    line = _only(tr.get("line") or {}, {"color", "dash", "width", "shape", "simplify", "smoothing"}, f"{what}.line")
    _need(line.get("shape") in (None, "linear"), f"{what}: line shape {line.get('shape')!r}")
    dash = line.get("dash") or "solid"
    _need(dash in _DASHES, f"{what}: dash {dash!r}")
    marker = _only(tr.get("marker") or {}, {"color", "size", "symbol", "opacity", "line"}, f"{what}.marker")
    mline = _only(marker.get("line") or {}, {"color", "width"}, f"{what}.marker.line")
    mcolor = _color(marker.get("color"), f"{what}.marker.color")
    lcolor = _color(line.get("color"), f"{what}.line.color") or mcolor or color
    symbol = marker.get("symbol") or "circle"
    _need(isinstance(symbol, str) and symbol.removesuffix("-open") in _SYMBOLS, f"{what}: marker symbol {symbol!r}")
    size = marker.get("size", 6)
    _need(isinstance(size, (int, float)) and not isinstance(size, bool), f"{what}: marker size")
    fill = tr.get("fill") or "none"
    _need(fill in _FILLS, f"{what}: fill {fill!r}")
    return {"type": "scatter", "x": x, "y": y, "mode": mode, "color": lcolor, "dash": dash,
            "width": _num(line.get("width", 2), f"{what}.line.width") or 0,
            "marker": {"color": mcolor or lcolor, "size": size, "symbol": symbol.removesuffix("-open"),
                       "open": symbol.endswith("-open"), "opacity": _num(marker.get("opacity", 1), "marker.opacity"),
                       "lineWidth": _num(mline.get("width", 0), "marker.line.width") or 0,
                       "lineColor": _color(mline.get("color"), "marker.line.color")},
            "fill": fill, "fillcolor": _color(tr.get("fillcolor"), f"{what}.fillcolor"),
            "connectgaps": bool(tr.get("connectgaps", False))}


def _bar(tr: dict, what: str, color: str) -> dict:
    _only(tr, _BAR_KEYS, what)
    _need(tr.get("orientation") in (None, "v"), f"{what}: horizontal bars")
    x, y = _xy(tr, what)
    marker = _only(tr.get("marker") or {}, {"color", "line", "opacity"}, f"{what}.marker")
    mline = _only(marker.get("line") or {}, {"color", "width"}, f"{what}.marker.line")
    mc = marker.get("color")
    if isinstance(mc, list):
        _need(all(isinstance(c, str) for c in mc), f"{what}: numeric bar colours (a colour scale)")
        mc = (mc + [color] * len(x))[: len(x)]
    else:
        mc = _color(mc, f"{what}.marker.color") or color
    out = {"type": "bar", "x": x, "y": y, "color": mc, "err": None, "errMinus": None, "errColor": "#2a3f5f",
           "lineWidth": _num(mline.get("width", 0.5), "marker.line.width") or 0,  # plotly's templates: white 0.5
           "lineColor": _color(mline.get("color"), "marker.line.color") or "#ffffff",
           "barOpacity": _num(marker.get("opacity", 1), "marker.opacity")}
    err = tr.get("error_y")
    if err:
        _only(err, {"type", "array", "arrayminus", "symmetric", "visible", "color", "thickness", "width"}, f"{what}.error_y")
        if err.get("visible", True) is not False:
            _need(err.get("type", "data") == "data" and isinstance(err.get("array"), list), f"{what}: error_y type")
            pad = [0] * len(x)  # plotly draws no error bar where the array is short
            out["err"] = ([_num(v, "error_y.array") or 0 for v in err["array"]] + pad)[: len(x)]
            if err.get("symmetric") is False and isinstance(err.get("arrayminus"), list):
                out["errMinus"] = ([_num(v, "error_y.arrayminus") or 0 for v in err["arrayminus"]] + pad)[: len(x)]
            out["errColor"] = _color(err.get("color"), "error_y.color") or out["errColor"]
    return out


def _panels(layout: dict, refs: set[int]) -> tuple[dict[int, dict], dict[int, list[float]]]:
    """Axes of each panel k (xaxis{k}, yaxis{k}); every panel must be one column of one row."""
    axes: dict[tuple[str, int], dict] = {}
    for key, ax in layout.items():
        m = _AXIS_RE.match(key)
        if m:
            axes[(m.group(1), int(m.group(2) or 1))] = ax or {}
    ks = sorted(refs | {k for _, k in axes})
    panels, domains = {}, {}
    for k in ks:
        xa, ya = axes.get(("x", k), {}), axes.get(("y", k), {})
        suffix = "" if k == 1 else str(k)
        for a in (xa, ya):
            _need(not {"matches", "overlaying", "scaleanchor"} & set(a), "linked axes")
        _need(xa.get("anchor") in (None, f"y{suffix}") and ya.get("anchor") in (None, f"x{suffix}"), "free axes")
        _need(list(ya.get("domain") or [0, 1]) == [0, 1], "a subplot grid with more than one row")
        panels[k] = {"x": _axis(xa, "x", f"xaxis{suffix}"), "y": _axis(ya, "y", f"yaxis{suffix}")}
        domains[k] = [float(d) for d in (xa.get("domain") or [0, 1])]
    spans = sorted(domains.values())
    _need(all(a[1] <= b[0] + 1e-9 for a, b in zip(spans, spans[1:])), "overlapping subplots")
    return panels, domains


def _ref(ref: Any, letter: str, n_panels: int) -> tuple[int, bool]:
    """A shape's xref / yref: (panel number, True if in axis-domain units)."""
    if ref in (None, "paper"):
        _need(n_panels == 1, "paper-referenced shapes on subplots")
        return 1, True
    m = re.fullmatch(rf"{letter}(\d*)( domain)?", str(ref))
    _need(m, f"shape ref {ref!r}")
    return int(m.group(1) or 1), bool(m.group(2))


def _category_axis(panel: dict, traces: list[dict]) -> None:
    """Decide numeric vs categorical x for one panel (numeric strings count as numbers, as in plotly)."""
    xs = [v for t in traces for v in t["x"] if v is not None]
    _need(all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in xs), "x values of another type")
    ax = panel["x"]
    if ax["category"] or (any(isinstance(v, str) for v in xs)
                          and not all(isinstance(v, str) and _number_like(v) is not None for v in xs)):
        _need(ax["category"] or all(isinstance(v, str) for v in xs), "numbers and strings mixed on one x axis")
        _need(ax["category"] or not any(re.match(r"^\d{4}-\d\d", v) for v in xs), "date strings on the x axis")
        cats: dict[str, None] = {}
        for t in traces:
            t["x"] = [None if v is None else str(v) for v in t["x"]]
            cats.update((v, None) for v in t["x"] if v is not None)
        ax["categories"] = list(cats)
    else:
        for t in traces:
            t["x"] = [_num(_number_like(v) if isinstance(v, str) else v, "x") for v in t["x"]]


def _spec(fig: Any) -> dict:
    d = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else dict(fig)
    d = _plain({"data": d.get("data") or [], "layout": d.get("layout") or {}})
    layout, data = d["layout"], d["data"]
    for key in layout:
        _need(key in _LAYOUT_KEYS or _AXIS_RE.match(key), f"layout.{key}")
    colorway = layout.get("colorway") or list(PALETTE)
    traces, refs = [], set()
    for i, tr in enumerate(data):
        kind = tr.get("type", "scatter")
        what = f"trace {i} ({kind})"
        _need(kind in ("scatter", "bar"), f"{what}: trace type")
        if tr.get("visible", True) is False:
            continue
        _need(tr.get("visible", True) in (True, "legendonly"), f"{what}: visible")
        xr, yr = tr.get("xaxis") or "x", tr.get("yaxis") or "y"
        mx, my = re.fullmatch(r"x(\d*)", xr), re.fullmatch(r"y(\d*)", yr)
        _need(mx and my and mx.group(1) == my.group(1), f"{what}: axes {xr}/{yr} (only one row of subplots)")
        color = colorway[i % len(colorway)]
        t = _scatter(tr, what, color) if kind == "scatter" else _bar(tr, what, color)
        hoverinfo = tr.get("hoverinfo")
        t.update({"panel": int(mx.group(1) or 1), "name": _text(tr.get("name", f"trace {i}")),
                  "showlegend": tr.get("showlegend", True) is not False, "group": str(tr.get("legendgroup") or ""),
                  "opacity": _num(tr.get("opacity", 1), f"{what}.opacity"), "hover": hoverinfo not in ("skip", "none"),
                  "visible": tr.get("visible", True)})
        traces.append(t)
        refs.add(t["panel"])
    panels, domains = _panels(layout, refs)
    order = sorted(panels, key=lambda k: domains[k][0])
    index = {k: j for j, k in enumerate(order)}
    for k in order:
        _category_axis(panels[k], [t for t in traces if t["panel"] == k])
    for t in traces:
        t["panel"] = index[t["panel"]]
    # subplot titles are the only annotations drawn (as panel titles)
    titles = {}
    for a in layout.get("annotations") or []:
        _only(a, _ANNOTATION_KEYS, "annotation")
        _need(a.get("xref") == "paper" and a.get("yref") == "paper" and a.get("showarrow") is False
              and a.get("yanchor") == "bottom" and abs(float(a.get("y", 0)) - 1.0) < 1e-6, "annotation (not a subplot title)")
        hit = [k for k in order if abs(float(a.get("x", -1)) - sum(domains[k]) / 2) < 1e-6]
        _need(hit and hit[0] not in titles, "annotation (not a subplot title)")
        titles[hit[0]] = _text(a.get("text"))
    shapes = []
    for s in layout.get("shapes") or []:
        _only(s, _SHAPE_KEYS, "shape")
        _need(s.get("type", "line") == "line", f"shape type {s.get('type')!r}")
        if s.get("visible", True) is False:
            continue
        (kx, xdom), (ky, ydom) = _ref(s.get("xref"), "x", len(panels)), _ref(s.get("yref"), "y", len(panels))
        _need(kx == ky and kx in panels, "a shape across subplots")
        line = _only(s.get("line") or {}, {"color", "width", "dash"}, "shape.line")
        _need((line.get("dash") or "solid") in _DASHES, "shape dash")
        _need(not (panels[kx]["x"]["categories"] and not xdom), "shapes on a categorical axis")
        shapes.append({"panel": index[kx], "x0": _num(s.get("x0"), "shape.x0"), "x1": _num(s.get("x1"), "shape.x1"),
                       "y0": _num(s.get("y0"), "shape.y0"), "y1": _num(s.get("y1"), "shape.y1"), "xdom": xdom,
                       "ydom": ydom, "color": _color(line.get("color"), "shape.line.color") or "#444",
                       "width": _num(line.get("width", 2), "shape.line.width") or 0, "dash": line.get("dash") or "solid",
                       "below": s.get("layer") == "below", "opacity": _num(s.get("opacity", 1), "shape.opacity")})
        _need(None not in (shapes[-1]["x0"], shapes[-1]["x1"], shapes[-1]["y0"], shapes[-1]["y1"]), "shape ends")
    barmode = layout.get("barmode") or "group"
    _need(barmode in _BARMODES, f"barmode {barmode!r}")
    legend = layout.get("legend") or {}
    entries = sum(1 for t in traces if t["showlegend"])
    show = layout.get("showlegend")
    height = _num(layout.get("height"), "height") or 450
    bargap = _num(layout.get("bargap"), "bargap")
    return {
        "version": 1,
        "title": _text(layout.get("title")),
        "height": int(height),
        "barmode": barmode,
        "bargap": 0.2 if bargap is None else bargap,
        "legend": {"orientation": "h" if legend.get("orientation") == "h" else "v",
                   "show": entries > 0 and (show is True or (show is None and entries > 1))},
        "panels": [{**panels[k], "domain": domains[k], "title": titles.get(k, "")} for k in order],
        "traces": traces,
        "shapes": shapes,
    }


def lite_spec(fig: Any) -> dict | None:
    """The lite renderer's JSON-safe spec of a plotly figure, or None if the figure uses anything unsupported.

    ``fig`` is a ``plotly.graph_objects.Figure`` (or its ``to_plotly_json()`` dict). Numbers come back
    as plain Python ints / floats, NaN and inf as None (a gap), so ``json.dumps(spec, allow_nan=False)``
    works; traces keep plotly's order, x values (category strings or numbers) and y values.
    """
    try:
        return _spec(fig)
    except _Unsupported:
        return None
