"""Evaluation metrics for active-learning experiments.

All functions are pure: they take plain sequences, numpy arrays or torch tensors
and return Python floats, lists, dicts or small frozen dataclasses. Bad input
raises :class:`ValueError` with a message naming the argument and the problem.

Notation: a learning curve is a pair ``(n, a)`` of budgets ``n_0 < n_1 < ... < n_R``
(number of labelled examples) and test accuracies ``a_0, ..., a_R`` after
training on that many labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "accuracy",
    "per_class_accuracy",
    "aubc",
    "f_acc",
    "win_tie_loss",
    "WinTieLoss",
    "labels_to_reach",
    "labels_saved",
    "LabelsSaved",
    "bootstrap_ci",
    "summarize_runs",
    "RunSummary",
]


# ----------------------------------------------------------------------------- helpers


def _to_numpy(x: Any, name: str) -> np.ndarray:
    """Convert a tensor / array / sequence to a numpy array (tensors are detached and moved to CPU)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} could not be converted to an array: {err}") from err


def _vector(x: Any, name: str, *, min_len: int = 1, finite: bool = True) -> np.ndarray:
    """A 1-D float array with at least ``min_len`` finite entries."""
    arr = _to_numpy(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(arr.shape)}")
    if arr.shape[0] < min_len:
        raise ValueError(f"{name} must have at least {min_len} value(s), got {arr.shape[0]}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    return arr


def _labels(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``(pred, target)``; ``pred`` may be labels ``(N,)`` or scores ``(N, K)`` (argmax is taken)."""
    p = _to_numpy(pred, "pred")
    t = _to_numpy(target, "target")
    if t.ndim != 1:
        raise ValueError(f"target must be 1-D class labels, got shape {tuple(t.shape)}")
    if p.ndim == 2:
        if p.shape[1] == 0:
            raise ValueError("pred scores have zero columns")
        p = p.argmax(axis=1)
    elif p.ndim != 1:
        raise ValueError(f"pred must be labels (N,) or scores (N, K), got shape {tuple(p.shape)}")
    if p.shape[0] != t.shape[0]:
        raise ValueError(f"pred and target have different lengths: {p.shape[0]} vs {t.shape[0]}")
    if t.shape[0] == 0:
        raise ValueError("pred and target are empty; accuracy of zero examples is undefined")
    for name, arr in (("pred", p), ("target", t)):
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.issubdtype(arr.dtype, np.floating) or not np.all(arr == np.round(arr)):
                raise ValueError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    return p.astype(np.int64), t.astype(np.int64)


def _curve(n_labeled: Any, acc: Any, what: str = "curve") -> tuple[np.ndarray, np.ndarray]:
    """Validate a learning curve: equal lengths, >= 2 points, strictly increasing budgets, finite values."""
    n = _vector(n_labeled, f"{what}: n_labeled")
    a = _vector(acc, f"{what}: acc")
    if n.shape[0] != a.shape[0]:
        raise ValueError(f"{what}: n_labeled and acc have different lengths: {n.shape[0]} vs {a.shape[0]}")
    if n.shape[0] < 2:
        raise ValueError(
            f"{what}: needs at least 2 points (the area over a single budget is undefined); "
            "use f_acc for a single accuracy"
        )
    steps = np.diff(n)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise ValueError(
            f"{what}: n_labeled must be strictly increasing, but n[{i}]={n[i]:g} >= n[{i + 1}]={n[i + 1]:g}"
        )
    return n, a


# ----------------------------------------------------------------------------- accuracy


def accuracy(pred: Any, target: Any) -> float:
    r"""Fraction of correct predictions.

    .. math:: \mathrm{acc} = \frac{1}{N} \sum_{i=1}^{N} [\hat y_i = y_i]

    Parameters
    ----------
    pred : array-like or Tensor, shape (N,) or (N, K)
        Predicted labels, or class scores / logits / probabilities (then the
        arg-max over the last axis is the prediction).
    target : array-like or Tensor, shape (N,)
        True labels.

    Returns
    -------
    float
        Accuracy in ``[0, 1]``.

    Raises
    ------
    ValueError
        On empty input, mismatched lengths or non-integer labels.
    """
    p, t = _labels(pred, target)
    return float(np.mean(p == t))


def per_class_accuracy(pred: Any, target: Any, num_classes: int) -> list[float]:
    r"""Accuracy within each true class (the recall of each class).

    .. math:: \mathrm{acc}_k = \frac{|\{i : y_i = k,\ \hat y_i = k\}|}{|\{i : y_i = k\}|}

    Parameters
    ----------
    pred : array-like or Tensor, shape (N,) or (N, K)
        Predicted labels or class scores (arg-max is taken).
    target : array-like or Tensor, shape (N,)
        True labels in ``0 .. num_classes - 1``.
    num_classes : int
        Number of classes ``K``.

    Returns
    -------
    list of float
        ``K`` values; ``nan`` for a class that does not occur in ``target``.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    p, t = _labels(pred, target)
    for name, arr in (("pred", p), ("target", t)):
        if arr.min() < 0 or arr.max() >= num_classes:
            raise ValueError(f"{name} has labels outside 0..{num_classes - 1} (min {arr.min()}, max {arr.max()})")
    out: list[float] = []
    for k in range(int(num_classes)):
        mask = t == k
        out.append(float(np.mean(p[mask] == k)) if mask.any() else math.nan)
    return out


# ----------------------------------------------------------------------------- curves


def aubc(n_labeled: Any, acc: Any) -> float:
    r"""Area under the budget curve (AUBC), with the budget axis rescaled to ``[0, 1]``.

    The trapezoidal rule over the actual budgets, divided by the budget range:

    .. math::

        \mathrm{AUBC} = \frac{1}{n_R - n_0} \sum_{r=1}^{R} (n_r - n_{r-1}) \, \frac{a_{r-1} + a_r}{2}

    With equal steps this is :math:`(\tfrac12 a_0 + a_1 + \dots + a_{R-1} + \tfrac12 a_R) / R`.
    A constant curve ``c`` has AUBC ``c``; a straight line from ``a_0`` to
    ``a_R`` has AUBC ``(a_0 + a_R) / 2``. The result is in the units of
    ``acc`` (pass fractions to get a value in ``[0, 1]``, percentages to get percent).

    Parameters
    ----------
    n_labeled : array-like, shape (R + 1,)
        Strictly increasing budgets.
    acc : array-like, shape (R + 1,)
        Accuracy at each budget.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On mismatched lengths, fewer than 2 points (decision: a single point has
        no area, so we raise rather than silently return it; use :func:`f_acc`),
        non-increasing budgets, or NaN / inf values.
    """
    n, a = _curve(n_labeled, acc, "aubc")
    area = float(np.sum(np.diff(n) * (a[:-1] + a[1:]) / 2.0))
    return area / float(n[-1] - n[0])


def f_acc(acc: Any) -> float:
    """Final accuracy ``a_R``: the last value of a learning curve.

    Parameters
    ----------
    acc : array-like, shape (R + 1,)

    Returns
    -------
    float
    """
    return float(_vector(acc, "acc")[-1])


def labels_to_reach(n_labeled: Any, acc: Any, target_acc: float) -> float:
    r"""Budget at which a curve first reaches ``target_acc``, linearly interpolated.

    If ``a_0 >= target`` the answer is ``n_0``. Otherwise, with ``r`` the first
    index where ``a_r >= target``:

    .. math:: n^* = n_{r-1} + \frac{\mathrm{target} - a_{r-1}}{a_r - a_{r-1}} (n_r - n_{r-1})

    Returns ``nan`` when the curve never reaches the target.
    """
    n, a = _curve(n_labeled, acc, "labels_to_reach")
    target = float(target_acc)
    if not math.isfinite(target):
        raise ValueError(f"target_acc must be finite, got {target_acc!r}")
    hits = np.nonzero(a >= target)[0]
    if hits.size == 0:
        return math.nan
    r = int(hits[0])
    if r == 0:
        return float(n[0])
    frac = (target - a[r - 1]) / (a[r] - a[r - 1])  # a[r-1] < target <= a[r], so the denominator is > 0
    return float(n[r - 1] + frac * (n[r] - n[r - 1]))


@dataclass(frozen=True)
class LabelsSaved:
    """Result of :func:`labels_saved`.

    Attributes
    ----------
    n_method : float
        Labels the method needs to reach the target (``nan`` if never).
    n_random : float
        Labels random sampling needs (``nan`` if never).
    saved : float
        ``n_random - n_method`` (positive: the method saves labels); ``nan`` unless both reach the target.
    """

    n_method: float
    n_random: float
    saved: float


def labels_saved(curve: tuple[Any, Any], random_curve: tuple[Any, Any], target_acc: float) -> LabelsSaved:
    r"""How many labels a method saves over random sampling to reach ``target_acc``.

    .. math:: \mathrm{saved} = n^*_{\mathrm{random}} - n^*_{\mathrm{method}}

    where :math:`n^*` is :func:`labels_to_reach` (first crossing, linear
    interpolation between measured points).

    Parameters
    ----------
    curve, random_curve : (n_labeled, acc)
        Learning curves of the method and of random sampling.
    target_acc : float
        Accuracy to reach, in the units of ``acc``.

    Returns
    -------
    LabelsSaved
        ``saved`` is ``nan`` when either curve never reaches the target (the
        saving is then unknown, not zero).
    """
    n_m = labels_to_reach(*_pair(curve, "curve"), target_acc)
    n_r = labels_to_reach(*_pair(random_curve, "random_curve"), target_acc)
    saved = n_r - n_m if math.isfinite(n_m) and math.isfinite(n_r) else math.nan
    return LabelsSaved(n_method=n_m, n_random=n_r, saved=saved)


def _is_bare_curve(first: Any) -> bool:
    """True when ``first`` looks like a budget vector (numbers), not a ``(n_labeled, acc)`` pair."""
    try:
        return np.ndim(first[0]) == 0
    except (TypeError, IndexError, ValueError):
        return False


def _pair(curve: Any, name: str) -> tuple[Any, Any]:
    try:
        n, a = curve
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a pair (n_labeled, acc)") from err
    return n, a


# ----------------------------------------------------------------------------- comparisons


@dataclass(frozen=True)
class WinTieLoss:
    """Result of :func:`win_tie_loss`.

    Attributes
    ----------
    counts : dict
        ``{method: {"win": w, "tie": t, "loss": l}}`` summed over datasets and opponents.
    net : dict
        ``{method: wins - losses}``.
    ranking : list of str
        Methods sorted by ``net`` (descending), then by wins (descending), then by name.
    """

    counts: dict[str, dict[str, int]]
    net: dict[str, int]
    ranking: list[str]


def win_tie_loss(
    scores: Mapping[str, Any],
    margin: float = 0.005,
) -> WinTieLoss:
    r"""Pairwise win / tie / loss counts of methods by mean AUBC.

    For every dataset ``d`` and every ordered pair of methods ``(m, o)``, both
    present in ``d``, let :math:`\Delta = \overline{\mathrm{AUBC}}_{m,d} - \overline{\mathrm{AUBC}}_{o,d}`
    (means over the seeds). Then ``m`` scores a

    * **win** if :math:`\Delta > \mathrm{margin}`,
    * **loss** if :math:`\Delta < -\mathrm{margin}`,
    * **tie** otherwise (:math:`|\Delta| \le \mathrm{margin}`; a difference equal to
      the margin up to floating-point rounding, 1e-12, counts as a tie).

    Counts are summed over opponents and datasets, so with ``M`` methods on
    ``D`` datasets each method has ``(M - 1) * D`` comparisons.

    The ranking rule, ``wins - losses`` then wins then name, is alkit's choice
    (a simple, transparent summary); it is not a statistical test.

    Parameters
    ----------
    scores : dict
        Either one dataset, ``{method: aubc or [aubc per seed]}``, or several,
        ``{dataset: {method: aubc or [aubc per seed]}}``.
    margin : float, default 0.005
        Half-width of the tie band, in AUBC units (0.005 = half a percentage
        point for AUBCs in ``[0, 1]``).

    Returns
    -------
    WinTieLoss
    """
    m_val = float(margin)
    if not math.isfinite(m_val) or m_val < 0:
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
    if not isinstance(scores, Mapping) or len(scores) == 0:
        raise ValueError("scores must be a non-empty dict {method: aubcs} or {dataset: {method: aubcs}}")
    nested = [isinstance(v, Mapping) for v in scores.values()]
    if all(nested):
        datasets: dict[str, Mapping[str, Any]] = {str(k): v for k, v in scores.items()}
    elif not any(nested):
        datasets = {"": scores}
    else:
        raise ValueError("scores mixes the two forms: either all values are dicts (datasets) or none is")

    means: dict[str, dict[str, float]] = {}
    methods: list[str] = []
    for ds, table in datasets.items():
        where = f" in dataset {ds!r}" if ds else ""
        means[ds] = {}
        for method, vals in table.items():
            arr = _vector(np.atleast_1d(_to_numpy(vals, "scores")), f"scores for method {method!r}{where}")
            means[ds][str(method)] = float(arr.mean())
            if str(method) not in methods:
                methods.append(str(method))
    if len(methods) < 2:
        raise ValueError(f"win_tie_loss needs at least 2 methods, got {methods}")

    tol = 1e-12
    counts = {m: {"win": 0, "tie": 0, "loss": 0} for m in methods}
    for table in means.values():
        for m, vm in table.items():
            for o, vo in table.items():
                if o == m:
                    continue
                diff = vm - vo
                if diff > m_val + tol:
                    counts[m]["win"] += 1
                elif diff < -m_val - tol:
                    counts[m]["loss"] += 1
                else:
                    counts[m]["tie"] += 1
    net = {m: c["win"] - c["loss"] for m, c in counts.items()}
    ranking = sorted(methods, key=lambda m: (-net[m], -counts[m]["win"], m))
    return WinTieLoss(counts=counts, net=net, ranking=ranking)


# ----------------------------------------------------------------------------- uncertainty over seeds


def bootstrap_ci(
    values: Any,
    n_boot: int = 10000,
    alpha: float = 0.05,
    seed: int = 0,
    stat: Callable[..., Any] = np.mean,
) -> tuple[float, float]:
    r"""Percentile-bootstrap confidence interval of a statistic over seeds.

    Draw ``n_boot`` resamples of the ``n`` values with replacement (a seeded
    ``numpy.random.Generator``), compute ``stat`` on each, and return the
    :math:`\alpha/2` and :math:`1 - \alpha/2` empirical quantiles:

    .. math:: \mathrm{CI}_{1-\alpha} = \big[\,q_{\alpha/2}(\theta^*_1..\theta^*_B),\ q_{1-\alpha/2}(\theta^*_1..\theta^*_B)\,\big]

    With very few seeds (say 3) the interval is optimistic; it reflects only
    the spread of the observed values.

    Parameters
    ----------
    values : array-like, shape (n,)
        One number per seed (e.g. AUBCs).
    n_boot : int, default 10000
        Number of resamples ``B``.
    alpha : float, default 0.05
        ``1 - alpha`` is the nominal coverage.
    seed : int, default 0
        Seed of the generator; the same seed gives the same interval.
    stat : callable, default numpy.mean
        Statistic of a 1-D sample. If it accepts ``axis=`` (numpy reductions
        do) all resamples are evaluated at once; otherwise one by one.

    Returns
    -------
    (low, high) : tuple of float
    """
    x = _vector(values, "values")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.shape[0], size=(int(n_boot), x.shape[0]))
    samples = x[idx]
    thetas: np.ndarray | None = None
    try:
        out = np.asarray(stat(samples, axis=1), dtype=np.float64)
        if out.shape == (int(n_boot),):
            thetas = out
    except TypeError:
        thetas = None
    if thetas is None:
        thetas = np.array([float(stat(s)) for s in samples])
    low, high = np.quantile(thetas, [a / 2.0, 1.0 - a / 2.0])
    return float(low), float(high)


@dataclass(frozen=True)
class RunSummary:
    """Result of :func:`summarize_runs`.

    Attributes
    ----------
    n_labeled : ndarray, shape (R + 1,)
        The common budget grid.
    mean, std : ndarray, shape (R + 1,)
        Accuracy mean and standard deviation over runs at each budget.
    aubcs : ndarray, shape (n_runs,)
        AUBC of every run.
    aubc_mean, aubc_std : float
        Mean and standard deviation of ``aubcs``.
    final_mean, final_std : float
        Mean and standard deviation of the final accuracies.
    n_runs : int
    """

    n_labeled: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    aubcs: np.ndarray
    aubc_mean: float
    aubc_std: float
    final_mean: float
    final_std: float
    n_runs: int


def summarize_runs(curves: Sequence[tuple[Any, Any]], ddof: int = 1) -> RunSummary:
    r"""Mean and spread of several runs (seeds) of one method on one dataset.

    Per budget :math:`n_r`: :math:`\bar a_r = \frac1S \sum_s a_{s,r}` and
    :math:`\mathrm{sd}_r = \sqrt{\frac{1}{S - \mathrm{ddof}} \sum_s (a_{s,r} - \bar a_r)^2}`;
    the same for the per-run AUBCs and final accuracies.

    Parameters
    ----------
    curves : sequence of (n_labeled, acc)
        One learning curve per run; all must use the same budgets.
    ddof : int, default 1
        Delta degrees of freedom of the standard deviation (1: sample standard
        deviation). With a single run every standard deviation is reported as 0.

    Returns
    -------
    RunSummary
    """
    curves = list(curves)
    if curves and _is_bare_curve(curves[0]):
        raise ValueError("curves must be a list of (n_labeled, acc) pairs; wrap a single curve as [(n, acc)]")
    if not curves:
        raise ValueError("curves is empty; need at least one (n_labeled, acc) run")
    grid = None
    accs = []
    for i, c in enumerate(curves):
        n, a = _curve(*_pair(c, f"curves[{i}]"), f"curves[{i}]")
        if grid is None:
            grid = n
        elif n.shape != grid.shape or not np.allclose(n, grid):
            raise ValueError(
                f"curves[{i}] has budgets {n.tolist()} but curves[0] has {grid.tolist()}; all runs must share budgets"
            )
        accs.append(a)
    assert grid is not None
    A = np.stack(accs)
    S = A.shape[0]
    aubcs = np.array([aubc(grid, a) for a in A])

    def sd(x: np.ndarray, axis: int | None = None) -> Any:
        if S <= ddof:
            return np.zeros_like(x.mean(axis=axis))
        return x.std(axis=axis, ddof=ddof)

    return RunSummary(
        n_labeled=grid.copy(),
        mean=A.mean(axis=0),
        std=np.asarray(sd(A, 0)),
        aubcs=aubcs,
        aubc_mean=float(aubcs.mean()),
        aubc_std=float(sd(aubcs)),
        final_mean=float(A[:, -1].mean()),
        final_std=float(sd(A[:, -1])),
        n_runs=S,
    )
