"""Worked solutions of the lessons' exercises, out of the student's way.

A lesson never shows these: ``ex.reveal()`` prints one on request, and ``ALKIT_SOLUTIONS=1`` (CI) fills
each in when the student's answer is still ``None``, so every run of the lessons checks that each
solution passes its checker (:mod:`alkit.lessons.exercises`). Each function takes, by keyword, the
objects of the lesson the exercise names (a run, a view, a result) and computes the answer the way a
student would, with the library.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch

__all__ = ["SOLVERS"]


# ----------------------------------------------------------------------------- 01 H-divergence vs W1
def ex_1_1() -> float:
    from alkit.theory import toy

    d = toy.data_distribution()
    return toy.wasserstein1(d, toy.query_two_intervals(0.1, 0.4, 0.7))


def ex_1_2() -> float:
    from alkit.theory import toy

    d = toy.data_distribution()
    d_q1 = toy.one_sided_divergence(d, toy.query_one_interval(0.1, 0.4))
    cs = np.linspace(0.3, 0.8, 5001)
    equal = [c for c in cs if abs(toy.one_sided_divergence(d, toy.query_two_intervals(0.1, 0.4, c)) - d_q1) < 1e-9]
    return float(max(equal))


def ex_1_3() -> tuple[float, float]:
    from alkit.theory import toy

    q2 = toy.INSTANCES["B"].q2
    fine = toy.shift_sweep(q2, np.linspace(0, 1, 1001))
    k = int(np.argmax(fine["ks"] >= 2 - 1e-9))  # the first shift at which 2KS reaches its maximum 2
    return float(fine["shift"][k]), float(fine["w1"][k])


# ----------------------------------------------------------------------------- 02 bounds
def ex_2_1(*, diverse: Any) -> float:
    from alkit.theory import bounds

    phi_1 = bounds.jpl_phi(diverse.label_jump, diverse.distances, 1.0)
    fitted = diverse.hypotheses["fitted"]
    return float(bounds.theorem1_bound(fitted.risk_q, fitted.H, diverse.w1, phi_1, 1.0))


def ex_2_2(*, bd: Any) -> tuple[float, float]:
    k = int(np.argmin(np.abs(bd.grid - 0.3)))
    t = bd.grid[k]
    truth_target = (bd.target >= 0.3) & (bd.target < 0.8)
    truth_source = (bd.source >= 0.3) & (bd.source < 0.8)
    eps_t = float(np.mean((bd.target >= t) != truth_target))
    eps_s = float(np.mean((bd.source >= t) != truth_source))
    return eps_t, eps_s + 0.5 * bd.d_hdh + bd.lambda_star


# ----------------------------------------------------------------------------- 03 anatomy of a round
def ex_3_1(*, view: Any) -> torch.Tensor:
    confidence = view.probs.max(dim=1).values  # p_(1) of every unlabeled item
    order = torch.argsort(confidence, stable=True)  # least confident first
    return view.unlabeled[order[:10]]


def ex_3_2(*, ds: Any, config: Any, group: np.ndarray, pocket: int, group_accuracy: Any) -> float:
    import alkit

    seed_plus = list(ds.info["initial_indices"]) + [int(np.flatnonzero(group == pocket)[0])]
    fixed = alkit.ALRun(config("entropy"), dataset=ds, initial_indices=seed_plus)
    fixed.run()
    return float(group_accuracy(fixed)["pocket"])


# ----------------------------------------------------------------------------- 04 uncertainty
def ex_4_1(*, mc_grid: torch.Tensor) -> torch.Tensor:
    centred = mc_grid - mc_grid.mean(0)  # (T, N, K): deviation of each pass from the MC mean
    return (centred**2).mean(0).sqrt().mean(-1)  # population std over passes, then mean over classes


def ex_4_2(*, view_copies: Any) -> int:
    import alkit
    from alkit.lessons.helpers import gen

    def picks(name: str, b: int) -> set[int]:
        return set(alkit.get_strategy(name).query(view_copies, b, gen()).indices.tolist())

    return next(b for b in range(1, view_copies.n_unlabeled + 1) if picks("bald", b) != picks("batch_bald", b))


# ----------------------------------------------------------------------------- 05 diversity
def ex_5_1(*, tiny: torch.Tensor) -> float:
    from alkit.viz import toy2d

    return min(toy2d.covering_radius(tiny, tiny[[0, *c]]) for c in itertools.combinations(range(1, len(tiny)), 3))


def ex_5_2(*, base: Any, budget: int) -> set[int]:
    import alkit
    from alkit.lessons.helpers import gen, pool_view

    cm1 = alkit.get_strategy("cluster_margin", margin_multiplier=1)
    return set(cm1.query(pool_view(base, cm1), budget, gen()).indices.tolist())


# ----------------------------------------------------------------------------- 06 DAL
def ex_6_1() -> float:
    from alkit.strategies.dal import proxy_h_divergence

    return float(proxy_h_divergence(0.1))


def ex_6_2(*, R: dict[str, dict[str, float]]) -> str:
    others = [n for n in R["dal"] if n not in ("dal", "random")]
    return max(others, key=lambda n: R["dal"][n])


def ex_6_3() -> int:
    from alkit.strategies.dal import mini_query_sizes

    return int(mini_query_sizes(53, 20)[-1])


# ----------------------------------------------------------------------------- 07 VAAL
def ex_7_1() -> float:
    from alkit.strategies.vaal import discriminator_loss

    half = torch.full((5,), 0.5)
    return float(discriminator_loss(half, half))


def ex_7_2(*, mnist_res: dict[str, dict[str, float]], modes: list[str]) -> str:
    return max(modes, key=lambda m: mnist_res[m]["unseen"])


def ex_7_3(*, d_unl: torch.Tensor, view_toy: Any, is_b: torch.Tensor, budget: int) -> float:
    highest = view_toy.unlabeled[torch.argsort(d_unl, descending=True, stable=True)[:budget]]
    return float(is_b[highest].float().mean())


# ----------------------------------------------------------------------------- 08 WAAL
def ex_8_1() -> float:
    from alkit.strategies.waal import bias_coefficient

    return float(bias_coefficient("theory", 1000, 39000, 500))


def ex_8_2() -> float:
    from alkit.strategies.waal import waal_uncertainty

    uniform = torch.full((1, 10), 0.1)
    confident = torch.tensor([[0.99] + [0.01 / 9] * 9])
    # s(x) = U(uniform) - η·0 and s(x') = U(p99) - η·1: x' scores lower (is queried first) once η > U(p99) - U(uniform)
    return float(waal_uncertainty(confident) - waal_uncertainty(uniform))


# ----------------------------------------------------------------------------- 09 ASAL and GAAL
def ex_9_1(*, picks: dict[str, torch.Tensor]) -> int:
    return len(set(picks["asal"].tolist()) & set(picks["entropy"].tolist()))


def ex_9_2(*, index: Any, q: torch.Tensor) -> float:
    from alkit.strategies.asal import PoolIndex

    all_free = torch.ones(len(index.features), dtype=torch.bool)
    exact = PoolIndex(index.features, index.row_pool, mode="exact").search(q, all_free, 1)[1][:, 0]
    n_lists = 16
    every_list = PoolIndex(index.features, index.row_pool, mode="ivf", n_lists=n_lists, nprobe=n_lists)
    return float((every_list.search(q, all_free, 1)[1][:, 0] == exact).float().mean())


# ----------------------------------------------------------------------------- 10 benchmarking
def ex_10_1(*, result: Any) -> float:
    import alkit

    def mean_curve(name: str) -> tuple[Any, np.ndarray]:
        runs = result.curves[name]  # one (n_labeled, accuracy) pair per seed, same budgets
        return runs[0][0], np.mean([acc for _, acc in runs], axis=0)

    target = float(mean_curve("random")[1][-1])  # Random's final mean accuracy
    return float(alkit.labels_saved(mean_curve("margin"), mean_curve("random"), target).saved)


def ex_10_2() -> int:
    from alkit.strategies.training import ceal_threshold

    # entropies are >= 0 and CEAL pseudo-labels H < delta_t: nothing once the threshold is <= 0
    return next(t for t in range(1, 1000) if ceal_threshold(t, 1e-5, 0.033e-5, "deepal") <= 0)


SOLVERS = {
    "1.1": ex_1_1, "1.2": ex_1_2, "1.3": ex_1_3,
    "2.1": ex_2_1, "2.2": ex_2_2,
    "3.1": ex_3_1, "3.2": ex_3_2,
    "4.1": ex_4_1, "4.2": ex_4_2,
    "5.1": ex_5_1, "5.2": ex_5_2,
    "06.1": ex_6_1, "06.2": ex_6_2, "06.3": ex_6_3,
    "07.1": ex_7_1, "07.2": ex_7_2, "07.3": ex_7_3,
    "08.1": ex_8_1, "08.2": ex_8_2,
    "09.1": ex_9_1, "09.2": ex_9_2,
    "10.1": ex_10_1, "10.2": ex_10_2,
}
"""Exercise key -> worked solution (called with the lesson's objects as keywords)."""


# ----------------------------------------------------------------------------- 11 the budget regime
def ex_11_1(*, feats: torch.Tensor, pseudo: torch.Tensor) -> float:
    from alkit.strategies.lowbudget import purity_delta

    return float(purity_delta(feats, pseudo, 0.9))


SOLVERS["11.1"] = ex_11_1
