"""Query strategies: the registry, the contract, and every built-in strategy.

>>> from alkit.strategies import list_strategies, get_strategy
>>> get_strategy("entropy")
EntropySampling(tie_break='index')
"""

# Importing the family modules registers their strategies.
from alkit.strategies import (  # noqa: F401
    adversarial,
    asal,
    bayesian,
    dal,
    diversity,
    lowbudget,
    training,
    uncertainty,
    vaal,
    waal,
)
from alkit.strategies._registry import (
    UnknownStrategyError,
    get_strategy,
    get_strategy_class,
    list_strategies,
    register_strategy,
)
from alkit.strategies._select import check_budget, top_k
from alkit.strategies._view import NEEDS, MissingNeedError, PoolView
from alkit.strategies.base import ScoreStrategy, Selection, Strategy, TrainingHook
from alkit.strategies.scores import (
    entropy,
    entropy_scores,
    least_conf_scores,
    margin_scores,
    var_ratio_mc_scores,
    var_ratio_scores,
)

__all__ = [
    "NEEDS",
    "MissingNeedError",
    "PoolView",
    "ScoreStrategy",
    "Selection",
    "Strategy",
    "TrainingHook",
    "UnknownStrategyError",
    "check_budget",
    "entropy",
    "entropy_scores",
    "get_strategy",
    "get_strategy_class",
    "least_conf_scores",
    "list_strategies",
    "margin_scores",
    "register_strategy",
    "top_k",
    "var_ratio_mc_scores",
    "var_ratio_scores",
]
