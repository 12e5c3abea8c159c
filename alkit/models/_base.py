"""The model contract and the model registry.

Every alkit model is an :class:`ALModel`: an ``extractor`` (input -> features, the
embedding strategies and critics see) followed by a ``head`` (features -> logits)
whose last module is the classifier ``nn.Linear`` and which holds a dropout layer
before it. This split gives embeddings, last-layer gradient factors and the
deterministic prefix for MC dropout without model-specific code.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

import torch
from torch import nn

__all__ = ["ALModel", "ModelError", "register_model", "list_models", "get_model", "has_dropout"]


class ModelError(ValueError):
    """A model name, shape or class count is invalid; the message names it."""


_DROPOUT = nn.modules.dropout._DropoutNd


def has_dropout(module: nn.Module) -> bool:
    """True when ``module`` contains at least one dropout layer."""
    return any(isinstance(m, _DROPOUT) for m in module.modules())


class ALModel(nn.Module):
    """Base class: ``forward(x) == head(extractor(x))``.

    Parameters
    ----------
    extractor : nn.Sequential
        Maps inputs ``(B, *input_shape)`` to features ``(B, feature_dim)``.
    head : nn.Sequential
        Maps features to logits ``(B, num_classes)``; its last module is an ``nn.Linear``.
    input_shape : tuple of int
        Shape of one input, without the batch axis.
    num_classes : int
        Number of output classes.
    """

    def __init__(self, extractor: nn.Sequential, head: nn.Sequential, input_shape: tuple[int, ...], num_classes: int):
        super().__init__()
        if not isinstance(head[-1], nn.Linear):
            raise ModelError("the last module of an ALModel head must be nn.Linear (the classifier)")
        if head[-1].out_features != num_classes:
            raise ModelError(f"head outputs {head[-1].out_features} classes, expected {num_classes}")
        self.extractor = extractor
        self.head = head
        self.input_shape = tuple(input_shape)
        self.num_classes = int(num_classes)

    @property
    def feature_dim(self) -> int:
        """Width of ``features(x)``."""
        for m in self.head.modules():
            if isinstance(m, nn.Linear):
                return m.in_features
        raise ModelError("head has no Linear layer")  # pragma: no cover - guarded in __init__

    @property
    def classifier(self) -> nn.Linear:
        """The last linear layer (for BADGE's gradient factors)."""
        return self.head[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.extractor(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Embedding ``(B, feature_dim)``: the extractor's output."""
        return self.extractor(x)

    def penultimate(self, feats: torch.Tensor) -> torch.Tensor:
        """Input of the classifier layer ``(B, classifier.in_features)`` given features."""
        return self.head[:-1](feats)

    def layers(self) -> list[nn.Module]:
        """All top-level layers in order: extractor then head."""
        return list(self.extractor) + list(self.head)

    def mc_split(self) -> tuple[nn.Sequential, nn.Sequential]:
        """Split at the first dropout layer into (deterministic prefix, stochastic suffix).

        MC dropout runs the prefix once and repeats only the suffix ``T`` times.
        Raises :class:`ModelError` when the model has no dropout at all.
        """
        layers = self.layers()
        for i, layer in enumerate(layers):
            if has_dropout(layer):
                return nn.Sequential(*layers[:i]), nn.Sequential(*layers[i:])
        raise ModelError(
            f"{type(self).__name__} has no dropout layer, so MC-dropout passes would all be identical; "
            "use a model with dropout (every alkit model has one before its classifier)"
        )


_MODELS: dict[str, Callable[..., ALModel]] = {}


def register_model(name: str) -> Callable[[Callable[..., ALModel]], Callable[..., ALModel]]:
    """Decorator registering ``builder(input_shape, num_classes, **kw) -> ALModel`` under ``name``."""

    def deco(fn: Callable[..., ALModel]) -> Callable[..., ALModel]:
        if name in _MODELS:
            raise ValueError(f"model {name!r} is already registered")
        _MODELS[name] = fn
        return fn

    return deco


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_MODELS)


def get_model(name: str, input_shape: tuple[int, ...], num_classes: int, **kwargs) -> ALModel:
    """Build a fresh, randomly initialised model by name (use ``torch.manual_seed`` or a fork for seeding)."""
    if name not in _MODELS:
        close = difflib.get_close_matches(name, list(_MODELS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ModelError(f"unknown model {name!r}.{hint} Valid names: {', '.join(list_models())}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ModelError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    return _MODELS[name](tuple(input_shape), num_classes, **kwargs)
