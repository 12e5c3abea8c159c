"""ASAL (reference §4.20) and GAAL (§4.21): generate informative samples with a GAN, then retrieve.

The one-off work (training the WGAN-GP of :mod:`alkit.strategies._gan`, the pool's features, PCA and the
nearest-neighbour index) happens at the first query of a strategy instance and is kept for the
following rounds (the GAN also on disk, in the view's ``cache_dir``). It runs on the view's device, like the
per-query work (latent optimisation and matching), so nothing crosses to the host but scalars.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from alkit.device import exact_dtype
from alkit.strategies import _gan
from alkit.strategies._registry import register_strategy
from alkit.strategies._view import PoolView
from alkit.strategies.base import Selection, Strategy

__all__ = [
    "ASAL",
    "GAAL",
    "PCA",
    "PoolIndex",
    "fit_pca",
    "latent_ascent",
    "match_without_replacement",
    "entropy_objective",
    "margin_objective",
    "top2_margin",
]

_FEATURES = ("pixels", "autoencoder", "discriminator")
_INDEX_MODES = ("auto", "exact", "ivf")
#: Pools at least this large get the IVF index under ``index="auto"``.
IVF_MIN_POOL = 4096
_CHUNK = 64  # queries per distance block
_ROW_CHUNK = 16384  # pool rows per block when assigning to centroids


# ---------------------------------------------------------------------------------- PCA
@dataclass
class PCA:
    """An exact PCA: ``project(x) = (x - mean) @ components``, components ``(D, p)`` orthonormal."""

    mean: torch.Tensor
    components: torch.Tensor

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1).to(self.mean.dtype) - self.mean) @ self.components


def fit_pca(x: torch.Tensor, n_components: int = 50, *, dtype: torch.dtype | None = None) -> PCA:
    """Exact PCA of ``x`` ``(N, D)`` by the eigendecomposition of the D x D covariance.

    Components are sorted by decreasing variance; each one's sign is fixed so that its entry of
    largest magnitude is positive (deterministic, no generator). ``p = min(n_components, D)``.
    The mean and covariance are accumulated in ``dtype``, by default
    :func:`alkit.device.exact_dtype`: float64, float32 on MPS (which has no float64). MPS has no
    eigendecomposition either, so there the D x D covariance goes to the CPU for ``eigh`` (in
    float64) and the components come back: one D x D transfer per fit, explicit.
    """
    x = x.flatten(1)
    n, d = x.shape
    p = max(1, min(int(n_components), d))
    dt = exact_dtype(x.device) if dtype is None else dtype
    mean = x.to(dt).mean(0)
    cov = torch.zeros(d, d, dtype=dt, device=x.device)
    for s in range(0, n, _ROW_CHUNK):
        xc = x[s:s + _ROW_CHUNK].to(dt) - mean
        cov += xc.T @ xc
    cov /= max(n - 1, 1)
    if x.device.type == "mps":  # pragma: no cover - no MPS here; linalg.eigh has no MPS kernel
        _, vecs = torch.linalg.eigh(cov.cpu().double())
        vecs = vecs.to(x.device, dt)
    else:
        _, vecs = torch.linalg.eigh(cov)  # ascending eigenvalues
    comps = vecs.flip(1)[:, :p]
    pivot = comps.abs().argmax(0)
    sign = torch.sign(comps.gather(0, pivot.unsqueeze(0))).squeeze(0)
    comps = comps * torch.where(sign == 0, torch.ones_like(sign), sign)
    return PCA(mean=mean.to(x.dtype), components=comps.to(x.dtype))


# ---------------------------------------------------------------------------- the index
def _sq_dist(q: torch.Tensor, q_sq: torch.Tensor, f: torch.Tensor, f_sq: torch.Tensor) -> torch.Tensor:
    return (q_sq[:, None] - 2.0 * (q @ f.T) + f_sq[None, :]).clamp_min_(0.0)


class PoolIndex:
    """Nearest-neighbour index over fixed pool features, built once.

    ``mode="exact"`` keeps the feature matrix and its squared norms and answers a query by matrix
    products in blocks (cost linear in the pool). ``mode="ivf"`` adds a coarse quantiser: ``n_lists``
    k-means centroids (default ``round(sqrt(N))``, 10 Lloyd steps from evenly spaced rows, so no
    generator is needed) and a padded inverted list per centroid; a query scans the ``nprobe``
    nearest lists only, so its cost grows like ``n_lists + nprobe * N / n_lists`` = O(sqrt N).
    IVF is approximate: the true neighbour can sit in an unprobed list.

    Parameters
    ----------
    features : Tensor (N, d)
        Features of every pool item, row ``i`` for pool index ``row_pool[i]``.
    row_pool : Tensor, int64 (N,)
        Pool indices of the rows, ascending.
    """

    def __init__(self, features: torch.Tensor, row_pool: torch.Tensor, mode: str = "exact",
                 n_lists: int | None = None, nprobe: int = 8) -> None:
        if mode not in ("exact", "ivf"):
            raise ValueError(f"index mode must be 'exact' or 'ivf', got {mode!r}")
        self.features = features.float().contiguous()
        self.sq = (self.features * self.features).sum(1)
        self.row_pool = row_pool
        self.mode = mode
        self.nprobe = int(nprobe)
        n = features.shape[0]
        if mode == "ivf":
            n_lists = int(n_lists) if n_lists else max(1, round(math.sqrt(n)))
            n_lists = min(n_lists, n)
            self._build_ivf(n_lists)

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def _assign(self, centroids: torch.Tensor) -> torch.Tensor:
        c_sq = (centroids * centroids).sum(1)
        out = torch.empty(len(self), dtype=torch.long, device=self.features.device)
        for s in range(0, len(self), _ROW_CHUNK):
            f = self.features[s:s + _ROW_CHUNK]
            out[s:s + _ROW_CHUNK] = _sq_dist(f, self.sq[s:s + _ROW_CHUNK], centroids, c_sq).argmin(1)
        return out

    def _build_ivf(self, n_lists: int, steps: int = 10) -> None:
        f = self.features
        dev = f.device
        start = torch.linspace(0, len(self) - 1, n_lists, device=dev).round().long()
        centroids = f[start].clone()
        for _ in range(steps):
            assign = self._assign(centroids)
            sums = torch.zeros_like(centroids).index_add_(0, assign, f)
            counts = torch.bincount(assign, minlength=n_lists)
            keep = counts > 0  # an emptied centroid keeps its place
            centroids = torch.where(keep[:, None], sums / counts.clamp_min(1)[:, None].to(f.dtype), centroids)
        assign = self._assign(centroids)
        counts = torch.bincount(assign, minlength=n_lists)
        order = torch.argsort(assign, stable=True)
        offsets = torch.cumsum(counts, 0) - counts
        slot = torch.arange(len(self), device=dev) - offsets[assign[order]]
        max_len = int(counts.max().item())  # one scalar, once, at build time
        lists = torch.full((n_lists, max_len), -1, dtype=torch.long, device=dev)
        lists[assign[order], slot] = order
        # List-major copies of the features: a probed list is one contiguous block (a random-row gather
        # from the full matrix is cache-bound and grew linearly in practice).
        list_feats = torch.zeros(n_lists, max_len, f.shape[1], dtype=f.dtype, device=dev)
        list_feats[assign[order], slot] = f[order]
        list_sq = torch.zeros(n_lists, max_len, dtype=f.dtype, device=dev)
        list_sq[assign[order], slot] = self.sq[order]
        self.centroids, self.c_sq, self.lists, self.list_sizes = centroids, (centroids * centroids).sum(1), lists, counts
        self.list_feats, self.list_sq = list_feats, list_sq

    def search(self, q: torch.Tensor, available: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``m`` nearest *available* rows of each query: ``(sq_dists, rows)``, each ``(b, m)``.

        Missing neighbours (fewer than ``m`` available rows in reach) have distance ``inf`` and row 0.
        """
        q = q.float()
        q_sq = (q * q).sum(1)
        dists, rows = [], []
        for s in range(0, q.shape[0], _CHUNK):
            qc, qs = q[s:s + _CHUNK], q_sq[s:s + _CHUNK]
            if self.mode == "exact":
                d = _sq_dist(qc, qs, self.features, self.sq).masked_fill_(~available[None, :], math.inf)
                mm = min(m, d.shape[1])
                dd, rr = torch.topk(d, mm, dim=1, largest=False, sorted=True)
            else:
                dc = _sq_dist(qc, qs, self.centroids, self.c_sq)
                probe = torch.topk(dc, min(self.nprobe, dc.shape[1]), dim=1, largest=False).indices
                cand = self.lists[probe].flatten(1)  # (qc, nprobe * max_len)
                valid = cand >= 0
                cr = cand.clamp_min(0)
                lf = self.list_feats[probe].flatten(1, 2)  # (qc, nprobe * max_len, p)
                dot = torch.bmm(lf, qc[:, :, None]).squeeze(2)
                d = (qs[:, None] - 2.0 * dot + self.list_sq[probe].flatten(1)).clamp_min_(0)
                d = d.masked_fill_(~(valid & available[cr]), math.inf)
                mm = min(m, d.shape[1])
                dd, pos = torch.topk(d, mm, dim=1, largest=False, sorted=True)
                rr = cr.gather(1, pos)
            if mm < m:
                dd = torch.cat([dd, dd.new_full((dd.shape[0], m - mm), math.inf)], 1)
                rr = torch.cat([rr, rr.new_zeros((rr.shape[0], m - mm))], 1)
            dists.append(dd)
            rows.append(rr)
        return torch.cat(dists), torch.cat(rows)


