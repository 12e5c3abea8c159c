"""Two-dimensional toy figures for the lessons: utility heatmaps, decision boundaries, selection overlays.

On a 2-D pool every quantity a strategy computes can be drawn over the plane. This module keeps
the plumbing out of the notebooks and computes everything with alkit itself:

* :func:`grid_scores` evaluates a strategy's per-item acquisition on a grid of points through the
  same :func:`alkit.loop.build_view` the loop uses, then the strategy's own ``score`` (so the heatmap
  *is* the score function on the grid points, not a re-implementation);
* :class:`RoundRecorder` subscribes to an :class:`~alkit.loop.ALRun` and keeps, after every round,
  the model's probabilities and utility on the grid, the labeled set and the picks;
* :func:`covering_radius` (re-exported from :mod:`alkit.viz.batch`) and :func:`within_batch_distances`
  measure how well a labeled set covers a pool and how spread out one query batch is;
* the ``*_panel`` / ``utility_heatmap`` / ``decision_boundary`` / ``selection_overlay`` builders draw
  on matplotlib axes and return what they drew, so tests can check the figure's data.

Matplotlib is imported lazily (only by the drawing functions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from alkit.data import ALDataset
from alkit.loop import build_view
from alkit.strategies import PoolView, ScoreStrategy, Strategy, get_strategy
from alkit.viz.batch import covering_radius  # re-exported: the lessons measure coverage with the dashboard's function
from alkit.viz.mpl import show  # noqa: F401  (re-exported: lessons call <module>.show)

__all__ = [
    "Grid",
    "RoundRecorder",
    "RoundSnapshot",
    "covering_radius",
    "decision_boundary",
    "grid_probs",
    "grid_scores",
    "grid_view",
    "make_grid",
    "round_panel",
    "selection_overlay",
    "show",
    "utility_heatmap",
    "within_batch_distances",
]

CLASS_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
"""Colour of class ``k`` in every toy figure (cycled beyond eight classes)."""


# ----------------------------------------------------------------------------------------- the grid
@dataclass(frozen=True)
class Grid:
    """A regular grid over the plane: ``len(ys)`` rows of ``len(xs)`` points.

    ``points`` lists them row by row (``y`` outer, ``x`` inner), so ``values.reshape(shape)`` turns
    any per-point vector into the ``(ny, nx)`` image ``pcolormesh(xs, ys, image)`` draws.
    """

    xs: np.ndarray
    ys: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.ys), len(self.xs))

    @property
    def points(self) -> torch.Tensor:
        """(ny · nx, 2) float32 coordinates, row-major."""
        gx, gy = np.meshgrid(self.xs, self.ys)
        return torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32))

    def image(self, values: Any) -> np.ndarray:
        """A per-point vector (length ny · nx) as the (ny, nx) image of the grid."""
        v = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
        if v.shape != (len(self.ys) * len(self.xs),):
            raise ValueError(f"expected {len(self.ys) * len(self.xs)} values (one per grid point), got shape {v.shape}")
        return v.reshape(self.shape)


def make_grid(x: Any, steps: int = 60, pad: float = 0.15) -> Grid:
    """A ``steps × steps`` grid covering the 2-D points ``x`` with a margin of ``pad`` × their range."""
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) == 0:
        raise ValueError(f"make_grid needs a non-empty (N, 2) array of points, got shape {arr.shape}")
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
    lo, hi = arr.min(0), arr.max(0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - pad * span, hi + pad * span
    return Grid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))


# ------------------------------------------------------------------------------ scores on the grid
def _points(points: Any) -> torch.Tensor:
    if isinstance(points, Grid):
        return points.points
    t = torch.as_tensor(points, dtype=torch.float32)
    if t.dim() != 2:
        raise ValueError(f"points must have shape (N, d), got {tuple(t.shape)}")
    return t


def grid_view(
    needs: frozenset[str] | set[str],
    learner: Any,
    points: Any,
    *,
    labeled_x: Any = None,
    mc_samples: int = 0,
    seed: int = 0,
) -> PoolView:
    """The pool view a strategy would get if ``points`` were the unlabeled pool.

    Built by :func:`alkit.loop.build_view` on a throw-away dataset whose pool is ``labeled_x``
    (optional; the labeled set, for strategies that read it) followed by ``points``. No label ever
    enters the view: the throw-away dataset's labels are all 0 and are not requested.
    """
    pts = _points(points)
    lab_x = torch.empty(0, *pts.shape[1:]) if labeled_x is None else _points(labeled_x)
    n_l, n_p = len(lab_x), len(pts)
    k = int(learner.num_classes)
    pool = torch.cat([lab_x, pts])
    ds = ALDataset(name="grid", x_train=pool, y_train=torch.zeros(len(pool), dtype=torch.long),
                   x_test=pool[:1], y_test=torch.zeros(1, dtype=torch.long),
                   class_names=[str(c) for c in range(k)], default_model="mlp")
    labeled = torch.arange(n_l)
    unlabeled = torch.arange(n_l, n_l + n_p)
    labels = torch.full((len(pool),), -1, dtype=torch.long)
    return build_view(frozenset(needs), learner, ds, labeled, unlabeled, labels, mc_samples=mc_samples, seed=seed)


def _strategy(strategy: str | Strategy, params: dict[str, Any] | None) -> Strategy:
    if isinstance(strategy, str):
        return get_strategy(strategy, **(params or {}))
    if params:
        raise ValueError("strategy_params only apply when the strategy is given by name")
    return strategy


def grid_scores(
    strategy: str | Strategy,
    learner: Any,
    points: Any,
    *,
    strategy_params: dict[str, Any] | None = None,
    seed: int = 0,
) -> np.ndarray:
    """A strategy's acquisition value (larger = query first) at every point, as a NumPy vector.

    Works for every per-item scorer: the :class:`~alkit.strategies.ScoreStrategy` family
    (``strategy.score`` on :func:`grid_view`) and Learning Loss (``predicted_loss``). ``seed``
    drives the MC-dropout passes. Set-valued strategies (kcenter, badge, ...) have no per-item
    utility and raise ``TypeError``.
    """
    s = _strategy(strategy, strategy_params)
    pts = _points(points)
    if hasattr(s, "predicted_loss"):  # Learning Loss: the loss-prediction module's output
        return s.predicted_loss(learner.model, pts.to(learner.device)).detach().cpu().numpy()
    if not isinstance(s, ScoreStrategy):
        raise TypeError(f"{type(s).__name__} selects whole batches and has no per-item utility to draw")
    view = grid_view(s.required(), learner, pts, mc_samples=int(getattr(s, "mc_samples", 0) or 0), seed=seed)
    return s.score(view).detach().cpu().numpy()


def grid_probs(learner: Any, points: Any) -> np.ndarray:
    """The learner's softmax probabilities (N, K) at the points, eval mode, as NumPy."""
    return learner.predict_proba(_points(points)).detach().cpu().numpy()


