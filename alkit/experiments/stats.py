r"""Significance over seeds for a sweep: paired t-tests, the pairwise penalty matrix, intervals, verdicts.

Every function is pure (numpy + :mod:`scipy.stats`): it takes learning curves and returns numbers, so
each result can be checked by hand on a tiny made-up sweep (``tests/test_stats.py`` does).

The input of one dataset is ``curves_by_strategy = {strategy: {seed: (n_labeled, accuracy)}}`` (the shape
:func:`alkit.experiments.sweep.sweep_curves` returns per dataset). Two conventions hold throughout:

* **Seeds are paired by seed number.** Strategy ``i`` and strategy ``j`` run with seed ``s`` share the seeded
  initial set, so their difference at seed ``s`` is a paired observation; a comparison uses only the seeds
  both strategies have.
* **Curves of unequal length are cut to the common rounds** (a running cell has a shorter curve): every
  statistic of a dataset uses rounds ``0 .. L`` where ``L + 1`` is the shortest curve's length
  (:func:`align_curves`; ``short="drop"`` drops the short cells instead). Round ``r`` must be at the same
  budget ``n_r`` in every curve.

The pairwise penalty matrix follows Ash et al., *Deep Batch Active Learning by Diverse, Uncertain Gradient
Lower Bounds* (BADGE, ICLR 2020, Sec. 5, "pairwise comparisons"): at every round, a two-sided paired
t-test between every pair of strategies over the seeds; a significant win of ``i`` over ``j`` adds
``1 / L`` to ``P[i, j]``, so a dataset adds at most 1 to any cell and matrices can be summed over datasets.

>>> r = paired_t_test([0.7, 0.8, 0.9], [0.6, 0.6, 0.6])
>>> round(r.t, 6), round(r.mean_diff, 6)
(3.464102, 0.2)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np
from scipy import stats as sps

from alkit.metrics import aubc, bootstrap_ci, labels_to_reach

__all__ = [
    "AlignedCurves",
    "Difference",
    "LabelsSavedCI",
    "MeanCI",
    "PairedT",
    "PenaltyMatrix",
    "PenaltySum",
    "RankEntry",
    "Verdict",
    "align_curves",
    "aubc_difference",
    "aubc_intervals",
    "aubc_ranking",
    "competition_ranks",
    "final_accuracy_intervals",
    "labels_saved_ci",
    "mean_ci",
    "paired_t_test",
    "penalty_matrix",
    "per_seed_aubc",
    "round_win_tie_loss",
    "sum_penalty_matrices",
    "verdict",
    "verdicts",
]

VERDICTS = ("better", "no different", "worse")
"""The three verdicts of :func:`verdict`, in order."""

#: Relative tolerance under which paired differences count as all equal (floating-point rounding of
#: accuracies such as ``0.3 - 0.1`` vs ``0.5 - 0.3``).
_EQUAL_TOL = 1e-12


# ----------------------------------------------------------------------------- the paired t-test


class PairedT(NamedTuple):
    """Result of :func:`paired_t_test`: ``t`` statistic, two-sided ``p`` value, mean of ``a - b``."""

    t: float
    p: float
    mean_diff: float


def _values(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a sequence of numbers: {err}") from err
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    return arr


def paired_t_test(a: Any, b: Any) -> PairedT:
    r"""Two-sided paired t-test of ``a`` against ``b`` (one pair per seed).

    With :math:`d_s = a_s - b_s`, :math:`\bar d` their mean and :math:`s_d` their sample standard
    deviation (``ddof=1``) over :math:`n` pairs:

    .. math:: t = \frac{\bar d}{s_d / \sqrt{n}}, \qquad p = 2\,\Pr[T_{n-1} \ge |t|]

    the same as :func:`scipy.stats.ttest_rel` wherever that is defined. The cases where ``t`` has no
    finite value are decided here, explicitly:

    * ``n == 1``: ``t = p = nan`` (one pair has no spread; the test cannot say anything, and callers
      treat ``nan`` as "not significant"); ``mean_diff`` is the one difference.
    * all differences equal (within ``1e-12`` relative) and zero: ``t = 0``, ``p = 1`` (no evidence of a
      difference: the two are identical at every seed).
    * all differences equal and non-zero: ``t = ±inf``, ``p = 0`` (the same gain at every seed: the
      limit of the test as the spread goes to zero).

    Parameters
    ----------
    a, b : array-like, shape (n,)
        Paired values, e.g. the accuracy of two strategies at one round, seed by seed.

    Returns
    -------
    PairedT
        ``(t, p, mean_diff)``; ``mean_diff > 0`` means ``a`` is larger on average.

    Raises
    ------
    ValueError
        On lengths that differ, no pairs, or non-finite values.
    """
    x, y = _values(a, "a"), _values(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"a and b must be paired (same length), got {x.shape[0]} and {y.shape[0]}")
    if x.shape[0] == 0:
        raise ValueError("paired_t_test needs at least one pair, got none")
    d = x - y
    n = d.shape[0]
    mean = float(d.mean())
    if n < 2:
        return PairedT(math.nan, math.nan, mean)
    scale = max(1.0, float(np.abs(d).max()))
    if float(np.ptp(d)) <= _EQUAL_TOL * scale:
        if abs(mean) <= _EQUAL_TOL * scale:
            return PairedT(0.0, 1.0, mean)
        return PairedT(math.copysign(math.inf, mean), 0.0, mean)
    sd = float(d.std(ddof=1))
    t = mean / (sd / math.sqrt(n))
    p = float(2.0 * sps.t.sf(abs(t), df=n - 1))
    return PairedT(float(t), min(1.0, p), mean)


def _significant(res: PairedT, alpha: float) -> int:
    """+1 if ``a`` is significantly larger, -1 if significantly smaller, 0 otherwise (``nan`` p: 0)."""
    if not (res.p < alpha):  # nan compares False
        return 0
    return 1 if res.mean_diff > 0 else -1


def _alpha(alpha: float) -> float:
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return a


def _n_boot(n_boot: int) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    return int(n_boot)


# ----------------------------------------------------------------------------- aligned curves


@dataclass(frozen=True)
class AlignedCurves:
    """The curves of one dataset on common rounds (the result of :func:`align_curves`).

    Attributes
    ----------
    strategies : list of str
        In the input's order (strategies without any seed are left out).
    budgets : ndarray, shape (L + 1,)
        ``n_labeled`` of rounds ``0 .. L``, shared by every curve.
    acc : dict
        ``{strategy: {seed: ndarray (L + 1,)}}``, seeds in increasing order.
    short_cells : list of dict
        ``{"strategy", "seed", "n_points"}`` of every curve longer or shorter than the common length
        that was cut (``short="cut"``) or dropped (``short="drop"``): the cells still running (or stopped).
    """

    strategies: list[str]
    budgets: np.ndarray
    acc: dict[str, dict[int, np.ndarray]]
    short_cells: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_rounds(self) -> int:
        """Rounds after round 0 in common (``L``)."""
        return int(self.budgets.shape[0]) - 1

    def seeds(self, strategy: str) -> list[int]:
        """The seeds of ``strategy``."""
        if strategy not in self.acc:
            raise ValueError(f"unknown strategy {strategy!r}; strategies: {self.strategies}")
        return list(self.acc[strategy])

    def common_seeds(self, *strategies: str) -> list[int]:
        """Seeds every one of ``strategies`` has, in increasing order."""
        sets = [set(self.seeds(s)) for s in strategies]
        return sorted(set.intersection(*sets)) if sets else []

    def matrix(self, strategy: str, seeds: Sequence[int]) -> np.ndarray:
        """Accuracies of ``strategy``, shape ``(len(seeds), L + 1)``, rows in the order of ``seeds``."""
        return np.stack([self.acc[strategy][s] for s in seeds]) if seeds else np.zeros((0, self.n_rounds + 1))


def _seed(s: Any, where: str) -> int:
    if isinstance(s, str) and s.strip().lstrip("-").isdigit():
        return int(s)  # a seed that went through JSON (object keys are strings)
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
        raise ValueError(f"{where}: seeds must be integers, got {s!r}")
    return int(s)


def _raw_curves(curves_by_strategy: Any) -> dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]:
    if not isinstance(curves_by_strategy, Mapping) or not curves_by_strategy:
        raise ValueError("curves must be a non-empty mapping {strategy: {seed: (n_labeled, accuracy)}}")
    out: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {}
    for strat, by_seed in curves_by_strategy.items():
        if not isinstance(by_seed, Mapping):
            raise ValueError(
                f"curves[{strat!r}] must be a mapping {{seed: (n_labeled, accuracy)}}, got {type(by_seed).__name__}"
            )
        runs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for s, curve in by_seed.items():
            where = f"curves[{strat!r}][{s!r}]"
            seed = _seed(s, f"curves[{strat!r}]")
            if seed in runs:
                raise ValueError(f"{where}: seed {seed} appears twice")
            try:
                n_raw, a_raw = curve
            except (TypeError, ValueError) as err:
                raise ValueError(f"{where} must be a pair (n_labeled, accuracy)") from err
            n, a = _values(n_raw, f"{where} n_labeled"), _values(a_raw, f"{where} accuracy")
            if n.shape != a.shape:
                raise ValueError(f"{where}: n_labeled and accuracy differ in length: {n.shape[0]} vs {a.shape[0]}")
            if n.shape[0] == 0:
                raise ValueError(f"{where}: the curve is empty")
            if np.any(np.diff(n) <= 0):
                raise ValueError(f"{where}: n_labeled must be strictly increasing, got {n.tolist()}")
            runs[seed] = (n, a)
        if runs:
            out[str(strat)] = dict(sorted(runs.items()))
    if not out:
        raise ValueError("no strategy has any curve")
    return out


def align_curves(curves_by_strategy: Any, *, short: str = "cut") -> AlignedCurves:
    """Put every curve of one dataset on the common rounds ``0 .. L``.

    Parameters
    ----------
    curves_by_strategy : dict or AlignedCurves
        ``{strategy: {seed: (n_labeled, accuracy)}}``; an :class:`AlignedCurves` is returned as it is.
        Strategies with no seed are left out.
    short : {"cut", "drop"}
        ``"cut"`` (default): cut every curve to the shortest one's length (a running cell holds every
        statistic back to the rounds it has). ``"drop"``: leave out the curves shorter than the longest
        one (statistics of the finished cells only).

    Returns
    -------
    AlignedCurves

    Raises
    ------
    ValueError
        On a malformed mapping, a non-integer seed, a curve whose budgets are not strictly increasing, or
        curves whose budgets differ at the same round (round ``r`` must mean the same ``n_labeled`` everywhere).
    """
    if isinstance(curves_by_strategy, AlignedCurves):
        return curves_by_strategy
    if short not in ("cut", "drop"):
        raise ValueError(f"short must be 'cut' or 'drop', got {short!r}")
    raw = _raw_curves(curves_by_strategy)
    lengths = {(st, s): c[0].shape[0] for st, runs in raw.items() for s, c in runs.items()}
    longest = max(lengths.values())
    length = min(lengths.values()) if short == "cut" else longest
    short_cells = [{"strategy": st, "seed": s, "n_points": k} for (st, s), k in lengths.items() if k != longest]
    ref: tuple[str, int, np.ndarray] | None = None
    acc: dict[str, dict[int, np.ndarray]] = {}
    for st, runs in raw.items():
        for s, (n, a) in runs.items():
            if n.shape[0] < length:
                continue  # short="drop"
            n, a = n[:length], a[:length]
            if ref is None:
                ref = (st, s, n)
            elif not np.array_equal(n, ref[2]):
                k = int(np.argmax(n != ref[2]))
                raise ValueError(
                    f"curves[{st!r}][{s}] has n_labeled {n[k]:g} at round {k} but curves[{ref[0]!r}][{ref[1]}] "
                    f"has {ref[2][k]:g}: strategies can only be compared at the same budgets"
                )
            acc.setdefault(st, {})[s] = a.copy()
    assert ref is not None
    return AlignedCurves(strategies=list(acc), budgets=ref[2].copy(), acc=acc, short_cells=short_cells)


def per_seed_aubc(curves: Any, strategy: str) -> dict[int, float]:
    """``{seed: AUBC}`` of ``strategy`` over the common rounds (:func:`alkit.metrics.aubc`)."""
    al = align_curves(curves)
    if al.n_rounds < 1:
        raise ValueError("AUBC needs at least 2 rounds in common (round 0 and one more), got 1")
    return {s: aubc(al.budgets, a) for s, a in al.acc[_known(al, strategy)].items()}


def _known(al: AlignedCurves, strategy: str) -> str:
    if strategy not in al.acc:
        raise ValueError(f"unknown strategy {strategy!r}; strategies: {al.strategies}")
    return strategy


# ----------------------------------------------------------------------------- intervals


@dataclass(frozen=True)
class MeanCI:
    """A mean over seeds with its percentile-bootstrap interval (``n`` values; one value: the interval is it)."""

    mean: float
    ci_low: float
    ci_high: float
    n: int
    std: float


def mean_ci(values: Any, *, n_boot: int = 10000, alpha: float = 0.05, seed: int = 0) -> MeanCI:
    """Mean of ``values`` and its percentile-bootstrap ``1 - alpha`` interval (:func:`alkit.metrics.bootstrap_ci`).

    Seeded: the same ``seed`` gives the same interval. ``std`` is the sample standard deviation (0 for one value).
    """
    x = _values(values, "values")
    if x.shape[0] == 0:
        raise ValueError("mean_ci needs at least one value")
    lo, hi = bootstrap_ci(x, n_boot=_n_boot(n_boot), alpha=_alpha(alpha), seed=seed)
    sd = float(x.std(ddof=1)) if x.shape[0] > 1 else 0.0
    return MeanCI(mean=float(x.mean()), ci_low=lo, ci_high=hi, n=int(x.shape[0]), std=sd)


def aubc_intervals(curves: Any, *, n_boot: int = 10000, alpha: float = 0.05, seed: int = 0) -> dict[str, MeanCI]:
    """``{strategy: MeanCI}`` of the mean AUBC over seeds, with its bootstrap interval (``B = n_boot``)."""
    al = align_curves(curves)
    return {st: mean_ci(list(per_seed_aubc(al, st).values()), n_boot=n_boot, alpha=alpha, seed=seed)
            for st in al.strategies}


def final_accuracy_intervals(curves: Any, *, n_boot: int = 10000, alpha: float = 0.05,
                             seed: int = 0) -> dict[str, MeanCI]:
    """``{strategy: MeanCI}`` of the accuracy at the last common round, over seeds."""
    al = align_curves(curves)
    return {st: mean_ci([a[-1] for a in al.acc[st].values()], n_boot=n_boot, alpha=alpha, seed=seed)
            for st in al.strategies}


@dataclass(frozen=True)
class Difference:
    """Mean per-seed difference ``strategy - baseline`` with its bootstrap interval and paired t-test."""

    diff: float
    ci_low: float
    ci_high: float
    t: float
    p: float
    n: int


def aubc_difference(curves: Any, strategy: str, baseline: str, *, n_boot: int = 10000, alpha: float = 0.05,
                    seed: int = 0) -> Difference:
    """AUBC of ``strategy`` minus AUBC of ``baseline``, paired by seed (only the seeds both have).

    ``diff`` is the mean of the per-seed differences, ``[ci_low, ci_high]`` its percentile-bootstrap interval
    (resampling seeds), ``t`` and ``p`` the paired t-test (:func:`paired_t_test`, same degenerate cases).

    Raises
    ------
    ValueError
        On an unknown strategy or when the two share no seed.
    """
    al = align_curves(curves)
    a, b = per_seed_aubc(al, strategy), per_seed_aubc(al, baseline)
    seeds = al.common_seeds(strategy, baseline)
    if not seeds:
        raise ValueError(f"{strategy!r} and {baseline!r} share no seed ({sorted(a)} vs {sorted(b)})")
    d = np.array([a[s] - b[s] for s in seeds])
    lo, hi = bootstrap_ci(d, n_boot=_n_boot(n_boot), alpha=_alpha(alpha), seed=seed)
    res = paired_t_test([a[s] for s in seeds], [b[s] for s in seeds])
    return Difference(diff=float(d.mean()), ci_low=lo, ci_high=hi, t=res.t, p=res.p, n=len(seeds))


# ----------------------------------------------------------------------------- the penalty matrix


@dataclass(frozen=True)
class PenaltyMatrix:
    """Result of :func:`penalty_matrix`.

    Attributes
    ----------
    strategies : list of str
        Row and column order.
    matrix : ndarray, shape (M, M)
        ``matrix[i, j]`` = (rounds at which ``i`` is significantly better than ``j``) / ``n_rounds``;
        in ``[0, 1]``, zero diagonal. ``matrix[i, j] + matrix[j, i] <= 1``.
    wins : ndarray of int, shape (M, M)
        The counts behind ``matrix`` (``matrix = wins / n_rounds``).
    n_rounds : int
        ``L``, the rounds compared.
    rounds : list of int
        Which rounds (indices into the curves; round 0 never).
    seeds : list of int
        Every seed used by some pair.
    n_seeds : ndarray of int, shape (M, M)
        Seeds each pair has in common (a pair with fewer than 2 is never significant).
    alpha : float
    """

    strategies: list[str]
    matrix: np.ndarray
    wins: np.ndarray
    n_rounds: int
    rounds: list[int]
    seeds: list[int]
    n_seeds: np.ndarray
    alpha: float


def _rounds(rounds: Iterable[int] | None, n_rounds: int) -> list[int]:
    if n_rounds < 1:
        raise ValueError(
            "the curves have only round 0 in common; a comparison needs at least one queried round "
            "(round 0 is the shared seed set)"
        )
    if rounds is None:
        return list(range(1, n_rounds + 1))
    out = []
    for r in rounds:
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)):
            raise ValueError(f"rounds must be integers, got {r!r}")
        r = int(r)
        if r == 0:
            raise ValueError(
                "rounds must not include round 0: every strategy trains on the same seeded initial set there, "
                "so it measures no selection"
            )
        if not 1 <= r <= n_rounds:
            raise ValueError(f"round {r} is outside the common rounds 1..{n_rounds}")
        out.append(r)
    if not out:
        raise ValueError(f"rounds is empty; give at least one round in 1..{n_rounds} (or None for all)")
    if len(set(out)) != len(out):
        raise ValueError(f"rounds has duplicates: {out}")
    return sorted(out)


def penalty_matrix(curves_by_strategy: Any, *, alpha: float = 0.05,
                   rounds: Iterable[int] | None = None) -> PenaltyMatrix:
    r"""The pairwise penalty matrix of one dataset (Ash et al., BADGE, ICLR 2020, Sec. 5).

    For every compared round ``r`` (default: ``1 .. L``, every common round after round 0) and every
    pair of strategies ``(i, j)``, a two-sided paired t-test (:func:`paired_t_test`) of their accuracies at
    round ``r`` over the seeds both have. If ``i`` is significantly better (``p < alpha`` and a positive
    mean difference), ``P[i, j]`` gains ``1 / L``:

    .. math:: P_{ij} = \frac{1}{L} \sum_{r} \mathbb{1}\big[p_{ij,r} < \alpha \ \wedge\ \bar d_{ij,r} > 0\big]

    so one dataset adds at most 1 to a cell, and the column sum of ``j`` says how often ``j`` lost.
    Round 0 is left out: every strategy trains on the same seeded initial set there (paired by seed),
    so it measures no selection and would only dilute the counts.

    Parameters
    ----------
    curves_by_strategy : dict or AlignedCurves
        ``{strategy: {seed: (n_labeled, accuracy)}}`` of one dataset (cut to the common rounds by
        :func:`align_curves`).
    alpha : float, default 0.05
        Significance level of each test.
    rounds : iterable of int, optional
        A subset of ``1 .. L`` to compare (BADGE compares the budgets where learning still progresses);
        ``L`` is then its size.

    Returns
    -------
    PenaltyMatrix
    """
    a = _alpha(alpha)
    al = align_curves(curves_by_strategy)
    rs = _rounds(rounds, al.n_rounds)
    names = al.strategies
    m = len(names)
    wins = np.zeros((m, m), dtype=np.int64)
    n_seeds = np.zeros((m, m), dtype=np.int64)
    used: set[int] = set()
    for i, j in combinations(range(m), 2):
        seeds = al.common_seeds(names[i], names[j])
        n_seeds[i, j] = n_seeds[j, i] = len(seeds)
        if not seeds:
            continue
        used |= set(seeds)
        ai, aj = al.matrix(names[i], seeds), al.matrix(names[j], seeds)
        for r in rs:
            sig = _significant(paired_t_test(ai[:, r], aj[:, r]), a)
            if sig > 0:
                wins[i, j] += 1
            elif sig < 0:
                wins[j, i] += 1
    for i in range(m):
        n_seeds[i, i] = len(al.acc[names[i]])
    return PenaltyMatrix(strategies=list(names), matrix=wins / float(len(rs)), wins=wins, n_rounds=len(rs),
                         rounds=rs, seeds=sorted(used), n_seeds=n_seeds, alpha=a)


@dataclass(frozen=True)
class PenaltySum:
    """Penalty matrices summed over datasets (:func:`sum_penalty_matrices`).

    ``matrix[i, j]`` is the sum over datasets of ``P[i, j]``; ``n_datasets[i, j]`` the datasets where both
    ``i`` and ``j`` ran, the largest value the cell can take.
    """

    strategies: list[str]
    matrix: np.ndarray
    n_datasets: np.ndarray


def sum_penalty_matrices(matrices: Mapping[str, PenaltyMatrix] | Sequence[PenaltyMatrix]) -> PenaltySum:
    """Sum penalty matrices of several datasets, cell by strategy name (a missing strategy adds 0).

    Strategies are ordered by first appearance.
    """
    mats = list(matrices.values()) if isinstance(matrices, Mapping) else list(matrices)
    if not mats:
        raise ValueError("sum_penalty_matrices needs at least one penalty matrix")
    names: list[str] = []
    for pm in mats:
        if not isinstance(pm, PenaltyMatrix):
            raise ValueError(f"expected PenaltyMatrix objects, got {type(pm).__name__}")
        names += [s for s in pm.strategies if s not in names]
    pos = {s: k for k, s in enumerate(names)}
    total = np.zeros((len(names), len(names)))
    count = np.zeros((len(names), len(names)), dtype=np.int64)
    for pm in mats:
        idx = np.array([pos[s] for s in pm.strategies])
        total[np.ix_(idx, idx)] += pm.matrix
        count[np.ix_(idx, idx)] += 1
    np.fill_diagonal(count, 0)
    return PenaltySum(strategies=names, matrix=total, n_datasets=count)


def round_win_tie_loss(pm: PenaltyMatrix) -> dict[str, dict[str, dict[str, int]]]:
    """Win / tie / loss of every ordered pair over the compared rounds, from the penalty matrix's tests.

    ``out[i][j] = {"win": rounds i significantly better, "loss": rounds j significantly better,
    "tie": the rest}``; ``win + tie + loss = n_rounds``. (Unlike :func:`alkit.metrics.win_tie_loss`,
    which compares mean AUBCs against a margin, this counts significant tests, round by round.)
    """
    out: dict[str, dict[str, dict[str, int]]] = {}
    for i, si in enumerate(pm.strategies):
        out[si] = {}
        for j, sj in enumerate(pm.strategies):
            if i != j:
                w, loss = int(pm.wins[i, j]), int(pm.wins[j, i])
                out[si][sj] = {"win": w, "tie": pm.n_rounds - w - loss, "loss": loss}
    return out


# ----------------------------------------------------------------------------- ranking


def competition_ranks(scores: Mapping[str, float]) -> dict[str, int]:
    """Standard competition ranks, higher score first: equal scores share a rank ("1, 2, 2, 4").

    >>> competition_ranks({"a": 3, "b": 1, "c": 1, "d": 0})
    {'a': 1, 'b': 2, 'c': 2, 'd': 4}
    """
    vals = {str(k): float(v) for k, v in scores.items()}
    if any(math.isnan(v) for v in vals.values()):
        raise ValueError("scores must not be NaN")
    return {k: 1 + sum(1 for o in vals.values() if o > v) for k, v in vals.items()}


@dataclass(frozen=True)
class RankEntry:
    """One row of :func:`aubc_ranking`: ``score = wins - losses`` over the other strategies."""

    strategy: str
    rank: int
    score: int
    wins: int
    losses: int


def aubc_ranking(curves: Any, *, alpha: float = 0.05) -> list[RankEntry]:
    """Rank strategies by significant AUBC wins minus losses over pairs; ties share a rank.

    For every pair, a paired t-test on per-seed AUBC (over the seeds both have); a significant difference
    (``p < alpha``) is a win for the larger mean and a loss for the other. ``score = wins - losses``;
    ranks are :func:`competition_ranks` of the scores, so strategies no test tells apart share a rank.
    Rows are sorted by rank, then name.
    """
    a = _alpha(alpha)
    al = align_curves(curves)
    au = {st: per_seed_aubc(al, st) for st in al.strategies}
    wins = dict.fromkeys(al.strategies, 0)
    losses = dict.fromkeys(al.strategies, 0)
    for si, sj in combinations(al.strategies, 2):
        seeds = al.common_seeds(si, sj)
        if not seeds:
            continue
        sig = _significant(paired_t_test([au[si][s] for s in seeds], [au[sj][s] for s in seeds]), a)
        if sig:
            w, lo = (si, sj) if sig > 0 else (sj, si)
            wins[w] += 1
            losses[lo] += 1
    score = {st: wins[st] - losses[st] for st in al.strategies}
    ranks = competition_ranks(score)
    rows = [RankEntry(st, ranks[st], score[st], wins[st], losses[st]) for st in al.strategies]
    return sorted(rows, key=lambda r: (r.rank, r.strategy))


# ----------------------------------------------------------------------------- labels saved


@dataclass(frozen=True)
class LabelsSavedCI:
    """Result of :func:`labels_saved_ci`; ``None`` stands for "not reached", never a made-up number.

    Attributes
    ----------
    target : float
        Accuracy to reach.
    n_strategy, n_baseline : float or None
        Labels each mean curve needs to reach ``target`` (linear interpolation); ``None``: not reached.
    saved : float or None
        ``n_baseline - n_strategy`` (positive: the strategy needs fewer labels); ``None`` unless both reach.
    ci_low, ci_high : float or None
        Percentile-bootstrap interval of ``saved`` over resampled seeds; ``None`` when more than
        ``alpha`` of the resamples have a curve that does not reach the target.
    reached_share : float
        Share of the bootstrap resamples in which both mean curves reach the target.
    n : int
        Seeds both have.
    """

    target: float
    n_strategy: float | None
    n_baseline: float | None
    saved: float | None
    ci_low: float | None
    ci_high: float | None
    reached_share: float
    n: int


def _first_crossing(n: np.ndarray, curves: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Row-wise :func:`alkit.metrics.labels_to_reach` (``nan`` where a row never reaches its target)."""
    hit = curves >= target[:, None]
    reached = hit.any(axis=1)
    r = hit.argmax(axis=1)
    rows = np.arange(curves.shape[0])
    prev = np.maximum(r - 1, 0)
    a0, a1 = curves[rows, prev], curves[rows, r]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(r > 0, (target - a0) / np.where(r > 0, a1 - a0, 1.0), 0.0)
    out = n[prev] + frac * (n[r] - n[prev])
    out = np.where(r == 0, n[0], out)
    return np.where(reached, out, np.nan)


