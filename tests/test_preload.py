"""The dashboard server's preloading (alkit.app.preload): datasets once per process, the newest run's dataset
and input digest before the first visit, and the maps of runs written by anyone, queued in the background."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from alkit.app import maps, preload
from alkit.store import RunStore


@pytest.fixture(autouse=True)
def _fresh_memo(monkeypatch):
    monkeypatch.setattr(preload, "_LOADED", preload.OrderedDict())
    monkeypatch.setattr(preload, "_LOADING", {})
    monkeypatch.setattr(maps, "_DS_DIGESTS", {})


def _counting_loader(monkeypatch, delay=0.0, fail=()):
    import alkit.data

    calls = []

    def fake(name, **params):
        calls.append((name, params))
        time.sleep(delay)
        if name in fail:
            raise FileNotFoundError(f"no {name} here")
        return {"name": name, "params": params, "n": len(calls)}

    monkeypatch.setattr(alkit.data, "load_dataset", fake)
    return calls


def test_a_dataset_is_loaded_once_per_process_whatever_form_its_parameters_take(monkeypatch):
    calls = _counting_loader(monkeypatch)
    a = preload.dataset("digits", {"b": 2, "a": 1})
    b = preload.dataset("digits", json.dumps({"a": 1, "b": 2}, sort_keys=True))
    assert a is b and calls == [("digits", {"a": 1, "b": 2})]
    assert preload.is_loaded("digits", {"a": 1, "b": 2}) and not preload.is_loaded("digits")
    c = preload.dataset("digits")  # other parameters: another dataset
    assert c is not a and len(calls) == 2


def test_two_threads_asking_at_once_load_it_once(monkeypatch):
    calls = _counting_loader(monkeypatch, delay=0.3)
    got = []
    threads = [threading.Thread(target=lambda: got.append(preload.dataset("mnist5k"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(got) == 4 and all(g is got[0] for g in got)


def test_at_most_four_are_kept_and_the_least_recently_used_goes_first(monkeypatch):
    calls = _counting_loader(monkeypatch)
    for name in ("a", "b", "c", "d"):
        preload.dataset(name)
    preload.dataset("a")  # used again: now the most recent
    preload.dataset("e")  # evicts b
    assert [preload.is_loaded(n) for n in "abcde"] == [True, False, True, True, True]
    preload.dataset("b")
    assert len(calls) == 6


def test_a_failed_load_raises_and_keeps_nothing(monkeypatch):
    calls = _counting_loader(monkeypatch, fail={"fashion_mnist"})
    for _ in range(2):
        with pytest.raises(FileNotFoundError, match="no fashion_mnist"):
            preload.dataset("fashion_mnist")
    assert len(calls) == 2 and not preload.is_loaded("fashion_mnist")


def _run_with_embeddings(store, strategy="entropy", rounds=2, n=60, params=None):
    cfg = {"dataset": "digits", "dataset_params": params or {}}
    rid = store.create_run(cfg, 0, strategy=strategy, dataset="digits")
    rng = np.random.default_rng(0)
    for r in range(rounds):
        _log_round(store, rid, r, rng, n)
    return rid


def _log_round(store, rid, r, rng, n=60):
    sel = list(range(r * 5, r * 5 + 5))
    idx = np.unique(np.concatenate([np.arange(100, 100 + n), sel]))
    store.log_round(rid, r, n_labeled=5 * (r + 1), metrics={"accuracy": 0.5}, timings={}, selected=sel,
                    scores=[1.0] * 5, labels=[0] * 5, embeddings=rng.standard_normal((len(idx), 4)),
                    embedding_index=idx)


class _FakeService:
    def __init__(self):
        self.requests = []

    def request(self, spec, urgent=False):
        self.requests.append(spec)


def test_warm_loads_the_newest_runs_dataset_with_its_parameters_and_its_input_digest(tmp_path, monkeypatch):
    calls = _counting_loader(monkeypatch)
    monkeypatch.setattr(maps, "array_digest", lambda *a: "digest-of-inputs")
    monkeypatch.setattr(preload, "dataset", lambda name, params=None: type("DS", (), {"x_train": None})())
    store = RunStore(tmp_path)
    _run_with_embeddings(store, params={"n": 10})
    store.close()
    p = preload.Preloader(tmp_path, interval=None)
    p.warm()
    assert p.ready.is_set() and not p.errors
    assert maps._DS_DIGESTS == {("digits", '{"n": 10}'): "digest-of-inputs"}
    assert calls == []  # through preload.dataset (replaced here), never a second loader


def test_warm_on_a_workspace_without_a_store_creates_nothing(tmp_path):
    p = preload.Preloader(tmp_path / "nowhere", interval=None)
    p.warm()
    assert p.ready.is_set() and p.check() == [] and not (tmp_path / "nowhere").exists()


def test_check_queues_the_maps_of_runs_with_new_rounds_newest_first_and_only_once(tmp_path, monkeypatch):
    svc = _FakeService()
    monkeypatch.setattr(maps, "service", lambda ws: svc)
    store = RunStore(tmp_path)
    old = _run_with_embeddings(store, "entropy")
    plain = store.create_run({"dataset": "digits"}, 0, strategy="random", dataset="digits")
    store.log_round(plain, 0, n_labeled=5, metrics={"accuracy": 0.5}, timings={}, selected=[1, 2, 3, 4, 5])
    new = _run_with_embeddings(store, "margin")
    p = preload.Preloader(tmp_path, interval=None)
    assert p.check() == [new, old]  # the run without stored features has no maps to compute
    aligned = [(s.run_id, s.rounds) for s in svc.requests if s.space == "aligned"]
    assert aligned == [(new, (0, 1)), (old, (0, 1))]
    assert {s.space for s in svc.requests} == {"aligned", "input"}
    svc.requests.clear()
    assert p.check() == [] and svc.requests == []  # nothing new
    _log_round(store, old, 2, np.random.default_rng(1))  # a new round of the older run
    assert p.check() == [old]
    assert [(s.space, s.rounds) for s in svc.requests if s.space == "aligned"] == [("aligned", (0, 1, 2))]


def test_check_skips_maps_already_on_disk_and_respects_max_runs(tmp_path, monkeypatch):
    svc = _FakeService()
    monkeypatch.setattr(maps, "service", lambda ws: svc)
    store = RunStore(tmp_path)
    rids = [_run_with_embeddings(store, s) for s in ("entropy", "margin", "badge")]
    assert preload.Preloader(tmp_path, interval=None, max_runs=2).check() == rids[::-1][:2]
    svc.requests.clear()
    monkeypatch.setattr(maps, "cached", lambda spec, *a, **k: object())  # every map is on disk
    assert preload.Preloader(tmp_path, interval=None).check() == rids[::-1]
    assert svc.requests == []
    with pytest.raises(ValueError, match="max_runs"):
        preload.Preloader(tmp_path, max_runs=-1)
    with pytest.raises(ValueError, match="interval"):
        preload.Preloader(tmp_path, interval=0)
    with pytest.raises(ValueError, match="delay"):
        preload.Preloader(tmp_path, delay=-1)


def test_the_thread_warms_then_checks_until_stopped(tmp_path, monkeypatch):
    svc = _FakeService()
    monkeypatch.setattr(maps, "service", lambda ws: svc)
    monkeypatch.setattr(maps, "array_digest", lambda *a: "d")
    monkeypatch.setattr(preload, "dataset", lambda name, params=None: type("DS", (), {"x_train": None})())
    store = RunStore(tmp_path)
    p = preload.Preloader(tmp_path, interval=0.05, delay=0.0).start()
    assert p.ready.wait(10)
    rid = _run_with_embeddings(store)  # written after the server started
    t_end = time.monotonic() + 10
    while rid not in p.scheduled and time.monotonic() < t_end:
        time.sleep(0.05)
    p.stop()
    assert p.scheduled == {rid: 2} and not p.errors


def test_a_map_child_ends_when_its_parent_is_killed(tmp_path):
    """The middle process stands for the dashboard: killed with SIGKILL, it runs no clean-up, and its map child
    must end by itself."""
    grandchild = tmp_path / "pid"
    middle = textwrap.dedent(f"""
        import subprocess, sys, time
        code = ("import os, time; from alkit.app.maps import _exit_with_parent; _exit_with_parent(0.1); "
                "open({str(grandchild)!r}, 'w').write(str(os.getpid())); time.sleep(60)")
        subprocess.Popen([sys.executable, "-c", code])
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", middle])
    t_end = time.monotonic() + 60
    while not (grandchild.exists() and grandchild.read_text()) and time.monotonic() < t_end:
        time.sleep(0.1)
    pid = int(grandchild.read_text())
    proc.kill()
    proc.wait(10)
    t_end = time.monotonic() + 30
    alive = True
    while alive and time.monotonic() < t_end:
        try:
            os.kill(pid, 0)
            # a zombie (exited, not reaped) counts as ended
            with open(f"/proc/{pid}/stat") as fh:
                alive = fh.read().split(")")[-1].split()[0] != "Z"
        except (ProcessLookupError, FileNotFoundError):
            alive = False
        time.sleep(0.1)
    assert not alive


