"""The strategy contract.

A strategy is a small class: the constructor stores hyperparameters and nothing else;
``needs`` says which tensors the loop must put in the :class:`PoolView`; ``query``
returns pool indices. Score-based strategies only implement :meth:`Strategy.score`
and inherit the seeded top-k selection.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from alkit.strategies._select import check_budget, top_k
from alkit.strategies._view import NEEDS, PoolView

__all__ = ["RESUME_MODES", "Strategy", "ScoreStrategy", "Selection", "TrainingHook"]

#: How an attribute of :attr:`Strategy.resume_state` survives ``ALRun.resume``.
RESUME_MODES = ("store", "rebuilt", "replay")


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
    implementation is plain supervised training. A hook does not write a training loop: it passes a
    :class:`~alkit.learner.FitPlan` (what differs: extra modules, batches, the step's loss, the training
    set) to ``learner.fit(..., plan=...)``, the one loop with the shared validation, early-stopping and
    best-state rules, and reads the trained extra modules from ``report.modules``.
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
    #: Every instance attribute that is not a hyperparameter and outlives one call (state that crosses
    #: rounds), mapped to how :meth:`alkit.loop.ALRun.resume` gets it back; the one place where a
    #: strategy declares its state (``tests/test_resume_registry.py`` checks the declaration of every
    #: registered strategy against what its queries and fits leave on the instance):
    #:
    #: * ``"store"``: persisted with every committed round (:meth:`state_dict`, taken after the round's
    #:   query and before its training) and loaded into the fresh instance of a resumed run;
    #: * ``"rebuilt"``: recomputed identically without the store, by the training hook when resume
    #:   retrains the last complete round (a critic, a loss module, ensemble members) or on demand as a
    #:   pure function of the whole pool and the hyperparameters (ASAL's GAN cache);
    #: * ``"replay"``: resume replays the run from round 0 (every training and query, no oracle) and
    #:   checks that each replayed selection equals the stored one.
    resume_state: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        bad = {a: how for a, how in cls.resume_state.items() if how not in RESUME_MODES}
        if bad:
            raise ValueError(f"{cls.__qualname__}.resume_state: unknown modes {bad}; valid: {', '.join(RESUME_MODES)}")

    # --- state across rounds (see ``resume_state``) ----------------------------------------
    @property
    def replay_on_resume(self) -> bool:
        """Whether ``ALRun.resume`` must replay the run from round 0 (a ``"replay"`` attribute is declared)."""
        return "replay" in self.resume_state.values()

    def state_dict(self) -> dict[str, Any]:
        """The ``"store"`` attributes that are set on this instance (not copied; empty when none).

        Values must be what ``torch.load(..., weights_only=True)`` reads back: tensors, numbers,
        strings, None and lists / tuples / dicts of them. The loop saves a snapshot with every
        committed round; tensors come back on the CPU, so a strategy moves them to ``view.device`` on use.
        """
        return {a: self.__dict__[a] for a, how in self.resume_state.items() if how == "store" and a in self.__dict__}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` snapshot; a declared attribute missing from it goes back to its class default."""
        stored = [a for a, how in self.resume_state.items() if how == "store"]
        unknown = sorted(set(state) - set(stored))
        if unknown:
            raise ValueError(f"strategy {self.name!r} has no stored state {unknown}; its stored attributes: {stored}")
        for a in stored:
            if a in state:
                self.__dict__[a] = state[a]
            else:
                self.__dict__.pop(a, None)

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
        """Pick ``budget`` distinct unlabeled pool indices.

        Parameters
        ----------
        view : PoolView
            Tensors about the pool, holding at least :meth:`required` (validated when it was built).
        budget : int
            Number of items to query (``b``), ``1 <= budget <= N_U``; anything else is a ``ValueError``.
        generator : torch.Generator, optional
            Drives every random step; same seed, same indices. Must live on ``view.device``.
        """
        k = check_budget(budget, view.n_unlabeled)
        missing = [n for n in self.required() if not view.has(n)]
        if missing:
            raise ValueError(f"strategy {self.name!r} needs {sorted(missing)} in the pool view")
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
