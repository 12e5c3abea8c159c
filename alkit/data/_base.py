"""The dataset record every loader returns, and the dataset registry.

A dataset in alkit is plain tensors plus metadata: strategies never see a
dataset object, the loop only slices these tensors by pool index.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

__all__ = [
    "ALDataset",
    "DatasetError",
    "register_dataset",
    "list_datasets",
    "load_dataset",
    "validate_tensors",
]


class DatasetError(ValueError):
    """A dataset could not be loaded or is malformed; the message names the problem and the fix."""


@dataclass
class ALDataset:
    """Tensors and metadata of one dataset.

    Attributes
    ----------
    name : str
        Registry name (or a user-given name for bring-your-own data).
    x_train : Tensor, float32, shape (N, *input_shape)
        The pool. Images are already normalised with ``mean`` / ``std``.
    y_train : Tensor, int64, shape (N,)
        Pool labels; the loop hands them to the oracle, never to a strategy.
    x_test, y_test : Tensor
        Held-out evaluation split, same layout as the pool.
    class_names : list of str
        One name per class; ``num_classes == len(class_names)``.
    default_model : str
        Name in the model registry that suits this input shape.
    x_val, y_val : Tensor or None
        Optional fixed validation split (e.g. WAAL's 20K Fashion-MNIST split).
    mean, std : tuple of float or None
        Per-channel normalisation applied to images (to undo it for display).
    info : dict
        Free-form provenance (source path, split sizes, ...).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: list[str]
    default_model: str
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_tensors(self.x_train, self.y_train, len(self.class_names), f"{self.name} train")
        validate_tensors(self.x_test, self.y_test, len(self.class_names), f"{self.name} test")
        if self.x_val is not None:
            if self.y_val is None:
                raise DatasetError(f"{self.name}: x_val given without y_val")
            validate_tensors(self.x_val, self.y_val, len(self.class_names), f"{self.name} val")
        if tuple(self.x_test.shape[1:]) != tuple(self.x_train.shape[1:]):
            raise DatasetError(
                f"{self.name}: test inputs have shape {tuple(self.x_test.shape[1:])}, "
                f"train inputs {tuple(self.x_train.shape[1:])}"
            )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def is_image(self) -> bool:
        return self.x_train.dim() == 4

    def __repr__(self) -> str:  # short: tensors would flood a notebook
        val = "" if self.x_val is None else f", val={len(self.x_val)}"
        return (
            f"ALDataset({self.name!r}, pool={len(self.x_train)}, test={len(self.x_test)}{val}, "
            f"input_shape={self.input_shape}, classes={self.num_classes}, model={self.default_model!r})"
        )


def validate_tensors(x: torch.Tensor, y: torch.Tensor, num_classes: int, what: str) -> None:
    """Check shapes, dtypes, finiteness and label range; raise :class:`DatasetError` naming the problem."""
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise DatasetError(f"{what}: inputs and labels must be torch tensors, got {type(x).__name__}, {type(y).__name__}")
    if not torch.is_floating_point(x):
        raise DatasetError(f"{what}: inputs must be floating point, got dtype {x.dtype}")
    if y.dtype != torch.int64:
        raise DatasetError(f"{what}: labels must be int64, got dtype {y.dtype}")
    if x.dim() < 2:
        raise DatasetError(f"{what}: inputs must have shape (N, ...), got {tuple(x.shape)}")
    if y.dim() != 1 or len(y) != len(x):
        raise DatasetError(f"{what}: labels must have shape ({len(x)},), got {tuple(y.shape)}")
    if len(x) and not bool(torch.isfinite(x).all()):
        raise DatasetError(f"{what}: inputs contain NaN or inf")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise DatasetError(
            f"{what}: labels must lie in [0, {num_classes - 1}] for {num_classes} classes, "
            f"got range [{int(y.min())}, {int(y.max())}]"
        )


_DATASETS: dict[str, Callable[..., ALDataset]] = {}


def register_dataset(name: str) -> Callable[[Callable[..., ALDataset]], Callable[..., ALDataset]]:
    """Decorator registering a loader ``fn(**options) -> ALDataset`` under ``name``."""

    def deco(fn: Callable[..., ALDataset]) -> Callable[..., ALDataset]:
        if name in _DATASETS:
            raise ValueError(f"dataset {name!r} is already registered")
        _DATASETS[name] = fn
        return fn

    return deco


def list_datasets() -> list[str]:
    """Registered dataset names, sorted."""
    return sorted(_DATASETS)


def load_dataset(name: str, **options) -> ALDataset:
    """Load a registered dataset by name; unknown names list the valid ones."""
    if name not in _DATASETS:
        close = difflib.get_close_matches(name, list(_DATASETS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DatasetError(f"unknown dataset {name!r}.{hint} Valid names: {', '.join(list_datasets())}")
    return _DATASETS[name](**options)
