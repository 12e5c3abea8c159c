"""Why does LPL land below Random on digits? Method or implementation (issue #13).

    python -m benchmarks.lpl_digits                  # writes benchmarks/results/lpl_digits.json
    python -m benchmarks.lpl_digits --seeds 0 1 --variants random lpl

The ``make demo`` settings (the digits preset: 20 initial labels, +20 per round, 10 rounds, the preset's
training, ``validation="none"``), one torch thread, through the real loop (:class:`alkit.ALRun`). Variants:

* ``random`` and ``lpl`` (defaults);
* ``lpl_detached``: ``detach_epoch=0``, so the ranking loss never reaches the backbone, which is then
  trained exactly like a plain strategy's (``tests/test_training_strategies.py`` checks it bit for bit):
  what is left of LPL's gap is its *query*;
* ``true_loss``: a cheating reference that queries the ``b`` items of largest **true** cross-entropy (it
  reads the pool's labels): what a perfect loss predictor would query.

Per run: AUBC, the accuracy curve, the number of distinct classes in each queried batch of 20 and, for the
LPL variants, the Spearman correlation between the loss module's prediction and the true loss over the
unlabeled pool after each round's training (does the module learn to rank losses at all?).
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

RESULTS = Path(__file__).resolve().parent / "results" / "lpl_digits.json"
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "random": ("random", {}),
    "lpl": ("lpl", {}),
    "lpl_detached": ("lpl", {"detach_epoch": 0}),
    "true_loss": ("_bench_true_loss", {}),
}


def _spearman(a: Any, b: Any) -> float:
    ra, rb = a.argsort().argsort().double(), b.argsort().argsort().double()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / (ra.norm() * rb.norm()))


def _register_true_loss(labels: dict[str, Any]) -> None:
    from alkit.strategies import ScoreStrategy, list_strategies, register_strategy

    if "_bench_true_loss" in list_strategies():
        return

    @register_strategy("_bench_true_loss")
    class TrueLoss(ScoreStrategy):
        """Cheating reference: the true cross-entropy of each unlabeled item (what LPL predicts)."""

        needs = frozenset({"probs"})

        def score(self, view):  # noqa: ANN001, ANN201
            y = labels["y"][view.unlabeled.cpu()].to(view.probs.device)
            return -view.probs.clamp_min(1e-12).log().gather(1, y[:, None]).squeeze(1)


def run_one(variant: str, seed: int, labels: dict[str, Any]) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    from alkit.loop import ALConfig, ALRun
    from alkit.metrics import aubc
    from alkit.strategies.training import forward_with_taps

    strategy, params = VARIANTS[variant]
    run = ALRun(ALConfig(dataset="digits", strategy=strategy, strategy_params=params, seed=seed, device="cpu"))
    y_train = run.dataset.y_train
    labels["y"] = y_train
    classes, rho = [], []
    while not run.done:
        h = run.step()
        if h.round > 0:
            classes.append(len(set(y_train[h.selected].tolist())))
        if strategy == "lpl" and not run.done:  # the module that scores the next query vs the true loss
            unl = run.unlabeled_indices()
            model = run.learner.model.eval()
            with torch.no_grad():
                logits, feats = forward_with_taps(model, run.dataset.x_train[unl], run.strategy._taps)
                pred = run.strategy._module(feats)
                true = F.cross_entropy(logits, y_train[unl], reduction="none")
            rho.append(_spearman(pred, true))
    n = [h.n_labeled for h in run.history]
    acc = [h.accuracy for h in run.history]
    return {"seed": seed, "aubc": aubc(n, acc), "n_labeled": n, "accuracy": acc, "classes_per_batch": classes,
            "spearman_pred_true_loss": rho}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    labels: dict[str, Any] = {}
    _register_true_loss(labels)
    t0 = time.perf_counter()
    runs: dict[str, list[dict[str, Any]]] = {}
    summary: dict[str, dict[str, float]] = {}
    for v in args.variants:
        runs[v] = [run_one(v, s, labels) for s in args.seeds]
        a = np.array([r["aubc"] for r in runs[v]])
        summary[v] = {"aubc_mean": float(a.mean()), "aubc_std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
                      "classes_per_batch": float(np.mean([np.mean(r["classes_per_batch"]) for r in runs[v]]))}
        if runs[v][0]["spearman_pred_true_loss"]:
            summary[v]["spearman_pred_true_loss"] = float(np.mean([np.mean(r["spearman_pred_true_loss"])
                                                                   for r in runs[v]]))
        print(v, {k: round(x, 4) for k, x in summary[v].items()}, flush=True)
    out = {"benchmark": "lpl_digits", "settings": "digits preset (make demo): 20 initial, +20, 10 rounds",
           "seeds": args.seeds, "summary": summary, "runs": runs,
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__},
           "seconds": time.perf_counter() - t0}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
