"""2-D maps of a pool across active-learning rounds (dashboard and notebooks).

Each round trains a fresh model, so two rounds' features live in different spaces: a map fitted on
one round's features cannot honestly place another round's features. The maps here say which space
they draw:

``"aligned"`` (:func:`aligned_umap_map`)
    umap-learn's ``AlignedUMAP`` over a run's rounds: one UMAP per round, each of that round's own
    model features, drawn in its own slice; consecutive slices are pulled into register through the
    pool items both rounds stored (the relations), so an item moves between slices only as far as its
    neighbourhood changed.
``"input"`` (:func:`input_space_map`)
    one map of the dataset's raw inputs: the same for every round and for every run of that dataset,
    so two strategies can be compared point for point.
``"round"`` (:func:`round_space_map`)
    one round's model features: every point is placed by that round's model; other rounds change only
    which points are labeled and selected.

Methods: ``"umap"`` (umap-learn) and ``"pca"`` (exact, instant). ``import umap`` compiles numba code on
first use; :func:`import_umap` switches on numba's on-disk cache for umap's compiled functions (only one
of them asks for it), so a second process loads them instead of compiling (``NUMBA_CACHE_DIR`` picks the
folder). Computed layouts are kept on disk by :func:`cached_layout`, keyed by a hash of the data and the
parameters. :class:`Projector` (fit once, ``transform`` later) is used only within one space: the input
map places pool items outside its fitted subset with it.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "METHODS",
    "SPACES",
    "MapLayout",
    "import_umap",
    "round_relations",
    "aligned_umap_map",
    "input_space_map",
    "round_space_map",
    "array_digest",
    "layout_key",
    "cached_layout",
    "class_colors",
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
SPACES = ("aligned", "input", "round")
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
            umap = import_umap()
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


# ------------------------------------------------------------------ numba's cache for umap
_UMAP_CACHE_LOCK = threading.Lock()
_UMAP_CACHE_ON = False


def import_umap() -> Any:
    """``import umap``, with numba's on-disk cache switched on for umap's own compiled functions.

    umap-learn 0.5 asks numba to cache only one of its functions (``layouts.rdist``); pynndescent, which
    it uses for neighbours, caches most of its own. The functions of umap's modules that are not cached
    are switched to caching here (numba's ``Dispatcher.enable_caching``) before anything is compiled, so
    a later process loads the machine code from the cache instead of compiling it again. The cache lives
    in ``$NUMBA_CACHE_DIR`` when set (the dashboard sets ``<workspace>/cache/numba``), else next to
    umap's files or in numba's per-user folder. A function numba cannot cache stays as it was.
    ``AlignedUMAP``'s epoch function is built afresh by umap on every fit, so it is compiled every time.
    """
    global _UMAP_CACHE_ON
    import umap  # noqa: PLC0415  (slow import: only when a UMAP map is wanted)

    with _UMAP_CACHE_LOCK:
        if not _UMAP_CACHE_ON:
            _UMAP_CACHE_ON = True
            try:
                import importlib

                from numba.core.caching import NullCache
                from numba.core.registry import CPUDispatcher
            except ImportError:  # another numba layout: leave umap as it is
                return umap
            for name in ("umap_", "layouts", "distances", "sparse", "utils", "spectral", "aligned_umap"):
                try:
                    mod = importlib.import_module(f"umap.{name}")
                except ImportError:
                    continue
                for obj in list(vars(mod).values()):
                    if isinstance(obj, CPUDispatcher) and isinstance(getattr(obj, "_cache", None), NullCache) \
                            and not obj.overloads:
                        try:
                            obj.enable_caching()
                        except Exception:  # noqa: BLE001 - numba found no cache folder for it
                            pass
    return umap


# ------------------------------------------------------------------ the three spaces
@dataclass
class MapLayout:
    """2-D coordinates of pool items, for one space.

    ``coords`` maps a round to ``(pool_index (M,), xy (M, 2))``. A layout shared by every round (the
    input space, one round's model) holds one entry under the key ``-1``; :meth:`at` returns it for any
    round. ``info`` says what was fitted (``seconds``, ``n_fit``, ``n_points``, ...).
    """

    space: str
    method: str
    coords: dict[int, tuple[np.ndarray, np.ndarray]]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def shared(self) -> bool:
        return list(self.coords) == [-1]

    @property
    def rounds(self) -> list[int]:
        return sorted(self.coords)

    def at(self, round_idx: int) -> tuple[np.ndarray, np.ndarray]:
        """``(pool_index, xy)`` drawn for ``round_idx``."""
        if self.shared:
            return self.coords[-1]
        if int(round_idx) not in self.coords:
            raise ValueError(f"this {self.space} map has no slice for round {round_idx}; it has {self.rounds}")
        return self.coords[int(round_idx)]


def _pool_index(x: Any, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.int64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    if len(np.unique(arr)) != len(arr):
        raise ValueError(f"{what} holds a pool index twice")
    return arr


def round_relations(pool_indices: Sequence[Any]) -> list[dict[int, int]]:
    """AlignedUMAP's relations: for rounds ``t`` and ``t + 1``, ``{row in t: row in t + 1}`` of every pool
    item stored in both (rows are positions in each round's arrays)."""
    idx = [_pool_index(p, f"pool_indices[{t}]") for t, p in enumerate(pool_indices)]
    out = []
    for t in range(len(idx) - 1):
        _, ia, ib = np.intersect1d(idx[t], idx[t + 1], assume_unique=True, return_indices=True)
        if not len(ia):
            raise ValueError(f"slices {t} and {t + 1} share no pool item: there is nothing to align them by")
        order = np.argsort(ia)
        out.append(dict(zip(ia[order].tolist(), ib[order].tolist())))
    return out


def _umap_kw(n_points: int, n_neighbors: int) -> int:
    if int(n_neighbors) < 2:
        raise ValueError(f"n_neighbors must be >= 2, got {n_neighbors}")
    return max(2, min(int(n_neighbors), n_points - 1))


def aligned_umap_map(
    features: Sequence[Any],
    pool_indices: Sequence[Any],
    rounds: Sequence[int],
    *,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    n_epochs: int = 200,
    alignment_regularisation: float = 1e-2,
    window: int = 3,
    seed: int = 0,
) -> MapLayout:
    """umap-learn's ``AlignedUMAP`` over rounds: slice ``t`` places round ``rounds[t]``'s stored items by
    that round's own features (``features[t]``, shape ``(M_t, d_t)``; the dims may differ between
    rounds); consecutive slices are aligned through the pool items they share (:func:`round_relations`).

    One round gives a plain UMAP of it. The slices keep each round's row order (``pool_indices[t]``).
    Seeded: the same inputs give the same layout (umap then runs single-threaded).
    """
    if len(features) != len(pool_indices) or len(features) != len(rounds):
        raise ValueError(f"features ({len(features)}), pool_indices ({len(pool_indices)}) and rounds "
                         f"({len(rounds)}) must have one entry per round")
    if not len(features):
        raise ValueError("an aligned map needs at least one round")
    xs = [_as_features(f, f"features of round {r}") for f, r in zip(features, rounds)]
    idx = [_pool_index(p, f"pool index of round {r}") for p, r in zip(pool_indices, rounds)]
    for x, i, r in zip(xs, idx, rounds):
        if len(x) != len(i):
            raise ValueError(f"round {r}: {len(x)} feature rows but {len(i)} pool indices")
        if len(x) < 3:
            raise ValueError(f"round {r}: a 2-D map needs at least 3 points, got {len(x)}")
    t0 = time.perf_counter()
    if len(xs) == 1:
        p = Projector("umap", n_neighbors=n_neighbors, min_dist=min_dist, n_epochs=n_epochs, seed=seed,
                      max_fit=len(xs[0]))
        slices = [p.fit(xs[0])._fit_xy]
    else:
        rel = round_relations(idx)
        umap = import_umap()
        au = umap.AlignedUMAP(n_neighbors=_umap_kw(min(len(x) for x in xs), n_neighbors), min_dist=min_dist,
                              n_epochs=int(n_epochs), alignment_regularisation=float(alignment_regularisation),
                              alignment_window_size=int(window), random_state=seed, transform_seed=seed)
        import warnings

        with warnings.catch_warnings():  # "n_jobs overridden by random_state": seeded means single-threaded
            warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
            au.fit(xs, relations=rel)
        slices = [np.asarray(e, dtype=np.float32) for e in au.embeddings_]
    coords = {}
    for r, i, xy in zip(rounds, idx, slices):
        ok = np.isfinite(xy).all(axis=1)  # umap leaves a point with no neighbour at NaN
        coords[int(r)] = (i[ok], np.ascontiguousarray(xy[ok], dtype=np.float32))
    return MapLayout("aligned", "umap", coords, {
        "seconds": time.perf_counter() - t0, "n_points": int(sum(len(i) for i in idx)),
        "n_fit": int(max(len(i) for i in idx)), "dropped": int(sum(len(i) for i in idx) - sum(len(c[0]) for c in coords.values())),
        "rounds": [int(r) for r in rounds]})


def input_space_map(
    x: Any,
    *,
    method: str = "umap",
    max_fit: int = 5000,
    seed: int = 0,
    chunk: int = 10_000,
    **projector_kw: Any,
) -> MapLayout:
    """One map of the dataset's raw inputs ``x`` (pool items x any shape; flattened), the same for every
    round and every run of the dataset. The map is fitted on at most ``max_fit`` items (a seeded subset);
    the other items are placed into the same fitted map (``transform``, same space)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim < 2:
        raise ValueError(f"inputs must have shape (items, ...), got {arr.shape}")
    flat = _as_features(arr.reshape(len(arr), -1), "inputs")
    t0 = time.perf_counter()
    p = Projector(method, seed=seed, max_fit=max_fit, **projector_kw).fit(flat)
    if len(flat) <= p.max_fit:
        xy = p._fit_xy
    else:
        rng = np.random.default_rng(seed)  # the rows fit() drew (the same draw)
        fit_rows = np.sort(rng.choice(len(flat), p.max_fit, replace=False))
        xy = np.empty((len(flat), 2), np.float32)
        xy[fit_rows] = p._fit_xy
        rest = np.setdiff1d(np.arange(len(flat)), fit_rows)
        for s in range(0, len(rest), int(chunk)):
            part = rest[s:s + int(chunk)]
            xy[part] = p.transform(flat[part]) if method == "umap" else (flat[part] - p._mean) @ p._components.T
    return MapLayout("input", method, {-1: (np.arange(len(flat), dtype=np.int64), np.asarray(xy, np.float32))},
                     {"seconds": time.perf_counter() - t0, "n_fit": int(min(len(flat), p.max_fit)),
                      "n_points": int(len(flat)), "dim": int(flat.shape[1])})


def round_space_map(pool_index: Any, features: Any, ref_round: int, *, method: str = "umap", seed: int = 0,
                    **projector_kw: Any) -> MapLayout:
    """Every stored item of round ``ref_round`` placed by that round's model features; other rounds are
    drawn on the same points (only which are labeled and selected changes)."""
    idx = _pool_index(pool_index, "pool_index")
    x = _as_features(features)
    if len(x) != len(idx):
        raise ValueError(f"{len(x)} feature rows but {len(idx)} pool indices")
    t0 = time.perf_counter()
    p = Projector(method, seed=seed, max_fit=max(len(x), 3), **projector_kw).fit(x)
    return MapLayout("round", method, {-1: (idx, np.asarray(p._fit_xy, np.float32))},
                     {"seconds": time.perf_counter() - t0, "n_fit": int(len(x)), "n_points": int(len(x)),
                      "ref_round": int(ref_round)})


# ------------------------------------------------------------------ the on-disk cache
def array_digest(*arrays: Any) -> str:
    """A hash of arrays' dtypes, shapes and bytes (what a cached layout was computed from)."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if hasattr(a, "detach"):
            a = a.detach().cpu().numpy()
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def layout_key(parts: dict[str, Any]) -> str:
    """The cache file name of a layout: its space and a hash of ``parts`` (data digests and parameters)."""
    if parts.get("space") not in SPACES:
        raise ValueError(f"parts['space'] must be one of {SPACES}, got {parts.get('space')!r}")
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]
    return f"{parts['space']}-{parts.get('method', 'umap')}-{digest}"


def save_layout(path: str | os.PathLike, layout: MapLayout) -> Path:
    """Write a layout as ``.npz`` atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for r, (i, xy) in layout.coords.items():
        arrays[f"index_{r}"] = i
        arrays[f"xy_{r}"] = xy
    meta = {"space": layout.space, "method": layout.method, "rounds": [int(r) for r in layout.coords],
            "info": layout.info}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, meta=np.array(json.dumps(meta, default=float)), **arrays)
    os.replace(tmp, path)
    return path


def load_layout(path: str | os.PathLike) -> MapLayout:
    with np.load(Path(path), allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        coords = {int(r): (z[f"index_{r}"].astype(np.int64), z[f"xy_{r}"].astype(np.float32)) for r in meta["rounds"]}
    return MapLayout(meta["space"], meta["method"], coords, meta["info"])


def cached_layout(cache_dir: str | os.PathLike, parts: dict[str, Any],
                  compute: Callable[[], MapLayout]) -> tuple[MapLayout, bool]:
    """The layout of ``parts`` from ``cache_dir`` when there, else ``compute()`` and store it.

    ``parts`` must name everything the layout depends on (``space``, ``method``, the digests of the data
    from :func:`array_digest`, the parameters): changed data gives another key, so a stale layout is never
    read. Returns ``(layout, hit)``. An unreadable cache file is recomputed.
    """
    path = Path(cache_dir) / f"{layout_key(parts)}.npz"
    if path.exists():
        try:
            return load_layout(path), True
        except Exception:  # noqa: BLE001 - a damaged file: compute it again
            pass
    layout = compute()
    save_layout(path, layout)
    return layout, False


class RunEmbeddingMap:
    """2-D coordinates of one stored run: fit once on ``ref_round``, transform the others, memoised.

    Caution: another round's features come from another model, so ``transform`` pushes them into a
    space they were not computed in (early rounds tend to collapse). The Embeddings page uses the maps
    of :data:`SPACES` instead; this stays for the Replay page. Thread-safe.
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
    # level 1: 5,000 Fashion-MNIST tiles in 0.16 s and 2.2 MB, against 0.33 s and 2.0 MB at level 6
    img.save(buf, format="PNG", optimize=False, compress_level=1)
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


#: Colours of classes 0..9 (the "category10" palette); more classes take :data:`_MORE_COLORS` in turn.
_CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf")
_MORE_COLORS = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
                "#dbdb8d", "#9edae5")


def class_colors(n: int) -> list[str]:
    """One colour per class (20 distinct ones, then they repeat)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    pal = _CLASS_COLORS + _MORE_COLORS
    return [pal[k % len(pal)] for k in range(n)]


COLOR_BY = ("status", "class")


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
    color_by: str = "status",
) -> dict[str, Any]:
    """:func:`scatter_payload` of an embedding map: same inputs as :func:`embedding_figure` plus ``images``.

    ``color_by="status"``: points are ordered unlabeled, labeled, selected (the drawing order), ``group``
    0, 1, 2 for them (:data:`STATUS_GROUPS`). ``color_by="class"`` (needs ``labels``): one group per class,
    filled with :func:`class_colors`, points in the same status order; then the labeled points again as
    dark rings (group ``C``) and the selected ones as red diamond rings (group ``C + 1``), so the status
    stays visible on top of the class colours.
    """
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be one of {COLOR_BY}, got {color_by!r}")
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
    xy = np.asarray(xy)
    if color_by == "status":
        return scatter_payload(
            xy[order] if len(order) else xy, pool_index[order], codes[order], STATUS_GROUPS,
            labels=None if lab is None else lab[order], scores=scores, class_names=class_names,
            images=None if images is None else [images[k] for k in order], picked=picked, title=title,
            height=height)
    if lab is None:
        raise ValueError("color_by='class' needs labels (the true class of each point)")
    if len(lab) and lab.min() < 0:
        raise ValueError("color_by='class' needs a known class (>= 0) for every point")
    n_cls = max(len(class_names) if class_names is not None else 0, int(lab.max()) + 1 if len(lab) else 1)
    names = [str(class_names[k]) if class_names is not None and k < len(class_names) else str(k)
             for k in range(n_cls)]
    groups = [scatter_group(f"class {nm}", col, size=6, opacity=0.8, legend=None)
              for nm, col in zip(names, class_colors(n_cls))]
    groups += [scatter_group("labeled", None, size=10, outline="#1a1a1a", outline_width=1.5),
               scatter_group("selected", None, size=14, symbol="diamond", outline=STATUS_COLORS["selected"],
                             outline_width=2.5)]
    rings_l = order[codes[order] == 1]
    rings_s = order[codes[order] == 2]
    rows = np.concatenate([order, rings_l, rings_s]).astype(np.int64)
    grp = np.concatenate([lab[order], np.full(len(rings_l), n_cls), np.full(len(rings_s), n_cls + 1)]).astype(np.int64)
    return scatter_payload(
        xy[rows] if len(rows) else xy, pool_index[rows], grp, groups, labels=lab[rows], scores=scores,
        class_names=class_names, images=None if images is None else [images[k] for k in rows], picked=picked,
        title=title, height=height)


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
