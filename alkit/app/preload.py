"""What the dashboard's server does for its pages before and between visits.

* :func:`dataset`: the datasets of stored runs, loaded once per server process (every page that shows
  images or true classes uses them; Fashion-MNIST loads from disk in 0.7-0.9 s, `dataset_load_s` in
  `benchmarks/results/embeddings_first_open.json`).
* :class:`Preloader`: a daemon thread that :mod:`alkit.app.boot` starts with the server. It loads the
  dataset of the newest run, the one every page opens on, and works out its input digest (what the
  Embeddings page's map cache is keyed by); that happens while the visitor's browser is still loading
  Streamlit's frontend. Ten seconds later, once the first visit has had the CPU, it starts watching the
  store: for runs that stored model features it queues their UMAP maps in :func:`alkit.app.maps.service`,
  the newest first, and checks again every ``interval`` seconds. So runs written by ``alkit run``,
  ``alkit demo`` or a sweep, while the dashboard is up or before it started, get their maps too, not only
  the dashboard's own runs (which queue theirs after each round).

Nothing here writes the run store; the maps go to ``<workspace>/cache/maps`` through the map service.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

__all__ = ["dataset", "is_loaded", "Preloader", "start"]

_MAX_DATASETS = 4
_LOCK = threading.Lock()
_LOADED: OrderedDict[tuple[str, str], Any] = OrderedDict()
_LOADING: dict[tuple[str, str], threading.Lock] = {}


def _key(name: str, params: str | dict | None) -> tuple[str, str]:
    if params is None or isinstance(params, dict):
        params = json.dumps(params or {}, sort_keys=True)
    return str(name), str(params)


def is_loaded(name: str, params: str | dict | None = None) -> bool:
    """Whether :func:`dataset` has this one in memory already (the page shows a spinner otherwise)."""
    with _LOCK:
        return _key(name, params) in _LOADED


def dataset(name: str, params: str | dict | None = None) -> Any:
    """``alkit.data.load_dataset(name, **params)``, loaded once per process and shared by every thread.

    ``params``: a dict or its JSON text (sorted keys). Two threads asking for the same dataset at once load it
    once (the second waits for the first). At most four datasets are kept, the least recently used goes first.
    A load that fails raises and keeps nothing.
    """
    key = _key(name, params)
    with _LOCK:
        if key in _LOADED:
            _LOADED.move_to_end(key)
            return _LOADED[key]
        gate = _LOADING.setdefault(key, threading.Lock())
    with gate:
        with _LOCK:
            if key in _LOADED:
                return _LOADED[key]
        from alkit.data import load_dataset

        ds = load_dataset(key[0], **json.loads(key[1]))
        with _LOCK:
            _LOADED[key] = ds
            _LOADED.move_to_end(key)
            while len(_LOADED) > _MAX_DATASETS:
                _LOADED.popitem(last=False)
            _LOADING.pop(key, None)
        return ds


class Preloader:
    """The server's background thread: first the newest run's dataset and its input digest, then the UMAP
    maps of runs with stored model features, newest first (see the module's docstring).

    ``max_runs``: how many runs' maps one check queues at most (the newest with new rounds; the map child
    computes one at a time at a lower priority). ``delay``: seconds between loading the dataset and the first
    check, left to the first visit (a page that needs a map sooner asks for it itself). ``interval``: seconds
    between checks; ``None`` checks once.
    """

    def __init__(self, workspace: str | os.PathLike, *, interval: float | None = 30.0, max_runs: int = 8,
                 delay: float = 10.0) -> None:
        if max_runs < 0:
            raise ValueError(f"max_runs must be >= 0, got {max_runs}")
        if interval is not None and interval <= 0:
            raise ValueError(f"interval must be > 0 seconds or None, got {interval}")
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay}")
        self.workspace = Path(workspace)
        self.interval = interval
        self.max_runs = int(max_runs)
        self.delay = float(delay)
        self.ready = threading.Event()  # set once the newest run's dataset is loaded (or could not be)
        self.scheduled: dict[str, int] = {}  # run id -> rounds with embeddings whose maps were queued
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _store(self) -> Any:
        from alkit.store import RunStore

        if not (self.workspace / "alkit.sqlite").exists():
            return None
        return RunStore(self.workspace, readonly=True)

    def warm(self) -> None:
        """Load the newest run's dataset and work out its input digest (the Embeddings map key)."""
        try:
            store = self._store()
            if store is None:
                return
            try:
                runs = [r for r in store.list_runs() if r["n_rounds"] >= 1]
                if not runs:
                    return
                run = store.get_run(runs[0]["run_id"])
            finally:
                store.close()
            from alkit.app import maps

            spec = maps.MapSpec.for_run(run, "input")
            ds = dataset(spec.dataset, spec.dataset_params)
            maps.key_parts(spec, dataset=ds)  # the input digest, kept by alkit.app.maps for the page
        except Exception as exc:  # noqa: BLE001 - the page loads the dataset itself and says what failed
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.ready.set()

    def check(self) -> list[str]:
        """Queue the maps of the newest runs whose stored rounds changed since the last check; their ids."""
        from alkit.app import maps

        store = self._store()
        if store is None:
            return []
        queued = []
        try:
            for run in store.list_runs():
                if len(queued) >= self.max_runs:
                    break
                rounds = [r["round"] for r in store.get_rounds(run["run_id"]) if r["has_embeddings"]]
                if not rounds or self.scheduled.get(run["run_id"]) == len(rounds):
                    continue
                specs = maps.run_specs(store, store.get_run(run["run_id"]))
                svc = maps.service(self.workspace)
                for s in specs:
                    if maps.cached(s, self.workspace, store, dataset=dataset(s.dataset, s.dataset_params)
                                   if s.space == "input" else None) is None:
                        svc.request(s)
                self.scheduled[run["run_id"]] = len(rounds)
                queued.append(run["run_id"])
        finally:
            store.close()
        return queued

    def _loop(self) -> None:
        self.warm()
        if self._stop.wait(self.delay):  # the first visit first: a map child starting now would slow it
            return
        while not self._stop.is_set():
            try:
                self.check()
            except Exception as exc:  # noqa: BLE001 - a store being written may fail one check; try later
                self.errors.append(f"{type(exc).__name__}: {exc}")
            if self.interval is None or self._stop.wait(self.interval):
                return

    def start(self) -> Preloader:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="alkit-preload", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def start(workspace: str | os.PathLike | None = None, **kw: Any) -> Preloader:
    """Start the server's :class:`Preloader` for ``workspace`` (default ``$ALKIT_WORKSPACE`` or the default
    workspace)."""
    from alkit.store import resolve_workspace

    return Preloader(resolve_workspace(workspace or os.environ.get("ALKIT_WORKSPACE") or None), **kw).start()
