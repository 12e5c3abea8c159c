"""Exact resume for every registered strategy, and the honesty of each strategy's ``resume_state``.

A run is killed mid-round (after round ``k`` is committed), resumed from the store with a fresh
strategy instance and run to the end; every round must equal an uninterrupted run's: selections,
scores, the oracle's labels and the metrics. Strategies come from the registry, so a newly
registered one is covered automatically (and fails until it has cheap settings below).
"""

import dataclasses
import sqlite3

import pytest
import torch

from alkit.data import load_dataset
from alkit.learner import TrainConfig
from alkit.loop import ALConfig, ALRun, pack_strategy_state, unpack_strategy_state
from alkit.store import RunStore
from alkit.strategies import Selection, Strategy, get_strategy, list_strategies
from alkit.strategies import _registry as registry

ALL = list_strategies()

_GAN = dict(gan_iterations=5, gan_batch=16, latent_dim=8, pca_dim=8, ascent_steps=2)
#: Cheap hyperparameters per strategy ({} = the defaults are cheap on the tiny pool). The stateful
#: settings are chosen so the state matters: WAAL's "theory" bias uses the last query size,
#: CEAL's threshold of 0.5 nats pseudo-labels about 150 items a round.
CHEAP = {
    "adv_bim": dict(max_iter=3),
    "adv_deepfool": dict(max_iter=3),
    "asal": dict(_GAN, ae_iterations=5),
    "badge": {},
    "bald": dict(mc_samples=3),
    "batch_bald": dict(mc_samples=3, num_samples=50),
    "ceal": dict(delta0=0.5, schedule="constant"),
    "cluster_margin": {},
    "dal": dict(n_mini_queries=2, max_steps=20),
    "ensemble_var_ratio": dict(k=2),
    "entropy": {},
    "entropy_mc": dict(mc_samples=3),
    "gaal": _GAN,
    "kcenter": {},
    "kmeans": dict(max_iter=10),
    "least_conf": {},
    "least_conf_mc": dict(mc_samples=3),
    "lpl": dict(hidden=8),
    "margin": {},
    "margin_mc": dict(mc_samples=3),
    "mean_std": dict(mc_samples=3),
    "random": {},
    "vaal": dict(max_iterations=5, latent_dim=4, mlp_hidden=16, disc_hidden=16),
    "var_ratio": {},
    "waal": dict(epochs=1, bias="theory"),
    "typiclust": {},
    "probcover": {},
}
ROUNDS = 4
#: (round, phase) of the injected crash: "query" raises right after the strategy's query returned
#: (its state already changed, nothing of the round committed), "train" when training starts.
CRASHES = [(2, "train"), (4, "query")]


class Crash(Exception):
    pass


@pytest.fixture(scope="module")
def tiny():
    ds = load_dataset("digits")
    return dataclasses.replace(ds, name="digits", x_train=ds.x_train[:200], y_train=ds.y_train[:200],
                               x_test=ds.x_test[:100], y_test=ds.y_test[:100])


def config(name, **kw):
    base = dict(dataset="digits", strategy=name, strategy_params=CHEAP[name], initial=10, query=5, rounds=ROUNDS,
                seed=0, train=TrainConfig(epochs=3, batch_size=32, min_steps=30, lr=0.01), device="cpu")
    base.update(kw)
    return ALConfig(**base)


def undeclared_state(strategy):
    """Instance attributes that are neither hyperparameters nor declared in ``resume_state``."""
    return sorted(set(vars(strategy)) - set(strategy.param_names()) - set(strategy.resume_state))


def record(store, run_id):
    """Per round: selections, scores, labels and metrics as the store holds them."""
    sels = store.get_selections(run_id)
    return [{"round": r["round"], "n_labeled": r["n_labeled"], "metrics": r["metrics"], **sels[r["round"]]}
            for r in store.get_rounds(run_id)]


def crash_at(run, round_idx, phase):
    """Make ``run`` raise :class:`Crash` in round ``round_idx``, during ``phase``."""
    if phase == "train":
        def cb(ev):
            if ev.kind == "phase" and ev.data.get("phase") == "train" and ev.round == round_idx:
                raise Crash(f"killed while training round {round_idx}")
        run.callbacks.append(cb)
        return
    real = run.strategy.query

    def query(view, budget, generator=None):
        sel = real(view, budget, generator)
        if view.round == round_idx:
            raise Crash(f"killed right after the query of round {round_idx}")
        return sel

    run.strategy.query = query


