"""The lessons' exercises: prompt, a reference computed here (never a literal in the notebook), hints.

A lesson asks for one by key and hands over the objects the checker needs::

    ex = exercise("3.1", view=view)
    answer = None  # your code here
    ex.check(answer)

The reference is computed by another route than the worked solution where the library offers one
(closed form against exact routine, a strategy's own query against a hand-written ranking, brute force
against a library call), so ``ALKIT_SOLUTIONS=1`` checks the solution, not only itself. The hints name
the mistakes an exercise invites; :func:`alkit.lessons.checking.diagnose` covers the rest (shape, sign,
factor 2, off-by-one, set overlap, ...). No message prints the reference.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from alkit.lessons import solutions
from alkit.lessons.widgets import Exercise

__all__ = ["EXERCISES", "exercise"]


def _near(x: Any, y: float, tol: float = 1e-6) -> bool:
    return math.isclose(float(x), float(y), rel_tol=0.0, abs_tol=tol)


def _ex_1_1() -> dict[str, Any]:
    from alkit.theory import toy

    ref = toy.w1_q2_closed_form(0.1, 0.4, 0.7)
    return dict(
        prompt="W1(D, Q2) for a=0.1, w=0.4, c=0.7",
        reference=lambda: ref,
        hints=[(lambda a: _near(a, toy.w1_q2_closed_form(0.1, 0.4, 0.6)),
                "that is W1 for c = 0.6 (the lesson's instance A); move the second half to c = 0.7"),
               (lambda a: _near(a, toy.w1_q1_closed_form(0.1, 0.4)), "that is W1 of Q1 (one block), not of Q2"),
               (lambda a: _near(a, toy.one_sided_divergence_q2_closed_form(0.1, 0.4, 0.7))
                or _near(a, toy.ks_divergence_q2_closed_form(0.1, 0.4, 0.7)),
                "that is an H-divergence of Q2, not its Wasserstein-1 distance")],
        compare=dict(atol=1e-6))


def _equal_until(a: float, w: float) -> float:
    """The largest c at which the closed-form one-sided divergences of Q1 and Q2 agree (bisection)."""
    from alkit.theory import toy

    d1 = toy.one_sided_divergence_q1_closed_form(a, w)
    lo, hi = a + w / 2, 1 - w / 2  # equal at the left end of the family, different at the right end
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if abs(toy.one_sided_divergence_q2_closed_form(a, w, mid) - d1) < 1e-12 else (lo, mid)
    return lo


def _ex_1_2() -> dict[str, Any]:
    ref = _equal_until(0.1, 0.4)
    return dict(
        prompt="largest c with equal one-sided divergences (a=0.1, w=0.4)",
        reference=lambda: ref,
        hints=[(lambda a: float(a) < ref - 1e-3, "they are still equal a little to the right of your c"),
               (lambda a: float(a) > ref + 1e-3, "at your c the two divergences already differ")],
        compare=dict(atol=1e-3))


def _ex_1_3() -> dict[str, Any]:
    from alkit.theory import toy

    d, q2 = toy.data_distribution(), toy.INSTANCES["B"].q2
    shift = d.support[1] - q2.support[0]  # the supports stop overlapping: one threshold separates them
    ref = (shift, toy.wasserstein1(d, q2.shifted(shift)))
    return dict(
        prompt="(first saturating shift, W1 there) for Q2 of instance B",
        reference=lambda: ref,
        hints=[(lambda a: _near(a[0], ref[0], 0.01) and _near(a[1], ref[0], 0.02),
                "W1: that is the shift itself (W1 equals the shift only for a copy of D)")],
        compare=dict(atol=0.02, names=["first saturating shift", "W1 there"]))


def _ex_2_1(*, diverse: Any) -> dict[str, Any]:
    lambdas = np.asarray(diverse.lambdas, dtype=float)
    k = int(np.flatnonzero(np.isclose(lambdas, 1.0, atol=1e-12))[0])  # the lesson's grid holds λ = 1 exactly
    fitted = diverse.hypotheses["fitted"]
    return dict(
        prompt="Theorem 1 bound at λ = 1, diverse query, fitted h",
        reference=lambda: float(fitted.bounds[k]),
        hints=[(lambda a: _near(a, diverse.hypotheses["shrunk"].bounds[k], 1e-9),
                "that is the bound of the shrunk hypothesis (‖w‖ = 2); the exercise wants the fitted one"),
               (lambda a: _near(a, fitted.bounds[0], 1e-9), "that is the bound at λ = 0, not at λ = 1"),
               (lambda a: _near(a, fitted.risk_q, 1e-9), "that is only the empirical query risk, without the W1 "
                "and φ terms")],
        compare=dict(atol=1e-9))


def _ex_2_2(*, bd: Any) -> dict[str, Any]:
    k = int(np.argmin(np.abs(bd.grid - 0.3)))
    return dict(
        prompt="(eps_T, bound) of 1[x >= t] with t closest to 0.3",
        reference=lambda: (float(bd.err_target[k]), float(bd.bounds[k])),
        hints=[(lambda a: _near(a[1], bd.err_source[k] + bd.d_hdh + bd.lambda_star, 1e-9),
                "bound: the divergence term is ½·d_HΔH, not d_HΔH"),
               (lambda a: _near(a[0], bd.err_source[k], 1e-9),
                "eps_T: that is the error on the source (biased labeled) sample, not on the target")],
        compare=dict(atol=1e-9, names=["eps_T", "bound"]))


def _ex_3_1(*, view: Any) -> dict[str, Any]:
    import alkit

    ref = set(alkit.get_strategy("least_conf").query(view, 10).indices.tolist())

    def positions(a: Any) -> bool:  # positions in view.unlabeled instead of pool indices
        idx = torch.as_tensor(a).long().reshape(-1)
        return bool(idx.numel() == 10 and idx.max() < view.n_unlabeled and set(view.unlabeled[idx].tolist()) == ref)

    def most_confident(a: Any) -> bool:
        conf = view.probs.max(dim=1).values
        top = set(view.unlabeled[torch.argsort(conf, descending=True, stable=True)[:10]].tolist())
        return set(torch.as_tensor(a).reshape(-1).tolist()) == top

    return dict(
        prompt="pool indices of the 10 least-confident items of `view`",
        reference=lambda: ref,
        hints=[(lambda a: positions(a) and set(torch.as_tensor(a).reshape(-1).tolist()) != ref,
                "these are positions in view.unlabeled; map them to pool indices with view.unlabeled[...]"),
               (most_confident, "these are the 10 MOST confident items: the sign (or the sort order) is flipped")])


def _ex_3_2(*, ds: Any, config: Any, group: np.ndarray, pocket: int, group_accuracy: Callable[..., Any],
            without: float) -> dict[str, Any]:
    ctx = dict(ds=ds, config=config, group=group, pocket=pocket, group_accuracy=group_accuracy)
    ref = functools.cache(lambda: solutions.ex_3_2(**ctx))
    return dict(
        prompt="pocket test accuracy of entropy with one pocket item in the seed set",
        reference=ref,
        hints=[(lambda a: _near(a, without, 1e-9) and not _near(without, ref(), 1e-9),
                "that is the pocket accuracy of the run WITHOUT a pocket item in the seed set"),
               (lambda a: not 0.0 <= float(a) <= 1.0, "an accuracy lies between 0 and 1")],
        compare=dict(atol=1e-9))


def _ex_4_1(*, mc_grid: torch.Tensor) -> dict[str, Any]:
    from alkit.strategies.bayesian import mean_std_scores

    ref = mean_std_scores(mc_grid)
    t = mc_grid.shape[0]
    return dict(
        prompt="MeanSTD of the grid from mc_grid",
        reference=lambda: ref,
        hints=[(lambda a: torch.allclose(torch.as_tensor(a, dtype=ref.dtype), ref * math.sqrt(t / (t - 1)), atol=1e-6),
                "that is the sample standard deviation (ddof 1); MeanSTD uses the population one (ddof 0, "
                "unbiased=False)"),
               (lambda a: torch.allclose(torch.as_tensor(a, dtype=ref.dtype), mc_grid.var(0, unbiased=False).mean(-1),
                                         atol=1e-6), "that is the variance: take the square root before averaging")],
        compare=dict(atol=1e-6))


def _ex_4_2(*, view_copies: Any) -> dict[str, Any]:
    ref = functools.cache(lambda: solutions.ex_4_2(view_copies=view_copies))
    return dict(
        prompt="smallest budget where BALD and BatchBALD differ",
        reference=ref,
        hints=[(lambda a: not isinstance(a, (int, np.integer)) or isinstance(a, bool), "answer with an integer budget"),
               (lambda a: int(a) > ref(), "they already differ at a smaller budget"),
               (lambda a: int(a) < ref(), "at this budget both still pick the same set")])


def _ex_5_1(*, tiny: torch.Tensor, greedy_radius: float) -> dict[str, Any]:
    from alkit.viz import toy2d

    others = range(1, len(tiny))
    ref = min(toy2d.covering_radius(tiny, tiny[[0, *c]]) for c in itertools.combinations(others, 3))
    return dict(
        prompt="optimal covering radius of the tiny instance",
        reference=lambda: ref,
        hints=[(lambda a: _near(a, greedy_radius, 1e-9) and not _near(greedy_radius, ref, 1e-9),
                "that is the greedy KCenter radius; the optimum tries every choice of 3 centres"),
               (lambda a: float(a) < ref - 1e-9, "smaller than any 3 centres can reach: keep point 0 (labeled) "
                "among the centres and cover all 12 points")],
        compare=dict(rtol=1e-9))


def _ex_5_2(*, margin_top: set[int]) -> dict[str, Any]:
    return dict(prompt="cluster_margin's picks with margin_multiplier=1", reference=lambda: set(margin_top))


def _ex_6_1() -> dict[str, Any]:
    eps = 0.1
    return dict(
        prompt="proxy H-divergence of a balanced error 0.1",
        reference=lambda: 2.0 * (1.0 - 2.0 * eps),
        hints=[(lambda a: _near(a, 1 - 2 * eps, 1e-9), "the factor 2 in front of (1 - 2ε) is missing"),
               (lambda a: _near(a, 2 * eps, 1e-9), "that is 2ε, the error doubled, not the divergence")],
        compare=dict(atol=1e-9))


def _ex_6_2(*, R: dict[str, dict[str, float]]) -> dict[str, Any]:
    names = list(R["dal"])
    best = max((n for n in names if n not in ("dal", "random")), key=lambda n: R["dal"][n])
    return dict(
        prompt="the strategy ranked most like DAL",
        reference=lambda: best,
        hints=[(lambda a: a in ("dal", "random"), "DAL itself and random are excluded"),
               (lambda a: a in names and a != best,
                "another strategy has a larger rank correlation with DAL (see the ρ matrix)")],
        compare=dict(options=names))


def _ex_6_3() -> dict[str, Any]:
    b, n = 53, 20
    return dict(
        prompt="size of the last of 20 mini-queries for b = 53",
        reference=lambda: b - (n - 1) * (b // n),
        hints=[(lambda a: a == b // n, "that is the size of each of the first 19 mini-queries"),
               (lambda a: a == math.ceil(b / n), "the sizes are b // n for all but the last, which takes the rest")])


def _ex_7_1() -> dict[str, Any]:
    return dict(
        prompt="L_D of a discriminator at chance",
        reference=lambda: 2.0 * math.log(2.0),
        hints=[(lambda a: _near(a, math.log(2.0), 1e-4), "only one of the two BCE terms (labeled and unlabeled)")],
        compare=dict(atol=1e-4))


def _ex_7_2(*, mnist_res: dict[str, dict[str, float]], modes: list[str]) -> dict[str, Any]:
    best = max(modes, key=lambda m: mnist_res[m]["unseen"])
    return dict(prompt="the vae_mode with the largest unseen share", reference=lambda: best,
                hints=[(lambda a: a in modes and a != best, "another vae_mode sent a larger share to 5-9")],
                compare=dict(options=list(modes)))


def _ex_7_3(*, d_unl: torch.Tensor, view_toy: Any, is_b: torch.Tensor, budget: int) -> dict[str, Any]:
    top = torch.topk(d_unl, budget).indices
    lowest = torch.topk(-d_unl, budget).indices
    return dict(
        prompt="share from B when the highest D is queried",
        reference=lambda: float(is_b[view_toy.unlabeled[top]].float().mean()),
        hints=[(lambda a: _near(a, float(is_b[view_toy.unlabeled[lowest]].float().mean()), 1e-9)
                and not torch.equal(top.sort().values, lowest.sort().values),
                "that is VAAL's own pick (the lowest D(μ)); the exercise takes the highest")],
        compare=dict(atol=1e-9))


def _ex_8_1() -> dict[str, Any]:
    from alkit.strategies.waal import bias_coefficient

    n_l, n_u, n_b = 1000, 39000, 500
    return dict(
        prompt="C0 for N_L = 1000, N_U = 39000, N_B = 500",
        reference=lambda: n_l * (n_u - n_b) / (n_u * (n_l + n_b)),
        hints=[(lambda a: _near(a, bias_coefficient("ratio", n_l, n_u, n_b), 1e-9),
                "that is the code's N_L / N_U ('ratio'), not the paper's C0 ('theory')"),
               (lambda a: _near(a, 1.0, 1e-9), "that is DeepAL+'s coefficient 1 ('one'), not C0")],
        compare=dict(atol=1e-9))


def _ex_8_2() -> dict[str, Any]:
    from alkit.strategies.waal import waal_uncertainty

    def ref() -> float:
        u = waal_uncertainty(torch.tensor([[0.1] * 10, [0.99] + [0.01 / 9] * 9]))
        return float(u[1] - u[0])

    return dict(prompt="the η above which the confident, unrepresented point wins", reference=ref,
                compare=dict(atol=1e-3))


def _ex_9_1(*, picks: dict[str, torch.Tensor]) -> dict[str, Any]:
    b = len(picks["asal"])
    ref = len(set(picks["asal"].tolist()) & set(picks["entropy"].tolist()))
    return dict(prompt="overlap of ASAL's picks with the max-entropy picks", reference=lambda: ref,
                hints=[(lambda a: not 0 <= int(a) <= b, f"an overlap of two sets of {b} picks lies in 0..{b}")])


def _ex_9_2(*, index: Any, q: torch.Tensor) -> dict[str, Any]:
    from alkit.strategies.asal import PoolIndex

    free = torch.ones(len(index.features), dtype=torch.bool)
    exact = PoolIndex(index.features, index.row_pool, mode="exact").search(q, free, 1)[1][:, 0]
    own = float((index.search(q, free, 1)[1][:, 0] == exact).float().mean())  # the lesson's index, nprobe lists

    def ref() -> float:  # probing all lists scans every row: the agreement of that exhaustive IVF scan
        n_lists = max(1, round(math.sqrt(len(index.features))))
        every = PoolIndex(index.features, index.row_pool, mode="ivf", n_lists=n_lists, nprobe=n_lists)
        return float((every.search(q, free, 1)[1][:, 0] == exact).float().mean())

    return dict(
        prompt="agreement of an all-lists IVF with the exact index",
        reference=ref,
        hints=[(lambda a: _near(a, own, 1e-9) and own < 1.0,
                "that is the agreement of the lesson's index, which probes only nprobe of its lists")],
        compare=dict(atol=1e-9))


def _first_reach(n: np.ndarray, acc: np.ndarray, target: float) -> float:
    """The budget at which a curve first reaches ``target``, interpolated on the segment that crosses it."""
    if acc[0] >= target:
        return float(n[0])
    for (n0, a0), (n1, a1) in itertools.pairwise(zip(n, acc, strict=True)):
        if a0 < target <= a1:
            return float(n0 + (target - a0) / (a1 - a0) * (n1 - n0))
    return math.nan


def _ex_10_1(*, result: Any) -> dict[str, Any]:
    def mean_curve(name: str) -> tuple[np.ndarray, np.ndarray]:
        runs = result.curves[name]
        return np.asarray(runs[0][0], dtype=float), np.mean([np.asarray(a, dtype=float) for _, a in runs], axis=0)

    (n_m, a_m), (n_r, a_r) = mean_curve("margin"), mean_curve("random")
    target = float(a_r[-1])
    need_m, need_r = _first_reach(n_m, a_m, target), _first_reach(n_r, a_r, target)
    ref = need_r - need_m  # nan when margin's mean curve never reaches the target (Random's always does)
    seed0 = [(np.asarray(n, dtype=float), np.asarray(a, dtype=float)) for n, a in
             (result.curves["margin"][0], result.curves["random"][0])]
    on_seed0 = _first_reach(*seed0[1], float(seed0[1][1][-1])) - _first_reach(*seed0[0], float(seed0[1][1][-1]))
    own_target = _first_reach(n_r, a_r, float(a_m[-1])) - _first_reach(n_m, a_m, float(a_m[-1]))
    return dict(
        prompt="labels saved by margin over random (Random's final mean accuracy, mean curves)",
        reference=lambda: ref,
        hints=[(lambda a: math.isnan(float(a)), "margin's mean curve does reach the target here: the saving is a "
                "number"),
               (lambda a: _near(a, need_m, 1e-6) or _near(a, need_r, 1e-6),
                "that is the number of labels ONE curve needs to reach the target; the saving is Random's minus "
                "margin's"),
               (lambda a: _near(a, own_target, 1e-6), "the target is Random's final mean accuracy, not margin's"),
               (lambda a: _near(a, on_seed0, 1e-6) and len(result.curves["random"]) > 1,
                "that is the saving on seed 0's curves; average the accuracies over the seeds first")],
        compare=dict(atol=1e-6))


def _ex_10_2() -> dict[str, Any]:
    # the DeepAL+ schedule in exact integers (units of 1e-8): delta_t = 1000 - 33 t (t + 1) / 2 <= 0
    ref = next(t for t in itertools.count(1) if 33 * t * (t + 1) >= 2 * 1000)
    linear = next(t for t in itertools.count(1) if 33 * t >= 1000)
    default = next(t for t in itertools.count(1) if 33 * t * (t + 1) >= 2 * 5000)
    return dict(
        prompt="first round with no pseudo-labels at delta0 = 1e-5 (DeepAL+ decay 0.033e-5)",
        reference=lambda: ref,
        hints=[(lambda a: a == default, "that is the round for DeepAL+'s default δ0 = 5·10⁻⁵; the exercise takes the "
                "survey's text value 10⁻⁵"),
               (lambda a: a == linear, "that is the linear schedule δ0 - d·t; DeepAL+ subtracts d·t from the "
                "running value every round (schedule 'deepal')"),
               (lambda a: not isinstance(a, (int, np.integer)) or isinstance(a, bool), "answer with a round index "
                "(an integer)")])


EXERCISES: dict[str, Callable[..., dict[str, Any]]] = {
    "1.1": _ex_1_1, "1.2": _ex_1_2, "1.3": _ex_1_3,
    "2.1": _ex_2_1, "2.2": _ex_2_2,
    "3.1": _ex_3_1, "3.2": _ex_3_2,
    "4.1": _ex_4_1, "4.2": _ex_4_2,
    "5.1": _ex_5_1, "5.2": _ex_5_2,
    "06.1": _ex_6_1, "06.2": _ex_6_2, "06.3": _ex_6_3,
    "07.1": _ex_7_1, "07.2": _ex_7_2, "07.3": _ex_7_3,
    "08.1": _ex_8_1, "08.2": _ex_8_2,
    "09.1": _ex_9_1, "09.2": _ex_9_2,
    "10.1": _ex_10_1, "10.2": _ex_10_2,
}
"""Exercise key -> builder of its prompt, reference and hints (called with the lesson's objects)."""


def exercise(key: str, **context: Any) -> Exercise:
    """The lesson exercise ``key``, checked against a reference computed from ``context``.

    ``context`` holds the lesson objects the exercise is about (for the checker; the worked solution,
    :data:`alkit.lessons.solutions.SOLVERS`, takes the same names that it needs).
    """
    if key not in EXERCISES:
        raise KeyError(f"no exercise {key!r}; known: {sorted(EXERCISES)}")
    solver = solutions.SOLVERS[key]
    wanted = _params(solver)
    missing = (wanted | _params(EXERCISES[key])) - set(context)
    if missing:
        raise TypeError(f"exercise {key}: it needs {sorted(missing)} from the lesson; pass them to exercise({key!r}, ...)")
    spec = EXERCISES[key](**{k: v for k, v in context.items() if k in _params(EXERCISES[key])})
    solution = functools.update_wrapper(functools.partial(solver, **{k: context[k] for k in wanted}), solver)
    return Exercise(key, spec.pop("prompt"), solution=solution, **spec)


def _params(fn: Callable[..., Any]) -> set[str]:
    import inspect

    return {p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY}


# ----------------------------------------------------------------------------- 11 the budget regime
def _ex_11_1(*, feats: torch.Tensor, pseudo: torch.Tensor) -> dict[str, Any]:
    from alkit.strategies.lowbudget import purity_delta

    def ref() -> float:  # by brute force: every candidate radius, every ball (not purity_delta's order statistic)
        d = torch.cdist(feats.double(), feats.double())
        d.masked_fill_(pseudo.unsqueeze(0) == pseudo.unsqueeze(1), math.inf)
        r = d.min(1).values  # a ball of radius δ is pure iff δ <= r
        cand = torch.unique(r)
        share = (r.unsqueeze(0) >= cand.unsqueeze(1)).double().mean(1)
        return float(cand[share >= 0.9].max())

    at_95 = float(purity_delta(feats, pseudo, 0.95))
    return dict(
        prompt="largest δ with ball purity >= 0.9",
        reference=ref,
        hints=[(lambda a: _near(a, at_95, 1e-6), "that is the δ of purity 0.95 (the strategy's default); "
                "the exercise asks for 0.9"),
               (lambda a: _near(a, 0.9, 1e-9), "0.9 is the purity asked for; the answer is the radius δ")],
        compare=dict(atol=1e-5))


EXERCISES["11.1"] = _ex_11_1
