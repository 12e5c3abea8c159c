"""Run liveness: who owns a running run (pid, host, start token), its heartbeat, and whether it is alive.

See *Liveness* in :mod:`alkit.store`."""

from __future__ import annotations

import os
import socket
import sqlite3
import sys
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alkit.store.codec import _iso, _now

__all__ = ["HEARTBEAT_SECONDS", "STALE_SECONDS"]

#: Seconds between two heartbeats of a run's owner process (background timer; rounds beat too).
HEARTBEAT_SECONDS = 30.0
#: A ``running`` run whose owner cannot be checked directly is ``interrupted`` after this many
#: seconds without a heartbeat (ten missed beats).
STALE_SECONDS = 300.0


def _read_text(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """``(state, start time in clock ticks since boot)`` of a Linux process, None when there is none."""
    text = _read_text(f"/proc/{int(pid)}/stat")
    if not text or ")" not in text:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return (fields[0], fields[19]) if len(fields) > 19 else None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _process_token(pid: int) -> str | None:
    """``boot id|pid namespace|start ticks`` of a process on Linux (survives pid reuse and reboots), else None."""
    stat = _proc_stat(pid)
    boot = _read_text("/proc/sys/kernel/random/boot_id")
    if stat is None or boot is None:
        return None
    return f"{boot}|{_pid_namespace()}|{stat[1]}"


_TOKEN: dict[int, str | None] = {}


def _own_token() -> str | None:
    """This process's start token (computed once per process)."""
    pid = os.getpid()
    if pid not in _TOKEN:
        _TOKEN[pid] = _process_token(pid)
    return _TOKEN[pid]


def _parse_iso(stamp: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp) if stamp else None
    except (TypeError, ValueError):
        return None


def _owner_alive(owner: Mapping[str, Any], *, now: datetime, stale_seconds: float) -> bool:
    """Whether the process recorded in a ``run_owners`` row still runs (see *Liveness* in the module docstring)."""
    pid, token = int(owner["pid"]), owner.get("start_token")
    if owner.get("host") == socket.gethostname():
        parts = token.split("|") if isinstance(token, str) else []
        if len(parts) == 3:
            boot, ns, start = parts
            if boot != _read_text("/proc/sys/kernel/random/boot_id"):
                return False  # the machine rebooted since: the owner is gone
            if ns == str(_pid_namespace()):
                stat = _proc_stat(pid)
                if stat is not None:
                    return stat[0] not in ("Z", "X") and stat[1] == start  # zombie or reused pid: gone
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return False
                except PermissionError:
                    pass  # another user's process hidden from /proc: judge by the heartbeat
                else:
                    return True
        elif token is None and os.name == "posix" and not sys.platform.startswith("linux"):
            try:  # macOS / BSD: the pid alone (no start time without /proc)
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
    beat = _parse_iso(owner.get("heartbeat_at"))
    return beat is not None and (now - beat).total_seconds() <= stale_seconds


class _Heartbeat:
    """A daemon thread that refreshes ``run_owners.heartbeat_at`` of the runs this process owns.

    It uses its own SQLite connection, so it never holds the store's lock (safe around ``fork``).
    """

    def __init__(self, uri: str, timeout: float) -> None:
        self.uri, self.timeout = uri, timeout
        self.every = HEARTBEAT_SECONDS
        self._runs: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def add(self, run_id: str) -> None:
        if self._pid != os.getpid():  # a forked child: the parent's thread did not come along
            self.__init__(self.uri, self.timeout)  # type: ignore[misc]
        with self._lock:
            self._runs.add(run_id)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._main, name="alkit-store-heartbeat", daemon=True)
                self._thread.start()

    def discard(self, run_id: str) -> None:
        with self._lock:
            self._runs.discard(run_id)

    def stop(self) -> None:
        with self._lock:
            self._runs.clear()
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.timeout + 1.0)

    def _main(self) -> None:
        conn = None
        host, pid = socket.gethostname(), os.getpid()
        try:
            while not self._stop.wait(self.every):
                with self._lock:
                    runs = sorted(self._runs)
                if not runs:
                    continue
                try:
                    if conn is None:
                        conn = sqlite3.connect(self.uri, uri=True, timeout=self.timeout, isolation_level=None)
                    conn.execute(
                        f"UPDATE run_owners SET heartbeat_at = ? WHERE pid = ? AND host = ?"
                        f" AND run_id IN ({', '.join('?' * len(runs))})",
                        (_iso(_now()), pid, host, *runs),
                    )
                except sqlite3.Error:
                    pass  # a busy or vanished store: the next beat tries again
        finally:
            if conn is not None:
                conn.close()
