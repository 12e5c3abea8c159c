"""``make gpu-check`` (benchmarks/gpu_check.py): its guards, and a CPU dry run of the host-sync step."""

import json

import pytest
import torch

from benchmarks import gpu_check


@pytest.mark.skipif(torch.cuda.is_available(), reason="the no-CUDA message needs a machine without CUDA")
def test_without_cuda_it_stops_with_a_clear_message(capsys):
    assert gpu_check.main([]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CPU dry run only happens without CUDA")
def test_a_cpu_dry_run_never_writes_gpu_json(capsys):
    assert gpu_check.main(["--allow-cpu", "--quick", "--out", str(gpu_check.GPU_JSON)]) == 2
    assert "refusing" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="dry run of the CPU path")
def test_dry_run_records_host_syncs_per_strategy(tmp_path):
    out = tmp_path / "gpu.json"
    skip = ["--skip", "tests", "--skip", "bench", "--skip", "fashion_mnist"]
    assert gpu_check.main(["--allow-cpu", "--quick", "--out", str(out), *skip]) == 0
    res = json.loads(out.read_text())
    assert res["dry_run_on_cpu"] and res["ok"] and res["env"]["device"] == "cpu"
    syncs = res["host_syncs"]
    assert set(gpu_check.SYNC_STRATEGIES) <= set(syncs)
    assert syncs["kcenter"]["syncs"] == 0 and syncs["badge"]["syncs"] == 0
    assert syncs["cluster_margin"]["syncs"] <= 12


def test_junit_counts(tmp_path):
    xml = tmp_path / "j.xml"
    xml.write_text('<testsuites><testsuite><testcase classname="a" name="t[cpu]"/>'
                   '<testcase classname="a" name="t[cuda]"/><testcase classname="a" name="u[cuda]"><failure/></testcase>'
                   '<testcase classname="a" name="v"><skipped/></testcase></testsuite></testsuites>')
    c = gpu_check._junit(xml)
    assert (c["tests"], c["passed"], c["failed"], c["skipped"], c["cuda_ids"], c["cuda_passed"]) == (4, 2, 1, 1, 2, 1)
    assert c["failures"] == ["a::u[cuda]"]
