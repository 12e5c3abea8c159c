"""2-D maps of a model's features across active-learning rounds (dashboard and notebooks).

The map is fitted **once**, on the features of one reference round, and every other round's
features are pushed through the same fitted map (``transform``), so points move between rounds
only because the model's features moved, not because a new layout was drawn.

Caveat worth saying in a lecture: each round trains a fresh model, so two rounds' feature
spaces are related only through the data they were trained on. The fitted-once map shows how
the pool looks *through the reference round's lens*; it is an alignment, not an identity.

Methods: ``"umap"`` (umap-learn, the default the dashboard shows) and ``"pca"`` (exact, instant;
useful on slow machines). ``import umap`` compiles numba code on first use (tens of seconds),
so it is imported only when a UMAP map is fitted.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "METHODS",
    "STATUS_COLORS",
    "Projector",
    "RunEmbeddingMap",
    "subsample_keep",
    "point_status",
    "embedding_figure",
    "embedding_payload",
    "scatter_payload",
    "scatter_group",
    "STATUS_GROUPS",
    "sprite_sheet",
    "picked_pool_indices",
]

METHODS = ("umap", "pca")
STATUS_ORDER = ("unlabeled", "labeled", "selected")
STATUS_COLORS = {"unlabeled": "#b8b8b8", "labeled": "#1f77b4", "selected": "#d62728"}


def _as_features(x: Any, what: str = "features") -> np.ndarray:
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (points, dims), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{what} has no rows")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or inf")
    return arr


class Projector:
    """A 2-D map fitted once and reused for any number of ``transform`` calls.

    Parameters
    ----------
    method : {"umap", "pca"}
    n_neighbors, min_dist : UMAP parameters.
    n_epochs : int
        UMAP optimisation epochs of the fit.
    transform_epochs : int
        UMAP optimisation epochs of each ``transform`` (the points start at their neighbours' fitted positions).
    seed : int
        Seeds the fit subsample and UMAP (a seeded UMAP runs single-threaded: reproducible layouts).
    max_fit : int
        At most this many rows are used to fit (a seeded random subset); all rows can be transformed.

    Attributes
    ----------
    fit_seconds : float
        Wall time of :meth:`fit`. For UMAP it includes one tiny ``transform`` that compiles umap's
        transform code, and in a fresh process numba's compilation of the fit itself.
    """

    def __init__(self, method: str = "umap", *, n_neighbors: int = 15, min_dist: float = 0.1, n_epochs: int = 200,
                 transform_epochs: int = 30, seed: int = 0, max_fit: int = 5000) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown projection method {method!r}; valid: {', '.join(METHODS)}")
        if int(n_neighbors) < 2:
            raise ValueError(f"n_neighbors must be >= 2, got {n_neighbors}")
        if int(max_fit) < 3:
            raise ValueError(f"max_fit must be >= 3, got {max_fit}")
        self.method = method
        self.n_neighbors = int(n_neighbors)
        self.min_dist = float(min_dist)
        self.n_epochs = int(n_epochs)
        self.transform_epochs = int(transform_epochs)
        if self.n_epochs < 1 or self.transform_epochs < 1:
            raise ValueError(f"n_epochs and transform_epochs must be >= 1, got {n_epochs}, {transform_epochs}")
        self.seed = int(seed)
        self.max_fit = int(max_fit)
        self.fit_seconds = float("nan")
        self.dim: int | None = None
        self._umap: Any = None
        self._mean: np.ndarray | None = None
        self._components: np.ndarray | None = None
        self._fit_rows: np.ndarray | None = None  # the fitted features (to return the fit layout for them)
        self._fit_xy: np.ndarray | None = None

    @property
    def fitted(self) -> bool:
        return self.dim is not None

    def fit(self, features: Any) -> Projector:
        """Fit the map on ``features`` (M, d); returns ``self``."""
        x = _as_features(features)
        if x.shape[0] < 3:
            raise ValueError(f"a 2-D map needs at least 3 points, got {x.shape[0]}")
        t0 = time.perf_counter()
        if x.shape[0] > self.max_fit:
            rng = np.random.default_rng(self.seed)
            x = x[np.sort(rng.choice(x.shape[0], self.max_fit, replace=False))]
        if self.method == "pca":
            self._mean = x.mean(0)
            _, _, vt = np.linalg.svd(x - self._mean, full_matrices=False)
            comps = vt[:2]
            if comps.shape[0] < 2:  # 1-D features: pad a zero axis
                comps = np.vstack([comps, np.zeros_like(comps)])
            # Deterministic signs: the largest-magnitude loading of each axis is positive.
            signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(1)])
            signs[signs == 0] = 1.0
            self._components = (comps * signs[:, None]).astype(np.float32)
            self._fit_xy = (x - self._mean) @ self._components.T
        else:
            import umap  # noqa: PLC0415  (slow import: only when a UMAP map is wanted)

            n_nb = min(self.n_neighbors, x.shape[0] - 1)
            self._umap = umap.UMAP(n_components=2, n_neighbors=n_nb, min_dist=self.min_dist, n_epochs=self.n_epochs,
                                    random_state=self.seed, transform_seed=self.seed, n_jobs=1)
            self._fit_xy = np.asarray(self._umap.fit_transform(x), dtype=np.float32)
            # umap's transform optimises for n_epochs // 3 epochs; 30 is umap's own choice for large data
            # (a round change then optimises ``transform_epochs`` epochs, against the fit's ``n_epochs``).
            self._umap.n_epochs = 3 * self.transform_epochs
            # Compile umap's transform code now (numba, seconds on first use): it belongs to the one-off
            # cost of fitting, so the first round change is as fast as the later ones.
            self._umap.transform(x[: min(8, len(x))] + np.float32(1e-3))
        self._fit_rows = x
        self.dim = int(x.shape[1])
        self.fit_seconds = time.perf_counter() - t0
        return self

    def transform(self, features: Any) -> np.ndarray:
        """Map ``features`` (M, d) into the fitted 2-D frame; shape (M, 2), float32."""
        if not self.fitted:
            raise RuntimeError("the projector is not fitted; call fit() first")
        x = _as_features(features)
        if x.shape[1] != self.dim:
            raise ValueError(f"features have {x.shape[1]} dims but the map was fitted on {self.dim}-dim features "
                             "(another model architecture?)")
        if self._fit_rows is not None and x.shape == self._fit_rows.shape and np.array_equal(x, self._fit_rows):
            return self._fit_xy.copy()  # the fitted points keep their fitted layout
        if self.method == "pca":
            return ((x - self._mean) @ self._components.T).astype(np.float32)
        return np.asarray(self._umap.transform(x), dtype=np.float32)


def subsample_keep(n: int, n_show: int, keep: Sequence[int] | np.ndarray = (), seed: int = 0) -> np.ndarray:
    """Sorted row positions: every position in ``keep`` plus a seeded random fill up to ``n_show`` rows.

    The kept rows are never dropped, so the result is longer than ``n_show`` when ``keep`` is.
    """
    if n < 0 or n_show < 0:
        raise ValueError(f"n and n_show must be >= 0, got {n}, {n_show}")
    keep_arr = np.unique(np.asarray(keep, dtype=np.int64))
    if keep_arr.size and (keep_arr[0] < 0 or keep_arr[-1] >= n):
        raise ValueError(f"keep holds positions outside [0, {n})")
    if n_show >= n:
        return np.arange(n, dtype=np.int64)
    rest = np.setdiff1d(np.arange(n, dtype=np.int64), keep_arr, assume_unique=True)
    n_fill = max(0, n_show - keep_arr.size)
    rng = np.random.default_rng(seed)
    fill = rng.choice(rest, size=min(n_fill, rest.size), replace=False) if n_fill else np.empty(0, np.int64)
    return np.sort(np.concatenate([keep_arr, fill.astype(np.int64)]))


def point_status(pool_index: np.ndarray, labeled_before: Sequence[int], selected: Sequence[int]) -> np.ndarray:
    """``"selected"`` (queried this round), ``"labeled"`` (labeled in an earlier round) or ``"unlabeled"``."""
    pool_index = np.asarray(pool_index, dtype=np.int64)
    status = np.full(pool_index.shape, "unlabeled", dtype=object)
    status[np.isin(pool_index, np.asarray(list(labeled_before), dtype=np.int64))] = "labeled"
    status[np.isin(pool_index, np.asarray(list(selected), dtype=np.int64))] = "selected"
    return status


class RunEmbeddingMap:
    """Aligned 2-D coordinates of one stored run: fit once on ``ref_round``, transform the others, memoised.

    Thread-safe; the dashboard keeps one per (run, method, reference round) in its resource cache.
    """

    def __init__(self, store: Any, run_id: str, *, method: str = "umap", ref_round: int | None = None,
                 **projector_kw: Any) -> None:
        self.store = store
        self.run_id = store.resolve_run_id(run_id)
        rounds = [r["round"] for r in store.get_rounds(self.run_id) if r["has_embeddings"]]
        if not rounds:
            raise ValueError(f"run {self.run_id} stored no embeddings; start runs with store_embeddings > 0 "
                             "(`alkit run --store-embeddings 2000`, or the dashboard's Run page)")
        if ref_round is None:
            ref_round = rounds[-1]
        if ref_round not in rounds:
            raise ValueError(f"run {self.run_id} has no embeddings for round {ref_round}; rounds with some: {rounds}")
        self.ref_round = int(ref_round)
        self.projector = Projector(method, **projector_kw)
        self._coords: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()
        self.transform_seconds: dict[int, float] = {}

    @property
    def method(self) -> str:
        return self.projector.method

    def coords(self, round_idx: int) -> tuple[np.ndarray, np.ndarray]:
        """``(pool_index (M,), xy (M, 2))`` of a round; fits the map on first use."""
        with self._lock:
            if round_idx in self._coords:
                return self._coords[round_idx]
            if not self.projector.fitted:
                ref = self.store.get_embeddings(self.run_id, self.ref_round)
                self.projector.fit(ref[1])
            got = self.store.get_embeddings(self.run_id, round_idx)
            if got is None:
                raise ValueError(f"run {self.run_id} has no embeddings for round {round_idx}")
            t0 = time.perf_counter()
            xy = self.projector.transform(got[1])
            self.transform_seconds[round_idx] = time.perf_counter() - t0
            self._coords[round_idx] = (got[0], xy)
            return self._coords[round_idx]


def embedding_figure(
    xy: np.ndarray,
    pool_index: np.ndarray,
    status: np.ndarray,
    *,
    labels: Sequence[int] | np.ndarray | None = None,
    scores: dict[int, float] | None = None,
    class_names: Sequence[str] | None = None,
    title: str = "",
    webgl: bool | None = None,
) -> Any:
    """Scatter of a 2-D map, one trace per status (unlabeled grey, labeled blue, selected red, on top).

    Each point's ``customdata`` is ``[pool index, true class or -1, score or NaN]`` and its hover
    text shows them; :func:`picked_pool_indices` turns a Streamlit/plotly selection back into pool indices.
    ``webgl`` (``None``: when more than 3,000 points) draws with WebGL.
    """
    import plotly.graph_objects as go

    xy = np.asarray(xy, dtype=np.float32)
    pool_index = np.asarray(pool_index, dtype=np.int64)
    status = np.asarray(status, dtype=object)
    if xy.shape != (len(pool_index), 2) or status.shape != pool_index.shape:
        raise ValueError(f"xy {xy.shape}, pool_index {pool_index.shape} and status {status.shape} do not match")
    lab = np.full(len(pool_index), -1, np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
    if lab.shape != pool_index.shape:
        raise ValueError(f"labels has shape {lab.shape}, expected {pool_index.shape}")
    scores = scores or {}
    sc = np.array([scores.get(int(i), np.nan) for i in pool_index], dtype=float)
    use_gl = len(pool_index) > 3000 if webgl is None else webgl
    Scatter = go.Scattergl if use_gl else go.Scatter
    fig = go.Figure()
    sizes = {"unlabeled": 5, "labeled": 7, "selected": 11}
    for st in STATUS_ORDER:
        m = status == st
        if not m.any():
            continue
        names = [class_names[k] if class_names is not None and 0 <= k < len(class_names) else str(k) for k in lab[m]]
        text = [f"{html.escape(str(n))}" for n in names]
        fig.add_trace(Scatter(
            x=xy[m, 0], y=xy[m, 1], mode="markers", name=f"{st} ({int(m.sum())})",
            marker={"size": sizes[st], "color": STATUS_COLORS[st],
                    "line": {"width": 1, "color": "#400000"} if st == "selected" else {"width": 0},
                    "symbol": "diamond" if st == "selected" else "circle",
                    "opacity": 0.55 if st == "unlabeled" else 0.95},
            customdata=np.stack([pool_index[m], lab[m], sc[m]], axis=1), text=text,
            hovertemplate=("pool index %{customdata[0]}<br>class %{text}<br>score %{customdata[2]:.4g}"
                           f"<br>{st}<extra></extra>"),
        ))
    # No dragmode here: Streamlit's click-to-select only works in its default drag mode (the lasso and
    # box tools stay one click away in the chart's toolbar).
    fig.update_layout(title=title, template="plotly_white", legend={"orientation": "h", "y": -0.08},
                      xaxis={"showticklabels": False, "title": ""}, yaxis={"showticklabels": False, "title": ""},
                      margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10}, height=560)
    return fig


def sprite_sheet(images: Sequence[np.ndarray], *, max_cols: int = 64) -> tuple[bytes, int, int]:
    """Pack equally sized pictures into one PNG sprite sheet (row-major), as TensorBoard's projector does.

    Parameters
    ----------
    images : sequence of ``(H, W, 3)`` or ``(H, W)`` uint8 arrays, all of one size, H == W
        (what :func:`alkit.viz.batch.to_image` returns).
    max_cols : int
        Cells per row (the sheet has ``ceil(n / cols)`` rows).

    Returns
    -------
    (png_bytes, cols, tile)
        Image ``k`` sits at column ``k % cols``, row ``k // cols``, ``tile`` pixels square. A sheet
        whose pictures are all grey is stored as one channel (a third of the size).
    """
    from PIL import Image

    if len(images) == 0:
        raise ValueError("sprite_sheet needs at least one image")
    arrs = [np.asarray(im) for im in images]
    first = arrs[0]
    if first.ndim == 2:
        arrs = [a[..., None].repeat(3, axis=-1) if a.ndim == 2 else a for a in arrs]
        first = arrs[0]
    if first.ndim != 3 or first.shape[2] != 3 or first.shape[0] != first.shape[1]:
        raise ValueError(f"images must be square (H, W, 3) or (H, W) arrays, got shape {first.shape}")
    if any(a.shape != first.shape for a in arrs):
        raise ValueError("all images of a sprite sheet must have the same shape")
    if max_cols < 1:
        raise ValueError(f"max_cols must be >= 1, got {max_cols}")
    tile = int(first.shape[0])
    n = len(arrs)
    cols = min(max_cols, n)
    rows = -(-n // cols)
    sheet = np.zeros((rows * tile, cols * tile, 3), dtype=np.uint8)
    for k, a in enumerate(arrs):
        r, c = divmod(k, cols)
        sheet[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile] = a.astype(np.uint8, copy=False)
    grey = bool((sheet[..., 0] == sheet[..., 1]).all() and (sheet[..., 1] == sheet[..., 2]).all())
    img = Image.fromarray(sheet[..., 0] if grey else sheet, mode="L" if grey else "RGB")
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue(), cols, tile


_SYMBOLS = ("circle", "diamond", "square", "triangle", "x")


def scatter_group(name: str, color: str | None, *, size: float = 6.0, symbol: str = "circle",
                  opacity: float = 1.0, outline: str | None = None, outline_width: float = 1.0,
                  pickable: bool = True, legend: str | None = None) -> dict[str, Any]:
    """One group (legend entry, drawing style) of :func:`scatter_payload`; ``color=None`` draws a ring."""
    if symbol not in _SYMBOLS:
        raise ValueError(f"symbol must be one of {_SYMBOLS}, got {symbol!r}")
    if color is None and outline is None:
        raise ValueError(f"group {name!r} has neither a fill colour nor an outline: it would be invisible")
    if size <= 0 or not 0.0 <= opacity <= 1.0:
        raise ValueError(f"group {name!r}: size must be > 0 and opacity in [0, 1], got {size}, {opacity}")
    return {"name": str(name), "color": color, "size": float(size), "symbol": symbol, "opacity": float(opacity),
            "outline": outline, "outline_width": float(outline_width), "pickable": bool(pickable),
            "legend": legend}


def scatter_payload(
    xy: np.ndarray,
    ids: np.ndarray,
    group: np.ndarray,
    groups: Sequence[dict[str, Any]],
    *,
    labels: Sequence[int] | np.ndarray | None = None,
    scores: dict[int, float] | None = None,
    class_names: Sequence[str] | None = None,
    images: Sequence[np.ndarray] | None = None,
    background: dict[str, Any] | None = None,
    picked: Sequence[int] = (),
    title: str = "",
    height: int = 560,
) -> dict[str, Any]:
    """The JSON data of alkit's canvas scatter (``alkit/app/web/embedding_scatter.js``).

    Parameters
    ----------
    xy : (n, 2) coordinates.   ids : (n,) pool indices (what a click or lasso returns).
    group : (n,) int index into ``groups`` (from :func:`scatter_group`), drawn in that order, the last
        on top. A pool item may appear once per group it belongs to (e.g. "unlabeled" and "your pick").
    labels : (n,) true class per point (-1 unknown), shown on hover with ``class_names``.
    scores : pool index -> the strategy's score, shown on hover.
    images : one picture per point (or None): packed into one PNG sprite sheet so that hovering a
        point shows its image.
    background : ``{"src": data URL, "x0", "x1", "y0", "y1"}``, an image drawn under the points.
    picked : pool indices drawn with a ring (the current pick).

    Keys of the result: ``x``, ``y``, ``index``, ``group``, ``groups``, ``label``, ``score`` (None when
    unscored), ``classes``, ``sprite`` (data URL or None), ``tile``, ``cols``, ``n_images``,
    ``background``, ``picked``, ``title``, ``height``.
    """
    import base64

    xy = np.asarray(xy, dtype=np.float64)
    ids = np.asarray(ids, dtype=np.int64)
    group = np.asarray(group, dtype=np.int64)
    n = len(ids)
    if xy.shape != (n, 2) or group.shape != (n,):
        raise ValueError(f"xy {xy.shape}, ids {ids.shape} and group {group.shape} do not match")
    if not np.isfinite(xy).all():
        raise ValueError("xy contains NaN or inf")
    if not groups:
        raise ValueError("give at least one group")
    if n and (group.min() < 0 or group.max() >= len(groups)):
        raise ValueError(f"group ids must lie in [0, {len(groups)}), got {group.min()}..{group.max()}")
    lab = np.full(n, -1, np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
    if lab.shape != (n,):
        raise ValueError(f"labels has shape {lab.shape}, expected {(n,)}")
    if images is not None and len(images) != n:
        raise ValueError(f"images has {len(images)} entries for {n} points")
    if background is not None:
        missing = {"src", "x0", "x1", "y0", "y1"} - set(background)
        if missing:
            raise ValueError(f"background lacks {sorted(missing)}")
    scores = scores or {}

    def score(i: int) -> float | None:
        v = scores.get(int(i))
        return None if v is None or not np.isfinite(v) else float(v)

    sprite, cols, tile, n_images = None, 0, 0, 0
    if images is not None and n and all(im is not None for im in images):
        png, cols, tile = sprite_sheet(list(images))
        sprite, n_images = "data:image/png;base64," + base64.b64encode(png).decode("ascii"), n
    return {
        "x": [round(float(v), 5) for v in xy[:, 0]],
        "y": [round(float(v), 5) for v in xy[:, 1]],
        "index": ids.tolist(),
        "group": group.tolist(),
        "groups": [dict(g) for g in groups],
        "label": lab.tolist(),
        "score": [score(i) for i in ids],
        "classes": [str(c) for c in class_names] if class_names is not None else None,
        "sprite": sprite, "tile": tile, "cols": cols, "n_images": n_images,
        "background": None if background is None else {k: (v if k == "src" else float(v)) for k, v in background.items()},
        "picked": [int(i) for i in picked], "title": str(title), "height": int(height),
    }


#: The three groups of an embedding map: unlabeled (grey), labeled before this round (blue), selected now (red).
STATUS_GROUPS = (
    scatter_group("unlabeled", STATUS_COLORS["unlabeled"], size=5, opacity=0.55),
    scatter_group("labeled", STATUS_COLORS["labeled"], size=7, opacity=0.95),
    scatter_group("selected", STATUS_COLORS["selected"], size=12, symbol="diamond", outline="#400000"),
)


def embedding_payload(
    xy: np.ndarray,
    pool_index: np.ndarray,
    status: np.ndarray,
    *,
    labels: Sequence[int] | np.ndarray | None = None,
    scores: dict[int, float] | None = None,
    class_names: Sequence[str] | None = None,
    images: Sequence[np.ndarray] | None = None,
    picked: Sequence[int] = (),
    title: str = "",
    height: int = 560,
) -> dict[str, Any]:
    """:func:`scatter_payload` of an embedding map: same inputs as :func:`embedding_figure` plus ``images``.

    Points are ordered unlabeled, labeled, selected (the drawing order); ``group`` is 0, 1, 2 for them.
    """
    pool_index = np.asarray(pool_index, dtype=np.int64)
    status = np.asarray(status, dtype=object)
    if status.shape != pool_index.shape:
        raise ValueError(f"status {status.shape} and pool_index {pool_index.shape} do not match")
    bad = set(status.tolist()) - set(STATUS_ORDER)
    if bad:
        raise ValueError(f"unknown status value(s) {sorted(map(str, bad))}; expected {STATUS_ORDER}")
    codes = np.array([STATUS_ORDER.index(s) for s in status], dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    lab = None if labels is None else np.asarray(labels, dtype=np.int64)
    if lab is not None and lab.shape != pool_index.shape:
        raise ValueError(f"labels has shape {lab.shape}, expected {pool_index.shape}")
    if images is not None and len(images) != len(pool_index):
        raise ValueError(f"images has {len(images)} entries for {len(pool_index)} points")
    return scatter_payload(
        np.asarray(xy)[order] if len(order) else np.asarray(xy), pool_index[order], codes[order], STATUS_GROUPS,
        labels=None if lab is None else lab[order], scores=scores, class_names=class_names,
        images=None if images is None else [images[k] for k in order], picked=picked, title=title, height=height)


def _first_value(cd: Any) -> int | None:
    """The pool index in a point's ``customdata`` as the browser sent it (list, scalar, or a dict)."""
    if isinstance(cd, dict):
        if "bdata" in cd:  # a plotly typed array
            import base64

            arr = np.frombuffer(base64.b64decode(cd["bdata"]), dtype=np.dtype(cd.get("dtype", "f8")))
            return int(arr[0]) if arr.size else None
        vals = [cd[k] for k in sorted(cd, key=lambda k: int(k) if str(k).isdigit() else 0)]
        return _first_value(vals[0]) if vals else None
    if isinstance(cd, (list, tuple, np.ndarray)):
        return _first_value(cd[0]) if len(cd) else None
    try:
        return int(cd)
    except (TypeError, ValueError):
        return None


def picked_pool_indices(fig: Any, points: Sequence[dict]) -> list[int]:
    """Pool indices of selected points (Streamlit's ``event.selection.points``) of a figure whose point
    ``customdata[0]`` is a pool index (:func:`embedding_figure`, :func:`alkit.app.playground_figures.play_figure`).

    The figure's own customdata is looked up by ``(curve_number, point_index)``; the customdata the
    browser echoed back is the fallback. Points of traces without pool indices (a background) are skipped.
    """
    out: list[int] = []
    for p in points:
        idx = None
        curve = p.get("curve_number")
        pos = p.get("point_index", p.get("point_number"))
        if curve is not None and pos is not None and 0 <= curve < len(fig.data):
            cd = fig.data[curve].customdata
            if cd is None:
                continue  # e.g. the decision-region heatmap
            if 0 <= pos < len(cd):
                idx = _first_value(cd[pos])
        elif p.get("customdata") is not None:
            idx = _first_value(p["customdata"])
        if idx is not None and idx not in out:
            out.append(idx)
    return out
