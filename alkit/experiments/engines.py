"""Where the cells of a sweep run: in this process, in local worker processes, or on a Ray cluster.

A *cell* is one ordinary run (dataset, strategy, seed). Workers never open the SQLite store: a worker
gets a :class:`CellTask` (the run's config, its id, and the records already stored for it) and yields
*messages* — one per stored round, one per status change — that the driver writes into the store, in
order, one transaction per round. So a worker needs no shared file system, the store has one writer,
and the dashboard sees every round as soon as the driver has written it.

Every engine implements the same small interface (:class:`Engine`):

``capacity``
    how many cells may run at once;
``submit(task)``
    start a cell;
``poll(handle, timeout)``
    wait up to ``timeout`` seconds and call ``handle(event)`` for what happened, in order, where an
    event is ``("msg", key, message)``, ``("done", key, summary)`` or ``("lost", key, reason)`` (the
    worker died; the driver resubmits the cell, which resumes from its last stored round);
``close(cancel)``
    stop the workers (``cancel=True``: running cells are abandoned).

Messages are ``("round", round_idx, log_round kwargs)`` and ``("status", status, message)``; the
summary of a finished cell is ``{"ok": bool, "error": str | None, "n": [...], "acc": [...], "seconds": s}``.
"""

from __future__ import annotations

import os
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CellTask", "Engine", "ENGINES", "check_engine_options", "ProcessEngine", "RayEngine", "SerialEngine", "iter_cell", "make_engine",
           "ray_available"]

ENGINES = ("serial", "process", "ray")

Key = tuple[str, str, int]
Handle = Callable[[tuple], None]


@dataclass
class CellTask:
    """Everything a worker needs to run (or go on with) one cell; picklable, no store handle."""

    key: Key
    """(dataset, strategy, seed)."""
    run_id: str
    config: dict[str, Any]
    """``ALConfig.to_dict()`` of the run."""
    records: dict[str, Any] = field(default_factory=dict)
    """What the store already holds for the run (``rounds``, ``selections``, ``state``); empty for a new run."""
    threads: int = 1
    """``torch.set_num_threads`` in the worker."""
    workspace: str | None = None
    """The driver's workspace: used as the cache folder when the worker can see it (same machine)."""
    fail_after: int | None = None
    """Testing aid: raise after this many rounds of this attempt (a cell that fails)."""
    die_after: int | None = None
    """Testing aid: ``os._exit`` after this many rounds of this attempt, once (a worker that dies)."""


class _CellStore:
    """The run store a worker sees: reads answer from ``task.records``, writes become messages."""

    def __init__(self, task: CellTask) -> None:
        self.task = task
        self.outbox: list[tuple] = []
        ws = task.workspace
        self.workspace = Path(ws) if ws and Path(ws).is_dir() else None
        rec = task.records
        self._run = {"run_id": task.run_id, "config": task.config}
        self._rounds = list(rec.get("rounds", []))
        self._selections = dict(rec.get("selections", {}))
        self._state = rec.get("state")

    # what ALRun.resume reads
    def get_run(self, run_id: str) -> dict:
        return self._run

    def last_complete_round(self, run_id: str) -> int:
        return len(self._rounds) - 1

    def get_rounds(self, run_id: str) -> list[dict]:
        return self._rounds

    def get_selections(self, run_id: str) -> dict[int, dict]:
        return self._selections

    def get_strategy_state(self, run_id: str, upto_round: int | None = None) -> tuple[int, bytes] | None:
        return self._state

    # what ALRun writes
    def create_run(self, *args: Any, **kwargs: Any) -> str:  # pragma: no cover - the driver creates runs
        raise RuntimeError("a sweep worker does not create runs; the driver does")

    def log_round(self, run_id: str, round_idx: int, **kwargs: Any) -> None:
        self.outbox.append(("round", int(round_idx), kwargs))

    def set_status(self, run_id: str, status: str, *, message: str | None = None) -> None:
        self.outbox.append(("status", status, message))

    def drain(self) -> list[tuple]:
        out, self.outbox = self.outbox, []
        return out


