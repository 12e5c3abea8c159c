"""Adversarial-margin strategies: adv_bim, adv_deepfool (reference §4.14-4.15).

Both approximate the distance from an input to the model's decision boundary by the size of a
small adversarial perturbation that changes the predicted label; a small distance means an
uncertain item, so the acquisition is :math:`a(x) = -\\lVert r\\rVert_2^2`.

The attacks run on the inputs' device in chunks of ``batch_size`` items; every item keeps its
own stopping mask (an item whose label has changed takes no further steps), and an iteration cap
bounds the loop. The model is used as a frozen function: its parameters enter the forward pass
detached (:func:`torch.func.functional_call`), gradients are taken with respect to the
perturbation only, so no ``.grad`` is left on the model and no global state is touched.
The model must be in eval mode (the loop hands it over that way), so that every item's logits
depend on that item alone.

The two perturbation routines are public so they can be inspected in notebooks and tests:
:func:`bim_perturbation` and :func:`deepfool_perturbation`.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from alkit.strategies._registry import register_strategy
from alkit.strategies._view import PoolView
from alkit.strategies.base import ScoreStrategy

__all__ = ["AdversarialBIM", "AdversarialDeepFool", "bim_perturbation", "deepfool_perturbation"]

#: How often (in iterations) the attacks ask whether every item of a chunk has stopped. The
#: answer is a host synchronisation; stopped items are masked anyway, so checking less often
#: only costs a few no-op iterations and never changes the result.
_CHECK_EVERY = 4
#: DeepFool's step pushes the linearised gap past zero by this much (DeepFool reference code).
_DF_PUSH = 1e-4
#: Gradient norms below this count as zero (no usable direction) instead of dividing by them.
_TINY = 1e-12


def _frozen(model: nn.Module):
    """``model`` as a function of its input with detached parameters (no grads reach the model)."""
    params = {name: p.detach() for name, p in model.named_parameters()}

    def fn(x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(model, params, (x,))

    return fn


def _all_stopped(it: int, active: torch.Tensor) -> bool:
    return it % _CHECK_EVERY == _CHECK_EVERY - 1 and not bool(active.any())


def _expand(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape a per-item vector (B,) so it broadcasts against ``like`` (B, *input_shape)."""
    return mask.reshape(-1, *([1] * (like.dim() - 1)))


