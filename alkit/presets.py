"""Per-dataset defaults: how the task model is trained and how big the AL rounds are.

Every strategy in a comparison trains with the same preset, so differences come from the queries.
The presets are sized for a CPU; the accuracies they reach are the README's benchmark tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alkit.learner import TrainConfig

__all__ = ["Preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """Defaults for one dataset."""

    train: TrainConfig
    initial: int
    query: int
    rounds: int
    model_params: dict[str, Any] = field(default_factory=dict)
    """Builder arguments of the dataset's default model (used only when the user picks neither)."""


# WAAL's LeNet drops half of its units twice; trained with Adam on a few thousand labels that
# under-fits (Fashion-MNIST, 6,000 random labels, 20 epochs: 0.819 with p=0.5/0.5, 0.858 with
# p=0.25/0.1). WAAL's own runs keep the paper's 0.5.
_LENET_LIGHT_DROPOUT = {"dropout": 0.25, "conv_dropout": 0.1}

_PRESETS: dict[str, Preset] = {
    "digits": Preset(TrainConfig(epochs=40, batch_size=32, min_steps=150, lr=2e-3), initial=20, query=20, rounds=10),
    "blobs": Preset(TrainConfig(epochs=40, batch_size=32, min_steps=150, lr=3e-3), initial=10, query=10, rounds=10),
    "moons": Preset(TrainConfig(epochs=40, batch_size=32, min_steps=200, lr=3e-3), initial=10, query=10, rounds=10),
    "sampling_bias": Preset(
        TrainConfig(epochs=40, batch_size=32, min_steps=200, lr=3e-3), initial=10, query=10, rounds=10
    ),
    "sampling_bias_layout": Preset(
        TrainConfig(epochs=40, batch_size=32, min_steps=200, lr=3e-3), initial=10, query=10, rounds=10
    ),
    "mnist5k": Preset(TrainConfig(epochs=20, batch_size=64, min_steps=300, lr=2e-3, lr_milestones=(0.5, 0.75)),
                      initial=100, query=100, rounds=10, model_params=_LENET_LIGHT_DROPOUT),
    "fashion_mnist": Preset(TrainConfig(epochs=20, batch_size=64, min_steps=600, lr=2e-3, lr_milestones=(0.5, 0.75)),
                            initial=1000, query=500, rounds=10, model_params=_LENET_LIGHT_DROPOUT),
    "mnist": Preset(TrainConfig(epochs=20, batch_size=64, min_steps=600, lr=2e-3, lr_milestones=(0.5, 0.75)),
                    initial=1000, query=500, rounds=10, model_params=_LENET_LIGHT_DROPOUT),
    "cifar10": Preset(TrainConfig(epochs=30, batch_size=128), initial=2000, query=2000, rounds=5),
    "svhn": Preset(TrainConfig(epochs=20, batch_size=128), initial=1000, query=1000, rounds=5),
}

_FALLBACK = Preset(TrainConfig(epochs=30, batch_size=64, min_steps=200), initial=20, query=20, rounds=10)


def get_preset(dataset: str) -> Preset:
    """The preset of ``dataset`` (a generic one for datasets without their own)."""
    return _PRESETS.get(dataset, _FALLBACK)