_DATASETS: dict[str, Any] = {}  # per worker process: a dataset is loaded once for all its cells


def _dataset(config: Any) -> Any:
    import json

    from alkit.data import load_dataset

    key = json.dumps([config.dataset, config.dataset_params], sort_keys=True, default=str)
    if key not in _DATASETS:
        _DATASETS.clear()  # one dataset at a time: a worker may go through several large ones
        _DATASETS[key] = load_dataset(config.dataset, **config.dataset_params)
    return _DATASETS[key]


def iter_cell(task: CellTask) -> Iterator[tuple]:
    """Run one cell, yielding its messages round by round, and finally ``("summary", summary)``.

    A cell that raises yields a ``failed`` status and a summary with ``ok=False``: the error is the
    cell's, not the engine's. ``KeyboardInterrupt`` propagates (the driver marks the cell interrupted).
    """
    import torch

    from alkit.loop import ALConfig, ALRun

    torch.set_num_threads(task.threads)
    t0 = time.perf_counter()
    store = _CellStore(task)
    done_rounds = 0
    run = None
    try:
        config = ALConfig.from_dict(task.config)
        dataset = _dataset(config)
        if task.records.get("rounds"):
            run = ALRun.resume(store, task.run_id, dataset=dataset)
        else:
            run = ALRun(config, store=store, dataset=dataset, run_id=task.run_id)
        for m in store.drain():
            yield m
        while not run.done:
            if task.fail_after is not None and done_rounds >= task.fail_after:
                raise RuntimeError(f"injected failure after {done_rounds} rounds (CellTask.fail_after)")
            run.step()
            done_rounds += 1
            for m in store.drain():
                yield m
            if task.die_after is not None and done_rounds >= task.die_after:
                os._exit(17)  # a worker killed mid-sweep (testing aid)
    except Exception as exc:  # the cell failed: store it as failed, keep the sweep going
        msg = f"{type(exc).__name__}: {exc}"
        for m in store.drain():
            yield m
        yield ("status", "failed", msg[:500])
        yield ("summary", {"ok": False, "error": msg, "traceback": traceback.format_exc(limit=8),
                           "seconds": time.perf_counter() - t0})
        return
    hist = run.history
    yield ("summary", {"ok": True, "error": None, "n": [h.n_labeled for h in hist], "acc": [h.accuracy for h in hist],
                       "seconds": time.perf_counter() - t0})


def _feed(task: CellTask, handle: Handle) -> None:
    for msg in iter_cell(task):
        if msg[0] == "summary":
            handle(("done", task.key, msg[1]))
        else:
            handle(("msg", task.key, msg))


class Engine:
    """The executor interface every engine implements (see the module docstring)."""

    name = "engine"
    capacity = 1

    def submit(self, task: CellTask) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def poll(self, handle: Handle, timeout: float = 0.2) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self, cancel: bool = False) -> None:
        pass

    def describe(self) -> str:
        return self.name


class SerialEngine(Engine):
    """Cells one after another in this process (one torch thread, like a worker)."""

    name = "serial"

    def __init__(self) -> None:
        self._queue: deque[CellTask] = deque()

    def submit(self, task: CellTask) -> None:
        if task.die_after is not None:
            raise ValueError("die_after (a dying worker) needs the process or ray engine")
        self._queue.append(task)

    def poll(self, handle: Handle, timeout: float = 0.2) -> None:
        if self._queue:
            _feed(self._queue.popleft(), handle)


def _process_worker(conn: Any) -> None:
    """A long-lived worker process: run the cells the driver sends, stream their messages back."""
    import torch

    torch.set_num_threads(1)
    while True:
        try:
            task = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if task is None:
            return
        try:
            for msg in iter_cell(task):
                conn.send(msg)
        except KeyboardInterrupt:
            return