def match_without_replacement(cand_rows: torch.Tensor, cand_dists: torch.Tensor, available: torch.Tensor
                              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Greedy matching without replacement, in row order of the queries (first query first).

    Query ``t`` takes its nearest candidate that is still available (not labeled, not taken by an
    earlier query): two queries nearest the same item get that item and the next nearest free one.
    Returns ``(rows, sq_dists, ok)``; ``ok[t]`` is False when none of query ``t``'s candidates was
    free (cannot happen when every query has ``b`` finite candidates). Device-only, no host sync.
    """
    free_all = available.clone()
    b = cand_rows.shape[0]
    rows = torch.empty(b, dtype=torch.long, device=cand_rows.device)
    dists = torch.empty(b, dtype=cand_dists.dtype, device=cand_rows.device)
    ok = torch.empty(b, dtype=torch.bool, device=cand_rows.device)
    for t in range(b):
        r = cand_rows[t]
        free = free_all[r] & torch.isfinite(cand_dists[t])
        first = free.to(torch.uint8).argmax().unsqueeze(0)  # first True (candidates sorted by distance)
        j = r.gather(0, first)
        rows[t:t + 1] = j
        dists[t:t + 1] = cand_dists[t].gather(0, first)
        ok[t:t + 1] = free.any().unsqueeze(0)
        free_all.index_fill_(0, j, False)
    return rows, dists, ok


# ----------------------------------------------------------------------- latent ascent
def _entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    logp = torch.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def entropy_objective(logits: torch.Tensor) -> torch.Tensor:
    """ASAL's loss per sample, :math:`-H(p)` (minimise it to raise the entropy)."""
    return -_entropy_from_logits(logits)


def top2_margin(logits: torch.Tensor) -> torch.Tensor:
    """:math:`p_{(1)} - p_{(2)}` per sample (0 on the decision boundary)."""
    top = torch.softmax(logits.float(), dim=-1).topk(2, dim=-1).values
    return top[:, 0] - top[:, 1]


def margin_objective(logits: torch.Tensor) -> torch.Tensor:
    r"""GAAL's loss per sample: squared logit gap :math:`(\ell_1-\ell_0)^2` for two classes (the squared
    distance to the hyperplane up to :math:`\lVert w\rVert^2`), else the margin :math:`p_{(1)}-p_{(2)}`."""
    if logits.shape[-1] == 2:
        return (logits[:, 1] - logits[:, 0]).float() ** 2
    return top2_margin(logits)


def latent_ascent(gen: nn.Module, model: nn.Module, z: torch.Tensor,
                  objective: Callable[[torch.Tensor], torch.Tensor], steps: int = 100, lr: float = 0.01
                  ) -> torch.Tensor:
    """Minimise ``objective(model(gen(z))).mean()`` over the latents by Adam, the batch jointly.

    Only ``z`` moves; the generator and the classifier are left untouched (no parameter gradients are
    stored). Returns the optimised latents (detached).
    """
    z = z.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    with torch.enable_grad():
        for _ in range(int(steps)):
            loss = objective(model(gen(z))).mean()
            (grad,) = torch.autograd.grad(loss, z)
            z.grad = grad
            opt.step()
    return z.detach()


# ------------------------------------------------------------------------- strategies
class _GANRetrieval(Strategy):
    """Shared machinery: the cached GAN, pool features + PCA + index, matching."""

    needs = frozenset({"inputs", "labeled_inputs", "model"})
    in_demo = False  # one-off GAN training (minutes on a CPU for images)
    #: The GAN, PCA and index depend on the whole pool (labeled or not) and the hyperparameters only.
    resume_state = {"_state": "rebuilt"}
    features: str = "pixels"
    ae_code_dim: int = 64
    ae_iterations: int = 500
    pca_dim: int = 50
    index: str = "auto"
    n_lists: int | None = None
    nprobe: int = 8

    def _check(self) -> None:
        if self.features not in _FEATURES:
            raise ValueError(f"features must be one of {_FEATURES}, got {self.features!r}")
        if self.index not in _INDEX_MODES:
            raise ValueError(f"index must be one of {_INDEX_MODES}, got {self.index!r}")
        for name in ("ascent_steps", "gan_iterations", "gan_batch", "latent_dim", "pca_dim", "nprobe", "ae_code_dim",
                     "ae_iterations"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < (0 if name == "ascent_steps" else 1):
                raise ValueError(f"{name} must be a positive integer, got {v!r}")

    # --- one-off state -----------------------------------------------------------------
    def _pool(self, view: PoolView) -> tuple[torch.Tensor, torch.Tensor]:
        all_idx = torch.cat([view.labeled, view.unlabeled])
        order = torch.argsort(all_idx)
        x = torch.cat([view.labeled_inputs, view.inputs])[order]
        return x, all_idx[order]

    def _feature_fn(self, critic: nn.Module, ae: nn.Module | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
        if self.features == "discriminator":
            return lambda x: critic.features(x.float())
        if self.features == "autoencoder":
            return lambda x: ae.encode(x.float())  # type: ignore[union-attr]
        return lambda x: x.flatten(1).float()

    def prepare(self, view: PoolView) -> dict[str, Any]:
        """Build (or reuse) the GAN, the PCA and the index for ``view``'s pool; returns the state.

        Called by the first query; call it yourself to keep its cost out of the query timing. The
        state is reused while the pool has the same size and input shape (alkit's loop never changes
        the pool within a run).
        """
        self._check()
        n_total = view.n_labeled + view.n_unlabeled
        shape = tuple(view.inputs.shape[1:])
        key = (n_total, shape, str(view.device), self.features, self.pca_dim, self.index, self.n_lists, self.nprobe,
               self.gan_iterations, self.gan_batch, self.gan_seed, self.latent_dim, self.ae_code_dim, self.ae_iterations)
        state = getattr(self, "_state", None)
        if state is not None and state["key"] == key:
            return state
        t0 = time.perf_counter()
        x, row_pool = self._pool(view)
        gen, critic, info = _gan.load_or_train_gan(x, latent_dim=self.latent_dim, iterations=self.gan_iterations,
                                                   batch_size=self.gan_batch, seed=self.gan_seed,
                                                   cache_dir=view.cache_dir)
        ae, ae_info = None, None
        if self.features == "autoencoder":
            ae, ae_info = _gan.load_or_train_autoencoder(x, code_dim=self.ae_code_dim, iterations=self.ae_iterations,
                                                         batch_size=self.gan_batch, seed=self.gan_seed,
                                                         cache_dir=view.cache_dir)
        t1 = time.perf_counter()
        feat = self._feature_fn(critic, ae)
        with torch.no_grad():
            f = torch.cat([feat(x[s:s + _ROW_CHUNK]) for s in range(0, x.shape[0], _ROW_CHUNK)])
            pca = fit_pca(f, self.pca_dim)
            proj = torch.cat([pca.project(f[s:s + _ROW_CHUNK]) for s in range(0, f.shape[0], _ROW_CHUNK)])
        mode = self.index if self.index != "auto" else ("ivf" if n_total >= IVF_MIN_POOL else "exact")
        idx = PoolIndex(proj, row_pool, mode=mode, n_lists=self.n_lists, nprobe=self.nprobe)
        t2 = time.perf_counter()
        state = {"key": key, "gen": gen, "critic": critic, "feat": feat, "pca": pca, "index": idx, "gan": info,
                 "autoencoder": ae_info,
                 "timings": {"gan": t1 - t0, "index": t2 - t1}}
        self._state = state
        return state

    # --- per query ---------------------------------------------------------------------
    def _objective(self, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _generate(self, state: dict[str, Any], model: nn.Module, b: int, generator: torch.Generator | None,
                  device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        gen = state["gen"]
        z0 = torch.randn(b, gen.latent_dim, generator=generator, device=device)
        z = latent_ascent(gen, model, z0, self._objective, steps=self.ascent_steps, lr=self.ascent_lr)
        return z0, z

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        t0 = time.perf_counter()
        first = getattr(self, "_state", None) is None
        state = self.prepare(view)
        t1 = time.perf_counter()
        model = view.model
        gen = state["gen"]
        z0, z = self._generate(state, model, k, generator, view.device)
        with torch.no_grad():
            x0, xg = gen(z0), gen(z)
            logits0, logits_g = model(x0), model(xg)
            priority = -self._objective(logits_g)
            q = state["pca"].project(state["feat"](xg))
        t2 = time.perf_counter()
        index: PoolIndex = state["index"]
        row_pool = index.row_pool
        available = torch.zeros(len(index), dtype=torch.bool, device=view.device)
        available[torch.searchsorted(row_pool, view.unlabeled)] = True
        order = torch.argsort(priority, descending=True, stable=True)
        cd, cr = index.search(q[order], available, k)
        if index.mode == "ivf" and not bool(torch.isfinite(cd).all()):
            # Too few free items in the probed lists: fall back to the exact scan for this query.
            cd, cr = _exact_search(index, q[order], available, k)
        rows, d2, _ = match_without_replacement(cr, cd, available)
        picked = row_pool[rows]
        t3 = time.perf_counter()
        with torch.no_grad():
            pos = torch.searchsorted(view.unlabeled, picked)
            logits_m = model(view.inputs[pos])
        ent_m = _entropy_from_logits(logits_m)
        ent_g = _entropy_from_logits(logits_g)[order]
        extras = {
            f"{self.name}_generated_entropy_before": _entropy_from_logits(logits0).mean().item(),
            f"{self.name}_generated_entropy": ent_g.mean().item(),
            f"{self.name}_matched_entropy": ent_m.mean().item(),
            f"{self.name}_match_distance": d2.sqrt(),  # tensors: the run store converts them to lists
            f"{self.name}_matched_pred_hist": torch.bincount(logits_m.argmax(1), minlength=view.num_classes),
            f"{self.name}_index": index.mode,
        }
        if self.name == "gaal":
            extras["gaal_generated_margin"] = top2_margin(logits_g).mean().item()
        if first:
            extras[f"{self.name}_gan_trained"] = bool(state["gan"]["trained"])
        timings = {"prepare": t1 - t0, "generate": t2 - t1, "match": t3 - t2}
        scores = ent_m if self.name == "asal" else -top2_margin(logits_m)
        return Selection(indices=picked, scores=scores, timings=timings, extras=extras)


def _exact_search(index: PoolIndex, q: torch.Tensor, available: torch.Tensor, m: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    exact = PoolIndex.__new__(PoolIndex)
    exact.features, exact.sq, exact.row_pool, exact.mode, exact.nprobe = index.features, index.sq, index.row_pool, \
        "exact", index.nprobe
    return exact.search(q, available, m)


@register_strategy("asal")
class ASAL(_GANRetrieval):
    r"""Adversarial Sampling for Active Learning: generate high-entropy samples, label their nearest pool items
    (reference §4.20).

    Once per pool: train a WGAN-GP (:mod:`alkit.strategies._gan`, cached in ``PoolView.cache_dir/asal/``), compute
    a fixed feature vector for every pool item, reduce it to ``pca_dim`` dimensions by exact PCA and
    build a nearest-neighbour index. Each query: draw ``b`` latents :math:`z\sim\mathcal N(0,I)` from
    the query generator, maximise :math:`H(p_\theta(G(z)))` by Adam on the whole batch
    (``ascent_steps`` steps, step ``ascent_lr``), project the generated images like the pool and
    give each its nearest *unlabeled* pool item, without replacement.

    Parameters
    ----------
    features : {"pixels", "discriminator", "autoencoder"}
        Matching features: raw inputs (ASAL-Gray/RGB), the critic's penultimate layer
        (ASAL-Discriminator), or the code of an autoencoder trained once on the pool and cached
        beside the GAN (ASAL-Autoencoder, :class:`alkit.strategies._gan.Autoencoder`).
    pca_dim : int
        PCA dimensions of the matching space (paper: 50).
    ascent_steps : int
        Adam steps of the latent optimisation (paper: 100).
    ascent_lr : float
        Adam step size in latent space (paper: 0.01 for CelebA, not stated elsewhere).
    gan_iterations : int
        Generator steps of the one-off WGAN-GP training (5 critic steps each), capped at 100 critic
        passes over the pool (so a pool of a few dozen items trains ~20 steps). The default 200 is
        sized for a CPU (README, *Measured costs*), paid once per pool and cached; expect blurry samples with the rough shape of the data. The paper trains 40K-100K steps.
    gan_batch : int
        WGAN-GP mini-batch size.
    gan_seed : int
        Seed of the GAN's initialisation and training (part of the cache key), independent of the
        query generator.
    latent_dim : int
        Dimension of the GAN latent space.
    ae_code_dim : int
        Code size of the autoencoder (``features="autoencoder"`` only); PCA then reduces it to
        ``min(pca_dim, ae_code_dim)``.
    ae_iterations : int
        Adam steps (lr 1e-3, batch ``gan_batch``) of the one-off autoencoder training.
    index : {"auto", "exact", "ivf"}
        Nearest-neighbour search: exact blocked matrix products (linear in the pool) or an IVF
        coarse quantiser (about sqrt(N) k-means lists, ``nprobe`` of them scanned: sub-linear,
        approximate). ``"auto"`` uses IVF from 4096 pool items on.
    n_lists : int or None
        IVF lists; None: ``round(sqrt(N))``.
    nprobe : int
        IVF lists scanned per generated sample.

    Notes
    -----
    Matching is greedy in order of decreasing generated entropy: each sample takes its nearest
    unlabeled item not yet taken. The returned ``scores`` are the entropies of the *matched pool
    items* under the current model (what actually gets labeled); the indices are ordered by the
    entropy of the generated samples, so the scores are not sorted. ``extras`` (per round) hold the
    mean entropy of the generated samples before and after the ascent and of the matched items, the
    matching distances (in PCA space) and the histogram of the matched items' predicted classes:
    ASAL Fig. 3b / 16.

    ⚠ The paper uses a k-d tree; alkit uses exact search or an IVF quantiser, both on the device.
    The one-off work runs inside the first query (its time is ``timings["prepare"]``); call
    :meth:`prepare` beforehand to keep it out. The query needs no ``probs``, so the loop does not
    score the whole pool: generation is independent of the pool size and the IVF search grows like
    sqrt(N). ⚠ The features are fixed while the classifier changes, so matched items need not have
    high entropy (compare the two entropies in ``extras``); ASAL hinges on GAN quality, which the
    CPU-sized default training limits. The GAN has no batch norm and no output squashing (inputs
    are normalised); the latents are not constrained to the prior during the ascent (as in the paper).

    References
    ----------
    Mayer & Timofte, *Adversarial Sampling for Active Learning*, WACV 2020; Gulrajani et al.,
    *Improved Training of Wasserstein GANs*, NeurIPS 2017 (WGAN-GP).
    """

    def __init__(self, features: str = "pixels", pca_dim: int = 50, ascent_steps: int = 100,
                 ascent_lr: float = 0.01, gan_iterations: int = 200, gan_batch: int = 64, gan_seed: int = 0,
                 latent_dim: int = 64, index: str = "auto", n_lists: int | None = None, nprobe: int = 8,
                 ae_code_dim: int = 64, ae_iterations: int = 500) -> None:
        self.features = features
        self.ae_code_dim = ae_code_dim
        self.ae_iterations = ae_iterations
        self.pca_dim = pca_dim
        self.ascent_steps = ascent_steps
        self.ascent_lr = ascent_lr
        self.gan_iterations = gan_iterations
        self.gan_batch = gan_batch
        self.gan_seed = gan_seed
        self.latent_dim = latent_dim
        self.index = index
        self.n_lists = n_lists
        self.nprobe = nprobe

    def _objective(self, logits: torch.Tensor) -> torch.Tensor:
        return entropy_objective(logits)


@register_strategy("gaal")
class GAAL(_GANRetrieval):
    r"""Generative Adversarial Active Learning: synthesise samples on the decision boundary (reference §4.21).

    Latents :math:`z\sim\mathcal N(0,I)` are moved by Adam toward the boundary of the current
    classifier: for two classes the squared logit gap :math:`(\ell_1-\ell_0)^2` (the squared distance
    :math:`|w^\top\phi(G(z))+b|^2` to the separating hyperplane, up to :math:`\lVert w\rVert^2`), for more
    classes the margin :math:`p_{(1)}-p_{(2)}`. :meth:`synthesize` returns the synthetic inputs
    themselves, as in the paper.

    Parameters
    ----------
    pca_dim : int
        PCA dimensions of the (pixel) space in which ``query`` matches synthetic samples to pool items.
    ascent_steps : int
        Adam steps of the latent optimisation.
    ascent_lr : float
        Adam step size in latent space.
    gan_iterations : int
        Generator steps of the one-off WGAN-GP training (shared with ``asal``'s cache when the
        settings agree).
    gan_batch : int
        WGAN-GP mini-batch size.
    gan_seed : int
        Seed of the GAN's initialisation and training.
    latent_dim : int
        Dimension of the GAN latent space.
    index : {"auto", "exact", "ivf"}
        Nearest-neighbour search used by ``query`` (see ``asal``).

    Notes
    -----
    ⚠ The original GAAL asks an oracle to label the **synthetic** images; alkit's loop has an oracle
    for pool items only. So the registered strategy's ``query`` returns, for each synthetic sample,
    its nearest unlabeled pool item in pixel-PCA space (without replacement): GAAL's generator with
    ASAL's retrieval, which lets it run in the loop. For the paper's query synthesis, call
    :meth:`synthesize` (used by the notebook to contrast with ASAL). ``scores`` are the matched items'
    negative margins; ``extras`` as for ``asal`` plus the generated samples' mean margin.
    GAAL was no better than random on real data (images near the boundary are often unlabelable).

    References
    ----------
    Zhu & Bento, *Generative Adversarial Active Learning*, arXiv:1702.07956, 2017; Mayer & Timofte,
    *Adversarial Sampling for Active Learning*, WACV 2020.
    """

    features = "pixels"
    n_lists = None
    nprobe = 8

    def __init__(self, pca_dim: int = 50, ascent_steps: int = 100, ascent_lr: float = 0.01,
                 gan_iterations: int = 200, gan_batch: int = 64, gan_seed: int = 0, latent_dim: int = 64,
                 index: str = "auto") -> None:
        self.pca_dim = pca_dim
        self.ascent_steps = ascent_steps
        self.ascent_lr = ascent_lr
        self.gan_iterations = gan_iterations
        self.gan_batch = gan_batch
        self.gan_seed = gan_seed
        self.latent_dim = latent_dim
        self.index = index

    def _objective(self, logits: torch.Tensor) -> torch.Tensor:
        return margin_objective(logits)

    def synthesize(self, model: nn.Module, b: int, generator: torch.Generator | None = None,
                   view: PoolView | None = None) -> torch.Tensor:
        """``b`` synthetic inputs near ``model``'s decision boundary, shape ``(b, *input_shape)``.

        Uses the GAN of the last query, or of ``view``'s pool when given (training or loading it).
        These are not pool items: they have no label in alkit's oracle.
        """
        if view is not None:
            self.prepare(view)
        state = getattr(self, "_state", None)
        if state is None:
            raise RuntimeError("gaal.synthesize needs a GAN: pass view= (the pool view) or run a query first")
        device = next(state["gen"].parameters()).device
        _, z = self._generate(state, model, int(b), generator, device)
        with torch.no_grad():
            return state["gen"](z)
