"""Matplotlib figures of the adversarial lessons (DAL, VAAL, WAAL): maps, matrices, curves, trade-offs.

Every builder returns a :class:`matplotlib.figure.Figure` and draws nothing it was not given: the
notebooks compute with alkit and hand the numbers over, so the same figures serve the lessons, the
tests (``Agg`` backend) and PNG exports.

* :func:`score_map_figure` — a function of the plane (a discriminator's P(u), VAAL's D on a 2-D
  latent, WAAL's critic) as a heatmap, with labeled / unlabeled / picked points on top;
* :func:`rank_correlation_figure` — an annotated Spearman matrix (DAL's ranking comparison);
* :func:`curves_figure` — one panel per quantity, one line per run (min–max dynamics, per-mini-query
  divergences);
* :func:`waal_query_figure` — WAAL's query plane: uncertainty bound against critic value, the picks,
  and the iso-score line of the last pick;
* :func:`tradeoff_figure` — how the picks' averages move with a trade-off weight (WAAL's η).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alkit.viz.mpl import show  # noqa: F401  (re-exported: lessons call <module>.show)

__all__ = [
    "MapPanel",
    "curves_figure",
    "grid_values",
    "rank_correlation_figure",
    "score_map_figure",
    "show",
    "tradeoff_figure",
    "waal_query_figure",
]

_STYLES = {
    "labeled": {"c": "#1f77b4", "marker": "o", "s": 14, "edgecolors": "white", "linewidths": 0.4},
    "unlabeled": {"c": "#bbbbbb", "marker": ".", "s": 6},
    "picked": {"c": "#d62728", "marker": "*", "s": 70, "edgecolors": "black", "linewidths": 0.5},
}


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def grid_values(fn: Callable[[Any], Any], extent: Sequence[float], resolution: int = 100
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate ``fn`` on a ``resolution × resolution`` grid over ``extent = (x0, x1, y0, y1)``.

    ``fn`` receives a float32 torch tensor of shape (resolution², 2) and returns (resolution²,) values
    (tensor or array). Returns ``(xs, ys, values)`` with ``values`` of shape (resolution, resolution).
    """
    import torch

    x0, x1, y0, y1 = (float(v) for v in extent)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"extent must be (x0, x1, y0, y1) with x1 > x0 and y1 > y0, got {tuple(extent)}")
    if resolution < 2:
        raise ValueError(f"resolution must be >= 2, got {resolution}")
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    gx, gy = np.meshgrid(xs, ys)
    pts = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32))
    with torch.no_grad():
        vals = _np(fn(pts)).reshape(-1)
    if vals.shape != (resolution * resolution,):
        raise ValueError(f"fn returned {vals.shape[0]} values for {resolution * resolution} grid points")
    return xs, ys, vals.reshape(resolution, resolution)


@dataclass
class MapPanel:
    """One panel of :func:`score_map_figure`.

    Attributes
    ----------
    title : str
    fn : callable or None
        Plane function drawn as a heatmap (see :func:`grid_values`); None draws the points only.
    points : dict
        ``{"labeled": xy, "unlabeled": xy, "picked": xy, ...}`` — (n, 2) arrays or tensors; the three
        names get fixed styles, any other name a default one (orange crosses), unless ``styles`` says.
    cbar : str
        Colour-bar label.
    vmin, vmax : float or None
        Colour range (None: the data's).
    cmap : str
    styles : dict
        Scatter keyword arguments per point-set name, replacing the default style of that name.
    """

    title: str
    fn: Callable[[Any], Any] | None = None
    points: dict[str, Any] = field(default_factory=dict)
    cbar: str = ""
    vmin: float | None = None
    vmax: float | None = None
    cmap: str = "viridis"
    styles: dict[str, dict[str, Any]] = field(default_factory=dict)


