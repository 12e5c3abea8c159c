"""Background runs for the dashboard: a thread per run that writes to the run store.

The user interface never waits on training: it starts a :class:`RunWorker`, then polls
:meth:`RunWorker.status` (and the store, which the worker writes one round at a time).

Modes
-----
``auto``
    every remaining round, one after the other (a stop request ends the run after the current round);
``step``
    one round per :meth:`RunWorker.step` call: a lecturer advances the run at the pace of the lecture.

With ``human=True`` a :class:`HumanOracle` answers label queries: the worker pauses in
``waiting_for_labels`` with the queried pool indices in ``status()["pending"]`` until
:meth:`RunWorker.answer` gives one label per index; those labels are stored and trained on.

A run that stores embeddings asks for its Embeddings maps after each round (:mod:`alkit.app.maps`: computed
in a child process, kept under ``<workspace>/cache/maps``). Every run (the loop does it) records, with each query round, the class the querying model predicted
for each selected item (``extras["selected_predicted"]``), which the Selected-batch page shows on its tiles.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Any

import torch

from alkit.loop import ALConfig, ALRun, Event
from alkit.oracle import IdealOracle, Oracle

__all__ = ["HumanOracle", "RunWorker", "get_worker", "live_workers", "WorkerStopped"]


class WorkerStopped(RuntimeError):
    """Raised inside the worker thread when the run is stopped while waiting for labels."""


class HumanOracle(Oracle):
    """An oracle whose answers come from a person: :meth:`label` blocks until :meth:`answer` is called.

    Parameters
    ----------
    num_classes : int
        Valid answers are ``0 .. num_classes - 1``.
    delegate : Oracle, optional
        While set, queries go to it instead of the person (e.g. an ideal oracle for the seed set);
        the worker clears it after round 0.
    """

    def __init__(self, num_classes: int, *, delegate: Oracle | None = None) -> None:
        if num_classes < 2:
            raise ValueError(f"a human oracle needs at least 2 classes, got {num_classes}")
        self.num_classes = int(num_classes)
        self.delegate = delegate
        self._cond = threading.Condition()
        self._pending: list[int] | None = None
        self._answers: list[int] | None = None
        self._cancelled = False
        self.answered: list[tuple[list[int], list[int]]] = []  # every (indices, labels) the person gave

    @property
    def pending(self) -> list[int] | None:
        """Pool indices waiting for labels, in query order (None when nothing is asked)."""
        with self._cond:
            return None if self._pending is None else list(self._pending)

    def label(self, indices: torch.Tensor) -> torch.Tensor:
        if self.delegate is not None:
            return self.delegate.label(indices)
        idx = [int(i) for i in indices.to("cpu").tolist()]
        with self._cond:
            self._pending, self._answers = idx, None
            self._cond.notify_all()
            while self._answers is None and not self._cancelled:
                self._cond.wait(0.2)
            if self._cancelled:
                self._pending = None
                raise WorkerStopped("stopped while waiting for labels")
            answers, self._pending, self._answers = self._answers, None, None
        self.answered.append((idx, answers))
        return torch.as_tensor(answers, dtype=torch.long)

    def answer(self, labels: Sequence[int] | dict[int, int]) -> None:
        """Give one label per pending index: a list in query order, or ``{pool_index: label}``."""
        with self._cond:
            pending = self._pending
            if pending is None:
                raise RuntimeError("no labels are being asked for right now")
            if isinstance(labels, dict):
                missing = [i for i in pending if i not in labels]
                if missing:
                    raise ValueError(f"no label for pool indices {missing[:10]}")
                labels = [labels[i] for i in pending]
            labels = list(labels)
            if len(labels) != len(pending):
                raise ValueError(f"{len(pending)} items are waiting for labels, got {len(labels)} labels")
            bad = [y for y in labels if isinstance(y, bool) or not isinstance(y, int) or not 0 <= y < self.num_classes]
            if bad:
                raise ValueError(f"labels must be class numbers in [0, {self.num_classes - 1}], got {bad[:5]}")
            self._answers = [int(y) for y in labels]
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()


_REGISTRY: dict[str, RunWorker] = {}
_REGISTRY_LOCK = threading.Lock()


def get_worker(run_id: str) -> RunWorker | None:
    """The live (or finished, not yet forgotten) worker of ``run_id`` in this process."""
    with _REGISTRY_LOCK:
        return _REGISTRY.get(run_id)


def live_workers() -> list[RunWorker]:
    """Workers of this process, newest first."""
    with _REGISTRY_LOCK:
        return sorted(_REGISTRY.values(), key=lambda w: -w.started_at)


class RunWorker:
    """One run in a background thread.

    Parameters
    ----------
    config : ALConfig
        Validated (and resolved against the dataset preset) before anything starts: a bad
        config raises here, in the caller's thread, with the loop's message.
    workspace : str, optional
        Run-store workspace (default: ``$ALKIT_WORKSPACE`` / ``./alkit-workspace``).
    mode : {"auto", "step"}
    human : bool
        Ask a person for labels (see :class:`HumanOracle`).
    human_seed : bool
        With ``human``, also ask the person for the initial set; otherwise it is labeled by the ideal oracle.
    name : str, optional
        Shown in run listings (default ``"dashboard"`` or ``"dashboard (human labels)"``).
    threads : int
        ``torch.set_num_threads`` for the process (training threads; 1 leaves a core for the UI on 2 cores).
    """

    def __init__(self, config: ALConfig, *, workspace: str | None = None, mode: str = "auto", human: bool = False,
                 human_seed: bool = False, name: str | None = None, threads: int | None = 1) -> None:
        from alkit.store import RunStore

        if mode not in ("auto", "step"):
            raise ValueError(f"mode must be 'auto' or 'step', got {mode!r}")
        self.config = config.resolved()  # raises on bad input before a run row exists
        if human:  # the stored config says who answered
            self.config = dataclasses.replace(self.config, oracle="human", noise_rate=0.0)
        self.mode = mode
        self.human = bool(human)
        self.human_seed = bool(human_seed)
        self.threads = threads
        self.store = RunStore(workspace)
        label = name or ("dashboard (human labels)" if human else "dashboard")
        c = self.config
        self.run_id = self.store.create_run(c.to_dict(), c.seed, strategy=c.strategy, dataset=c.dataset, name=label)
        self.started_at = time.time()
        self.oracle: HumanOracle | None = None
        self.run: ALRun | None = None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._steps_requested = 0
        self._stop = False
        self._state = "starting"
        self._phase: str | None = None
        self._phase_since: float | None = None
        self._round = -1
        self._total = int(c.rounds) + 1  # type: ignore[arg-type]
        self._last_timings: dict[str, float] = {}
        self._last_accuracy: float | None = None
        self._error: str | None = None
        self._traceback: str | None = None
        self._thread = threading.Thread(target=self._main, name=f"alkit-run-{self.run_id}", daemon=True)
        with _REGISTRY_LOCK:
            _REGISTRY[self.run_id] = self
        self._thread.start()

    # ------------------------------------------------------------------ control (any thread)
    def step(self, n: int = 1) -> None:
        """Ask for ``n`` more rounds (step mode); ignored once the run is over."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        with self._wake:
            self._steps_requested += int(n)
            self._wake.notify_all()

    def continue_auto(self) -> None:
        """Switch a step-mode run to running every remaining round."""
        with self._wake:
            self.mode = "auto"
            self._wake.notify_all()

    def stop(self) -> None:
        """End the run after the current round (also while it waits for labels)."""
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        if self.oracle is not None:
            self.oracle.cancel()

    def answer(self, labels: Sequence[int] | dict[int, int]) -> None:
        """Labels for the pending human query (see :meth:`HumanOracle.answer`)."""
        if self.oracle is None:
            raise RuntimeError(f"run {self.run_id} does not use a human oracle")
        self.oracle.answer(labels)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def wait(self, predicate: Any = None, timeout: float = 60.0, poll: float = 0.05) -> dict[str, Any]:
        """Poll until ``predicate(status)`` holds (default: not busy); returns the status. Raises TimeoutError."""
        predicate = predicate or (lambda s: not s["busy"])
        t_end = time.monotonic() + timeout
        while True:
            s = self.status()
            if predicate(s):
                return s
            if time.monotonic() > t_end:
                raise TimeoutError(f"run {self.run_id} did not reach the wanted state in {timeout:g} s (state {s})")
            time.sleep(poll)

    def status(self) -> dict[str, Any]:
        """A snapshot: ``state`` (starting, running, waiting_for_step, waiting_for_labels, finished, stopped,
        failed), ``round`` (last complete), ``total_rounds``, ``phase`` and seconds in it, the last
        round's ``timings`` and ``accuracy``, ``pending`` (indices to label), ``error``, ``busy``."""
        with self._lock:
            pending = self.oracle.pending if self.oracle is not None else None
            state = "waiting_for_labels" if pending is not None and self._state == "running" else self._state
            return {
                "run_id": self.run_id, "mode": self.mode, "state": state, "round": self._round,
                "total_rounds": self._total, "phase": self._phase,
                "phase_seconds": None if self._phase_since is None else time.monotonic() - self._phase_since,
                "timings": dict(self._last_timings), "accuracy": self._last_accuracy, "pending": pending,
                "error": self._error, "traceback": self._traceback, "human": self.human,
                "busy": state in ("starting", "running"),
                "alive": self._thread.is_alive(),
            }

    # ------------------------------------------------------------------ the thread
    def _on_event(self, ev: Event) -> None:
        with self._lock:
            if ev.kind == "phase":
                self._phase = ev.data.get("phase")
                self._phase_since = time.monotonic()
            elif ev.kind == "round_end":
                res = ev.data["result"]
                self._round = res.round
                self._last_timings = dict(res.timings)
                self._last_accuracy = res.accuracy
                self._phase, self._phase_since = None, None

    def _schedule_maps(self) -> None:
        """Queue this run's Embeddings maps in the background (:func:`alkit.app.maps.schedule_run`), so the
        page finds them computed; a failure here never stops the run."""
        if not self.config.store_embeddings:
            return
        try:
            from alkit.app.maps import schedule_run

            schedule_run(self.store.workspace, self.run_id, self.store)
        except Exception:  # noqa: BLE001 - the page computes the map itself when asked
            pass

    def _set(self, state: str) -> None:
        with self._lock:
            self._state = state

    def _main(self) -> None:
        try:
            if self.threads:
                torch.set_num_threads(int(self.threads))
            from alkit.data import load_dataset

            c = self.config
            ds = load_dataset(c.dataset, **c.dataset_params)
            oracle = None
            if self.human:
                self.oracle = HumanOracle(ds.num_classes, delegate=None if self.human_seed else IdealOracle(ds.y_train))
                oracle = self.oracle
            self.run = ALRun(c, store=self.store, dataset=ds, callbacks=[self._on_event], oracle=oracle,
                                     run_id=self.run_id)
            while not self.run.done:
                with self._wake:
                    while self.mode == "step" and self._steps_requested <= 0 and not self._stop:
                        self._state = "waiting_for_step"
                        self._wake.wait(0.5)
                    if self._stop:
                        break
                    if self.mode == "step":
                        self._steps_requested -= 1
                    self._state = "running"
                self.run.step()
                self._schedule_maps()
                if self.oracle is not None and self.run.round == 0:
                    self.oracle.delegate = None  # the seed set is labeled; from now on the person answers
            if self.run.done:
                self._set("finished")
            else:
                self.store.set_status(self.run_id, "interrupted", message="stopped from the dashboard")
                self._set("stopped")
        except WorkerStopped:
            self.store.set_status(self.run_id, "interrupted", message="stopped while waiting for labels")
            self._set("stopped")
        except BaseException as exc:  # noqa: BLE001 - reported through status(), never lost
            error, tb = f"{type(exc).__name__}: {exc}", traceback.format_exc()
            try:  # the store first: whoever sees state "failed" then finds the run failed in the store too
                self.store.set_status(self.run_id, "failed", message=error[:500])
            except Exception:  # noqa: BLE001
                pass
            with self._lock:
                self._error, self._traceback, self._state = error, tb, "failed"
        finally:
            with self._lock:
                self._phase, self._phase_since = None, None
