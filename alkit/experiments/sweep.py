"""Sweeps: datasets x strategies x seeds, every cell an ordinary run in the store, on any engine.

A :class:`SweepSpec` names the grid; its id is derived from its content, so running the same spec
again finds its cells: finished ones are skipped, interrupted or failed ones resume from their last
stored round (exactly: every random step is seeded by run seed, round and phase), missing ones start.
Only this process (the driver) writes the store; workers stream their rounds back
(:mod:`alkit.experiments.engines`).

>>> spec = SweepSpec(datasets=["digits"], strategies=["random", "entropy"], seeds=[0, 1], rounds=2)
>>> len(spec.cells()), spec.sweep_id.startswith("sw-")
(4, True)

A spec file (``alkit sweep SPEC.toml``)::

    name = "digits, four strategies"
    datasets = ["digits"]
    strategies = ["random", "entropy", "margin", "badge"]
    seeds = "0-9"            # or a list: [0, 1, 2]
    initial = 20             # initial, query, rounds: default = each dataset's preset
    query = 20
    rounds = 10

    [train]                  # TrainConfig fields for every cell
    epochs = 40

    [config]                 # other ALConfig fields for every cell
    initial_mode = "balanced"

    [strategy_params.badge]  # hyperparameters of one strategy
    # ...

    [datasets_options.mnist5k]   # per dataset: initial / query / rounds / params (loader arguments)
    initial = 100
    query = 100
"""

from __future__ import annotations

import difflib
import hashlib
import json
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from alkit.experiments.engines import CellTask, Engine, make_engine
from alkit.loop import ALConfig

__all__ = ["SweepError", "SweepResult", "SweepSpec", "parse_seeds", "run_cells", "sweep", "sweep_curves"]

# ALConfig fields the grid sets itself (a spec's [config] table may not)
_GRID_FIELDS = {"dataset", "strategy", "seed", "strategy_params", "train", "initial", "query", "rounds",
                "dataset_params"}
_DATASET_OPTION_KEYS = {"initial", "query", "rounds", "params"}


class SweepError(ValueError):
    """A sweep spec or its options are invalid; the message names the field and what is wrong."""


def parse_seeds(value: Any) -> list[int]:
    """Seeds from ``"0-9"``, ``"0,3,5-7"``, an int or a list of ints (no duplicates, all >= 0)."""
    out: list[int] = []
    if isinstance(value, bool):
        raise SweepError(f"seeds: expected integers or a range like '0-9', got {value!r}")
    if isinstance(value, int):
        items: list[Any] = [value]
    elif isinstance(value, str):
        items = [p.strip() for p in value.split(",") if p.strip()]
    elif isinstance(value, Sequence):
        items = list(value)
    else:
        raise SweepError(f"seeds: expected a list of integers or a range like '0-9', got {value!r}")
    for item in items:
        if isinstance(item, bool):
            raise SweepError(f"seeds: {item!r} is not an integer")
        if isinstance(item, int):
            out.append(item)
            continue
        text = str(item)
        if "-" in text[1:]:  # a range "lo-hi" (a leading "-" is a negative number, refused below)
            lo_s, _, hi_s = text.partition("-")
            try:
                lo, hi = int(lo_s), int(hi_s)
            except ValueError:
                raise SweepError(f"seeds: cannot read the range {text!r}; write it like '0-9'") from None
            if hi < lo:
                raise SweepError(f"seeds: the range {text!r} is empty (end {hi} < start {lo})")
            out.extend(range(lo, hi + 1))
        else:
            try:
                out.append(int(text))
            except ValueError:
                raise SweepError(f"seeds: {text!r} is not an integer or a range like '0-9'") from None
    if not out:
        raise SweepError("seeds: the grid has no seeds")
    neg = [s for s in out if s < 0]
    if neg:
        raise SweepError(f"seeds must be >= 0, got {neg[:5]}")
    dup = sorted({s for s in out if out.count(s) > 1})
    if dup:
        raise SweepError(f"seeds: {dup[:5]} appear more than once")
    return out


