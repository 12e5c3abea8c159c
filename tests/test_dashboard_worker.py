"""alkit.app.worker: background runs that step on request and take labels from a person."""

import time

import pytest
import torch

from alkit.app.worker import RunWorker, get_worker
from alkit.learner import TrainConfig
from alkit.loop import ALConfig
from alkit.store import RunStore

torch.set_num_threads(1)


def _cfg(**kw):
    base = dict(dataset="digits", strategy="margin", initial=10, query=4, rounds=2, seed=0,
                train=TrainConfig(epochs=2, batch_size=32), store_embeddings=50)
    base.update(kw)
    return ALConfig(**base)


def test_step_mode_runs_one_round_per_request():
    w = RunWorker(_cfg(), mode="step")
    assert get_worker(w.run_id) is w
    s = w.wait(lambda s: s["state"] == "waiting_for_step")
    assert s["round"] == -1
    store = RunStore(readonly=True)
    assert store.get_rounds(w.run_id) == []
    w.step()
    s = w.wait(lambda s: s["state"] == "waiting_for_step" and s["round"] == 0)
    assert len(store.get_rounds(w.run_id)) == 1 and s["timings"]["train"] > 0
    w.step()
    w.wait(lambda s: s["round"] == 1 and not s["busy"])
    rounds = store.get_rounds(w.run_id)
    assert len(rounds) == 2
    sel = store.get_selections(w.run_id)[1]["indices"]
    pred = rounds[1]["extras"]["selected_predicted"]
    assert len(pred) == len(sel) == 4 and all(0 <= p < 10 for p in pred)
    w.continue_auto()
    s = w.wait(lambda s: s["state"] == "finished")
    assert s["round"] == 2 and store.get_run(w.run_id)["status"] == "finished"
    assert w.join(5)


def test_human_oracle_labels_are_the_stored_labels():
    w = RunWorker(_cfg(rounds=1, store_embeddings=0), human=True)
    s = w.wait(lambda s: s["pending"] is not None, timeout=120)
    pending = s["pending"]
    assert len(pending) == 4 and s["state"] == "waiting_for_labels" and not s["busy"]
    store = RunStore(readonly=True)
    assert store.get_run(w.run_id)["config"]["oracle"] == "human"  # the store says who answered
    # round 0 (the seed set) came from the ideal oracle
    sel0 = store.get_selections(w.run_id)[0]
    assert sel0["labels"] == w.run.dataset.y_train[sel0["indices"]].tolist()
    with pytest.raises(ValueError, match="4 items"):
        w.answer([1, 2])
    with pytest.raises(ValueError, match="class numbers"):
        w.answer([1, 2, 3, 10])
    given = [(int(w.run.dataset.y_train[i]) + 1) % 10 for i in pending]  # deliberately wrong labels
    w.answer({i: y for i, y in zip(pending, given)})
    w.wait(lambda s: s["state"] == "finished", timeout=120)
    sel1 = store.get_selections(w.run_id)[1]
    assert sel1["indices"] == pending and sel1["labels"] == given


def test_stop_while_waiting_for_labels_marks_the_run_interrupted():
    w = RunWorker(_cfg(rounds=3, store_embeddings=0), human=True)
    w.wait(lambda s: s["pending"] is not None, timeout=120)
    w.stop()
    s = w.wait(lambda s: not s["alive"], timeout=30)
    assert s["state"] == "stopped"
    assert RunStore(readonly=True).get_run(w.run_id)["status"] == "interrupted"
    # `alkit resume` cannot invent the person's answers: it says so instead of using the dataset's labels
    from alkit.loop import ALRun

    with pytest.raises(ValueError, match="from a person"):
        ALRun.resume(RunStore(), w.run_id)


def test_bad_input_fails_before_a_run_exists_or_is_reported():
    with pytest.raises(ValueError, match="query budget"):
        RunWorker(_cfg(query=0))
    assert RunStore(readonly=True).list_runs() == []
    with pytest.raises(ValueError, match="mode"):
        RunWorker(_cfg(), mode="fast")
    w = RunWorker(_cfg(strategy_params={"no_such_param": 1}))
    s = w.wait(lambda s: s["state"] == "failed")
    assert "no_such_param" in s["error"]
    assert RunStore(readonly=True).get_run(w.run_id)["status"] == "failed"


def test_a_failed_run_is_failed_in_the_store_once_the_worker_says_so(monkeypatch):
    """The worker writes the store before it reports "failed": a reader that waited for the state finds the
    stored status too (a slow store write made the earlier order race on a loaded machine)."""
    real = RunStore.set_status

    def slow(self, *a, **k):
        time.sleep(0.5)
        return real(self, *a, **k)

    monkeypatch.setattr(RunStore, "set_status", slow)
    w = RunWorker(_cfg(strategy_params={"no_such_param": 1}))
    w.wait(lambda s: s["state"] == "failed")
    assert RunStore(readonly=True).get_run(w.run_id)["status"] == "failed"
