"""The run store: one SQLite file per workspace that records every active-learning run.

The file ``<workspace>/alkit.sqlite`` is shared by notebooks, the CLI and the
dashboard. It runs in WAL mode, so readers keep reading while a run writes.
Each round is written in one transaction: a round is either fully stored or
not at all, and rounds are stored strictly in order ``0, 1, 2, ...``.

Tables (plain enough for the ``sqlite3`` command-line shell):

``runs``
    one row per run: config, seed, strategy, dataset, versions, git revision, status.
``rounds``
    one row per (run, round): number labeled, metrics/timings/extras as JSON.
``selections``
    one row per selected pool index: (run, round, position, pool_index, score, label).
``embeddings``
    optional float16 embedding matrix per (run, round) with the pool indices of its rows.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import operator
import os
import pathlib
import platform
import secrets
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import numpy as np

__all__ = [
    "SCHEMA_VERSION",
    "STORE_FILENAME",
    "STATUSES",
    "StoreError",
    "resolve_workspace",
    "RunStore",
]

SCHEMA_VERSION = 1
STORE_FILENAME = "alkit.sqlite"
DEFAULT_WORKSPACE = "alkit-workspace"
WORKSPACE_ENV = "ALKIT_WORKSPACE"
STATUSES = ("running", "finished", "failed", "interrupted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id     TEXT PRIMARY KEY,
    name       TEXT,
    strategy   TEXT NOT NULL,
    dataset    TEXT NOT NULL,
    seed       INTEGER NOT NULL,
    config     TEXT NOT NULL,
    versions   TEXT NOT NULL,
    git_rev    TEXT,
    status     TEXT NOT NULL,
    message    TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_runs_created ON runs (created_at);
CREATE TABLE IF NOT EXISTS rounds (
    run_id     TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    round      INTEGER NOT NULL,
    n_labeled  INTEGER NOT NULL,
    metrics    TEXT NOT NULL,
    timings    TEXT NOT NULL,
    extras     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, round)
);
CREATE TABLE IF NOT EXISTS selections (
    run_id     TEXT NOT NULL,
    round      INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    pool_index INTEGER NOT NULL,
    score      REAL,
    label      INTEGER,
    PRIMARY KEY (run_id, round, position),
    FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_selections_run_round ON selections (run_id, round);
CREATE TABLE IF NOT EXISTS embeddings (
    run_id     TEXT NOT NULL,
    round      INTEGER NOT NULL,
    n_rows     INTEGER NOT NULL,
    dim        INTEGER NOT NULL,
    dtype      TEXT NOT NULL,
    pool_index BLOB NOT NULL,
    data       BLOB NOT NULL,
    PRIMARY KEY (run_id, round),
    FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round) ON DELETE CASCADE
);
"""
_TABLES = ("runs", "rounds", "selections", "embeddings")
_RUN_COLUMNS = (
    "run_id", "name", "strategy", "dataset", "seed", "config", "versions",
    "git_rev", "status", "message", "created_at", "updated_at",
)  # fmt: skip
_LIST_COLUMNS = ("run_id", "name", "strategy", "dataset", "seed", "status", "created_at", "updated_at", "n_rounds")
_F16_MAX = float(np.finfo(np.float16).max)


class StoreError(RuntimeError):
    """A run-store operation failed; the message names the problem and the file."""


def resolve_workspace(workspace: str | os.PathLike | None = None) -> pathlib.Path:
    """Return the workspace folder (not created here).

    Parameters
    ----------
    workspace : str or path-like, optional
        Explicit folder. Takes precedence over ``$ALKIT_WORKSPACE``, which
        takes precedence over ``./alkit-workspace``.

    Returns
    -------
    pathlib.Path
        Absolute path of the workspace folder.
    """
    if workspace is None or str(workspace) == "":
        workspace = os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE
    return pathlib.Path(workspace).expanduser().absolute()


# ----------------------------------------------------------------------------- helpers


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="microseconds")


