"""What a strategy sees: tensors about the pool, never a dataset object or a hidden label."""

from __future__ import annotations

import pathlib
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


def _same_device(a: torch.device, b: torch.device) -> bool:
    """Same device type and index, an unset index (``cuda``) standing for the current device."""
    if a.type != b.type:
        return False
    if a.index is None or b.index is None:
        if a.type != "cuda":
            return True
        cur = torch.cuda.current_device() if torch.cuda.is_initialized() else 0
        return (cur if a.index is None else a.index) == (cur if b.index is None else b.index)
    return a.index == b.index


class MissingNeedError(AttributeError):
    """A strategy read a view field it did not declare in ``needs``."""


@dataclass
class PoolView:
    """The pool as a strategy sees it. All tensors live on ``device``.

    Building a view checks every field against its spec (:meth:`validate`: rank, length, dtype,
    device), so a malformed field fails here with its name and shapes rather than inside torch.

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
    cache_dir : pathlib.Path or None
        A folder where a strategy may cache one-off work across runs (ASAL's GAN and autoencoder under
        ``asal/``). The loop sets it to ``<workspace>/cache``; None (a view built by hand): keep such work
        in memory only. Strategies get the folder here and never look up the workspace themselves.
    """

    unlabeled: torch.Tensor
    labeled: torch.Tensor
    num_classes: int
    device: torch.device
    _fields: dict[str, Any] = field(default_factory=dict, repr=False)
    round: int | None = None
    cache_dir: pathlib.Path | None = None

    def __post_init__(self) -> None:
        unknown = set(self._fields) - NEEDS
        if unknown:
            raise ValueError(f"unknown view fields {sorted(unknown)}; valid: {sorted(NEEDS)}")
        self.device = torch.device(self.device)
        self.validate()

    # --- validation: shapes, dtypes and devices only (metadata, so no host sync) ------------
    def _check_tensor(self, name: str, t: Any, *, rank: int | None = None, min_rank: int | None = None,
                      length: tuple[str, int] | None = None, kind: str = "float", spec: str = "") -> None:
        """One field against its spec: a tensor of ``rank`` (or >= ``min_rank``), ``length`` rows, dtype, device."""
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"view field {name!r} must be a torch.Tensor {spec}, got {type(t).__name__}")
        shape = tuple(t.shape)
        if (rank is not None and t.dim() != rank) or (min_rank is not None and t.dim() < min_rank):
            raise ValueError(f"view field {name!r} must have shape {spec}, got {shape} ({t.dim()}-D)")
        if length is not None and (t.dim() == 0 or shape[0] != length[1]):
            raise ValueError(f"view field {name!r} must have shape {spec} with {length[0]} = {length[1]} rows, "
                             f"got {shape}")
        if kind == "float" and not torch.is_floating_point(t):
            raise TypeError(f"view field {name!r} {spec} must be floating point, got {t.dtype}")
        if kind == "int64" and t.dtype != torch.int64:
            raise TypeError(f"view field {name!r} {spec} must be int64, got {t.dtype}")
        if not _same_device(t.device, self.device):
            raise ValueError(f"view field {name!r} {shape} is on {t.device}, the view's device is {self.device}")

    def validate(self) -> None:
        """Check every field against its spec (run when the view is built).

        ``unlabeled`` / ``labeled``: 1-D int64. ``probs`` (N_U, K) and ``mc_probs`` (T, N_U, K) float with
        K = ``num_classes`` (when set); ``embeddings`` (N_U, d), ``labeled_embeddings`` (N_L, d) float (same
        d); ``grad_factors`` a pair of float (N_U, K), (N_U, d'); ``inputs`` (N_U, ...), ``labeled_inputs``
        (N_L, ...) float (same item shape); ``labeled_targets`` (N_L,) int64; ``model`` an ``nn.Module``.
        Every tensor on ``device``. Only shapes, dtypes and devices are read: no host sync.

        Raises
        ------
        ValueError
            A wrong rank, length or device, naming the field and the shapes.
        TypeError
            A wrong type or dtype.
        """
        for name in ("unlabeled", "labeled"):
            self._check_tensor(name, getattr(self, name), rank=1, kind="int64", spec=f"(N_{name[0].upper()},)")
        n_u, n_l = ("N_U", int(self.unlabeled.shape[0])), ("N_L", int(self.labeled.shape[0]))
        f = self._fields
        k = int(self.num_classes)

        def check_k(name: str, t: torch.Tensor, spec: str) -> None:
            if k > 0 and t.shape[-1] != k:
                raise ValueError(f"view field {name!r} must have shape {spec} with K = num_classes = {k}, "
                                 f"got {tuple(t.shape)}")

        if "probs" in f:
            self._check_tensor("probs", f["probs"], rank=2, length=n_u, spec="(N_U, K)")
            check_k("probs", f["probs"], "(N_U, K)")
        if "mc_probs" in f:
            t = f["mc_probs"]
            self._check_tensor("mc_probs", t, rank=3, spec="(T, N_U, K)")
            if t.shape[1] != n_u[1]:
                raise ValueError(f"view field 'mc_probs' must have shape (T, N_U, K) with N_U = {n_u[1]}, "
                                 f"got {tuple(t.shape)}")
            check_k("mc_probs", t, "(T, N_U, K)")
        if "embeddings" in f:
            self._check_tensor("embeddings", f["embeddings"], rank=2, length=n_u, spec="(N_U, d)")
        if "labeled_embeddings" in f:
            t = f["labeled_embeddings"]
            self._check_tensor("labeled_embeddings", t, rank=2, length=n_l, spec="(N_L, d)")
            if "embeddings" in f and t.shape[1] != f["embeddings"].shape[1]:
                raise ValueError(f"view fields 'labeled_embeddings' {tuple(t.shape)} and 'embeddings' "
                                 f"{tuple(f['embeddings'].shape)} must have the same feature size d")
        if "grad_factors" in f:
            g = f["grad_factors"]
            if not isinstance(g, (tuple, list)) or len(g) != 2:
                raise TypeError("view field 'grad_factors' must be a pair (a (N_U, K), e (N_U, d')), "
                                f"got {type(g).__name__}{'' if not isinstance(g, (tuple, list)) else f' of {len(g)}'}")
            self._check_tensor("grad_factors[0]", g[0], rank=2, length=n_u, spec="(N_U, K)")
            check_k("grad_factors[0]", g[0], "(N_U, K)")
            self._check_tensor("grad_factors[1]", g[1], rank=2, length=n_u, spec="(N_U, d')")
        if "inputs" in f:
            self._check_tensor("inputs", f["inputs"], min_rank=2, length=n_u, spec="(N_U, *input_shape)")
        if "labeled_inputs" in f:
            t = f["labeled_inputs"]
            self._check_tensor("labeled_inputs", t, min_rank=2, length=n_l, spec="(N_L, *input_shape)")
            if "inputs" in f and tuple(t.shape[1:]) != tuple(f["inputs"].shape[1:]):
                raise ValueError(f"view fields 'labeled_inputs' {tuple(t.shape)} and 'inputs' "
                                 f"{tuple(f['inputs'].shape)} must have the same item shape")
        if "labeled_targets" in f:
            self._check_tensor("labeled_targets", f["labeled_targets"], rank=1, length=n_l, kind="int64",
                               spec="(N_L,)")
        if "model" in f:
            m = f["model"]
            if not isinstance(m, torch.nn.Module):
                raise TypeError(f"view field 'model' must be a torch.nn.Module, got {type(m).__name__}")
            p = next(iter(m.parameters()), None)
            if p is not None and not _same_device(p.device, self.device):
                raise ValueError(f"view field 'model' has parameters on {p.device}, the view's device is "
                                 f"{self.device}")

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
