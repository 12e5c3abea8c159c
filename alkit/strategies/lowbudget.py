"""Low-budget strategies: typiclust and probcover (Hacohen et al., ICML 2022; Yehuda et al., NeurIPS 2022).

With very few labels, a model's uncertainty is a poor guide (the model is barely better than chance),
and the items worth labeling are the *typical* ones that stand for many others. Both strategies here
ignore the task model: they work on a fixed, label-free representation of the pool and pick items
that are representative (TypiClust: the densest item of the largest uncovered cluster) or that cover
the pool (ProbCover: greedy max coverage of δ-balls).

The papers compute that representation with self-supervised networks (SimCLR, DINO) trained on the
whole unlabeled set, which this kit cannot download and would need hours of GPU time to train. What
alkit uses instead is :func:`pool_representation`: by default an exact PCA of the raw inputs of the
whole pool (``inputs`` and ``labeled_inputs``, labeled and unlabeled items together: no label is read),
or the raw inputs themselves, or the current task model's penultimate embeddings.

Everything runs in torch on the view's device, with the k-means, k-means++ and distance helpers of
:mod:`alkit.strategies.diversity`; every random step (k-means++ seeding, ProbCover's fallback once the
pool is covered) draws from the generator given to ``query``. The greedy loops keep each pick in a
one-element index tensor, so a query waits for the device a bounded number of times whatever ``b``
(``tests/test_host_syncs.py``).
"""

from __future__ import annotations

import math
import time

import torch

from alkit.strategies._registry import register_strategy
from alkit.strategies._view import PoolView
from alkit.strategies.base import Selection, Strategy
from alkit.strategies.diversity import (
    _as_float,
    _lloyd,
    _row_block,
    _sq_dists,
    kmeans_pp_init,
    nearest_sq_dists,
    pca_project,
)

__all__ = [
    "REPRESENTATIONS",
    "ProbCover",
    "TypiClust",
    "ball_edges",
    "ball_purity",
    "kmeans_labels",
    "pool_representation",
    "purity_delta",
    "typicality",
]

#: The representations both strategies can work on (see :func:`pool_representation`).
REPRESENTATIONS = ("pca", "inputs", "embeddings")


# --------------------------------------------------------------------------------------------
# The representation and shared helpers
# --------------------------------------------------------------------------------------------
def _check_representation(representation: str, pca_dim: int) -> None:
    if representation not in REPRESENTATIONS:
        raise ValueError(f"representation must be one of {', '.join(REPRESENTATIONS)}, got {representation!r}")
    if isinstance(pca_dim, bool) or not isinstance(pca_dim, int) or pca_dim < 1:
        raise ValueError(f"pca_dim must be a positive integer, got {pca_dim!r}")


def _needs_for(representation: str) -> frozenset[str]:
    if representation == "embeddings":
        return frozenset({"embeddings", "labeled_embeddings"})
    return frozenset({"inputs", "labeled_inputs"})


def pool_representation(view: PoolView, representation: str = "pca", pca_dim: int = 32) -> torch.Tensor:
    """The pool's label-free features, unlabeled rows first (in ``view.unlabeled`` order), then labeled rows.

    Parameters
    ----------
    view : PoolView
        Holds ``inputs`` and ``labeled_inputs`` (``"pca"``, ``"inputs"``) or ``embeddings`` and
        ``labeled_embeddings`` (``"embeddings"``).
    representation : {"pca", "inputs", "embeddings"}
        ``"pca"``: the flattened raw inputs projected on the top ``pca_dim`` principal components of the
        whole pool (exact PCA, :func:`alkit.strategies.diversity.pca_project`; when the inputs have at most
        ``pca_dim`` features they are only centred, which keeps every distance). ``"inputs"``: the
        flattened raw inputs. ``"embeddings"``: the task model's penultimate features.
    pca_dim : int
        Number of principal components for ``"pca"``.

    Returns
    -------
    Tensor, shape (N_U + N_L, d), on ``view.device``
    """
    _check_representation(representation, pca_dim)
    if representation == "embeddings":
        u = _as_float(view.embeddings)
        lab = view.labeled_embeddings.to(u.dtype)
    else:
        u = _as_float(view.inputs.flatten(1))
        lab = view.labeled_inputs.flatten(1).to(u.dtype)
    if representation == "pca":
        if pca_dim < u.shape[1]:
            u, lab = pca_project(u, lab, pca_dim)
        else:
            mean = torch.cat([u, lab]).mean(0, keepdim=True)
            u, lab = u - mean, lab - mean
    return torch.cat([u, lab])