def _jsonable(obj: Any, where: str, depth: int = 0) -> Any:
    """Convert ``obj`` to plain JSON types (numpy scalars/arrays included; NaN/inf -> None)."""
    if depth > 64:
        raise StoreError(f"{where} is nested too deeply (a reference cycle?)")
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if isinstance(k, (np.integer, np.bool_)):
                k = k.item()
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise StoreError(f"{where} has a key {k!r} of type {type(k).__name__}; JSON keys must be str or int")
            out[str(k)] = _jsonable(v, f"{where}[{k!r}]", depth + 1)
        return out
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise StoreError(f"{where} is a numpy array of dtype {obj.dtype}; only numeric arrays can be stored")
        return _jsonable(obj.tolist(), where, depth + 1)
    if isinstance(obj, pathlib.PurePath):
        return str(obj)
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # torch tensors and the like
        return _jsonable(obj.tolist(), where, depth + 1)
    raise StoreError(
        f"{where} of type {type(obj).__name__} is not JSON-serialisable; store a number, string, list or dict"
    )


def _dumps(obj: Any, where: str) -> str:
    if not isinstance(obj, Mapping):
        raise StoreError(f"{where} must be a dict, got {type(obj).__name__}")
    return json.dumps(_jsonable(obj, where), allow_nan=False, sort_keys=False)


