"""The selected batch: image tiles, class histograms, and how spread out the queries are.

Distances are Euclidean, in whatever space the caller passes (the dashboard uses the model's
input space, which every stored run can reproduce without retraining).

* **within-batch mean distance** of a batch ``B``: the mean of ``||x_i - x_j||`` over pairs ``i < j``;
  a batch of near-duplicates scores near 0.
* **covering radius** of a labeled set ``L`` over points ``P``: ``max_{p in P} min_{l in L} ||p - l||``,
  the objective k-center greedy (core-set) minimises; it shrinks as ``L`` covers the pool.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "to_image",
    "upscale",
    "batch_rows",
    "is_wrong",
    "tile_caption",
    "framed",
    "image_grid_figure",
    "class_histogram_figure",
    "mean_pairwise_distance",
    "covering_radius",
    "diversity_by_round",
    "diversity_figure",
]


def to_image(x: Any, *, mean: Sequence[float] | None = None, std: Sequence[float] | None = None) -> np.ndarray | None:
    """One pool item as an ``(H, W, 3)`` uint8 picture, or None when it is not an image.

    Accepts ``(C, H, W)`` with C in {1, 3}, ``(H, W)``, or a flat vector whose length is a square
    of at least 16 (8x8 digits). The dataset's normalisation is undone when ``mean``/``std`` are given;
    otherwise values already in [0, 1] are used as they are and anything else is min-max scaled.
    """
    a = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float32)
    if a.ndim == 1:
        side = int(round(math.sqrt(a.size)))
        if a.size < 16 or side * side != a.size:
            return None
        a = a.reshape(1, side, side)
    elif a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[0] not in (1, 3):
        return None
    if mean is not None and std is not None:
        m = np.asarray(mean, np.float32).reshape(-1, 1, 1)
        s = np.asarray(std, np.float32).reshape(-1, 1, 1)
        a = a * s + m
    elif a.size and (a.min() < 0.0 or a.max() > 1.0):
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    a = np.clip(a, 0.0, 1.0)
    if a.shape[0] == 1:
        a = np.repeat(a, 3, axis=0)
    return (a.transpose(1, 2, 0) * 255.0 + 0.5).astype(np.uint8)


def upscale(img: np.ndarray, size: int = 120) -> np.ndarray:
    """Enlarge a small picture by an integer factor (nearest neighbour: 8x8 digits stay crisp, not blurred)."""
    k = max(1, int(size) // max(1, img.shape[0]))
    return img.repeat(k, axis=0).repeat(k, axis=1)


def batch_rows(
    indices: Sequence[int],
    scores: Sequence[float | None] | None,
    labels: Sequence[int | None] | None,
    *,
    predicted: Sequence[int] | None = None,
    true_labels: Any = None,
    class_names: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per queried item, highest score first (items without a score keep their query order, last).

    Keys: ``rank`` (query order, 1 = first), ``pool_index``, ``score``, ``oracle_label`` (the answer
    stored with the run), ``true_label`` (from ``true_labels`` when given), ``predicted`` (class the
    querying model predicted, when recorded), and their class names.
    """
    n = len(indices)
    scores = list(scores) if scores is not None else [None] * n
    labels = list(labels) if labels is not None else [None] * n
    if len(scores) != n or len(labels) != n:
        raise ValueError(f"indices ({n}), scores ({len(scores)}) and labels ({len(labels)}) differ in length")
    if predicted is not None and len(predicted) != n:
        raise ValueError(f"predicted has {len(predicted)} entries, expected {n}")

    def name(k: Any) -> str:
        if k is None:
            return "?"
        k = int(k)
        return class_names[k] if class_names is not None and 0 <= k < len(class_names) else str(k)

    rows = []
    for pos, (i, s, y) in enumerate(zip(indices, scores, labels)):
        t = None if true_labels is None else int(true_labels[int(i)])
        p = None if predicted is None else int(predicted[pos])
        rows.append({"rank": pos + 1, "pool_index": int(i),
                     "score": None if s is None or (isinstance(s, float) and math.isnan(s)) else float(s),
                     "oracle_label": None if y is None else int(y), "true_label": t, "predicted": p,
                     "oracle_name": name(y), "true_name": name(t), "predicted_name": name(p)})
    scored = [r for r in rows if r["score"] is not None]
    unscored = [r for r in rows if r["score"] is None]
    return sorted(scored, key=lambda r: (-r["score"], r["rank"])) + unscored


