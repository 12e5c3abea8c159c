"""The active-learning loop, readable top to bottom.

    seed set ─► train ─► evaluate ─► log round 0
    repeat:  view ─► query ─► oracle ─► train ─► evaluate ─► log round r

Every random step draws from a generator seeded by (run seed, round, phase) and a strategy's
state that crosses rounds is stored with each round or rebuilt (``Strategy.resume_state``), so a
run killed mid-round and resumed from the store ends with exactly the selections of an
uninterrupted run. Observers (notebooks, the dashboard) subscribe to :class:`Event`s.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch

from alkit.data import ALDataset, load_dataset
from alkit.device import Timer, deterministic_algorithms, resolve_device
from alkit.learner import Learner, TrainConfig
from alkit.metrics import per_class_accuracy
from alkit.oracle import Oracle, make_oracle
from alkit.presets import get_preset
from alkit.seeding import make_generator, seed_for
from alkit.store.workspace import cache_dir as workspace_cache_dir
from alkit.strategies import NEEDS, PoolView, Strategy, get_strategy
from alkit.strategies.base import TrainingHook

__all__ = ["ALConfig", "ALRun", "Event", "RoundResult", "build_view", "pack_strategy_state", "run_active_learning",
           "unpack_strategy_state"]


@dataclass
class ALConfig:
    """One active-learning experiment. ``None`` fields take the dataset's preset."""

    dataset: str = "digits"
    """Dataset registry name (``alkit datasets`` lists them)."""
    strategy: str = "entropy"
    """Strategy registry name (``alkit strategies`` lists them)."""
    strategy_params: dict[str, Any] = field(default_factory=dict)
    """Hyperparameters of the strategy."""
    model: str | None = None
    """Model registry name; default: the dataset's default model."""
    model_params: dict[str, Any] = field(default_factory=dict)
    """Extra arguments of the model builder."""
    dataset_params: dict[str, Any] = field(default_factory=dict)
    """Extra arguments of the dataset loader (``root``, ``waal_split``, ...)."""
    initial: int | None = None
    """Size of the initial labeled set."""
    initial_mode: str = "random"
    """``random``, ``balanced`` (equal per class) or ``dataset`` (the dataset's suggested biased seed set)."""
    query: int | None = None
    """Items queried per round (the AL batch size b)."""
    rounds: int | None = None
    """Number of query rounds after round 0."""
    seed: int = 0
    """Seed of every random step (initial set, weights, shuffling, dropout, queries)."""
    oracle: str = "ideal"
    """``ideal`` or ``noisy``; ``human`` records that a person answered (the run is then given its
    :class:`~alkit.app.worker.HumanOracle` as ``oracle=``; see :func:`alkit.oracle.make_oracle`)."""
    noise_rate: float = 0.0
    """Probability that the noisy oracle answers a wrong class."""
    device: str = "auto"
    """``auto`` (cuda → mps → cpu), ``cpu``, ``cuda``."""
    train: TrainConfig | None = None
    """How the task model is trained each round."""
    store_embeddings: int = 0
    """Store float16 embeddings of up to this many pool items per round (for the dashboard); 0 = none."""
    theory_terms: bool = False
    """Measure the bound terms each round (labeled risk, test error, proxy H-divergence and W1 between labeled
    and unlabeled embeddings; :func:`alkit.theory.theory_terms`) into ``extras["theory"]``."""
    deterministic: bool = False
    """Deterministic kernels on CUDA (same seed, same picks there too): ``torch.use_deterministic_algorithms``,
    deterministic cuDNN and ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` while a round runs (restored after it; the
    environment variable stays set). Slower on CUDA, cost measured by ``make gpu-check``; CPU runs replay
    exactly without it. See :func:`alkit.device.deterministic_algorithms`."""

    def resolved(self) -> ALConfig:
        """A copy with every ``None`` replaced by the dataset preset, validated."""
        preset = get_preset(self.dataset)
        c = ALConfig(**{f.name: getattr(self, f.name) for f in fields(self)})
        c.train = TrainConfig(**preset.train.to_dict()) if c.train is None else c.train
        if c.model is None and not c.model_params:
            c.model_params = dict(preset.model_params)
        c.initial = preset.initial if c.initial is None else c.initial
        c.query = preset.query if c.query is None else c.query
        c.rounds = preset.rounds if c.rounds is None else c.rounds
        c.validate()
        return c

    def validate(self) -> None:
        for name in ("initial", "query", "rounds"):
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{name} must be an integer, got {v!r}")
        if self.initial is not None and self.initial < 1:
            raise ValueError(f"initial must be >= 1, got {self.initial}")
        if self.query is not None and self.query < 1:
            raise ValueError(f"the query budget per round must be >= 1, got {self.query}")
        if self.rounds is not None and self.rounds < 0:
            raise ValueError(f"rounds must be >= 0, got {self.rounds}")
        if self.initial_mode not in ("random", "balanced", "dataset"):
            raise ValueError(f"initial_mode must be random, balanced or dataset, got {self.initial_mode!r}")
        if self.oracle not in ("ideal", "noisy", "human"):
            raise ValueError(f"oracle must be ideal, noisy or human, got {self.oracle!r}")
        if not 0.0 <= self.noise_rate <= 1.0:
            raise ValueError(f"noise_rate must be in [0, 1], got {self.noise_rate}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.deterministic, bool):
            raise ValueError(f"deterministic must be True or False, got {self.deterministic!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["train"] = None if self.train is None else self.train.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ALConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown ALConfig fields {sorted(unknown)}; valid: {sorted(known)}")
        d = dict(d)
        if isinstance(d.get("train"), dict):
            d["train"] = TrainConfig.from_dict(d["train"])
        return cls(**d)


@dataclass
class Event:
    """Something that happened in a live run: ``run_start``, ``phase``, ``round_end``, ``run_end``, ``error``."""

    kind: str
    run_id: str | None
    round: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class RoundResult:
    """Metrics of one round (round 0 = model trained on the initial set)."""

    round: int
    n_labeled: int
    accuracy: float
    per_class_accuracy: list[float]
    selected: list[int]
    scores: list[float] | None
    timings: dict[str, float]
    extras: dict[str, Any]


def build_view(
    needs: frozenset[str],
    learner: Learner,
    dataset: ALDataset,
    labeled: torch.Tensor,
    unlabeled: torch.Tensor,
    labels: torch.Tensor,
    *,
    mc_samples: int = 0,
    seed: int = 0,
    round_idx: int | None = None,
    cache_dir: Any = None,
) -> PoolView:
    """Build exactly the pool view a strategy declared (never labels of unlabeled items).

    ``labeled`` / ``unlabeled`` are ascending host index tensors; ``labels`` holds the
    oracle's answers for the whole pool (``-1`` where unknown). ``cache_dir`` becomes
    :attr:`PoolView.cache_dir <alkit.strategies.PoolView>` (the loop passes ``<workspace>/cache``).
    From a run, :meth:`ALRun.view_for` builds the view the run's next query would see.
    """
    dev = learner.device
    fields_: dict[str, Any] = {}
    x_u = dataset.x_train[unlabeled]
    wanted = needs & {"probs", "embeddings", "grad_factors"}
    if wanted:
        fields_.update(learner.infer(x_u, wanted))
    if "mc_probs" in needs:
        fields_["mc_probs"] = learner.mc_probs(x_u, mc_samples, seed=seed)
    if "labeled_embeddings" in needs:
        fields_["labeled_embeddings"] = learner.embed(dataset.x_train[labeled])
    if "inputs" in needs:
        fields_["inputs"] = x_u.to(dev)
    if "labeled_inputs" in needs:
        fields_["labeled_inputs"] = dataset.x_train[labeled].to(dev)
    if "labeled_targets" in needs:
        fields_["labeled_targets"] = labels[labeled].to(dev)
    if "model" in needs:
        fields_["model"] = learner.model
    return PoolView(
        unlabeled=unlabeled.to(dev),
        labeled=labeled.to(dev),
        num_classes=dataset.num_classes,
        device=dev,
        _fields=fields_,
        round=round_idx,
        cache_dir=cache_dir,
    )


def _in_deterministic_mode(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run an :class:`ALRun` method under ``deterministic_algorithms(self.config.deterministic)``."""

    @functools.wraps(method)
    def wrapper(self: ALRun, *args: Any, **kwargs: Any) -> Any:
        with deterministic_algorithms(self.config.deterministic):
            return method(self, *args, **kwargs)

    return wrapper


class ALRun:
    """A live active-learning run that can be stepped one round at a time.

    Parameters
    ----------
    config : ALConfig
    store : RunStore, optional
        Where rounds are committed (atomically, one transaction per round).
    dataset : ALDataset, optional
        A pre-loaded dataset (default: load ``config.dataset``).
    callbacks : sequence of callables
        Each receives every :class:`Event` while the run is live.
    initial_indices : sequence of int, optional
        An explicit seed set; overrides ``initial_mode``.
    initial_predicate : callable, optional
        ``predicate(x_train, y_train) -> bool mask``: a biased seed set drawn at random (seeded)
        among the items where the mask is true, e.g. ``lambda x, y: y < 5`` for "only classes 0-4".
    """

    def __init__(
        self,
        config: ALConfig,
        *,
        store: Any = None,
        dataset: ALDataset | None = None,
        callbacks: Sequence[Callable[[Event], None]] = (),
        initial_indices: Sequence[int] | None = None,
        initial_predicate: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        oracle: Oracle | None = None,
        run_id: str | None = None,
    ) -> None:
        self.config = config.resolved()
        c = self.config
        self.dataset = dataset if dataset is not None else load_dataset(c.dataset, **c.dataset_params)
        ds = self.dataset
        if c.initial > len(ds.x_train):  # type: ignore[operator]
            raise ValueError(f"the initial set ({c.initial}) is larger than the pool ({len(ds.x_train)} items)")
        self.strategy: Strategy = get_strategy(c.strategy, **c.strategy_params)
        self.needs = self.strategy.required()
        self.device = resolve_device(c.device)
        model = c.model or ds.default_model
        self.learner = Learner(model, ds.input_shape, ds.num_classes, c.train, self.device, c.model_params)
        if c.train.validation == "dataset" and ds.x_val is None:  # type: ignore[union-attr]
            raise ValueError(f"validation='dataset' but {ds.name} has no validation split")
        self.oracle = oracle or make_oracle(c.oracle, ds.y_train, ds.num_classes, rate=c.noise_rate, seed=c.seed)
        self.hook: TrainingHook = self.strategy.training_hook() or TrainingHook()
        self.callbacks = list(callbacks)
        self.store = store
        self.run_id = run_id
        #: Where strategies may cache one-off work (PoolView.cache_dir): the store's workspace, else the default one.
        self.cache_dir = workspace_cache_dir(getattr(store, "workspace", None))
        self._initial_override = None if initial_indices is None else list(initial_indices)
        self._initial_predicate = initial_predicate
        n = len(ds.x_train)
        self.labeled_mask = torch.zeros(n, dtype=torch.bool)
        self.labels = torch.full((n,), -1, dtype=torch.long)  # the oracle's answers
        self.round = -1  # last complete round
        self._active_round = -1  # the round in progress (what events report)
        self.history: list[RoundResult] = []
        # Cross-round strategy state persisted with the rounds (Strategy.resume_state "store"):
        # the bytes of the last snapshot the store holds, so an unchanged state is not stored again.
        self._stores_state = "store" in self.strategy.resume_state.values()
        self._stored_state: bytes | None = None

    # --------------------------------------------------------------- properties
    @property
    def total_rounds(self) -> int:
        return int(self.config.rounds) + 1  # round 0 plus the query rounds

    @property
    def done(self) -> bool:
        return self.round + 1 >= self.total_rounds or (self.round >= 0 and not bool((~self.labeled_mask).any()))

    def labeled_indices(self) -> torch.Tensor:
        return torch.nonzero(self.labeled_mask).flatten()

    def unlabeled_indices(self) -> torch.Tensor:
        return torch.nonzero(~self.labeled_mask).flatten()

    def view_for(self, *strategies: Strategy, fields: Sequence[str] = (), mc_seed: int | None = None) -> PoolView:
        """The pool view the next query would see from the current model, for ``strategies``.

        What the loop builds before a query (:func:`build_view` over this run's learner, dataset,
        labeled / unlabeled sets and oracle answers), without querying: the fields the given strategies
        (default: the run's own) declare, plus ``fields``, with as many MC-dropout passes as the most
        demanding of them asks for. ``mc_seed`` seeds those passes; by default the seed the loop
        itself uses for the next round, so the run's own strategy sees exactly its next view.

        >>> run.step()  # doctest: +SKIP
        >>> view = run.view_for(alkit.get_strategy("margin"))  # doctest: +SKIP
        """
        if self.round < 0:
            raise RuntimeError("view_for needs a trained model: call step() once first (round 0 labels and trains)")
        chosen = strategies or (self.strategy,)
        unknown = set(fields) - set(NEEDS)
        if unknown:
            raise ValueError(f"unknown view fields {sorted(unknown)}; valid: {sorted(NEEDS)}")
        needs = frozenset(fields).union(*(s.required() for s in chosen))
        r = self.round + 1
        seed = seed_for(self.config.seed, r, "mc") if mc_seed is None else int(mc_seed)
        return build_view(needs, self.learner, self.dataset, self.labeled_indices(), self.unlabeled_indices(),
                          self.labels, mc_samples=max(s.mc_samples for s in chosen), seed=seed, round_idx=r,
                          cache_dir=self.cache_dir)

    def _emit(self, kind: str, **data: Any) -> None:
        event = Event(kind, self.run_id, self._active_round, data)
        for cb in self.callbacks:
            cb(event)

    # --------------------------------------------------------------- the seed set
    def initial_indices(self) -> torch.Tensor:
        """The round-0 labeled set (host, int64)."""
        c, ds = self.config, self.dataset
        n = len(ds.x_train)
        if self._initial_override is not None:
            idx = torch.as_tensor(self._initial_override, dtype=torch.long)
            if idx.numel() == 0 or idx.unique().numel() != idx.numel() or int(idx.min()) < 0 or int(idx.max()) >= n:
                raise ValueError("initial_indices must be distinct pool indices in [0, N)")
            return idx
        g = make_generator(seed_for(c.seed, 0, "initial"))
        if self._initial_predicate is not None:
            mask = torch.as_tensor(self._initial_predicate(ds.x_train, ds.y_train), dtype=torch.bool)
            if mask.shape != (n,):
                raise ValueError(f"initial_predicate must return a bool mask of shape ({n},), got {tuple(mask.shape)}")
            eligible = torch.nonzero(mask).flatten()
            if len(eligible) < c.initial:  # type: ignore[operator]
                raise ValueError(f"initial_predicate admits {len(eligible)} items, fewer than initial={c.initial}")
            return eligible[torch.randperm(len(eligible), generator=g)[: c.initial]]
        if c.initial_mode == "dataset":
            suggested = ds.info.get("initial_indices")
            if not suggested:
                raise ValueError(f"initial_mode='dataset' but {ds.name} suggests no initial set")
            return torch.as_tensor(list(suggested), dtype=torch.long)
        if c.initial_mode == "balanced":
            per = c.initial // ds.num_classes  # type: ignore[operator]
            if per == 0:
                raise ValueError(f"a balanced initial set needs at least one item per class ({ds.num_classes})")
            picks = []
            for k in range(ds.num_classes):
                members = torch.nonzero(ds.y_train == k).flatten()
                if len(members) < per:
                    raise ValueError(f"class {k} has only {len(members)} items, fewer than {per} per class")
                picks.append(members[torch.randperm(len(members), generator=g)[:per]])
            idx = torch.cat(picks)
            rest = c.initial - len(idx)  # type: ignore[operator]
            if rest:
                mask = torch.ones(n, dtype=torch.bool)
                mask[idx] = False
                others = torch.nonzero(mask).flatten()
                idx = torch.cat([idx, others[torch.randperm(len(others), generator=g)[:rest]]])
            return idx
        return torch.randperm(n, generator=g)[: c.initial]

    # --------------------------------------------------------------- one round
    def _label(self, idx: torch.Tensor) -> torch.Tensor:
        answers = self.oracle.label(idx)
        self.labels[idx] = answers
        self.labeled_mask[idx] = True
        return answers

    @_in_deterministic_mode
    def _train(self, r: int, timer: Timer) -> None:
        c, ds = self.config, self.dataset
        lab = self.labeled_indices()
        self._emit("phase", phase="train")
        with timer("train"):
            self.fit_report = self.hook.fit(
                self.learner,
                ds.x_train[lab],
                self.labels[lab],
                x_unlabeled=ds.x_train[self.unlabeled_indices()],
                unlabeled_indices=self.unlabeled_indices(),
                seed=seed_for(c.seed, r, "train"),
                x_val=ds.x_val,
                y_val=ds.y_val,
            )

    def _evaluate(self, timer: Timer) -> tuple[float, list[float]]:
        ds = self.dataset
        self._emit("phase", phase="evaluate")
        with timer("evaluate"):
            pred = self.learner.predict(ds.x_test).cpu()
        acc = float((pred == ds.y_test).float().mean())
        return acc, per_class_accuracy(pred, ds.y_test, ds.num_classes)

    @_in_deterministic_mode
    def step(self) -> RoundResult:
        """Run the next round (round 0 first) and commit it to the store."""
        if self.done:
            raise RuntimeError("the run is complete; no rounds left")
        if self.round == -1:
            if self.store is not None and self.run_id is None:
                self.run_id = self.store.create_run(
                    self.config.to_dict(), self.config.seed, strategy=self.config.strategy, dataset=self.config.dataset
                )
            self._emit("run_start", config=self.config.to_dict())
        r = self.round + 1
        self._active_round = r
        c = self.config
        timer = Timer(self.device)
        extras: dict[str, Any] = {}
        scores: list[float] | None = None
        if r == 0:
            with timer("select"):
                idx = self.initial_indices()
        else:
            unl = self.unlabeled_indices()
            sel = self._query(r, timer)
            # Indices (and scores) cross to the host once, here.
            idx = sel.indices.cpu()
            scores = None if sel.scores is None else [float(s) for s in sel.scores.cpu()]
            # The strategy's own breakdown goes under "query.<name>": its names may be the loop's phases
            # (DAL's "train" is its discriminator's), which would otherwise add to the task model's time.
            timer.seconds.update({f"query.{k}": float(v) for k, v in sel.timings.items()})
            extras.update(sel.extras)
            self._check_selection(idx, unl, int(c.query))  # type: ignore[arg-type]
            # What the querying model predicted for each pick (shown on the dashboard's batch tiles).
            extras["selected_predicted"] = [int(p) for p in self.learner.predict(self.dataset.x_train[idx]).cpu()]
        answers = self._label(idx)
        # What resume needs to redo this round's training: the strategy state after its query.
        state_blob = self._state_snapshot()
        self._train(r, timer)
        acc, per_class = self._evaluate(timer)
        fit = self.fit_report
        extras.update(self.hook.round_extras())
        if c.theory_terms:
            from alkit.theory.loop_terms import theory_terms

            with timer("theory"):
                extras["theory"] = theory_terms(self.learner, self.dataset, self.labeled_indices(),
                                                self.unlabeled_indices(), self.labels,
                                                seed=seed_for(c.seed, r, "theory"))
        if fit is not None:
            extras["fit"] = {"epochs_run": fit.epochs_run, "steps": fit.steps, "best_epoch": fit.best_epoch,
                             "best_val_accuracy": fit.best_val_accuracy,
                             "final_train_loss": fit.train_loss[-1] if fit.train_loss else None}
        n_lab = int(self.labeled_mask.sum())
        result = RoundResult(r, n_lab, acc, per_class, idx.tolist(), scores, dict(timer.seconds), extras)
        if self.store is not None:
            emb, emb_idx = self._embeddings_for_store(idx)
            self.store.log_round(
                self.run_id, r, n_labeled=n_lab,
                metrics={"accuracy": acc, "per_class_accuracy": per_class, "n_labeled": n_lab},
                timings=result.timings, selected=result.selected, scores=scores,
                labels=answers.tolist(), extras=extras, embeddings=emb, embedding_index=emb_idx,
                strategy_state=state_blob,
            )
            if state_blob is not None:
                self._stored_state = state_blob
        self.round = r
        self.history.append(result)
        self._emit("round_end", result=result)
        if self.done:
            if self.store is not None:
                self.store.set_status(self.run_id, "finished")
            self._emit("run_end", history=self.history)
        return result

    @_in_deterministic_mode
    def _query(self, r: int, timer: Timer) -> Any:
        """Build the view from the current model and ask the strategy for round ``r``'s batch."""
        c = self.config
        self._emit("phase", phase="infer")
        with timer("infer"):
            view = build_view(
                self.needs, self.learner, self.dataset, self.labeled_indices(), self.unlabeled_indices(), self.labels,
                mc_samples=self.strategy.mc_samples, seed=seed_for(c.seed, r, "mc"), round_idx=r,
                cache_dir=self.cache_dir,
            )
        self._emit("phase", phase="query")
        gen = make_generator(seed_for(c.seed, r, "query"), self.device)
        with timer("query"):  # the strategy refuses a budget above N_U: the last round may ask for fewer
            return self.strategy.query(view, min(int(c.query), view.n_unlabeled), gen)  # type: ignore[arg-type]

    def _state_snapshot(self) -> bytes | None:
        """The strategy's stored state as bytes, when the store lacks it (changed since the last snapshot)."""
        if self.store is None or not self._stores_state:
            return None
        blob = pack_strategy_state(self.strategy.state_dict(), self.config.strategy)
        return None if blob == self._stored_state else blob

    def _check_selection(self, idx: torch.Tensor, unl: torch.Tensor, budget: int) -> None:
        """Enforce the selection contract on whatever a strategy returned."""
        want = min(budget, len(unl))
        if idx.dim() != 1 or len(idx) != want:
            raise RuntimeError(f"strategy {self.config.strategy!r} returned {tuple(idx.shape)} indices, expected {want}")
        if idx.unique().numel() != len(idx):
            raise RuntimeError(f"strategy {self.config.strategy!r} returned duplicate indices")
        if bool(self.labeled_mask[idx].any()):
            raise RuntimeError(f"strategy {self.config.strategy!r} returned already-labeled indices")

    def _embeddings_for_store(self, selected: torch.Tensor) -> tuple[Any, Any]:
        m = int(self.config.store_embeddings)
        if m <= 0:
            return None, None
        n = len(self.dataset.x_train)
        g = make_generator(seed_for(self.config.seed, 0, "embed_subset"))
        subset = torch.randperm(n, generator=g)[:m]
        idx = torch.unique(torch.cat([subset, selected]))
        emb = self.learner.embed(self.dataset.x_train[idx]).float().cpu().numpy()
        return emb, idx.numpy()

    # --------------------------------------------------------------- whole runs
    def run(self, progress: bool = False) -> list[RoundResult]:
        """Run every remaining round; marks the run failed (and re-raises) on an error."""
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.total_rounds, initial=self.round + 1, desc=f"{self.config.strategy} s{self.config.seed}",
                       unit="round", leave=False)
        try:
            while not self.done:
                res = self.step()
                if bar is not None:
                    bar.set_postfix(n=res.n_labeled, acc=f"{res.accuracy:.3f}")
                    bar.update(1)
        except BaseException as exc:
            if self.store is not None and self.run_id is not None:
                status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
                self.store.set_status(self.run_id, status, message=f"{type(exc).__name__}: {exc}"[:500])
            self._emit("error", error=repr(exc))
            raise
        finally:
            if bar is not None:
                bar.close()
        return self.history

    @classmethod
    def resume(cls, store: Any, run_id: str, *, callbacks: Sequence[Callable[[Event], None]] = (),
               dataset: ALDataset | None = None) -> ALRun:
        """Rebuild a run from its last complete round, so that it goes on exactly as an uninterrupted run.

        A fresh strategy instance gets its cross-round state back as its
        :attr:`~alkit.strategies.Strategy.resume_state` declares: ``"store"`` attributes from the
        snapshot stored with the last complete round, ``"rebuilt"`` ones by retraining that round
        (same seed: the same weights), ``"replay"`` by replaying the run from round 0 and checking
        every replayed selection against the stored one. A run of a ``"store"`` strategy written
        before snapshots existed is replayed as well.
        """
        info = store.get_run(run_id)
        run_id = info["run_id"]
        config = ALConfig.from_dict(info["config"])
        self = cls(config, store=store, dataset=dataset, callbacks=callbacks, run_id=run_id)
        last = store.last_complete_round(run_id)
        if last >= 0:
            stored = sorted(store.get_selections(run_id).items())

            def label_round(sel: dict[str, Any]) -> None:
                idx = torch.as_tensor(sel["indices"], dtype=torch.long)
                self.labels[idx] = torch.as_tensor(sel["labels"], dtype=torch.long)
                self.labeled_mask[idx] = True

            snapshot = store.get_strategy_state(run_id, upto_round=last) if self._stores_state else None
            if not self.strategy.replay_on_resume and (snapshot is not None or not self._stores_state):
                if snapshot is not None:
                    self.strategy.load_state_dict(unpack_strategy_state(snapshot[1], config.strategy))
                    self._stored_state = snapshot[1]
                for _r, sel in stored[: last + 1]:
                    label_round(sel)
            else:
                # The strategy's state depends on earlier queries and is not in the store: every
                # round's model and query may depend on it, so replay the whole run from round 0
                # (training and queries, no oracle) and check each selection.
                label_round(stored[0][1])
                for r in range(1, last + 1):
                    self._train(r - 1, Timer(self.device))
                    replay = self._query(r, Timer(self.device)).indices.cpu().tolist()
                    if replay != stored[r][1]["indices"]:
                        raise RuntimeError(f"resume of {run_id}: replaying round {r} gave a different selection; "
                                           "the run cannot be resumed exactly (made by another alkit version?)")
                    label_round(stored[r][1])
            self.round = last
            self._train(last, Timer(self.device))  # same seed as the original round: same weights
            for row in store.get_rounds(run_id):
                m = row["metrics"]
                self.history.append(RoundResult(row["round"], row["n_labeled"], m.get("accuracy", math.nan),
                                                m.get("per_class_accuracy", []), [], None, row["timings"],
                                                row.get("extras") or {}))
        # A complete run stays finished (resuming it only rebuilds the last model, e.g. to inspect it).
        store.set_status(run_id, "finished" if self.done else "running")
        return self


def pack_strategy_state(state: Mapping[str, Any], strategy: str = "strategy") -> bytes:
    """``torch.save`` bytes of a :meth:`~alkit.strategies.Strategy.state_dict` (what the run store keeps).

    Raises ``TypeError`` naming the attribute when a value is not a tensor, number, string, None or
    a list / tuple / dict of them (what :func:`unpack_strategy_state` can read back safely).
    """

    def check(v: Any, where: str) -> None:
        if v is None or isinstance(v, (bool, int, float, str, torch.Tensor)):
            return
        if isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                check(x, f"{where}[{i}]")
            return
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, (str, int)):
                    raise TypeError(f"{strategy} state {where} has a key of type {type(k).__name__}; use str or int")
                check(x, f"{where}[{k!r}]")
            return
        raise TypeError(f"{strategy} state {where} is a {type(v).__name__}; stored state holds only tensors, "
                        "numbers, strings, None and lists/tuples/dicts of them")

    state = dict(state)
    for k, v in state.items():
        check(v, k)
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def unpack_strategy_state(data: bytes, strategy: str = "strategy") -> dict[str, Any]:
    """Read :func:`pack_strategy_state` bytes back; tensors land on the CPU (``weights_only``: no code runs)."""
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise RuntimeError(f"the stored {strategy} state cannot be read ({type(exc).__name__}: {exc}); "
                           "was the run written by another alkit or torch version?") from exc
    if not isinstance(state, dict):
        raise RuntimeError(f"the stored {strategy} state is a {type(state).__name__}, not a dict")
    return state


def run_active_learning(config: ALConfig, *, store: Any = None, dataset: ALDataset | None = None,
                        progress: bool = False, callbacks: Sequence[Callable[[Event], None]] = ()) -> ALRun:
    """Run a whole experiment and return the finished :class:`ALRun` (``.history``, ``.run_id``)."""
    run = ALRun(config, store=store, dataset=dataset, callbacks=callbacks)
    run.run(progress=progress)
    return run
