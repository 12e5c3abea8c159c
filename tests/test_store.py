"""Tests of the SQLite run store (alkit.store)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from alkit.store import SCHEMA_VERSION, RunStore, StoreError, codec, liveness, resolve_workspace, runstore, schema

CONFIG = {"budget": 10, "lr": np.float32(0.01), "epochs": np.int64(3), "layers": (64, 32), "path": Path("/x")}


def make_run(store: RunStore, **kw) -> str:
    args = {"strategy": "entropy", "dataset": "moons", "name": None}
    args.update(kw)
    return store.create_run(CONFIG, 7, **args)


def log(store: RunStore, rid: str, r: int, k: int = 3, **kw) -> None:
    args = {
        "n_labeled": 10 + k * r,
        "metrics": {"accuracy": 0.5 + 0.01 * r, "loss": np.float64(1.0 / (r + 1))},
        "timings": {"train": 0.1, "select": 0.01},
        "selected": [100 * r + j for j in range(k)],
        "scores": [float(j) for j in range(k)],
        "labels": [j % 2 for j in range(k)],
    }
    args.update(kw)
    store.log_round(rid, r, **args)


def count_rows(path: Path) -> dict[str, int]:
    con = sqlite3.connect(path)
    try:
        return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in schema._TABLES}
    finally:
        con.close()


@pytest.fixture
def store(tmp_path):
    with RunStore(tmp_path / "ws") as s:
        yield s


# ------------------------------------------------------------------ workspace resolution


def test_resolve_workspace_precedence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ALKIT_WORKSPACE", raising=False)
    assert resolve_workspace() == tmp_path / "alkit-workspace"
    monkeypatch.setenv("ALKIT_WORKSPACE", str(tmp_path / "from-env"))
    assert resolve_workspace() == tmp_path / "from-env"
    assert resolve_workspace(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_workspace("rel") == tmp_path / "rel"
    assert RunStore().path == tmp_path / "from-env" / "alkit.sqlite"


def test_folder_created_on_first_write_only(tmp_path):
    ws = tmp_path / "a" / "b"
    s = RunStore(ws)
    assert s.list_runs() == [] and not ws.exists()
    ro = RunStore(ws, readonly=True)
    assert ro.list_runs() == [] and not ws.exists()
    with pytest.raises(StoreError, match="no store there yet"):
        ro.get_run("x")
    rid = make_run(s)
    assert s.path.is_file()
    # the read-only store opened before the file existed picks it up
    assert [r["run_id"] for r in ro.list_runs()] == [rid]
    with pytest.raises(StoreError, match="readonly"):
        ro.set_status(rid, "finished")
    s.close()
    ro.close()


# ------------------------------------------------------------------ basic round trip


def test_create_and_get_run(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a git repository: git_rev is None
    rid = make_run(store, name="first")
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", rid)
    run = store.get_run(rid)
    assert run["run_id"] == rid and run["name"] == "first" and run["status"] == "running"
    assert run["config"] == {"budget": 10, "lr": pytest.approx(0.01), "epochs": 3, "layers": [64, 32], "path": "/x"}
    assert run["seed"] == 7 and run["strategy"] == "entropy" and run["dataset"] == "moons"
    assert run["versions"]["python"] and run["versions"]["numpy"] == np.__version__
    assert "torch" in run["versions"] and "alkit" in run["versions"]
    assert run["git_rev"] is None and run["message"] is None
    assert run["created_at"].endswith("+00:00") and run["created_at"] == run["updated_at"]
    assert store.last_complete_round(rid) == -1
    assert store.get_rounds(rid) == [] and store.get_selections(rid) == {} and store.labeled_indices(rid) == []


def test_git_revision_recorded(store, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    try:
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True, timeout=10)
        subprocess.run(
            ["git", "commit", "-q", "--allow-empty", "-m", "x"],
            cwd=repo,
            check=True,
            timeout=10,
            env={**os.environ, **env},
        )
    except (OSError, subprocess.SubprocessError):
        pytest.skip("git is not usable here")
    monkeypatch.chdir(repo)
    assert re.fullmatch(r"[0-9a-f]{40}", store.get_run(make_run(store))["git_rev"])


def test_log_rounds_and_read_back(store):
    rid = make_run(store)
    for r in range(3):
        log(store, rid, r)
    log(
        store,
        rid,
        3,
        k=2,
        metrics={"accuracy": float("nan"), "cm": np.eye(2, dtype=np.int64), "per_class": np.array([0.5, np.inf])},
        scores=np.array([0.25, np.nan]),
        labels=[1, None],
        extras={"note": "x", 3: np.bool_(True)},
    )
    assert store.last_complete_round(rid) == 3
    rounds = store.get_rounds(rid)
    assert [r["round"] for r in rounds] == [0, 1, 2, 3]
    assert rounds[1]["n_labeled"] == 13 and rounds[1]["metrics"]["accuracy"] == pytest.approx(0.51)
    assert rounds[1]["timings"] == {"train": 0.1, "select": 0.01} and rounds[1]["extras"] == {}
    assert rounds[3]["metrics"] == {"accuracy": None, "cm": [[1, 0], [0, 1]], "per_class": [0.5, None]}
    assert rounds[3]["extras"] == {"note": "x", "3": True}
    sel = store.get_selections(rid)
    assert sel[0] == {"indices": [0, 1, 2], "scores": [0.0, 1.0, 2.0], "labels": [0, 1, 0]}
    assert sel[3] == {"indices": [300, 301], "scores": [0.25, None], "labels": [1, None]}
    assert store.labeled_indices(rid) == [0, 1, 2, 100, 101, 102, 200, 201, 202, 300, 301]
    assert store.labeled_indices(rid, upto_round=1) == [0, 1, 2, 100, 101, 102]
    assert store.labeled_indices(rid, upto_round=-1) == []
    with pytest.raises(StoreError, match="rounds 0..3"):
        store.labeled_indices(rid, upto_round=4)

    doc = store.to_json(rid)
    text = json.dumps(doc, allow_nan=False)  # strict JSON
    assert json.loads(text) == doc
    assert doc["run"]["run_id"] == rid and doc["schema_version"] == SCHEMA_VERSION
    assert doc["rounds"][0]["selected"] == [0, 1, 2] and doc["rounds"][3]["scores"] == [0.25, None]
    assert doc["rounds"][3]["labels"] == [1, None]


def test_optional_scores_labels_and_numpy_inputs(store):
    rid = make_run(store)
    log(store, rid, 0, selected=np.array([5, 3, 9], dtype=np.int32), scores=None, labels=None)
    log(store, rid, 1, selected=[], scores=[], labels=[])
    sel = store.get_selections(rid)
    assert sel[0] == {"indices": [5, 3, 9], "scores": [None] * 3, "labels": [None] * 3}
    assert sel[1] == {"indices": [], "scores": [], "labels": []}


def test_list_runs_order_filters_and_summary(store):
    a = make_run(store, strategy="random", name="a")
    b = make_run(store, strategy="entropy", dataset="mnist")
    c = make_run(store, strategy="entropy")
    log(store, b, 0)
    log(store, b, 1, metrics={"accuracy": np.float32(0.75)})
    log(store, c, 0, metrics={"f1": 0.3})
    store.set_status(a, "failed", message="boom")
    runs = store.list_runs()
    assert [r["run_id"] for r in runs] == [c, b, a]
    assert set(runs[0]) == {
        "run_id", "name", "strategy", "dataset", "seed", "status", "created_at", "updated_at",
        "n_rounds", "last_n_labeled", "last_accuracy",
    }  # fmt: skip
    by = {r["run_id"]: r for r in runs}
    assert by[b]["n_rounds"] == 2 and by[b]["last_n_labeled"] == 13 and by[b]["last_accuracy"] == pytest.approx(0.75)
    assert by[c]["n_rounds"] == 1 and by[c]["last_accuracy"] is None
    assert by[a]["n_rounds"] == 0 and by[a]["last_n_labeled"] is None and by[a]["status"] == "failed"
    assert [r["run_id"] for r in store.list_runs(strategy="entropy")] == [c, b]
    assert [r["run_id"] for r in store.list_runs(strategy="entropy", dataset="mnist")] == [b]
    assert [r["run_id"] for r in store.list_runs(status=["failed", "finished"])] == [a]
    assert store.list_runs(status="interrupted") == []


def test_set_status_and_message(store):
    rid = make_run(store)
    store.set_status(rid, "interrupted", message="Ctrl-C")
    run = store.get_run(rid)
    assert run["status"] == "interrupted" and run["message"] == "Ctrl-C" and run["updated_at"] >= run["created_at"]
    store.set_status(rid, "running")
    assert store.get_run(rid)["message"] is None
    with pytest.raises(StoreError, match="unknown status 'done'"):
        store.set_status(rid, "done")


def test_run_id_prefix_resolution(store):
    ids = [make_run(store) for _ in range(3)]
    for rid in ids:
        others = [i for i in ids if i != rid]
        n = next(n for n in range(1, len(rid) + 1) if not any(o.startswith(rid[:n]) for o in others))
        assert store.get_run(rid[:n])["run_id"] == rid
    # all three share the date prefix
    with pytest.raises(StoreError, match="ambiguous") as exc:
        store.get_run(ids[0][:8])
    assert all(rid in str(exc.value) for rid in ids)
    with pytest.raises(StoreError) as exc:
        store.get_run("nope")
    msg = str(exc.value)
    assert "no run 'nope'" in msg and str(store.path) in msg and "alkit list" in msg
    for method in (store.get_rounds, store.last_complete_round, store.delete_run, store.to_json):
        with pytest.raises(StoreError, match="no run"):
            method("nope")


def test_delete_run(store):
    keep, gone = make_run(store), make_run(store)
    for rid in (keep, gone):
        log(store, rid, 0, embeddings=np.ones((3, 2)))
        log(store, rid, 1)
    store.delete_run(gone)
    assert [r["run_id"] for r in store.list_runs()] == [keep]
    rows = count_rows(store.path)
    assert {t: rows[t] for t in ("runs", "rounds", "selections", "embeddings")} == {
        "runs": 1, "rounds": 2, "selections": 6, "embeddings": 1}
    assert rows["run_owners"] == 1  # the deleted run's owner row went with it
    with pytest.raises(StoreError, match="no run"):
        store.get_run(gone)


# ------------------------------------------------------------------ embeddings


def test_embeddings_round_trip_float16(store):
    rid = make_run(store)
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(50, 8)).astype(np.float32) * 10
    idx = rng.permutation(1000)[:50]
    log(store, rid, 0, embeddings=emb, embedding_index=idx)
    log(store, rid, 1, embeddings=np.array([[1e6, -1e6]]), embedding_index=[4])
    log(store, rid, 2)
    got_idx, got = store.get_embeddings(rid, 0)
    assert got_idx.dtype == np.int64 and got.dtype == np.float32 and got.shape == (50, 8)
    np.testing.assert_array_equal(got_idx, idx)
    np.testing.assert_allclose(got, emb, rtol=1e-3, atol=1e-6)
    _, clipped = store.get_embeddings(rid, 1)  # beyond float16: clipped, not inf
    assert np.all(np.isfinite(clipped)) and clipped[0, 0] == 65504.0
    assert store.get_embeddings(rid, 2) is None
    assert [r["has_embeddings"] for r in store.get_rounds(rid)] == [True, True, False]
    # default index: rows are pool indices 0..M-1
    log(store, rid, 3, embeddings=np.zeros((4, 2)))
    np.testing.assert_array_equal(store.get_embeddings(rid, 3)[0], np.arange(4))


# ------------------------------------------------------------------ validation and atomicity


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"scores": [0.1, 0.2]}, "scores has 2 entries but selected has 3"),
        ({"labels": [1]}, "labels has 1 entries"),
        ({"metrics": {"accuracy": object()}}, r"metrics\['accuracy'\] of type object is not JSON-serialisable"),
        ({"timings": {"train": {1, 2}}}, "not JSON-serialisable"),
        ({"extras": {"f": print}}, "not JSON-serialisable"),
        ({"metrics": [0.5]}, "metrics must be a dict"),
        ({"selected": [1, 2, 2]}, "duplicate pool indices"),
        ({"selected": [1.0, 2.0, 3.0]}, "is not an integer"),
        ({"selected": [-1, 2, 3]}, "negative"),
        ({"selected": np.zeros((3, 1), dtype=int)}, "one-dimensional"),
        ({"embeddings": np.zeros(3)}, r"shape \(M, d\)"),
        ({"embeddings": np.zeros((3, 2)), "embedding_index": [1, 2]}, "embedding_index has 2 entries"),
        ({"embedding_index": [1, 2]}, "without embeddings"),
        ({"n_labeled": -1}, ">= 0"),
    ],
)
def test_invalid_round_writes_nothing(store, bad, match):
    rid = make_run(store)
    log(store, rid, 0)
    before = count_rows(store.path)
    with pytest.raises(StoreError, match=match):
        log(store, rid, 1, **bad)
    assert count_rows(store.path) == before
    assert store.last_complete_round(rid) == 0
    log(store, rid, 1)  # the store is still usable


def test_rounds_must_be_in_order(store):
    rid = make_run(store)
    with pytest.raises(StoreError, match="next round must be 0"):
        log(store, rid, 1)
    log(store, rid, 0)
    for r in (0, 2):
        with pytest.raises(StoreError, match="cannot log round"):
            log(store, rid, r)
    assert store.last_complete_round(rid) == 0


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_exception_inside_transaction_rolls_back(store, monkeypatch, exc):
    rid = make_run(store)
    for r in range(3):
        log(store, rid, r, embeddings=np.ones((2, 2)))
    before = count_rows(store.path)
    original = RunStore._insert_selections

    def half_then_fail(self, conn, *args):
        original(self, conn, *args)  # the round row and its selections are already inserted here
        raise exc

    monkeypatch.setattr(RunStore, "_insert_selections", half_then_fail)
    with pytest.raises(type(exc)):
        log(store, rid, 3, embeddings=np.ones((2, 2)))
    monkeypatch.undo()
    assert store.last_complete_round(rid) == 2
    assert count_rows(store.path) == before
    log(store, rid, 3)
    assert store.last_complete_round(rid) == 3


def test_process_killed_mid_round(tmp_path):
    """A process dying inside the round-3 transaction leaves rounds 0..2 intact."""
    ws = tmp_path / "ws"
    script = textwrap.dedent(
        f"""
        import importlib.util, os
        spec = importlib.util.spec_from_file_location("store_under_test", {runstore.__file__!r})
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        s = m.RunStore({str(ws)!r})
        rid = s.create_run({{}}, 0, strategy="random", dataset="moons")
        for r in range(4):
            if r == 3:
                orig = m.RunStore._insert_selections
                def die(self, conn, *a):
                    orig(self, conn, *a)
                    os._exit(3)
                m.RunStore._insert_selections = die
            s.log_round(rid, r, n_labeled=r, metrics={{}}, timings={{}}, selected=[r])
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    with RunStore(ws) as s:
        (run,) = s.list_runs()
        assert s.last_complete_round(run["run_id"]) == 2
        assert s.labeled_indices(run["run_id"]) == [0, 1, 2]
        log(s, run["run_id"], 3)
    assert count_rows(ws / "alkit.sqlite")["rounds"] == 4


