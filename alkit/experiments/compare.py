"""Run many (strategy, seed) experiments of one dataset into one run store, on a sweep engine.

Each worker sets ``torch.set_num_threads(1)``: the workers run side by side, one per core, instead
of every run spreading over every core and fighting the others for them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from alkit.loop import ALConfig
from alkit.metrics import aubc

__all__ = ["ComparisonResult", "RECORDING_FIELDS", "run_comparison", "summarize_store_runs"]

#: Config fields that only record more of a run (they never change its picks or accuracies:
#: ``tests/test_theory.py`` and ``tests/test_cli.py`` check it), so runs that differ in them are seeds of one
#: comparison.
RECORDING_FIELDS = frozenset({"store_embeddings", "theory_terms"})


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


def run_comparison(
    base: ALConfig,
    strategies: Sequence[str],
    seeds: Sequence[int],
    *,
    workspace: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    strategy_params: dict[str, dict[str, Any]] | None = None,
    engine: str | None = None,
    record: dict[tuple[str, int], dict[str, Any]] | None = None,
) -> ComparisonResult:
    """Run every (strategy, seed) pair of ``base`` and collect the curves.

    The runs go through the sweep driver (:func:`alkit.experiments.sweep.run_cells`): the same
    engines, the same single writer to the store; every call makes new runs.

    Parameters
    ----------
    base : ALConfig
        Everything but ``strategy`` / ``seed``.
    workers : int, optional
        Worker processes of the ``process`` engine (default: the number of CPU cores, at most the
        number of runs). ``1`` runs in this process (the ``serial`` engine).
    engine : {"serial", "process", "ray"}, optional
        Default: ``process`` with ``workers`` > 1, else ``serial``.
    record : dict, optional
        ``{(strategy, seed): {field: value}}``: what some runs record beyond the others, only
        :data:`RECORDING_FIELDS` (``store_embeddings``, ``theory_terms``) — e.g. the demo stores
        embeddings and the bound's terms for one seed of a few strategies.
    """
    from alkit.experiments.engines import make_engine
    from alkit.experiments.sweep import run_cells
    from alkit.store import RunStore

    strategy_params = strategy_params or {}
    configs = [replace(base, strategy=s, seed=int(seed), strategy_params=strategy_params.get(s, {}))
               for s in strategies for seed in seeds]
    record = record or {}
    for key, opts in record.items():
        bad = sorted(set(opts) - RECORDING_FIELDS)
        if bad:
            raise ValueError(f"record: {', '.join(bad)} would change the run, not only record it; "
                             f"allowed: {', '.join(sorted(RECORDING_FIELDS))}")
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] in strategies and key[1] in seeds):
            raise ValueError(f"record: {key!r} is not a (strategy, seed) of this comparison")
    configs = [replace(c, **record.get((c.strategy, c.seed), {})) for c in configs]
    for c in configs:
        c.resolved()  # validate everything before starting any process
    workers = workers or min(len(configs), os.cpu_count() or 1)
    if engine is None:
        engine = "process" if workers > 1 else "serial"
    eng = make_engine(engine, workers=workers if engine == "process" else None)
    if engine == "serial":
        import torch

        torch.set_num_threads(1)
    with RunStore(workspace) as store:
        cells = run_cells(configs, store=store, engine=eng, progress=progress, desc="rounds")
    failed = [c for c in cells if c.status != "finished"]
    if failed:
        c = failed[0]
        raise RuntimeError(f"run {c.key[1]} seed {c.key[2]} ({c.run_id}) failed: {c.error}")
    curves: dict[str, list[tuple[list[int], list[float]]]] = {s: [] for s in strategies}
    secs: dict[str, list[float]] = {s: [] for s in strategies}
    run_ids = {}
    for c in cells:
        _ds, strat, seed = c.key
        summary = c.summary or {}
        curves[strat].append((summary["n"], summary["acc"]))
        secs[strat].append(summary["seconds"])
        run_ids[(strat, seed)] = c.run_id
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