def _names(value: Any, what: str, known: list[str]) -> list[str]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise SweepError(f"{what}: expected a list of names, got {value!r}")
    if not value:
        raise SweepError(f"{what}: the grid is empty; name at least one")
    for v in value:
        if v not in known:
            close = difflib.get_close_matches(v, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SweepError(f"{what}: unknown name {v!r}{hint}; valid: {', '.join(known)}")
    dup = sorted({v for v in value if list(value).count(v) > 1})
    if dup:
        raise SweepError(f"{what}: {dup} appear more than once")
    return list(value)


def _int_field(value: Any, name: str, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SweepError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise SweepError(f"{name} must be >= {minimum}, got {value}")
    return value


@dataclass
class SweepSpec:
    """Datasets x strategies x seeds, one budget schedule, optional per-strategy and training overrides.

    ``initial``, ``query`` and ``rounds`` left ``None`` take each dataset's preset. Validation
    happens on construction: unknown names, empty grids, bad ranges and unknown keys raise one
    :class:`SweepError` before anything runs.
    """

    datasets: list[str]
    strategies: list[str]
    seeds: list[int]
    initial: int | None = None
    query: int | None = None
    rounds: int | None = None
    name: str | None = None
    """A label shown by ``alkit sweeps`` and the dashboard (not part of the sweep id)."""
    strategy_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``{strategy: {hyperparameter: value}}`` for strategies of the grid."""
    train: dict[str, Any] = field(default_factory=dict)
    """:class:`~alkit.learner.TrainConfig` fields that override every dataset's preset."""
    config: dict[str, Any] = field(default_factory=dict)
    """Other :class:`~alkit.loop.ALConfig` fields for every cell (``model``, ``initial_mode``, ``device``, ...)."""
    datasets_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per dataset: ``initial`` / ``query`` / ``rounds`` overrides and ``params`` (loader arguments)."""

    def __post_init__(self) -> None:
        from alkit.data import list_datasets
        from alkit.learner import TrainConfig
        from alkit.strategies import get_strategy, list_strategies

        self.datasets = _names(self.datasets, "datasets", list_datasets())
        self.strategies = _names(self.strategies, "strategies", list_strategies())
        self.seeds = parse_seeds(self.seeds)
        self.initial = _int_field(self.initial, "initial", 1)
        self.query = _int_field(self.query, "query", 1)
        self.rounds = _int_field(self.rounds, "rounds", 0)
        if self.name is not None and not isinstance(self.name, str):
            raise SweepError(f"name must be a string, got {self.name!r}")
        for label, table in (("strategy_params", self.strategy_params), ("train", self.train),
                             ("config", self.config), ("datasets_options", self.datasets_options)):
            if not isinstance(table, Mapping):
                raise SweepError(f"{label} must be a table (dict), got {type(table).__name__}")
        for s, params in self.strategy_params.items():
            if s not in self.strategies:
                raise SweepError(f"strategy_params.{s}: {s!r} is not in the grid's strategies {self.strategies}")
            if not isinstance(params, Mapping):
                raise SweepError(f"strategy_params.{s} must be a table, got {params!r}")
            try:
                get_strategy(s, **params)
            except (TypeError, ValueError) as e:
                raise SweepError(f"strategy_params.{s}: {e}") from None
        train_fields = {f.name for f in fields(TrainConfig)}
        bad = sorted(set(self.train) - train_fields)
        if bad:
            raise SweepError(f"train: unknown keys {bad}; valid: {', '.join(sorted(train_fields))}")
        config_fields = {f.name for f in fields(ALConfig)} - _GRID_FIELDS
        bad = sorted(set(self.config) - config_fields)
        if bad:
            grid = sorted(set(bad) & _GRID_FIELDS)
            where = f" ({', '.join(grid)} are set by the grid's own keys)" if grid else ""
            raise SweepError(f"config: unknown keys {bad}{where}; valid: {', '.join(sorted(config_fields))}")
        for ds, opts in self.datasets_options.items():
            if ds not in self.datasets:
                raise SweepError(f"datasets_options.{ds}: {ds!r} is not in the grid's datasets {self.datasets}")
            if not isinstance(opts, Mapping):
                raise SweepError(f"datasets_options.{ds} must be a table, got {opts!r}")
            bad = sorted(set(opts) - _DATASET_OPTION_KEYS)
            if bad:
                raise SweepError(f"datasets_options.{ds}: unknown keys {bad}; valid: "
                                 f"{', '.join(sorted(_DATASET_OPTION_KEYS))}")
            for k, lo in (("initial", 1), ("query", 1), ("rounds", 0)):
                _int_field(opts.get(k), f"datasets_options.{ds}.{k}", lo)
            if not isinstance(opts.get("params", {}), Mapping):
                raise SweepError(f"datasets_options.{ds}.params must be a table")
        for cfg in self.configs():  # every cell's config must resolve (preset + overrides)
            try:
                cfg.resolved()
            except (TypeError, ValueError) as e:
                raise SweepError(f"cell {cfg.dataset}/{cfg.strategy}/seed {cfg.seed}: {e}") from None

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SweepSpec:
        """A spec from a dict (a parsed TOML file); unknown keys are an error."""
        if not isinstance(d, Mapping):
            raise SweepError(f"a sweep spec must be a table (dict), got {type(d).__name__}")
        known = [f.name for f in fields(cls)]
        bad = sorted(set(d) - set(known))
        if bad:
            hints = [f"{b!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(b, known, n=1)) else repr(b)
                     for b in bad]
            raise SweepError(f"unknown keys in the sweep spec: {', '.join(hints)}; valid: {', '.join(known)}")
        missing = [k for k in ("datasets", "strategies", "seeds") if k not in d]
        if missing:
            raise SweepError(f"the sweep spec needs {', '.join(missing)}")
        return cls(**dict(d))

    @classmethod
    def from_toml(cls, path: str | Path) -> SweepSpec:
        """A spec from a TOML file (see the module docstring for the format)."""
        import tomllib

        p = Path(path)
        if not p.is_file():
            raise SweepError(f"no sweep spec file {p}")
        try:
            data = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as e:
            raise SweepError(f"{p} is not valid TOML: {e}") from None
        try:
            return cls.from_dict(data)
        except SweepError as e:
            raise SweepError(f"{p}: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def sweep_id(self) -> str:
        """``sw-`` and 12 hex digits of a hash of the spec's content (the name excluded)."""
        d = self.to_dict()
        d.pop("name")
        blob = json.dumps(d, sort_keys=True, separators=(",", ":"), default=str)
        return "sw-" + hashlib.sha256(blob.encode()).hexdigest()[:12]

    # -- the grid -------------------------------------------------------------------------

    def config_for(self, dataset: str, strategy: str, seed: int) -> ALConfig:
        """The :class:`ALConfig` of one cell."""
        from alkit.learner import TrainConfig
        from alkit.presets import get_preset

        opts = self.datasets_options.get(dataset, {})
        train = None
        if self.train:
            train = TrainConfig.from_dict({**get_preset(dataset).train.to_dict(), **self.train})
        return ALConfig(dataset=dataset, strategy=strategy, seed=int(seed),
                        strategy_params=dict(self.strategy_params.get(strategy, {})),
                        dataset_params=dict(opts.get("params", {})),
                        initial=opts.get("initial", self.initial), query=opts.get("query", self.query),
                        rounds=opts.get("rounds", self.rounds), train=train, **self.config)

    def cells(self) -> list[tuple[str, str, int]]:
        """``(dataset, strategy, seed)`` of every cell, datasets outermost, seeds innermost."""
        return [(d, s, seed) for d in self.datasets for s in self.strategies for seed in self.seeds]

    def configs(self) -> list[ALConfig]:
        return [self.config_for(*c) for c in self.cells()]


@dataclass
class SweepResult:
    """What a sweep did; the numbers live in the store (``alkit report SWEEP_ID``, or
    ``alkit.experiments.report.sweep_report(store, result.sweep_id)``)."""

    sweep_id: str
    workspace: str
    cells: list[dict[str, Any]]
    """Per cell: dataset, strategy, seed, run_id, status, action (skipped/resumed/started), error, seconds."""
    seconds: float
    engine: str

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [c for c in self.cells if c["status"] == "failed"]

    @property
    def ok(self) -> bool:
        return all(c["status"] == "finished" for c in self.cells)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.cells:
            out[c["action"]] = out.get(c["action"], 0) + 1
        return out


def _records(store: Any, run_id: str) -> dict[str, Any]:
    """What a worker needs to resume ``run_id`` from its last stored round."""
    rounds = store.get_rounds(run_id)
    if not rounds:
        return {}
    return {"rounds": rounds, "selections": store.get_selections(run_id), "state": store.get_strategy_state(run_id)}


@dataclass
class _Cell:
    key: tuple[str, str, int]
    config: ALConfig
    run_id: str | None = None
    action: str = "started"
    status: str = "pending"
    error: str | None = None
    attempts: int = 0
    summary: dict[str, Any] | None = None
    stored_rounds: int = 0


def run_cells(
    configs: Sequence[ALConfig],
    *,
    store: Any,
    engine: Engine,
    sweep_id: str | None = None,
    progress: bool = True,
    max_retries: int = 2,
    on_round: Callable[[tuple, int, dict], None] | None = None,
    inject: Mapping[tuple, Mapping[str, int]] | None = None,
    desc: str = "sweep",
) -> list[_Cell]:
    """Run the cells (``ALConfig`` each) on ``engine``; this process is the store's only writer.

    With ``sweep_id`` a cell whose run is already in the sweep is skipped (finished) or resumed;
    without, every config is a new run. A worker that dies is resubmitted up to ``max_retries``
    times (the cell resumes from its last stored round). ``inject`` maps a cell key to
    ``{"fail_after": k}`` / ``{"die_after": k}`` (testing aids).
    """
    from tqdm.auto import tqdm

    existing = {}
    if sweep_id is not None:
        existing = {(c["dataset"], c["strategy"], c["seed"]): c for c in store.sweep_cells(sweep_id)}
        live = [c for c in existing.values() if c["status"] == "running"]
        if live:
            raise SweepError(f"sweep {sweep_id} is being run by another process ({len(live)} cells running, e.g. run "
                             f"{live[0]['run_id']}); wait for it or stop it first")
    cells: list[_Cell] = []
    for cfg in configs:
        key = (cfg.dataset, cfg.strategy, int(cfg.seed))
        cell = _Cell(key, cfg)
        prev = existing.get(key)
        if prev is not None:
            cell.run_id = prev["run_id"]
            cell.stored_rounds = int(prev["n_rounds"])
            if prev["status"] == "finished":
                cell.action, cell.status = "skipped", "finished"
            else:
                cell.action = "resumed" if cell.stored_rounds else "started"
        cells.append(cell)
    by_key = {c.key: c for c in cells}
    if len(by_key) != len(cells):
        raise SweepError("two cells share the same (dataset, strategy, seed)")
    total = sum(int(c.config.resolved().rounds) + 1 for c in cells)  # type: ignore[arg-type]
    done_rounds = sum(int(c.config.resolved().rounds) + 1 if c.status == "finished" else c.stored_rounds
                      for c in cells)
    bar = tqdm(total=total, initial=done_rounds, desc=desc, unit="round", disable=not progress, smoothing=0.05)
    todo = [c for c in cells if c.status != "finished"]
    queue = list(todo)
    running: dict[tuple, _Cell] = {}
    n_done = len(cells) - len(todo)
    inject = inject or {}

    def post() -> None:
        failed = sum(c.status == "failed" for c in cells)
        bar.set_postfix_str(f"cells {n_done}/{len(cells)}" + (f", {failed} failed" if failed else ""))

    def dispatch(cell: _Cell) -> None:
        cfg = cell.config.resolved()
        if cell.run_id is None:
            cell.run_id = store.create_run(cfg.to_dict(), cfg.seed, strategy=cfg.strategy, dataset=cfg.dataset,
                                           name=None if sweep_id is None else f"{sweep_id} {cfg.strategy} s{cfg.seed}")
            if sweep_id is not None:
                store.add_sweep_cell(sweep_id, dataset=cfg.dataset, strategy=cfg.strategy, seed=cfg.seed,
                                     run_id=cell.run_id)
            records: dict[str, Any] = {}
        else:
            records = _records(store, cell.run_id)
            store.set_status(cell.run_id, "running", message=None)
        cell.stored_rounds = len(records.get("rounds", []))
        opts = dict(inject.get(cell.key, {}))
        if cell.attempts > 0:
            opts.pop("die_after", None)  # a dying worker dies once
        cell.attempts += 1
        cell.status = "running"
        engine.submit(CellTask(cell.key, cell.run_id, cfg.to_dict(), records, threads=1,
                               workspace=str(store.workspace), **opts))
        running[cell.key] = cell

    def handle(event: tuple) -> None:
        nonlocal n_done
        kind, key, payload = event
        cell = by_key[key]
        if kind == "msg":
            if payload[0] == "round":
                _, r, kw = payload
                if r < cell.stored_rounds:  # a retried worker re-sent a stored round: same seed, same round
                    return
                store.log_round(cell.run_id, r, **kw)
                cell.stored_rounds = r + 1
                bar.update(1)
                if on_round is not None:
                    on_round(key, r, kw)
            elif payload[0] == "status":
                _, status, message = payload
                if status == "running":
                    return  # the driver owns the run while it runs
                store.set_status(cell.run_id, status, message=message)
                if status == "failed":
                    cell.status, cell.error = "failed", message
        elif kind == "done":
            running.pop(key, None)
            cell.summary = payload
            n_done += 1
            if payload.get("ok"):
                cell.status = "finished"
            else:
                cell.status, cell.error = "failed", payload.get("error")
                if store.get_run(cell.run_id)["status"] != "failed":
                    store.set_status(cell.run_id, "failed", message=(cell.error or "")[:500])
                bar.write(f"cell {key[0]}/{key[1]}/seed {key[2]} failed: {cell.error}", file=sys.stderr)
            post()
        elif kind == "lost":
            running.pop(key, None)
            if cell.attempts <= max_retries:
                bar.write(f"cell {key[0]}/{key[1]}/seed {key[2]}: {payload}; resuming it from round "
                          f"{cell.stored_rounds} (attempt {cell.attempts + 1})", file=sys.stderr)
                queue.insert(0, cell)
            else:
                cell.status, cell.error = "failed", f"{payload} ({cell.attempts} attempts)"
                store.set_status(cell.run_id, "failed", message=cell.error[:500])
                n_done += 1
                post()

    post()
    old_sigterm = None
    try:
        try:  # `kill PID` stops the sweep like Ctrl-C (the rounds written so far stay; none is half-written)
            old_sigterm = signal.signal(signal.SIGTERM, signal.default_int_handler)
        except ValueError:  # not the main thread
            old_sigterm = None
        while queue or running:
            while queue and len(running) < engine.capacity:
                dispatch(queue.pop(0))
            engine.poll(handle, timeout=0.25)
    except KeyboardInterrupt:
        engine.close(cancel=True)
        for cell in list(running.values()):
            store.set_status(cell.run_id, "interrupted",
                             message="the sweep was stopped; run the same spec again to resume")
            cell.status = "interrupted"
        bar.close()
        raise
    finally:
        if old_sigterm is not None:
            signal.signal(signal.SIGTERM, old_sigterm)
    engine.close()
    bar.close()
    return cells


def sweep(
    spec: SweepSpec | Mapping[str, Any] | str | Path,
    *,
    workspace: str | Path | None = None,
    engine: str | Engine | None = None,
    workers: int | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    gpus_per_cell: float | None = None,
    progress: bool = True,
    max_retries: int = 2,
    inject: Mapping[tuple, Mapping[str, int]] | None = None,
) -> SweepResult:
    """Run a sweep: every (dataset, strategy, seed) cell of ``spec`` as a run in the store.

    Parameters
    ----------
    spec : SweepSpec, dict or path of a TOML file
    engine : {"serial", "process", "ray"} or Engine, optional
        Default ``"serial"``. ``workers`` belongs to ``process``; ``address`` (``HOST:PORT`` of a
        running cluster), ``num_cpus`` (a local Ray with that many CPUs) and ``gpus_per_cell`` to ``ray``.
    max_retries : int, default 2
        Times a cell whose worker died is resubmitted (it resumes from its last stored round).

    Returns
    -------
    SweepResult
        ``.ok`` is False when a cell failed (``.failed`` lists them); the sweep itself goes on.
    """
    from alkit.data import load_dataset
    from alkit.store import RunStore, resolve_workspace

    if isinstance(spec, (str, Path)):
        spec = SweepSpec.from_toml(spec)
    elif isinstance(spec, Mapping):
        spec = SweepSpec.from_dict(spec)
    elif not isinstance(spec, SweepSpec):
        raise SweepError(f"spec must be a SweepSpec, a dict or a TOML path, got {type(spec).__name__}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise SweepError(f"max_retries must be an integer >= 0, got {max_retries!r}")
    configs = spec.configs()
    for ds in spec.datasets:  # fail before anything runs when a dataset cannot be loaded or is too small
        opts = spec.datasets_options.get(ds, {})
        data = load_dataset(ds, **opts.get("params", {}))
        for cfg in configs:
            c = cfg.resolved()
            if c.dataset == ds and c.initial + c.query * c.rounds > len(data.x_train):  # type: ignore[operator]
                raise SweepError(f"{ds}: initial {c.initial} + {c.rounds} rounds x {c.query} labels exceed the pool "
                                 f"({len(data.x_train)} items)")
    eng = make_engine(engine, workers=workers, address=address, num_cpus=num_cpus, gpus_per_cell=gpus_per_cell)
    ws = resolve_workspace(workspace)
    sid = spec.sweep_id
    t0 = time.perf_counter()
    with RunStore(ws) as store:
        store.register_sweep(sid, spec.to_dict(), name=spec.name, n_cells=len(configs))
        try:
            cells = run_cells(configs, store=store, engine=eng, sweep_id=sid, progress=progress,
                              max_retries=max_retries, inject=inject, desc=f"{sid} [{eng.describe()}]")
        except BaseException:
            eng.close(cancel=True)
            raise
    rows = [{"dataset": c.key[0], "strategy": c.key[1], "seed": c.key[2], "run_id": c.run_id, "status": c.status,
             "action": c.action, "error": c.error,
             "seconds": None if c.summary is None else c.summary.get("seconds")} for c in cells]
    return SweepResult(sid, str(ws), rows, time.perf_counter() - t0, eng.describe())


def sweep_curves(store: Any, sweep_id: str) -> dict[str, dict[str, dict[int, tuple[list[int], list[float]]]]]:
    """``{dataset: {strategy: {seed: (n_labeled, accuracy)}}}`` of the rounds stored so far.

    A running cell has a shorter curve; a cell without rounds is left out. Strategies keep the
    spec's order.
    """
    sid = store.resolve_sweep_id(sweep_id)
    spec = store.get_sweep(sid)["spec"]
    order = {s: i for i, s in enumerate(spec.get("strategies", []))}
    out: dict[str, dict[str, dict[int, tuple[list[int], list[float]]]]] = {}
    cells = sorted(store.sweep_cells(sid), key=lambda c: (c["dataset"], order.get(c["strategy"], 1e9), c["seed"]))
    for c in cells:
        if not c["n_rounds"]:
            continue
        rounds = store.get_rounds(c["run_id"])
        n = [int(r["n_labeled"]) for r in rounds if r["metrics"].get("accuracy") is not None]
        a = [float(r["metrics"]["accuracy"]) for r in rounds if r["metrics"].get("accuracy") is not None]
        if n:
            out.setdefault(c["dataset"], {}).setdefault(c["strategy"], {})[int(c["seed"])] = (n, a)
    return out
