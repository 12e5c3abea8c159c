"""``make bench``: the selection grid of the strategy-library issue, each case in a fresh process.

Writes ``benchmarks/results/select.json`` (one object per case, plus the inference ratios) and
prints a table with the targets beside the measurements. ``--device cuda --out PATH`` runs the same
grid on a GPU (``make gpu-check`` does); ``--scale`` shrinks every pool for a dry run.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

import torch

# (strategy, n, budget, extra args, target seconds, target peak-above-view MB or None)
GRID = [
    ("kcenter", 20_000, 100, [], 0.8, None),
    ("kcenter", 60_000, 100, [], 3.0, 1024),
    ("badge", 20_000, 100, [], 1.0, None),
    ("kmeans", 10_000, 100, [], 0.6, None),
    ("batch_bald", 4_000, 50, [], 20.0, 1024),
    ("entropy", 59_000, 100, [], None, None),
    ("margin", 59_000, 100, [], None, None),
    ("least_conf", 59_000, 100, [], None, None),
    ("bald", 59_000, 100, [], None, None),
]


def run_case(strategy: str, n: int, budget: int, extra: list[str], device: str = "cpu") -> dict | None:
    cmd = [sys.executable, "-m", "alkit.cli", "bench", "select", "--strategy", strategy, "--n", str(n),
           "--budget", str(budget), "--device", device, "--json", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  {strategy}: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'failed'}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    from alkit.strategies import list_strategies

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="device of every case (default cpu)")
    ap.add_argument("--out", default="benchmarks/results/select.json", help="JSON file written")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every pool size (dry runs; default 1)")
    args = ap.parse_args(argv)
    if not 0 < args.scale <= 1:
        raise SystemExit(f"--scale must be in (0, 1], got {args.scale}")
    size = lambda n: max(200, int(n * args.scale))  # noqa: E731

    known = set(list_strategies())
    rows = []
    print(f"{'strategy':<12} {'N':>7} {'b':>4} {'seconds':>9} {'target':>8} {'peak+ MB':>9} {'target':>8}")
    for strategy, n, budget, extra, t_sec, t_mb in GRID:
        if strategy not in known:
            print(f"{strategy:<12} (not registered yet)")
            continue
        n = size(n)
        res = run_case(strategy, n, budget, extra, args.device)
        if res is None:
            continue
        res["target_seconds"], res["target_peak_above_view_mb"] = t_sec, t_mb
        rows.append(res)
        print(f"{strategy:<12} {n:>7} {budget:>4} {res['seconds']:>9.3f} {t_sec if t_sec else '-':>8} "
              f"{res['peak_above_view_mb']:>9.1f} {t_mb if t_mb else '-':>8}", flush=True)
    proc = subprocess.run([sys.executable, "-m", "alkit.cli", "bench", "inference", "--n", str(size(59_000)),
                           "--device", args.device, "--json"], capture_output=True, text=True, check=True)
    inference = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"LeNet pass over {size(59_000)}: {inference['deterministic_pass_seconds']:.2f} s; entropy score+select "
          f"{100 * inference['score_share_of_pass']:.1f}% of it; MC T=10 {inference['mc_over_deterministic']:.2f}x")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.machine(), "python": platform.python_version(), "torch": torch.__version__,
            "device": args.device, "scale": args.scale}
    out.write_text(json.dumps({"meta": meta, "select": rows, "inference": inference}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
