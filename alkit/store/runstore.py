"""The :class:`RunStore`: read and write runs in ``<workspace>/alkit.sqlite`` (see :mod:`alkit.store`)."""

from __future__ import annotations

import json
import operator
import os
import secrets
import socket
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import numpy as np

from alkit.store.codec import _dumps, _float_list, _int_list, _iso, _jsonable, _now
from alkit.store.liveness import STALE_SECONDS, _Heartbeat, _own_token, _owner_alive, _parse_iso
from alkit.store.provenance import _git_revision, _package_versions
from alkit.store.schema import (
    _LIST_COLUMNS,
    _OWNERS_SCHEMA,
    _RUN_COLUMNS,
    _SCHEMA,
    _STRATEGY_STATE_TABLE,
    _SWEEP_SCHEMA,
    _TABLES,
    SCHEMA_VERSION,
    STATUSES,
    STORE_FILENAME,
    StoreError,
)
from alkit.store.workspace import resolve_workspace

__all__ = ["RunStore"]

_F16_MAX = float(np.finfo(np.float16).max)


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

    Attributes
    ----------
    stale_seconds : float
        Heartbeat age after which a ``running`` run whose owner cannot be checked directly is
        reported ``interrupted`` (default :data:`STALE_SECONDS`).

    Notes
    -----
    The folder and file are created on the first write, not on construction.
    One instance may be shared between threads (calls are serialised).
    A writer that creates, resumes (``set_status(..., "running")``) or logs a run owns it: a
    background thread beats its heartbeat until the status changes or the store is closed.
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
        self.stale_seconds = STALE_SECONDS
        self._heartbeat = _Heartbeat(f"{self.path.as_uri()}?mode=rw", self.timeout)
        self._owners_table = False
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
        """Close the connection (idempotent); stops the heartbeat of the runs this store owns."""
        self._heartbeat.stop()
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

    # -- run owners (liveness) ------------------------------------------------------------

    def _has_owners(self, conn: sqlite3.Connection) -> bool:
        if not self._owners_table:
            self._owners_table = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_owners'"
            ).fetchone() is not None
        return self._owners_table

    def _claim(self, conn: sqlite3.Connection, rid: str, stamp: str) -> None:
        """Record this process as the owner of run ``rid`` and beat its heartbeat (inside a write transaction)."""
        conn.execute(_OWNERS_SCHEMA)
        self._owners_table = True
        pid = os.getpid()
        conn.execute(
            "INSERT INTO run_owners (run_id, pid, host, start_token, started_at, heartbeat_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET"
            " started_at = CASE WHEN pid = excluded.pid AND host = excluded.host"
            " AND start_token IS excluded.start_token THEN started_at ELSE excluded.started_at END,"
            " pid = excluded.pid, host = excluded.host, start_token = excluded.start_token,"
            " heartbeat_at = excluded.heartbeat_at",
            (rid, pid, socket.gethostname(), _own_token(), stamp, stamp),
        )

    def _derive(self, status: str, owner: dict | None, updated_at: str | None, now: datetime) -> str:
        """The status to report: a stored ``running`` whose owner is gone reads ``interrupted``."""
        if status != "running":
            return status
        if owner is None:  # written by an alkit without liveness: judge by the last update
            seen = _parse_iso(updated_at)
            alive = seen is not None and (now - seen).total_seconds() <= self.stale_seconds
        else:
            alive = _owner_alive(owner, now=now, stale_seconds=self.stale_seconds)
        return "running" if alive else "interrupted"

    def _owners(self, conn: sqlite3.Connection, rids: Sequence[str] | None = None) -> dict[str, dict]:
        if not self._has_owners(conn):
            return {}
        sql = "SELECT run_id, pid, host, start_token, started_at, heartbeat_at FROM run_owners"
        params: tuple = ()
        if rids is not None:
            sql += f" WHERE run_id IN ({', '.join('?' * len(rids))})"
            params = tuple(rids)
        cols = ("pid", "host", "start_token", "started_at", "heartbeat_at")
        return {row[0]: dict(zip(cols, row[1:])) for row in conn.execute(sql, params)}

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
            self._claim(conn, run_id, stamp)
        self._heartbeat.add(run_id)
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
        strategy_state: bytes | None = None,
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
        strategy_state : bytes, optional
            An opaque snapshot of the strategy's cross-round state (the loop's ``torch.save`` of
            ``Strategy.state_dict()``), read back by :meth:`get_strategy_state`.

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
        if strategy_state is not None and not isinstance(strategy_state, (bytes, bytearray, memoryview)):
            raise StoreError(f"strategy_state must be bytes, got {type(strategy_state).__name__}")

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
            if strategy_state is not None:
                conn.execute(_STRATEGY_STATE_TABLE)  # stores written before the table existed lack it
                conn.execute("INSERT INTO strategy_state (run_id, round, data) VALUES (?, ?, ?)",
                             (rid, round_idx, bytes(strategy_state)))
            conn.execute("UPDATE runs SET updated_at = ? WHERE run_id = ?", (stamp, rid))
            running = conn.execute("SELECT status FROM runs WHERE run_id = ?", (rid,)).fetchone()[0] == "running"
            if running:  # the process that writes the rounds owns the run; every round is a heartbeat
                self._claim(conn, rid, stamp)
        if running:
            self._heartbeat.add(rid)

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
        """Set a run's status (``running``, ``finished``, ``failed``, ``interrupted``) and message (None clears it).

        ``running`` also makes this process the run's owner (see *Liveness* in the module docstring);
        any other status ends this store's heartbeat for the run.
        """
        if status not in STATUSES:
            raise StoreError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        if message is not None and not isinstance(message, str):
            message = str(message)
        with self._write("setting a run status") as conn:
            rid = self._resolve(conn, run_id)
            stamp = _iso(_now())
            conn.execute(
                "UPDATE runs SET status = ?, message = ?, updated_at = ? WHERE run_id = ?",
                (status, message, stamp, rid),
            )
            if status == "running":
                self._claim(conn, rid, stamp)
        if status == "running":
            self._heartbeat.add(rid)
        else:
            self._heartbeat.discard(rid)

    def delete_run(self, run_id: str) -> None:
        """Delete a run with all its rounds, selections and embeddings."""
        with self._write("deleting a run") as conn:
            rid = self._resolve(conn, run_id)
            if self._has_table(conn, "strategy_state"):
                conn.execute("DELETE FROM strategy_state WHERE run_id = ?", (rid,))
            if self._has_owners(conn):
                conn.execute("DELETE FROM run_owners WHERE run_id = ?", (rid,))
            if self._has_table(conn, "sweep_cells"):
                conn.execute("DELETE FROM sweep_cells WHERE run_id = ?", (rid,))
            for table in ("embeddings", "selections", "rounds", "runs"):
                conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (rid,))
        self._heartbeat.discard(rid)

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
            ``status`` is the derived one (a dead ``running`` run reads ``interrupted``), and the
            ``status`` filter applies to it.
        """
        where, params = [], []
        for col, val in (("strategy", strategy), ("dataset", dataset)):
            if val is None:
                continue
            vals = [val] if isinstance(val, str) else list(val)
            where.append(f"r.{col} IN ({', '.join('?' * len(vals))})")
            params.extend(vals)
        wanted = None if status is None else ({status} if isinstance(status, str) else set(status))
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
            owners = self._owners(conn) if any(row[5] == "running" for row in rows) else {}
        now = _now()
        out = []
        for row in rows:
            d = dict(zip(_LIST_COLUMNS, row[:9]))
            d["status"] = self._derive(d["status"], owners.get(d["run_id"]), d["updated_at"], now)
            if wanted is not None and d["status"] not in wanted:
                continue
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
        owner = self._owners(conn, [rid]).get(rid)
        d["status"] = self._derive(d["status"], owner, d["updated_at"], _now())
        d["owner"] = None if owner is None else {k: owner[k] for k in ("pid", "host", "started_at", "heartbeat_at")}
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
        """All columns of a run; ``config`` and ``versions`` decoded to dicts.

        ``status`` is the derived status (see :meth:`list_runs`); ``owner`` is the last process that
        ran it (``pid, host, started_at, heartbeat_at``), None for runs stored by an older alkit.
        """
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

    @staticmethod
    def _has_table(conn: sqlite3.Connection, name: str) -> bool:
        row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        return row is not None

    def get_strategy_state(self, run_id: str, upto_round: int | None = None) -> tuple[int, bytes] | None:
        """The newest strategy-state snapshot stored with a round ``<= upto_round`` (default: any round).

        Returns
        -------
        (int, bytes) or None
            The round it was stored with and its bytes; None when the run has no snapshot up to
            there (a strategy without stored state, or a run written before snapshots existed).
        """
        with self._read("reading the strategy state") as conn:
            rid = self._resolve(conn, run_id)
            if not self._has_table(conn, "strategy_state"):
                return None
            upto = self._last_round(conn, rid) if upto_round is None else operator.index(upto_round)
            row = conn.execute(
                "SELECT round, data FROM strategy_state WHERE run_id = ? AND round <= ? ORDER BY round DESC LIMIT 1",
                (rid, upto),
            ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

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

    # -- sweeps ------------------------------------------------------------------------------

    def register_sweep(self, sweep_id: str, spec: dict, *, name: str | None = None, n_cells: int = 0) -> None:
        """Record a sweep and its spec (idempotent for the same spec).

        Raises
        ------
        StoreError
            If ``sweep_id`` is already stored with a different spec (a sweep id names one spec).
        """
        if not isinstance(sweep_id, str) or not sweep_id:
            raise StoreError(f"sweep id must be a non-empty string, got {sweep_id!r}")
        spec_json = _dumps(spec, "spec")
        with self._write("registering a sweep") as conn:
            for stmt in _SWEEP_SCHEMA:
                conn.execute(stmt)
            row = conn.execute("SELECT spec FROM sweeps WHERE sweep_id = ?", (sweep_id,)).fetchone()
            if row is None:
                conn.execute("INSERT INTO sweeps (sweep_id, name, spec, n_cells, created_at) VALUES (?, ?, ?, ?, ?)",
                             (sweep_id, name, spec_json, int(n_cells), _iso(_now())))
            elif json.loads(row[0]) != json.loads(spec_json):
                raise StoreError(f"sweep {sweep_id} in {self.path} was stored with a different spec")

    def add_sweep_cell(self, sweep_id: str, *, dataset: str, strategy: str, seed: int, run_id: str) -> None:
        """Make run ``run_id`` the run of the sweep's (dataset, strategy, seed) cell."""
        with self._write("adding a sweep cell") as conn:
            if not self._has_table(conn, "sweeps") or not conn.execute(
                    "SELECT 1 FROM sweeps WHERE sweep_id = ?", (sweep_id,)).fetchone():
                raise StoreError(f"no sweep {sweep_id!r} in {self.path}; register_sweep first")
            rid = self._resolve(conn, run_id)
            conn.execute("INSERT OR REPLACE INTO sweep_cells (sweep_id, dataset, strategy, seed, run_id)"
                         " VALUES (?, ?, ?, ?, ?)", (sweep_id, dataset, strategy, operator.index(seed), rid))

    def _resolve_sweep(self, conn: sqlite3.Connection | None, sweep_id: str) -> str:
        if not isinstance(sweep_id, str) or not sweep_id.strip():
            raise StoreError(f"sweep id must be a non-empty string, got {sweep_id!r}")
        sweep_id = sweep_id.strip()
        hint = "`alkit sweeps` lists them"
        if conn is None or not self._has_table(conn, "sweeps"):
            raise StoreError(f"no sweep {sweep_id!r} in {self.path} (no sweep was stored there); {hint}")
        rows = conn.execute("SELECT sweep_id FROM sweeps WHERE sweep_id = ? OR substr(sweep_id, 1, ?) = ?"
                            " ORDER BY sweep_id", (sweep_id, len(sweep_id), sweep_id)).fetchall()
        ids = [r[0] for r in rows]
        if sweep_id in ids:
            return sweep_id
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise StoreError(f"no sweep {sweep_id!r} in {self.path}; {hint}")
        raise StoreError(f"sweep id prefix {sweep_id!r} is ambiguous in {self.path}; it matches: {', '.join(ids)}")

    def resolve_sweep_id(self, sweep_id: str) -> str:
        """Full sweep id for a sweep id or unique prefix."""
        with self._read("resolving a sweep id") as conn:
            return self._resolve_sweep(conn, sweep_id)

    def _sweep_cells(self, conn: sqlite3.Connection, sid: str) -> list[dict]:
        rows = conn.execute(
            "SELECT c.dataset, c.strategy, c.seed, c.run_id, r.status, r.updated_at,"
            " (SELECT COUNT(*) FROM rounds n WHERE n.run_id = c.run_id), r.message"
            " FROM sweep_cells c JOIN runs r ON r.run_id = c.run_id WHERE c.sweep_id = ?"
            " ORDER BY c.dataset, c.strategy, c.seed", (sid,)).fetchall()
        owners = self._owners(conn, [r[3] for r in rows]) if any(r[4] == "running" for r in rows) else {}
        now = _now()
        return [{"dataset": r[0], "strategy": r[1], "seed": r[2], "run_id": r[3],
                 "status": self._derive(r[4], owners.get(r[3]), r[5], now), "n_rounds": r[6], "message": r[7]}
                for r in rows]

    def sweep_cells(self, sweep_id: str) -> list[dict]:
        """The sweep's cells that have a run: ``dataset, strategy, seed, run_id, status, n_rounds, message``.

        ``status`` is derived as in :meth:`list_runs` (a cell whose worker died reads ``interrupted``).
        """
        with self._read("reading sweep cells") as conn:
            return self._sweep_cells(conn, self._resolve_sweep(conn, sweep_id))

    def get_sweep(self, sweep_id: str) -> dict:
        """``sweep_id, name, spec, n_cells, created_at`` of one sweep (id or unique prefix)."""
        with self._read("reading a sweep") as conn:
            sid = self._resolve_sweep(conn, sweep_id)
            row = conn.execute("SELECT sweep_id, name, spec, n_cells, created_at FROM sweeps WHERE sweep_id = ?",
                               (sid,)).fetchone()
        return {"sweep_id": row[0], "name": row[1], "spec": json.loads(row[2]), "n_cells": row[3], "created_at": row[4]}

    def list_sweeps(self) -> list[dict]:
        """Sweeps, newest first: ``sweep_id, name, spec, created_at, n_cells`` (cells the spec names),
        ``n_runs`` (cells with a run) and ``status_counts`` (derived statuses of those runs)."""
        with self._read("listing sweeps") as conn:
            if conn is None or not self._has_table(conn, "sweeps"):
                return []
            rows = conn.execute("SELECT sweep_id, name, spec, n_cells, created_at FROM sweeps"
                                " ORDER BY created_at DESC, rowid DESC").fetchall()
            cells = {r[0]: self._sweep_cells(conn, r[0]) for r in rows}
        out = []
        for sid, name, spec, n_cells, created in rows:
            counts = Counter(c["status"] for c in cells[sid])
            out.append({"sweep_id": sid, "name": name, "spec": json.loads(spec), "created_at": created,
                        "n_cells": n_cells, "n_runs": len(cells[sid]),
                        "status_counts": {k: counts.get(k, 0) for k in STATUSES}})
        return out

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
