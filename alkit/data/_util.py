"""Shared helpers of the loaders: option checks, registration, splits, normalisation."""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ._base import ALDataset, DatasetError, register_dataset

DIGIT_NAMES = [str(k) for k in range(10)]


def register(name: str) -> Callable[[Callable[..., ALDataset]], Callable[..., ALDataset]]:
    """Register a keyword-only loader; unknown options raise :class:`DatasetError` naming them."""

    def deco(fn: Callable[..., ALDataset]) -> Callable[..., ALDataset]:
        sig = inspect.signature(fn)
        valid = list(sig.parameters)

        @functools.wraps(fn)
        def loader(*args, **options) -> ALDataset:
            if args:
                raise DatasetError(
                    f"dataset {name!r} takes keyword options only ({', '.join(valid)}), got {len(args)} positional"
                )
            unknown = [k for k in options if k not in sig.parameters]
            if unknown:
                raise DatasetError(
                    f"dataset {name!r}: unknown option(s) {', '.join(map(repr, unknown))}; "
                    f"valid options: {', '.join(valid) or '(none)'}"
                )
            return fn(**options)

        loader.__signature__ = sig  # type: ignore[attr-defined]
        register_dataset(name)(loader)
        return loader

    return deco


def check_int(ds: str, opt: str, value: object, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int in ``[lo, hi]``; otherwise a :class:`DatasetError` naming ``opt``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DatasetError(f"{ds}: option {opt} must be an integer, got {value!r}")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        raise DatasetError(f"{ds}: option {opt} must lie in {rng}, got {v}")
    return v


def check_float(
    ds: str, opt: str, value: object, lo: float | None = None, hi: float | None = None, open_lo: bool = False
) -> float:
    """``value`` as a finite float in ``[lo, hi]`` (``(lo, hi]`` with ``open_lo``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise DatasetError(f"{ds}: option {opt} must be a finite number, got {value!r}")
    v = float(value)
    bad_lo = lo is not None and (v <= lo if open_lo else v < lo)
    if bad_lo or (hi is not None and v > hi):
        left = "(" if open_lo else "["
        raise DatasetError(f"{ds}: option {opt} must lie in {left}{lo}, {hi}], got {v}")
    return v


def check_bool(ds: str, opt: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise DatasetError(f"{ds}: option {opt} must be True or False, got {value!r}")
    return bool(value)


def check_seed(ds: str, value: object) -> int:
    return check_int(ds, "seed", value, 0)


def check_test_size(ds: str, value: object, n: int, opt: str = "test_size") -> int:
    """Number of test samples from a fraction in (0, 1) or a count in [1, n - 1]."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return check_int(ds, opt, value, 1, n - 1)
    frac = check_float(ds, opt, value, 0.0, 1.0, open_lo=True)
    if frac >= 1.0:
        raise DatasetError(f"{ds}: option {opt} must be a fraction in (0, 1) or a count, got {value!r}")
    return min(max(1, round(frac * n)), n - 1)


def stratified_split(y: np.ndarray, n_test: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (train, test), ``n_test`` in test, classes in proportion; both sorted."""
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    ideal = counts * (n_test / len(y))
    take = np.floor(ideal).astype(np.int64)
    # largest remainder, ties broken by class order, so the total is exactly n_test
    short = n_test - int(take.sum())
    if short > 0:
        order = np.argsort(-(ideal - take), kind="stable")
        take[order[:short]] += 1
    test = []
    for c, k in zip(classes, take):
        idx = np.flatnonzero(y == c)
        test.append(rng.permutation(idx)[:k])
    test_idx = np.sort(np.concatenate(test)) if test else np.zeros(0, np.int64)
    mask = np.ones(len(y), dtype=bool)
    mask[test_idx] = False
    return np.flatnonzero(mask), test_idx


def normalise_uint8(images: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 images ``(N, C, H, W)`` -> float32 ``(x / 255 - mean) / std`` per channel."""
    x = images.astype(np.float32)
    c = x.shape[1]
    if len(mean) != c or len(std) != c:
        raise DatasetError(f"normalisation constants have {len(mean)} channels, images have {c}")
    m = np.asarray(mean, np.float32).reshape(1, c, 1, 1)
    s = np.asarray(std, np.float32).reshape(1, c, 1, 1)
    x *= 1.0 / (255.0 * s)
    x -= m / s
    return torch.from_numpy(x)


def labels_tensor(y: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(y), dtype=torch.int64).reshape(-1)


def default_root() -> Path:
    """``$ALKIT_DATA`` when set, else ``~/.cache/alkit/data``."""
    env = os.environ.get("ALKIT_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "alkit" / "data"


def resolve_root(ds: str, root: object) -> Path:
    if root is None:
        return default_root()
    if not isinstance(root, (str, os.PathLike)):
        raise DatasetError(f"{ds}: option root must be a path, got {root!r}")
    return Path(root).expanduser()


def default_model_for_shape(shape: tuple[int, ...]) -> str:
    """``mlp`` for flat inputs, ``resnet18`` for 3-channel images, ``lenet`` for other images.

    Images smaller than the conv nets accept (lenet: H, W >= 16; resnet18: >= 8) get ``mlp``,
    which flattens any input.
    """
    if len(shape) != 3:
        return "mlp"
    c, h, w = shape
    if c == 3 and min(h, w) >= 8:
        return "resnet18"
    if min(h, w) >= 16:
        return "lenet"
    return "mlp"