def run_interrupted(name, tiny, store, round_idx, phase):
    run = ALRun(config(name), store=store, dataset=tiny)
    crash_at(run, round_idx, phase)
    with pytest.raises(Crash):
        run.run()
    assert store.last_complete_round(run.run_id) == round_idx - 1
    assert store.get_run(run.run_id)["status"] != "finished"
    resumed = ALRun.resume(store, run.run_id, dataset=tiny)
    assert resumed.round == round_idx - 1
    resumed.run()
    assert store.get_run(run.run_id)["status"] == "finished"
    return run.run_id


def test_every_registered_strategy_has_cheap_settings():
    missing = sorted(set(ALL) - set(CHEAP))
    assert not missing, f"add cheap resume-test settings for {missing} to CHEAP in {__file__}"
    assert not set(CHEAP) - set(ALL), f"CHEAP names unregistered strategies {sorted(set(CHEAP) - set(ALL))}"


@pytest.mark.parametrize("name", ALL)
def test_resume_after_a_crash_equals_the_uninterrupted_run(name, tiny, tmp_path):
    if name not in CHEAP:
        pytest.fail(f"strategy {name!r} has no cheap resume-test settings (add them to CHEAP)")
    store = RunStore(tmp_path)
    full = ALRun(config(name), store=store, dataset=tiny)
    seen = set()
    params = dict(full.strategy.get_params())

    def watch(ev):  # the declaration is honest: every attribute a query (seen as training starts) or fit leaves
        if ev.kind == "round_end" or (ev.kind == "phase" and ev.data.get("phase") == "train"):
            seen.update(undeclared_state(full.strategy))

    full.callbacks.append(watch)
    full.run()
    assert not seen, f"{name} keeps undeclared state {sorted(seen)} across rounds: declare it in resume_state"
    assert full.strategy.get_params() == params, f"{name} changed its hyperparameters during the run"
    expected = record(store, full.run_id)
    assert [r["round"] for r in expected] == list(range(ROUNDS + 1))
    for round_idx, phase in CRASHES:
        run_id = run_interrupted(name, tiny, store, round_idx, phase)
        got = record(store, run_id)
        for want, have in zip(expected, got, strict=True):
            assert have == want, f"{name}: crash in round {round_idx} ({phase}): round {want['round']} differs"


# ---------------------------------------------------------------------------------------------------
# The mechanism, on a strategy whose state is easy to reason about
# ---------------------------------------------------------------------------------------------------
class _Rotating(Strategy):
    """Takes the ``b`` unlabeled items starting at a cursor that moves by ``b`` positions per query."""

    needs = frozenset()

    def __init__(self, start: int = 0) -> None:
        self.start = start

    def _select(self, view, k, generator):
        cursor = self.__dict__.get("_cursor", self.start)
        pos = (torch.arange(k) + cursor) % view.n_unlabeled
        self._cursor = cursor + k
        return Selection(indices=view.unlabeled[pos], scores=torch.arange(k, dtype=torch.float32))


class _RotatingStored(_Rotating):
    resume_state = {"_cursor": "store"}


@pytest.fixture
def rotating(monkeypatch):
    monkeypatch.setitem(registry._STRATEGIES, "rotating", _Rotating)
    monkeypatch.setitem(registry._STRATEGIES, "rotating_stored", _RotatingStored)
    monkeypatch.setitem(CHEAP, "rotating", {})
    monkeypatch.setitem(CHEAP, "rotating_stored", {})


def test_the_honesty_check_catches_undeclared_state(rotating):
    s = get_strategy("rotating")
    assert undeclared_state(s) == []
    s.query(_view_of(s), 3)
    assert undeclared_state(s) == ["_cursor"]
    t = get_strategy("rotating_stored")
    t.query(_view_of(t), 3)
    assert undeclared_state(t) == [] and t.state_dict() == {"_cursor": 3}


def _view_of(strategy):
    from alkit.strategies import PoolView

    return PoolView(unlabeled=torch.arange(10, 20), labeled=torch.arange(10), num_classes=2,
                    device=torch.device("cpu"), _fields={})


def test_undeclared_state_breaks_resume_and_declaring_it_fixes_it(rotating, tiny, tmp_path):
    """Why the declaration matters: the same strategy, undeclared then stored."""
    store = RunStore(tmp_path)
    for name, exact in (("rotating", False), ("rotating_stored", True)):
        full = ALRun(config(name), store=store, dataset=tiny)
        full.run()
        run_id = run_interrupted(name, tiny, store, 3, "query")
        same = record(store, run_id) == record(store, full.run_id)
        assert same is exact, name