# ------------------------------------------------------------------ file format and concurrency


def test_file_is_plain_sqlite_in_wal_mode(store):
    rid = make_run(store)
    log(store, rid, 0)
    con = sqlite3.connect(store.path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"runs", "rounds", "selections", "embeddings", "run_owners"} <= tables <= set(schema._TABLES)
        assert con.execute("SELECT pool_index, label FROM selections ORDER BY position").fetchall() == [
            (0, 0),
            (1, 1),
            (2, 0),
        ]
        plan = " ".join(
            str(r)
            for r in con.execute("EXPLAIN QUERY PLAN SELECT * FROM selections WHERE run_id = ? AND round = ?", (rid, 0))
        )
        assert "USING INDEX" in plan
    finally:
        con.close()


def test_second_store_reads_while_first_writes(tmp_path):
    ws = tmp_path / "ws"
    with RunStore(ws) as writer, RunStore(ws, readonly=True) as reader:
        rid = make_run(writer)
        assert reader.last_complete_round(rid) == -1
        log(writer, rid, 0)
        assert reader.last_complete_round(rid) == 0
        # an open write transaction on the writer's side does not block the reader
        writer._conn.execute("BEGIN IMMEDIATE")
        writer._conn.execute("DELETE FROM selections")
        assert reader.get_selections(rid)[0]["indices"] == [0, 1, 2]
        writer._conn.execute("ROLLBACK")


