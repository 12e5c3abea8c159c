"""Strategy registry: one place where strategy names live (like torchvision's model registry)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["register_strategy", "list_strategies", "get_strategy", "get_strategy_class", "UnknownStrategyError"]

_STRATEGIES: dict[str, type] = {}
T = TypeVar("T", bound=type)


class UnknownStrategyError(ValueError):
    """An unknown strategy name; the message lists the registered ones."""


def register_strategy(name: str) -> Callable[[T], T]:
    """Class decorator: register a :class:`~alkit.strategies.Strategy` subclass under ``name``."""
    if not name or name != name.lower() or not name.replace("_", "").isalnum():
        raise ValueError(f"strategy names are snake_case, got {name!r}")

    def deco(cls: T) -> T:
        if name in _STRATEGIES:
            raise ValueError(f"strategy {name!r} is already registered (by {_STRATEGIES[name].__qualname__})")
        cls.name = name  # type: ignore[attr-defined]
        _STRATEGIES[name] = cls
        return cls

    return deco


def list_strategies() -> list[str]:
    """Registered strategy names, sorted."""
    return sorted(_STRATEGIES)


def get_strategy_class(name: str) -> type:
    if name not in _STRATEGIES:
        close = difflib.get_close_matches(name, list(_STRATEGIES), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownStrategyError(f"unknown strategy {name!r}.{hint} Valid names: {', '.join(list_strategies())}")
    return _STRATEGIES[name]


def get_strategy(name: str, **hyperparams: Any):
    """Instantiate a registered strategy with its hyperparameters (unknown ones raise ``TypeError``)."""
    cls = get_strategy_class(name)
    try:
        return cls(**hyperparams)
    except TypeError as exc:
        raise TypeError(f"strategy {name!r}: {exc}. Its hyperparameters: {cls.param_names()}") from None
