"""Run many (strategy, seed) experiments, in parallel worker processes, into one run store.

Each worker sets ``torch.set_num_threads(1)``: the workers run side by side, one per core, instead
of every run spreading over every core and fighting the others for them.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from alkit.loop import ALConfig, ALRun, Event
from alkit.metrics import aubc

__all__ = ["ComparisonResult", "run_comparison", "summarize_store_runs"]


@dataclass
class ComparisonResult:
    """Curves of every run of a comparison, grouped by strategy."""

    run_ids: dict[tuple[str, int], str]
    curves: dict[str, list[tuple[list[int], list[float]]]]  # strategy -> [(n_labeled, accuracy) per seed]
    seconds: dict[str, list[float]]

    def table(self) -> list[dict[str, Any]]:
        """One row per strategy: AUBC mean ± std, final accuracy mean ± std, seconds per run."""
        rows = []
        for strat, curves in self.curves.items():
            aubcs = np.array([aubc(n, a) if len(n) > 1 else a[-1] for n, a in curves])
            finals = np.array([a[-1] for _, a in curves])
            rows.append({
                "strategy": strat,
                "seeds": len(curves),
                "aubc_mean": float(aubcs.mean()),
                "aubc_std": float(aubcs.std(ddof=1)) if len(aubcs) > 1 else 0.0,
                "final_mean": float(finals.mean()),
                "final_std": float(finals.std(ddof=1)) if len(finals) > 1 else 0.0,
                "final_n_labeled": int(curves[0][0][-1]),
                "seconds_per_run": float(np.mean(self.seconds.get(strat, [0.0]))),
            })
        rows.sort(key=lambda r: -r["aubc_mean"])
        return rows


def _worker(config_dict: dict[str, Any], workspace: str | None, events: Any, threads: int) -> dict[str, Any]:
    import time

    import torch

    torch.set_num_threads(threads)
    from alkit.store import RunStore

    config = ALConfig.from_dict(config_dict)
    t0 = time.perf_counter()
    with RunStore(workspace) as store:

        def forward(ev: Event) -> None:
            if events is not None and ev.kind == "round_end":
                events.put((config.strategy, config.seed, ev.data["result"].round, ev.data["result"].accuracy))

        run = ALRun(config, store=store, callbacks=[forward])
        run.run(progress=False)
        n = [h.n_labeled for h in run.history]
        acc = [h.accuracy for h in run.history]
        return {"strategy": config.strategy, "seed": config.seed, "run_id": run.run_id, "n": n, "acc": acc,
                "seconds": time.perf_counter() - t0}


def run_comparison(
    base: ALConfig,
    strategies: Sequence[str],
    seeds: Sequence[int],
    *,
    workspace: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    strategy_params: dict[str, dict[str, Any]] | None = None,
) -> ComparisonResult:
    """Run every (strategy, seed) pair of ``base`` and collect the curves.

    Parameters
    ----------
    base : ALConfig
        Everything but ``strategy`` / ``seed``.
    workers : int, optional
        Worker processes (default: the number of CPU cores, at most the number of runs).
        ``1`` runs in this process.
    """
    from tqdm.auto import tqdm

    strategy_params = strategy_params or {}
    configs = [replace(base, strategy=s, seed=int(seed), strategy_params=strategy_params.get(s, {}))
               for s in strategies for seed in seeds]
    for c in configs:
        c.resolved()  # validate everything before starting any process
    total_rounds = sum(c.resolved().rounds + 1 for c in configs)  # type: ignore[operator]
    workers = workers or min(len(configs), os.cpu_count() or 1)
    results: list[dict[str, Any]] = []
    bar = tqdm(total=total_rounds, desc="rounds", unit="round", disable=not progress)
    try:
        if workers <= 1:
            import torch

            torch.set_num_threads(1)
            for c in configs:
                q: queue_mod.SimpleQueue = queue_mod.SimpleQueue()
                results.append(_worker(c.to_dict(), workspace, q, 1))
                while not q.empty():
                    q.get()
                    bar.update(1)
                bar.set_postfix_str(f"{c.strategy} s{c.seed} done")
        else:
            ctx = mp.get_context("spawn")
            with ctx.Manager() as manager:
                q = manager.Queue()
                with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                    futs = [pool.submit(_worker, c.to_dict(), workspace, q, 1) for c in configs]
                    pending = set(futs)
                    while pending:
                        try:
                            strat, seed, _r, acc = q.get(timeout=0.2)
                            bar.update(1)
                            bar.set_postfix_str(f"{strat} s{seed} acc={acc:.3f}")
                        except queue_mod.Empty:
                            pass
                        for f in [f for f in pending if f.done()]:
                            pending.discard(f)
                            results.append(f.result())  # re-raises a worker's error
                    while not q.empty():
                        q.get()
                        bar.update(1)
    finally:
        bar.close()
    curves: dict[str, list[tuple[list[int], list[float]]]] = {s: [] for s in strategies}
    secs: dict[str, list[float]] = {s: [] for s in strategies}
    run_ids = {}
    for res in sorted(results, key=lambda r: (list(strategies).index(r["strategy"]), r["seed"])):
        curves[res["strategy"]].append((res["n"], res["acc"]))
        secs[res["strategy"]].append(res["seconds"])
        run_ids[(res["strategy"], res["seed"])] = res["run_id"]
    return ComparisonResult(run_ids=run_ids, curves=curves, seconds=secs)


def summarize_store_runs(store: Any, run_ids: Sequence[str]) -> ComparisonResult:
    """Rebuild a :class:`ComparisonResult` from finished runs in a store."""
    curves: dict[str, list[tuple[list[int], list[float]]]] = {}
    ids = {}
    for rid in run_ids:
        info = store.get_run(rid)
        rounds = store.get_rounds(rid)
        n = [r["n_labeled"] for r in rounds]
        acc = [r["metrics"]["accuracy"] for r in rounds]
        curves.setdefault(info["strategy"], []).append((n, acc))
        ids[(info["strategy"], info["seed"])] = rid
    return ComparisonResult(run_ids=ids, curves=curves, seconds={})
