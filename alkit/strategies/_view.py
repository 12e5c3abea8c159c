"""What a strategy sees: tensors about the pool, never a dataset object or a hidden label."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["PoolView", "NEEDS", "MissingNeedError"]

#: Everything a strategy may declare in ``needs``.
NEEDS = frozenset(
    {
        "probs",  # (N_U, K) softmax probabilities, eval mode
        "mc_probs",  # (T, N_U, K) MC-dropout probabilities (only dropout layers stochastic)
        "embeddings",  # (N_U, d) model features of unlabeled items
        "labeled_embeddings",  # (N_L, d) model features of labeled items
        "grad_factors",  # ((N_U, K) p - onehot(argmax p), (N_U, d') classifier input): BADGE's factors
        "inputs",  # (N_U, *input_shape) raw (normalised) inputs
        "labeled_inputs",  # (N_L, *input_shape)
        "labeled_targets",  # (N_L,) labels the oracle gave for the labeled set
        "model",  # the trained task model, eval mode (adversarial strategies)
    }
)


class MissingNeedError(AttributeError):
    """A strategy read a view field it did not declare in ``needs``."""


@dataclass
class PoolView:
    """The pool as a strategy sees it. All tensors live on ``device``.

    Attributes
    ----------
    unlabeled : Tensor, int64, shape (N_U,)
        Pool indices of the unlabeled items, ascending. Row ``i`` of every
        per-item tensor below belongs to pool index ``unlabeled[i]``.
    labeled : Tensor, int64, shape (N_L,)
        Pool indices of the labeled items, ascending.
    num_classes : int
    device : torch.device
    round : int or None
        The AL round this query is for (1 = first query), set by the loop; None outside a run.
    """

    unlabeled: torch.Tensor
    labeled: torch.Tensor
    num_classes: int
    device: torch.device
    _fields: dict[str, Any] = field(default_factory=dict, repr=False)
    round: int | None = None

    def __post_init__(self) -> None:
        unknown = set(self._fields) - NEEDS
        if unknown:
            raise ValueError(f"unknown view fields {sorted(unknown)}; valid: {sorted(NEEDS)}")

    @property
    def n_unlabeled(self) -> int:
        return int(self.unlabeled.numel())

    @property
    def n_labeled(self) -> int:
        return int(self.labeled.numel())

    def has(self, name: str) -> bool:
        return name in self._fields

    def get(self, name: str) -> Any:
        if name not in self._fields:
            raise MissingNeedError(
                f"the pool view has no {name!r}: declare it in the strategy's `needs` "
                f"(the view holds only {sorted(self._fields) or 'indices'})"
            )
        return self._fields[name]

    # Typed accessors, one per need, so strategy code reads naturally.
    probs = property(lambda self: self.get("probs"))
    mc_probs = property(lambda self: self.get("mc_probs"))
    embeddings = property(lambda self: self.get("embeddings"))
    labeled_embeddings = property(lambda self: self.get("labeled_embeddings"))
    grad_factors = property(lambda self: self.get("grad_factors"))
    inputs = property(lambda self: self.get("inputs"))
    labeled_inputs = property(lambda self: self.get("labeled_inputs"))
    labeled_targets = property(lambda self: self.get("labeled_targets"))
    model = property(lambda self: self.get("model"))

    @classmethod
    def from_tensors(
        cls,
        unlabeled: torch.Tensor,
        labeled: torch.Tensor | None = None,
        num_classes: int | None = None,
        **fields: Any,
    ) -> PoolView:
        """Build a view directly from tensors (tests, notebooks, benchmarks).

        ``num_classes`` defaults to the last axis of ``probs`` / ``mc_probs`` when given.
        """
        device = unlabeled.device
        if labeled is None:
            labeled = torch.empty(0, dtype=torch.long, device=device)
        if num_classes is None:
            for key in ("probs", "mc_probs"):
                if key in fields:
                    num_classes = int(fields[key].shape[-1])
                    break
            else:
                num_classes = 0
        return cls(unlabeled=unlabeled, labeled=labeled, num_classes=num_classes, device=device, _fields=fields)
