"""``make gpu-check``: the CUDA acceptance run, one script, one JSON file (``benchmarks/results/gpu.json``).

Steps (each is timed and recorded; a failing step does not stop the later ones, the exit status is 1):

1. ``env``: GPU name, compute capability and memory, torch / CUDA / cuDNN versions, driver (``nvidia-smi``).
2. ``tests``: pytest on the strategy registry suite, ``tests/test_host_syncs.py`` and
   ``tests/test_resume_registry.py`` (when present), then every determinism test (test names with
   ``determin``, ``same_seed`` or ``seeded``). ``tests/conftest.py`` adds a ``cuda`` parameter to
   every device-parametrised test when CUDA is available; the JUnit report gives the passed /
   failed / skipped counts and how many test ids ran on ``cuda``.
3. ``host_syncs``: device → host synchronisations of one query (b = 20) of kcenter, kmeans, badge and
   cluster_margin on the device (:func:`alkit.testing.count_host_syncs`; on CUDA it also sees the
   syncs inside kernels such as ``bincount``), with the seconds of that query.
4. ``bench``: ``make bench`` on the device (``python -m benchmarks.run --device cuda``); the figures
   kcenter over 60K, badge over 20K, bald over 59K and the LeNet MC-dropout stack (T = 10) over 59K.
5. ``fashion_mnist``: a short entropy run on Fashion-MNIST, once with default kernels and twice with
   ``deterministic=True`` (same picks expected; the time ratio is the cost of deterministic kernels).

Without CUDA it exits with status 2 and says so. ``--allow-cpu --quick`` is a dry run on the CPU with
tiny sizes; it never writes ``benchmarks/results/gpu.json`` (default: a file in the temp folder).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
GPU_JSON = ROOT / "benchmarks" / "results" / "gpu.json"
REGISTRY_TESTS = ["tests/test_strategy_registry.py", "tests/test_host_syncs.py", "tests/test_resume_registry.py"]
DETERMINISM = re.compile(r"def (test\w*(?:determin|same_seed|seeded)\w*)")
SYNC_STRATEGIES = ["kcenter", "kmeans", "badge", "cluster_margin"]


def environment(device: torch.device) -> dict[str, Any]:
    env: dict[str, Any] = {
        "device": str(device), "python": platform.python_version(), "machine": platform.machine(),
        "cpu_count": os.cpu_count(), "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(gpu=torch.cuda.get_device_name(device), capability=f"{props.major}.{props.minor}",
                   gpu_memory_gib=round(props.total_memory / 2**30, 1), gpu_count=torch.cuda.device_count())
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version,name", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=30)
            env["nvidia_smi"] = out.stdout.strip() or out.stderr.strip()
        except (OSError, subprocess.TimeoutExpired) as e:
            env["nvidia_smi"] = f"unavailable ({e})"
    return env


def _junit(path: Path) -> dict[str, Any]:
    """Counts of a JUnit XML report, and how many test ids carry a ``cuda`` parameter."""
    counts = {"tests": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "cuda_ids": 0, "cuda_passed": 0}
    failures = []
    for case in ET.parse(path).getroot().iter("testcase"):
        counts["tests"] += 1
        name = case.get("name", "")
        on_cuda = "cuda" in name
        counts["cuda_ids"] += on_cuda
        kinds = {child.tag for child in case}
        if "failure" in kinds or "error" in kinds:
            counts["failed" if "failure" in kinds else "errors"] += 1
            failures.append(f"{case.get('classname')}::{name}")
        elif "skipped" in kinds:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
            counts["cuda_passed"] += on_cuda
    counts["failures"] = failures[:50]
    return counts


def pytest_run(files: list[str], k: str | None, workers: int, timeout: float, label: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="alkit-gpu-check-") as tmp:
        xml = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}", *files]
        if k:
            cmd += ["-k", k]
        if workers > 1:
            cmd += ["-n", str(workers)]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
            rc, tail = proc.returncode, (proc.stdout + proc.stderr)[-3000:]
        except subprocess.TimeoutExpired as e:
            rc, tail = "timeout", f"pytest ran past {timeout:.0f} s: {str(e.stdout or '')[-2000:]}"
        res: dict[str, Any] = {"files": files, "k": k, "returncode": rc, "seconds": round(time.perf_counter() - t0, 1)}
        if xml.exists():
            res.update(_junit(xml))
        res["ok"] = rc == 0
        res["summary"] = tail.strip().splitlines()[-1] if tail.strip() else ""
        if not res["ok"]:
            res["output_tail"] = tail
        print(f"  {label}: {res['summary']} ({res['seconds']} s)", flush=True)
        return res


def step_tests(args: argparse.Namespace) -> dict[str, Any]:
    files = [f for f in REGISTRY_TESTS if (ROOT / f).exists()]
    k_registry = "kcenter or entropy or random" if args.quick else None
    det_files, det_names = [], set()
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        names = DETERMINISM.findall(path.read_text())
        if names:
            det_files.append(str(path.relative_to(ROOT)))
            det_names.update(names)
    if args.quick:  # the dry run keeps the fast ones
        det_files = [f for f in det_files if f.endswith(("test_loop.py", "test_diversity.py"))]
    k_det = "determin or same_seed or seeded"
    return {
        "registry": pytest_run(files, k_registry, args.workers, args.test_timeout, "registry + host syncs"),
        "determinism": pytest_run(det_files, k_det, args.workers, args.test_timeout, "determinism"),
        "determinism_tests_found": sorted(det_names),
    }


def step_host_syncs(device: torch.device, quick: bool) -> dict[str, Any]:
    from alkit.device import synchronize
    from alkit.strategies import get_strategy
    from alkit.testing import count_host_syncs, synthetic_view

    n = 500 if quick else 20_000
    out = {"n_unlabeled": n, "budget": 20, "dim": 512 if not quick else 32}
    for name in SYNC_STRATEGIES:
        s = get_strategy(name)
        view = synthetic_view(s.required(), n_pool=n + 1000, n_labeled=1000, dim=out["dim"], num_classes=10,
                              device=device)
        s.query(view, 20, torch.Generator(device=device).manual_seed(0))  # warm-up (and cluster_margin's HAC)
        if hasattr(s, "reset_clusters"):
            s.reset_clusters()
        synchronize(device)
        t0 = time.perf_counter()
        with count_host_syncs() as c:
            s.query(view, 20, torch.Generator(device=device).manual_seed(0))
        synchronize(device)
        out[name] = {"syncs": c.total, "ops": dict(c.ops), "seconds": round(time.perf_counter() - t0, 4)}
        print(f"  {name}: {c.total} host syncs, {out[name]['seconds']} s", flush=True)
    return out


def step_bench(device: torch.device, quick: bool, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="alkit-gpu-bench-") as tmp:
        path = Path(tmp) / "select.json"
        cmd = [sys.executable, "-m", "benchmarks.run", "--device", str(device), "--out", str(path)]
        if quick:
            cmd += ["--scale", "0.01"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        print("  " + proc.stdout.strip().replace("\n", "\n  "), flush=True)
        if proc.returncode != 0:
            raise RuntimeError(f"benchmarks.run failed: {proc.stderr[-2000:]}")
        data = json.loads(path.read_text())
    rows = {(r["strategy"], r["n"]): r for r in data["select"]}
    inf = data["inference"]

    def pick(strategy: str, n: int) -> dict[str, Any] | None:
        n = n if not quick else max(200, int(n * 0.01))
        r = rows.get((strategy, n))
        return None if r is None else {"n": r["n"], "budget": r["budget"], "seconds": r["seconds"],
                                       "target_seconds_cpu": r.get("target_seconds")}

    figures = {
        "kcenter_60k": pick("kcenter", 60_000),
        "badge_20k": pick("badge", 20_000),
        "bald_59k_select": pick("bald", 59_000),
        "lenet_mc_stack_59k": {"n": inf["n"], "mc_samples": inf["mc_samples"], "seconds": inf["mc_seconds"],
                               "deterministic_pass_seconds": inf["deterministic_pass_seconds"],
                               "mc_over_deterministic": inf["mc_over_deterministic"]},
    }
    if figures["bald_59k_select"] is not None:
        figures["bald_59k_with_mc_passes_seconds"] = figures["bald_59k_select"]["seconds"] + inf["mc_seconds"]
    return {"seconds": round(time.perf_counter() - t0, 1), "figures": figures, "select": data["select"],
            "inference": inf}


def step_fashion_mnist(device: torch.device, quick: bool) -> dict[str, Any]:
    import dataclasses

    from alkit.data import load_dataset
    from alkit.device import synchronize
    from alkit.learner import TrainConfig
    from alkit.loop import ALConfig, ALRun

    ds = load_dataset("fashion_mnist")
    if quick:  # a 2,000-item pool and a 1,000-item test set
        ds = dataclasses.replace(ds, x_train=ds.x_train[:2000], y_train=ds.y_train[:2000], x_test=ds.x_test[:1000],
                                 y_test=ds.y_test[:1000])
    kw: dict[str, Any] = {"dataset": "fashion_mnist", "strategy": "entropy", "device": str(device), "seed": 0}
    if quick:
        kw.update(initial=50, query=20, rounds=1, train=TrainConfig(epochs=1, batch_size=32, min_steps=0))
    else:  # the preset's training (20 epochs, >= 600 steps), fewer rounds
        kw.update(initial=1000, query=500, rounds=3)
    runs = {}
    for label, det in (("default", False), ("deterministic", True), ("deterministic_again", True)):
        synchronize(device)
        t0 = time.perf_counter()
        run = ALRun(ALConfig(deterministic=det, **kw), dataset=ds)
        run.run()
        synchronize(device)
        runs[label] = {
            "seconds": round(time.perf_counter() - t0, 2),
            "accuracy": [round(h.accuracy, 4) for h in run.history],
            "n_labeled": [h.n_labeled for h in run.history],
            "phase_seconds": {k: round(sum(h.timings.get(k, 0.0) for h in run.history), 3)
                              for k in sorted({k for h in run.history for k in h.timings})},
            "selected": [h.selected for h in run.history],
        }
        print(f"  fashion_mnist entropy ({label}): {runs[label]['seconds']} s, accuracy {runs[label]['accuracy']}",
              flush=True)
    same = runs["deterministic"]["selected"] == runs["deterministic_again"]["selected"]
    for r in runs.values():
        r["selected_sha"] = _digest(r.pop("selected"))
    return {"config": {k: (dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v) for k, v in kw.items()},
            "pool": len(ds.x_train), "runs": runs, "deterministic_runs_pick_the_same": same,
            "deterministic_over_default": round(runs["deterministic"]["seconds"] / runs["default"]["seconds"], 3)}


def _digest(obj: Any) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(obj).encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--allow-cpu", action="store_true", help="dry run on the CPU when CUDA is absent")
    ap.add_argument("--quick", action="store_true", help="tiny sizes and a test subset (dry runs)")
    ap.add_argument("--out", default=None, help=f"JSON written (default: {GPU_JSON.relative_to(ROOT)} on CUDA, a "
                                                "temp file on the CPU)")
    ap.add_argument("--skip", action="append", default=[], choices=["tests", "host_syncs", "bench", "fashion_mnist"],
                    help="leave a step out (repeatable)")
    ap.add_argument("--workers", type=int, default=None, help="pytest-xdist workers (default 4 on CUDA, 1 on CPU)")
    ap.add_argument("--test-timeout", type=float, default=420.0, help="seconds per pytest invocation (default 420)")
    args = ap.parse_args(argv)

    cuda = torch.cuda.is_available()
    if not cuda and not args.allow_cpu:
        print("gpu-check: CUDA is not available here (torch.cuda.is_available() is False). Run it on a machine with "
              "an NVIDIA GPU, or pass --allow-cpu (with --quick) for a dry run on the CPU.", file=sys.stderr)
        return 2
    device = torch.device("cuda" if cuda else "cpu")
    out = Path(args.out) if args.out else (GPU_JSON if cuda else Path(tempfile.gettempdir()) / "alkit-gpu-check.json")
    if not cuda and out.resolve() == GPU_JSON.resolve():
        print(f"gpu-check: refusing to write a CPU dry run into {GPU_JSON}; pass another --out", file=sys.stderr)
        return 2
    if args.workers is None:
        args.workers = 4 if cuda else 1
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)) if cuda else 1)

    result: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": args.quick,
                              "dry_run_on_cpu": not cuda, "env": environment(device)}
    print(f"gpu-check on {result['env'].get('gpu', 'cpu')} (torch {torch.__version__}, CUDA {torch.version.cuda})")
    steps = [("tests", lambda: step_tests(args)),
             ("host_syncs", lambda: step_host_syncs(device, args.quick)),
             ("bench", lambda: step_bench(device, args.quick, timeout=540.0)),
             ("fashion_mnist", lambda: step_fashion_mnist(device, args.quick))]
    ok = True
    for name, fn in steps:
        if name in args.skip:
            continue
        print(f"[{name}]", flush=True)
        t0 = time.perf_counter()
        try:
            result[name] = fn()
            if name == "tests":
                ok &= all(r["ok"] for r in result[name].values() if isinstance(r, dict))
        except Exception as e:  # record and go on: one broken step should not hide the others' figures
            ok = False
            result[name] = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-3000:]}
            print(f"  {name} failed: {type(e).__name__}: {e}", flush=True)
        result.setdefault("step_seconds", {})[name] = round(time.perf_counter() - t0, 1)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))  # after every step, so a killed run keeps what it measured
    result["ok"] = ok
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out} ({'all steps passed' if ok else 'SOME STEPS FAILED'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
