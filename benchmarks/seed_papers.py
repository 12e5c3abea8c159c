"""Seed-paper strategies' speed targets, measured through the AL loop on real data.

    python -m benchmarks.seed_papers            # writes benchmarks/results/seed_papers.json
    make bench-seed                             # the same

Targets (issue "The seed papers' strategies"):

* ``dal``: one query on the 59K-item Fashion-MNIST pool (1,000 labeled, b = 500, 20 mini-queries,
  a fresh discriminator each) in <= 60 s. Measured: the loop's ``query`` phase (the inference that
  builds the view is timed apart, as ``infer``).
* ``vaal``: a whole round on digits (train the task model, train the beta-VAE and discriminator,
  score the pool, evaluate) in <= 60 s.
* ``asal``: the query time for b = 10 on pools of 10K and 60K Fashion-MNIST images, exact and IVF
  index, showing how it grows with the pool. The one-off work (the WGAN-GP, trained once per pool and
  cached in the workspace; pool features, PCA and the index, built once per strategy instance) is
  the first query's ``prepare`` and is reported apart; the per-query time is the second query's
  ``generate`` (100 Adam steps of entropy ascent in latent space) + ``match`` (nearest unlabeled
  neighbours without replacement).

The task model trains only a few epochs here: the timings do not depend on its accuracy. Two torch
threads, as ``make bench``; the GAN cache goes to a temporary workspace unless ``--workspace`` is given
(reuse one to skip the GAN training on a second run).
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

RESULTS = Path(__file__).resolve().parent / "results" / "seed_papers.json"


def _run(config: Any, dataset: Any = None) -> list[Any]:
    from alkit.loop import ALRun

    run = ALRun(config, dataset=dataset)
    return run.run(progress=False)


def bench_dal() -> dict[str, Any]:
    from alkit import ALConfig, TrainConfig

    cfg = ALConfig(dataset="fashion_mnist", strategy="dal", initial=1000, query=500, rounds=1, seed=0,
                   train=TrainConfig(epochs=3, min_steps=0))
    hist = _run(cfg)
    r1 = hist[1]
    out = {"pool": 60_000, "labeled": 1000, "unlabeled": 59_000, "budget": 500,
           "mini_queries": len(r1.extras.get("h_divergence", [])),
           "query_s": round(r1.timings["query"], 2), "infer_s": round(r1.timings.get("infer", 0.0), 2),
           "discriminator_train_s": round(r1.timings.get("query.train", 0.0), 2),
           "proxy_h_divergence": [round(h, 4) for h in r1.extras.get("h_divergence", [])], "target_s": 60.0}
    print(f"  dal: query {out['query_s']:.1f} s on 59,000 unlabeled (b=500, {out['mini_queries']} mini-queries); "
          f"view inference {out['infer_s']:.1f} s", flush=True)
    return out


def bench_vaal() -> dict[str, Any]:
    from alkit import ALConfig

    cfg = ALConfig(dataset="digits", strategy="vaal", initial=100, query=100, rounds=1, seed=0)
    t0 = time.perf_counter()
    hist = _run(cfg)
    total = time.perf_counter() - t0
    r1 = hist[1]
    round_s = sum(v for k, v in r1.timings.items() if k in ("train", "infer", "query", "evaluate"))
    out = {"round_s": round(round_s, 2), "phases": {k: round(v, 3) for k, v in r1.timings.items()},
           "run_s": round(total, 2), "target_s": 60.0}
    print(f"  vaal: a digits round {out['round_s']:.1f} s (query {r1.timings['query']:.1f} s)", flush=True)
    return out


def bench_asal() -> list[dict[str, Any]]:
    from alkit import ALConfig, TrainConfig
    from alkit.data import from_arrays, load_dataset

    full = load_dataset("fashion_mnist")
    pools = {10_000: from_arrays(full.x_train[:10_000], full.y_train[:10_000], full.x_test, full.y_test,
                                 class_names=full.class_names, name="fashion_mnist_10k", default_model="lenet"),
             60_000: full}
    rows = []
    for n, ds in pools.items():
        for index in ("exact", "ivf"):
            cfg = ALConfig(dataset="fashion_mnist", strategy="asal", strategy_params={"index": index}, initial=1000,
                           query=10, rounds=2, seed=0, model="lenet", train=TrainConfig(epochs=2, min_steps=0))
            hist = _run(cfg, dataset=ds)
            first, second = hist[1].timings, hist[2].timings
            row = {"pool": n, "index": index, "budget": 10,
                   "one_off_prepare_s": round(first.get("query.prepare", 0.0), 2),
                   "gan_trained_here": bool(hist[1].extras.get("asal_gan_trained", False)),
                   "generate_s": round(second.get("query.generate", 0.0), 3), "match_s": round(second.get("query.match", 0.0), 3),
                   "query_s": round(second.get("query.generate", 0.0) + second.get("query.match", 0.0), 3)}
            rows.append(row)
            print(f"  asal: pool {n:>6,} {index:<5} query {row['query_s']:.3f} s (generate {row['generate_s']:.3f}, "
                  f"match {row['match_s']:.3f}); one-off {row['one_off_prepare_s']:.1f} s"
                  f"{' (GAN trained)' if row['gan_trained_here'] else ''}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", help="workspace for the GAN cache (default: a temporary folder)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=["dal", "vaal", "asal"], action="append", help="run only these (repeatable)")
    args = ap.parse_args()
    os.environ["ALKIT_WORKSPACE"] = args.workspace or tempfile.mkdtemp(prefix="alkit-seed-bench-")
    import torch

    torch.set_num_threads(args.threads)
    which = args.only or ["dal", "vaal", "asal"]
    result: dict[str, Any] = json.loads(RESULTS.read_text()) if args.only and RESULTS.exists() else {}
    result["meta"] = {"machine": platform.machine(), "python": platform.python_version(), "torch": torch.__version__,
                      "threads": args.threads, "cpus": os.cpu_count(), "load_avg_start": os.getloadavg()[0]}
    print("seed-paper strategies (real data, through the AL loop):", flush=True)
    if "dal" in which:
        result["dal"] = bench_dal()
    if "vaal" in which:
        result["vaal"] = bench_vaal()
    if "asal" in which:
        rows = bench_asal()
        q = {(r["pool"], r["index"]): r["query_s"] for r in rows}
        m = {(r["pool"], r["index"]): r["match_s"] for r in rows}
        result["asal"] = {"rows": rows, "growth_60k_over_10k": {
            ix: {"query": round(q[(60_000, ix)] / q[(10_000, ix)], 2), "match": round(m[(60_000, ix)] / m[(10_000, ix)], 2)}
            for ix in ("exact", "ivf")}}
        print(f"  asal: 6x the pool -> query x{result['asal']['growth_60k_over_10k']}", flush=True)
    result["meta"]["load_avg_end"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
