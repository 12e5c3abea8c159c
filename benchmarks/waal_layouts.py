"""WAAL's Fig. 1 promise on a family of sampling-bias layouts: how often does each strategy query the unexplored cluster?

    python -m benchmarks.waal_layouts                   # writes benchmarks/results/waal_layouts.json
    python -m benchmarks.waal_layouts --layouts gap --seeds 0 1 --strategies waal random

Every layout of :data:`alkit.data.SAMPLING_BIAS_LAYOUTS` (initial labels only at the two extremes, an
unexplored *target* cluster elsewhere) runs through the real loop (:class:`alkit.ALRun`,
``initial_mode="dataset"``, the ``sampling_bias`` preset's training, one torch thread) for each strategy and
seed. The figure is the **target share**: the fraction of all queried points (every round) that lie in the
target cluster. Random's expected share is the target's share of the unlabeled pool.

For WAAL the script also records, per query, what its critic and its uncertainty bound say about the target
(``--no-diagnose`` skips it): the mean critic value ``g`` on the unlabeled target points and on the rest,
the target share of the top-``b`` by the uncertainty bound alone (``eta = 0``), by the critic alone
(meaningless when the critic is constant: ties go to the lowest pool index), and by
WAAL's score (which is the next round's query), the bias coefficient γ of that round's training, and
``u_gap``: the target's smallest uncertainty bound minus the ``b``-th smallest of the pool (when it exceeds
η, no target point can be picked whatever the critic says).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "waal_layouts.json"
#: label -> (registry name, strategy_params). Defaults everywhere except: ``waal_one`` (γ = 1, the ReLU
#: critic), ``waal_live`` (a critic that cannot die, and γ = 1 so that it must separate L from U),
#: ``waal_live_eta50`` (the same with η = 50) and DAL's mini-queries (its default 20 would be 10
#: one-point mini-queries per round, each a 1000-step discriminator training: minutes per run).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "waal": ("waal", {}),
    "waal_live": ("waal", {"critic_activation": "leaky_relu", "bias": "one"}),
    "waal_one": ("waal", {"bias": "one"}),
    "waal_live_eta50": ("waal", {"critic_activation": "leaky_relu", "bias": "one", "eta": 50.0}),
    "dal": ("dal", {"n_mini_queries": 2}),
    "kcenter": ("kcenter", {}),
    "badge": ("badge", {}),
    "random": ("random", {}),
}
STRATEGIES = ("waal", "waal_live", "dal", "kcenter", "badge", "random")


def _config(strategy: str, params: dict[str, Any], seed: int, query: int, rounds: int) -> Any:
    import alkit

    return alkit.ALConfig(dataset="sampling_bias", strategy=strategy, strategy_params=params, initial_mode="dataset",
                          query=query, rounds=rounds, device="cpu", seed=seed)


def _waal_probe(run: Any, target: np.ndarray, b: int) -> dict[str, Any]:
    """What the critic / bound trained in the last round say about the target (the next query's inputs)."""
    import torch

    from alkit.strategies import top_k
    from alkit.strategies.waal import waal_uncertainty

    s = run.strategy
    view = run.view_for()
    u = waal_uncertainty(view.probs, s.uncertainty, s.mix)
    g, _ = s.critic_values(view)
    in_t = torch.from_numpy(target[view.unlabeled.cpu().numpy()])
    k = min(b, len(u))

    def share(scores: torch.Tensor) -> float:
        return float(in_t[top_k(scores, k)].float().mean())

    return {"g_target": float(g[in_t].mean()) if in_t.any() else None,
            "g_rest": float(g[~in_t].mean()),
            "g_spread": float(g.max() - g.min()),
            "share_top_uncertainty": share(-u), "share_top_critic": share(g),
            "share_top_waal": share(-(u - float(s.eta) * g)),
            # smallest bound on the target minus the b-th smallest bound: above eta, no target point can be
            # picked whatever the critic says (eta * g lies in (0, eta))
            "u_gap": float(u[in_t].min() - u.sort().values[k - 1]) if in_t.any() else None}


def run_one(layout: str, variant: str, seed: int, *, n_samples: int = 300, query: int = 10, rounds: int = 4,
            diagnose: bool = False) -> dict[str, Any]:
    """One run of ``VARIANTS[variant]`` on one layout and seed; the target share and (WAAL) the probes."""
    import alkit
    from alkit.data import load_dataset

    strategy, params = VARIANTS[variant]
    ds = load_dataset("sampling_bias_layout", layout=layout, n_samples=n_samples, n_test=n_samples, seed=seed)
    target = np.asarray(ds.info["group_train"]) == ds.info["target_group"]
    run = alkit.ALRun(_config(strategy, params, seed, query, rounds), dataset=ds)
    t0 = time.perf_counter()
    probes = []
    while not run.done:
        r = run.step()
        if diagnose and strategy == "waal" and not run.done:
            probes.append({"round": r.round, "gamma": r.extras.get("waal_gamma"), "w1": r.extras.get("waal_w1"),
                           **_waal_probe(run, target, query)})
    picks = [i for h in run.history[1:] for i in h.selected]
    n_unl0 = len(target) - len(ds.info["initial_indices"])
    out = {"layout": layout, "strategy": variant, "seed": seed, "share": float(target[picks].mean()),
           "per_round": [float(target[h.selected].mean()) for h in run.history[1:]],
           "random_expected": float(target.sum() / n_unl0), "accuracy": [round(h.accuracy, 4) for h in run.history],
           "seconds": round(time.perf_counter() - t0, 2)}
    if probes:
        out["probes"] = probes
    return out


def table(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """layout → strategy → mean / std / n of the target share over seeds."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for r in rows:
        out.setdefault(r["layout"], {}).setdefault(r["strategy"], []).append(r["share"])  # type: ignore[arg-type]
    return {lay: {s: {"mean": round(float(np.mean(v)), 4), "std": round(float(np.std(v)), 4), "n": len(v)}
                  for s, v in d.items()} for lay, d in out.items()}


def main() -> None:
    from alkit.data import SAMPLING_BIAS_LAYOUTS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layouts", nargs="+", default=list(SAMPLING_BIAS_LAYOUTS), choices=list(SAMPLING_BIAS_LAYOUTS))
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(VARIANTS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--n-samples", type=int, default=300, help="pool size (the test set has the same size)")
    ap.add_argument("--query", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--tag", default="default", help="name of this experiment in the results file")
    ap.add_argument("--no-diagnose", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    rows = []
    for layout in args.layouts:
        for strategy in args.strategies:
            for seed in args.seeds:
                row = run_one(layout, strategy, seed, n_samples=args.n_samples, query=args.query, rounds=args.rounds,
                              diagnose=not args.no_diagnose)
                rows.append(row)
                print(f"  {layout:13s} {strategy:8s} seed {seed}: target share {row['share']:.3f} "
                      f"(random expects {row['random_expected']:.3f}) {row['seconds']:.1f} s", flush=True)
    result = json.loads(args.out.read_text()) if args.out.exists() else {}
    old = result.get(args.tag, {}).get("runs", [])
    keys = {(r["layout"], r["strategy"], r["seed"]) for r in rows}
    rows = [r for r in old if (r["layout"], r["strategy"], r["seed"]) not in keys] + rows
    result[args.tag] = {
        "meta": {"machine": platform.machine(), "torch": torch.__version__, "threads": 1, "cpus": os.cpu_count(),
                 "load_avg": os.getloadavg()[0], "n_samples": args.n_samples, "query": args.query,
                 "rounds": args.rounds, "seeds": args.seeds,
                 "variants": {v: VARIANTS[v] for v in args.strategies}},
        "table": table(rows), "runs": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for layout, d in result[args.tag]["table"].items():
        print(f"{layout:13s} " + "  ".join(f"{s} {v['mean']:.3f}±{v['std']:.3f}" for s, v in d.items()))
    print(f"wrote {args.out} [{args.tag}]")


if __name__ == "__main__":
    main()
