"""Diversity and hybrid strategies: kmeans, kcenter, badge, cluster_margin (reference §4.10-4.13).

Everything runs in torch on the view's device; every random step draws from the generator given to
``query``. Squared Euclidean distances use the ``‖a‖² + ‖b‖² − 2 a·b`` expansion with cached norms,
clamped at 0, and are computed in row blocks of at most :data:`CHUNK_ELEMS` elements (or one row of
the other set, whichever is larger), so no strategy here ever holds an ``N × N`` distance matrix
(except the one-off average-linkage clustering of ``cluster_margin``, on at most ``hac_max_points``).

The greedy loops (k-center, k-means++ seeding, BADGE, the HAC merges) keep each pick in a
one-element index tensor (``index_select`` / ``index_fill_``), never a 0-d tensor the host must read,
so a query waits for the device a bounded number of times whatever ``b`` (counted per strategy by
``tests/test_host_syncs.py`` with :func:`alkit.testing.count_host_syncs`).
"""

from __future__ import annotations

import math
import time

import torch

from alkit.strategies._registry import register_strategy
from alkit.strategies._select import top_k
from alkit.strategies._view import PoolView
from alkit.strategies.base import Selection, Strategy
from alkit.strategies.scores import margin_scores

__all__ = [
    "KMeansSampling",
    "KCenterGreedy",
    "BadgeSampling",
    "ClusterMargin",
    "CHUNK_ELEMS",
    "TORCH_HAC_MAX",
    "average_linkage",
    "hac_labels",
    "badge_sq_dists",
    "badge_sq_norms",
    "kmeans_pp_init",
    "lloyd",
    "lloyd_check_every",
    "nearest_sq_dists",
    "round_robin",
]

#: Element budget of one block of a distance computation (4 Mi elements: 16 MB in float32).
CHUNK_ELEMS = 1 << 22


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------
def _as_float(x: torch.Tensor) -> torch.Tensor:
    """Half precision and integer inputs are promoted to float32; float32/float64 are kept."""
    if not x.is_floating_point() or x.element_size() < 4:
        return x.float()
    return x


