"""Argument checks shared by the model builders (each raises :class:`ModelError`)."""

from __future__ import annotations

import math
import operator

from ._base import ModelError


def check_num_classes(model: str, num_classes: object) -> int:
    """``num_classes`` must be an integer >= 2 (``get_model`` checks it too; builders may be called directly)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ModelError(f"{model}: num_classes must be an integer >= 2, got {num_classes!r}")
    return num_classes


def check_flat_shape(model: str, input_shape: object) -> tuple[int, ...]:
    """Any non-empty shape of positive integers (the model flattens it)."""
    shape = _as_int_tuple(input_shape)
    if shape is None or len(shape) == 0:
        raise ModelError(
            f"{model} expects input_shape as a non-empty tuple of positive integers, e.g. (784,) or (1, 28, 28); "
            f"got {input_shape!r}"
        )
    return shape


def check_image_shape(model: str, input_shape: object, min_hw: int, example: str) -> tuple[int, int, int]:
    """An image shape ``(C, H, W)`` with ``C >= 1`` and ``H, W >= min_hw``."""
    shape = _as_int_tuple(input_shape)
    if shape is None or len(shape) != 3 or shape[1] < min_hw or shape[2] < min_hw:
        raise ModelError(
            f"{model} expects input_shape (C, H, W) with H, W >= {min_hw}, e.g. {example}; got {input_shape!r}"
        )
    return shape  # type: ignore[return-value]


def check_prob(model: str, name: str, p: object) -> float:
    """A dropout probability in ``[0, 1)``."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p) or not 0.0 <= p < 1.0:
        raise ModelError(f"{model}: {name} must be a probability in [0, 1), got {p!r}")
    return float(p)


def check_pos_int(model: str, name: str, value: object) -> int:
    """A strictly positive integer."""
    try:
        v = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        v = None
    if v is None or v < 1:
        raise ModelError(f"{model}: {name} must be a positive integer, got {value!r}")
    return int(v)


def _as_int_tuple(shape: object) -> tuple[int, ...] | None:
    try:
        items = tuple(shape)  # type: ignore[arg-type]
    except TypeError:
        return None
    out = []
    for s in items:
        if isinstance(s, bool):
            return None
        try:
            v = operator.index(s)  # accepts int, numpy integers, 0-d integer tensors
        except TypeError:
            return None
        if v < 1:
            return None
        out.append(int(v))
    return tuple(out)
