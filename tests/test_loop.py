"""The AL loop end to end on real data (digits), resume after a crash, oracles and bad input."""

import pytest
import torch

from alkit.data import load_dataset
from alkit.learner import TrainConfig
from alkit.loop import ALConfig, ALRun, run_active_learning
from alkit.oracle import IdealOracle, NoisyOracle
from alkit.store import RunStore

FAST = TrainConfig(epochs=5, batch_size=32, min_steps=30)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def cfg(**kw):
    base = dict(dataset="digits", strategy="entropy", initial=20, query=10, rounds=2, seed=0, train=FAST, device="cpu")
    base.update(kw)
    return ALConfig(**base)


def test_two_rounds_on_digits(digits, tmp_path):
    store = RunStore(tmp_path)
    events = []
    run = run_active_learning(cfg(), store=store, dataset=digits, callbacks=[events.append])
    assert [h.n_labeled for h in run.history] == [20, 30, 40]
    assert all(0.0 <= h.accuracy <= 1.0 for h in run.history)
    assert run.history[-1].accuracy > 0.3  # far above chance (0.1) after 40 labels
    assert all(len(h.per_class_accuracy) == 10 for h in run.history)
    for h in run.history[1:]:
        # the strategy's own breakdown is namespaced under the query phase
        assert {"train", "infer", "query", "evaluate", "query.score", "query.select"} <= set(h.timings)
        assert "score" not in h.timings and "select" not in h.timings
        assert len(h.selected) == 10 and h.scores is not None
        assert h.scores == sorted(h.scores, reverse=True)  # entropy picks best first
    # selected items are distinct across rounds and the store agrees with the run
    picked = [i for h in run.history for i in h.selected]
    assert len(set(picked)) == 40
    assert store.labeled_indices(run.run_id) == picked
    info = store.get_run(run.run_id)
    assert info["status"] == "finished" and info["strategy"] == "entropy"
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end" and kinds.count("round_end") == 3
    assert {e.data["phase"] for e in events if e.kind == "phase"} >= {"train", "infer", "query", "evaluate"}


def test_same_seed_same_selections_different_seed_differs(digits, device):
    # CUDA's index_add_ / cuDNN kernels are nondeterministic: there the guarantee needs deterministic=True.
    kw = {"device": str(device), "deterministic": device.type == "cuda"}
    a = run_active_learning(cfg(**kw), dataset=digits)
    b = run_active_learning(cfg(**kw), dataset=digits)
    c = run_active_learning(cfg(seed=1, **kw), dataset=digits)
    sel = lambda r: [h.selected for h in r.history]  # noqa: E731
    assert sel(a) == sel(b)
    assert [h.accuracy for h in a.history] == [h.accuracy for h in b.history]
    assert sel(a) != sel(c)


class Crash(Exception):
    pass


@pytest.mark.parametrize("strategy, params", [
    ("entropy", {}), ("random", {}),
    # CEAL keeps pseudo-labels between its query and the next training: resume must rebuild them
    ("ceal", {"delta0": 2.0, "schedule": "constant"}),
])
def test_resume_after_crash_matches_uninterrupted(digits, tmp_path, strategy, params):
    config = cfg(strategy=strategy, strategy_params=params, rounds=4)
    full = run_active_learning(config, dataset=digits)

    store = RunStore(tmp_path)

    def crash_in_round_3(ev):
        if ev.kind == "phase" and ev.data.get("phase") == "train" and ev.round == 3:
            raise Crash("simulated kill during training of round 3")

    run = ALRun(config, store=store, dataset=digits, callbacks=[crash_in_round_3])
    with pytest.raises(Crash):
        run.run()
    assert store.last_complete_round(run.run_id) == 2
    assert store.get_run(run.run_id)["status"] == "failed"

    resumed = ALRun.resume(RunStore(tmp_path), run.run_id, dataset=digits)
    assert resumed.round == 2
    resumed.run()
    sels = RunStore(tmp_path).get_selections(run.run_id)
    assert [sels[r]["indices"] for r in sorted(sels)] == [h.selected for h in full.history]
    rounds = RunStore(tmp_path).get_rounds(run.run_id)
    assert [r["metrics"]["accuracy"] for r in rounds] == [h.accuracy for h in full.history]
    assert RunStore(tmp_path).get_run(run.run_id)["status"] == "finished"


