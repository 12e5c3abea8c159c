"""MC-dropout strategies: entropy_mc, margin_mc, least_conf_mc, bald, mean_std, batch_bald (reference §4.6-4.8).

Every strategy here reads ``mc_probs``, the ``(T, N_U, K)`` softmax outputs of ``T`` stochastic
forward passes with only the dropout layers active. The pure functions keep their input's
device and dtype, never move data to the host and are safe on exact zeros.
"""

from __future__ import annotations

import math
import time

import torch

from alkit.strategies._registry import register_strategy
from alkit.strategies._view import PoolView
from alkit.strategies.base import ScoreStrategy, Selection, Strategy
from alkit.strategies.scores import (
    check_mc_passes_differ,
    check_probs,
    entropy,
    entropy_scores,
    least_conf_scores,
    margin_scores,
)

__all__ = [
    "mc_mean",
    "bald_scores",
    "mean_std_scores",
    "batch_bald_select",
    "joint_mutual_information",
    "EntropyMC",
    "MarginMC",
    "LeastConfidenceMC",
    "BALD",
    "MeanSTD",
    "BatchBALD",
]

#: Upper bound on the elements of one (rows, candidates, K) block in BatchBALD (float32: 16 MiB).
_BLOCK_ELEMENTS = 1 << 22


# ------------------------------------------------------------------------------ pure functions
def mc_mean(mc_probs: torch.Tensor) -> torch.Tensor:
    r"""The MC-dropout predictive mean :math:`\bar p(x) = \frac1T \sum_t p^{(t)}(x)`.

    Parameters
    ----------
    mc_probs : Tensor, shape (T, N, K)

    Returns
    -------
    Tensor, shape (N, K)
        Rows sum to 1 when every pass does.
    """
    return check_probs(mc_probs, mc=True).mean(dim=0)


def bald_scores(mc_probs: torch.Tensor) -> torch.Tensor:
    r"""BALD: mutual information between label and weights, :math:`H(\bar p) - \frac1T\sum_t H(p^{(t)})`.

    Non-negative up to rounding (Jensen); exact 0 when all passes agree.

    Parameters
    ----------
    mc_probs : Tensor, shape (T, N, K)

    Returns
    -------
    Tensor, shape (N,)
    """
    mc_probs = check_probs(mc_probs, mc=True)
    return entropy(mc_probs.mean(dim=0)) - entropy(mc_probs).mean(dim=0)


def mean_std_scores(mc_probs: torch.Tensor) -> torch.Tensor:
    r"""MeanSTD: :math:`\frac1K \sum_k \sigma_k`, the population std (ddof 0) of :math:`p^{(t)}_k` over passes.

    Parameters
    ----------
    mc_probs : Tensor, shape (T, N, K)

    Returns
    -------
    Tensor, shape (N,)
    """
    mc_probs = check_probs(mc_probs, mc=True)
    return mc_probs.std(dim=0, correction=0).mean(dim=-1)


def joint_mutual_information(mc_probs: torch.Tensor, max_configs: int = 1 << 16) -> torch.Tensor:
    r"""Exact :math:`I(y_1,\dots,y_b;w)` of a small batch under ``T`` sampled networks.

    :math:`H\big(\tfrac1T\sum_t\prod_i p_t(y_i)\big)-\sum_i\tfrac1T\sum_t H(p_t(y_i))`, summed over
    all :math:`K^b` label configurations (what BatchBALD maximises greedily; with ``b = 1`` it is
    :func:`bald_scores`). Needs consistent MC dropout: pass ``t`` must be one network for every item.

    Parameters
    ----------
    mc_probs : Tensor, shape (T, b, K)
        The batch's MC-dropout probabilities.
    max_configs : int
        Refuse batches with more than this many label configurations :math:`K^b`.

    Returns
    -------
    Tensor, scalar (float64), on ``mc_probs``' device.
    """
    mc_probs = check_probs(mc_probs, mc=True)
    t, b, k = mc_probs.shape
    if k ** b > max_configs:
        raise ValueError(f"a batch of {b} items with {k} classes has {k}**{b} label configurations, more than "
                         f"max_configs={max_configs}; use batch_bald_select's sampled estimate")
    p = mc_probs.double()
    table = torch.ones(1, t, dtype=p.dtype, device=p.device)  # (configs, T): P_t(y_S)
    for i in range(b):
        table = (table[:, None, :] * p[:, i, :].T[None, :, :]).reshape(-1, t)
    joint = torch.special.entr(table.mean(dim=1)).sum()
    conditional = torch.special.entr(p).sum(dim=-1).mean(dim=0).sum()
    return joint - conditional