def test_reader_thread_while_writer_logs(tmp_path):
    ws = tmp_path / "ws"
    writer = RunStore(ws)
    rid = make_run(writer)
    n_rounds, k = 40, 20
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[int] = []

    def read():
        try:
            with RunStore(ws, readonly=True) as reader:
                while not done.is_set() or not seen or seen[-1] < n_rounds - 1:
                    doc = reader.to_json(rid)
                    rounds = [r["round"] for r in doc["rounds"]]
                    assert rounds == list(range(len(rounds)))  # never a gap
                    assert all(len(r["selected"]) == k for r in doc["rounds"])  # never a half round
                    last = reader.last_complete_round(rid)
                    assert last >= (seen[-1] if seen else -1)
                    seen.append(last)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=read)
    t.start()
    try:
        for r in range(n_rounds):
            log(writer, rid, r, k=k)
    finally:
        done.set()
        t.join(timeout=30)
        writer.close()
    assert not errors, errors
    assert seen and seen[-1] == n_rounds - 1


def test_locked_store_raises_quickly(tmp_path):
    ws = tmp_path / "ws"
    with RunStore(ws) as s:
        rid = make_run(s)
    other = sqlite3.connect(ws / "alkit.sqlite", isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with RunStore(ws, timeout=0.2) as s:
            with pytest.raises(StoreError, match="locked by another process") as exc:
                log(s, rid, 0)  # raises after the 0.2 s busy timeout instead of waiting for the lock
            assert str(s.path) in str(exc.value)
            with pytest.raises(StoreError, match="locked"):
                make_run(s)
            assert s.last_complete_round(rid) == -1  # reading still works (WAL)
            other.execute("ROLLBACK")
            log(s, rid, 0)
            assert s.last_complete_round(rid) == 0
    finally:
        other.close()


@pytest.mark.parametrize("content", [b"hello, this is a text file\n" * 20, bytes(range(256)) * 16])
@pytest.mark.parametrize("readonly", [False, True])
def test_corrupt_file(tmp_path, content, readonly):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "alkit.sqlite").write_bytes(content)
    with pytest.raises(StoreError) as exc:
        RunStore(ws, readonly=readonly)
    msg = str(exc.value)
    assert str(ws / "alkit.sqlite") in msg and "move it away" in msg.lower()
    assert (ws / "alkit.sqlite").read_bytes() == content  # left untouched


