"""The one training loop every strategy shares.

Each round the learner builds a fresh model (same seed, same weights), trains it on
the labeled set (optionally with an early-stopping validation split) and answers the
questions strategies ask: probabilities, embeddings, MC-dropout stacks, BADGE's
gradient factors. Every result stays on the learner's device.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from alkit.device import resolve_device
from alkit.models import ALModel, ModelError, get_model
from alkit.seeding import SEED_MASK, cpu_generator, seeded

__all__ = ["TrainConfig", "FitReport", "FitPlan", "FitState", "Batch", "Learner", "fit_phases", "identical_mc_passes"]


def identical_mc_passes(stack: torch.Tensor) -> float | None:
    """The largest difference between MC-dropout passes ``(T, N, K)`` when they are all identical, else None.

    "Identical" means that no value differs from the first pass's by more than ``8 * eps`` of the dtype
    (float32: 9.5e-7); fewer than two passes or an empty stack are never identical. One host sync.
    """
    if stack.shape[0] < 2 or stack.numel() == 0:
        return None
    spread = (stack - stack[:1]).abs().amax()
    return float(spread) if bool(spread <= 8 * torch.finfo(stack.dtype).eps) else None


@dataclass
class TrainConfig:
    """How the task model is trained each round."""

    epochs: int = 50
    """Maximum number of passes over the labeled set."""
    batch_size: int = 64
    """SGD mini-batch size."""
    min_steps: int = 0
    """Lower bound on optimiser steps: tiny labeled sets get more epochs so they are not under-trained."""
    optimizer: str = "adam"
    """``adam``, ``adamw`` or ``sgd``."""
    lr: float = 1e-3
    """Learning rate."""
    momentum: float = 0.9
    """Momentum (SGD only)."""
    weight_decay: float = 0.0
    """L2 penalty."""
    lr_milestones: tuple[float, ...] = ()
    """Fractions of the epochs at which the learning rate is multiplied by ``lr_gamma`` (WAAL: 0.5, 0.75)."""
    lr_gamma: float = 0.1
    """Learning-rate decay factor at each milestone."""
    validation: str = "none"
    """``none``; ``holdout`` (hold ``val_fraction`` of the labeled set out); ``dataset`` (the dataset's own split)."""
    val_fraction: float = 0.2
    """Share of the labeled set held out when ``validation='holdout'``."""
    patience: int = 0
    """Early stopping: stop after this many evaluations without improvement (0 = never stop early)."""
    select_best: bool = True
    """With a validation split, keep the weights of the best evaluation."""
    eval_every: int = 1
    """Evaluate on the validation split every this many epochs."""
    eval_batch_size: int = 2048
    """Batch size of inference passes."""
    label_smoothing: float = 0.0
    """Cross-entropy label smoothing."""

    def __post_init__(self) -> None:
        self.lr_milestones = tuple(float(m) for m in self.lr_milestones)
        problems = []
        for name in ("epochs", "batch_size", "eval_every", "eval_batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                problems.append(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.min_steps, int) or self.min_steps < 0:
            problems.append(f"min_steps must be an integer >= 0, got {self.min_steps!r}")
        if self.optimizer not in ("adam", "adamw", "sgd"):
            problems.append(f"optimizer must be adam, adamw or sgd, got {self.optimizer!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            problems.append(f"lr must be a positive number, got {self.lr!r}")
        if self.validation not in ("none", "holdout", "dataset"):
            problems.append(f"validation must be none, holdout or dataset, got {self.validation!r}")
        if not 0 < self.val_fraction < 1:
            problems.append(f"val_fraction must be in (0, 1), got {self.val_fraction!r}")
        if not isinstance(self.patience, int) or self.patience < 0:
            problems.append(f"patience must be an integer >= 0, got {self.patience!r}")
        if any(not 0 < m < 1 for m in self.lr_milestones):
            problems.append(f"lr_milestones are fractions of the epochs in (0, 1), got {self.lr_milestones}")
        if problems:
            raise ValueError("invalid TrainConfig: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lr_milestones"] = list(self.lr_milestones)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {sorted(unknown)}; valid: {sorted(known)}")
        return cls(**d)


@dataclass
class FitReport:
    """What happened in one :meth:`Learner.fit`."""

    epochs_run: int = 0
    steps: int = 0
    best_epoch: int | None = None
    best_val_accuracy: float | None = None
    train_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0
    modules: dict[str, nn.Module] = field(default_factory=dict, repr=False)
    """The plan's extra modules after training (WAAL's ``critic``, LPL's ``loss_net``), eval mode, best state."""


@dataclass
class Batch:
    """The items of one training step: rows of the training set, and of the plan's unlabeled set when it pairs them."""

    labeled: torch.Tensor
    unlabeled: torch.Tensor | None = None


@dataclass
class FitState:
    """What a :class:`FitPlan` sees inside :meth:`Learner.fit` (every tensor on the learner's device)."""

    model: ALModel
    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    """``"model"`` and one per extra module, all built from the :class:`TrainConfig`."""
    x: torch.Tensor
    y: torch.Tensor
    weight: torch.Tensor | None
    config: TrainConfig
    epoch: int = 0
    """The current epoch, 0-based."""
    epochs: int = 0
    """The number of epochs this fit runs unless it stops early."""


class FitPlan:
    """What a strategy changes in :meth:`Learner.fit`; every default is plain supervised training.

    ``Learner.fit`` keeps everything shared: the holdout split, epochs and ``min_steps``, lr
    milestones, validation, early stopping, the best-state snapshot (of the model *and* the extra
    modules), seeding and progress. A plan only says what differs, and a strategy overrides only
    what it changes:

    * :meth:`train_set` — the items to train on (CEAL adds its pseudo-labels; called after the holdout
      split, so an added item never validates);
    * :meth:`modules` — extra modules trained in the same loop (WAAL's critic, LPL's loss module), each
      with an optimiser built like the model's; they come back in :attr:`FitReport.modules`;
    * :meth:`steps_per_epoch` / :meth:`batches` — how an epoch is cut into steps (WAAL pairs labeled
      with unlabeled items);
    * :meth:`loss` — the objective of one step; the learner steps the model's optimiser and those of
      the modules named in :attr:`joint`, with every other extra module frozen;
    * :meth:`extra_step` — an optional second update after each step (WAAL's critic ascent);
    * :meth:`end_epoch` — bookkeeping after each epoch (before validation).
    """

    #: Epochs instead of ``TrainConfig.epochs`` (None: the config's); ``min_steps`` still applies.
    epochs: int | None = None
    #: Extra modules the step's :meth:`loss` trains together with the model (LPL's loss module); the
    #: others are frozen during it and trained only by :meth:`extra_step`.
    joint: tuple[str, ...] = ()

    def train_set(self, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The training items ``(x, y, per-item loss weight or None)`` given the labeled ones (validation removed)."""
        return x, y, weight

    def modules(self, model: ALModel, x: torch.Tensor) -> dict[str, nn.Module]:
        """Fresh extra modules for ``model`` (built inside a block seeded with the fit's ``seed + 2``)."""
        return {}

    def steps_per_epoch(self, n: int, batch_size: int) -> int:
        """Optimiser steps in one epoch over ``n`` training items."""
        return math.ceil(n / batch_size)

    def batches(self, n: int, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[Batch]:
        """One epoch's batches: a shuffle of the ``n`` training items cut into ``batch_size`` pieces."""
        order = torch.randperm(n, generator=generator).to(device)
        for start in range(0, n, batch_size):
            yield Batch(order[start : start + batch_size])

    def loss(self, fit: FitState, batch: Batch) -> torch.Tensor:
        """The objective of one step: cross-entropy, weighted by ``fit.weight`` when given."""
        idx, ls = batch.labeled, fit.config.label_smoothing
        logits = fit.model(fit.x[idx])
        if fit.weight is None:
            return F.cross_entropy(logits, fit.y[idx], label_smoothing=ls)
        per = F.cross_entropy(logits, fit.y[idx], reduction="none", label_smoothing=ls)
        w = fit.weight[idx]
        return (per * w).sum() / w.sum().clamp_min(1e-12)

    def extra_step(self, fit: FitState, batch: Batch) -> None:
        """A second update after the step on the same batch (e.g. a critic's); it steps its own optimiser."""

    def end_epoch(self, fit: FitState) -> None:
        """Called after every epoch's last step."""


_PLAIN = FitPlan()  # plain supervised training


Step = Callable[[int], Mapping[str, torch.Tensor]]


def fit_phases(
    iterations: int,
    phases: Sequence[tuple[int, Step]],
    *,
    window: int | None = None,
    stop: Callable[[dict[str, torch.Tensor]], bool] | None = None,
) -> tuple[dict[str, torch.Tensor], int]:
    """The small fit loop of a strategy's own networks (VAAL's VAE and discriminator, DAL's discriminator).

    Iteration ``i`` runs each phase ``(count, step)`` in order, calling ``step(k)`` for ``k = 0..count-1``;
    a step does its own update and returns its scalar logs (0-d tensors, left on the device). After each
    iteration ``stop(sums of that iteration's logs)``, when given, may end the loop.

    Returns
    -------
    (means, iterations_run)
        ``means[key]``: the mean of ``key`` over every step of the last ``window`` iterations run (all
        of them when None); ``iterations_run``: how many iterations ran.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"iterations must be an integer >= 0, got {iterations!r}")
    window = iterations if window is None else window
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    done = 0
    for it in range(iterations):
        record = it >= iterations - window
        this: dict[str, torch.Tensor] = {}
        for count, step in phases:
            for k in range(count):
                for key, v in step(k).items():
                    this[key] = this[key] + v if key in this else v
                    if record:
                        sums[key] = sums[key] + v if key in sums else v
                        counts[key] = counts.get(key, 0) + 1
        done = it + 1
        if stop is not None and stop(this):
            break
    return {key: sums[key] / counts[key] for key in sums}, done


def _check_active_dropout(suffix: nn.Module, model_name: str) -> None:
    """Refuse MC dropout when every dropout layer has rate 0: all T passes would be the same network."""
    rates = [float(m.p) for m in suffix.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    if rates and all(p == 0.0 for p in rates):
        raise ModelError(
            f"{model_name}'s dropout rate is 0 in all {len(rates)} dropout layer(s), so its MC-dropout passes would "
            "all be identical and BALD / MeanSTD would rank the pool by rounding noise; build it with dropout > 0 "
            "(e.g. model_params={'dropout': 0.3})"
        )


class _ConsistentDropout:
    """Forward hooks that replace every dropout layer of ``module`` by one fixed mask per MC pass.

    The mask of layer ``j`` in pass ``t`` has the layer's feature shape with a broadcast batch axis
    (``(1, *features)`` for ``Dropout``, ``(1, C, 1, ...)`` for ``Dropout1d/2d/3d``), scaled by
    ``1 / (1 - p)``; it is drawn on the device, on first use, from a generator seeded by
    ``(seed, t, j)`` and reused for every later batch of the same pass.
    """

    _KINDS = {nn.Dropout: 0, nn.Dropout1d: 1, nn.Dropout2d: 2, nn.Dropout3d: 3}

    def __init__(self, module: nn.Module, seed: int, device: torch.device) -> None:
        self.layers = [m for m in module.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
        for m in self.layers:
            if type(m) not in self._KINDS:
                raise ModelError(f"MC dropout supports nn.Dropout and nn.Dropout1d/2d/3d, not {type(m).__name__}")
        self.seed, self.device = seed, device
        self.t = 0
        self._masks: dict[tuple[int, int], torch.Tensor] = {}
        self._handles: list[Any] = []

    def set_pass(self, t: int) -> None:
        self.t = t

    def _mask(self, j: int, m: nn.modules.dropout._DropoutNd, out: torch.Tensor) -> torch.Tensor:
        key = (self.t, j)
        mask = self._masks.get(key)
        if mask is None:
            spatial = self._KINDS[type(m)]
            if spatial and out.dim() != spatial + 2:
                raise ModelError(f"{type(m).__name__} got a {out.dim()}-d input; MC dropout needs a batched input")
            shape = (1, *out.shape[1:]) if spatial == 0 else (1, out.shape[1]) + (1,) * spatial
            g = torch.Generator(device=out.device).manual_seed(
                (self.seed * 1_000_003 + self.t * 1_009 + j) & SEED_MASK)
            keep = torch.rand(shape, generator=g, device=out.device) >= m.p
            mask = keep.to(out.dtype) / (1.0 - m.p) if m.p < 1.0 else torch.zeros(shape, dtype=out.dtype,
                                                                                 device=out.device)
            self._masks[key] = mask
        return mask

    def __enter__(self) -> _ConsistentDropout:
        for j, m in enumerate(self.layers):
            self._handles.append(m.register_forward_hook(
                lambda mod, inp, out, j=j: out * self._mask(j, mod, out)))
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()


class Learner:
    """Train a task model from scratch and query it.

    Parameters
    ----------
    model : str or callable
        A model registry name (built with ``input_shape`` / ``num_classes``) or a
        zero-argument factory returning an :class:`~alkit.models.ALModel`.
    input_shape : tuple of int
    num_classes : int
    config : TrainConfig
    device : str or torch.device
        ``"auto"`` picks cuda, then mps, then cpu (see :func:`alkit.device.resolve_device`).
    model_kwargs : dict, optional
        Extra keyword arguments for the model builder.
    """

    def __init__(
        self,
        model: str | Callable[[], ALModel],
        input_shape: tuple[int, ...],
        num_classes: int,
        config: TrainConfig | None = None,
        device: str | torch.device = "auto",
        model_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.config = config or TrainConfig()
        self.device = resolve_device(device)
        self.input_shape = tuple(input_shape)
        self.num_classes = int(num_classes)
        self.model_kwargs = dict(model_kwargs or {})
        if isinstance(model, str):
            name = model
            with seeded(0, torch.device("cpu")):  # validate names/shapes early without touching the global RNG
                get_model(name, self.input_shape, self.num_classes, **self.model_kwargs)
            self._factory: Callable[[], ALModel] = lambda: get_model(
                name, self.input_shape, self.num_classes, **self.model_kwargs
            )
            self.model_name = name
        elif callable(model):
            self._factory = model
            self.model_name = getattr(model, "__name__", "custom")
        else:
            raise TypeError(f"model must be a registry name or a factory, got {type(model).__name__}")
        self._model: ALModel | None = None
        self.last_fit: FitReport | None = None

    # ------------------------------------------------------------------ set-up
    @property
    def model(self) -> ALModel:
        if self._model is None:
            raise RuntimeError("the learner has not been fitted yet; call fit() first")
        return self._model

    @model.setter
    def model(self, model: ALModel) -> None:
        """Answer queries with ``model`` (e.g. an untrained :meth:`new_model` in a benchmark)."""
        if not isinstance(model, ALModel):
            raise ModelError(f"the learner's model must be an alkit ALModel, got {type(model).__name__}")
        if model.num_classes != self.num_classes:
            raise ModelError(f"model predicts {model.num_classes} classes but the data has {self.num_classes}")
        self._model = model

    def new_model(self, seed: int) -> ALModel:
        """A freshly initialised model on the device; the same seed gives the same weights."""
        with seeded(seed, torch.device("cpu")):
            model = self._factory()
        if not isinstance(model, ALModel):
            raise ModelError(f"the model factory returned {type(model).__name__}, not an alkit ALModel")
        if model.num_classes != self.num_classes:
            raise ModelError(f"model predicts {model.num_classes} classes but the data has {self.num_classes}")
        return model.to(self.device)

    def _check_xy(self, x: torch.Tensor, y: torch.Tensor | None, what: str) -> None:
        if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
            raise TypeError(f"{what} inputs must be a floating-point tensor, got {getattr(x, 'dtype', type(x))}")
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"{what} inputs have shape {tuple(x.shape[1:])} per item, the model expects {self.input_shape}")
        if y is not None:
            if y.dtype != torch.int64 or y.shape != (len(x),):
                raise ValueError(f"{what} labels must be int64 of shape ({len(x)},), got {y.dtype} {tuple(y.shape)}")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
                raise ValueError(f"{what} labels must lie in [0, {self.num_classes - 1}]")

    def _optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        c = self.config
        if c.optimizer == "sgd":
            return torch.optim.SGD(model.parameters(), lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)
        if c.optimizer == "adamw":
            return torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        return torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)

    # ------------------------------------------------------------------ training
    def fit(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        seed: int,
        x_val: torch.Tensor | None = None,
        y_val: torch.Tensor | None = None,
        sample_weight: torch.Tensor | None = None,
        progress: Callable[[int, int], None] | None = None,
        plan: FitPlan | None = None,
    ) -> FitReport:
        """Re-initialise the model and train it on ``(x, y)``: the one training loop of alkit.

        Parameters
        ----------
        x : Tensor, shape (N, *input_shape)
        y : Tensor, int64, shape (N,)
        seed : int
            Drives weight init, shuffling, dropout and the holdout split.
        x_val, y_val : Tensor, optional
            Validation split for ``validation="dataset"``.
        sample_weight : Tensor, shape (N,), optional
            Per-item loss weights (e.g. pseudo-labels weighted below true labels).
        progress : callable(epoch, epochs), optional
            Called after every epoch.
        plan : FitPlan, optional
            What a strategy changes (extra modules, batches, the step's loss, the training set); None
            is plain supervised training. The shared rules below hold for every plan.

        Notes
        -----
        With ``validation="holdout"`` (and at least 5 items) a seeded ``val_fraction`` of ``(x, y)`` is
        held out before :meth:`FitPlan.train_set`. The fit runs ``max(epochs, ceil(min_steps /
        steps_per_epoch))`` epochs; lr milestones decay every optimiser; the validation split is scored
        every ``eval_every`` epochs and after the last; with ``patience`` the fit stops after that many
        scores without improvement; with ``select_best`` the model and the extra modules are restored to
        the first best-scoring epoch. Weight init uses ``seed``, the extra modules ``seed + 2``, dropout
        and the other in-step randomness ``seed + 1``, the holdout split and the shuffles a generator
        seeded with ``seed``.
        """
        import time

        t_start = time.perf_counter()
        c = self.config
        plan = plan if plan is not None else _PLAIN
        self._check_xy(x, y, "training")
        if len(x) == 0:
            raise ValueError("cannot train on an empty labeled set")
        dev = self.device
        x, y = x.to(dev), y.to(dev)
        w = None if sample_weight is None else sample_weight.to(dev, torch.float32)
        gen = cpu_generator(seed)

        if c.validation == "holdout" and len(x) >= 5:
            perm = torch.randperm(len(x), generator=gen).to(dev)
            n_val = max(1, int(round(c.val_fraction * len(x))))
            val_idx, tr_idx = perm[:n_val], perm[n_val:]
            x_val, y_val = x[val_idx], y[val_idx]
            x, y = x[tr_idx], y[tr_idx]
            w = None if w is None else w[tr_idx]
        elif c.validation == "dataset":
            if x_val is None or y_val is None:
                raise ValueError("validation='dataset' needs x_val / y_val (the dataset has no validation split)")
            self._check_xy(x_val, y_val, "validation")
        else:
            x_val = y_val = None
        x2, y2, w = plan.train_set(x, y, w)
        if x2 is not x or y2 is not y:
            self._check_xy(x2, y2, "training (the plan's train_set)")
            x, y = x2.to(dev), y2.to(dev)
        w = None if w is None else w.to(dev, torch.float32)
        if w is not None and w.shape != (len(x),):
            raise ValueError(f"sample weights must have shape ({len(x)},), got {tuple(w.shape)}")

        model = self.new_model(seed)
        with seeded(seed + 2, torch.device("cpu")):
            modules = {name: m.to(dev) for name, m in plan.modules(model, x).items()}
        unknown = sorted(set(plan.joint) - set(modules))
        if unknown or "model" in modules:
            raise ValueError(f"the plan's joint modules {unknown} are not among its modules {sorted(modules)}"
                             if unknown else "a plan's extra module cannot be named 'model' (the task model's name)")
        opts = {"model": self._optimizer(model)}
        opts.update({name: self._optimizer(m) for name, m in modules.items() if any(True for _ in m.parameters())})
        step_opts = [opts["model"]] + [opts[name] for name in plan.joint if name in opts]
        frozen = [p for name, m in modules.items() if name not in plan.joint for p in m.parameters()]
        n = len(x)
        steps_per_epoch = plan.steps_per_epoch(n, c.batch_size)
        if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
            raise ValueError(f"the plan's steps_per_epoch must be a positive integer, got {steps_per_epoch!r}")
        epochs = max(c.epochs if plan.epochs is None else int(plan.epochs), math.ceil(c.min_steps / steps_per_epoch))
        milestones = sorted({max(1, int(round(m * epochs))) for m in c.lr_milestones})
        scheds = [torch.optim.lr_scheduler.MultiStepLR(o, milestones=milestones, gamma=c.lr_gamma)
                  for o in opts.values()] if milestones else []
        state = FitState(model, modules, opts, x, y, w, c, 0, epochs)

        report = FitReport()
        best_acc, best_state, since_best = -1.0, None, 0
        with seeded(seed + 1, dev):
            for epoch in range(epochs):
                state.epoch = epoch
                model.train()
                for m in modules.values():
                    m.train()
                total, seen = 0.0, 0
                for batch in plan.batches(n, c.batch_size, gen, dev):
                    flags = [p.requires_grad for p in frozen]
                    for p in frozen:
                        p.requires_grad_(False)
                    try:
                        loss = plan.loss(state, batch)
                        for o in step_opts:
                            o.zero_grad(set_to_none=True)
                        loss.backward()
                        for o in step_opts:
                            o.step()
                    finally:
                        for p, f in zip(frozen, flags, strict=True):
                            p.requires_grad_(f)
                    plan.extra_step(state, batch)
                    total += loss.detach() * len(batch.labeled)
                    seen += len(batch.labeled)
                    report.steps += 1
                plan.end_epoch(state)
                for sched in scheds:
                    sched.step()
                report.train_loss.append(float(total) / max(seen, 1))
                report.epochs_run = epoch + 1
                if x_val is not None and ((epoch + 1) % c.eval_every == 0 or epoch + 1 == epochs):
                    self._model = model
                    acc = float((self.predict(x_val) == y_val.to(dev)).float().mean())
                    report.val_accuracy.append(acc)
                    if acc > best_acc:
                        best_acc, since_best = acc, 0
                        report.best_epoch, report.best_val_accuracy = epoch + 1, acc
                        if c.select_best:
                            best_state = copy.deepcopy((model.state_dict(), {k: m.state_dict() for k, m in modules.items()}))
                    else:
                        since_best += 1
                        if c.patience and since_best >= c.patience:
                            break
                if progress is not None:
                    progress(epoch + 1, epochs)
        if best_state is not None:
            model.load_state_dict(best_state[0])
            for k, m in modules.items():
                m.load_state_dict(best_state[1][k])
        model.eval()
        for m in modules.values():
            m.eval()
        self._model = model
        report.modules = modules
        report.seconds = time.perf_counter() - t_start
        self.last_fit = report
        return report

    # ------------------------------------------------------------------ inference
    def _batches(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        bs = self.config.eval_batch_size
        for start in range(0, len(x), bs):
            yield x[start : start + bs].to(self.device, non_blocking=True)

    @torch.no_grad()
    def infer(self, x: torch.Tensor, what: frozenset[str] | set[str] = frozenset({"probs"})) -> dict[str, Any]:
        """One batched eval-mode pass computing any of ``probs``, ``embeddings``, ``grad_factors``, ``logits``.

        Returns a dict of tensors on the learner's device:
        ``probs`` (N, K), ``logits`` (N, K), ``embeddings`` (N, feature_dim) and
        ``grad_factors`` = (p - onehot(argmax p)  (N, K),  classifier input (N, d')).
        """
        bad = set(what) - {"probs", "embeddings", "grad_factors", "logits"}
        if bad:
            raise ValueError(f"infer() cannot compute {sorted(bad)}")
        model = self.model
        model.eval()
        self._check_xy(x, None, "query")
        out: dict[str, list[torch.Tensor]] = {k: [] for k in ("probs", "logits", "embeddings", "ga", "ge")}
        for xb in self._batches(x):
            feats = model.features(xb)
            pen = model.penultimate(feats)
            logits = model.classifier(pen)
            probs = logits.softmax(-1)
            out["logits"].append(logits)
            out["probs"].append(probs)
            if "embeddings" in what:
                out["embeddings"].append(feats)
            if "grad_factors" in what:
                onehot = F.one_hot(probs.argmax(-1), self.num_classes).to(probs.dtype)
                out["ga"].append(probs - onehot)
                out["ge"].append(pen)
        empty = torch.empty(0, device=self.device)
        cat = {k: (torch.cat(v) if v else empty) for k, v in out.items()}
        result: dict[str, Any] = {}
        for key in ("probs", "logits", "embeddings"):
            if key in what:
                result[key] = cat[key]
        if "grad_factors" in what:
            result["grad_factors"] = (cat["ga"], cat["ge"])
        return result

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities (N, K), eval mode, on the device."""
        return self.infer(x, {"probs"})["probs"]

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted classes (N,), on the device."""
        return self.predict_proba(x).argmax(-1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Features (N, feature_dim) from the model's extractor."""
        return self.infer(x, {"embeddings"})["embeddings"]

    def grad_factors(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""BADGE's last-layer gradient factors without materialising :math:`g = a \otimes e`.

        Returns ``(a, e)`` with ``a = p - onehot(argmax p)`` (N, K) and ``e`` the classifier's input (N, d').
        """
        return self.infer(x, {"grad_factors"})["grad_factors"]

    @torch.no_grad()
    def mc_probs(self, x: torch.Tensor, T: int, *, seed: int) -> torch.Tensor:
        r"""MC-dropout probabilities (T, N, K): pass ``t`` is one sampled network for every item.

        *Consistent* MC dropout (Kirsch et al. 2019): each pass draws one dropout mask per dropout
        layer and applies it to every item, so ``probs[t]`` are the outputs of a single network
        :math:`w_t\sim q(w)`. BatchBALD's joint entropies need this; BALD, MeanSTD and the other
        per-item scores have the same expectation either way. The masks come from a generator seeded
        by ``(seed, t, layer)``, so the result does not depend on the inference batch size or on the
        global RNG. Only dropout layers are stochastic (BatchNorm stays in eval mode). The
        deterministic prefix up to the first dropout layer runs once per batch; only the stochastic
        suffix is repeated ``T`` times.
        """
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T (MC passes) must be a positive integer, got {T!r}")
        model = self.model
        self._check_xy(x, None, "query")
        prefix, suffix = model.mc_split()  # raises a clear error without dropout
        _check_active_dropout(suffix, type(model).__name__)
        chunks = []
        masks = _ConsistentDropout(suffix, int(seed), self.device)
        try:
            model.eval()  # dropout layers become identities; the hooks apply the pass's masks
            with masks:
                for xb in self._batches(x):
                    h = prefix(xb)
                    passes = []
                    for t in range(T):
                        masks.set_pass(t)
                        passes.append(suffix(h).softmax(-1))
                    chunks.append(torch.stack(passes))
        finally:
            model.eval()
        if not chunks:
            return torch.empty(T, 0, self.num_classes, device=self.device)
        out = torch.cat(chunks, dim=1)
        spread = identical_mc_passes(out)  # the passes themselves: one host sync for the whole stack
        if spread is not None:
            raise ModelError(
                f"{type(model).__name__}: all {T} MC-dropout passes came out identical on {out.shape[1]} items "
                f"(largest difference {spread:.1e}), so its dropout has no effect and MC-dropout scores "
                "would rank the pool by rounding noise; use a model whose dropout changes its output"
            )
        return out
