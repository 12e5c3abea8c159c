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
``strategy_state``
    the strategy's cross-round state (``Strategy.state_dict``) per (run, round) where it changed, for
    ``ALRun.resume``; absent from stores written before it existed.
``run_owners``
    the process that runs each run: pid, host, start token and heartbeat (see *Liveness* below).

Liveness
--------
A run killed with ``kill -9`` (or by a power cut) never writes its final status, so the stored
status stays ``running``. The store therefore records the owner of a run (pid, host name and,
on Linux, a start token made of the boot id, the pid namespace and the process start time from
``/proc/<pid>/stat``, which survives pid reuse) whenever a run is created, set to ``running``
(:meth:`RunStore.set_status`, which ``ALRun.resume`` calls) or logs a round, and a heartbeat:
every logged round and, while the owning :class:`RunStore` is open, a background timer every
:data:`HEARTBEAT_SECONDS`. Readers derive the status they report (nothing is written back): a
stored ``running`` run is reported ``interrupted`` when its owner process is gone from this
machine, or, when the owner cannot be checked directly (another host or container, Windows),
when its heartbeat is older than :data:`STALE_SECONDS`. Runs written by an older alkit (no
owner row) are judged by their last update time against the same threshold.
"""


from __future__ import annotations

from alkit.store.liveness import HEARTBEAT_SECONDS, STALE_SECONDS
from alkit.store.runstore import RunStore
from alkit.store.schema import SCHEMA_VERSION, STATUSES, STORE_FILENAME, StoreError
from alkit.store.workspace import DEFAULT_WORKSPACE, WORKSPACE_ENV, cache_dir, resolve_workspace

__all__ = [
    "SCHEMA_VERSION",
    "STORE_FILENAME",
    "STATUSES",
    "HEARTBEAT_SECONDS",
    "STALE_SECONDS",
    "DEFAULT_WORKSPACE",
    "WORKSPACE_ENV",
    "StoreError",
    "cache_dir",
    "resolve_workspace",
    "RunStore",
]
