"""Per-round theory quantities and strategy internals read from a run's stored ``extras``.

Three families, each optional (a panel shows only what a run stored):

* ``extras["theory"]``: bound terms per round (labeled risk, proxy H-divergence,
  ``W1(L, U)``, test error, ...) written when a run enables the theory logging;
* WAAL's ``waal_*`` scalars (critic means on labeled / unlabeled data, the critic's W1 estimate, ...);
* DAL's per-mini-query lists (``h_divergence``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["theory_series", "split_theory", "waal_series", "dal_series", "series_figure", "dal_figure"]

Series = dict[str, tuple[list[int], list[float]]]


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _collect(rounds: Sequence[Mapping[str, Any]], pick: Any) -> Series:
    out: Series = {}
    for r in rounds:
        for name, v in pick(r.get("extras") or {}).items():
            f = _num(v)
            if f is None:
                continue
            xs, ys = out.setdefault(name, ([], []))
            xs.append(int(r["round"]))
            ys.append(f)
    return out


def theory_series(rounds: Sequence[Mapping[str, Any]]) -> Series:
    """``{term: (rounds, values)}`` for every numeric scalar in ``extras["theory"]``.

    Nested dicts are flattened with dots (``"bound.total"``); lists and non-numbers are skipped.
    """

    def pick(extras: Mapping[str, Any]) -> dict[str, Any]:
        th = extras.get("theory")
        if not isinstance(th, Mapping):
            return {}
        flat: dict[str, Any] = {}

        def walk(prefix: str, d: Mapping[str, Any]) -> None:
            for k, v in d.items():
                key = f"{prefix}{k}"
                if isinstance(v, Mapping):
                    walk(key + ".", v)
                else:
                    flat[key] = v

        walk("", th)
        return flat

    return _collect(rounds, pick)


def split_theory(series: Series) -> dict[str, Series]:
    """Group theory series for plotting: ``risk`` (risks and errors), ``divergence`` (W1, H-divergences and
    other distances between labeled and unlabeled data) and ``bookkeeping`` (counts such as ``n_labeled``,
    sizes, seconds), which would dwarf the others on a shared axis."""
    out: dict[str, Series] = {"risk": {}, "divergence": {}, "bookkeeping": {}}
    for name, val in series.items():
        leaf = name.rsplit(".", 1)[-1].lower()
        if leaf.startswith("n_") or "seconds" in leaf or leaf in ("seed", "max_points", "folds"):
            out["bookkeeping"][name] = val
        elif "risk" in leaf or "error" in leaf or "accuracy" in leaf:
            out["risk"][name] = val
        else:
            out["divergence"][name] = val
    return out


def waal_series(rounds: Sequence[Mapping[str, Any]]) -> Series:
    """WAAL's scalar internals (keys starting with ``waal_``) per round."""
    return _collect(rounds, lambda e: {k: v for k, v in e.items() if k.startswith("waal_")})


def dal_series(rounds: Sequence[Mapping[str, Any]]) -> dict[str, list[tuple[int, list[float]]]]:
    """DAL's per-mini-query lists per round: ``{"h_divergence": [(round, [values...]), ...]}``."""
    out: dict[str, list[tuple[int, list[float]]]] = {}
    for r in rounds:
        e = r.get("extras") or {}
        v = e.get("h_divergence")
        if isinstance(v, list) and v:
            vals = [f for f in (_num(x) for x in v) if f is not None]
            if vals:
                out.setdefault("h_divergence", []).append((int(r["round"]), vals))
    return out


def series_figure(series: Series, *, title: str = "", x_label: str = "round",
                  x_map: Mapping[int, float] | None = None, highlight: int | None = None) -> Any:
    """One line per series against rounds (or against ``x_map[round]``, e.g. the number of labels)."""
    import plotly.graph_objects as go

    if not series:
        raise ValueError("no series to plot")
    fig = go.Figure()
    for name, (xs, ys) in series.items():
        xv = [x_map.get(x, x) for x in xs] if x_map else xs
        fig.add_trace(go.Scatter(x=xv, y=ys, mode="lines+markers", name=name,
                                 hovertemplate=f"{name}<br>{x_label} %{{x}}<br>%{{y:.4g}}<extra></extra>"))
    if highlight is not None:
        fig.add_vline(x=x_map.get(highlight, highlight) if x_map else highlight, line_dash="dot", line_color="#888")
    fig.update_layout(title=title, xaxis_title=x_label, template="plotly_white", height=360, margin={"t": 45},
                      hovermode="x unified")
    return fig


def dal_figure(dal: Mapping[str, list[tuple[int, list[float]]]], *, title: str = "DAL: proxy H-divergence") -> Any:
    """DAL's proxy H-divergence per mini-query, one line per round (how separable L and U still are)."""
    import plotly.graph_objects as go

    rows = dal.get("h_divergence") or []
    if not rows:
        raise ValueError("no DAL h_divergence values in this run")
    fig = go.Figure()
    for r, vals in rows:
        fig.add_trace(go.Scatter(x=list(range(1, len(vals) + 1)), y=vals, mode="lines+markers", name=f"round {r}"))
    fig.update_layout(title=title, xaxis_title="mini-query", yaxis_title="proxy H-divergence",
                      template="plotly_white", height=340, margin={"t": 45})
    return fig