class _JointEntropy:
    r"""Joint label entropy of a growing set of chosen points, for greedy BatchBALD.

    Holds, for every configuration :math:`\hat y_S` of the chosen points' labels that it tracks,
    its per-pass probability :math:`P_t(\hat y_S) = \prod_{i\in S} p_t(\hat y_i)`, shape (C, T).

    * **Exact** while the number of configurations :math:`K^{|S|}` stays within
      ``max_exact_configs``: all of them are enumerated (plain probabilities).
    * **Sampled** afterwards: ``num_samples`` configurations drawn from
      :math:`p(\hat y_S) = \frac1T\sum_t P_t(\hat y_S)` (seeded by ``generator``), kept as
      log-probabilities. Each new chosen point extends every sample by ancestral sampling
      from :math:`p(y \mid \hat y_S)`, so the samples always follow the current joint.

    :meth:`conditional_entropy` returns :math:`H(Y_c \mid Y_S)` for every candidate ``c``. With
    :math:`p(\hat y_S, y_c) = \frac1T\sum_t P_t(\hat y_S)\, p_t(y_c)` the sampled estimate of the
    joint entropy, :math:`-\frac1M\sum_m\sum_{y} p(y\mid\hat y^m_S)\log p(\hat y^m_S, y)`, splits into
    :math:`\hat H(Y_S)` (the same for every candidate) plus
    :math:`\frac1M\sum_m H\big(p(\cdot\mid\hat y^m_S)\big)`, which is what is computed here: the
    importance weights cancel and nothing underflows. Memory: O(C·T + C·chunk·K).
    """

    def __init__(self, t: int, k: int, *, num_samples: int, max_exact_configs: int,
                 generator: torch.Generator, dtype: torch.dtype, device: torch.device) -> None:
        self.t, self.k = t, k
        self.num_samples = num_samples
        self.max_exact_configs = max_exact_configs
        self.generator = generator
        self.exact = True
        # Exact mode: P (C, T), one configuration (the empty one) of probability 1 in every pass.
        self.table = torch.ones(1, t, dtype=dtype, device=device)

    @property
    def n_configs(self) -> int:
        return int(self.table.shape[0])

    def _pass_weights(self) -> torch.Tensor:
        """(C, T) weights of each pass given each sampled configuration: softmax over passes."""
        return torch.softmax(self.table, dim=1)

    def add(self, p_new: torch.Tensor) -> None:
        """Add a chosen point with per-pass probabilities ``p_new`` of shape (T, K)."""
        if self.exact and self.n_configs * self.k <= self.max_exact_configs:
            # (C, 1, T) * (1, K, T) -> (C*K, T): configuration-major, new label fastest.
            self.table = (self.table[:, None, :] * p_new.T[None, :, :]).reshape(-1, self.t)
            return
        if self.exact:
            # Switch to sampling: draw configurations from the exact joint p(y_S) = mean_t P_t(y_S).
            joint = self.table.mean(dim=1)
            pick = torch.multinomial(joint, self.num_samples, replacement=True, generator=self.generator)
            self.table = torch.log(self.table[pick])  # zeros become -inf: that pass cannot produce it
            self.exact = False
        # Ancestral sampling of the new label given each configuration, then update log P_t.
        cond = self._pass_weights() @ p_new  # (M, K) = p(y_new | config_m)
        y = torch.multinomial(cond, 1, generator=self.generator).squeeze(1)  # (M,)
        self.table = self.table + torch.log(p_new.T[y])  # (M, T)

    def conditional_entropy(self, mc_probs: torch.Tensor) -> torch.Tensor:
        r""":math:`H(Y_c \mid Y_S)` for every candidate in ``mc_probs`` (T, N, K); shape (N,)."""
        t, n, k = mc_probs.shape
        rows = self.n_configs
        if self.exact:
            weights = self.table / t  # p(y_S, y_c) = (P @ p_c) / T
            h_chosen = entropy(self.table.mean(dim=1), dim=0)
        else:
            weights = self._pass_weights()  # p(y_c | y_S^m) = W @ p_c
        chunk = max(1, _BLOCK_ELEMENTS // max(1, rows * k))
        out = torch.empty(n, dtype=mc_probs.dtype, device=mc_probs.device)
        for start in range(0, n, chunk):
            block = mc_probs[:, start:start + chunk].reshape(t, -1)  # (T, n_c * K)
            q = (weights @ block).reshape(rows, -1, k)  # (C, n_c, K)
            out[start:start + chunk] = torch.special.entr(q).sum(dim=(0, 2)) if self.exact else (
                torch.special.entr(q).sum(dim=2).mean(dim=0)
            )
        if self.exact:
            out = out - h_chosen
        return out


def batch_bald_select(
    mc_probs: torch.Tensor,
    k: int,
    num_samples: int = 1000,
    generator: torch.Generator | None = None,
    *,
    max_exact_configs: int = 1024,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Greedy BatchBALD: pick ``k`` points maximising :math:`I(y_1,\dots,y_n;\,w)` one at a time.

    The batch acquisition value is
    :math:`a(x_1..x_n) = H(y_1..y_n) - \sum_i \frac1T\sum_t H(p^{(t)}(x_i))`. Step ``n`` adds the
    candidate with the largest gain
    :math:`a(S \cup \{c\}) - a(S) = H(y_c \mid y_S) - \frac1T\sum_t H(p^{(t)}(x_c))`; the first step is
    the BALD argmax. Joint entropies are exact while :math:`K^{|S|}` stays within
    ``max_exact_configs`` and estimated from ``num_samples`` sampled label configurations after
    that (see :class:`_JointEntropy`). Exact ties go to the lowest position.

    Parameters
    ----------
    mc_probs : Tensor, shape (T, N, K)
    k : int
        Number of points to pick, ``0 <= k <= N``.
    num_samples : int
        M, sampled configurations of the chosen labels once exact enumeration is too large.
    generator : torch.Generator, optional
        Seeds the configuration sampling (on ``mc_probs``' device); a fixed seed 0 when None.
    max_exact_configs : int
        Enumerate all label configurations while there are at most this many.

    Returns
    -------
    positions : Tensor, int64, shape (k,)
        Row positions in ``mc_probs``, in the order picked.
    gains : Tensor, shape (k,)
        The gain of each pick; their cumulative sum is the batch's (estimated) mutual information.

    Notes
    -----
    The joint mutual information is submodular (Kirsch et al. 2019), so a candidate's gain never
    grows as the batch grows: its last computed gain (BALD at first) bounds all later ones. Each
    step evaluates candidates in chunks by decreasing bound and stops as soon as the best fresh
    gain beats every remaining bound (lazy greedy; same picks as evaluating everyone, up to
    rounding and the noise of the sampled estimate). Cost per evaluated candidate O(C·T·K) with
    C <= max(max_exact_configs, M) tracked configurations; memory O(C·T + N·T·K + C·chunk·K).
    """
    mc_probs = check_probs(mc_probs, mc=True)
    t, n, n_cls = mc_probs.shape
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= n:
        raise ValueError(f"k must be an integer in [0, {n}], got {k!r}")
    device = mc_probs.device
    if generator is None:
        generator = torch.Generator(device=device).manual_seed(0)
    positions = torch.empty(k, dtype=torch.long, device=device)
    gains = torch.empty(k, dtype=mc_probs.dtype, device=device)
    if k == 0:
        return positions, gains
    cond_h = entropy(mc_probs).mean(dim=0)  # (N,) E_w H(y | w)
    joint = _JointEntropy(t, n_cls, num_samples=num_samples, max_exact_configs=max_exact_configs,
                          generator=generator, dtype=mc_probs.dtype, device=device)
    neg_inf = torch.tensor(-math.inf, dtype=mc_probs.dtype, device=device)
    # Step 1: the gain of a single point is its BALD score. ``bound`` keeps, per candidate, the
    # last gain computed for it: an upper bound of every later gain (submodularity).
    bound = bald_scores(mc_probs)
    fresh = bound
    for step in range(k):
        if step > 0:
            fresh = torch.full_like(bound, -math.inf)
            order = torch.sort(bound, descending=True, stable=True).indices
            chunk = min(256, max(32, _BLOCK_ELEMENTS // (joint.n_configs * n_cls)))
            avail, done = n - step, 0
            while done < avail:  # lazy greedy: evaluate by decreasing bound until none can win
                idx = order[done:min(done + chunk, avail)]  # taken items sort last (bound -inf)
                g = joint.conditional_entropy(mc_probs.index_select(1, idx)) - cond_h.index_select(0, idx)
                fresh.index_copy_(0, idx, g)
                bound.index_copy_(0, idx, g)
                done += len(idx)
                # one host read per chunk (the lazy stop); the next bound is gathered on the device
                if done < avail and bool(fresh.max() > bound.index_select(0, order[done:done + 1])):
                    break
        best = torch.argmax(fresh).view(1)  # first maximum: lowest position on exact ties
        positions[step:step + 1] = best
        gains[step:step + 1] = fresh.index_select(0, best)
        bound.index_fill_(0, best, neg_inf)
        if step + 1 < k:
            joint.add(mc_probs.index_select(1, best).squeeze(1))
    return positions, gains


# ------------------------------------------------------------------------------ strategies
def _check_mc_samples(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"mc_samples must be a positive integer, got {value!r}")


class _MCScore(ScoreStrategy):
    needs = frozenset({"mc_probs"})

    def __init__(self, mc_samples: int = 10, tie_break: str = "index") -> None:
        self.mc_samples = mc_samples
        self.tie_break = tie_break

    def required(self) -> frozenset[str]:
        _check_mc_samples(self.mc_samples)
        return super().required()

    @staticmethod
    def _mc(view: PoolView) -> torch.Tensor:
        """The view's MC stack, refused when its passes are identical (inactive dropout)."""
        return check_mc_passes_differ(check_probs(view.mc_probs, mc=True), "the view's mc_probs")


@register_strategy("entropy_mc")
class EntropyMC(_MCScore):
    r"""Entropy of the MC-dropout mean, :math:`a = H(\bar p(x))` (reference §4.6, "EntropyD").

    Parameters
    ----------
    mc_samples : int
        T, the number of MC-dropout passes (survey: 10).
    tie_break : {"index", "random"}
        Exact ties go to the lowest pool index, or are ordered by the seeded generator.

    Notes
    -----
    ⚠ DeepAL+ ran the dropout variants on a torchvision ResNet18, which has no dropout layer, so
    its T passes were identical (BALD / MeanSTD numerically zero). alkit refuses a model without
    dropout or with dropout rate 0 (``ModelError`` from :meth:`alkit.learner.Learner.mc_probs`), and a view
    whose passes are all identical (``ValueError``); it keeps BatchNorm frozen.

    References
    ----------
    Gal, Islam & Ghahramani, *Deep Bayesian Active Learning with Image Data*, ICML 2017.
    """

    def score(self, view: PoolView) -> torch.Tensor:
        return entropy_scores(mc_mean(self._mc(view)))


@register_strategy("margin_mc")
class MarginMC(_MCScore):
    r"""Margin of the MC-dropout mean, :math:`a = -(\bar p_{(1)} - \bar p_{(2)})` (reference §4.6, "MarginD").

    Parameters
    ----------
    mc_samples : int
        T, the number of MC-dropout passes (survey: 10).
    tie_break : {"index", "random"}

    Notes
    -----
    ⚠ DeepAL+ ran the dropout variants on a torchvision ResNet18, which has no dropout layer, so
    its T passes were identical (BALD / MeanSTD numerically zero). alkit refuses a model without
    dropout or with dropout rate 0 (``ModelError`` from :meth:`alkit.learner.Learner.mc_probs`), and a view
    whose passes are all identical (``ValueError``); it keeps BatchNorm frozen.

    References
    ----------
    Zhan et al., *A Comparative Survey of Deep Active Learning*, 2022 (MarginSamplingDropout).
    """

    def score(self, view: PoolView) -> torch.Tensor:
        return margin_scores(mc_mean(self._mc(view)))


@register_strategy("least_conf_mc")
class LeastConfidenceMC(_MCScore):
    r"""Least confidence of the MC-dropout mean, :math:`a = -\bar p_{(1)}` (reference §4.6, "LeastConfD").

    Parameters
    ----------
    mc_samples : int
        T, the number of MC-dropout passes (survey: 10).
    tie_break : {"index", "random"}

    Notes
    -----
    ⚠ DeepAL+ ran the dropout variants on a torchvision ResNet18, which has no dropout layer, so
    its T passes were identical (BALD / MeanSTD numerically zero). alkit refuses a model without
    dropout or with dropout rate 0 (``ModelError`` from :meth:`alkit.learner.Learner.mc_probs`), and a view
    whose passes are all identical (``ValueError``); it keeps BatchNorm frozen.

    References
    ----------
    Zhan et al., *A Comparative Survey of Deep Active Learning*, 2022 (LeastConfidenceDropout).
    """

    def score(self, view: PoolView) -> torch.Tensor:
        return least_conf_scores(mc_mean(self._mc(view)))


@register_strategy("bald")
class BALD(_MCScore):
    r"""Bayesian Active Learning by Disagreement, :math:`a = H(\bar p) - \frac1T\sum_t H(p^{(t)})` (reference §4.7).

    The mutual information between the label and the weights: high where the passes disagree
    (epistemic), not where each pass is unsure (aleatoric). Selection is the top-b of the
    per-point score, which may pick near-duplicates; ``batch_bald`` fixes that.

    Parameters
    ----------
    mc_samples : int
        T, the number of MC-dropout passes (survey: 10).
    tie_break : {"index", "random"}

    Notes
    -----
    ⚠ DeepAL+ ran the dropout variants on a torchvision ResNet18, which has no dropout layer, so
    its T passes were identical (BALD / MeanSTD numerically zero). alkit refuses a model without
    dropout or with dropout rate 0 (``ModelError`` from :meth:`alkit.learner.Learner.mc_probs`), and a view
    whose passes are all identical (``ValueError``); it keeps BatchNorm frozen.

    References
    ----------
    Houlsby, Huszár, Ghahramani & Lengyel, *Bayesian Active Learning for Classification and
    Preference Learning*, 2011; Gal, Islam & Ghahramani, ICML 2017.
    """

    def score(self, view: PoolView) -> torch.Tensor:
        return bald_scores(self._mc(view))


@register_strategy("mean_std")
class MeanSTD(_MCScore):
    r"""Mean over classes of the std of :math:`p^{(t)}_k` over MC passes (ddof 0) (reference §4.8).

    Parameters
    ----------
    mc_samples : int
        T, the number of MC-dropout passes (survey: 10).
    tie_break : {"index", "random"}

    Notes
    -----
    ⚠ DeepAL+ ran the dropout variants on a torchvision ResNet18, which has no dropout layer, so
    its T passes were identical (BALD / MeanSTD numerically zero). alkit refuses a model without
    dropout or with dropout rate 0 (``ModelError`` from :meth:`alkit.learner.Learner.mc_probs`), and a view
    whose passes are all identical (``ValueError``); it keeps BatchNorm frozen.

    References
    ----------
    Kampffmeyer, Salberg & Jenssen, *Semantic Segmentation of Small Objects and Modeling of
    Uncertainty in Urban Remote Sensing Images Using Deep CNNs*, CVPR Workshops 2016.
    """

    def score(self, view: PoolView) -> torch.Tensor:
        return mean_std_scores(self._mc(view))


@register_strategy("batch_bald")
class BatchBALD(Strategy):
    r"""Greedy BatchBALD: maximise the joint mutual information :math:`I(y_1..y_b; w)` of the batch.

    :math:`a(x_1..x_n) = H(y_1..y_n) - \sum_i \mathbb{E}_w H(y_i \mid w)`. Points are added one at a
    time, each maximising the joint value with those already chosen; unlike top-b BALD it does
    not pick copies of one informative point (a copy adds no information once the original is
    in the batch). Joint entropies are exact while :math:`K^n \le` ``max_exact_configs``, then
    estimated from ``num_samples`` label configurations sampled with the query generator.
    ``Selection.scores`` holds each pick's gain in joint mutual information.

    Parameters
    ----------
    mc_samples : int
        T, the number of MC-dropout passes (survey: 10).
    num_samples : int
        M, the sampled label configurations of the chosen points (Kirsch et al.: 1,000-10,000).
    max_exact_configs : int
        Enumerate the joint label configurations exactly while there are at most this many.

    References
    ----------
    Kirsch, van Amersfoort & Gal, *BatchBALD: Efficient and Diverse Batch Acquisition for Deep
    Bayesian Active Learning*, NeurIPS 2019.
    """

    needs = frozenset({"mc_probs"})

    def __init__(self, mc_samples: int = 10, num_samples: int = 1000, max_exact_configs: int = 1024) -> None:
        self.mc_samples = mc_samples
        self.num_samples = num_samples
        self.max_exact_configs = max_exact_configs

    def required(self) -> frozenset[str]:
        _check_mc_samples(self.mc_samples)
        if isinstance(self.num_samples, bool) or not isinstance(self.num_samples, int) or self.num_samples < 1:
            raise ValueError(f"num_samples must be a positive integer, got {self.num_samples!r}")
        m = self.max_exact_configs
        if isinstance(m, bool) or not isinstance(m, int) or m < 0:
            raise ValueError(f"max_exact_configs must be a non-negative integer, got {m!r}")
        return super().required()

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        t0 = time.perf_counter()
        pos, gains = batch_bald_select(_MCScore._mc(view), k, self.num_samples, generator,
                                       max_exact_configs=self.max_exact_configs)
        return Selection(indices=view.unlabeled[pos], scores=gains, timings={"select": time.perf_counter() - t0})