def is_wrong(row: Mapping[str, Any]) -> bool | None:
    """Whether the querying model's prediction of a batch row missed its true class (None: not recorded)."""
    truth = row.get("true_label") if row.get("true_label") is not None else row.get("oracle_label")
    if row.get("predicted") is None or truth is None:
        return None
    return int(row["predicted"]) != int(truth)


def tile_caption(row: Mapping[str, Any]) -> str:
    """The words under one tile: the true class, what the querying model predicted (✗ when wrong, ✓ when
    right) and the strategy's score, each only when it is known: ``"true 3 · model 7 ✗ · score 0.0432"``."""
    parts = []
    if row.get("true_label") is not None:
        parts.append(f"true {row['true_name']}")
    elif row.get("oracle_label") is not None:
        parts.append(f"label {row['oracle_name']}")
    wrong = is_wrong(row)
    if wrong is not None:
        parts.append(f"model {row['predicted_name']} {'✗' if wrong else '✓'}")
    if row.get("score") is not None:
        parts.append(f"score {row['score']:.3g}")
    return " · ".join(parts) or f"pool item {row.get('pool_index', '?')}"


def framed(img: np.ndarray, *, color: Sequence[int] = (214, 39, 40), width: int = 4) -> np.ndarray:
    """A copy of an ``(H, W, 3)`` uint8 picture with a ``width``-pixel frame of ``color`` (marks a wrong
    prediction on a tile; draw it after :func:`upscale` so it stays thin)."""
    a = np.asarray(img)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) picture, got shape {a.shape}")
    w = max(1, min(int(width), a.shape[0] // 2, a.shape[1] // 2))
    out = a.copy()
    c = np.asarray(color, dtype=out.dtype)
    out[:w], out[-w:], out[:, :w], out[:, -w:] = c, c, c, c
    return out


def image_grid_figure(images: Sequence[np.ndarray], captions: Sequence[str], *, ncols: int = 8,
                      tile_px: int = 110, title: str = "") -> Any:
    """A grid of ``(H, W, 3)`` uint8 tiles, each with its caption above it."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    if not images:
        raise ValueError("no images to show")
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=[html.escape(c) for c in captions],
                        horizontal_spacing=0.01, vertical_spacing=min(0.3 / nrows, 0.06))
    for k, img in enumerate(images):
        fig.add_trace(go.Image(z=img, hoverinfo="skip"), row=k // ncols + 1, col=k % ncols + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_annotations(font_size=10)
    fig.update_layout(title=title, height=nrows * (tile_px + 22) + (50 if title else 20),
                      margin={"l": 5, "r": 5, "t": 45 if title else 25, "b": 5}, template="plotly_white")
    return fig


def class_histogram_figure(batch_labels: Sequence[int], pool_labels: Sequence[int], num_classes: int, *,
                           class_names: Sequence[str] | None = None, title: str = "", batch_name: str = "batch") -> Any:
    """Class shares of the batch beside those of the pool (fractions, so different sizes compare); every class
    has its bar slot and tick label, also those the batch missed. ``batch_name`` names the batch's trace
    (``"initial set"`` for round 0)."""
    import plotly.graph_objects as go

    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    names = list(class_names) if class_names is not None else [str(k) for k in range(num_classes)]
    fig = go.Figure()
    for what, lab, color in (("pool", pool_labels, "#9e9e9e"), (batch_name, batch_labels, "#d62728")):
        arr = np.asarray([y for y in lab if y is not None], dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(f"{what} labels outside [0, {num_classes})")
        counts = np.bincount(arr, minlength=num_classes).astype(float)
        share = counts / counts.sum() if counts.sum() else counts
        fig.add_trace(go.Bar(x=names, y=share, name=f"{what} (n={arr.size})", marker_color=color,
                             customdata=counts, hovertemplate="%{x}: %{y:.1%} (%{customdata:.0f})<extra></extra>"))
    # a categorical axis: every class gets its own tick label (a numeric one labels 0, 2, 4, … only)
    fig.update_layout(barmode="group", title=title, yaxis_title="share", yaxis_tickformat=".0%",
                      xaxis={"type": "category", "title": "class"}, template="plotly_white", height=320,
                      margin={"t": 40 if title else 10}, legend={"orientation": "h"})
    return fig


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def mean_pairwise_distance(x: Any) -> float:
    """Mean Euclidean distance over pairs ``i < j`` of the rows of ``x``; NaN with fewer than 2 rows."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D array (items, dims), got shape {a.shape}")
    n = a.shape[0]
    if n < 2:
        return float("nan")
    d = np.sqrt(_sq_dists(a, a))
    return float(d[np.triu_indices(n, 1)].mean())


def covering_radius(points: Any, centers: Any, *, chunk: int = 2048) -> float:
    """``max_p min_c ||p - c||``: how far the worst-covered point is from its nearest centre.

    Exact (brute force, in chunks of ``chunk`` points so memory stays ``chunk x len(centers)``).
    """
    p = np.asarray(points, dtype=np.float64)
    c = np.asarray(centers, dtype=np.float64)
    if p.ndim != 2 or c.ndim != 2 or p.shape[1] != c.shape[1]:
        raise ValueError(f"points {p.shape} and centers {c.shape} must be 2-D with the same number of columns")
    if c.shape[0] == 0:
        raise ValueError("covering_radius needs at least one centre")
    if p.shape[0] == 0:
        return 0.0
    worst = 0.0
    for s in range(0, p.shape[0], max(1, int(chunk))):
        d = _sq_dists(p[s : s + chunk], c).min(1)
        worst = max(worst, float(d.max()))
    return math.sqrt(worst)


def diversity_by_round(x: Any, selections: Mapping[int, Sequence[int]], *, max_points: int = 5000,
                       seed: int = 0) -> dict[str, list]:
    """Per round: within-batch mean distance of the queried batch and covering radius of the labeled set.

    Parameters
    ----------
    x : array (N, ...)
        The pool (flattened to vectors).
    selections : {round: pool indices}
        Round 0 is the initial set.
    max_points : int
        The covering radius is measured over the whole pool when ``N <= max_points``, else over a
        seeded random subset of that size (reported as ``"pool_points"``).
    """
    a = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float32)
    a = a.reshape(a.shape[0], -1)
    n = a.shape[0]
    rng = np.random.default_rng(seed)
    probe = a if n <= max_points else a[np.sort(rng.choice(n, max_points, replace=False))]
    out: dict[str, list] = {"round": [], "batch_size": [], "mean_distance": [], "covering_radius": [], "n_labeled": []}
    labeled: list[int] = []
    for r in sorted(selections):
        idx = [int(i) for i in selections[r]]
        if idx and (min(idx) < 0 or max(idx) >= n):
            raise ValueError(f"round {r} selects pool indices outside [0, {n})")
        labeled.extend(idx)
        out["round"].append(int(r))
        out["batch_size"].append(len(idx))
        out["mean_distance"].append(mean_pairwise_distance(a[idx]) if len(idx) >= 2 else float("nan"))
        out["covering_radius"].append(covering_radius(probe, a[labeled]) if labeled else float("nan"))
        out["n_labeled"].append(len(labeled))
    out["pool_points"] = [int(probe.shape[0])]
    return out


def diversity_figure(div: Mapping[str, Sequence[float]], *, title: str = "", highlight: int | None = None) -> Any:
    """Two panels over rounds: within-batch mean distance and the covering radius of the labeled set."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("within-batch mean distance", "covering radius of labeled set"))
    for col, key, color in ((1, "mean_distance", "#d62728"), (2, "covering_radius", "#1f77b4")):
        fig.add_trace(go.Scatter(x=list(div["round"]), y=list(div[key]), mode="lines+markers", name=key,
                                 line={"color": color}, showlegend=False,
                                 hovertemplate="round %{x}<br>%{y:.4g}<extra></extra>"), row=1, col=col)
        if highlight is not None and highlight in div["round"]:
            k = list(div["round"]).index(highlight)
            fig.add_trace(go.Scatter(x=[highlight], y=[div[key][k]], mode="markers", showlegend=False,
                                     marker={"size": 13, "color": color, "symbol": "circle-open", "line": {"width": 3}},
                                     hoverinfo="skip"), row=1, col=col)
    fig.update_xaxes(title_text="round", dtick=max(1, math.ceil(len(div["round"]) / 12)))
    fig.update_layout(title=title, template="plotly_white", height=320, margin={"t": 50})
    return fig