# ------------------------------------------------------------------------------- coverage measures
def within_batch_distances(points: Any) -> np.ndarray:
    """All pairwise Euclidean distances inside one batch (upper triangle, length b(b-1)/2).

    ``.min()`` is the closest pair (near-duplicates show up as ~0), ``.mean()`` the spread.
    """
    x = torch.as_tensor(np.asarray(points, dtype=np.float64) if not isinstance(points, torch.Tensor) else points)
    x = x.double().reshape(len(x), -1)
    iu = torch.triu_indices(len(x), len(x), offset=1)
    return torch.cdist(x, x)[iu[0], iu[1]].numpy()


# ---------------------------------------------------------------------------- recording a live run
@dataclass
class RoundSnapshot:
    """The state of a run after round ``round`` (its model trained on ``labeled``)."""

    round: int
    labeled: np.ndarray
    """Pool indices labeled after this round (ascending)."""
    picks: np.ndarray
    """The indices this round added (round 0: the seed set)."""
    accuracy: float
    probs: np.ndarray
    """(grid points, K) probabilities of this round's model."""
    utility: np.ndarray | None
    """This round's model's acquisition on the grid: what the *next* query ranks by (None if set-valued)."""
    extras: dict[str, Any] = field(default_factory=dict)


class RoundRecorder:
    """Watch an :class:`~alkit.loop.ALRun` and keep a :class:`RoundSnapshot` after every round.

    >>> rec = RoundRecorder(grid).attach(run)   # doctest: +SKIP
    >>> run.run(); rec.snapshots[2].utility     # doctest: +SKIP

    The loop retrains a fresh model each round, so the grid has to be evaluated while the round's
    model is live: the recorder does it on the ``round_end`` event. The utility uses the run's own
    strategy instance (so CEAL, LPL and the ensemble see their trained state) with MC-dropout seed
    ``seed + round``.
    """

    def __init__(self, grid: Grid | Any, *, utility: bool = True, seed: int = 0) -> None:
        self.grid = grid
        self.points = _points(grid)
        self.utility = utility
        self.seed = seed
        self.run: Any = None
        self.snapshots: list[RoundSnapshot] = []

    def attach(self, run: Any) -> RoundRecorder:
        """Subscribe to ``run``'s events; returns ``self``."""
        self.run = run
        run.callbacks.append(self)
        return self

    def __call__(self, event: Any) -> None:
        if event.kind != "round_end" or self.run is None:
            return
        res = event.data["result"]
        run = self.run
        util = None
        if self.utility:
            try:
                util = grid_scores(run.strategy, run.learner, self.points, seed=self.seed + res.round)
            except TypeError:
                util = None
        self.snapshots.append(RoundSnapshot(
            round=res.round, labeled=run.labeled_indices().numpy(), picks=np.asarray(res.selected, dtype=np.int64),
            accuracy=res.accuracy, probs=grid_probs(run.learner, self.points), utility=util, extras=dict(res.extras),
        ))

    def __getitem__(self, r: int) -> RoundSnapshot:
        return self.snapshots[r]

    def __len__(self) -> int:
        return len(self.snapshots)