def test_state_snapshots_are_stored_only_when_they_change(rotating, tiny, tmp_path):
    store = RunStore(tmp_path)
    run = ALRun(config("rotating_stored"), store=store, dataset=tiny)
    run.run()
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute("SELECT round, data FROM strategy_state WHERE run_id = ? ORDER BY round",
                            (run.run_id,)).fetchall()
    # taken after each query, before training: round 0 (fresh, empty) and each query round's new cursor
    assert [(r, unpack_strategy_state(d)) for r, d in rows] == [(0, {})] + [(r, {"_cursor": 5 * r}) for r in (1, 2, 3, 4)]
    plain = ALRun(config("entropy"), store=store, dataset=tiny)
    plain.run()
    assert store.get_strategy_state(plain.run_id) is None  # a strategy without stored state writes none
    assert store.get_strategy_state(run.run_id, upto_round=2)[0] == 2


def test_load_state_dict_restores_exactly_and_names_unknown_keys():
    s = get_strategy("waal", bias="theory")
    assert s.state_dict() == {}  # class default, nothing set on the instance
    s.load_state_dict({"_last_query": 7})
    assert s._query_size() == 7 and s.state_dict() == {"_last_query": 7}
    s.load_state_dict({})
    assert "_last_query" not in vars(s) and s._query_size() == 0  # back to the class default
    with pytest.raises(ValueError, match=r"no stored state \['_critic'\]"):
        s.load_state_dict({"_critic": None})  # rebuilt by the fit, never stored


def test_resume_state_modes_are_validated():
    with pytest.raises(ValueError, match="unknown modes .*'_x': 'keep'"):
        type("Bad", (Strategy,), {"resume_state": {"_x": "keep"}})


def test_state_packing_is_portable_and_rejects_objects():
    state = {"_clusters": (torch.arange(4), torch.zeros(4, dtype=torch.long), torch.ones(2, 3)), "_n": 3,
             "_p": {"indices": torch.tensor([1, 2]), "delta": 0.5, "round": 2}}
    back = unpack_strategy_state(pack_strategy_state(state))
    assert back.keys() == state.keys() and back["_n"] == 3 and back["_p"]["delta"] == 0.5
    assert all(torch.equal(a, b) and b.device.type == "cpu" for a, b in zip(state["_clusters"], back["_clusters"]))
    assert pack_strategy_state(state) == pack_strategy_state(back)  # same content, same bytes
    with pytest.raises(TypeError, match=r"waal state _critic is a Linear"):
        pack_strategy_state({"_critic": torch.nn.Linear(2, 1)}, "waal")
    with pytest.raises(RuntimeError, match="cannot be read"):
        unpack_strategy_state(b"not a torch file", "ceal")


# ---------------------------------------------------------------------------------------------------
# Stores written before strategy state was stored
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cluster_margin", "waal"])
def test_a_run_from_an_older_store_is_replayed_exactly(name, tiny, tmp_path):
    """No snapshot (the table did not exist): resume replays from round 0 and still ends exact."""
    store = RunStore(tmp_path)
    full = ALRun(config(name), store=store, dataset=tiny)
    full.run()
    run = ALRun(config(name), store=store, dataset=tiny)
    crash_at(run, 3, "train")
    with pytest.raises(Crash):
        run.run()
    store.close()
    with sqlite3.connect(tmp_path / "alkit.sqlite") as conn:
        conn.execute("DROP TABLE strategy_state")  # what a store of an older alkit looks like
    store = RunStore(tmp_path)
    assert store.get_strategy_state(run.run_id) is None
    resumed = ALRun.resume(store, run.run_id, dataset=tiny)
    assert resumed.strategy.replay_on_resume is False  # replayed because the snapshot is missing
    resumed.run()
    assert record(store, run.run_id) == record(store, full.run_id)
    # the table is back, with snapshots from the first round after the resume on
    assert store.get_strategy_state(run.run_id, upto_round=2) is None
    assert store.get_strategy_state(run.run_id, upto_round=3)[0] == 3
    store.delete_run(run.run_id)  # deleting a run deletes its snapshots too
    with sqlite3.connect(tmp_path / "alkit.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM strategy_state WHERE run_id = ?", (run.run_id,)).fetchone() == (0,)


def test_log_round_rejects_a_state_that_is_not_bytes(tmp_path):
    from alkit.store import StoreError

    store = RunStore(tmp_path)
    rid = store.create_run({"strategy": "x"}, 0, strategy="x", dataset="d")
    with pytest.raises(StoreError, match="strategy_state must be bytes, got dict"):
        store.log_round(rid, 0, n_labeled=1, metrics={}, timings={}, selected=[0], strategy_state={"_n": 1})
    assert store.last_complete_round(rid) == -1  # nothing written
    store.log_round(rid, 0, n_labeled=1, metrics={}, timings={}, selected=[0], strategy_state=b"abc")
    assert store.get_strategy_state(rid) == (0, b"abc")
    assert RunStore(tmp_path, readonly=True).get_strategy_state(rid, upto_round=0) == (0, b"abc")
