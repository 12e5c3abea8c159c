"""The Embeddings page's maps, computed away from the page and kept on disk.

A map (:mod:`alkit.viz.embedding`: an aligned UMAP over a run's rounds, the input space of a dataset,
or one round's model features) is named by a :class:`MapSpec` and stored as
``<workspace>/cache/maps/<space>-<method>-<hash>.npz``, the hash covering the data it was computed
from (the stored embeddings of the rounds, or the dataset's inputs) and the parameters: a new round,
or other data, gives another file; a stale map is never drawn. The page only reads that folder and
the store; it never writes the store.

UMAP maps are computed by :class:`MapService`: a thread of the dashboard's process that runs a child
process (``python -m alkit.app.maps compute JOBS.json``, at a lower priority) for the queued maps, so
the page never waits and the server's Python stays free for other pages. The child gets
``NUMBA_CACHE_DIR`` (:func:`numba_dir`, one folder per user) and uses
:func:`alkit.viz.embedding.import_umap`, so numba's compiled code is reused by the next child, in any
workspace, instead of compiled again. The dashboard's run worker asks
for a run's maps after each round (:func:`schedule_run`), so they are usually ready before anyone opens
the page. PCA maps are instant and computed in the page itself (:func:`compute`).

``python -m alkit.app.maps precompute [WORKSPACE]`` computes every run's aligned map and every dataset's
input map in this process (e.g. after ``alkit demo``).
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from alkit.store import RunStore
from alkit.store.workspace import cache_dir
from alkit.viz.embedding import (
    METHODS,
    SPACES,
    MapLayout,
    aligned_umap_map,
    array_digest,
    cached_layout,
    input_space_map,
    layout_key,
    load_layout,
    round_space_map,
)

__all__ = ["MapSpec", "MapService", "maps_dir", "numba_dir", "key_parts", "cached", "compute", "service",
           "schedule_run", "precompute", "SPACE_TITLES", "child_env"]

#: What each space means, as the page says it.
SPACE_TITLES = {
    "aligned": "Aligned UMAP over rounds",
    "input": "Input space",
    "round": "One round's model features",
}

#: Parameters of every UMAP map (part of the cache key). The aligned map optimises every round's slice at
#: once, and its time grows with the epochs. On the demo's digits run (11 slices), 100 epochs take 72.5 s
#: against 124.7 s for 200. The map keeps 50-52 % of each item's 10 nearest feature-space neighbours, against
#: 53-54 % (``python -m benchmarks.aligned_epochs``, ``benchmarks/results/aligned_epochs.json``).
UMAP_PARAMS = {"n_neighbors": 15, "min_dist": 0.1, "n_epochs": 200, "aligned_epochs": 100, "seed": 0}
INPUT_MAX_FIT = 5000


def maps_dir(workspace: str | os.PathLike | None) -> Path:
    """``<workspace>/cache/maps``: the computed maps."""
    return cache_dir(workspace) / "maps"


def numba_dir() -> Path:
    """Where the map children keep numba's compiled code: ``$NUMBA_CACHE_DIR`` when set, else
    ``$XDG_CACHE_HOME/alkit/numba`` (``~/.cache/alkit/numba``). One folder per user, not per workspace:
    the code is the same for every workspace, so a new workspace does not compile it again."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "alkit" / "numba"


def child_env() -> dict[str, str]:
    """The environment of a map child: this one, with ``NUMBA_CACHE_DIR`` = :func:`numba_dir`."""
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(numba_dir())
    return env


