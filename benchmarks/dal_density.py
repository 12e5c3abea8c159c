"""DAL's density-correction toy (reference §4.17 (ii)) under different discriminator training caps.

    python -m benchmarks.dal_density                  # writes benchmarks/results/dal_density.json
    python -m benchmarks.dal_density --seeds 0 1 --caps default

The reference's two-blob pool (A = N((-3, 0), 0.5²I), 8000 points; B = N((3, 0), 0.5²I), 2000 points),
Ψ = identity, L = 50 points of A + 50 of B, b = 400 in 10 mini-queries, everything else at DAL's defaults
(for 2-D inputs: Adam 1e-3, batch 32, 20-wide discriminator). For each cap and seed: the share of the
picks from the dense blob A (the reference requires >= 0.85) and KCenter's share from the same start.
One torch thread; the seconds are this machine's (shared machines run slower).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "dal_density.json"
#: name -> DAL keyword arguments (on top of n_mini_queries=10)
CAPS: dict[str, dict[str, Any]] = {
    "default": {},  # for 2-D inputs: 200 epochs, no step cap (alkit.strategies.dal.default_caps)
    "epochs_100": {"max_steps": None, "max_epochs": 100},
    "steps_1000": {"max_steps": 1000, "max_epochs": 1000},  # the previous default
    "steps_5000": {"max_steps": 5000, "max_epochs": 1000},
    "epochs_30": {"max_steps": None, "max_epochs": 30},
    "epochs_50": {"max_steps": None, "max_epochs": 50},
    "epochs_200": {"max_steps": None, "max_epochs": 200},
    "epochs_300": {"max_steps": None, "max_epochs": 300},
    "paper": {"max_steps": None, "max_epochs": 1000},  # [DAL-code]'s cap; minutes per query: not run by default
}
DEFAULT_CAPS = ["default", "steps_1000", "steps_5000", "epochs_30", "epochs_50", "epochs_100", "epochs_300"]


def blobs(seed: int, n_a: int = 8000, n_b: int = 2000) -> tuple[Any, Any]:
    """The pool and its "is in B" mask (the same draw as ``tests/test_dal.py``)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n_a, 2, generator=g) * 0.5 + torch.tensor([-3.0, 0.0])
    b = torch.randn(n_b, 2, generator=g) * 0.5 + torch.tensor([3.0, 0.0])
    is_b = torch.cat([torch.zeros(n_a, dtype=torch.bool), torch.ones(n_b, dtype=torch.bool)])
    return torch.cat([a, b]), is_b


def density_view(seed: int, n_a: int = 8000, n_b: int = 2000) -> tuple[Any, Any]:
    """The view of the density test (L = 50 from A + 50 from B, Ψ = identity) and the pool's B mask."""
    import torch

    from alkit.strategies import PoolView

    x, is_b = blobs(seed, n_a, n_b)
    g = torch.Generator().manual_seed(seed + 100)
    labeled = torch.cat([torch.randperm(n_a, generator=g)[:50], n_a + torch.randperm(n_b, generator=g)[:50]])
    mask = torch.zeros(len(x), dtype=torch.bool)
    mask[labeled] = True
    lab, unl = mask.nonzero().squeeze(1), (~mask).nonzero().squeeze(1)
    return PoolView.from_tensors(unl, lab, embeddings=x[unl], labeled_embeddings=x[lab]), is_b


def run(cap: str, seed: int) -> dict[str, Any]:
    import torch

    from alkit.strategies import get_strategy

    view, is_b = density_view(seed)
    t0 = time.perf_counter()
    sel = get_strategy("dal", n_mini_queries=10, **CAPS[cap]).query(view, 400, torch.Generator().manual_seed(seed))
    seconds = time.perf_counter() - t0
    kc = get_strategy("kcenter").query(view, 400, torch.Generator().manual_seed(seed))
    in_a = ~is_b[sel.indices]
    return {"cap": cap, "seed": seed, "dal_share_a": round(float(in_a.float().mean()), 4),
            "kcenter_share_a": round(1.0 - float(is_b[kc.indices].float().mean()), 4),
            "per_mini_query_a": [round(float(in_a[i * 40 : (i + 1) * 40].float().mean()), 3) for i in range(10)],
            "epochs": sel.extras["epochs"], "seconds": round(seconds, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--caps", nargs="+", default=DEFAULT_CAPS, choices=list(CAPS))
    ap.add_argument("--seeds", nargs="+", type=int, default=list(range(8)))
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    result = json.loads(args.out.read_text()) if args.out.exists() else {}
    for cap in args.caps:
        rows = [run(cap, s) for s in args.seeds]
        for r in rows:
            print(f"  {cap:10s} seed {r['seed']}: DAL {r['dal_share_a']:.3f} from A (KCenter {r['kcenter_share_a']:.3f}), "
                  f"{r['seconds']:.1f} s", flush=True)
        shares = [r["dal_share_a"] for r in rows]
        result[cap] = {"kwargs": CAPS[cap], "mean_dal_share_a": round(sum(shares) / len(shares), 4),
                       "mean_kcenter_share_a": round(sum(r["kcenter_share_a"] for r in rows) / len(rows), 4),
                       "seeds_at_or_above_0.85": sum(s >= 0.85 for s in shares), "n_seeds": len(rows),
                       "load_avg": os.getloadavg()[0], "runs": rows}
        print(f"{cap}: mean DAL share from A {result[cap]['mean_dal_share_a']:.3f} over {len(rows)} seeds", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
