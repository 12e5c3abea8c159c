"""Plotly figures of learning curves, shared by the demo report, notebooks and the dashboard."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["learning_curve_figure", "write_report"]

_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
            "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def learning_curve_figure(
    curves: dict[str, Sequence[tuple[Sequence[int], Sequence[float]]]],
    *,
    title: str = "Accuracy against labels",
    band: str = "std",
) -> Any:
    """Mean accuracy per budget with a ±1 std band over seeds; Random is drawn dashed in black.

    Parameters
    ----------
    curves : dict
        strategy -> list over seeds of (n_labeled, accuracy) sequences (same budgets per strategy).
    band : {"std", "none"}
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (name, runs) in enumerate(curves.items()):
        if not runs:
            continue
        n = np.asarray(runs[0][0])
        acc = np.asarray([np.asarray(a, dtype=float)[: len(n)] for _, a in runs])
        mean = acc.mean(0)
        std = acc.std(0, ddof=1) if len(acc) > 1 else np.zeros_like(mean)
        color = "#000000" if name == "random" else _PALETTE[i % len(_PALETTE)]
        dash = "dash" if name == "random" else "solid"
        if band == "std" and len(acc) > 1:
            fig.add_trace(go.Scatter(
                x=np.concatenate([n, n[::-1]]), y=np.concatenate([mean + std, (mean - std)[::-1]]),
                mode="lines", fill="toself", fillcolor=_rgba(color, 0.12), line={"width": 0}, hoverinfo="skip",
                showlegend=False, legendgroup=name,
            ))
        fig.add_trace(go.Scatter(
            x=n, y=mean, mode="lines+markers", name=f"{name} (n={len(acc)})", legendgroup=name,
            line={"color": color, "dash": dash, "width": 2}, marker={"size": 5},
            hovertemplate=f"{html.escape(name)}<br>labels=%{{x}}<br>accuracy=%{{y:.4f}}<extra></extra>",
        ))
    fig.update_layout(title=title, xaxis_title="number of labeled items", yaxis_title="test accuracy",
                      template="plotly_white", hovermode="x unified", legend={"orientation": "v"})
    return fig


def write_report(path: str | Path, title: str, figures: Sequence[Any], table_rows: Sequence[dict[str, Any]],
                 notes: str = "") -> Path:
    """A self-contained HTML report (plotly.js embedded: opens offline) with figures and a results table."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f3f3f3}"
             "td:first-child{text-align:left}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    if notes:
        parts.append(f"<p>{html.escape(notes)}</p>")
    if table_rows:
        cols = list(table_rows[0].keys())
        parts.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr>")
        for row in table_rows:
            cells = []
            for c in cols:
                v = row[c]
                cells.append(f"<td>{v:.4f}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
    for i, fig in enumerate(figures):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    parts.append("</body></html>")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    tmp.replace(path)  # never leave a half-written report behind
    return path
