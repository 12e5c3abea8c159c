"""``make bench``: selection-only timings on seeded synthetic pools → benchmarks/results/select.json.

Times scoring + selection for every registered strategy whose needs a synthetic pool can
provide (probabilities, MC stacks, embeddings), next to one deterministic forward pass of an
MLP over the same pool for scale. Timings are medians of 3 runs with one torch thread.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import resource
import statistics
import time
from pathlib import Path

import torch

from alkit.strategies import get_strategy, list_strategies
from alkit.testing import synthetic_view

SYNTHETIC_NEEDS = {"probs", "mc_probs", "embeddings", "labeled_embeddings", "grad_factors"}


def bench_one(name: str, n: int, dim: int, classes: int, budget: int, seed: int, repeats: int = 3) -> dict:
    strategy = get_strategy(name)
    needs = strategy.required()
    view = synthetic_view(needs, n_pool=n + 1000, n_labeled=1000, num_classes=classes, dim=dim,
                          mc_samples=max(strategy.mc_samples, 10), seed=seed)
    times, picked = [], None
    for _ in range(repeats):
        g = torch.Generator().manual_seed(seed)
        t0 = time.perf_counter()
        sel = strategy.query(view, budget, g)
        times.append(time.perf_counter() - t0)
        picked = sel.indices.tolist()
    digest = hashlib.sha256(json.dumps(picked).encode()).hexdigest()[:16]
    return {"strategy": name, "n": n, "dim": dim, "classes": classes, "budget": budget, "seed": seed,
            "seconds": statistics.median(times), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "indices_sha256": digest}


def forward_pass_seconds(n: int, dim: int, classes: int) -> float:
    from alkit.models import get_model

    model = get_model("mlp", (dim,), classes).eval()
    x = torch.randn(n, dim)
    with torch.no_grad():
        t0 = time.perf_counter()
        for start in range(0, n, 2048):
            model(x[start:start + 2048]).softmax(-1)
        return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=60_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--budget", type=int, default=100)
    p.add_argument("--out", default="benchmarks/results/select.json")
    args = p.parse_args()
    torch.set_num_threads(1)
    rows = []
    fwd = forward_pass_seconds(args.n, args.dim, args.classes)
    for name in list_strategies():
        if not get_strategy(name).required() <= SYNTHETIC_NEEDS:
            continue
        row = bench_one(name, args.n, args.dim, args.classes, args.budget, seed=0)
        row["share_of_forward_pass"] = row["seconds"] / fwd
        rows.append(row)
        print(f"{name:<16} N={args.n:<7} {row['seconds'] * 1e3:8.2f} ms  ({100 * row['share_of_forward_pass']:.1f}% of "
              f"an MLP forward pass: {fwd * 1e3:.0f} ms)", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.machine(), "python": platform.python_version(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "forward_pass_seconds": fwd}
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
