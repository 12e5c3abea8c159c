"""The store's tables, columns, statuses and schema version, and its one error type."""

from __future__ import annotations

__all__ = ["SCHEMA_VERSION", "STORE_FILENAME", "STATUSES", "StoreError"]

SCHEMA_VERSION = 1
STORE_FILENAME = "alkit.sqlite"
STATUSES = ("running", "finished", "failed", "interrupted")

#: A snapshot of the strategy's cross-round state (``Strategy.state_dict``, ``torch.save`` bytes) stored
#: with a round when it differs from the previous snapshot. Created on the first write of a snapshot,
#: so stores written before it existed stay valid: their runs simply have no snapshots.
_STRATEGY_STATE_TABLE = """
CREATE TABLE IF NOT EXISTS strategy_state (
    run_id     TEXT NOT NULL,
    round      INTEGER NOT NULL,
    data       BLOB NOT NULL,
    PRIMARY KEY (run_id, round),
    FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round) ON DELETE CASCADE
)"""

# A sweep (``alkit sweep``): its spec, and which run holds each (dataset, strategy, seed) cell. New stores have them;
# older ones gain them with their first sweep (readers cope without them).
_SWEEP_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS sweeps (
    sweep_id   TEXT PRIMARY KEY,
    name       TEXT,
    spec       TEXT NOT NULL,
    n_cells    INTEGER NOT NULL,
    created_at TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS sweep_cells (
    sweep_id   TEXT NOT NULL REFERENCES sweeps (sweep_id) ON DELETE CASCADE,
    dataset    TEXT NOT NULL,
    strategy   TEXT NOT NULL,
    seed       INTEGER NOT NULL,
    run_id     TEXT NOT NULL UNIQUE REFERENCES runs (run_id) ON DELETE CASCADE,
    PRIMARY KEY (sweep_id, dataset, strategy, seed)
)""",
)


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
""" + _STRATEGY_STATE_TABLE + ";\n" + ";\n".join(_SWEEP_SCHEMA) + ";\n"
_TABLES = ("runs", "rounds", "selections", "embeddings", "strategy_state", "run_owners", "sweeps", "sweep_cells")
_RUN_COLUMNS = (
    "run_id", "name", "strategy", "dataset", "seed", "config", "versions",
    "git_rev", "status", "message", "created_at", "updated_at",
)  # fmt: skip
_LIST_COLUMNS = ("run_id", "name", "strategy", "dataset", "seed", "status", "created_at", "updated_at", "n_rounds")
# Created on the first claim of a run (older stores gain it then; readers cope without it).
_OWNERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS run_owners (
    run_id       TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
    pid          INTEGER NOT NULL,
    host         TEXT NOT NULL,
    start_token  TEXT,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
)"""


class StoreError(RuntimeError):
    """A run-store operation failed; the message names the problem and the file."""