def kmeans_labels(
    x: torch.Tensor, n_clusters: int, generator: torch.Generator | None, *, n_init: int = 1, max_iter: int = 50,
    tol: float = 1e-4,
) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means cluster labels of the rows of ``x`` (k-means++ seeding, Lloyd; best inertia of ``n_init`` runs).

    The same routine as the ``kmeans`` strategy (:mod:`alkit.strategies.diversity`): seeded by
    ``generator``, convergence when the total squared centroid shift is ``<= tol × mean feature variance``.

    Returns
    -------
    labels : Tensor int64 (N,)
    n_iter : Tensor int64, 0-d
        Lloyd iterations of the kept run (left on the device).
    """
    x_sq = (x * x).sum(1)
    thr = tol * x.var(dim=0, unbiased=False).mean()
    best = None
    for _ in range(n_init):
        init = kmeans_pp_init(x, n_clusters, generator, x_sq)
        c, _, n_iter, _ = _lloyd(x, x.index_select(0, init), max_iter, thr, x_sq)
        d, labels = nearest_sq_dists(x, c, x_sq)
        run = (labels, d.sum(), n_iter)
        if best is None:
            best = run
        else:  # the lowest inertia (the earliest run on ties), without a host sync
            better = run[1] < best[1]
            best = tuple(torch.where(better, r, b) for r, b in zip(run, best))
    assert best is not None
    return best[0], best[2]


def _check_kmeans(n_init: int, max_iter: int, tol: float) -> None:
    if isinstance(n_init, bool) or not isinstance(n_init, int) or n_init < 1:
        raise ValueError(f"n_init must be a positive integer, got {n_init!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")


# --------------------------------------------------------------------------------------------
# TypiClust
# --------------------------------------------------------------------------------------------
def typicality(x: torch.Tensor, groups: torch.Tensor | None = None, k: int = 20) -> torch.Tensor:
    r"""TypiClust's typicality: the inverse mean distance to the ``k`` nearest neighbours, within a group.

    :math:`\mathrm{Typicality}(x) = \big(\tfrac1{k_g} \sum_{x' \in \mathrm{kNN}_g(x)} \lVert x - x'\rVert_2\big)^{-1}`,
    the neighbours taken among the other rows of the same group :math:`g` (every row when ``groups`` is
    None), with :math:`k_g = \min(k, \lfloor |g| / 2 \rfloor)` as the authors do for small clusters. A
    group of one row has no neighbour: its typicality is 0. Distances are computed in row blocks (no
    ``N × N`` matrix); a zero mean distance (duplicated rows) gives the largest finite value.

    Parameters
    ----------
    x : Tensor (N, d)
    groups : Tensor int64 (N,), optional
        Group (cluster) of each row.
    k : int
        Neighbours (the paper's 20).

    Returns
    -------
    Tensor (N,), on ``x``'s device
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    n = x.shape[0]
    dev = x.device
    if groups is None:
        groups = torch.zeros(n, dtype=torch.long, device=dev)
    if groups.shape != (n,):
        raise ValueError(f"groups must have shape ({n},), one group per row of x, got {tuple(groups.shape)}")
    sizes = torch.zeros(n, dtype=torch.long, device=dev).index_add_(0, groups, torch.ones_like(groups))
    k_row = torch.minimum(sizes[groups] // 2, torch.full_like(groups, k))  # 0 only for a group of one row
    out = torch.zeros(n, dtype=x.dtype, device=dev)
    k_max = min(k, n - 1)
    if k_max < 1:
        return out
    x_sq = (x * x).sum(1)
    step = _row_block(n)
    for s in range(0, n, step):
        e = min(n, s + step)
        d2 = _sq_dists(x[s:e], x_sq[s:e], x, x_sq)
        other = groups[s:e].unsqueeze(1) != groups.unsqueeze(0)
        d2.masked_fill_(other, math.inf)
        rows = torch.arange(e - s, device=dev)
        d2[rows, rows + s] = math.inf  # not one's own neighbour
        near = torch.topk(d2, k_max, dim=1, largest=False).values.sqrt()  # ascending
        kr = k_row[s:e]
        total = torch.cumsum(near, dim=1).gather(1, (kr - 1).clamp_min(0).unsqueeze(1)).squeeze(1)
        mean = (total / kr.clamp_min(1).to(x.dtype)).clamp_min(torch.finfo(x.dtype).tiny)
        out[s:e] = torch.where(kr > 0, 1.0 / mean, torch.zeros_like(mean))
    return out


@register_strategy("typiclust")
class TypiClust(Strategy):
    r"""TypiClust: the most typical unlabeled item of the largest cluster with the fewest labels (low budgets).

    The pool's representation (labeled and unlabeled items, :func:`pool_representation`) is clustered
    by k-means into :math:`\min(|L| + b, \text{max\_clusters})` clusters. Then, ``b`` times: among the
    clusters that still have an unlabeled member, take the one with the fewest labeled members (items
    picked in this query count as labeled), ties to the largest cluster, then to the lowest cluster id,
    skipping clusters of fewer than ``min_cluster_size`` members while a larger one is left; query its
    unlabeled member of highest :func:`typicality` (computed once per query among the members of each
    cluster, labeled ones included; ties to the lowest pool index). With :math:`|L| + b` clusters at
    least ``b`` hold no label, so the queries go to clusters without a label first.
    ``scores`` holds the typicality of each pick.

    **Representation.** The paper clusters self-supervised features (SimCLR; DINO for ImageNet), which
    alkit cannot download here. The default ``representation="pca"`` is the top ``pca_dim`` principal
    components of the raw inputs of the whole pool: label-free, computable offline (one ``d × d``
    eigendecomposition), the same at every round (it does not depend on the task model, which at a few
    dozen labels is a poor feature extractor), and on digits its 32 components keep 96.6 % of the pixel
    variance, with an item's nearest neighbour of the same class for 99.1 % of the pool (lesson 11
    prints both), so Euclidean k-means and k-NN densities there are meaningful. ``"inputs"`` uses the raw inputs and
    ``"embeddings"`` the current model's penultimate features (TypiClust's variant on the learner's
    own features; it changes every round). The choice is tested in ``tests/test_lowbudget.py``.

    Parameters
    ----------
    representation : {"pca", "inputs", "embeddings"}
        What is clustered (see above); ``"embeddings"`` needs the model's embeddings in the view,
        the others the raw inputs.
    pca_dim : int
        Principal components kept by ``"pca"``.
    k_neighbors : int
        Neighbours of the typicality (the paper's 20; :math:`\min(k, |c|/2)` in a small cluster ``c``).
    min_cluster_size : int
        Clusters with fewer members are skipped while a larger cluster has an unlabeled member left
        (the authors' code drops clusters of 5 items or fewer, so 6).
    max_clusters : int
        Cap on the number of clusters (the authors' code: 500).
    n_init, max_iter, tol : int, int, float
        k-means restarts, Lloyd iterations and tolerance, as for the ``kmeans`` strategy.

    Notes
    -----
    The authors' code sorts the clusters once per query and visits them in that order, and computes
    each typicality among the cluster's remaining unlabeled members; alkit updates the labeled counts
    after every pick (the same clusters are visited whenever at least ``b`` clusters of
    ``min_cluster_size`` members or more hold no label) and uses all members of the cluster, as the
    paper's definition of typicality (a density of the data) reads. The authors' code switches to
    mini-batch k-means for many clusters; alkit runs full Lloyd throughout.

    References
    ----------
    Hacohen, Dekel & Weinshall, *Active Learning on a Budget: Opposite Strategies Suit High and Low
    Budgets*, ICML 2022.
    """

    needs = frozenset({"inputs", "labeled_inputs"})

    def __init__(
        self,
        representation: str = "pca",
        pca_dim: int = 32,
        k_neighbors: int = 20,
        min_cluster_size: int = 6,
        max_clusters: int = 500,
        n_init: int = 1,
        max_iter: int = 50,
        tol: float = 1e-4,
    ) -> None:
        self.representation = representation
        self.pca_dim = pca_dim
        self.k_neighbors = k_neighbors
        self.min_cluster_size = min_cluster_size
        self.max_clusters = max_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol

    def required(self) -> frozenset[str]:
        _check_representation(self.representation, self.pca_dim)
        return _needs_for(self.representation)

    def _check(self) -> None:
        for name in ("k_neighbors", "min_cluster_size", "max_clusters"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        _check_kmeans(self.n_init, self.max_iter, self.tol)

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        self._check()
        n_u, n_l = view.n_unlabeled, view.n_labeled
        if k >= n_u:
            return Selection(indices=view.unlabeled.clone())
        t0 = time.perf_counter()
        x = pool_representation(view, self.representation, self.pca_dim)
        n, dev = x.shape[0], x.device
        n_clusters = min(n_l + k, self.max_clusters, n)
        labels, n_iter = kmeans_labels(x, n_clusters, generator, n_init=self.n_init, max_iter=self.max_iter,
                                       tol=self.tol)
        typ = typicality(x, labels, self.k_neighbors)
        t1 = time.perf_counter()
        ones = torch.ones(n, dtype=torch.long, device=dev)
        size = torch.zeros(n_clusters, dtype=torch.long, device=dev).index_add_(0, labels, ones)
        n_lab = torch.zeros(n_clusters, dtype=torch.long, device=dev).index_add_(0, labels[n_u:], ones[n_u:])
        left = torch.zeros(n_clusters, dtype=torch.long, device=dev).index_add_(0, labels[:n_u], ones[:n_u])
        big = size >= self.min_cluster_size
        free = torch.zeros(n, dtype=torch.bool, device=dev)
        free[:n_u] = True
        never = torch.full((n_clusters,), (n + 1) ** 2, dtype=torch.long, device=dev)
        one = torch.ones(1, dtype=torch.long, device=dev)
        picks = torch.empty(k, dtype=torch.long, device=dev)
        scores = torch.empty(k, dtype=x.dtype, device=dev)
        neg_inf = torch.full_like(typ, -math.inf)
        for t in range(k):
            open_ = left > 0
            ok = torch.where((open_ & big).any(), open_ & big, open_)
            # fewest labels first, then the largest cluster, then the lowest id (argmin takes the first)
            key = torch.where(ok, n_lab * (n + 1) + (n - size), never)
            c = torch.argmin(key, dim=0, keepdim=True)
            j = torch.argmax(torch.where((labels == c) & free, typ, neg_inf), dim=0, keepdim=True)
            picks[t : t + 1], scores[t : t + 1] = j, typ.index_select(0, j)
            free.index_fill_(0, j, False)
            n_lab.index_add_(0, c, one)
            left.index_add_(0, c, -one)
        t2 = time.perf_counter()
        return Selection(
            indices=view.unlabeled[picks], scores=scores, timings={"score": t1 - t0, "select": t2 - t1},
            extras={"n_clusters": n_clusters, "n_iter": int(n_iter), "representation": self.representation},
        )


# --------------------------------------------------------------------------------------------
# ProbCover
# --------------------------------------------------------------------------------------------
def _nearest_other(x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Distance from each row to the nearest row with another label (inf when there is none)."""
    n = x.shape[0]
    x_sq = (x * x).sum(1)
    out = torch.empty(n, dtype=x.dtype, device=x.device)
    step = _row_block(n)
    for s in range(0, n, step):
        d2 = _sq_dists(x[s : s + step], x_sq[s : s + step], x, x_sq)
        d2.masked_fill_(labels[s : s + step].unsqueeze(1) == labels.unsqueeze(0), math.inf)
        out[s : s + step] = d2.min(dim=1).values
    return out.sqrt()


def ball_purity(x: torch.Tensor, labels: torch.Tensor, delta: float | torch.Tensor) -> torch.Tensor:
    r"""ProbCover's purity :math:`\pi(\delta)`: the share of rows whose open δ-ball holds only rows of their own label.

    The ball of :math:`x` is :math:`B_\delta(x) = \{x' : \lVert x - x'\rVert_2 < \delta\}`; it is pure
    when every row in it has :math:`x`'s label. Returns a 0-d tensor on ``x``'s device.
    """
    return (_nearest_other(x, labels) >= delta).to(x.dtype).mean()


def purity_delta(x: torch.Tensor, labels: torch.Tensor, alpha: float = 0.95) -> torch.Tensor:
    r"""The largest δ whose ball purity :func:`ball_purity` is at least ``alpha`` (exact, no grid search).

    A ball :math:`B_\delta(x)` is pure iff δ is at most :math:`r(x)`, the distance from :math:`x` to
    the nearest row of another label, so :math:`\pi(\delta) = \#\{x : r(x) \ge \delta\} / N`. It is
    :math:`\ge \alpha` iff δ is at most the :math:`m`-th smallest :math:`r` with
    :math:`m = N + 1 - \lceil \alpha N \rceil`, which is therefore the answer (returned as a 0-d tensor,
    on the device; inf when every row has the same label).
    """
    if not (isinstance(alpha, (int, float)) and 0 < alpha <= 1):
        raise ValueError(f"purity must lie in (0, 1], got {alpha!r}")
    n = x.shape[0]
    need = math.ceil(alpha * n - 1e-9)
    return torch.kthvalue(_nearest_other(x, labels), n + 1 - need).values


def ball_edges(x: torch.Tensor, delta: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The δ-ball graph as an edge list ``(src, dst)``: ``dst`` lies in the open δ-ball of ``src``.

    Every row is in its own ball (a self-edge, whatever δ). Built in row blocks of the distance
    matrix; each block's edges are read with one ``nonzero`` (a host sync per block, never per pick).
    Memory is ``O(E)``, the number of edges.
    """
    n = x.shape[0]
    x_sq = (x * x).sum(1)
    d_sq = torch.as_tensor(delta, dtype=x.dtype, device=x.device) ** 2
    srcs, dsts = [], []
    step = _row_block(n)
    for s in range(0, n, step):
        e = min(n, s + step)
        d2 = _sq_dists(x[s:e], x_sq[s:e], x, x_sq)
        rows = torch.arange(e - s, device=x.device)
        d2[rows, rows + s] = -1.0  # in its own ball
        ij = torch.nonzero(d2 < d_sq)
        srcs.append(ij[:, 0] + s)
        dsts.append(ij[:, 1])
    return torch.cat(srcs), torch.cat(dsts)


@register_strategy("probcover")
class ProbCover(Strategy):
    r"""ProbCover: greedy maximum coverage of the pool by δ-balls around the queried items (low budgets).

    On the pool's representation (labeled and unlabeled items, :func:`pool_representation`) every
    item :math:`x` covers its open ball :math:`B_\delta(x)`. The labeled items' balls count as
    covered already. Then, ``b`` times: query the unlabeled item whose ball holds the most items not
    covered yet (ties to the lowest pool index) and mark its ball covered. Once no unlabeled item covers
    anything new (the pool is covered), the rest of the batch is drawn uniformly from the generator.
    ``scores`` holds the number of items each pick newly covered; ``extras`` the δ used, the coverage
    (share of the pool covered after the query) and the number of edges of the ball graph.

    **δ.** The paper picks the largest δ whose *purity* stays at least :math:`\alpha = 0.95`: the share of
    items whose ball holds only items of their own k-means pseudo-label (k-means with as many clusters
    as classes, on the same representation; no label is read). That is the default here
    (``delta=None``), computed exactly by :func:`purity_delta` (the paper searches a grid of δ);
    ``delta`` fixes it instead.

    **Representation.** As for ``typiclust``: the paper uses self-supervised features (SimCLR, DINO) that
    cannot be downloaded here; the default ``"pca"`` is an exact PCA of the whole pool's raw inputs
    (label-free, offline, the same every round), ``"inputs"`` the raw inputs, ``"embeddings"`` the
    current model's features (see :class:`TypiClust`).

    Parameters
    ----------
    delta : float, optional
        Ball radius (> 0); None: the purity rule above.
    purity : float
        :math:`\alpha` of the purity rule, in (0, 1] (the paper's 0.95).
    purity_clusters : int, optional
        k-means clusters of the pseudo-labels (>= 2); None: the view's ``num_classes``.
    representation : {"pca", "inputs", "embeddings"}
        What the balls live in.
    pca_dim : int
        Principal components kept by ``"pca"``.
    n_init, max_iter, tol : int, int, float
        k-means settings of the pseudo-labels, as for the ``kmeans`` strategy.

    Notes
    -----
    Memory is ``O(E)`` for the ``E`` edges of the ball graph (kept as an edge list, like the authors'
    code); each pick costs ``O(E)``. A δ so large that most pairs are neighbours makes ``E`` close to
    :math:`N^2`.

    References
    ----------
    Yehuda, Dekel, Hacohen & Weinshall, *Active Learning Through a Covering Lens*, NeurIPS 2022.
    """

    needs = frozenset({"inputs", "labeled_inputs"})

    def __init__(
        self,
        delta: float | None = None,
        purity: float = 0.95,
        purity_clusters: int | None = None,
        representation: str = "pca",
        pca_dim: int = 32,
        n_init: int = 1,
        max_iter: int = 50,
        tol: float = 1e-4,
    ) -> None:
        self.delta = delta
        self.purity = purity
        self.purity_clusters = purity_clusters
        self.representation = representation
        self.pca_dim = pca_dim
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol

    def required(self) -> frozenset[str]:
        _check_representation(self.representation, self.pca_dim)
        return _needs_for(self.representation)

    def _check(self) -> None:
        d = self.delta
        if d is not None and (isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 < d < math.inf):
            raise ValueError(f"delta must be a positive finite number or None (the purity rule), got {d!r}")
        p = self.purity
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
            raise ValueError(f"purity must lie in (0, 1], got {p!r}")
        c = self.purity_clusters
        if c is not None and (isinstance(c, bool) or not isinstance(c, int) or c < 2):
            raise ValueError(f"purity_clusters must be an integer >= 2 or None (the view's classes), got {c!r}")
        _check_kmeans(self.n_init, self.max_iter, self.tol)

    def _delta(self, x: torch.Tensor, view: PoolView, generator: torch.Generator | None) -> tuple[torch.Tensor, int]:
        if self.delta is not None:
            return torch.tensor(float(self.delta), dtype=x.dtype, device=x.device), 0
        n_pseudo = self.purity_clusters if self.purity_clusters is not None else int(view.num_classes)
        if n_pseudo < 2:
            raise ValueError(f"probcover's purity rule needs at least 2 pseudo-classes: the view has num_classes = "
                             f"{view.num_classes}; pass purity_clusters or a fixed delta")
        labels, n_iter = kmeans_labels(x, min(n_pseudo, x.shape[0]), generator, n_init=self.n_init,
                                       max_iter=self.max_iter, tol=self.tol)
        return purity_delta(x, labels, self.purity), int(n_iter)

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        self._check()
        n_u = view.n_unlabeled
        if k >= n_u:
            return Selection(indices=view.unlabeled.clone())
        t0 = time.perf_counter()
        x = pool_representation(view, self.representation, self.pca_dim)
        n, dev = x.shape[0], x.device
        delta, n_iter = self._delta(x, view, generator)
        src, dst = ball_edges(x, delta)
        t1 = time.perf_counter()
        # covered: in the ball of a labeled item (rows n_u.. are the labeled ones)
        covered = torch.zeros(n, dtype=torch.long, device=dev).index_add_(0, dst, (src >= n_u).long()) > 0
        gain = torch.zeros(n, dtype=torch.long, device=dev).index_add_(0, src, (~covered).long()[dst])
        cand = torch.zeros(n, dtype=torch.bool, device=dev)
        cand[:n_u] = True
        prio = torch.rand(n, generator=generator, device=dev, dtype=x.dtype)  # the fallback's random order
        minus = torch.full((n,), -1, dtype=torch.long, device=dev)
        picks = torch.empty(k, dtype=torch.long, device=dev)
        scores = torch.empty(k, dtype=torch.long, device=dev)
        for t in range(k):
            best = torch.argmax(torch.where(cand, gain, minus), dim=0, keepdim=True)
            lucky = torch.argmax(torch.where(cand, prio, -1.0), dim=0, keepdim=True)
            j = torch.where(gain.index_select(0, best) > 0, best, lucky)
            picks[t : t + 1], scores[t : t + 1] = j, gain.index_select(0, j)
            cand.index_fill_(0, j, False)
            in_ball = torch.zeros(n, dtype=torch.long, device=dev).index_add_(0, dst, (src == j).long()) > 0
            new = in_ball & ~covered
            covered |= new
            gain -= torch.zeros(n, dtype=torch.long, device=dev).index_add_(0, src, new.long()[dst])
        t2 = time.perf_counter()
        return Selection(
            indices=view.unlabeled[picks], scores=scores.to(x.dtype), timings={"score": t1 - t0, "select": t2 - t1},
            extras={"delta": float(delta), "coverage": float(covered.to(x.dtype).mean()), "n_edges": int(src.numel()),
                    "n_iter": n_iter, "representation": self.representation},
        )
