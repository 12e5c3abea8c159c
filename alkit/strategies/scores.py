"""Pure acquisition functions on tensors (larger = query first), shared by all uncertainty strategies.

Every function keeps its input's device and dtype and is safe on exact zeros
(``0 log 0 = 0`` via ``torch.special.xlogy``).
"""

from __future__ import annotations

import torch

__all__ = [
    "check_probs",
    "check_mc_passes_differ",
    "entropy",
    "entropy_scores",
    "margin_scores",
    "least_conf_scores",
    "var_ratio_scores",
    "var_ratio_mc_scores",
]


def check_probs(probs: torch.Tensor, *, mc: bool = False) -> torch.Tensor:
    """Validate a probability tensor: (N, K) or, with ``mc``, (T, N, K); floating and finite."""
    want = 3 if mc else 2
    if not isinstance(probs, torch.Tensor):
        raise TypeError(f"probabilities must be a torch.Tensor, got {type(probs).__name__}")
    if probs.dim() != want:
        shape = "(T, N, K)" if mc else "(N, K)"
        raise ValueError(f"probabilities must have shape {shape}, got {tuple(probs.shape)}")
    if not torch.is_floating_point(probs):
        raise TypeError(f"probabilities must be floating point, got {probs.dtype}")
    if probs.shape[-1] < 2:
        raise ValueError(f"need at least 2 classes, got K={probs.shape[-1]}")
    if probs.numel() and not bool(torch.isfinite(probs).all()):
        raise ValueError("probabilities contain NaN or inf")
    return probs


def check_mc_passes_differ(mc_probs: torch.Tensor, what: str = "mc_probs") -> torch.Tensor:
    r"""Refuse an MC-dropout stack ``(T, N, K)`` whose ``T >= 2`` passes are all identical.

    Identical passes come from a model whose dropout is inactive (rate 0, or no dropout layer):
    BALD and MeanSTD are then 0 up to rounding and would rank the pool by floating-point noise (the
    DeepAL+ ResNet-18 bug). "Identical" means that no probability differs from the first pass's by
    more than ``8 * eps`` of the dtype (float32: 9.5e-7). One host sync; the input is returned.

    Raises
    ------
    ValueError
        Naming the stack's shape and the largest difference between passes.
    """
    from alkit.learner import identical_mc_passes

    spread = identical_mc_passes(mc_probs)
    if spread is not None:
        raise ValueError(
            f"{what} {tuple(mc_probs.shape)}: all {mc_probs.shape[0]} MC-dropout passes are identical (largest "
            f"difference {spread:.1e}), so the model's dropout is inactive (rate 0?); MC-dropout scores would rank "
            "the pool by rounding noise. Use a model with dropout rate > 0"
        )
    return mc_probs


def entropy(probs: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Shannon entropy :math:`H(p) = -\sum_k p_k \log p_k` (nats) along ``dim``; exact 0 for one-hot."""
    return torch.special.entr(probs).sum(dim)


def entropy_scores(probs: torch.Tensor) -> torch.Tensor:
    r"""Entropy sampling: :math:`a(x) = H(p(x))`, range :math:`[0, \log K]`.

    Parameters
    ----------
    probs : Tensor, shape (N, K)

    Returns
    -------
    Tensor, shape (N,)
    """
    return entropy(check_probs(probs))


def margin_scores(probs: torch.Tensor) -> torch.Tensor:
    r"""Margin sampling: :math:`a(x) = -(p_{(1)}(x) - p_{(2)}(x))` (smallest margin first)."""
    top2 = check_probs(probs).topk(2, dim=-1).values
    return top2[:, 1] - top2[:, 0]


def least_conf_scores(probs: torch.Tensor) -> torch.Tensor:
    r"""Least confidence: :math:`a(x) = -p_{(1)}(x)`."""
    return -check_probs(probs).max(dim=-1).values


def var_ratio_scores(probs: torch.Tensor) -> torch.Tensor:
    r"""Variation ratio on a deterministic prediction (survey / DeepAL+): :math:`a(x) = 1 - p_{(1)}(x)`.

    Ranks exactly like :func:`least_conf_scores`.
    """
    return 1.0 - check_probs(probs).max(dim=-1).values


def var_ratio_mc_scores(mc_probs: torch.Tensor) -> torch.Tensor:
    r"""Variation ratio of Freeman (1965) as used by Gal et al. (2017): :math:`a(x) = 1 - f_\text{mode}(x)/T`.

    ``f_mode`` counts the MC passes that predict the modal class.

    Parameters
    ----------
    mc_probs : Tensor, shape (T, N, K)
    """
    mc_probs = check_probs(mc_probs, mc=True)
    t, _, k = mc_probs.shape
    votes = mc_probs.argmax(dim=-1)  # (T, N)
    counts = torch.nn.functional.one_hot(votes, k).sum(dim=0)  # (N, K)
    return 1.0 - counts.max(dim=-1).values.to(mc_probs.dtype) / t