def test_newer_schema_refused(tmp_path):
    ws = tmp_path / "ws"
    with RunStore(ws) as s:
        make_run(s)
    con = sqlite3.connect(ws / "alkit.sqlite")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    for readonly in (False, True):
        with pytest.raises(StoreError, match=r"newer alkit \(schema 2 > 1\); upgrade alkit") as exc:
            RunStore(ws, readonly=readonly)
        assert str(ws / "alkit.sqlite") in str(exc.value)


def test_foreign_sqlite_database_refused(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    con = sqlite3.connect(ws / "alkit.sqlite")
    con.execute("CREATE TABLE photos (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not an alkit store"):
        RunStore(ws)


def test_closed_store_refuses(tmp_path):
    s = RunStore(tmp_path / "ws")
    make_run(s)
    s.close()
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.list_runs()


# ------------------------------------------------------------------ run liveness (owner process, heartbeat)


def set_owner(path: Path, rid: str, **cols) -> None:
    """Overwrite columns of a run's ``run_owners`` row, as another process or machine would have written them."""
    con = sqlite3.connect(path)
    try:
        sets = ", ".join(f"{k} = ?" for k in cols)
        con.execute(f"UPDATE run_owners SET {sets} WHERE run_id = ?", (*cols.values(), rid))
        con.commit()
    finally:
        con.close()


def ago(seconds: float) -> str:
    return codec._iso(codec._now() - timedelta(seconds=seconds))


def test_owner_recorded_and_own_run_is_running(store):
    rid = make_run(store)
    owner = store.get_run(rid)["owner"]
    assert owner["pid"] == os.getpid() and owner["host"] == liveness.socket.gethostname()
    assert owner["heartbeat_at"] == owner["started_at"]
    assert store.get_run(rid)["status"] == "running"
    assert [r["run_id"] for r in store.list_runs(status="running")] == [rid]
    with RunStore(store.workspace, readonly=True) as ro:  # another reader sees the same
        assert ro.get_run(rid)["status"] == "running"
    log(store, rid, 0)
    assert store.get_run(rid)["owner"]["heartbeat_at"] > owner["heartbeat_at"]  # every round beats


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="start tokens come from /proc")
def test_dead_or_reused_pid_reads_interrupted(store):
    a, b, c = make_run(store), make_run(store), make_run(store)
    token = liveness._own_token()
    boot, ns, start = token.split("|")
    assert liveness._proc_stat(os.getpid())[1] == start
    # a: this pid, but another process start time: the pid was reused, the owner is gone
    set_owner(store.path, a, start_token=f"{boot}|{ns}|{int(start) + 1}")
    # b: a process that has exited (and was reaped)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    set_owner(store.path, b, pid=child.pid, start_token=f"{boot}|{ns}|1")
    status = {r["run_id"]: r["status"] for r in store.list_runs()}
    assert status == {a: "interrupted", b: "interrupted", c: "running"}
    assert [r["run_id"] for r in store.list_runs(status="interrupted")] == [b, a]
    assert store.get_run(a)["status"] == "interrupted"
    assert store.to_json(a)["run"]["status"] == "interrupted"
    store.set_status(a, "failed")  # a stored final status is reported as it is
    assert store.get_run(a)["status"] == "failed"
    store.set_status(b, "running")  # resuming takes the run over: this process owns it now
    assert store.get_run(b)["status"] == "running" and store.get_run(b)["owner"]["pid"] == os.getpid()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="boot ids come from /proc")