def _row_block(m: int, budget: int | None = None) -> int:
    """Rows per block so that ``rows × m`` stays within the element budget (at least one row)."""
    budget = CHUNK_ELEMS if budget is None else budget
    return max(1, budget // max(1, m))


def _sq_dists(x: torch.Tensor, x_sq: torch.Tensor, c: torch.Tensor, c_sq: torch.Tensor) -> torch.Tensor:
    """``(n, m)`` squared distances between the rows of ``x`` and ``c`` from cached squared norms, clamped at 0."""
    d = torch.addmm(c_sq.unsqueeze(0), x, c.T, alpha=-2.0)
    d.add_(x_sq.unsqueeze(1))
    return d.clamp_min_(0.0)


def nearest_sq_dists(
    x: torch.Tensor,
    c: torch.Tensor,
    x_sq: torch.Tensor | None = None,
    c_sq: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distance from each row of ``x`` to its nearest row of ``c``, and that row's position.

    Computed in blocks of rows of ``x`` holding at most ``max(CHUNK_ELEMS, len(c))`` distances, so
    memory stays ``O(N d + len(c) d)``. Ties go to the lowest position in ``c``.

    Returns
    -------
    (Tensor (N,), Tensor int64 (N,))
    """
    x_sq = (x * x).sum(1) if x_sq is None else x_sq
    c_sq = (c * c).sum(1) if c_sq is None else c_sq
    n = x.shape[0]
    best = torch.empty(n, dtype=x.dtype, device=x.device)
    arg = torch.empty(n, dtype=torch.long, device=x.device)
    step = _row_block(c.shape[0])
    for s in range(0, n, step):
        d = _sq_dists(x[s : s + step], x_sq[s : s + step], c, c_sq)
        best[s : s + step], arg[s : s + step] = d.min(dim=1)
    return best, arg


# --------------------------------------------------------------------------------------------
# k-means
# --------------------------------------------------------------------------------------------
def kmeans_pp_init(
    x: torch.Tensor, k: int, generator: torch.Generator | None, x_sq: torch.Tensor | None = None
) -> torch.Tensor:
    """Positions of ``k`` distinct k-means++ seeds (Arthur & Vassilvitskii, 2007).

    The first seed is uniform; each next one is drawn with probability proportional to the squared
    distance to the nearest seed so far (chosen rows have zero mass). When every remaining squared
    distance is 0 (duplicated points) the draw is uniform among the rows not chosen yet.
    """
    n = x.shape[0]
    x_sq = (x * x).sum(1) if x_sq is None else x_sq
    picks = torch.empty(k, dtype=torch.long, device=x.device)
    # ``c`` is a one-element index tensor (index_select / index_fill_): no host sync per seed.
    c = torch.randint(n, (1,), generator=generator, device=x.device)
    picks[0:1] = c
    chosen = torch.zeros(n, dtype=torch.bool, device=x.device)
    chosen.index_fill_(0, c, True)
    mind = torch.full((n,), math.inf, dtype=x.dtype, device=x.device)
    for t in range(1, k):
        d = (x_sq + x_sq.index_select(0, c) - 2.0 * (x @ x.index_select(0, c)[0])).clamp_min_(0.0)
        torch.minimum(mind, d, out=mind)
        w = mind.masked_fill(chosen, 0.0)
        w = torch.where(w.sum() > 0, w, (~chosen).to(x.dtype))
        c = torch.multinomial(w, 1, generator=generator)
        picks[t : t + 1] = c
        chosen.index_fill_(0, c, True)
    return picks


def lloyd_check_every(device: torch.device) -> int:
    """Lloyd iterations between two convergence checks on ``device``.

    A check reads one flag back to the host: free on the CPU (checked every iteration), a
    synchronisation on an accelerator (checked every 8 iterations). The result does not depend on
    it: iterations after convergence leave the centroids unchanged.
    """
    return 1 if device.type == "cpu" else 8


def _lloyd(
    x: torch.Tensor, centroids: torch.Tensor, max_iter: int, tol: float | torch.Tensor, x_sq: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`lloyd` with the iteration count left on the device (a 0-d int64 tensor)."""
    k = centroids.shape[0]
    c = centroids.clone()
    step = _row_block(k)
    every = lloyd_check_every(x.device)
    labels = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
    ones = torch.ones(x.shape[0], dtype=torch.long, device=x.device)
    done = torch.zeros((), dtype=torch.bool, device=x.device)
    n_iter = torch.zeros((), dtype=torch.long, device=x.device)
    for it in range(1, max_iter + 1):
        # argmin only needs ‖c‖² − 2 x·c (the ‖x‖² term is constant per row)
        c_sq = (c * c).sum(1)
        for s in range(0, x.shape[0], step):
            labels[s : s + step] = torch.addmm(c_sq.unsqueeze(0), x[s : s + step], c.T, alpha=-2.0).argmin(dim=1)
        counts = torch.zeros(k, dtype=torch.long, device=x.device).index_add_(0, labels, ones)  # bincount, no sync
        sums = torch.zeros_like(c).index_add_(0, labels, x)
        new = torch.where((counts > 0).unsqueeze(1), sums / counts.clamp_min(1).unsqueeze(1).to(x.dtype), c)
        shift = ((new - c) ** 2).sum()
        # Once converged the centroids are frozen, so checking the flag late changes nothing.
        c = torch.where(done, c, new)
        n_iter += (~done).long()
        done = done | (shift <= tol)
        if it % every == 0 and it < max_iter and bool(done):
            break
    return c, labels, n_iter, done


def lloyd(
    x: torch.Tensor,
    centroids: torch.Tensor,
    *,
    max_iter: int = 50,
    tol: float = 0.0,
    x_sq: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Lloyd's iterations from the given centroids.

    Stops after ``max_iter`` iterations or when the total squared centroid shift is ``<= tol``.
    A cluster that loses all its members keeps its previous centroid. The convergence flag is read
    by the host every :func:`lloyd_check_every` iterations; the result is the same for any interval.

    Returns
    -------
    centroids : Tensor (k, d)
    labels : Tensor int64 (N,)
        Assignment to the *returned* centroids (recomputed after the last update).
    inertia : Tensor, 0-d
        Sum of squared distances to the assigned centroid.
    n_iter : int
    """
    x_sq = (x * x).sum(1) if x_sq is None else x_sq
    c, _, n_iter, _ = _lloyd(x, centroids, max_iter, tol, x_sq)
    d, labels = nearest_sq_dists(x, c, x_sq)
    return c, labels, d.sum(), int(n_iter)


@register_strategy("kmeans")
class KMeansSampling(Strategy):
    r"""Representatives of a k-means clustering of the unlabeled embeddings, :math:`k=b` (reference §4.10).

    Lloyd's algorithm in torch with k-means++ seeding; the best of ``n_init`` seeded runs (lowest
    inertia) is kept. For each centroid the member of its cluster nearest to it is picked (members
    belong to one cluster only, so the picks are distinct). A cluster left empty by the final
    assignment (e.g. two centroids on duplicated points) falls back to the nearest point to its
    centroid not picked yet. Indices come ordered by cluster size, largest first; ``scores`` is
    ``None``. With ``b >= N_U`` every unlabeled item is returned. ``extras["empty_clusters"]`` counts
    the fallbacks.

    Parameters
    ----------
    n_init : int
        Number of k-means++ restarts (alkit pins 1 by default, not scikit-learn's 10 or "auto": each
        restart repeats the whole ``O(N b d)``-per-iteration clustering; ``make bench`` times one).
    max_iter : int
        Maximum Lloyd iterations per run.
    tol : float
        Convergence when the total squared centroid shift is ``<= tol × mean feature variance``
        (scikit-learn's rule).

    Notes
    -----
    ⚠ The survey's prose describes KMeans as k-means++ *seeding* (successive centres drawn with
    probability ∝ D², which is BADGE's rule); DeepAL+'s code runs full Lloyd k-means and picks the
    point nearest each centroid. alkit follows the code; for the prose's variant use ``badge``'s
    seeding on embeddings (``max_iter`` cannot turn Lloyd off: the seeding alone is not exposed here).

    References
    ----------
    Lloyd, *Least squares quantization in PCM*, 1982; Arthur & Vassilvitskii, *k-means++*, 2007;
    DeepAL+ ``KMeansSampling`` (Zhan et al., *A Comparative Survey of Deep Active Learning*, 2022).
    """

    needs = frozenset({"embeddings"})

    def __init__(self, n_init: int = 1, max_iter: int = 50, tol: float = 1e-4) -> None:
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        if not isinstance(self.n_init, int) or self.n_init < 1:
            raise ValueError(f"n_init must be a positive integer, got {self.n_init!r}")
        if not isinstance(self.max_iter, int) or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        n = view.n_unlabeled
        if k >= n:
            return Selection(indices=view.unlabeled.clone())
        t0 = time.perf_counter()
        x = _as_float(view.embeddings)
        x_sq = (x * x).sum(1)
        tol = self.tol * x.var(dim=0, unbiased=False).mean()
        best = None
        for _ in range(self.n_init):
            init = kmeans_pp_init(x, k, generator, x_sq)
            c, _, n_iter, _ = _lloyd(x, x.index_select(0, init), self.max_iter, tol, x_sq)
            d, labels = nearest_sq_dists(x, c, x_sq)
            run = (c, labels, d.sum(), n_iter)
            if best is None:
                best = run
            else:  # keep the lowest inertia (the earliest run on ties), without a host sync
                better = run[2] < best[2]
                best = tuple(torch.where(better, r, b) for r, b in zip(run, best))
        assert best is not None
        c, labels, _, n_iter = best
        t1 = time.perf_counter()
        picks, n_empty = _cluster_representatives(x, x_sq, c, labels)
        t2 = time.perf_counter()
        return Selection(
            indices=view.unlabeled[picks],
            timings={"score": t1 - t0, "select": t2 - t1},
            extras={"empty_clusters": n_empty, "n_iter": int(n_iter)},
        )


def _cluster_representatives(
    x: torch.Tensor, x_sq: torch.Tensor, c: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, int]:
    """Per centroid, the member nearest to it (empty clusters: nearest unused point); largest cluster first."""
    k, n = c.shape[0], x.shape[0]
    c_sq = (c * c).sum(1)
    own = (x_sq + c_sq[labels] - 2.0 * (x * c[labels]).sum(1)).clamp_min(0.0)
    # Sort by distance, then stably by cluster: the first row of each cluster's run is its nearest member.
    order = torch.sort(own, stable=True).indices
    order = order[torch.sort(labels[order], stable=True).indices]
    counts = torch.zeros(k, dtype=torch.long, device=x.device).index_add_(0, labels, torch.ones_like(labels))
    starts = torch.cumsum(counts, 0) - counts
    picks = order[starts.clamp_max(n - 1)]
    empty = counts == 0
    n_empty = int(empty.sum())  # one host read per query; the fallback below runs only for empty clusters
    if n_empty:
        # rows picked by a non-empty cluster (index_add_ rather than a boolean-mask write: no sync)
        used = torch.zeros(n, dtype=torch.long, device=x.device).index_add_(0, picks, (~empty).long()) > 0
        todo = empty.clone()
        for _ in range(n_empty):  # empty clusters in ascending order, each index kept on the device
            j = torch.argmax(todo.to(torch.uint8), dim=0, keepdim=True)
            cj = c.index_select(0, j)[0]
            d = (x_sq + c_sq.index_select(0, j) - 2.0 * (x @ cj)).masked_fill_(used, math.inf)
            p = torch.argmin(d, dim=0, keepdim=True)
            picks.index_copy_(0, j, p)
            used.index_fill_(0, p, True)
            todo.index_fill_(0, j, False)
    by_size = torch.sort(counts, descending=True, stable=True).indices
    return picks[by_size], n_empty


# --------------------------------------------------------------------------------------------
# k-center greedy
# --------------------------------------------------------------------------------------------
def pca_project(x: torch.Tensor, y: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Project the rows of ``x`` and ``y`` on the top ``dim`` principal components of their union.

    Exact PCA from the ``d × d`` covariance (``torch.linalg.eigh``), so no random projection and no
    ``N × N`` matrix; stays on the device.
    """
    both = torch.cat([x, y]) if y.shape[0] else x
    mean = both.mean(0, keepdim=True)
    centred = both - mean
    cov = centred.T @ centred / max(1, both.shape[0] - 1)
    _, vecs = torch.linalg.eigh(cov)  # ascending eigenvalues
    comps = vecs[:, -dim:].flip(1)
    return (x - mean) @ comps, (y - mean) @ comps


@register_strategy("kcenter")
class KCenterGreedy(Strategy):
    r"""Greedy k-center (core-set), farthest-first traversal from the labeled set (reference §4.11).

    Repeats ``b`` times :math:`u^\star = \arg\max_{x \in U\setminus S} \min_{c \in L \cup S} \lVert e(x) - e(c)\rVert`,
    keeping a running min-distance vector (``O(N_U)`` extra memory, never an ``N × N`` matrix); the
    initial distances to ``L`` are computed in blocks. Ties go to the lowest pool index
    (``torch.argmax`` returns the first maximum). A 2-approximation of the optimal covering radius.
    ``scores`` holds each pick's min-distance at pick time.

    With an empty labeled set the first centre is the unlabeled point closest to the embedding mean
    (deterministic; its score is its distance to the mean). Distances are computed in the
    embeddings' dtype (half precision is promoted to float32).

    Parameters
    ----------
    pca_dim : int or None
        ⚠ Sener & Savarese and ``None`` (the default): distances in the full embedding. The survey's
        text projects to 32 principal components and DeepAL+'s ``KCenterGreedyPCA`` to 50; pass
        ``pca_dim=32`` or ``50`` to reproduce them. The projection is exact PCA (eigendecomposition
        of the ``d × d`` covariance of ``L ∪ U``, on the device), so it needs no randomness.

    References
    ----------
    Sener & Savarese, *Active Learning for Convolutional Neural Networks: A Core-Set Approach*, ICLR 2018;
    Gonzalez, *Clustering to minimize the maximum intercluster distance*, 1985.
    """

    needs = frozenset({"embeddings", "labeled_embeddings"})

    def __init__(self, pca_dim: int | None = None) -> None:
        self.pca_dim = pca_dim

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        if self.pca_dim is not None and (isinstance(self.pca_dim, bool) or not isinstance(self.pca_dim, int)
                                         or self.pca_dim < 1):
            raise ValueError(f"pca_dim must be a positive integer or None, got {self.pca_dim!r}")
        t0 = time.perf_counter()
        x = _as_float(view.embeddings)
        lab = view.labeled_embeddings.to(x.dtype)
        if self.pca_dim is not None and self.pca_dim < x.shape[1]:
            x, lab = pca_project(x, lab, self.pca_dim)
        x_sq = (x * x).sum(1)
        picks = torch.empty(k, dtype=torch.long, device=x.device)
        scores = torch.empty(k, dtype=x.dtype, device=x.device)
        # Each pick stays on the device: ``j`` is a one-element index tensor used through
        # index_select / index_fill_, never a 0-d tensor read back by the host (no sync per pick).
        if lab.shape[0] > 0:
            mind, _ = nearest_sq_dists(x, lab, x_sq)
            start = 0
        else:
            mean = x.mean(0, keepdim=True)
            d_mean, _ = nearest_sq_dists(x, mean, x_sq)
            j = torch.argmin(d_mean, dim=0, keepdim=True)
            picks[0:1], scores[0:1] = j, d_mean.index_select(0, j).sqrt()
            mind = (x_sq + x_sq.index_select(0, j) - 2.0 * (x @ x.index_select(0, j)[0])).clamp_min_(0.0)
            mind.index_fill_(0, j, -math.inf)
            start = 1
        t1 = time.perf_counter()
        for t in range(start, k):
            j = torch.argmax(mind, dim=0, keepdim=True)
            picks[t : t + 1], scores[t : t + 1] = j, mind.index_select(0, j).sqrt()
            d = (x_sq + x_sq.index_select(0, j) - 2.0 * (x @ x.index_select(0, j)[0])).clamp_min_(0.0)
            torch.minimum(mind, d, out=mind)
            mind.index_fill_(0, j, -math.inf)  # never picked twice, even when every remaining distance is 0
        t2 = time.perf_counter()
        return Selection(indices=view.unlabeled[picks], scores=scores, timings={"score": t1 - t0, "select": t2 - t1})


# --------------------------------------------------------------------------------------------
# BADGE
# --------------------------------------------------------------------------------------------
def badge_sq_norms(a: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    r"""Squared norms of the gradient embeddings :math:`g = a \otimes e`: :math:`\lVert a\rVert^2 \lVert e\rVert^2`."""
    return (a * a).sum(1) * (e * e).sum(1)


def badge_sq_dists(a: torch.Tensor, e: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    r"""``(N, len(idx))`` squared distances between every :math:`g_i = a_i \otimes e_i` and the rows ``idx``.

    Uses :math:`\lVert g_i - g_j\rVert^2 = \lVert a_i\rVert^2\lVert e_i\rVert^2 + \lVert a_j\rVert^2\lVert e_j\rVert^2
    - 2 (a_i\cdot a_j)(e_i\cdot e_j)`, never materialising the ``K d``-dimensional vectors; clamped at 0.
    """
    g_sq = badge_sq_norms(a, e)
    idx = torch.as_tensor(idx, dtype=torch.long, device=a.device).reshape(-1)
    cross = (a @ a[idx].T) * (e @ e[idx].T)
    return (g_sq.unsqueeze(1) + g_sq[idx].unsqueeze(0) - 2.0 * cross).clamp_min_(0.0)


@register_strategy("badge")
class BadgeSampling(Strategy):
    r"""BADGE: k-means++ seeding on gradient embeddings :math:`g_x = (p(x) - \mathbf 1_{\hat y}) \otimes e(x)` (reference §4.12).

    The first centre is :math:`\arg\max_x \lVert g_x\rVert` (ties to the lowest pool index); each next
    one is drawn from the seeded generator with probability :math:`D(x)^2 / \sum D^2`, :math:`D` the
    distance to the nearest chosen centre, chosen points having zero mass. If every remaining
    :math:`D` is 0 (e.g. a perfectly confident model) the draw is uniform among the unchosen points.
    Distances use the factorised form (see :func:`badge_sq_dists`), ``O(N_U (K + d))`` memory.
    ``scores`` holds :math:`D` at pick time (:math:`\lVert g\rVert` for the first pick).

    References
    ----------
    Ash, Zhang, Krishnamurthy, Langford & Agarwal, *Deep Batch Active Learning by Diverse, Uncertain
    Gradient Lower Bounds*, ICLR 2020.
    """

    needs = frozenset({"grad_factors"})

    def __init__(self) -> None:
        pass

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        t0 = time.perf_counter()
        a, e = view.grad_factors
        a, e = _as_float(a), _as_float(e)
        dt = torch.promote_types(a.dtype, e.dtype)
        a, e = a.to(dt), e.to(dt)
        n = a.shape[0]
        g_sq = badge_sq_norms(a, e)
        picks = torch.empty(k, dtype=torch.long, device=a.device)
        scores = torch.empty(k, dtype=dt, device=a.device)
        chosen = torch.zeros(n, dtype=torch.bool, device=a.device)
        # ``j`` is a one-element index tensor (index_select / index_fill_): no host sync per pick.
        j = torch.argmax(g_sq, dim=0, keepdim=True)
        picks[0:1], scores[0:1] = j, g_sq.index_select(0, j).sqrt()
        chosen.index_fill_(0, j, True)
        mind = torch.full((n,), math.inf, dtype=dt, device=a.device)
        for t in range(1, k):
            aj, ej = a.index_select(0, j)[0], e.index_select(0, j)[0]
            d = (g_sq + g_sq.index_select(0, j) - 2.0 * (a @ aj) * (e @ ej)).clamp_min_(0.0)
            torch.minimum(mind, d, out=mind)
            w = mind.masked_fill(chosen, 0.0)
            w = torch.where(w.sum() > 0, w, (~chosen).to(dt))
            j = torch.multinomial(w, 1, generator=generator)
            picks[t : t + 1], scores[t : t + 1] = j, mind.index_select(0, j).sqrt()
            chosen.index_fill_(0, j, True)
        t1 = time.perf_counter()
        return Selection(indices=view.unlabeled[picks], scores=scores, timings={"select": t1 - t0})


# --------------------------------------------------------------------------------------------
# Cluster-Margin
# --------------------------------------------------------------------------------------------
def average_linkage(
    x: torch.Tensor, n_clusters: int | None = None, distance_threshold: float | None = None
) -> torch.Tensor:
    """Agglomerative clustering with average linkage on Euclidean distances, in torch.

    Merges the two closest clusters (mean pairwise distance) until ``n_clusters`` remain, or until
    the closest pair is at distance ``>= distance_threshold`` (scikit-learn's convention). Holds the
    full ``m × m`` distance matrix in float64 (float32 on MPS): meant for ``m`` up to a few thousand.
    Each merge updates one row and refreshes the nearest cluster of the rows whose nearest cluster
    was merged. The merges run on the device with no host synchronisation (with a threshold, the
    stop flag is read every 64 merges), at the cost of one ``O(m²)`` row-minimum pass per merge.

    Returns
    -------
    Tensor int64 (m,)
        Cluster labels ``0 .. C-1``, numbered by first appearance order of their lowest member.
    """
    if (n_clusters is None) == (distance_threshold is None):
        raise ValueError("give exactly one of n_clusters and distance_threshold")
    m = x.shape[0]
    dev = x.device
    dt = torch.float32 if dev.type == "mps" else torch.float64
    target = 1 if n_clusters is None else max(1, min(int(n_clusters), m))
    if m <= target:
        return torch.arange(m, device=dev)
    xs = x.to(dt)
    sq = (xs * xs).sum(1)
    # Row/column m is a scratch cluster at infinite distance: a merge refused by the threshold is
    # redirected there, so every step runs the same device operations and the host never has to
    # look at a distance (no synchronisation per merge; the stop flag is read every 64 merges).
    dist = torch.full((m + 1, m + 1), math.inf, dtype=dt, device=dev)
    dist[:m, :m] = _sq_dists(xs, sq, xs, sq).sqrt_()
    dist.fill_diagonal_(math.inf)
    size = torch.ones(m + 1, dtype=dt, device=dev)
    owner = torch.arange(m, device=dev)
    scratch = torch.full((1,), m, dtype=torch.long, device=dev)
    inf = torch.full((1,), math.inf, dtype=dt, device=dev)
    rowmin, nn = dist.min(dim=1)
    for step in range(m - target):
        i = torch.argmin(rowmin, dim=0, keepdim=True)
        j = nn.index_select(0, i)
        lo, hi = torch.minimum(i, j), torch.maximum(i, j)
        if distance_threshold is not None:
            go = rowmin.index_select(0, i) < distance_threshold
            lo, hi = torch.where(go, lo, scratch), torch.where(go, hi, scratch)
        s_lo, s_hi = size.index_select(0, lo), size.index_select(0, hi)
        new = (s_lo * dist.index_select(0, lo)[0] + s_hi * dist.index_select(0, hi)[0]) / (s_lo + s_hi)
        dist.index_copy_(0, lo, new.unsqueeze(0))
        dist.index_copy_(1, lo, new.unsqueeze(1))
        dist.index_put_((lo, lo), inf)
        dist.index_fill_(0, hi, math.inf)
        dist.index_fill_(1, hi, math.inf)
        size.index_add_(0, lo, s_hi if distance_threshold is None else torch.where(go, s_hi, 0.0))
        owner = torch.where(owner == hi, lo, owner)
        # The new row is an average of the two old ones, so no other row's minimum can drop;
        # only rows whose nearest cluster was merged (and the merged row) take a fresh minimum
        # (computed for all rows: selecting the stale ones would need their count on the host).
        stale = (nn == lo) | (nn == hi)
        stale.index_fill_(0, lo, True)
        stale.index_fill_(0, hi, False)
        fresh_min, fresh_nn = dist.min(dim=1)
        rowmin, nn = torch.where(stale, fresh_min, rowmin), torch.where(stale, fresh_nn, nn)
        rowmin.index_fill_(0, hi, math.inf)
        if distance_threshold is not None and step % 64 == 63 and not bool(go):
            break  # refused merges change nothing, so every later one is refused too
    return torch.unique(owner, return_inverse=True)[1]


#: Largest number of points :func:`hac_labels` clusters with the torch :func:`average_linkage`.
TORCH_HAC_MAX = 512


def hac_labels(x: torch.Tensor, n_clusters: int | None = None, distance_threshold: float | None = None) -> torch.Tensor:
    """Average-linkage HAC labels of the rows of ``x``, on ``x``'s device.

    Up to :data:`TORCH_HAC_MAX` rows run :func:`average_linkage` in torch. Beyond that the one-off
    clustering uses scikit-learn's ``AgglomerativeClustering(linkage="average")``: **an explicit host
    round-trip** (the embeddings go to the CPU as NumPy, the labels come back), far faster than the
    Python-level merge loop. Both give the same partition up to label names (checked in the tests).
    """
    if x.shape[0] <= TORCH_HAC_MAX:
        return average_linkage(x, n_clusters=n_clusters, distance_threshold=distance_threshold)
    from sklearn.cluster import AgglomerativeClustering

    host = x.detach().to("cpu", torch.float64).numpy()  # deliberate, documented host hop (runs once)
    model = AgglomerativeClustering(n_clusters=n_clusters, distance_threshold=distance_threshold, linkage="average")
    labels = torch.as_tensor(model.fit_predict(host), dtype=torch.long)
    return torch.unique(labels, return_inverse=True)[1].to(x.device)


@register_strategy("cluster_margin")
class ClusterMargin(Strategy):
    r"""Cluster-Margin: lowest-margin candidates spread round-robin over fixed HAC clusters (reference §4.13).

    On the **first** query the unlabeled embeddings are clustered once with average-linkage HAC
    (:func:`hac_labels`: in torch on the view's device up to :data:`TORCH_HAC_MAX` items, beyond
    that scikit-learn on the host, a documented one-off host round-trip); the pool-index → cluster map is cached
    on the instance and never recomputed. When more than ``hac_max_points`` items are unlabeled, HAC
    runs on a seeded subsample of that size and the other items join the cluster with the nearest
    centroid. A pool view only carries the unlabeled embeddings, so items the first view did not
    contain (not expected in a pool-based loop, where U only shrinks) are likewise assigned to the
    nearest centroid on the fly. Call :meth:`reset_clusters` to start afresh on another pool. The
    cached clustering is stored with every round of a run (``resume_state``), so a resumed run keeps it.

    Each round: take the :math:`k_m = \lceil \text{margin\_multiplier} \cdot b\rceil` lowest-margin
    items (ties to the lowest pool index), group them by cluster, sort the groups by size ascending
    (ties by cluster id) and visit them round-robin, taking one seeded-random not-yet-taken member
    per group until :math:`b` items are chosen. ``scores`` holds the margin score
    :math:`-(p_{(1)} - p_{(2)})` of the picks.

    Parameters
    ----------
    margin_multiplier : float
        :math:`k_m / k_t`, ``>= 1``. The default 10 is alkit's choice; the paper's exact value is
        **unverified** (reference §4.13: "a small multiple").
    n_clusters : int, optional
        Number of HAC clusters. When neither this nor ``distance_threshold`` is given, alkit uses
        :math:`\lceil\sqrt{m}\rceil` for the ``m`` clustered items (its own choice, unverified).
    distance_threshold : float, optional
        Stop merging at this average-linkage distance (the paper's :math:`\varepsilon`).
    hac_max_points : int
        Largest number of items clustered by HAC (``O(m²)`` memory and time, paid once per run:
        the clustering is cached across rounds).

    References
    ----------
    Citovsky, DeSalvo, Gentile, Karydas, Rajagopalan, Rostamizadeh & Kumar, *Batch Active Learning
    at Scale*, NeurIPS 2021.
    """

    needs = frozenset({"probs", "embeddings"})
    resume_state = {"_clusters": "store"}  # fitted on the first query's pool, reused by every later one

    def __init__(
        self,
        margin_multiplier: float = 10,
        n_clusters: int | None = None,
        distance_threshold: float | None = None,
        hac_max_points: int = 2000,
    ) -> None:
        self.margin_multiplier = margin_multiplier
        self.n_clusters = n_clusters
        self.distance_threshold = distance_threshold
        self.hac_max_points = hac_max_points

    def reset_clusters(self) -> None:
        """Forget the cached clustering (the next query clusters again)."""
        self.__dict__.pop("_clusters", None)

    def _check(self) -> None:
        if not self.margin_multiplier >= 1:
            raise ValueError(f"margin_multiplier must be >= 1, got {self.margin_multiplier!r}")
        if self.n_clusters is not None and self.distance_threshold is not None:
            raise ValueError("give at most one of n_clusters and distance_threshold")
        if self.n_clusters is not None and (not isinstance(self.n_clusters, int) or self.n_clusters < 1):
            raise ValueError(f"n_clusters must be a positive integer, got {self.n_clusters!r}")
        if not isinstance(self.hac_max_points, int) or self.hac_max_points < 2:
            raise ValueError(f"hac_max_points must be an integer >= 2, got {self.hac_max_points!r}")

    def _fit_clusters(self, view: PoolView, generator: torch.Generator | None) -> None:
        x = _as_float(view.embeddings)
        n, dev = x.shape[0], x.device
        if n > self.hac_max_points:
            sample = torch.randperm(n, generator=generator, device=dev)[: self.hac_max_points]
        else:
            sample = torch.arange(n, device=dev)
        m = sample.numel()
        thr = self.distance_threshold
        n_cl = None if thr is not None else (self.n_clusters or math.ceil(math.sqrt(m)))
        sub = hac_labels(x[sample], n_clusters=n_cl, distance_threshold=thr)
        c = int(sub.max()) + 1
        counts = torch.bincount(sub, minlength=c).to(x.dtype)
        centroids = torch.zeros(c, x.shape[1], dtype=x.dtype, device=dev).index_add_(0, sub, x[sample])
        centroids /= counts.unsqueeze(1)
        _, labels = nearest_sq_dists(x, centroids)
        labels[sample] = sub
        self._clusters = (view.unlabeled.clone(), labels, centroids)

    def _labels_for(self, view: PoolView) -> torch.Tensor:
        pool, labels, centroids = (t.to(view.device) for t in self._clusters)
        pos = torch.searchsorted(pool, view.unlabeled).clamp_max(pool.numel() - 1)
        found = pool[pos] == view.unlabeled
        out = labels[pos]
        if not bool(found.all()):
            _, near = nearest_sq_dists(_as_float(view.embeddings).to(centroids.dtype), centroids)
            out = torch.where(found, out, near)
        return out

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        self._check()
        t0 = time.perf_counter()
        if getattr(self, "_clusters", None) is None:
            self._fit_clusters(view, generator)
        labels = self._labels_for(view)
        t1 = time.perf_counter()
        scores = margin_scores(view.probs)
        n = view.n_unlabeled
        k_m = min(n, max(k, math.ceil(self.margin_multiplier * k)))
        cand = top_k(scores, k_m)
        pos = round_robin(labels[cand], k, generator)
        picks = cand[pos]
        t2 = time.perf_counter()
        return Selection(
            indices=view.unlabeled[picks], scores=scores[picks], timings={"cluster": t1 - t0, "select": t2 - t1}
        )


def round_robin(groups: torch.Tensor, k: int, generator: torch.Generator | None) -> torch.Tensor:
    """Positions of ``k`` items taken round-robin over groups, smallest group first.

    Groups are visited by size ascending (ties by group id); within a group the order is a seeded
    random permutation. Pass ``r`` takes the ``r``-th member of every group with more than ``r``
    members, so the result is ordered by (pass, group rank).
    """
    m = groups.numel()
    _, inv, counts = torch.unique(groups, return_inverse=True, return_counts=True)
    g_rank = torch.empty_like(counts)
    g_rank[torch.sort(counts, stable=True).indices] = torch.arange(counts.numel(), device=groups.device)
    prio = torch.randperm(m, generator=generator, device=groups.device)
    order = torch.sort(inv * m + prio).indices  # grouped, random within a group
    starts = torch.cumsum(counts, 0) - counts
    within = torch.empty_like(inv)
    within[order] = torch.arange(m, device=groups.device) - starts[inv[order]]
    key = within * counts.numel() + g_rank[inv]
    return torch.sort(key).indices[:k]