def score_map_figure(panels: Sequence[MapPanel], extent: Sequence[float], *, resolution: int = 100,
                     ncols: int | None = None, panel_size: float = 4.0, suptitle: str | None = None) -> Any:
    """Heatmaps of plane functions with point sets on top, one panel each (shared ``extent``)."""
    import matplotlib.pyplot as plt

    if not panels:
        raise ValueError("score_map_figure needs at least one panel")
    ncols = min(len(panels), 3) if ncols is None else int(ncols)
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols * 1.15, panel_size * nrows), squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    for ax, panel in zip(axes.ravel(), panels, strict=False):
        if panel.fn is not None:
            xs, ys, vals = grid_values(panel.fn, extent, resolution)
            mesh = ax.pcolormesh(xs, ys, vals, cmap=panel.cmap, vmin=panel.vmin, vmax=panel.vmax, shading="auto")
            fig.colorbar(mesh, ax=ax, fraction=0.046, pad=0.04, label=panel.cbar)
        for name in sorted(panel.points, key=lambda k: ("unlabeled", "labeled", "picked").index(k)
                           if k in ("unlabeled", "labeled", "picked") else -1):
            xy = _np(panel.points[name])
            if xy.size == 0:
                continue
            style = panel.styles.get(name) or _STYLES.get(name, {"c": "#ff7f0e", "marker": "x", "s": 18,
                                                                  "linewidths": 1.0})
            ax.scatter(xy[:, 0], xy[:, 1], label=f"{name} ({len(xy)})", **style)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_title(panel.title, fontsize=10)
        if panel.points:
            ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def rank_correlation_figure(names: Sequence[str], matrix: Any, *, title: str = "Spearman rank correlation",
                            fmt: str = "{:.2f}") -> Any:
    """An annotated ``len(names) × len(names)`` correlation heatmap on a fixed [-1, 1] diverging scale."""
    import matplotlib.pyplot as plt

    m = _np(matrix)
    k = len(names)
    if m.shape != (k, k):
        raise ValueError(f"matrix must be {k}×{k} for {k} names, got {m.shape}")
    fig, ax = plt.subplots(figsize=(1.0 + 0.85 * k, 0.6 + 0.75 * k))
    im = ax.imshow(m, cmap="RdBu_r", vmin=-1.0, vmax=1.0)
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    for i in range(k):
        for j in range(k):
            text = "n/a" if not np.isfinite(m[i, j]) else fmt.format(m[i, j])
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if np.isfinite(m[i, j]) and abs(m[i, j]) > 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="ρ")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def curves_figure(panels: Mapping[str, Mapping[str, Sequence[float]]], *, xlabel: str = "step",
                  x: Mapping[str, Sequence[float]] | None = None, hlines: Mapping[str, float] | None = None,
                  panel_size: float = 3.6, suptitle: str | None = None) -> Any:
    """One panel per quantity (``panels[title] = {series: values}``), one line per series.

    ``x`` optionally gives each series' x values (default ``0, 1, ...``); ``hlines[title]`` draws a
    dotted reference line in that panel.
    """
    import matplotlib.pyplot as plt

    if not panels:
        raise ValueError("curves_figure needs at least one panel")
    fig, axes = plt.subplots(1, len(panels), figsize=(panel_size * 1.3 * len(panels), panel_size), squeeze=False)
    for ax, (title, series) in zip(axes[0], panels.items(), strict=True):
        for name, values in series.items():
            v = _np(values)
            xs = _np(x[name]) if x is not None and name in x else np.arange(len(v))
            ax.plot(xs, v, marker="o" if len(v) <= 25 else None, ms=3, label=name)
        if hlines and title in hlines:
            ax.axhline(hlines[title], color="black", ls=":", lw=1)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def waal_query_figure(uncertainty: Any, critic: Any, picked: Any, eta: float, *, colour: Any = None,
                      colour_label: str = "", title: str | None = None,
                      xlim: tuple[float, float] | None = None) -> Any:
    r"""WAAL's query plane: each unlabeled point at (uncertainty bound :math:`U`, critic :math:`g`).

    WAAL queries the smallest :math:`s = U - \eta g`: the picks (``picked``, a boolean mask) lie left of
    / above the dashed iso-score line :math:`g = (U - s^\ast)/\eta` through the last pick (for η > 0).
    ``colour`` optionally colours the pool (e.g. the true class); ``xlim`` zooms on the uncertain end.
    """
    import matplotlib.pyplot as plt

    u, g, mask = _np(uncertainty), _np(critic), np.asarray(_np(picked), dtype=bool)
    if not (u.shape == g.shape == mask.shape) or u.ndim != 1:
        raise ValueError(f"uncertainty, critic and picked must be equal 1-D shapes, got {u.shape}, {g.shape}, {mask.shape}")
    fig, ax = plt.subplots(figsize=(6.2, 4.4))
    if colour is None:
        ax.scatter(u[~mask], g[~mask], s=6, c="#bbbbbb", label=f"pool ({int((~mask).sum())})")
    else:
        sc = ax.scatter(u[~mask], g[~mask], s=6, c=_np(colour)[~mask], cmap="tab10", alpha=0.6)
        fig.colorbar(sc, ax=ax, fraction=0.046, pad=0.04, label=colour_label)
    ax.scatter(u[mask], g[mask], **_STYLES["picked"], label=f"picked ({int(mask.sum())})")
    if eta > 0 and mask.any():
        s_star = float((u[mask] - eta * g[mask]).max())
        gl = np.array([g.min(), g.max()])
        ax.plot(s_star + eta * gl, gl, "k--", lw=1, label=r"$U-\eta g=s^\ast$")
    lo_hi = xlim if xlim is not None else (u.min() - 0.02 * np.ptp(u), u.max() + 0.02 * np.ptp(u))
    ax.set_xlim(*lo_hi)
    ax.set_xlabel(r"uncertainty bound $U$ (small = uncertain)")
    ax.set_ylabel(r"critic $g(f(x))$ (high = unlike the labeled set)")
    ax.set_title(title or f"WAAL query plane, η = {eta:g}", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def tradeoff_figure(x: Sequence[float], series: Mapping[str, Sequence[float]], *, xlabel: str = "η",
                    marker: float | None = None, title: str | None = None) -> Any:
    """Side-by-side panels of how each quantity of ``series`` moves with the trade-off weight ``x``.

    ``marker`` draws a vertical line at the value shown elsewhere (e.g. the slider's η).
    """
    import matplotlib.pyplot as plt

    if not series:
        raise ValueError("tradeoff_figure needs at least one series")
    xs = _np(x)
    fig, axes = plt.subplots(1, len(series), figsize=(3.8 * len(series), 3.3), squeeze=False)
    for ax, (name, values) in zip(axes[0], series.items(), strict=True):
        v = _np(values)
        if v.shape != xs.shape:
            raise ValueError(f"series {name!r} has {v.shape[0]} values for {xs.shape[0]} x values")
        ax.plot(xs, v, marker="o", ms=3)
        if marker is not None:
            ax.axvline(marker, color="#d62728", ls=":", lw=1)
        ax.set_xlabel(xlabel)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