class ProcessEngine(Engine):
    """Local worker processes (spawned once, reused for every cell), one pipe each.

    A worker that dies (killed, out of memory) is reported as ``lost`` and replaced; its pipe is its
    own, so a worker killed in the middle of a message cannot corrupt another worker's messages.
    """

    name = "process"

    def __init__(self, workers: int | None = None) -> None:
        import multiprocessing as mp

        n = workers if workers is not None else (os.cpu_count() or 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.capacity = n
        self._ctx = mp.get_context("spawn")
        self._slots: list[dict[str, Any]] = []  # {"proc", "conn", "task"}

    def _start_worker(self) -> dict[str, Any]:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_process_worker, args=(child,), daemon=True, name="alkit-sweep-worker")
        proc.start()
        child.close()
        slot = {"proc": proc, "conn": parent, "task": None}
        self._slots.append(slot)
        return slot

    def submit(self, task: CellTask) -> None:
        slot = next((s for s in self._slots if s["task"] is None), None)
        if slot is None:
            if len(self._slots) >= self.capacity:
                raise RuntimeError("all workers are busy; submit at most `capacity` cells at a time")
            slot = self._start_worker()
        slot["task"] = task
        slot["conn"].send(task)

    def _lose(self, slot: dict[str, Any], handle: Handle, reason: str) -> None:
        task = slot["task"]
        self._slots.remove(slot)
        try:
            slot["conn"].close()
        except OSError:
            pass
        slot["proc"].join(timeout=1)
        if task is not None:
            handle(("lost", task.key, reason))

    def poll(self, handle: Handle, timeout: float = 0.2) -> None:
        from multiprocessing.connection import wait

        busy = [s for s in self._slots if s["task"] is not None]
        if not busy:
            return
        ready = wait([s["conn"] for s in busy], timeout=timeout)
        for slot in busy:
            if slot["conn"] not in ready:
                continue
            conn = slot["conn"]
            try:
                while conn.poll():
                    msg = conn.recv()
                    key = slot["task"].key
                    if msg[0] == "summary":
                        slot["task"] = None
                        handle(("done", key, msg[1]))
                        break
                    handle(("msg", key, msg))
            except (EOFError, OSError, ConnectionError):
                code = slot["proc"].exitcode
                slot["proc"].join(timeout=2)
                code = slot["proc"].exitcode if code is None else code
                self._lose(slot, handle, f"worker process died (exit code {code})")
        for slot in [s for s in self._slots if s["task"] is not None and not s["proc"].is_alive()]:
            conn = slot["conn"]
            try:  # what it sent before dying still counts
                while conn.poll():
                    msg = conn.recv()
                    if msg[0] == "summary":
                        key = slot["task"].key
                        slot["task"] = None
                        handle(("done", key, msg[1]))
                        break
                    handle(("msg", slot["task"].key, msg))
            except (EOFError, OSError, ConnectionError):
                pass
            if slot["task"] is not None:
                self._lose(slot, handle, f"worker process died (exit code {slot['proc'].exitcode})")

    def close(self, cancel: bool = False) -> None:
        for slot in self._slots:
            try:
                if cancel:
                    slot["proc"].terminate()
                else:
                    slot["conn"].send(None)
            except (OSError, BrokenPipeError):
                pass
        for slot in self._slots:
            slot["proc"].join(timeout=5)
            if slot["proc"].is_alive():
                slot["proc"].kill()
                slot["proc"].join(timeout=2)
            slot["conn"].close()
        self._slots = []

    def describe(self) -> str:
        return f"process ({self.capacity} workers)"


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


RAY_HINT = "Ray is not installed; install it with: pip install 'alkit[ray]' (or: pip install ray)"


def _ray_warm_up() -> int:
    import alkit.loop  # noqa: F401  (torch, the registries)

    return os.getpid()


def _ray_cell(task: CellTask) -> Iterator[tuple]:
    # Plain loops, not `yield from`: Ray's executor calls send() on the generator it runs.
    for msg in iter_cell(task):  # noqa: UP028
        yield msg


