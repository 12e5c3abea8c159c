"""Sweeps: the spec, its id, the store's sweep tables, the serial and process engines, faults, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alkit.experiments.engines import ProcessEngine, SerialEngine, check_engine_options, make_engine
from alkit.experiments.sweep import SweepError, SweepSpec, parse_seeds, sweep, sweep_curves
from alkit.store import RunStore, StoreError

TINY = {"datasets": ["digits"], "strategies": ["random", "entropy"], "seeds": [0, 1], "initial": 20, "query": 20,
        "rounds": 2, "train": {"epochs": 4, "min_steps": 15}}


def tiny(**kw):
    return SweepSpec.from_dict({**TINY, **kw})


def stored(ws, sweep_id):
    """Everything a cell stored that must not depend on the engine: selections, scores, labels, metrics."""
    out = {}
    with RunStore(ws, readonly=True) as st:
        for c in st.sweep_cells(sweep_id):
            rounds = st.get_rounds(c["run_id"])
            out[(c["dataset"], c["strategy"], c["seed"])] = {
                "status": c["status"],
                "selections": st.get_selections(c["run_id"]),
                "metrics": [(r["round"], r["n_labeled"], r["metrics"]) for r in rounds],
            }
    return out


# ------------------------------------------------------------------------------------------ the spec

def test_parse_seeds_ranges_and_lists():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("0,3,5-6") == [0, 3, 5, 6]
    assert parse_seeds([4, 2]) == [4, 2]
    assert parse_seeds(7) == [7]
    for bad, needle in [("3-1", "empty"), ("a-b", "cannot read"), ("-1", ">= 0"), ([1, 1], "more than once"),
                        ("", "no seeds"), ([True], "not an integer"), ("x", "not an integer")]:
        with pytest.raises(SweepError, match=needle):
            parse_seeds(bad)


def test_spec_cells_configs_and_presets():
    spec = SweepSpec(datasets=["digits", "blobs"], strategies=["random"], seeds="0-1",
                     datasets_options={"blobs": {"initial": 6}})
    assert spec.cells() == [("digits", "random", 0), ("digits", "random", 1), ("blobs", "random", 0),
                            ("blobs", "random", 1)]
    digits = spec.config_for("digits", "random", 0).resolved()
    assert (digits.initial, digits.query, digits.rounds) == (20, 20, 10)  # the digits preset
    assert spec.config_for("blobs", "random", 1).resolved().initial == 6
    spec2 = tiny(train={"epochs": 3})
    c = spec2.config_for("digits", "entropy", 1).resolved()
    assert c.train.epochs == 3 and c.train.batch_size == 32  # the override on top of the preset


def test_sweep_id_is_derived_from_the_content():
    a, b = tiny(), tiny(name="another label")
    assert a.sweep_id == b.sweep_id and a.sweep_id.startswith("sw-") and len(a.sweep_id) == 15
    assert tiny(seeds=[0, 1, 2]).sweep_id != a.sweep_id
    assert tiny(train={"epochs": 5, "min_steps": 15}).sweep_id != a.sweep_id
    assert SweepSpec.from_dict(a.to_dict()).sweep_id == a.sweep_id


@pytest.mark.parametrize("patch, needle", [
    ({"datasets": []}, "datasets: the grid is empty"),
    ({"strategies": ["entropyy"]}, "did you mean 'entropy'"),
    ({"datasets": ["digitz"]}, "unknown name 'digitz'"),
    ({"seeds": "5-2"}, "empty"),
    ({"rounds": -1}, "rounds must be >= 0"),
    ({"query": 0}, "query must be >= 1"),
    ({"initial": 2.5}, "initial must be an integer"),
    ({"train": {"epoch": 3}}, "train: unknown keys \\['epoch'\\]"),
    ({"config": {"seed": 3}}, "set by the grid"),
    ({"config": {"initial_mode": "sideways"}}, "initial_mode must be"),
    ({"strategy_params": {"badge": {}}}, "'badge' is not in the grid"),
    ({"strategy_params": {"entropy": {"temperature": 2}}}, "strategy_params.entropy"),
    ({"datasets_options": {"digits": {"size": 3}}}, "datasets_options.digits: unknown keys"),
    ({"seedz": [1]}, "did you mean 'seeds'"),
])
def test_bad_specs_give_one_clear_error(patch, needle):
    with pytest.raises(SweepError, match=needle):
        SweepSpec.from_dict({**TINY, **patch})


def test_missing_keys_and_toml_errors(tmp_path):
    with pytest.raises(SweepError, match="needs seeds"):
        SweepSpec.from_dict({"datasets": ["digits"], "strategies": ["random"]})
    bad = tmp_path / "bad.toml"
    bad.write_text("datasets = [digits")
    with pytest.raises(SweepError, match="not valid TOML"):
        SweepSpec.from_toml(bad)
    with pytest.raises(SweepError, match="no sweep spec file"):
        SweepSpec.from_toml(tmp_path / "missing.toml")
    good = tmp_path / "good.toml"
    good.write_text('name = "t"\ndatasets = ["digits"]\nstrategies = ["random", "entropy"]\nseeds = "0-1"\n'
                    'initial = 20\nquery = 20\nrounds = 2\n[train]\nepochs = 4\nmin_steps = 15\n')
    spec = SweepSpec.from_toml(good)
    assert spec.sweep_id == tiny().sweep_id and spec.name == "t"


def test_a_budget_larger_than_the_pool_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(SweepError, match="exceed the pool"):
        sweep(tiny(initial=1000, query=500), workspace=tmp_path, engine="serial", progress=False)
    assert not (tmp_path / "alkit.sqlite").exists()


def test_engine_options_are_checked():
    check_engine_options("serial")
    for kw, needle in [({"address": "h:1"}, "--address belongs to the ray engine"),
                       ({"num_cpus": 2, "gpus_per_cell": 1}, "--num-cpus, --gpus-per-cell belong"),
                       ({"workers": 2}, "--workers belongs to the process engine")]:
        with pytest.raises(ValueError, match=needle):
            check_engine_options("serial", **kw)
    with pytest.raises(ValueError, match="unknown engine 'spark'"):
        make_engine("spark")
    with pytest.raises(ValueError, match="positive integer"):
        check_engine_options("process", workers=0)
    with pytest.raises(ValueError, match="cannot be combined"):
        check_engine_options("ray", address="h:1", num_cpus=2)
    with pytest.raises(ValueError, match="HOST:PORT"):
        check_engine_options("ray", address="nohost")
    with pytest.raises(ValueError, match=">= 0"):
        check_engine_options("ray", gpus_per_cell=-1)
    assert isinstance(make_engine(None), SerialEngine)


def test_a_missing_ray_gives_an_install_hint(monkeypatch):
    import alkit.experiments.engines as engines

    monkeypatch.setattr(engines, "ray_available", lambda: False)
    with pytest.raises(ImportError, match=r"pip install 'alkit\[ray\]'"):
        engines.make_engine("ray")


# ------------------------------------------------------------------------------------------ the store

def test_store_sweep_tables(tmp_path):
    st = RunStore(tmp_path)
    assert st.list_sweeps() == []
    st.register_sweep("sw-000000000001", {"a": 1}, name="x", n_cells=3)
    st.register_sweep("sw-000000000001", {"a": 1})  # idempotent
    with pytest.raises(StoreError, match="different spec"):
        st.register_sweep("sw-000000000001", {"a": 2})
    rid = st.create_run({}, 0, strategy="random", dataset="digits")
    st.add_sweep_cell("sw-000000000001", dataset="digits", strategy="random", seed=0, run_id=rid)
    with pytest.raises(StoreError, match="register_sweep first"):
        st.add_sweep_cell("sw-nope", dataset="digits", strategy="random", seed=0, run_id=rid)
    (row,) = st.list_sweeps()
    assert (row["n_cells"], row["n_runs"], row["status_counts"]["running"], row["name"]) == (3, 1, 1, "x")
    assert st.sweep_cells("sw-0000")[0]["run_id"] == rid  # a unique prefix
    with pytest.raises(StoreError, match="no sweep"):
        st.sweep_cells("sw-9")
    st.delete_run(rid)
    assert st.sweep_cells("sw-000000000001") == []
    st.close()


# ------------------------------------------------------------------------------------------ running

@pytest.fixture(scope="module")
def serial_reference(tmp_path_factory):
    ws = tmp_path_factory.mktemp("serial")
    res = sweep(tiny(), workspace=ws, engine="serial", progress=False)
    return ws, res


def test_serial_sweep_stores_every_cell_and_skips_them_the_second_time(serial_reference):
    ws, res = serial_reference
    assert res.ok and res.counts() == {"started": 4}
    data = stored(ws, res.sweep_id)
    assert set(data) == {("digits", s, seed) for s in ("random", "entropy") for seed in (0, 1)}
    for cell in data.values():
        assert cell["status"] == "finished"
        assert [m[1] for m in cell["metrics"]] == [20, 40, 60]
    again = sweep(tiny(), workspace=ws, engine="serial", progress=False)
    assert again.counts() == {"skipped": 4} and again.sweep_id == res.sweep_id
    assert stored(ws, res.sweep_id) == data
    curves = sweep_curves(RunStore(ws, readonly=True), res.sweep_id)
    assert list(curves["digits"]) == ["random", "entropy"]  # the spec's order
    n, acc = curves["digits"]["entropy"][1]
    assert n == [20, 40, 60] and acc == [m[2]["accuracy"] for m in data[("digits", "entropy", 1)]["metrics"]]


def test_process_engine_gives_the_serial_selections_and_metrics(serial_reference, tmp_path):
    ws, res = serial_reference
    proc = sweep(tiny(), workspace=tmp_path, engine="process", workers=2, progress=False)
    assert proc.ok and proc.sweep_id == res.sweep_id
    assert stored(tmp_path, proc.sweep_id) == stored(ws, res.sweep_id)


def test_a_failing_cell_is_stored_as_failed_and_the_sweep_goes_on(serial_reference, tmp_path):
    ws, ref = serial_reference
    bad = ("digits", "entropy", 1)
    res = sweep(tiny(), workspace=tmp_path, engine="serial", progress=False, inject={bad: {"fail_after": 2}})
    assert not res.ok and [(c["dataset"], c["strategy"], c["seed"]) for c in res.failed] == [bad]
    assert "injected failure after 2 rounds" in res.failed[0]["error"]
    data = stored(tmp_path, res.sweep_id)
    assert data[bad]["status"] == "failed" and len(data[bad]["metrics"]) == 2
    with RunStore(tmp_path, readonly=True) as st:
        assert "injected failure" in st.get_run(res.failed[0]["run_id"])["message"]
    assert sum(c["status"] == "finished" for c in data.values()) == 3
    # running the spec again retries the failed cell from its last stored round
    again = sweep(tiny(), workspace=tmp_path, engine="serial", progress=False)
    assert again.ok and again.counts() == {"skipped": 3, "resumed": 1}
    assert stored(tmp_path, res.sweep_id) == stored(ws, ref.sweep_id)


def test_a_killed_worker_is_retried_and_the_cell_resumes(serial_reference, tmp_path, capsys):
    ws, ref = serial_reference
    dying = ("digits", "random", 0)
    res = sweep(tiny(), workspace=tmp_path, engine=ProcessEngine(2), progress=True, inject={dying: {"die_after": 1}})
    assert res.ok
    err = capsys.readouterr().err
    assert "worker process died (exit code 17)" in err and "resuming it from round 1" in err
    assert stored(tmp_path, res.sweep_id) == stored(ws, ref.sweep_id)


def test_a_worker_that_keeps_dying_fails_its_cell_after_the_retries(tmp_path, monkeypatch):
    import alkit.experiments.sweep as sweep_mod

    class AlwaysDie(ProcessEngine):
        def submit(self, task):
            task.die_after = 1
            super().submit(task)

    res = sweep_mod.sweep(tiny(strategies=["random"], seeds=[0]), workspace=tmp_path, engine=AlwaysDie(1),
                          progress=False, max_retries=1)
    (cell,) = res.failed
    assert "worker process died" in cell["error"] and "(2 attempts)" in cell["error"]
    with RunStore(tmp_path, readonly=True) as st:
        assert st.get_run(cell["run_id"])["status"] == "failed"
        assert st.last_complete_round(cell["run_id"]) == 1  # each attempt stored one more round, none twice


KILL_SPEC = {**TINY, "rounds": 6}


@pytest.fixture(scope="module")
def kill_reference(tmp_path_factory):
    """The uninterrupted sweep the killed-and-restarted ones must equal, and its spec file."""
    root = tmp_path_factory.mktemp("kill")
    spec_file = root / "spec.toml"
    spec_file.write_text('datasets = ["digits"]\nstrategies = ["random", "entropy"]\nseeds = [0, 1]\ninitial = 20\n'
                         'query = 20\nrounds = 6\n[train]\nepochs = 4\nmin_steps = 15\n')
    res = sweep(SweepSpec.from_dict(KILL_SPEC), workspace=root / "reference", engine="serial", progress=False)
    assert res.ok and res.sweep_id == SweepSpec.from_toml(spec_file).sweep_id
    return spec_file, stored(root / "reference", res.sweep_id)


def _sweep_cmd(ws: Path, spec_file: Path, engine: str = "serial") -> list[str]:
    return [sys.executable, "-m", "alkit.cli", "sweep", str(spec_file), "--workspace", str(ws), "--engine", engine,
            "--quiet"]


def _wait_for_rounds(ws: Path, n: int, proc: subprocess.Popen, limit: float = 240.0) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before it was killed: {proc.stderr.read()}")
        if (ws / "alkit.sqlite").exists():
            with RunStore(ws, readonly=True) as st:
                sweeps = st.list_sweeps()
                if sweeps:
                    cells = st.sweep_cells(sweeps[0]["sweep_id"])
                    got = sum(c["n_rounds"] for c in cells)
                    # kill in the middle of a cell, not between two (a loaded machine polls late)
                    if got >= n and any(c["status"] == "running" for c in cells):
                        return got
        time.sleep(0.2)
    pytest.fail("the sweep stored too few rounds")


def _round_stamps(ws: Path) -> dict:
    with RunStore(ws, readonly=True) as st:
        sid = st.list_sweeps()[0]["sweep_id"]
        return {(c["strategy"], c["seed"], r["round"]): r["created_at"]
                for c in st.sweep_cells(sid) for r in st.get_rounds(c["run_id"])}


@pytest.mark.parametrize("how", ["kill -9", "Ctrl-C"])
def test_the_driver_killed_and_restarted_loses_no_round_and_repeats_none(tmp_path, how, kill_reference):
    spec_file, reference = kill_reference
    ws = tmp_path / "killed"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # SIGINT back to its default in the child: pytest-xdist workers ignore it, and children inherit that
    proc = subprocess.Popen(_sweep_cmd(ws, spec_file), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _wait_for_rounds(ws, 8, proc)  # past the first cell (7 rounds), into the second
    if how == "kill -9":
        proc.kill()
    else:
        proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    if how == "Ctrl-C":
        assert proc.returncode == 130
    before = _round_stamps(ws)
    with RunStore(ws, readonly=True) as st:
        sid = st.list_sweeps()[0]["sweep_id"]
        statuses = {c["status"] for c in st.sweep_cells(sid)}
    assert "running" not in statuses and "interrupted" in statuses  # a dead driver's cells read interrupted
    rerun = subprocess.run(_sweep_cmd(ws, spec_file), capture_output=True, text=True, env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert "skipped" in rerun.stdout and "resumed" in rerun.stdout
    after = _round_stamps(ws)
    assert {k: after[k] for k in before} == before  # every stored round kept, none written again
    assert stored(ws, sid) == reference


def test_compare_goes_through_the_sweep_driver(tmp_path):
    from alkit.experiments.compare import run_comparison
    from alkit.learner import TrainConfig
    from alkit.loop import ALConfig

    base = ALConfig(dataset="digits", initial=20, query=20, rounds=1,
                    train=TrainConfig(epochs=4, batch_size=32, min_steps=15))
    a = run_comparison(base, ["random", "entropy"], [0], workspace=str(tmp_path / "a"), workers=1, progress=False)
    b = run_comparison(base, ["random", "entropy"], [0], workspace=str(tmp_path / "b"), workers=2, progress=False)
    assert a.curves == b.curves and set(a.run_ids) == {("random", 0), ("entropy", 0)}
    c = run_comparison(base, ["random"], [0], workspace=str(tmp_path / "a"), workers=1, progress=False)
    assert c.run_ids[("random", 0)] != a.run_ids[("random", 0)]  # a comparison always makes new runs


def test_cli_sweep_sweeps_and_report(serial_reference, tmp_path, capsys):
    import json

    from alkit.cli import main

    ws, res = serial_reference
    assert main(["sweeps", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert res.sweep_id in out and "4/4" in out
    html = tmp_path / "r.html"
    assert main(["report", res.sweep_id[:8], "--workspace", str(ws), "--json", "--html", str(html)]) == 0
    rep = json.loads(capsys.readouterr().out)
    d = rep["datasets"]["digits"]
    assert set(d["aubc"]) == {"random", "entropy"} and d["aubc"]["random"]["n"] == 2
    assert d["penalty_matrix"]["strategies"] == ["random", "entropy"] and "entropy" in d["verdicts"]
    assert html.read_text().lstrip().lower().startswith("<!doctype html")
    spec_file = tmp_path / "s.toml"
    spec_file.write_text('datasets = ["digits"]\nstrategies = ["random"]\nseeds = [0]\n[train]\nepochs = 4\n'
                         'min_steps = 15\n')
    argv = ["sweep", str(spec_file), "--workspace", str(ws), "--strategies", "random,entropy", "--seeds", "0-1",
            "--initial", "20", "--query", "20", "--rounds", "2", "--engine", "serial", "--quiet"]
    assert main(argv) == 0  # the file gives the training, the flags override its grid: the fixture's sweep
    assert "4 skipped" in capsys.readouterr().out
    assert main(["sweep", "--workspace", str(ws), "--strategies", "random"]) == 2
    assert "missing --datasets" in capsys.readouterr().err