def _int_list(values: Any, where: str, *, allow_none: bool = False, nonneg: bool = False) -> list:
    """Validate a 1-D sequence of integers (numpy/torch accepted); floats are rejected."""
    if hasattr(values, "detach"):  # torch tensor without importing torch
        values = values.detach().cpu().numpy()
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise StoreError(f"{where} must be one-dimensional, got shape {values.shape}")
        if values.size and values.dtype.kind not in "iu" and not (allow_none and values.dtype == object):
            raise StoreError(f"{where} must hold integers, got dtype {values.dtype}")
        values = values.tolist()
    elif isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, range)):
        raise StoreError(f"{where} must be a sequence of integers, got {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        if v is None and allow_none:
            out.append(None)
            continue
        try:
            if isinstance(v, (bool, np.bool_)):
                raise TypeError
            iv = operator.index(v)
        except TypeError:
            raise StoreError(f"{where}[{i}] = {v!r} is not an integer") from None
        if nonneg and iv < 0:
            raise StoreError(f"{where}[{i}] = {iv} is negative; pool indices start at 0")
        out.append(iv)
    return out


def _float_list(values: Any, where: str) -> list:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise StoreError(f"{where} must be one-dimensional, got shape {values.shape}")
        values = values.tolist()
    elif isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise StoreError(f"{where} must be a sequence of numbers, got {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        if isinstance(v, (str, bytes)):
            raise StoreError(f"{where}[{i}] = {v!r} is not a number")
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise StoreError(f"{where}[{i}] = {v!r} is not a number") from None
        out.append(None if math.isnan(f) else f)
    return out


def _package_versions() -> dict[str, str | None]:
    """Versions of python, numpy, torch, alkit and sqlite (torch is never imported here)."""
    versions: dict[str, str | None] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sqlite": sqlite3.sqlite_version,
    }
    for pkg in ("torch", "alkit"):
        mod = sys.modules.get(pkg)
        v = getattr(mod, "__version__", None) if mod is not None else None
        if v is None:
            try:
                v = importlib.metadata.version(pkg)
            except Exception:
                v = None
        versions[pkg] = None if v is None else str(v)
    return versions


def _git_revision(cwd: str | os.PathLike | None = None) -> str | None:
    """``git rev-parse HEAD`` of the current directory, or None (no git, no repo, timeout)."""
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=2.0,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    rev = res.stdout.strip()
    if res.returncode != 0 or not rev:
        return None
    return rev


# ----------------------------------------------------------------------------- the store


class RunStore:
    """Read and write runs in ``<workspace>/alkit.sqlite``.

    Parameters
    ----------
    workspace : str or path-like, optional
        Workspace folder; see :func:`resolve_workspace`.
    readonly : bool, default False
        Open read-only (dashboard, ``alkit list``). A missing store is not
        created: listings are empty until a writer creates it.
    timeout : float, default 5.0
        Seconds to wait for a lock held by another process before raising
        :class:`StoreError`.

    Notes
    -----
    The folder and file are created on the first write, not on construction.
    One instance may be shared between threads (calls are serialised).
    """

    def __init__(
        self,
        workspace: str | os.PathLike | None = None,
        *,
        readonly: bool = False,
        timeout: float = 5.0,
    ) -> None:
        self.workspace = resolve_workspace(workspace)
        self.path = self.workspace / STORE_FILENAME
        self.readonly = bool(readonly)
        self.timeout = float(timeout)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._closed = False
        if self.path.exists():
            self._connect(create=False)

    # -- connection handling ------------------------------------------------------------

    def __repr__(self) -> str:
        mode = "readonly" if self.readonly else "read-write"
        return f"RunStore({str(self.path)!r}, {mode})"

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._closed = True
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None

    def _corrupt(self, err: Exception) -> StoreError:
        return StoreError(
            f"{self.path} is not a readable alkit store (sqlite: {err}). "
            f"Move it away (e.g. `mv {self.path} {self.path}.broken`) and alkit will start a fresh store."
        )

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Translate sqlite3 exceptions into StoreError messages that name the file."""
        try:
            yield
        except StoreError:
            raise
        except sqlite3.OperationalError as e:
            msg = str(e).lower()
            if "locked" in msg or "busy" in msg:
                raise StoreError(
                    f"the store {self.path} is locked by another process (waited {self.timeout:g} s while {action}); "
                    "wait for the other run to finish its round, or pass a larger timeout"
                ) from e
            if "readonly" in msg or "read-only" in msg:
                raise StoreError(
                    f"cannot write to {self.path} while {action}: {e} (check the file's permissions)"
                ) from e
            if "malformed" in msg or "not a database" in msg:
                raise self._corrupt(e) from e
            raise StoreError(f"sqlite error on {self.path} while {action}: {e}") from e
        except sqlite3.DatabaseError as e:
            msg = str(e).lower()
            if "not a database" in msg or "malformed" in msg or "encrypted" in msg:
                raise self._corrupt(e) from e
            raise StoreError(f"sqlite error on {self.path} while {action}: {e}") from e

    def _connect(self, *, create: bool) -> sqlite3.Connection | None:
        """Open (and for writers, initialise) the database; None if it does not exist and ``create`` is False."""
        if self._closed:
            raise StoreError(f"the RunStore for {self.path} is closed")
        if self._conn is not None:
            return self._conn
        if not self.path.exists():
            if not create:
                return None
            try:
                self.workspace.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"cannot create the workspace folder {self.workspace}: {e}") from e
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not an alkit store; move it away")
        if self.readonly:
            uri = f"{self.path.as_uri()}?mode=ro"
        else:
            uri = f"{self.path.as_uri()}?mode=rwc"
        with self._errors("opening the store"):
            try:
                conn = sqlite3.connect(
                    uri, uri=True, timeout=self.timeout, isolation_level=None, check_same_thread=False
                )
            except sqlite3.OperationalError as e:
                raise StoreError(f"cannot open {self.path}: {e}") from e
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path} was written by a newer alkit (schema {version} > {SCHEMA_VERSION}); "
                        "upgrade alkit (pip install -U alkit) to read it"
                    )
                if version == 0:
                    foreign = [
                        r[0]
                        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                        if r[0] not in _TABLES
                    ]
                    if foreign:
                        raise StoreError(
                            f"{self.path} is an SQLite database but not an alkit store (tables: {', '.join(foreign)}); "
                            "move it away or choose another workspace"
                        )
                conn.execute("PRAGMA foreign_keys = ON")
                if not self.readonly:
                    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                    if str(mode).lower() != "wal":
                        conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("PRAGMA synchronous = NORMAL")
                    if version < SCHEMA_VERSION:
                        self._init_schema(conn)
            except BaseException:
                conn.close()
                raise
        self._conn = conn
        return conn

    def _init_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _has_schema(self, conn: sqlite3.Connection) -> bool:
        return conn.execute("PRAGMA user_version").fetchone()[0] >= 1

    @contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection | None]:
        """A consistent read snapshot; yields None while there is no store (yet)."""
        with self._lock, self._errors(action):
            conn = self._connect(create=False)
            if conn is None or not self._has_schema(conn):
                yield None
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on any exception."""
        if self.readonly:
            raise StoreError(f"cannot write to {self.path} while {action}: this RunStore was opened with readonly=True")
        with self._lock, self._errors(action):
            conn = self._connect(create=True)
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _resolve(self, conn: sqlite3.Connection | None, run_id: str) -> str:
        """Full run id for an id or unique prefix, else StoreError."""
        if not isinstance(run_id, str) or not run_id.strip():
            raise StoreError(f"run id must be a non-empty string, got {run_id!r}")
        run_id = run_id.strip()
        hint = "`alkit list` shows the runs"
        if conn is None:
            raise StoreError(f"no run {run_id!r} in {self.path} (there is no store there yet); {hint}")
        if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
            return run_id
        rows = conn.execute(
            "SELECT run_id FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY run_id LIMIT 11",
            (len(run_id), run_id),
        ).fetchall()
        if len(rows) == 1:
            return rows[0][0]
        if not rows:
            raise StoreError(f"no run {run_id!r} in {self.path}; {hint}")
        names = ", ".join(r[0] for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
        raise StoreError(f"run id prefix {run_id!r} is ambiguous in {self.path}; it matches: {names}")

    # -- writing ----------------------------------------------------------------------------

    def create_run(
        self,
        config: dict,
        seed: int,
        *,
        strategy: str,
        dataset: str,
        name: str | None = None,
    ) -> str:
        """Register a new run with status ``"running"``.

        Parameters
        ----------
        config : dict
            The full run configuration; must be JSON-serialisable (numpy values are converted).
        seed : int
            Random seed of the run.
        strategy, dataset : str
            Registry names.
        name : str, optional
            Free-form label shown by ``alkit list``.

        Returns
        -------
        str
            The new run id, e.g. ``"20261121-214433-3f9a"`` (UTC time, then random hex; sorts by time).
        """
        config_json = _dumps(config, "config")
        try:
            seed = operator.index(seed)
        except TypeError:
            raise StoreError(f"seed must be an integer, got {seed!r}") from None
        for label, value in (("strategy", strategy), ("dataset", dataset)):
            if not isinstance(value, str) or not value:
                raise StoreError(f"{label} must be a non-empty string, got {value!r}")
        if name is not None and not isinstance(name, str):
            raise StoreError(f"name must be a string or None, got {type(name).__name__}")
        versions = json.dumps(_package_versions())
        git_rev = _git_revision()
        with self._write("creating a run") as conn:
            t = _now()
            stamp = _iso(t)
            while True:
                run_id = f"{t:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
                if not conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                    break
            conn.execute(
                "INSERT INTO runs (run_id, name, strategy, dataset, seed, config, versions, git_rev,"
                " status, message, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', NULL, ?, ?)",
                (run_id, name, strategy, dataset, seed, config_json, versions, git_rev, stamp, stamp),
            )
        return run_id

    def log_round(
        self,
        run_id: str,
        round_idx: int,
        *,
        n_labeled: int,
        metrics: dict,
        timings: dict,
        selected: Sequence[int],
        scores: Sequence[float] | None = None,
        labels: Sequence[int] | None = None,
        extras: dict | None = None,
        embeddings: np.ndarray | None = None,
        embedding_index: Sequence[int] | None = None,
    ) -> None:
        """Store one complete round atomically.

        Parameters
        ----------
        run_id : str
            Run id (or unique prefix).
        round_idx : int
            Must equal ``last_complete_round(run_id) + 1``.
        n_labeled : int
            Size of the labeled set the round's model was trained on.
        metrics, timings : dict
            JSON-serialisable; numpy scalars/arrays are converted, NaN/inf become null.
        selected : sequence of int
            Pool indices queried this round, in selection order; no duplicates.
        scores : sequence of float, optional
            Acquisition score of each selected index (same length; None/NaN stored as NULL).
        labels : sequence of int, optional
            The oracle's label of each selected index (same length; None allowed).
        extras : dict, optional
            Anything else JSON-serialisable (e.g. per-class counts).
        embeddings : ndarray, shape (M, d), optional
            Stored as float16 (values clipped to the float16 range).
        embedding_index : sequence of int, shape (M,), optional
            Pool index of each embedding row; defaults to ``0..M-1``.

        Raises
        ------
        StoreError
            On out-of-order rounds, mismatched lengths, unserialisable values or a
            locked store. Nothing is written then.
        """
        try:
            round_idx = operator.index(round_idx)
            n_labeled = operator.index(n_labeled)
        except TypeError:
            raise StoreError(f"round_idx and n_labeled must be integers, got {round_idx!r}, {n_labeled!r}") from None
        if round_idx < 0 or n_labeled < 0:
            raise StoreError(f"round_idx and n_labeled must be >= 0, got {round_idx}, {n_labeled}")
        metrics_json = _dumps(metrics, "metrics")
        timings_json = _dumps(timings, "timings")
        extras_json = _dumps({} if extras is None else extras, "extras")
        sel = _int_list(selected, "selected", nonneg=True)
        if len(set(sel)) != len(sel):
            dup = sorted(i for i, c in Counter(sel).items() if c > 1)[:10]
            raise StoreError(f"selected contains duplicate pool indices {dup} in round {round_idx}")
        sc = [None] * len(sel) if scores is None else _float_list(scores, "scores")
        lab = [None] * len(sel) if labels is None else _int_list(labels, "labels", allow_none=True)
        for label, seq in (("scores", sc), ("labels", lab)):
            if len(seq) != len(sel):
                raise StoreError(f"{label} has {len(seq)} entries but selected has {len(sel)} (round {round_idx})")
        emb_row = None
        if embeddings is not None:
            emb_row = self._pack_embeddings(embeddings, embedding_index)
        elif embedding_index is not None:
            raise StoreError("embedding_index was given without embeddings")

        with self._write(f"logging round {round_idx}") as conn:
            rid = self._resolve(conn, run_id)
            last = self._last_round(conn, rid)
            if round_idx != last + 1:
                raise StoreError(
                    f"run {rid} in {self.path}: cannot log round {round_idx}; the next round must be {last + 1} "
                    f"(rounds are logged in order 0, 1, 2, ...)"
                )
            stamp = _iso(_now())
            conn.execute(
                "INSERT INTO rounds (run_id, round, n_labeled, metrics, timings, extras, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (rid, round_idx, n_labeled, metrics_json, timings_json, extras_json, stamp),
            )
            self._insert_selections(conn, rid, round_idx, sel, sc, lab)
            if emb_row is not None:
                conn.execute(
                    "INSERT INTO embeddings (run_id, round, n_rows, dim, dtype, pool_index, data)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (rid, round_idx, *emb_row),
                )
            conn.execute("UPDATE runs SET updated_at = ? WHERE run_id = ?", (stamp, rid))

    def _insert_selections(
        self, conn: sqlite3.Connection, run_id: str, round_idx: int, sel: list, sc: list, lab: list
    ) -> None:
        conn.executemany(
            "INSERT INTO selections (run_id, round, position, pool_index, score, label) VALUES (?, ?, ?, ?, ?, ?)",
            ((run_id, round_idx, pos, i, s, y) for pos, (i, s, y) in enumerate(zip(sel, sc, lab))),
        )

    @staticmethod
    def _pack_embeddings(embeddings: Any, embedding_index: Any) -> tuple:
        if hasattr(embeddings, "detach"):
            embeddings = embeddings.detach().cpu().numpy()
        emb = np.asarray(embeddings)
        if emb.ndim != 2:
            raise StoreError(f"embeddings must have shape (M, d), got {emb.shape}")
        if emb.dtype.kind not in "iuf":
            raise StoreError(f"embeddings must be numeric, got dtype {emb.dtype}")
        if embedding_index is None:
            idx = np.arange(emb.shape[0], dtype="<i8")
        else:
            idx = np.asarray(_int_list(embedding_index, "embedding_index", nonneg=True), dtype="<i8")
            if idx.shape[0] != emb.shape[0]:
                raise StoreError(f"embedding_index has {idx.shape[0]} entries but embeddings has {emb.shape[0]} rows")
        emb16 = np.clip(emb.astype(np.float64, copy=False), -_F16_MAX, _F16_MAX).astype("<f2")
        return int(emb.shape[0]), int(emb.shape[1]), "float16", idx.tobytes(), np.ascontiguousarray(emb16).tobytes()

    def set_status(self, run_id: str, status: str, *, message: str | None = None) -> None:
        """Set a run's status (``running``, ``finished``, ``failed``, ``interrupted``) and message (None clears it)."""
        if status not in STATUSES:
            raise StoreError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        if message is not None and not isinstance(message, str):
            message = str(message)
        with self._write("setting a run status") as conn:
            rid = self._resolve(conn, run_id)
            conn.execute(
                "UPDATE runs SET status = ?, message = ?, updated_at = ? WHERE run_id = ?",
                (status, message, _iso(_now()), rid),
            )

    def delete_run(self, run_id: str) -> None:
        """Delete a run with all its rounds, selections and embeddings."""
        with self._write("deleting a run") as conn:
            rid = self._resolve(conn, run_id)
            for table in ("embeddings", "selections", "rounds", "runs"):
                conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (rid,))

    # -- reading ------------------------------------------------------------------------------

    @staticmethod
    def _last_round(conn: sqlite3.Connection, run_id: str) -> int:
        row = conn.execute("SELECT MAX(round) FROM rounds WHERE run_id = ?", (run_id,)).fetchone()
        return -1 if row[0] is None else int(row[0])

    def resolve_run_id(self, run_id: str) -> str:
        """Full run id for a run id or unique prefix."""
        with self._read("resolving a run id") as conn:
            return self._resolve(conn, run_id)

    def last_complete_round(self, run_id: str) -> int:
        """Index of the last fully stored round, -1 when none."""
        with self._read("reading rounds") as conn:
            return self._last_round(conn, self._resolve(conn, run_id))

    def list_runs(
        self,
        *,
        status: str | Sequence[str] | None = None,
        strategy: str | Sequence[str] | None = None,
        dataset: str | Sequence[str] | None = None,
    ) -> list[dict]:
        """Runs, newest first, optionally filtered (each filter: a value or a list of values).

        Returns
        -------
        list of dict
            Keys ``run_id, name, strategy, dataset, seed, status, created_at, updated_at,
            n_rounds, last_n_labeled, last_accuracy`` (the last two None without rounds).
        """
        where, params = [], []
        for col, val in (("status", status), ("strategy", strategy), ("dataset", dataset)):
            if val is None:
                continue
            vals = [val] if isinstance(val, str) else list(val)
            where.append(f"r.{col} IN ({', '.join('?' * len(vals))})")
            params.extend(vals)
        sql = (
            "SELECT r.run_id, r.name, r.strategy, r.dataset, r.seed, r.status, r.created_at, r.updated_at,"
            " (SELECT COUNT(*) FROM rounds c WHERE c.run_id = r.run_id) AS n_rounds,"
            " l.n_labeled, l.metrics"
            " FROM runs r LEFT JOIN rounds l ON l.run_id = r.run_id"
            " AND l.round = (SELECT MAX(m.round) FROM rounds m WHERE m.run_id = r.run_id)"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY r.created_at DESC, r.rowid DESC"
        )
        with self._read("listing runs") as conn:
            if conn is None:
                return []
            rows = conn.execute(sql, params).fetchall()
        out = []
        for row in rows:
            d = dict(zip(_LIST_COLUMNS, row[:9]))
            d["last_n_labeled"] = row[9]
            acc = json.loads(row[10]).get("accuracy") if row[10] else None
            d["last_accuracy"] = float(acc) if isinstance(acc, (int, float)) and not isinstance(acc, bool) else None
            out.append(d)
        return out

    def _get_run(self, conn: sqlite3.Connection, rid: str) -> dict:
        row = conn.execute(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE run_id = ?", (rid,)).fetchone()
        d = dict(zip(_RUN_COLUMNS, row))
        d["config"] = json.loads(d["config"])
        d["versions"] = json.loads(d["versions"])
        return d

    def _get_rounds(self, conn: sqlite3.Connection, rid: str) -> list[dict]:
        rows = conn.execute(
            "SELECT r.round, r.n_labeled, r.metrics, r.timings, r.extras, r.created_at,"
            " EXISTS (SELECT 1 FROM embeddings e WHERE e.run_id = r.run_id AND e.round = r.round)"
            " FROM rounds r WHERE r.run_id = ? ORDER BY r.round",
            (rid,),
        ).fetchall()
        return [
            {
                "round": r[0],
                "n_labeled": r[1],
                "metrics": json.loads(r[2]),
                "timings": json.loads(r[3]),
                "extras": json.loads(r[4]),
                "created_at": r[5],
                "has_embeddings": bool(r[6]),
            }
            for r in rows
        ]

    def _get_selections(self, conn: sqlite3.Connection, rid: str) -> dict[int, dict]:
        out: dict[int, dict] = {
            r: {"indices": [], "scores": [], "labels": []}
            for (r,) in conn.execute("SELECT round FROM rounds WHERE run_id = ? ORDER BY round", (rid,))
        }
        for rnd, idx, score, label in conn.execute(
            "SELECT round, pool_index, score, label FROM selections WHERE run_id = ? ORDER BY round, position", (rid,)
        ):
            d = out[rnd]
            d["indices"].append(idx)
            d["scores"].append(score)
            d["labels"].append(label)
        return out

    def get_run(self, run_id: str) -> dict:
        """All columns of a run; ``config`` and ``versions`` decoded to dicts."""
        with self._read("reading a run") as conn:
            return self._get_run(conn, self._resolve(conn, run_id))

    def get_rounds(self, run_id: str) -> list[dict]:
        """Rounds in order: ``round, n_labeled, metrics, timings, extras, created_at, has_embeddings``."""
        with self._read("reading rounds") as conn:
            return self._get_rounds(conn, self._resolve(conn, run_id))

    def get_selections(self, run_id: str) -> dict[int, dict]:
        """``{round: {"indices": [...], "scores": [...], "labels": [...]}}`` in selection order."""
        with self._read("reading selections") as conn:
            return self._get_selections(conn, self._resolve(conn, run_id))

    def labeled_indices(self, run_id: str, upto_round: int | None = None) -> list[int]:
        """Pool indices selected in rounds ``0..upto_round`` (all rounds if None), in order, without repeats.

        Raises
        ------
        StoreError
            If ``upto_round`` is beyond the last complete round.
        """
        with self._read("reading selections") as conn:
            rid = self._resolve(conn, run_id)
            last = self._last_round(conn, rid)
            if upto_round is None:
                upto_round = last
            upto_round = operator.index(upto_round)
            if upto_round > last or upto_round < -1:
                raise StoreError(f"run {rid} in {self.path} has rounds 0..{last}; cannot read up to round {upto_round}")
            rows = conn.execute(
                "SELECT pool_index FROM selections WHERE run_id = ? AND round <= ? ORDER BY round, position",
                (rid, upto_round),
            ).fetchall()
        return list(dict.fromkeys(r[0] for r in rows))

    def get_embeddings(self, run_id: str, round_idx: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(pool_index int64 [M], embeddings float32 [M, d])`` of a round, or None if none were stored."""
        with self._read("reading embeddings") as conn:
            rid = self._resolve(conn, run_id)
            row = conn.execute(
                "SELECT n_rows, dim, dtype, pool_index, data FROM embeddings WHERE run_id = ? AND round = ?",
                (rid, operator.index(round_idx)),
            ).fetchone()
        if row is None:
            return None
        n, d, dtype, idx_bytes, data = row
        if dtype != "float16":
            raise StoreError(f"embeddings of run {rid} round {round_idx} in {self.path} have unknown dtype {dtype!r}")
        idx = np.frombuffer(idx_bytes, dtype="<i8").astype(np.int64)
        emb = np.frombuffer(data, dtype="<f2").astype(np.float32).reshape(n, d)
        return idx, emb

    def to_json(self, run_id: str) -> dict:
        """Everything about a run except embeddings, as plain JSON types (what ``alkit show --json`` prints).

        Returns
        -------
        dict
            ``{"schema_version": 1, "run": get_run(...), "rounds": [round + "selected", "scores", "labels"]}``;
            non-finite scores become None.
        """
        with self._read("exporting a run") as conn:
            rid = self._resolve(conn, run_id)
            run = self._get_run(conn, rid)
            rounds = self._get_rounds(conn, rid)
            sels = self._get_selections(conn, rid)
        for r in rounds:
            s = sels.get(r["round"], {"indices": [], "scores": [], "labels": []})
            r["selected"] = s["indices"]
            r["scores"] = s["scores"]
            r["labels"] = s["labels"]
        return _jsonable({"schema_version": SCHEMA_VERSION, "run": run, "rounds": rounds}, "run export")