class RayEngine(Engine):
    """Cells as Ray generator tasks: each task yields its messages, the driver writes them.

    Parameters
    ----------
    address : str, optional
        ``HOST:PORT`` of a running cluster (``ray start --head``); default: start a local Ray
        (or use the one this process already started).
    num_cpus : int, optional
        CPUs of the local Ray started here (default: all); not allowed with ``address``.
    gpus_per_cell : float, default 0
        GPUs each cell asks for (fractions share a GPU).
    """

    name = "ray"

    def __init__(self, *, address: str | None = None, num_cpus: int | None = None, gpus_per_cell: float = 0.0) -> None:
        if not ray_available():
            raise ImportError(RAY_HINT)
        import ray

        if address is not None and num_cpus is not None:
            raise ValueError("--num-cpus starts a local Ray; it cannot be combined with --address (the cluster "
                             "has its own CPUs)")
        if num_cpus is not None and (isinstance(num_cpus, bool) or not isinstance(num_cpus, int) or num_cpus < 1):
            raise ValueError(f"num_cpus must be a positive integer, got {num_cpus!r}")
        try:
            gpus_per_cell = float(gpus_per_cell)
        except (TypeError, ValueError):
            raise ValueError(f"gpus_per_cell must be a number >= 0, got {gpus_per_cell!r}") from None
        if gpus_per_cell < 0:
            raise ValueError(f"gpus_per_cell must be >= 0, got {gpus_per_cell}")
        if address is not None and (not isinstance(address, str) or ":" not in address):
            raise ValueError(f"address must be HOST:PORT of a Ray head (ray start --head), got {address!r}")
        t0 = time.perf_counter()
        self._owns_ray = False
        if ray.is_initialized() and address is not None:
            current = ray.get_runtime_context().gcs_address
            if current != address:
                raise ValueError(f"this process is already connected to the Ray cluster at {current}; "
                                 f"it cannot join {address} too (ray.shutdown() first)")
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "logging_level": "ERROR"}
            if address is not None:
                kw["address"] = address
            else:  # a new local Ray, even where `ray start` left a cluster address behind in /tmp/ray
                kw["address"] = "local"
                if num_cpus is not None:
                    kw["num_cpus"] = num_cpus
            try:
                ray.init(**kw)
            except ConnectionError as e:
                raise ConnectionError(f"cannot reach a Ray cluster at {address}: {e}") from None
            except Exception as e:  # noqa: BLE001 - Ray raises bare Exceptions when its processes do not come up
                where = f"join the Ray cluster at {address}" if address else "start a local Ray"
                raise RuntimeError(f"could not {where}: {' '.join(str(e).split())[:300]}") from None
            self._owns_ray = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        gpus = float(ray.cluster_resources().get("GPU", 0))
        if gpus_per_cell > gpus:
            raise ValueError(f"gpus_per_cell={gpus_per_cell:g} but the Ray cluster has {gpus:g} GPUs")
        self.capacity = cpus if gpus_per_cell == 0 else max(1, min(cpus, int(gpus // gpus_per_cell)))
        self.gpus_per_cell = gpus_per_cell
        self._remote = ray.remote(num_cpus=1, num_gpus=gpus_per_cell, max_retries=0)(_ray_cell)
        self._running: dict[Any, CellTask] = {}  # generator -> task
        # Start the workers now (each imports torch and alkit once): that is start-up, not the first cells' time.
        warm = ray.remote(num_cpus=1, num_gpus=gpus_per_cell, max_retries=0)(_ray_warm_up)
        ray.get([warm.remote() for _ in range(self.capacity)])
        self.startup_seconds = time.perf_counter() - t0

    def submit(self, task: CellTask) -> None:
        self._running[self._remote.remote(task)] = task

    def poll(self, handle: Handle, timeout: float = 0.2) -> None:
        import ray

        if not self._running:
            return
        gens = list(self._running)
        # As soon as one cell has news (a cell that ends frees its slot for the next one at once) ...
        ready, rest = ray.wait(gens, num_returns=1, timeout=timeout)
        if ready and rest:  # ... and whatever else is ready by then
            ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        for gen in ready:
            task = self._running[gen]
            while True:
                try:
                    ref = next(gen)
                    msg = ray.get(ref)
                except StopIteration:
                    self._running.pop(gen, None)
                    handle(("lost", task.key, "the Ray task ended without a summary"))
                    break
                except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                        ray.exceptions.RayActorError, ray.exceptions.ObjectLostError) as e:
                    self._running.pop(gen, None)
                    handle(("lost", task.key, f"Ray worker died: {type(e).__name__}"))
                    break
                except ray.exceptions.RayTaskError as e:
                    self._running.pop(gen, None)
                    handle(("done", task.key, {"ok": False, "error": str(e).splitlines()[-1][:500], "seconds": 0.0}))
                    break
                if msg[0] == "summary":
                    self._running.pop(gen, None)
                    handle(("done", task.key, msg[1]))
                    break
                handle(("msg", task.key, msg))
                if not ray.wait([gen], timeout=0)[0]:
                    break

    def close(self, cancel: bool = False) -> None:
        import ray

        if cancel:
            for gen in list(self._running):
                try:
                    ray.cancel(gen, force=True)
                except Exception:  # noqa: BLE001 - best effort while stopping
                    pass
        self._running = {}
        if self._owns_ray:
            ray.shutdown()

    def describe(self) -> str:
        return f"ray ({self.capacity} cells at a time)"


def check_engine_options(name: str, *, workers: int | None = None, address: str | None = None,
                         num_cpus: int | None = None, gpus_per_cell: float | None = None) -> None:
    """Refuse an unknown engine and options that do not belong to it, before anything starts."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}")
    ray_opts = [k for k, v in (("address", address), ("num_cpus", num_cpus), ("gpus_per_cell", gpus_per_cell))
                if v is not None]
    if name != "ray" and ray_opts:
        flags = ", ".join("--" + k.replace("_", "-") for k in ray_opts)
        verb = "belongs" if len(ray_opts) == 1 else "belong"
        raise ValueError(f"{flags} {verb} to the ray engine; add --engine ray (engine is {name!r})")
    if name != "process" and workers is not None:
        raise ValueError(f"--workers belongs to the process engine (engine is {name!r})"
                         + ("; Ray takes --num-cpus" if name == "ray" else ""))
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"--workers must be a positive integer, got {workers!r}")
    if num_cpus is not None and (isinstance(num_cpus, bool) or not isinstance(num_cpus, int) or num_cpus < 1):
        raise ValueError(f"--num-cpus must be a positive integer, got {num_cpus!r}")
    if address is not None and num_cpus is not None:
        raise ValueError("--num-cpus starts a local Ray; it cannot be combined with --address (the cluster has "
                         "its own CPUs)")
    if address is not None and (not isinstance(address, str) or ":" not in address):
        raise ValueError(f"--address must be HOST:PORT of a Ray head (ray start --head), got {address!r}")
    if gpus_per_cell is not None:
        if isinstance(gpus_per_cell, bool) or not isinstance(gpus_per_cell, (int, float)) or gpus_per_cell < 0:
            raise ValueError(f"--gpus-per-cell must be a number >= 0, got {gpus_per_cell!r}")
    if name == "ray" and not ray_available():
        raise ImportError(RAY_HINT)


def make_engine(engine: str | Engine | None = None, *, workers: int | None = None, address: str | None = None,
                num_cpus: int | None = None, gpus_per_cell: float | None = None) -> Engine:
    """An engine by name; options that do not belong to it are an error (not silently ignored).

    ``None`` picks ``serial``. ``workers`` is the process engine's; ``address``, ``num_cpus`` and
    ``gpus_per_cell`` are Ray's.
    """
    if isinstance(engine, Engine):
        return engine
    name = engine or "serial"
    check_engine_options(name, workers=workers, address=address, num_cpus=num_cpus, gpus_per_cell=gpus_per_cell)
    if name == "serial":
        return SerialEngine()
    if name == "process":
        return ProcessEngine(workers)
    return RayEngine(address=address, num_cpus=num_cpus, gpus_per_cell=gpus_per_cell or 0.0)
