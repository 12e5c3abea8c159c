"""Small set-ups several lessons share: a seeded generator, the view a run's next query sees, toy configs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from alkit.learner import TrainConfig
from alkit.loop import ALConfig, ALRun
from alkit.seeding import cpu_generator
from alkit.strategies import PoolView, Strategy

__all__ = ["gen", "pool_view", "toy_configs"]


def gen(seed: int = 0) -> torch.Generator:
    """A CPU generator seeded with ``seed``: the ``generator`` argument of ``strategy.query`` in a lesson."""
    return cpu_generator(seed)


def pool_view(run: ALRun, strategy: Strategy, seed: int = 1) -> PoolView:
    """The view ``strategy`` would get from ``run``'s current model (:meth:`ALRun.view_for`), MC passes seeded
    with ``seed``."""
    return run.view_for(strategy, mc_seed=seed)


def toy_configs(*, query: int, rounds: int, train: TrainConfig, initial: int = 10, dataset: str = "blobs",
                device: str = "cpu", seed: int = 0) -> Callable[..., ALConfig]:
    """A ``config(strategy, dataset=..., **strategy_params)`` maker for a lesson's toy runs.

    Every run of a lesson shares the budget, rounds, training and seed; only the strategy (and its
    parameters, or the dataset) changes, so differences between the runs come from the queries.
    """

    def config(strategy: str, dataset: str = dataset, **params: Any) -> ALConfig:
        return ALConfig(dataset=dataset, strategy=strategy, strategy_params=params, initial=initial, query=query,
                        rounds=rounds, train=train, device=device, seed=seed)

    return config
