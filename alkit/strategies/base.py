"""The strategy contract.

A strategy is a small class: the constructor stores hyperparameters and nothing else;
``needs`` says which tensors the loop must put in the :class:`PoolView`; ``query``
returns pool indices. Score-based strategies only implement :meth:`Strategy.score`
and inherit the seeded top-k selection.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from alkit.strategies._select import check_budget, top_k
from alkit.strategies._view import NEEDS, PoolView

__all__ = ["Strategy", "ScoreStrategy", "Selection", "TrainingHook"]


@dataclass
class Selection:
    """The result of one query.

    Attributes
    ----------
    indices : Tensor, int64, shape (b,)
        Pool indices, best first, distinct, all unlabeled. On the view's device.
    scores : Tensor or None, shape (b,)
        The acquisition value of each picked item (None for non-scoring strategies).
    timings : dict
        Seconds per phase measured inside the strategy (``score``, ``select``).
    extras : dict
        Per-round internals to store (e.g. DAL's proxy H-divergences), JSON-serialisable.
    """

    indices: torch.Tensor
    scores: torch.Tensor | None = None
    timings: dict[str, float] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


class TrainingHook:
    """How a strategy changes training: the one documented hook (WAAL's critic, LPL's loss module, CEAL's pseudo-labels).

    The loop never special-cases a strategy: each round it calls ``hook.fit(...)`` in place of
    ``learner.fit(...)`` when :meth:`Strategy.training_hook` returns a hook. The default
    implementation is plain supervised training, so a hook overrides only what it changes.
    """

    def fit(
        self,
        learner: Any,
        x_labeled: torch.Tensor,
        y_labeled: torch.Tensor,
        *,
        x_unlabeled: torch.Tensor,
        unlabeled_indices: torch.Tensor,
        seed: int,
        x_val: torch.Tensor | None = None,
        y_val: torch.Tensor | None = None,
    ) -> Any:
        """Train ``learner`` for this round; return its :class:`~alkit.learner.FitReport`.

        ``x_labeled`` / ``y_labeled`` hold the labeled set with the oracle's answers, ``x_unlabeled``
        the rest of the pool and ``unlabeled_indices`` (host, ascending) their pool indices.
        """
        return learner.fit(x_labeled, y_labeled, seed=seed, x_val=x_val, y_val=y_val)

    def round_extras(self) -> dict[str, Any]:
        """Internals of the last fit to store with the round (JSON-serialisable)."""
        return {}


class Strategy:
    """Base class of every query strategy.

    Subclasses set ``needs`` (a subset of :data:`alkit.strategies.NEEDS`) and implement
    :meth:`_select`. The constructor of a subclass only stores its hyperparameters, as
    keyword arguments with defaults, so :meth:`get_params` and ``repr`` show them.
    """

    name: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset()
    #: Number of MC-dropout passes the view must hold when ``"mc_probs"`` is needed.
    mc_samples: int = 0
    #: Whether ``alkit demo`` runs this strategy (cheap enough for digits on a CPU).
    in_demo: ClassVar[bool] = True
    #: True when state made by ``query`` feeds the next training (e.g. CEAL's pseudo-labels):
    #: ``ALRun.resume`` then replays the run from round 0 instead of retraining only the last round.
    replay_on_resume: ClassVar[bool] = False

    # --- introspection -----------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to the constructor (for the run store and ``repr``)."""
        return {p: getattr(self, p) for p in self.param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def required(self) -> frozenset[str]:
        """What the view must hold for this instance (may depend on hyperparameters)."""
        needs = frozenset(self.needs)
        bad = needs - NEEDS
        if bad:
            raise ValueError(f"{type(self).__name__} needs unknown view fields {sorted(bad)}")
        return needs

    def training_hook(self) -> TrainingHook | None:
        """A hook that changes training, or None (the default: training is untouched)."""
        return None

    # --- the contract --------------------------------------------------------------------
    def query(self, view: PoolView, budget: int, generator: torch.Generator | None = None) -> Selection:
        """Pick ``min(budget, N_U)`` distinct unlabeled pool indices.

        Parameters
        ----------
        view : PoolView
            Tensors about the pool, holding at least :meth:`required`.
        budget : int
            Number of items to query (``b``), ``>= 0``.
        generator : torch.Generator, optional
            Drives every random step; same seed, same indices. Must live on ``view.device``.
        """
        k = check_budget(budget, view.n_unlabeled)
        missing = [n for n in self.required() if not view.has(n)]
        if missing:
            raise ValueError(f"strategy {self.name!r} needs {sorted(missing)} in the pool view")
        if k == 0:
            empty = torch.empty(0, dtype=torch.long, device=view.device)
            return Selection(indices=empty, scores=None)
        return self._select(view, k, generator)

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        raise NotImplementedError


class ScoreStrategy(Strategy):
    """A strategy defined by a per-item acquisition score (larger = query first).

    Subclasses implement :meth:`score`; selection is the shared :func:`top_k`,
    with ties to the lowest pool index, or seeded random when ``tie_break="random"``.
    """

    tie_break: str = "index"

    def score(self, view: PoolView) -> torch.Tensor:
        """Acquisition values, shape (N_U,), aligned with ``view.unlabeled``."""
        raise NotImplementedError

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        if self.tie_break not in ("index", "random"):
            raise ValueError(f"tie_break must be 'index' or 'random', got {self.tie_break!r}")
        t0 = time.perf_counter()
        scores = self.score(view)
        if scores.shape != (view.n_unlabeled,):
            raise ValueError(
                f"{type(self).__name__}.score returned shape {tuple(scores.shape)}, expected ({view.n_unlabeled},)"
            )
        t1 = time.perf_counter()
        pos = top_k(scores, k, generator=generator if self.tie_break == "random" else None)
        t2 = time.perf_counter()
        return Selection(
            indices=view.unlabeled[pos], scores=scores[pos], timings={"score": t1 - t0, "select": t2 - t1}
        )
