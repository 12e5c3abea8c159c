"""Benchmarks behind ``alkit bench``: selection-only timings on seeded synthetic pools, and inference passes.

``select``: the pool view (probabilities, MC stacks, embeddings, gradient factors) is built
first, then only ``strategy.query`` is timed (median of ``repeats``). Memory is reported as
the process's peak RSS and as the peak above the RSS right after the view was built (the
"above the embeddings" figure). Run each case in a fresh process for honest peaks
(``benchmarks/run.py`` does).

``inference``: one deterministic pass of a model over a synthetic pool, and the MC-dropout
stack of ``T`` passes through :meth:`alkit.learner.Learner.mc_probs`, for the ratio the
Bayesian strategies are judged by.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import statistics
import time
from typing import Any

import torch

__all__ = ["bench_select", "bench_inference", "current_rss_mb", "peak_rss_mb"]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident memory now (MB), from /proc where available."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):  # pragma: no cover - non-Linux
        return peak_rss_mb()


def bench_select(
    strategy: str,
    *,
    n: int,
    dim: int = 512,
    classes: int = 10,
    budget: int = 100,
    labeled: int = 1000,
    mc_samples: int = 10,
    seed: int = 0,
    repeats: int = 3,
    device: str = "cpu",
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Time ``strategy.query`` alone on a seeded synthetic pool of ``n`` unlabeled items."""
    from alkit.device import resolve_device, synchronize
    from alkit.strategies import get_strategy
    from alkit.testing import synthetic_view

    for name, v in (("n", n), ("dim", dim), ("classes", classes), ("budget", budget), ("repeats", repeats)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"--{name} must be a positive integer, got {v!r}")
    dev = resolve_device(device)
    strat = get_strategy(strategy, **(params or {}))
    needs = strat.required()
    if needs & {"inputs", "labeled_inputs", "model"}:
        raise ValueError(f"strategy {strategy!r} needs {sorted(needs)}: a synthetic selection benchmark cannot "
                         "stand in for a trained model; benchmark it end to end instead")
    view = synthetic_view(needs, n_pool=n + labeled, n_labeled=labeled, num_classes=classes, dim=dim,
                          mc_samples=max(getattr(strat, "mc_samples", 0) or 0, mc_samples), seed=seed, device=dev)
    base_rss = current_rss_mb()
    times, picked = [], None
    for _ in range(repeats):
        g = torch.Generator(device=dev).manual_seed(seed)
        synchronize(dev)
        t0 = time.perf_counter()
        sel = strat.query(view, budget, g)
        synchronize(dev)
        times.append(time.perf_counter() - t0)
        picked = sel.indices.cpu().tolist()
    digest = hashlib.sha256(json.dumps(picked).encode()).hexdigest()[:16]
    peak = peak_rss_mb()
    return {
        "strategy": strategy, "n": n, "dim": dim, "classes": classes, "budget": budget, "labeled": labeled,
        "seed": seed, "device": str(dev), "threads": torch.get_num_threads(), "seconds": statistics.median(times),
        "seconds_all": times, "peak_rss_mb": round(peak, 1), "rss_after_view_mb": round(base_rss, 1),
        "peak_above_view_mb": round(max(0.0, peak - base_rss), 1), "indices_sha256": digest,
        "n_selected": len(picked or []),
    }


def bench_inference(*, model: str = "lenet", n: int = 59_000, input_shape: tuple[int, ...] = (1, 28, 28),
                    classes: int = 10, mc_samples: int = 10, seed: int = 0, repeats: int = 3,
                    device: str = "cpu") -> dict[str, Any]:
    """Seconds of one deterministic pass, of ``probs`` scoring + top-k, and of the MC stack (median of repeats)."""
    from alkit.device import resolve_device, synchronize
    from alkit.learner import Learner, TrainConfig
    from alkit.strategies import entropy_scores, top_k

    dev = resolve_device(device)
    lr = Learner(model, input_shape, classes, TrainConfig(eval_batch_size=2048), dev)
    lr.model = lr.new_model(seed).eval()  # the public setter: an untrained model answers the queries
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, *input_shape, generator=g)

    def med(fn) -> float:
        ts = []
        for _ in range(repeats):
            synchronize(dev)
            t0 = time.perf_counter()
            fn()
            synchronize(dev)  # the outputs stay on the device: wait for the kernels
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    probs = lr.predict_proba(x)
    det = med(lambda: lr.predict_proba(x))
    score = med(lambda: top_k(entropy_scores(probs), 100))
    mc = med(lambda: lr.mc_probs(x, mc_samples, seed=seed))
    return {"model": model, "n": n, "mc_samples": mc_samples, "threads": torch.get_num_threads(),
            "deterministic_pass_seconds": det, "entropy_score_select_seconds": score,
            "score_share_of_pass": score / det, "mc_seconds": mc, "mc_over_deterministic": mc / det,
            "peak_rss_mb": round(peak_rss_mb(), 1)}