def test_resume_of_a_finished_run_keeps_it_finished(digits, tmp_path):
    store = RunStore(tmp_path)
    run = run_active_learning(cfg(rounds=1), store=store, dataset=digits)
    again = ALRun.resume(RunStore(tmp_path), run.run_id, dataset=digits)
    assert again.done and again.round == 1
    assert RunStore(tmp_path).get_run(run.run_id)["status"] == "finished"
    # the rebuilt model is the one the run ended with (same seed, same data)
    assert again.learner.predict(digits.x_test).tolist() == run.learner.predict(digits.x_test).tolist()


def test_initial_modes(digits):
    bal = ALRun(cfg(initial=30, initial_mode="balanced"), dataset=digits).initial_indices()
    counts = torch.bincount(digits.y_train[bal], minlength=10)
    assert counts.tolist() == [3] * 10
    rnd = ALRun(cfg(initial=30), dataset=digits).initial_indices()
    assert len(rnd.unique()) == 30
    explicit = ALRun(cfg(), dataset=digits, initial_indices=[5, 6, 7])
    assert explicit.initial_indices().tolist() == [5, 6, 7]


def test_dataset_initial_mode_on_sampling_bias():
    ds = load_dataset("sampling_bias")
    run = ALRun(cfg(dataset="sampling_bias", initial_mode="dataset", initial=5), dataset=ds)
    idx = run.initial_indices()
    assert idx.tolist() == list(ds.info["initial_indices"])


def test_noisy_oracle_rate_and_determinism():
    y = torch.arange(10_000) % 5
    o = NoisyOracle(y, 5, rate=0.2, seed=0)
    ans = o.label(torch.arange(10_000))
    wrong = (ans != y).float().mean().item()
    assert 0.18 < wrong < 0.22
    assert torch.equal(ans, NoisyOracle(y, 5, rate=0.2, seed=0).label(torch.arange(10_000)))
    assert torch.equal(IdealOracle(y).label(torch.tensor([3, 7])), y[[3, 7]])
    assert torch.equal(NoisyOracle(y, 5, rate=0.0, seed=1).label(torch.arange(100)), y[:100])


def test_noisy_oracle_labels_reach_training_not_evaluation(digits):
    run = run_active_learning(cfg(oracle="noisy", noise_rate=1.0, rounds=1), dataset=digits)
    lab = run.labeled_indices()
    assert bool((run.labels[lab] != digits.y_train[lab]).all())  # every answer flipped
    assert bool((run.labels[run.unlabeled_indices()] == -1).all())


