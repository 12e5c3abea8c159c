"""The same sweep on the serial, process and Ray engines, in one run (issue #14; ``make bench-sweep``).

    python -m benchmarks.sweep_engines              # writes benchmarks/results/sweep.json
    python -m benchmarks.sweep_engines --seeds 0-1 --rounds 2 --out /tmp/sweep.json   # a quick look

Digits, 4 strategies (random, entropy, margin, badge) x 10 seeds x 10 rounds with the digits preset, each
engine into a fresh workspace, one torch thread per cell. Per engine: wall time (engine start included),
the engine's start-up (Ray: ``ray.init`` of a local Ray with ``--num-cpus``; process: the workers spawn inside
the sweep), and the overhead per cell::

    overhead per cell = (wall - start-up) * slots / cells - mean seconds of one cell inside its worker

i.e. the slot time a cell costs beyond its own work (scheduling, transfers, writing the store, idle slots at
the end). The stored selections and metrics of the three engines are compared (they must be equal).
Run it on an otherwise idle machine: the speed-ups are only meaningful then.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "sweep.json"


def _stored(ws: str, sweep_id: str) -> dict:
    from alkit.store import RunStore

    out = {}
    with RunStore(ws, readonly=True) as st:
        for c in st.sweep_cells(sweep_id):
            rounds = st.get_rounds(c["run_id"])
            out[f"{c['strategy']}/{c['seed']}"] = [st.get_selections(c["run_id"]),
                                                   [(r["n_labeled"], r["metrics"]) for r in rounds]]
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import torch

    from alkit.experiments.engines import make_engine
    from alkit.experiments.sweep import SweepSpec, sweep

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--strategies", default="random,entropy,margin,badge")
    ap.add_argument("--cpus", type=int, default=2, help="process workers and Ray CPUs (default 2)")
    ap.add_argument("--engines", default="serial,process,ray")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    spec = SweepSpec(datasets=["digits"], strategies=args.strategies.split(","), seeds=args.seeds, rounds=args.rounds)
    n_cells = len(spec.cells())
    rows: dict[str, dict[str, Any]] = {}
    stored = {}
    for name in args.engines.split(","):
        ws = tempfile.mkdtemp(prefix=f"alkit-bench-{name}-")
        t0 = time.perf_counter()
        if name == "ray":
            engine = make_engine("ray", num_cpus=args.cpus)
        elif name == "process":
            engine = make_engine("process", workers=args.cpus)
        else:
            engine = make_engine("serial")
        startup = float(getattr(engine, "startup_seconds", 0.0))
        slots = engine.capacity
        res = sweep(spec, workspace=ws, engine=engine, progress=True)
        wall = time.perf_counter() - t0
        assert res.ok, res.failed
        cell_s = [c["seconds"] for c in res.cells]
        mean_cell = sum(cell_s) / len(cell_s)
        rows[name] = {"wall_seconds": round(wall, 2), "startup_seconds": round(startup, 2), "slots": slots,
                      "mean_cell_seconds": round(mean_cell, 3),
                      "overhead_per_cell_seconds": round((wall - startup) * slots / n_cells - mean_cell, 3)}
        stored[name] = _stored(ws, res.sweep_id)
        print(name, rows[name], flush=True)
    base = rows.get("serial", {}).get("wall_seconds")
    for r in rows.values():
        r["speedup_vs_serial"] = None if not base else round(base / r["wall_seconds"], 2)
    names = list(stored)
    identical = all(json.dumps(stored[n], sort_keys=True) == json.dumps(stored[names[0]], sort_keys=True)
                    for n in names)
    out = {"benchmark": "sweep_engines", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
           "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                       "torch": torch.__version__},
           "spec": {"datasets": spec.datasets, "strategies": spec.strategies, "seeds": spec.seeds,
                    "rounds": spec.rounds, "cells": n_cells, "sweep_id": spec.sweep_id},
           "engines": rows, "identical_stored_results": identical,
           "targets": {"speedup_min": 1.7, "ray_overhead_per_cell_max_s": 0.3}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