@dataclass(frozen=True)
class MapSpec:
    """Which map: ``space`` in :data:`SPACES`, ``method`` in :data:`METHODS`.

    ``aligned``: ``run_id`` and ``rounds`` (the rounds with stored embeddings, in order). ``round``:
    ``run_id`` and ``ref_round``. ``input``: ``dataset`` and ``dataset_params`` (JSON text, sorted keys).
    """

    space: str
    method: str = "umap"
    run_id: str | None = None
    rounds: tuple[int, ...] = ()
    ref_round: int | None = None
    dataset: str | None = None
    dataset_params: str = "{}"

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {self.space!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.space == "aligned":
            if self.method != "umap":
                raise ValueError("an aligned map is an AlignedUMAP: method must be 'umap'")
            if not self.run_id or not self.rounds:
                raise ValueError("an aligned map needs run_id and rounds")
        if self.space == "round" and (not self.run_id or self.ref_round is None):
            raise ValueError("a one-round map needs run_id and ref_round")
        if self.space == "input" and not self.dataset:
            raise ValueError("an input-space map needs the dataset's name")

    @property
    def name(self) -> str:
        """A stable text id of the request (not of the data: see :func:`key_parts`)."""
        return json.dumps(asdict(self), sort_keys=True)

    @property
    def slot(self) -> str:
        """Requests that replace one another in the queue (an aligned map of fewer rounds is stale)."""
        return json.dumps([self.space, self.method, self.run_id, self.ref_round, self.dataset, self.dataset_params])

    @classmethod
    def from_name(cls, name: str) -> MapSpec:
        d = json.loads(name)
        d["rounds"] = tuple(d.get("rounds") or ())
        return cls(**d)

    @classmethod
    def for_run(cls, run: dict, space: str, *, method: str = "umap", rounds: list[int] | None = None,
                ref_round: int | None = None) -> MapSpec:
        """The spec of a stored run (``RunStore.list_runs`` row): ``rounds`` = its rounds with embeddings."""
        if space == "input":
            params = (run.get("config") or {}).get("dataset_params") or {}
            return cls("input", method, dataset=run["dataset"], dataset_params=json.dumps(params, sort_keys=True))
        return cls(space, method, run_id=run["run_id"], rounds=tuple(int(r) for r in (rounds or ())) if
                   space == "aligned" else (), ref_round=None if space == "aligned" else ref_round)


# ------------------------------------------------------------------ data, keys, computing
_DS_LOCK = threading.Lock()
_DS_DIGESTS: dict[tuple[str, str], str] = {}


def _dataset(spec: MapSpec, dataset: Any = None) -> Any:
    if dataset is not None:
        return dataset
    from alkit.data import load_dataset

    return load_dataset(spec.dataset, **json.loads(spec.dataset_params))


def _inputs_digest(spec: MapSpec, ds: Any) -> str:
    k = (spec.dataset, spec.dataset_params)
    with _DS_LOCK:
        if k not in _DS_DIGESTS:
            _DS_DIGESTS[k] = array_digest(ds.x_train)
        return _DS_DIGESTS[k]


def _round_data(store: RunStore, spec: MapSpec, rounds: tuple[int, ...]) -> list[tuple[Any, Any]]:
    out = []
    for r in rounds:
        got = store.get_embeddings(spec.run_id, int(r))
        if got is None:
            raise ValueError(f"run {spec.run_id} has no stored embeddings for round {r}")
        out.append(got)
    return out


def key_parts(spec: MapSpec, store: RunStore | None = None, *, dataset: Any = None,
              data: list[tuple[Any, Any]] | None = None) -> dict[str, Any]:
    """What the map's cache file is keyed by: the spec, the parameters and digests of the data."""
    parts: dict[str, Any] = {"space": spec.space, "method": spec.method, "params": UMAP_PARAMS, "v": 1}
    if spec.space == "input":
        ds = _dataset(spec, dataset)
        parts.update(dataset=spec.dataset, dataset_params=spec.dataset_params, inputs=_inputs_digest(spec, ds),
                     max_fit=INPUT_MAX_FIT)
        return parts
    if store is None:
        raise ValueError(f"a {spec.space} map needs the run store")
    rounds = spec.rounds if spec.space == "aligned" else (int(spec.ref_round),)
    data = _round_data(store, spec, rounds) if data is None else data
    parts.update(run_id=spec.run_id, rounds=[int(r) for r in rounds],
                 data=[array_digest(i, e) for i, e in data])
    return parts


def cached(spec: MapSpec, workspace: str | os.PathLike, store: RunStore | None = None, *,
           dataset: Any = None) -> MapLayout | None:
    """The stored map of ``spec`` (for the data as it is now), or None: reads only, computes nothing."""
    path = maps_dir(workspace) / f"{layout_key(key_parts(spec, store, dataset=dataset))}.npz"
    if not path.exists():
        return None
    try:
        return load_layout(path)
    except Exception:  # noqa: BLE001 - half-written by a killed process: it will be computed again
        return None


def compute(spec: MapSpec, workspace: str | os.PathLike, store: RunStore | None = None, *,
            dataset: Any = None) -> tuple[MapLayout, bool]:
    """The map of ``spec``: from the cache folder, else computed here and stored there. ``(layout, hit)``."""
    own = store is None and spec.space != "input"
    if own:
        store = RunStore(workspace, readonly=True)
    try:
        if spec.space == "input":
            ds = _dataset(spec, dataset)
            parts = key_parts(spec, dataset=ds)
            return cached_layout(maps_dir(workspace), parts, lambda: input_space_map(
                ds.x_train, method=spec.method, max_fit=INPUT_MAX_FIT, seed=UMAP_PARAMS["seed"],
                **_projector_kw(spec.method)))
        rounds = spec.rounds if spec.space == "aligned" else (int(spec.ref_round),)
        data = _round_data(store, spec, rounds)
        parts = key_parts(spec, store, data=data)
        if spec.space == "aligned":
            return cached_layout(maps_dir(workspace), parts, lambda: aligned_umap_map(
                [e for _, e in data], [i for i, _ in data], rounds, **_aligned_kw()))
        return cached_layout(maps_dir(workspace), parts, lambda: round_space_map(
            data[0][0], data[0][1], int(spec.ref_round), method=spec.method, seed=UMAP_PARAMS["seed"],
            **_projector_kw(spec.method)))
    finally:
        if own and store is not None:
            store.close()


def _projector_kw(method: str) -> dict[str, Any]:
    if method != "umap":
        return {}
    return {"n_neighbors": UMAP_PARAMS["n_neighbors"], "min_dist": UMAP_PARAMS["min_dist"],
            "n_epochs": UMAP_PARAMS["n_epochs"]}


def _aligned_kw() -> dict[str, Any]:
    return {"n_neighbors": UMAP_PARAMS["n_neighbors"], "min_dist": UMAP_PARAMS["min_dist"],
            "n_epochs": UMAP_PARAMS["aligned_epochs"], "seed": UMAP_PARAMS["seed"]}


# ------------------------------------------------------------------ the background service
@dataclass
class MapState:
    """Where a requested map stands: ``state`` is ``queued``, ``computing``, ``failed`` or ``unknown``
    (not asked for in this process); ``since`` is when it was queued or when its computation started
    (``time.time()``); ``error`` the child's message when it failed."""

    state: str
    since: float | None = None
    error: str | None = None


class MapService:
    """Computes queued maps of one workspace in child processes, one child at a time and one map per child,
    urgent requests first.

    A request for a map already queued or computing changes nothing; a request for an aligned map of
    more rounds replaces a queued one of fewer (:attr:`MapSpec.slot`). Thread-safe.
    """

    def __init__(self, workspace: str | os.PathLike) -> None:
        self.workspace = Path(workspace)
        self._cond = threading.Condition()
        self._queue: dict[str, tuple[MapSpec, float]] = {}  # slot -> (spec, queued at)
        self._running: dict[str, float] = {}  # spec name -> started at
        self._batch: dict[str, float] = {}  # spec name -> queued at, handed to the current child
        self._failed: dict[str, str] = {}
        self._done: set[str] = set()
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self.children = 0  # child processes started (for tests and the benchmark)

    def request(self, spec: MapSpec, *, urgent: bool = False) -> MapState:
        """Queue ``spec`` unless it is queued or computing already; ``urgent`` puts it first."""
        with self._cond:
            name = spec.name
            if name in self._failed:
                return MapState("failed", error=self._failed[name])
            if name in self._running:
                return MapState("computing", self._running[name])
            queued = self._queue.get(spec.slot)
            if queued is not None and queued[0].name == name:
                if urgent:
                    self._queue = {spec.slot: queued, **{k: v for k, v in self._queue.items() if k != spec.slot}}
                return MapState("queued", queued[1])
            if name in self._batch:  # handed to the child, not started yet
                return MapState("queued", self._batch[name])
            item = (spec, time.time())
            rest = {k: v for k, v in self._queue.items() if k != spec.slot}
            self._queue = {spec.slot: item, **rest} if urgent else {**rest, spec.slot: item}
            self._done.discard(name)
            self._start()
            self._cond.notify_all()
            return MapState("queued", item[1])

    def state(self, spec: MapSpec) -> MapState:
        with self._cond:
            name = spec.name
            if name in self._failed:
                return MapState("failed", error=self._failed[name])
            if name in self._running:
                return MapState("computing", self._running[name])
            q = self._queue.get(spec.slot)
            if q is not None and q[0].name == name:
                return MapState("queued", q[1])
            if name in self._batch:
                return MapState("queued", self._batch[name])
            return MapState("done" if name in self._done else "unknown")

    def forget_failure(self, spec: MapSpec) -> None:
        with self._cond:
            self._failed.pop(spec.name, None)

    def idle(self) -> bool:
        with self._cond:
            return not self._queue and not self._batch

    def wait_idle(self, timeout: float = 600.0) -> bool:
        """Block until nothing is queued or computing (tests, the benchmark); True when idle."""
        t_end = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._batch:
                left = t_end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name=f"alkit-maps-{self.workspace.name}", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait(5.0)
                # one map per child: a map asked for urgently while a child works goes next, not after a
                # batch of others (a child's start-up, a few seconds, is small beside a UMAP's minutes)
                slot, (spec, at) = next(iter(self._queue.items()))
                del self._queue[slot]
                batch = [spec]
                self._batch = {spec.name: at}
            try:
                self._run_child(batch)
            except Exception as exc:  # noqa: BLE001 - reported through state()
                with self._cond:
                    for s in batch:
                        if s.name not in self._done:
                            self._failed[s.name] = f"{type(exc).__name__}: {exc}"
            finally:
                with self._cond:
                    for s in batch:
                        self._running.pop(s.name, None)
                    self._batch = {}
                    self._cond.notify_all()

    def _run_child(self, batch: list[MapSpec]) -> None:
        fd, jobs = tempfile.mkstemp(prefix="alkit-maps-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump({"workspace": str(self.workspace), "jobs": [s.name for s in batch]}, fh)
        try:
            proc = subprocess.Popen([sys.executable, "-m", "alkit.app.maps", "compute", jobs], env=child_env(),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self._proc = proc
            self.children += 1
            _CHILDREN.add(proc)
            err_tail: list[str] = []
            t_err = threading.Thread(target=lambda: err_tail.extend(proc.stderr), daemon=True)
            t_err.start()
            for line in proc.stdout:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                with self._cond:
                    if msg.get("event") == "start":
                        self._running[msg["name"]] = time.time()
                    elif msg.get("event") == "done":
                        self._running.pop(msg["name"], None)
                        self._done.add(msg["name"])
                    elif msg.get("event") == "failed":
                        self._running.pop(msg["name"], None)
                        self._failed[msg["name"]] = msg.get("error", "failed")
                    self._cond.notify_all()
            rc = proc.wait()
            t_err.join(5)
            if rc != 0:
                tail = "".join(err_tail)[-800:]
                with self._cond:
                    for s in batch:
                        if s.name not in self._done and s.name not in self._failed:
                            self._failed[s.name] = f"the map process ended with code {rc}: {tail}"
        finally:
            _CHILDREN.discard(self._proc)
            self._proc = None
            Path(jobs).unlink(missing_ok=True)


_CHILDREN: set[Any] = set()
_SERVICES: dict[str, MapService] = {}
_SERVICES_LOCK = threading.Lock()


@atexit.register
def _stop_children() -> None:
    for proc in list(_CHILDREN):
        if proc is not None and proc.poll() is None:
            proc.terminate()


def service(workspace: str | os.PathLike) -> MapService:
    """The map service of ``workspace`` in this process (one per workspace)."""
    key = str(Path(workspace).resolve())
    with _SERVICES_LOCK:
        if key not in _SERVICES:
            _SERVICES[key] = MapService(key)
        return _SERVICES[key]


def run_specs(store: RunStore, run: dict) -> list[MapSpec]:
    """The UMAP maps worth having ready for a run: its aligned map (when it stored embeddings) and its
    dataset's input-space map."""
    specs = [MapSpec.for_run(run, "input")]
    rounds = [r["round"] for r in store.get_rounds(run["run_id"]) if r["has_embeddings"]]
    if rounds:
        specs.insert(0, MapSpec.for_run(run, "aligned", rounds=rounds))
    return specs


def schedule_run(workspace: str | os.PathLike, run_id: str, store: RunStore | None = None) -> list[MapSpec]:
    """Queue a run's UMAP maps (:func:`run_specs`) in the background; what the run worker calls after
    each round. The child skips a map whose file exists already."""
    own = store is None
    store = RunStore(workspace, readonly=True) if own else store
    try:
        run = store.get_run(run_id)
        specs = run_specs(store, run)
    finally:
        if own:
            store.close()
    svc = service(workspace)
    for s in specs:
        svc.request(s)
    return specs


def precompute(workspace: str | os.PathLike | None = None, *, verbose: bool = True) -> list[tuple[str, bool, float]]:
    """Compute every run's aligned map and each dataset's input map in this process: ``(file, hit, s)``."""
    ws = cache_dir(workspace).parent
    store = RunStore(ws, readonly=True)
    out, seen = [], set()
    try:
        for run in store.list_runs():
            if run["n_rounds"] < 1:
                continue
            for spec in run_specs(store, run):
                if spec.name in seen:
                    continue
                seen.add(spec.name)
                t0 = time.perf_counter()
                layout, hit = compute(spec, ws, store)
                out.append((f"{spec.space} {spec.run_id or spec.dataset}", hit, time.perf_counter() - t0))
                if verbose:
                    print(f"{out[-1][0]}: {'cached' if hit else 'computed'} in {out[-1][2]:.1f} s", flush=True)
    finally:
        store.close()
    return out


def _exit_with_parent(every: float = 1.0) -> None:
    """End this child as soon as the process that started it is gone (a killed dashboard must not leave a
    UMAP computing for nobody): a daemon thread that watches the parent's pid."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="alkit-maps-parent", daemon=True).start()


def _child(jobs_file: str) -> None:
    """The child process: compute each job in order, one JSON line per start / end on stdout."""
    try:
        os.nice(5)  # the dashboard's own work goes first
    except (AttributeError, OSError):
        pass
    _exit_with_parent()
    import torch

    torch.set_num_threads(1)
    job = json.loads(Path(jobs_file).read_text())
    ws = job["workspace"]
    store = RunStore(ws, readonly=True)
    for name in job["jobs"]:
        print(json.dumps({"event": "start", "name": name}), flush=True)
        try:
            spec = MapSpec.from_name(name)
            compute(spec, ws, None if spec.space == "input" else store)
        except Exception as exc:  # noqa: BLE001 - sent to the page
            print(json.dumps({"event": "failed", "name": name, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
            continue
        print(json.dumps({"event": "done", "name": name}), flush=True)
    store.close()


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 2 and args[0] == "compute":
        _child(args[1])
    elif args and args[0] == "precompute" and len(args) <= 2:
        ws = args[1] if len(args) == 2 else None
        os.environ["NUMBA_CACHE_DIR"] = str(numba_dir())
        precompute(ws)
    else:
        raise SystemExit("usage: python -m alkit.app.maps compute JOBS.json | precompute [WORKSPACE]")


if __name__ == "__main__":
    main()
