"""The Ray engine against a real local Ray (2 CPUs, started once), and a head started with `ray start --head`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'alkit[ray]')")

from test_sweep import TINY, stored  # noqa: E402

from alkit.experiments.engines import RayEngine  # noqa: E402
from alkit.experiments.sweep import SweepSpec, sweep  # noqa: E402

pytestmark = pytest.mark.xdist_group("ray")  # one pytest worker runs them all: one Ray at a time


@pytest.fixture(scope="session")
def ray_session():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def serial_cells(tmp_path_factory):
    ws = tmp_path_factory.mktemp("serial")
    res = sweep(SweepSpec.from_dict(TINY), workspace=ws, engine="serial", progress=False)
    return stored(ws, res.sweep_id)


def test_ray_engine_gives_the_serial_selections_and_metrics(ray_session, serial_cells, tmp_path):
    res = sweep(SweepSpec.from_dict(TINY), workspace=tmp_path, engine="ray", progress=False)
    assert res.ok and res.engine == "ray (2 cells at a time)"
    assert stored(tmp_path, res.sweep_id) == serial_cells
    again = sweep(SweepSpec.from_dict(TINY), workspace=tmp_path, engine="ray", progress=False)
    assert again.counts() == {"skipped": 4}
    assert ray.is_initialized()  # a Ray the engine did not start is left running


def test_a_killed_ray_worker_is_retried_and_the_cell_resumes(ray_session, serial_cells, tmp_path, capsys):
    dying = ("digits", "entropy", 0)
    res = sweep(SweepSpec.from_dict(TINY), workspace=tmp_path, engine="ray", progress=False,
                inject={dying: {"die_after": 2}})
    assert res.ok
    err = capsys.readouterr().err
    assert "Ray worker died" in err and "resuming it from round 2" in err
    assert stored(tmp_path, res.sweep_id) == serial_cells


def test_a_failing_cell_on_ray(ray_session, tmp_path):
    bad = ("digits", "random", 1)
    res = sweep(SweepSpec.from_dict(TINY), workspace=tmp_path, engine="ray", progress=False,
                inject={bad: {"fail_after": 1}})
    assert [(c["dataset"], c["strategy"], c["seed"]) for c in res.failed] == [bad]
    assert stored(tmp_path, res.sweep_id)[bad]["status"] == "failed"


def test_more_gpus_per_cell_than_the_cluster_has_is_refused(ray_session):
    with pytest.raises(ValueError, match="gpus_per_cell=1 but the Ray cluster has 0 GPUs"):
        RayEngine(gpus_per_cell=1)
    assert RayEngine().capacity == 2  # one cell per CPU of the session's Ray


def test_joining_another_cluster_while_connected_is_refused(ray_session):
    with pytest.raises(ValueError, match="already connected"):
        RayEngine(address="127.0.0.1:1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_head(ray_bin: Path, port: int, head: subprocess.Popen, env: dict, limit: float = 240.0) -> None:
    """Until `ray status` answers at the head's address (an open port alone is not a ready cluster)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if head.poll() is not None:
            pytest.fail(f"ray start --head exited with {head.returncode}: {head.stdout.read()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                status = subprocess.run([str(ray_bin), "status", f"--address=127.0.0.1:{port}"], capture_output=True,
                                        text=True, env=env, timeout=120)
                if status.returncode == 0 and "CPU" in status.stdout:
                    return
        time.sleep(1.0)
    pytest.fail(f"the Ray head on port {port} did not become ready")


def test_sweep_on_a_head_started_with_ray_start(tmp_path, serial_cells):
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        ray_bin = Path(shutil.which("ray") or "ray")
    port = _free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    # --block keeps `ray start` in the foreground; stopping it stops this head's processes only (`ray stop`
    # would stop every Ray on the machine, the session fixture's too).
    def start_head() -> subprocess.Popen:
        return subprocess.Popen([str(ray_bin), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
                                 "--node-ip-address=127.0.0.1", "--include-dashboard=false", "--disable-usage-stats"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                start_new_session=True)

    head = start_head()
    try:
        for attempt in range(3):  # Ray's own start-up can time out on a loaded 2-core machine: try again
            try:
                _wait_for_head(ray_bin, port, head, env)
                break
            except pytest.fail.Exception:
                if attempt == 2 or head.poll() is None:
                    raise
                head = start_head()
        spec = tmp_path / "spec.toml"
        spec.write_text('datasets = ["digits"]\nstrategies = ["random", "entropy"]\nseeds = [0, 1]\ninitial = 20\n'
                        'query = 20\nrounds = 2\n[train]\nepochs = 4\nmin_steps = 15\n')
        ws = tmp_path / "ws"
        run = subprocess.run([sys.executable, "-m", "alkit.cli", "sweep", str(spec), "--workspace", str(ws),
                              "--engine", "ray", "--address", f"127.0.0.1:{port}", "--quiet"],
                             capture_output=True, text=True, env=env, timeout=400)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "4 started" in run.stdout
        sid = SweepSpec.from_toml(spec).sweep_id
        assert stored(ws, sid) == serial_cells
    finally:
        try:
            os.killpg(head.pid, signal.SIGTERM)
            head.wait(timeout=60)
        except ProcessLookupError:  # it had already exited
            pass
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=30)