def bim_perturbation(
    model: nn.Module, x: torch.Tensor, *, eps: float = 0.05, max_iter: int = 100
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Basic Iterative Method until the predicted label changes, batched with per-item stopping.

    Starting from :math:`\eta = 0` and :math:`y_0 = \hat y(x)`, repeat
    :math:`\eta \leftarrow \eta + \epsilon\,\mathrm{sign}(\nabla_\eta \mathrm{CE}(f(x+\eta), y_0))`
    until :math:`\hat y(x+\eta) \ne y_0` or ``max_iter`` steps were taken.

    Parameters
    ----------
    model : nn.Module
        The classifier, in eval mode; ``model(x)`` returns logits ``(B, K)``. Left untouched.
    x : Tensor, shape (B, *input_shape)
    eps : float
        Step size per coordinate, in (normalised) input units.
    max_iter : int
        Iteration cap: the most steps any item takes.

    Returns
    -------
    eta : Tensor, shape like ``x``
        The perturbation reached (at the flip, or at the cap).
    flipped : Tensor, bool, shape (B,)
        Whether the label of ``x + eta`` differs from ``y0``.
    steps : Tensor, int64, shape (B,)
        Sign steps taken by each item (``max_iter`` for items that never flipped).
    """
    f = _frozen(model)
    x = x.detach()
    eta = torch.zeros_like(x)
    steps = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    with torch.enable_grad():
        logits = f(x)
        y0 = logits.argmax(dim=-1)
        active = torch.ones_like(y0, dtype=torch.bool)
        for it in range(max_iter):
            eta.requires_grad_(True)
            logits = f(x + eta)
            active = active & (logits.argmax(dim=-1) == y0)
            # Summed CE: each item's gradient is the gradient of its own loss.
            (grad,) = torch.autograd.grad(F.cross_entropy(logits, y0, reduction="sum"), eta)
            eta = (eta.detach() + eps * grad.sign() * _expand(active, x)).detach()
            steps += active.long()
            if _all_stopped(it, active):
                break
        with torch.no_grad():
            flipped = f(x + eta).argmax(dim=-1) != y0
    return eta, flipped, steps


def deepfool_perturbation(
    model: nn.Module, x: torch.Tensor, *, max_iter: int = 50, overshoot: float = 0.02
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Multi-class DeepFool, batched over items, with the gradients of all K logits.

    With :math:`y_0 = \hat y(x)`, each iteration linearises the model at
    :math:`x' = x + (1+\text{overshoot})\,r_\text{tot}`: for every class :math:`k \ne y_0`,
    :math:`w_k = \nabla z_k - \nabla z_{y_0}` and :math:`f_k = z_k - z_{y_0}`; the closest linearised
    boundary is :math:`l = \arg\min_{k \ne y_0} |f_k| / \lVert w_k\rVert` (a true minimum over all
    classes) and the step :math:`r = (|f_l| + 10^{-4})\,w_l / \lVert w_l\rVert^2` is added to
    :math:`r_\text{tot}`. Items stop once the label of :math:`x'` differs from :math:`y_0`.

    The gradients come from K backward passes per iteration (one per class, each of the logit
    summed over the chunk), so the cost is one forward and K backward passes per chunk and iteration.

    Parameters
    ----------
    model : nn.Module
        The classifier, in eval mode. Left untouched.
    x : Tensor, shape (B, *input_shape)
    max_iter : int
        Iteration cap.
    overshoot : float
        The perturbation applied (and returned) is :math:`(1+\text{overshoot})\,r_\text{tot}`.

    Returns
    -------
    r : Tensor, shape like ``x``
        The total perturbation :math:`(1+\text{overshoot})\,r_\text{tot}`.
    flipped : Tensor, bool, shape (B,)
        Whether the label of ``x + r`` differs from ``y0``.
    iters : Tensor, int64, shape (B,)
        DeepFool steps taken by each item (``max_iter`` for items that never flipped).
    """
    f = _frozen(model)
    x = x.detach()
    b = x.shape[0]
    r_tot = torch.zeros_like(x)
    iters = torch.zeros(b, dtype=torch.long, device=x.device)
    scale = 1.0 + overshoot
    with torch.enable_grad():
        y0 = f(x).argmax(dim=-1)
        active = torch.ones_like(y0, dtype=torch.bool)
        rows = torch.arange(b, device=x.device)
        for it in range(max_iter):
            xa = (x + scale * r_tot).requires_grad_(True)
            logits = f(xa)  # (B, K)
            active = active & (logits.argmax(dim=-1) == y0)
            k = logits.shape[-1]
            # grads[:, j] = d z_j / d x for every item: one backward pass per class.
            grads = torch.stack(
                [torch.autograd.grad(logits[:, j].sum(), xa, retain_graph=j < k - 1)[0] for j in range(k)], dim=1
            ).reshape(b, k, -1)  # (B, K, D)
            logits = logits.detach()
            w = grads - grads[rows, y0].unsqueeze(1)  # (B, K, D); row y0 is zero
            fk = logits - logits[rows, y0].unsqueeze(1)  # (B, K);    entry y0 is zero
            wnorm = w.norm(dim=-1)  # (B, K)
            dist = fk.abs() / wnorm.clamp_min(_TINY)
            dist[rows, y0] = math.inf  # the current class is never a candidate
            l = dist.argmin(dim=-1)  # noqa: E741 - the closest boundary, over all classes at once
            w_l, f_l, n_l = w[rows, l], fk[rows, l], wnorm[rows, l]
            step = ((f_l.abs() + _DF_PUSH) / n_l.clamp_min(_TINY).square()).unsqueeze(1) * w_l  # (B, D)
            r_tot = r_tot + step.reshape(x.shape) * _expand(active, x)
            iters += active.long()
            if _all_stopped(it, active):
                break
        with torch.no_grad():
            flipped = f(x + scale * r_tot).argmax(dim=-1) != y0
    return scale * r_tot, flipped, iters


def _margin_scores(dist2: torch.Tensor, flipped: torch.Tensor) -> torch.Tensor:
    """``-dist2`` for flipped items; never-flipped items strictly after every flipped one.

    A never-flipped item gets :math:`-(D + d^2)` nudged one float below, where :math:`D` is the
    largest squared distance of any flipped item of the pool and :math:`d^2` its own squared
    distance at the cap: it ranks after all flipped items, and among the never-flipped items the
    one that got farther ranks later.
    """
    dist2 = torch.nan_to_num(dist2, nan=torch.finfo(dist2.dtype).max).clamp_max(torch.finfo(dist2.dtype).max / 4)
    far = torch.where(flipped, dist2, torch.zeros_like(dist2)).amax() if dist2.numel() else dist2.new_zeros(())
    capped = torch.nextafter(-(far + dist2), dist2.new_full((), -math.inf))
    return torch.where(flipped, -dist2, capped)


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class _AdversarialScore(ScoreStrategy):
    needs = frozenset({"inputs", "model"})
    #: The attacks cost many forward/backward passes per item; the CPU demo skips them.
    in_demo = False

    def _check(self) -> None:
        _check_positive_int("max_iter", self.max_iter)
        _check_positive_int("batch_size", self.batch_size)

    def _attack(self, model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def score(self, view: PoolView) -> torch.Tensor:
        self._check()
        x, model = view.inputs, view.model
        dist2, flipped = [], []
        for start in range(0, x.shape[0], self.batch_size):
            r, fl = self._attack(model, x[start:start + self.batch_size])
            dist2.append(r.reshape(r.shape[0], -1).square().sum(dim=-1))
            flipped.append(fl)
        if not dist2:
            return torch.empty(0, device=x.device)
        return _margin_scores(torch.cat(dist2), torch.cat(flipped))


@register_strategy("adv_bim")
class AdversarialBIM(_AdversarialScore):
    r"""Adversarial margin with the Basic Iterative Method, :math:`a = -\lVert\eta\rVert_2^2` (reference §4.14).

    From :math:`\eta = 0`, step :math:`\eta \leftarrow \eta + \epsilon\,\mathrm{sign}(\nabla_x
    \mathrm{CE}(f(x+\eta), \hat y(x)))` until the predicted label changes; items that need a small
    perturbation lie close to the decision boundary and are queried first. See
    :func:`bim_perturbation`.

    Parameters
    ----------
    eps : float
        Step size per input coordinate (DeepAL+: 0.05, in normalised input units; no clipping).
    max_iter : int
        Iteration cap. ⚠ DeepAL+ has **no cap** and loops forever on an item whose label never
        changes (e.g. a saturated, zero-gradient region); 100 bounds the cost.
    batch_size : int
        Items attacked together (each with its own stopping mask); results do not depend on it.
    tie_break : {"index", "random"}
        Exact ties go to the lowest pool index, or are ordered by the seeded generator.

    Notes
    -----
    Items whose label has not changed after ``max_iter`` steps rank **after every flipped item**:
    their score is minus (the largest squared perturbation of any flipped pool item plus their own
    squared perturbation at the cap), nudged one float lower. Scores are therefore comparable
    within one query only. The survey also mentions adding the adversarial examples to training;
    DeepAL+ does not, and neither does alkit.

    References
    ----------
    Kurakin, Goodfellow & Bengio, *Adversarial examples in the physical world*, 2017 (BIM).
    Ducoffe & Precioso, *Adversarial Active Learning for Deep Networks: a Margin Based Approach*, 2018.
    Zhan et al., *A Comparative Survey of Deep Active Learning* (DeepAL+), 2022.
    """

    def __init__(self, eps: float = 0.05, max_iter: int = 100, batch_size: int = 256, tie_break: str = "index"):
        self.eps = eps
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.tie_break = tie_break

    def _check(self) -> None:
        super()._check()
        if not (isinstance(self.eps, (int, float)) and not isinstance(self.eps, bool) and self.eps > 0):
            raise ValueError(f"eps must be a positive number, got {self.eps!r}")

    def _attack(self, model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        eta, flipped, _ = bim_perturbation(model, x, eps=float(self.eps), max_iter=self.max_iter)
        return eta, flipped


@register_strategy("adv_deepfool")
class AdversarialDeepFool(_AdversarialScore):
    r"""DeepFool adversarial margin (DFAL), :math:`a = -\lVert r_\text{tot}\rVert_2^2` (reference §4.15).

    Multi-class DeepFool: repeatedly linearise the model, step to the closest linearised class
    boundary, stop once the label changes. See :func:`deepfool_perturbation`.

    Parameters
    ----------
    max_iter : int
        Iteration cap (DeepAL+: 50).
    overshoot : float
        The total perturbation is scaled by ``1 + overshoot`` (DeepFool and cleverhans, as used by
        [DAL-code]: 0.02). ⚠ DeepAL+ uses no overshoot; pass ``overshoot=0`` to match it.
    batch_size : int
        Items attacked together (each with its own stopping mask); results do not depend on it.
    tie_break : {"index", "random"}
        Exact ties go to the lowest pool index, or are ordered by the seeded generator.

    Notes
    -----
    ⚠ DeepAL+ (inherited from the DeepAL toolkit) never updates its running minimum, so it steps
    toward the *last* class examined rather than the closest boundary; here the closest class is a
    true ``argmin`` over all classes. Each step also pushes past the linearised boundary by
    ``1e-4`` as in the DeepFool reference code, so a linear model flips in one step. Items whose
    label has not changed after ``max_iter`` steps rank after every flipped item, exactly as in
    ``adv_bim``. Ducoffe & Precioso also add the adversarial images to the training set; DeepAL+
    and alkit do not.

    References
    ----------
    Moosavi-Dezfooli, Fawzi & Frossard, *DeepFool: a simple and accurate method to fool deep neural
    networks*, CVPR 2016.
    Ducoffe & Precioso, *Adversarial Active Learning for Deep Networks: a Margin Based Approach*, 2018.
    """

    def __init__(self, max_iter: int = 50, overshoot: float = 0.02, batch_size: int = 256, tie_break: str = "index"):
        self.max_iter = max_iter
        self.overshoot = overshoot
        self.batch_size = batch_size
        self.tie_break = tie_break

    def _check(self) -> None:
        super()._check()
        ok = isinstance(self.overshoot, (int, float)) and not isinstance(self.overshoot, bool)
        if not ok or not self.overshoot >= 0:
            raise ValueError(f"overshoot must be a number >= 0, got {self.overshoot!r}")

    def _attack(self, model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r, flipped, _ = deepfool_perturbation(model, x, max_iter=self.max_iter, overshoot=float(self.overshoot))
        return r, flipped