def labels_saved_ci(curves: Any, strategy: str, baseline: str, *, target: float | None = None,
                    n_boot: int = 10000, alpha: float = 0.05, seed: int = 0) -> LabelsSavedCI:
    r"""Labels ``strategy`` saves over ``baseline`` to reach a target accuracy, with a bootstrap interval.

    Both mean curves (over the seeds both have) are interpolated linearly between rounds, and the first
    crossing of the target is read off (:func:`alkit.metrics.labels_to_reach`):
    ``saved = n*_baseline - n*_strategy``.

    The target defaults to the baseline's mean final accuracy (the labels the strategy needs to match what
    the baseline has at the end). The interval resamples seeds (the same seeds for both: they are paired),
    ``n_boot`` times, seeded; with the default target the target is recomputed in each resample (it is
    defined by the baseline's curve), an explicit target stays fixed. A resample where a mean curve does
    not reach the target has no ``saved``; if more than ``alpha`` of them have none, the interval is
    ``None``, otherwise it is the percentile interval of the resamples that have one.

    Raises
    ------
    ValueError
        On an unknown strategy, no common seed, or fewer than 2 common rounds.
    """
    a = _alpha(alpha)
    b = _n_boot(n_boot)
    al = align_curves(curves)
    _known(al, strategy)
    _known(al, baseline)
    if al.n_rounds < 1:
        raise ValueError("labels saved needs at least 2 rounds in common (round 0 and one more), got 1")
    seeds = al.common_seeds(strategy, baseline)
    if not seeds:
        raise ValueError(f"{strategy!r} and {baseline!r} share no seed")
    if target is not None and not math.isfinite(float(target)):
        raise ValueError(f"target must be a finite accuracy, got {target!r}")
    sm, bm = al.matrix(strategy, seeds), al.matrix(baseline, seeds)
    tgt = float(bm[:, -1].mean()) if target is None else float(target)
    ns = labels_to_reach(al.budgets, sm.mean(0), tgt)
    nb = labels_to_reach(al.budgets, bm.mean(0), tgt)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(seeds), size=(b, len(seeds)))
    s_mean, b_mean = sm[idx].mean(axis=1), bm[idx].mean(axis=1)
    t_boot = b_mean[:, -1] if target is None else np.full(b, tgt)
    saved_boot = _first_crossing(al.budgets, b_mean, t_boot) - _first_crossing(al.budgets, s_mean, t_boot)
    ok = np.isfinite(saved_boot)
    share = float(ok.mean())
    lo = hi = None
    if share >= 1.0 - a:
        q_lo, q_hi = np.quantile(saved_boot[ok], [a / 2.0, 1.0 - a / 2.0])
        lo, hi = float(q_lo), float(q_hi)

    def opt(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    saved = nb - ns if math.isfinite(ns) and math.isfinite(nb) else math.nan
    return LabelsSavedCI(target=tgt, n_strategy=opt(ns), n_baseline=opt(nb), saved=opt(saved), ci_low=lo,
                         ci_high=hi, reached_share=share, n=len(seeds))


# ----------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    """Result of :func:`verdict`: the word and the numbers it rests on (AUBC difference vs the baseline)."""

    verdict: str
    diff: float
    ci_low: float
    ci_high: float
    p: float
    t: float
    n: int


def verdict(curves: Any, strategy: str, baseline: str = "random", *, alpha: float = 0.05, n_boot: int = 10000,
            seed: int = 0) -> Verdict:
    """Is ``strategy`` significantly better than ``baseline``, no different, or worse?

    A two-sided paired t-test on per-seed AUBC over the seeds both have (:func:`aubc_difference`):
    ``"better"`` if ``p < alpha`` and the mean difference is positive, ``"worse"`` if ``p < alpha`` and it is
    negative, ``"no different"`` otherwise, which includes a single common seed (``p`` is ``nan``: no test
    is possible, and no difference is shown). ``diff``, ``ci_low``, ``ci_high`` are the mean AUBC
    difference and its bootstrap interval.
    """
    d = aubc_difference(curves, strategy, baseline, n_boot=n_boot, alpha=alpha, seed=seed)
    sig = _significant(PairedT(d.t, d.p, d.diff), _alpha(alpha))
    word = "better" if sig > 0 else ("worse" if sig < 0 else "no different")
    return Verdict(verdict=word, diff=d.diff, ci_low=d.ci_low, ci_high=d.ci_high, p=d.p, t=d.t, n=d.n)


def verdicts(curves: Any, baseline: str = "random", *, alpha: float = 0.05, n_boot: int = 10000,
             seed: int = 0) -> dict[str, Verdict]:
    """:func:`verdict` of every strategy but the baseline (which must have curves)."""
    al = align_curves(curves)
    _known(al, baseline)
    return {st: verdict(al, st, baseline, alpha=alpha, n_boot=n_boot, seed=seed)
            for st in al.strategies if st != baseline}
