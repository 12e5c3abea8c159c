"""WAAL — Wasserstein Adversarial Active Learning (Shui et al., AISTATS 2020; reference §4.19).

Two halves share one strategy instance:

* the **training hook** (:class:`_WAALHook`, a :class:`~alkit.learner.FitPlan` for the shared loop
  ``Learner.fit``) trains the task model's extractor ``f`` and head ``h``
  together with a Wasserstein critic ``g`` on the features, in a min–max game over mini-batches
  that pair ``m`` labeled with ``m`` unlabeled items (the labeled set is cycled so that every
  epoch covers the whole unlabeled pool: the "redundancy trick");
* the **query** (:class:`WAAL`) scores each unlabeled item by an upper bound of its unknown
  cross-entropy minus ``eta`` times the critic, and takes the ``b`` smallest.

Sign convention: the critic is trained to be **high on unlabeled** and low on labeled features, so
a high critic value marks a point the labeled set does not represent; the query prefers it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from alkit.learner import Batch, FitPlan, FitState
from alkit.strategies._registry import register_strategy
from alkit.strategies._select import top_k
from alkit.strategies._view import PoolView
from alkit.strategies.base import ScoreStrategy, Selection, TrainingHook
from alkit.strategies.scores import check_probs

__all__ = [
    "WAAL",
    "WAALCritic",
    "bias_coefficient",
    "gradient_penalty",
    "l1_upper",
    "l2_upper",
    "single_worst",
    "waal_critic_step",
    "waal_feature_loss",
    "waal_feature_step",
    "waal_pairs",
    "waal_selection_scores",
    "waal_uncertainty",
]

_INFER_BATCH = 2048
#: Probabilities are clamped to at least this before the log (the bounds explode at 0).
P_MIN = 1e-12
_UNCERTAINTY = ("official", "paper")
_GP_SIGNS = ("correct", "official")
_BIASES = ("ratio", "one", "theory")
_ACTIVATIONS = ("relu", "leaky_relu")


# ======================================================================================
# Uncertainty bounds (query stage)
# ======================================================================================
def _neg_log(probs: torch.Tensor) -> torch.Tensor:
    return -probs.clamp_min(P_MIN).log()


def single_worst(probs: torch.Tensor) -> torch.Tensor:
    r""":math:`U_\infty(p)=\max_k(-\log p_k)` (paper Eq. 10, "single worst"), shape (N,)."""
    return _neg_log(probs).max(dim=-1).values


def l2_upper(probs: torch.Tensor) -> torch.Tensor:
    r""":math:`U_2(p)=\lVert\log p\rVert_2` (official code's ``L2_upper``), shape (N,)."""
    return _neg_log(probs).norm(p=2, dim=-1)


def l1_upper(probs: torch.Tensor) -> torch.Tensor:
    r""":math:`U_1(p)=\sum_k(-\log p_k)` (official code's ``L1_upper``), shape (N,)."""
    return _neg_log(probs).sum(dim=-1)


def waal_uncertainty(probs: torch.Tensor, kind: str = "official", mix: float = 0.5) -> torch.Tensor:
    r"""The mixed upper bound of the unknown cross-entropy :math:`-\log p_y(x)`, shape (N,).

    ``kind="official"``: :math:`\text{mix}\,U_2+(1-\text{mix})\,U_1` ([WAAL-code], DeepAL+);
    ``kind="paper"``: :math:`\text{mix}\,U_\infty+(1-\text{mix})\,U_2` (Eq. 10 + Eq. 11, reading the
    norm of Eq. 11 as the ℓ2 norm). Every bound satisfies
    :math:`-\log p_y\le U_\infty\le U_2\le U_1` and is smallest at the uniform prediction.
    """
    if kind not in _UNCERTAINTY:
        raise ValueError(f"uncertainty must be one of {_UNCERTAINTY}, got {kind!r}")
    if not (isinstance(mix, (int, float)) and 0.0 <= mix <= 1.0):
        raise ValueError(f"mix must be a number in [0, 1], got {mix!r}")
    if kind == "official":
        return mix * l2_upper(probs) + (1.0 - mix) * l1_upper(probs)
    return mix * single_worst(probs) + (1.0 - mix) * l2_upper(probs)


def waal_selection_scores(probs: torch.Tensor, critic: torch.Tensor, eta: float = 5.0, kind: str = "official",
                          mix: float = 0.5) -> torch.Tensor:
    r"""WAAL's query objective :math:`s(x)=U_\text{mix}(p(x))-\eta\,g(f(x))`; the **smallest** are queried."""
    return waal_uncertainty(probs, kind, mix) - float(eta) * critic


# ======================================================================================
# Training-stage pieces
# ======================================================================================
class WAALCritic(nn.Module):
    """The critic ``g``: Linear(d, hidden) → ReLU → Dropout(p) → Linear(hidden, 1) → Sigmoid, output (B,).

    ``activation="leaky_relu"`` swaps the ReLU for LeakyReLU(0.2) (not the paper's): a ReLU critic can
    die — once every hidden unit is negative on every feature, ``g`` is a constant, its gradient and
    the penalty's gradient vanish, and nothing revives it (``benchmarks/waal_layouts.py``).
    """

    def __init__(self, dim: int, hidden: int = 50, dropout: float = 0.5, activation: str = "relu") -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"critic activation must be one of {_ACTIVATIONS}, got {activation!r}")
        act = nn.ReLU() if activation == "relu" else nn.LeakyReLU(0.2)
        self.net = nn.Sequential(nn.Linear(dim, hidden), act, nn.Dropout(dropout), nn.Linear(hidden, 1), nn.Sigmoid())
        self.dim = int(dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(-1)


def waal_pairs(n_labeled: int, n_unlabeled: int, generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """One epoch of the redundancy trick: shuffled (labeled, unlabeled) index pairs.

    As the official ``Handler_joint``: a shuffled permutation of ``range(max(N_L, N_U))``,
    position ``i`` pairing labeled item ``i mod N_L`` with unlabeled item ``i mod N_U``. When
    ``N_U >= N_L`` every unlabeled item appears exactly once per epoch and every labeled item
    ``floor(N_U/N_L)`` or ``ceil(N_U/N_L)`` times. Returns two int64 tensors of length
    ``max(N_L, N_U)`` (host). With ``N_U = 0`` the unlabeled tensor is empty.
    """
    if n_labeled < 1:
        raise ValueError(f"WAAL needs at least one labeled item, got {n_labeled}")
    n = max(n_labeled, n_unlabeled)
    order = torch.randperm(n, generator=generator)
    unl = order % n_unlabeled if n_unlabeled > 0 else torch.empty(0, dtype=torch.long)
    return order % n_labeled, unl


def bias_coefficient(bias: str | float, n_labeled: int, n_unlabeled: int, n_query: int = 0) -> float:
    r"""The weight :math:`\gamma` of the labeled critic mean in :math:`\overline{g(z_U)}-\gamma\,\overline{g(z_L)}`.

    ``"ratio"``: :math:`N_L/N_U` ([WAAL-code]); ``"one"``: 1 (DeepAL+); ``"theory"``:
    :math:`C_0=\frac{N_L(N_U-N_B)}{N_U(N_L+N_B)}` (reference §4.19, our derivation of the paper's lost
    coefficient in mean form, clipped at 0); a float is used as given.
    """
    if isinstance(bias, bool):
        raise ValueError(f"bias must be 'ratio', 'one', 'theory' or a number, got {bias!r}")
    if isinstance(bias, (int, float)):
        if not math.isfinite(bias) or bias < 0:
            raise ValueError(f"a numeric bias must be finite and >= 0, got {bias!r}")
        return float(bias)
    if bias not in _BIASES:
        raise ValueError(f"bias must be 'ratio', 'one', 'theory' or a number, got {bias!r}")
    if n_unlabeled <= 0:
        return 0.0
    if bias == "one":
        return 1.0
    if bias == "ratio":
        return n_labeled / n_unlabeled
    nb = min(max(int(n_query), 0), n_unlabeled)
    return max(0.0, n_labeled * (n_unlabeled - nb) / (n_unlabeled * (n_labeled + nb)))


def gradient_penalty(critic: nn.Module, z_u: torch.Tensor, z_l: torch.Tensor) -> torch.Tensor:
    r""":math:`\operatorname{mean}_{v\in V}(\lVert\nabla_v g(v)\rVert_2-1)^2` with ``V`` = interpolates ∪ ``z_U`` ∪ ``z_L``.

    Interpolates are :math:`z_L+t(z_U-z_L)`, :math:`t\sim\mathcal U(0,1)` per pair (global RNG:
    call inside a seeded block). ``create_graph=True``, so the penalty trains the critic.
    """
    z_u, z_l = z_u.detach(), z_l.detach()
    t = torch.rand(len(z_l), 1, device=z_l.device, dtype=z_l.dtype)
    v = torch.cat([z_l + t * (z_u - z_l), z_u, z_l]).requires_grad_(True)
    out = critic(v)
    (grad,) = torch.autograd.grad(out, v, grad_outputs=torch.ones_like(out), create_graph=True)
    return ((grad.norm(2, dim=1) - 1.0) ** 2).mean()


def _forward_pair(model: nn.Module, x_l: torch.Tensor, x_u: torch.Tensor, joint: bool
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    if joint:  # one pass: identical in distribution when the model has no BatchNorm
        z = model.features(torch.cat([x_l, x_u]))
        return z[: len(x_l)], z[len(x_l):]
    return model.features(x_l), model.features(x_u)


def waal_feature_loss(model: nn.Module, critic: nn.Module, x_l: torch.Tensor, y_l: torch.Tensor,
                      x_u: torch.Tensor | None, *, mu: float, gamma: float, label_smoothing: float = 0.0,
                      joint: bool = False
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
    r"""Step A's objective :math:`\mathrm{CE}(h(z_L),y_L)+\mu[\overline{g(z_U)}-\gamma\overline{g(z_L)}]`, not stepped.

    Returns ``(loss, ce, w, z_l, z_u)``; ``loss`` carries the graph, the rest is detached (``w`` and
    ``z_u`` are None without unlabeled inputs, ``w`` also when ``mu == 0``).
    """
    if x_u is None or len(x_u) == 0:
        z_l, z_u = model.features(x_l), None
    else:
        z_l, z_u = _forward_pair(model, x_l, x_u, joint)
    ce = F.cross_entropy(model.head(z_l), y_l, label_smoothing=label_smoothing)
    loss, w = ce, None
    if z_u is not None and mu != 0.0:
        w = critic(z_u).mean() - gamma * critic(z_l).mean()
        loss = ce + mu * w
    return loss, ce.detach(), None if w is None else w.detach(), z_l.detach(), None if z_u is None else z_u.detach()


def waal_feature_step(model: nn.Module, critic: nn.Module, opt: torch.optim.Optimizer, x_l: torch.Tensor,
                      y_l: torch.Tensor, x_u: torch.Tensor | None, *, mu: float, gamma: float,
                      label_smoothing: float = 0.0, joint: bool = False
                      ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
    r"""Step A on its own: update ``f`` and ``h`` on :func:`waal_feature_loss` with the critic frozen.

    The critic's parameters are switched to ``requires_grad=False`` for the step (its ``.grad``
    stays untouched). Returns ``(ce, w, z_l, z_u)`` detached; ``x_u=None`` trains on CE alone. The
    training hook does not call it: ``Learner.fit`` steps :func:`waal_feature_loss` itself, freezing the
    critic the same way.
    """
    flags = [p.requires_grad for p in critic.parameters()]
    critic.requires_grad_(False)
    try:
        loss, ce, w, z_l, z_u = waal_feature_loss(model, critic, x_l, y_l, x_u, mu=mu, gamma=gamma,
                                                  label_smoothing=label_smoothing, joint=joint)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    finally:
        for p, f in zip(critic.parameters(), flags, strict=True):
            p.requires_grad_(f)
    return ce, w, z_l, z_u


def waal_critic_step(critic: nn.Module, opt: torch.optim.Optimizer, z_l: torch.Tensor, z_u: torch.Tensor, *,
                     mu: float, gamma: float, gp_weight: float, gp_sign: str = "correct"
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Step B: update ``g`` on :math:`-\mu W\pm\mu\lambda_\text{gp}\mathrm{GP}` with detached features.

    ``gp_sign="correct"`` adds the penalty; ``"official"`` subtracts it (the bug of [WAAL-code] and
    DeepAL+). The features are detached here, so ``f`` and ``h`` receive no gradient.
    Returns ``(w, gp)`` detached.
    """
    if gp_sign not in _GP_SIGNS:
        raise ValueError(f"gp_sign must be one of {_GP_SIGNS}, got {gp_sign!r}")
    z_l, z_u = z_l.detach(), z_u.detach()
    w = critic(z_u).mean() - gamma * critic(z_l).mean()
    gp = gradient_penalty(critic, z_u, z_l)
    sign = 1.0 if gp_sign == "correct" else -1.0
    loss = -mu * w + sign * mu * gp_weight * gp
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return w.detach(), gp.detach()


def _has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


@torch.no_grad()
def _critic_values(model: nn.Module, critic: nn.Module, x: torch.Tensor, device: torch.device) -> torch.Tensor:
    out = [critic(model.features(x[s : s + _INFER_BATCH].to(device))) for s in range(0, len(x), _INFER_BATCH)]
    return torch.cat(out) if out else torch.empty(0, device=device)


# ======================================================================================
# The hook
# ======================================================================================
class _WAALPlan(FitPlan):
    """WAAL's min–max game as a plan: step A (``f``, ``h``; critic frozen) is the step's loss, step B
    (the critic's ascent on step A's detached features) the extra step; batches pair labeled with
    unlabeled items (:func:`waal_pairs`). Everything else is ``Learner.fit``'s."""

    def __init__(self, strategy: WAAL, x_unlabeled: torch.Tensor | None) -> None:
        self.s = strategy
        self.epochs = strategy.epochs
        self._x_u_in = x_unlabeled
        self.x_l = self.x_u = torch.empty(0)
        self.gamma = 0.0
        self.planned_epochs = 0
        self.last = {"w": 0.0, "gp": 0.0}
        self._z: tuple[torch.Tensor, torch.Tensor | None] | None = None
        self._w_sum: Any = 0.0
        self._gp_sum: Any = 0.0
        self._n_adv = 0

    def train_set(self, x, y, weight):
        self.x_l = x  # the labeled items WAAL trains on (validation removed)
        self.x_u = self._x_u_in.to(x.device) if self._x_u_in is not None else x[:0]
        self.gamma = bias_coefficient(self.s.bias, len(x), len(self.x_u), self.s._query_size())
        return x, y, weight

    def modules(self, model: nn.Module, x: torch.Tensor) -> dict[str, nn.Module]:
        self.joint_pass = not _has_batchnorm(model)
        return {"critic": WAALCritic(model.feature_dim, self.s.critic_hidden, activation=self.s.critic_activation)}

    def steps_per_epoch(self, n: int, batch_size: int) -> int:
        return math.ceil(max(n, len(self.x_u)) / batch_size)

    def batches(self, n, batch_size, generator, device):
        li, ui = waal_pairs(n, len(self.x_u), generator)
        li, ui = li.to(device), ui.to(device)
        for start in range(0, len(li), batch_size):
            yield Batch(li[start : start + batch_size], ui[start : start + batch_size] if len(self.x_u) else None)

    def loss(self, fit: FitState, batch: Batch) -> torch.Tensor:
        self.planned_epochs = fit.epochs
        x_u = None if batch.unlabeled is None else self.x_u[batch.unlabeled]
        loss, _, _, z_l, z_u = waal_feature_loss(fit.model, fit.modules["critic"], fit.x[batch.labeled],
                                                 fit.y[batch.labeled], x_u, mu=float(self.s.mu), gamma=self.gamma,
                                                 label_smoothing=fit.config.label_smoothing, joint=self.joint_pass)
        self._z = (z_l, z_u)
        return loss

    def extra_step(self, fit: FitState, batch: Batch) -> None:
        z_l, z_u = self._z
        if z_u is not None:
            w, gp = waal_critic_step(fit.modules["critic"], fit.optimizers["critic"], z_l, z_u, mu=float(self.s.mu),
                                     gamma=self.gamma, gp_weight=float(self.s.gp_weight), gp_sign=self.s.gp_sign)
            self._w_sum, self._gp_sum, self._n_adv = self._w_sum + w, self._gp_sum + gp, self._n_adv + 1

    def end_epoch(self, fit: FitState) -> None:
        if self._n_adv:
            self.last = {"w": float(self._w_sum) / self._n_adv, "gp": float(self._gp_sum) / self._n_adv}
        self._w_sum, self._gp_sum, self._n_adv = 0.0, 0.0, 0


class _WAALHook(TrainingHook):
    """Train with :class:`_WAALPlan` (``f``, ``h`` and a fresh critic every round); the critic comes back in the report."""

    def __init__(self, strategy: WAAL) -> None:
        self.strategy = strategy
        self._extras: dict[str, Any] = {}

    def fit(self, learner, x_labeled, y_labeled, *, x_unlabeled, unlabeled_indices, seed, x_val=None, y_val=None):
        s = self.strategy
        s._check()
        plan = _WAALPlan(s, x_unlabeled)
        report = learner.fit(x_labeled, y_labeled, seed=seed, x_val=x_val, y_val=y_val, plan=plan)
        model, critic = learner.model, report.modules["critic"]
        s._critic = critic
        n_l, n_u = len(plan.x_l), len(plan.x_u)
        g_l = _critic_values(model, critic, plan.x_l, learner.device)
        g_u = _critic_values(model, critic, plan.x_u, learner.device)
        mean_l = float(g_l.mean()) if len(g_l) else None
        mean_u = float(g_u.mean()) if len(g_u) else None
        self._extras = {
            "waal_critic_mean_labeled": mean_l,
            "waal_critic_mean_unlabeled": mean_u,
            "waal_w1": None if mean_l is None or mean_u is None else mean_u - mean_l,
            "waal_objective": None if mean_l is None or mean_u is None else mean_u - plan.gamma * mean_l,
            "waal_gamma": plan.gamma,
            "waal_pairs_per_epoch": max(n_l, n_u),
            "waal_labeled_reuse": max(n_l, n_u) / n_l,
            "waal_epochs": plan.planned_epochs,
            "waal_train_w_last_epoch": plan.last["w"],
            "waal_train_gp_last_epoch": plan.last["gp"],
        }
        return report

    def round_extras(self) -> dict[str, Any]:
        return dict(self._extras)


# ======================================================================================
# The strategy
# ======================================================================================
@register_strategy("waal")
class WAAL(ScoreStrategy):
    r"""Wasserstein Adversarial Active Learning (Shui et al. 2020; reference §4.19).

    **Training (hook).** Each round ``f`` (the model's ``extractor``), ``h`` (its ``head``) and a
    fresh critic :math:`g` = :class:`WAALCritic` (``d``-``critic_hidden``-ReLU-dropout-1-sigmoid) are
    trained on mini-batches pairing ``batch_size`` labeled with ``batch_size`` unlabeled items
    (:func:`waal_pairs`: the labeled set is cycled, an epoch covers the unlabeled pool once).
    Per batch, step A updates ``f, h`` on
    :math:`\mathrm{CE}(h(f(x_L)),y_L)+\mu[\overline{g(f(x_U))}-\gamma\,\overline{g(f(x_L))}]` with
    the critic frozen; step B updates :math:`g` on
    :math:`-\mu[\overline{g(z_U)}-\gamma\,\overline{g(z_L)}]+\mu\lambda_\text{gp}\mathrm{GP}` with the
    features detached (:func:`gradient_penalty` on interpolates, ``z_U`` and ``z_L``). The game is a
    :class:`~alkit.learner.FitPlan` (step A its loss, step B its extra step) run by
    :meth:`alkit.learner.Learner.fit`, so optimiser, learning rate, momentum, lr milestones,
    validation, early stopping and best-state selection (of ``f``, ``h`` *and* the critic) are the
    learner's shared rules from its :class:`~alkit.learner.TrainConfig` (paper: SGD 0.01, momentum
    0.5, ×0.1 at 50 %/75 %); the critic has its own optimiser with the same settings and comes back
    in ``FitReport.modules["critic"]``. An epoch is one pass over ``max(N_L, N_U)`` pairs, so it
    costs about ``N_U / N_L`` supervised epochs; ``FitReport.train_loss`` is the mean step-A
    objective (CE plus the μ-weighted critic term).

    **Query.** :math:`s(x)=\text{mix}\,U_A(p)+(1-\text{mix})\,U_B(p)-\eta\,g(f(x))`; the ``b``
    smallest are queried (``score`` returns :math:`-s`, larger = query first).

    Parameters
    ----------
    mu : float
        Adversarial weight :math:`\mu` (paper Fashion-MNIST/SVHN/CIFAR10: 1e-2; STL10 1e-3;
        official CIFAR10 script 2e-3).
    eta : float
        Weight :math:`\eta` of the critic in the query (paper Fashion-MNIST/SVHN: 5; official code and
        DeepAL+: 10). ``eta=0`` is pure uncertainty.
    mix : float
        Mixture weight of the two uncertainty bounds (0.5 everywhere).
    uncertainty : {"official", "paper"}
        ``"official"``: :math:`0.5U_2+0.5U_1` ([WAAL-code], DeepAL+); ``"paper"``:
        :math:`0.5U_\infty+0.5U_2` (Eq. 10 + Eq. 11 with the ℓ2 norm), see :func:`waal_uncertainty`.
    bias : {"ratio", "one", "theory"} or float
        The labeled weight :math:`\gamma`, see :func:`bias_coefficient`: ``"ratio"`` = :math:`N_L/N_U`
        (official code), ``"one"`` (DeepAL+), ``"theory"`` = :math:`C_0` with :math:`N_B` =
        ``query_size``, or a number.
    gp_sign : {"correct", "official"}
        ``"correct"`` adds the gradient penalty to the critic loss; ``"official"`` subtracts it, as
        [WAAL-code] and DeepAL+ do (bug-compatible reproduction).
    gp_weight : float
        :math:`\lambda_\text{gp}` (official code: 2 in the critic step).
    epochs : int, optional
        Epochs (passes over ``max(N_L, N_U)`` pairs) per round; None = the learner's
        ``TrainConfig.epochs``. ``min_steps`` still applies; early stopping may end a round sooner.
    critic_hidden : int
        Hidden width of the critic (paper/code: 50).
    critic_activation : {"relu", "leaky_relu"}
        The critic's hidden activation: ``"relu"`` (paper/code) or LeakyReLU(0.2), which cannot die
        (see :class:`WAALCritic`; lesson 08 §5 measures both on sampling-bias layouts).
    query_size : int, optional
        :math:`N_B` of ``bias="theory"``; None = the size of this instance's previous query (0 before
        the first query, which gives :math:`C_0=1`).

    Notes
    -----
    Sign convention: the critic learns to be *high* on unlabeled and *low* on labeled features;
    the stored ``waal_w1`` = mean critic on U − mean critic on L (after training, eval mode) is the
    critic's estimate of :math:`W_1(L,U)` in feature space (only as good as the critic's Lipschitz
    constant; the sigmoid bounds it by 1). The round extras also hold both critic means,
    :math:`\gamma`, the number of pairs per epoch and ``waal_labeled_reuse`` (pairs per labeled
    item per epoch, about :math:`N_U/N_L`); ``Selection.extras`` the critic means over the pool
    and over the picked batch.

    Deviations, all documented choices: step B reuses step A's features (detached) instead of
    recomputing them with the just-updated extractor (saves a forward pass; one SGD step apart);
    the official ``μ·5·GP`` term of step A is omitted (computed on detached features with a frozen
    critic it contributes no gradient); models without BatchNorm run the labeled and unlabeled
    batch in one forward pass. A query before any fit, or on a view whose embedding width differs
    from the fitted critic's, scores with an untrained critic seeded with 0 (the diversity term is
    then arbitrary but deterministic; ``eta=0`` removes it).

    ⚠ Sources disagree on :math:`\gamma` (official :math:`N_L/N_U`, DeepAL+ 1, paper :math:`C_0`
    lost in extraction), on the uncertainty pair (paper Eq. 10/11 vs code ℓ2/ℓ1), on :math:`\eta`
    (5 vs 10), on the gradient-penalty sign (the code's is wrong) and on the schedule (paper: lr
    decay + early stopping; code: 80 epochs, constant lr).

    References
    ----------
    Shui, Zhou, Gagné & Wang, *Deep Active Learning: Unified and Principled Method for Query and
    Training*, AISTATS 2020 (WAAL), and its official code (github.com/cjshui/WAAL).
    Gulrajani et al., *Improved Training of Wasserstein GANs*, NeurIPS 2017 (gradient penalty).
    """

    needs = frozenset({"probs", "embeddings"})
    #: An epoch pairs every unlabeled item with a labeled one: ~N_U/N_L times a plain epoch, far too slow
    #: for the 3-minute demo (digits: 20 labels vs ~1,300 unlabeled).
    in_demo = False

    def __init__(self, mu: float = 1e-2, eta: float = 5.0, mix: float = 0.5, uncertainty: str = "official",
                 bias: str | float = "ratio", gp_sign: str = "correct", gp_weight: float = 2.0,
                 epochs: int | None = None, critic_hidden: int = 50, query_size: int | None = None,
                 critic_activation: str = "relu") -> None:
        self.mu = mu
        self.eta = eta
        self.mix = mix
        self.uncertainty = uncertainty
        self.bias = bias
        self.gp_sign = gp_sign
        self.gp_weight = gp_weight
        self.epochs = epochs
        self.critic_hidden = critic_hidden
        self.query_size = query_size
        self.critic_activation = critic_activation

    # state shared with the hook (not hyperparameters): the critic is retrained by every round's fit;
    # the last query size (bias="theory" without query_size) is stored with the round for resume
    _critic: WAALCritic | None = None
    _last_query: int = 0
    resume_state = {"_critic": "rebuilt", "_last_query": "store"}

    def _check(self) -> None:
        if self.uncertainty not in _UNCERTAINTY:
            raise ValueError(f"uncertainty must be one of {_UNCERTAINTY}, got {self.uncertainty!r}")
        if self.gp_sign not in _GP_SIGNS:
            raise ValueError(f"gp_sign must be one of {_GP_SIGNS}, got {self.gp_sign!r}")
        bias_coefficient(self.bias, 1, 1)
        if self.critic_activation not in _ACTIVATIONS:
            raise ValueError(f"critic_activation must be one of {_ACTIVATIONS}, got {self.critic_activation!r}")
        if self.epochs is not None and (isinstance(self.epochs, bool) or not isinstance(self.epochs, int)
                                        or self.epochs < 1):
            raise ValueError(f"epochs must be a positive integer or None, got {self.epochs!r}")

    def _query_size(self) -> int:
        return int(self.query_size) if self.query_size is not None else int(self._last_query)

    def training_hook(self) -> TrainingHook:
        return _WAALHook(self)

    def critic_for(self, dim: int, device: torch.device) -> tuple[nn.Module, bool]:
        """The fitted critic when its input width is ``dim``, else an untrained one seeded with 0."""
        if self._critic is not None and self._critic.dim == dim:
            return self._critic.to(device).eval(), True
        from alkit.seeding import seeded

        with seeded(0, torch.device("cpu")):
            critic = WAALCritic(dim, self.critic_hidden, activation=self.critic_activation)
        return critic.to(device).eval(), False

    @torch.no_grad()
    def critic_values(self, view: PoolView) -> tuple[torch.Tensor, bool]:
        """:math:`g(f(x))` for every unlabeled item (N_U,) and whether the critic was fitted."""
        emb = view.embeddings
        critic, fitted = self.critic_for(int(emb.shape[1]), view.device)
        out = [critic(emb[s : s + _INFER_BATCH]) for s in range(0, len(emb), _INFER_BATCH)]
        return (torch.cat(out) if out else torch.empty(0, device=view.device)), fitted

    def score(self, view: PoolView) -> torch.Tensor:
        self._check()
        probs = check_probs(view.probs)
        g, _ = self.critic_values(view)
        return -waal_selection_scores(probs, g.to(probs.dtype), self.eta, self.uncertainty, self.mix)

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        self._check()
        t0 = time.perf_counter()
        probs = check_probs(view.probs)
        g, fitted = self.critic_values(view)
        scores = -waal_selection_scores(probs, g.to(probs.dtype), self.eta, self.uncertainty, self.mix)
        t1 = time.perf_counter()
        pos = top_k(scores, k)
        t2 = time.perf_counter()
        self._last_query = k
        extras = {"waal_query_critic_fitted": fitted, "waal_query_critic_mean_pool": float(g.mean()),
                  "waal_query_critic_mean_selected": float(g[pos].mean())}
        return Selection(indices=view.unlabeled[pos], scores=scores[pos],
                         timings={"score": t1 - t0, "select": t2 - t1}, extras=extras)