def test_owner_from_before_a_reboot_is_gone(store):
    rid = make_run(store)
    _, ns, start = liveness._own_token().split("|")
    set_owner(store.path, rid, start_token=f"another-boot|{ns}|{start}")
    assert store.get_run(rid)["status"] == "interrupted"


def test_other_host_is_judged_by_its_heartbeat(store):
    fresh, stale = make_run(store), make_run(store)
    set_owner(store.path, fresh, host="elsewhere", pid=1, heartbeat_at=ago(store.stale_seconds - 60))
    set_owner(store.path, stale, host="elsewhere", pid=1, heartbeat_at=ago(store.stale_seconds + 60))
    assert store.get_run(fresh)["status"] == "running"
    assert store.get_run(stale)["status"] == "interrupted"
    store.stale_seconds = 10 * liveness.STALE_SECONDS  # the threshold is the store's attribute
    assert store.get_run(stale)["status"] == "running"


def test_store_without_owner_table_reads_and_migrates(tmp_path):
    """A store written before liveness existed: no run_owners table; running runs are judged by updated_at."""
    ws = tmp_path / "ws"
    with RunStore(ws) as s:
        old, recent = make_run(s), make_run(s)
    con = sqlite3.connect(ws / "alkit.sqlite")
    con.execute("DROP TABLE run_owners")
    con.execute("UPDATE runs SET updated_at = ? WHERE run_id = ?", (ago(liveness.STALE_SECONDS + 60), old))
    con.commit()
    con.close()
    with RunStore(ws, readonly=True) as ro:
        assert {r["run_id"]: r["status"] for r in ro.list_runs()} == {old: "interrupted", recent: "running"}
        assert ro.get_run(old)["owner"] is None
    with RunStore(ws) as s:
        s.set_status(old, "running")  # e.g. `alkit resume`: the table is created, this process owns the run
        assert s.get_run(old)["status"] == "running" and s.get_run(old)["owner"]["pid"] == os.getpid()
        s.delete_run(recent)
    assert count_rows(ws / "alkit.sqlite")["run_owners"] == 1


def wait_for(predicate, what, timeout=30.0):
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_heartbeat_thread_beats_while_running_and_stops_after(tmp_path, monkeypatch):
    monkeypatch.setattr(liveness, "HEARTBEAT_SECONDS", 0.05)
    s = RunStore(tmp_path / "ws")
    rid = make_run(s)
    first = s.get_run(rid)["owner"]["heartbeat_at"]
    wait_for(lambda: s.get_run(rid)["owner"]["heartbeat_at"] > first, "a heartbeat without a round")
    s.set_status(rid, "finished")
    assert rid not in s._heartbeat._runs  # a final status ends the run's beats
    thread = s._heartbeat._thread
    s.close()
    assert thread is not None and not thread.is_alive()  # close() ends the timer
    with RunStore(tmp_path / "ws", readonly=True) as ro:
        assert ro.get_run(rid)["status"] == "finished"