def test_a_newer_round_replaces_the_queued_aligned_map_of_fewer_rounds(tmp_path, monkeypatch):
    """The map service queues one aligned map per run: a request for more rounds replaces a queued one of
    fewer (which would be stale when drawn); urgent requests go first; other runs' maps keep their place."""
    svc = maps.MapService(tmp_path)
    monkeypatch.setattr(svc, "_start", lambda: None)  # no child: look at the queue only
    two = maps.MapSpec("aligned", run_id="a", rounds=(0, 1))
    three = maps.MapSpec("aligned", run_id="a", rounds=(0, 1, 2))
    other = maps.MapSpec("aligned", run_id="b", rounds=(0, 1))
    inputs = maps.MapSpec("input", dataset="digits")
    assert svc.request(two).state == "queued"
    svc.request(other)
    svc.request(three)
    assert svc.state(two).state == "unknown" and svc.state(three).state == "queued"
    assert [s for s, _ in svc._queue.values()] == [other, three]
    svc.request(inputs, urgent=True)
    assert [s for s, _ in svc._queue.values()] == [inputs, other, three]
    svc.request(three, urgent=True)  # already queued: moved to the front, not queued twice
    assert [s for s, _ in svc._queue.values()] == [three, inputs, other]
    assert not svc.idle()


def test_one_map_per_child_so_an_urgent_request_goes_next(tmp_path, monkeypatch):
    """While a child computes one map, a map the page asks for urgently is computed next, before maps queued
    earlier in the background."""
    svc = maps.MapService(tmp_path)
    started, release = [], threading.Semaphore(0)

    def fake_child(batch):
        started.append([s.run_id for s in batch])
        release.acquire(timeout=30)
        with svc._cond:
            svc._done.update(s.name for s in batch)

    monkeypatch.setattr(svc, "_run_child", fake_child)
    specs = {k: maps.MapSpec("aligned", run_id=k, rounds=(0, 1)) for k in "abc"}
    svc.request(specs["a"])
    t_end = time.monotonic() + 10
    while not started and time.monotonic() < t_end:
        time.sleep(0.01)
    svc.request(specs["b"])
    svc.request(specs["c"], urgent=True)
    assert svc.state(specs["a"]).state == "queued" and svc.state(specs["b"]).state == "queued"
    for _ in range(3):
        release.release()
    assert svc.wait_idle(10)
    assert started == [["a"], ["c"], ["b"]]
    assert all(svc.state(s).state == "done" for s in specs.values())
