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

__all__ = ["THEORY_TERMS", "THEORY_PANELS", "theory_series", "split_theory", "waal_series", "dal_series", "series_figure",
           "dal_figure", "term_name", "theory_panel_figures", "bound_decomposition", "bound_stack_figure"]

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


#: The stored theory terms (:func:`alkit.theory.theory_terms`): readable name and a one-line meaning.
THEORY_TERMS: dict[str, tuple[str, str]] = {
    "labeled_risk": ("labeled risk", "error of this round's model on the items it was trained on, the labeled set L "
                     "(0 to 1)"),
    "test_error": ("test error (measured unlabeled risk)", "error on the held-out test split, which stands in for the "
                   "risk on the unlabeled data U the bound is about (0 to 1)"),
    "proxy_h_divergence": ("proxy H-divergence, model features", "2(1 - 2ε), ε the cross-validated error of a linear "
                           "classifier that tells L from U on the model's features (0: cannot tell them apart, 2: "
                           "always can)"),
    "proxy_h_divergence_input": ("proxy H-divergence, input pixels", "the same on the raw inputs, a space that does not "
                                 "change from round to round (0 to 2)"),
    "domain_error": ("domain-classifier error ε", "that classifier's balanced error on the model's features (0.5: "
                     "chance, it cannot tell L from U)"),
    "w1_labeled_unlabeled": ("W1(L, U), model features", "Wasserstein-1 distance between the labeled and the unlabeled "
                             "items' features: how far, on average, L's mass must move to cover U (feature units)"),
    "w1_labeled_unlabeled_input": ("W1(L, U), input pixels", "the same distance between the raw inputs (pixel units, "
                                   "comparable across rounds)"),
}

#: The Theory page's panels: (title, y-axis title, y range or None, stored keys). Each quantity lives on an axis
#: of its own scale: risks and proxy H-divergences are bounded (0-1, 0-2), each W1 is a distance in its own units.
THEORY_PANELS: tuple[tuple[str, str, tuple[float, float] | None, tuple[str, ...]], ...] = (
    ("Risks", "error (0-1)", (0.0, 1.0), ("labeled_risk", "test_error")),
    ("Proxy H-divergence", "proxy H-divergence (0-2)", (0.0, 2.0), ("proxy_h_divergence", "proxy_h_divergence_input")),
    ("W1(L, U) in the model's features", "W1 (feature units)", None, ("w1_labeled_unlabeled",)),
    ("W1(L, U) in input space", "W1 (pixel units)", None, ("w1_labeled_unlabeled_input",)),
)


def term_name(key: str) -> str:
    """The readable name of a stored theory key (the key itself when it is not a known term)."""
    return THEORY_TERMS.get(key, (key, ""))[0]


def theory_panel_figures(series: Series, *, x_label: str = "round",
                         x_map: Mapping[int, float] | None = None) -> list[tuple[str, Any]]:
    """One figure per :data:`THEORY_PANELS` entry that has data: ``[(title, figure)]``.

    Traces are named by :func:`term_name`; bounded quantities get their full range (0-1, 0-2) so a value is
    read against its scale, not against a W1 of tens.
    """
    out = []
    for title, y_title, y_range, keys in THEORY_PANELS:
        part = {term_name(k): series[k] for k in keys if k in series}
        if not part:
            continue
        fig = series_figure(part, title=title, x_label=x_label, x_map=x_map)
        fig.update_layout(height=300, yaxis_title=y_title, legend={"orientation": "h"})
        if y_range is not None:
            fig.update_yaxes(range=list(y_range))
        else:
            fig.update_yaxes(rangemode="tozero")
        out.append((title, fig))
    return out


def bound_decomposition(series: Series, *, divergence: str = "proxy_h_divergence") -> list[dict[str, float]]:
    r"""How Ben-David et al.'s bound adds up, round by round, from the stored terms.

    The bound (Ben-David et al., 2010, Theorem 2) reads
    :math:`\varepsilon_U(h) \le \varepsilon_L(h) + \tfrac12 d_{\mathcal H\Delta\mathcal H}(L, U) + \lambda^\star`.
    Per round with ``labeled_risk``, ``test_error`` and ``divergence`` stored: ``labeled_risk``
    (:math:`\hat\varepsilon_L`), ``divergence_term`` (half the proxy H-divergence) and ``rest`` =
    ``test_error - labeled_risk - divergence_term``, so the three add up to ``test_error`` exactly. ``rest`` is
    what the two observed terms leave unexplained: the bound covers it with :math:`\lambda^\star` (the error of
    the best single model on L and U together, unknown without U's labels), the finite-sample term, and the gap
    between the proxy (a linear domain classifier) and :math:`d_{\mathcal H\Delta\mathcal H}`. A negative
    ``rest`` means the observed terms alone already exceed the measured risk.

    Returns
    -------
    list of dict
        ``round, labeled_risk, divergence_term, rest, test_error``, in round order; rounds missing a term are left out.
    """
    need = ("labeled_risk", "test_error", divergence)
    if not all(k in series for k in need):
        return []
    by = {k: dict(zip(*series[k])) for k in need}
    rows = []
    for r in sorted(set.intersection(*(set(v) for v in by.values()))):
        lab, test, div = by["labeled_risk"][r], by["test_error"][r], by[divergence][r]
        rows.append({"round": int(r), "labeled_risk": lab, "divergence_term": 0.5 * div,
                     "rest": test - lab - 0.5 * div, "test_error": test})
    return rows


def bound_stack_figure(rows: Sequence[Mapping[str, float]], *, x_label: str = "round",
                       x_map: Mapping[int, float] | None = None,
                       title: str = "How the bound adds up: labeled risk + ½ proxy H-divergence + the rest") -> Any:
    """Stacked bars of :func:`bound_decomposition` per round against the measured test error (a line).

    ``barmode="relative"``: a negative ``rest`` is drawn below zero, so the bars above zero reach the test error
    only when the observed terms fall short of it.
    """
    import plotly.graph_objects as go

    if not rows:
        raise ValueError("no rounds with labeled_risk, test_error and a proxy H-divergence to decompose")
    xs = [x_map.get(r["round"], r["round"]) if x_map else r["round"] for r in rows]
    fig = go.Figure()
    for key, name, color in (("labeled_risk", "labeled risk", "#1f77b4"),
                             ("divergence_term", "½ · proxy H-divergence (features)", "#ff7f0e"),
                             ("rest", "the rest (λ* + what the proxy misses)", "#bdbdbd")):
        fig.add_trace(go.Bar(x=xs, y=[r[key] for r in rows], name=name, marker_color=color,
                             hovertemplate=f"{name}<br>{x_label} %{{x}}<br>%{{y:.4f}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=xs, y=[r["test_error"] for r in rows], mode="lines+markers",
                             name="measured test error", line={"color": "#000000", "width": 2},
                             hovertemplate=f"test error<br>{x_label} %{{x}}<br>%{{y:.4f}}<extra></extra>"))
    fig.add_hline(y=0, line_color="#444", line_width=1)
    fig.update_layout(barmode="relative", title=title, xaxis_title=x_label, yaxis_title="error (0-1)",
                      template="plotly_white", height=360, margin={"t": 45}, legend={"orientation": "h"})
    return fig
