"""``mlp``: a multilayer perceptron for any input shape (tabular data, toy 2-D sets, flattened images)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from ._base import ALModel, ModelError, register_model
from ._checks import check_flat_shape, check_num_classes, check_pos_int, check_prob

__all__ = ["build_mlp"]


@register_model("mlp")
def build_mlp(
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    hidden: Sequence[int] = (256, 128),
    dropout: float = 0.3,
) -> ALModel:
    """Build an MLP: ``Flatten -> [Linear -> ReLU] * len(hidden) -> Dropout(p) -> Linear``.

    Parameters
    ----------
    input_shape : tuple of int
        Any shape; the input is flattened to ``prod(input_shape)`` values.
    num_classes : int
        Number of classes ``K`` (>= 2).
    hidden : sequence of int, default (256, 128)
        Widths of the hidden layers, all inside the extractor. ``()`` gives
        multinomial logistic regression on the raw (flattened) input.
    dropout : float, default 0.3
        Dropout probability before the classifier (used by MC-dropout strategies).

    Returns
    -------
    ALModel
        ``extractor = Flatten, Linear, ReLU, ...``; ``feature_dim = hidden[-1]``
        (or ``prod(input_shape)`` without hidden layers);
        ``head = Dropout(dropout), Linear(feature_dim, K)``.
    """
    shape = check_flat_shape("mlp", input_shape)
    check_num_classes("mlp", num_classes)
    p = check_prob("mlp", "dropout", dropout)
    if isinstance(hidden, (int, str)):
        raise ModelError(f"mlp: hidden must be a sequence of positive integers, e.g. (256, 128); got {hidden!r}")
    widths = [check_pos_int("mlp", "each hidden width", h) for h in hidden]

    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(shape)
    for h in widths:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    extractor = nn.Sequential(*layers)
    head = nn.Sequential(nn.Dropout(p), nn.Linear(width, num_classes))
    return ALModel(extractor, head, shape, num_classes)
