"""alkit — an interactive teaching kit for deep active learning.

>>> import alkit
>>> run = alkit.run_active_learning(alkit.ALConfig(dataset="digits", strategy="entropy"))  # doctest: +SKIP
>>> [round(h.accuracy, 3) for h in run.history]  # doctest: +SKIP
"""

__version__ = "0.1.0"

from alkit import data, models, strategies  # noqa: E402  (registries fill on import)
from alkit.data import ALDataset, list_datasets, load_dataset  # noqa: E402
from alkit.device import resolve_device  # noqa: E402
from alkit.learner import Learner, TrainConfig  # noqa: E402
from alkit.loop import ALConfig, ALRun, Event, RoundResult, build_view, run_active_learning  # noqa: E402
from alkit.metrics import aubc, bootstrap_ci, f_acc, labels_saved, win_tie_loss  # noqa: E402
from alkit.models import get_model, list_models  # noqa: E402
from alkit.store import RunStore  # noqa: E402
from alkit.strategies import PoolView, Strategy, get_strategy, list_strategies, register_strategy  # noqa: E402

__all__ = [
    "ALConfig",
    "ALDataset",
    "ALRun",
    "Event",
    "Learner",
    "PoolView",
    "RoundResult",
    "RunStore",
    "Strategy",
    "TrainConfig",
    "aubc",
    "bootstrap_ci",
    "build_view",
    "data",
    "f_acc",
    "get_model",
    "get_strategy",
    "labels_saved",
    "list_datasets",
    "list_models",
    "list_strategies",
    "load_dataset",
    "models",
    "register_strategy",
    "resolve_device",
    "run_active_learning",
    "run_comparison",
    "strategies",
    "sweep",
    "SweepSpec",
    "win_tie_loss",
]


def __getattr__(name: str):  # the experiment driver loads on first use: importing alkit loads only the core
    if name == "run_comparison":
        from alkit.experiments.compare import run_comparison

        return run_comparison
    if name in ("sweep", "SweepSpec"):
        from alkit.experiments import sweep as _sweep

        return getattr(_sweep, name)
    raise AttributeError(f"module 'alkit' has no attribute {name!r}")