# ----------------------------------------------------------------------------------------- drawing
def utility_heatmap(ax: Any, grid: Grid, values: Any, *, cmap: str = "viridis", colorbar: bool = True,
                    label: str | None = None, **kwargs: Any) -> Any:
    """Draw per-grid-point values as an image; returns the ``QuadMesh`` (its array is the image)."""
    img = grid.image(values)
    mesh = ax.pcolormesh(grid.xs, grid.ys, img, cmap=cmap, shading="auto", **kwargs)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, fraction=0.046, pad=0.03, label=label)
    ax.set_aspect("auto")
    return mesh


def decision_boundary(ax: Any, grid: Grid, probs: Any, *, fill: bool = False, color: str = "k",
                      linewidth: float = 1.5) -> Any:
    """Draw where the predicted class changes (and optionally shade each predicted region).

    ``probs`` is (grid points, K). Returns the contour set of the boundary lines (None when the
    model predicts one class everywhere on the grid).
    """
    p = np.asarray(probs)
    k = p.shape[1]
    pred = grid.image(p.argmax(1)).astype(float)
    if fill:
        from matplotlib.colors import ListedColormap

        cmap = ListedColormap([CLASS_COLORS[c % len(CLASS_COLORS)] for c in range(k)])
        ax.pcolormesh(grid.xs, grid.ys, pred, cmap=cmap, vmin=-0.5, vmax=k - 0.5, alpha=0.15, shading="auto")
    if np.unique(pred).size < 2:
        return None
    levels = np.arange(k - 1) + 0.5
    return ax.contour(grid.xs, grid.ys, pred, levels=levels, colors=color, linewidths=linewidth)


def selection_overlay(ax: Any, x: Any, y: Any = None, *, labeled: Sequence[int] | None = None,
                      picks: Sequence[int] | None = None, pool_size: float = 8, pick_label: str = "picked",
                      pick_color: str = "#ffcc00", pool_alpha: float = 0.35, pick_size: float = 150) -> dict[str, Any]:
    """Scatter a 2-D pool (coloured by class when ``y`` is given), the labeled set and one batch of picks.

    Labeled points are drawn large with a black edge, picks as stars on top. Returns the artists.
    """
    pts = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if y is None:
        colors: Any = "#888888"
    else:
        yy = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        colors = [CLASS_COLORS[int(c) % len(CLASS_COLORS)] for c in yy]
    out: dict[str, Any] = {"pool": ax.scatter(pts[:, 0], pts[:, 1], s=pool_size, c=colors, alpha=pool_alpha,
                                             linewidths=0)}
    if labeled is not None and len(labeled):
        lab = np.asarray(labeled, dtype=np.int64)
        lab_colors = colors if isinstance(colors, str) else [colors[i] for i in lab]
        out["labeled"] = ax.scatter(pts[lab, 0], pts[lab, 1], s=36, c=lab_colors, edgecolors="k", linewidths=0.8,
                                    label="labeled")
    if picks is not None and len(picks):
        pk = np.asarray(picks, dtype=np.int64)
        out["picks"] = ax.scatter(pts[pk, 0], pts[pk, 1], s=pick_size, marker="*", c=pick_color, edgecolors="k",
                                  linewidths=0.8, label=pick_label, zorder=5)
    return out


def round_panel(ax: Any, grid: Grid, x: Any, y: Any = None, *, probs: Any = None, utility: Any = None,
                labeled: Sequence[int] | None = None, picks: Sequence[int] | None = None, title: str | None = None,
                cmap: str = "viridis", colorbar: bool = True, utility_label: str | None = "utility",
                pick_label: str = "picked") -> dict[str, Any]:
    """One panel of a round: the utility heatmap (if given), the decision boundary (if ``probs``), the pool,
    the labeled set and the picks. Returns the artists by name (``mesh``, ``boundary``, ``pool``, ...)."""
    out: dict[str, Any] = {}
    if utility is not None:
        out["mesh"] = utility_heatmap(ax, grid, utility, cmap=cmap, colorbar=colorbar, label=utility_label)
    if probs is not None:
        out["boundary"] = decision_boundary(ax, grid, probs, fill=utility is None)
    out.update(selection_overlay(ax, x, y, labeled=labeled, picks=picks, pick_label=pick_label,
                                 pool_alpha=0.8 if utility is not None else 0.35))
    ax.set_xlim(grid.xs[0], grid.xs[-1])
    ax.set_ylim(grid.ys[0], grid.ys[-1])
    if title:
        ax.set_title(title, fontsize=10)
    return out