@pytest.mark.parametrize("kw, match", [
    ({"initial": 5000}, "larger than the pool"),
    ({"query": 0}, "query budget"),
    ({"query": 2.5}, "integer"),
    ({"rounds": -1}, "rounds"),
    ({"initial_mode": "smart"}, "initial_mode"),
    ({"strategy": "entrpy"}, "Valid names"),
    ({"dataset": "cifar11"}, "Valid names"),
    ({"model": "vgg19"}, "Valid names"),
    ({"oracle": "crowd"}, "oracle"),
])
def test_bad_config_is_named(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ALRun(cfg(**kw))


def test_model_class_count_mismatch(digits):
    from alkit.models import ModelError

    with pytest.raises(ModelError):
        ALRun(cfg(model="lenet"), dataset=digits)  # lenet cannot take flat 64-d digits


def test_budget_larger_than_pool_stops_when_pool_is_empty():
    ds = load_dataset("blobs", n_samples=60)
    run = run_active_learning(cfg(dataset="blobs", initial=len(ds.x_train) - 15, query=10, rounds=5), dataset=ds)
    assert run.history[-1].n_labeled == len(ds.x_train)
    assert len(run.history) == 3  # 15 left: one round of 10, one of 5, then the pool is empty


def test_initial_predicate_biases_the_seed_set(digits):
    run = ALRun(cfg(initial=25), dataset=digits, initial_predicate=lambda x, y: y < 3)
    idx = run.initial_indices()
    assert len(idx) == 25 and bool((digits.y_train[idx] < 3).all())
    assert torch.equal(idx, ALRun(cfg(initial=25), dataset=digits, initial_predicate=lambda x, y: y < 3).initial_indices())
    with pytest.raises(ValueError, match="admits"):
        ALRun(cfg(initial=25), dataset=digits, initial_predicate=lambda x, y: y == 99).initial_indices()


def test_store_embeddings_for_the_dashboard(digits, tmp_path):
    store = RunStore(tmp_path)
    run = run_active_learning(cfg(rounds=1, store_embeddings=100), store=store, dataset=digits)
    idx, emb = store.get_embeddings(run.run_id, 1)
    assert emb.shape[1] == run.learner.model.feature_dim
    assert set(run.history[1].selected) <= set(idx.tolist())  # the selected batch is always included
    assert 100 <= len(idx) <= 110


def test_every_query_round_records_the_querying_models_predictions():
    from alkit import ALConfig, ALRun, TrainConfig
    from alkit.data import load_dataset

    ds = load_dataset("digits")
    run = ALRun(ALConfig(dataset="digits", strategy="entropy", initial=20, query=5, rounds=2, seed=0,
                         train=TrainConfig(epochs=3)), dataset=ds)
    run.step()  # round 0: no query
    model_before = run.learner.model  # round 1 queries with this model, then trains a fresh one
    res = run.step()
    assert run.learner.model is not model_before
    got = res.extras["selected_predicted"]
    assert len(got) == 5
    with torch.no_grad():
        expect = model_before.eval()(ds.x_train[torch.tensor(res.selected)]).argmax(1).tolist()
    assert got == expect  # the querying model's predictions, not the retrained model's


def test_a_strategy_timing_named_like_a_phase_does_not_add_to_that_phase(digits):
    """DAL times its discriminator as "train": that must not be added to the task model's training time."""
    run = ALRun(cfg(rounds=1), dataset=digits)
    real_query = run.strategy.query

    def query(view, budget, generator):
        sel = real_query(view, budget, generator)
        sel.timings["train"] = 1000.0  # far longer than this run's whole training
        return sel

    run.strategy.query = query
    run.step()
    res = run.step()
    assert res.timings["query.train"] == 1000.0
    assert res.timings["train"] < 100.0


def test_deterministic_mode_holds_during_rounds_and_is_restored(digits, monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    seen = []
    cb = lambda e: seen.append(torch.are_deterministic_algorithms_enabled())  # noqa: E731
    assert not torch.are_deterministic_algorithms_enabled()
    run = ALRun(cfg(rounds=1, deterministic=True), dataset=digits, callbacks=[cb])
    run.run()
    assert seen and all(seen)  # every event of both rounds saw deterministic kernels
    assert not torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.deterministic
    import os

    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    seen.clear()
    ALRun(cfg(rounds=1), dataset=digits, callbacks=[cb]).run()
    assert seen and not any(seen)  # the default leaves torch's flags alone


def test_cli_run_has_the_deterministic_flag():
    from alkit.cli import build_parser

    assert build_parser().parse_args(["run", "--deterministic"]).deterministic is True
    assert build_parser().parse_args(["run"]).deterministic is None  # unset: ALConfig's default (False)


def test_deterministic_algorithms_context_restores_flags_and_warns_late_cublas(monkeypatch):
    from alkit.device import deterministic_algorithms

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    torch.use_deterministic_algorithms(True, warn_only=True)  # a caller's own setting survives the block
    try:
        with deterministic_algorithms(True):
            assert torch.are_deterministic_algorithms_enabled()
            assert not torch.is_deterministic_algorithms_warn_only_enabled()
            assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        with deterministic_algorithms(False):
            assert torch.is_deterministic_algorithms_warn_only_enabled()  # False: nothing touched
    finally:
        torch.use_deterministic_algorithms(False)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    with pytest.warns(RuntimeWarning, match="CUDA was initialised before CUBLAS_WORKSPACE_CONFIG"):
        with deterministic_algorithms(True):
            pass
    assert not torch.are_deterministic_algorithms_enabled()


def test_view_for_is_the_view_the_next_query_sees():
    from alkit.strategies import get_strategy

    cfg = ALConfig(dataset="blobs", strategy="bald", initial=10, query=5, rounds=2,
                   train=TrainConfig(epochs=2, min_steps=5), device="cpu", seed=3)
    run = ALRun(cfg)
    with pytest.raises(RuntimeError, match="step"):
        run.view_for()
    run.step()
    expected = run.view_for()
    seen = []
    query = run.strategy.query
    run.strategy.query = lambda view, budget, gen: (seen.append(view), query(view, budget, gen))[1]
    run.step()
    (view,) = seen
    assert view.round == expected.round == 1 and view.cache_dir == expected.cache_dir == run.cache_dir
    assert torch.equal(view.unlabeled, expected.unlabeled) and torch.equal(view.labeled, expected.labeled)
    assert view.mc_probs.shape[0] == run.strategy.mc_samples and torch.equal(view.mc_probs, expected.mc_probs)
    several = run.view_for(get_strategy("kcenter"), get_strategy("entropy"), fields={"inputs"})
    assert all(several.has(f) for f in ("embeddings", "labeled_embeddings", "probs", "inputs"))
    assert not several.has("mc_probs") and several.round == 2
    with pytest.raises(ValueError, match="unknown view fields"):
        run.view_for(fields={"labels"})
