r"""WAAL's 1-D toy example: H-divergence of threshold classifiers against Wasserstein-1 (reference §5.1).

The data distribution is :math:`\mathcal D = \mathcal U[0, 1]`; two query distributions of equal total
support length :math:`w` start at the same point :math:`a`:

.. math::

    \mathcal Q_1 = \mathcal U[a, a + w], \qquad
    \mathcal Q_2 = \mathcal U\big([a, a + \tfrac w2] \cup [c, c + \tfrac w2]\big),
    \quad a + \tfrac w2 \le c \le 1 - \tfrac w2 .

Every distribution here is uniform on a finite union of disjoint intervals (:class:`UniformUnion`), so
its CDF is piecewise linear and every quantity has an exact value:

* the **one-sided** threshold divergence (classifier :math:`h_t(x) = \mathbf 1[x \ge t]` means "x comes
  from Q", equal priors): mis-classified mass :math:`A(t) = 1 - F_{\mathcal D}(t) + F_{\mathcal Q}(t)`,
  optimal balanced error :math:`\varepsilon^\star = \tfrac12 \min_t A(t)`,
  :math:`d = 2(1 - 2\varepsilon^\star) = 2 \sup_t (F_{\mathcal D}(t) - F_{\mathcal Q}(t))`;
* **Ben-David's** divergence :math:`2 \sup_h |P_{\mathcal D}(h=1) - P_{\mathcal Q}(h=1)|`, which for
  thresholds is twice the Kolmogorov-Smirnov distance;
* :math:`W_1 = \int |F_{\mathcal D} - F_{\mathcal Q}|\,dx`.

Three independent routes are provided and agree to :math:`10^{-5}`: the closed forms of the two-query
family (``*_closed_form``), exact piecewise-linear evaluation for any two :class:`UniformUnion`
(:func:`one_sided_divergence`, :func:`ks_divergence`, :func:`wasserstein1`), and brute force
(:func:`threshold_search`, :func:`w1_quadrature`, :func:`w1_scipy`).

References
----------
Shui et al., *Deep Active Learning: Unified and Principled Method for Query and Training*, AISTATS
2020 ([WAAL]) §2.3, Fig. 2, Eq. 3 and App. C (the original numbers are lost; this is the reconstruction
of reference §5.1); Ben-David et al., *A theory of learning from different domains*, Machine Learning
2010.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "INSTANCES",
    "ToyInstance",
    "UniformUnion",
    "data_distribution",
    "ks_divergence",
    "ks_divergence_q1_closed_form",
    "ks_divergence_q2_closed_form",
    "one_sided_divergence",
    "one_sided_divergence_q1_closed_form",
    "one_sided_divergence_q2_closed_form",
    "query_one_interval",
    "query_two_intervals",
    "sample_divergences",
    "shift_sweep",
    "threshold_error",
    "threshold_search",
    "w1_q1_closed_form",
    "w1_q2_closed_form",
    "w1_quadrature",
    "w1_scipy",
    "wasserstein1",
]


# --------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UniformUnion:
    """The uniform distribution on a union of disjoint closed intervals (one constant density).

    Parameters
    ----------
    intervals : sequence of (lo, hi)
        Disjoint intervals with ``lo < hi``, in increasing order (touching ends are allowed).
    """

    intervals: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        ivs = tuple((float(lo), float(hi)) for lo, hi in self.intervals)
        if not ivs:
            raise ValueError("a UniformUnion needs at least one interval")
        for lo, hi in ivs:
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"interval ({lo}, {hi}) must be finite with lo < hi")
        for (_, hi), (lo, _) in zip(ivs, ivs[1:]):
            if lo < hi:
                raise ValueError(f"intervals must be disjoint and increasing, got {ivs}")
        object.__setattr__(self, "intervals", ivs)

    @property
    def length(self) -> float:
        """Total length of the support (the density is ``1 / length`` on it)."""
        return sum(hi - lo for lo, hi in self.intervals)

    @property
    def support(self) -> tuple[float, float]:
        """Smallest and largest point of the support."""
        return self.intervals[0][0], self.intervals[-1][1]

    def breakpoints(self) -> np.ndarray:
        """Sorted interval ends: the CDF is linear between consecutive breakpoints. Shape (2k,)."""
        return np.unique(np.asarray(self.intervals, dtype=float).ravel())

    def pdf(self, x: np.ndarray | float) -> np.ndarray:
        """Density at ``x`` (any shape), ``1/length`` inside the support and 0 outside."""
        x = np.asarray(x, dtype=float)
        inside = np.zeros(x.shape, dtype=bool)
        for lo, hi in self.intervals:
            inside |= (x >= lo) & (x <= hi)
        return inside / self.length

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """:math:`F(x) = P(X \\le x)` (any shape)."""
        x = np.asarray(x, dtype=float)
        covered = np.zeros(x.shape)
        for lo, hi in self.intervals:
            covered += np.clip(x - lo, 0.0, hi - lo)
        return covered / self.length

    def quantile(self, u: np.ndarray | float) -> np.ndarray:
        """Inverse CDF :math:`F^{-1}(u)` for ``u`` in [0, 1] (any shape); left-continuous at the gaps."""
        u = np.asarray(u, dtype=float)
        if np.any((u < 0) | (u > 1)):
            raise ValueError("quantile levels must lie in [0, 1]")
        s = u * self.length  # how much support length lies to the left
        out = np.full(u.shape, self.intervals[-1][1])
        done = np.zeros(u.shape, dtype=bool)
        left = 0.0
        for lo, hi in self.intervals:
            here = ~done & (s <= left + (hi - lo))
            out[here] = lo + (s[here] - left)
            done |= here
            left += hi - lo
        return out

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` i.i.d. points (shape (n,)) by inverse-CDF sampling with a numpy generator."""
        return self.quantile(rng.uniform(size=int(n)))

    def shifted(self, s: float) -> UniformUnion:
        """The same distribution translated by ``s``."""
        return UniformUnion(tuple((lo + s, hi + s) for lo, hi in self.intervals))

    def __str__(self) -> str:
        parts = " u ".join(f"[{lo:g}, {hi:g}]" for lo, hi in self.intervals)
        return f"U({parts})" if len(self.intervals) > 1 else f"U{parts}"


def data_distribution() -> UniformUnion:
    """The data distribution of the toy, :math:`\\mathcal D = \\mathcal U[0, 1]`."""
    return UniformUnion(((0.0, 1.0),))


def _check_family(a: float, w: float, c: float | None = None) -> None:
    if not (0.0 <= a and w > 0 and a + w <= 1.0 + 1e-12):
        raise ValueError(f"need 0 <= a, w > 0 and a + w <= 1, got a={a}, w={w}")
    if c is not None and not (a + w / 2 - 1e-12 <= c <= 1.0 - w / 2 + 1e-12):
        raise ValueError(f"need a + w/2 <= c <= 1 - w/2, got a={a}, w={w}, c={c}")


def query_one_interval(a: float, w: float) -> UniformUnion:
    r""":math:`\mathcal Q_1 = \mathcal U[a, a + w]` (one interval inside the data support)."""
    _check_family(a, w)
    return UniformUnion(((a, a + w),))


def query_two_intervals(a: float, w: float, c: float) -> UniformUnion:
    r""":math:`\mathcal Q_2 = \mathcal U([a, a + w/2] \cup [c, c + w/2])` (the same length, split in two)."""
    _check_family(a, w, c)
    if c <= a + w / 2:  # the halves touch: one interval
        return UniformUnion(((a, a + w),))
    return UniformUnion(((a, a + w / 2), (c, c + w / 2)))


@dataclass(frozen=True)
class ToyInstance:
    """One parameter choice ``(a, w, c)`` of the two-query family."""

    a: float
    w: float
    c: float

    @property
    def q1(self) -> UniformUnion:
        return query_one_interval(self.a, self.w)

    @property
    def q2(self) -> UniformUnion:
        return query_two_intervals(self.a, self.w, self.c)

    def closed_forms(self) -> dict[str, float]:
        """Every closed form of §5.1 for this instance (keys ``{one_sided,ks,w1}_{q1,q2}``)."""
        a, w, c = self.a, self.w, self.c
        return {
            "one_sided_q1": one_sided_divergence_q1_closed_form(a, w),
            "one_sided_q2": one_sided_divergence_q2_closed_form(a, w, c),
            "ks_q1": ks_divergence_q1_closed_form(a, w),
            "ks_q2": ks_divergence_q2_closed_form(a, w, c),
            "w1_q1": w1_q1_closed_form(a, w),
            "w1_q2": w1_q2_closed_form(a, w, c),
        }


INSTANCES: dict[str, ToyInstance] = {
    "A": ToyInstance(a=0.1, w=0.4, c=0.6),
    "B": ToyInstance(a=0.4, w=0.2, c=0.7),
}
"""The two verified instances of reference §5.1: A follows the appendix's case structure (equal one-sided
divergence only), B is robust (equal under both divergence definitions)."""


# --------------------------------------------------------------------------------------------
# Closed forms (D = U[0, 1])
# --------------------------------------------------------------------------------------------
def one_sided_divergence_q1_closed_form(a: float, w: float) -> float:
    r"""One-sided threshold divergence :math:`d(\mathcal D, \mathcal Q_1) = 2a` (3 threshold regions)."""
    _check_family(a, w)
    return 2.0 * a


def one_sided_divergence_q2_closed_form(a: float, w: float, c: float) -> float:
    r""":math:`d(\mathcal D, \mathcal Q_2) = 2\max(a, c - \tfrac12)` (5 regions): equal to Q1's while ``c <= a + 1/2``."""
    _check_family(a, w, c)
    return 2.0 * max(a, c - 0.5)


def ks_divergence_q1_closed_form(a: float, w: float) -> float:
    r"""Ben-David divergence :math:`2\,\mathrm{KS}(\mathcal D, \mathcal Q_1) = 2\max(a, 1 - a - w)`."""
    _check_family(a, w)
    return 2.0 * max(a, 1.0 - a - w)


def ks_divergence_q2_closed_form(a: float, w: float, c: float) -> float:
    r""":math:`2\,\mathrm{KS}(\mathcal D, \mathcal Q_2) = 2\max(a,\ \tfrac12 - a - \tfrac w2,\ c - \tfrac12,\ 1 - c - \tfrac w2)`."""
    _check_family(a, w, c)
    return 2.0 * max(a, 0.5 - a - w / 2, c - 0.5, 1.0 - c - w / 2)


def _integral_abs_linear(slope: float, offset: float, u0: float, u1: float) -> float:
    r"""Exact :math:`\int_{u_0}^{u_1} |\,\text{slope}\cdot u - \text{offset}\,|\,du` for ``slope > 0``."""

    def signed(lo: float, hi: float) -> float:
        return slope * (hi * hi - lo * lo) / 2.0 - offset * (hi - lo)

    root = offset / slope
    if root <= u0:
        return signed(u0, u1)
    if root >= u1:
        return -signed(u0, u1)
    return -signed(u0, root) + signed(root, u1)


def w1_q1_closed_form(a: float, w: float) -> float:
    r""":math:`W_1(\mathcal D, \mathcal Q_1) = \int_0^1 |(1-w)u - a|\,du = \frac{1-w}2 - a + \frac{a^2}{1-w}`.

    Via quantile functions :math:`F^{-1}_{\mathcal D}(u) = u`, :math:`F^{-1}_{\mathcal Q_1}(u) = a + wu`.
    """
    _check_family(a, w)
    if w >= 1.0:
        return abs(a)
    s = 1.0 - w
    return s / 2.0 - a + a * a / s


def w1_q2_closed_form(a: float, w: float, c: float) -> float:
    r""":math:`W_1(\mathcal D, \mathcal Q_2) = \int_0^{1/2}|(1-w)u - a|\,du + \int_{1/2}^1|(1-w)u - (c - \tfrac w2)|\,du`."""
    _check_family(a, w, c)
    s = 1.0 - w
    if s <= 0:
        return abs(a)
    return _integral_abs_linear(s, a, 0.0, 0.5) + _integral_abs_linear(s, c - w / 2.0, 0.5, 1.0)


# --------------------------------------------------------------------------------------------
# Exact values for any two piecewise-uniform distributions
# --------------------------------------------------------------------------------------------
def _knots(p: UniformUnion, q: UniformUnion) -> np.ndarray:
    return np.unique(np.concatenate([p.breakpoints(), q.breakpoints()]))


def threshold_error(t: np.ndarray | float, q: UniformUnion, p: UniformUnion | None = None) -> np.ndarray:
    r"""Mis-classified mass :math:`A(t) = P_{\mathcal D}(x \ge t) + P_{\mathcal Q}(x < t) = 1 - F_{\mathcal D}(t) + F_{\mathcal Q}(t)`.

    The threshold classifier :math:`h_t(x) = \mathbf 1[x \ge t]` says "x comes from Q"; with equal priors
    its balanced error is :math:`A(t)/2`. ``p`` is the data distribution (default :math:`\mathcal U[0,1]`);
    ``t`` may have any shape.
    """
    p = data_distribution() if p is None else p
    return 1.0 - p.cdf(t) + q.cdf(t)


def one_sided_divergence(p: UniformUnion, q: UniformUnion) -> float:
    r"""Exact :math:`2\sup_t (F_p(t) - F_q(t))^+ = 2(1 - \min_t A(t))` ("data" ``p`` vs "query" ``q``).

    Both CDFs are linear between the merged breakpoints, so the supremum is attained at one of them
    (or is 0, the limit :math:`t \to \pm\infty`).
    """
    t = _knots(p, q)
    return 2.0 * max(0.0, float(np.max(p.cdf(t) - q.cdf(t))))


def ks_divergence(p: UniformUnion, q: UniformUnion) -> float:
    r"""Exact Ben-David divergence over (both-orientation) thresholds, :math:`2\sup_t |F_p(t) - F_q(t)|`."""
    t = _knots(p, q)
    return 2.0 * float(np.max(np.abs(p.cdf(t) - q.cdf(t))))


def wasserstein1(p: UniformUnion, q: UniformUnion) -> float:
    r"""Exact :math:`W_1(p, q) = \int |F_p - F_q|\,dx`.

    The difference of the CDFs is linear between merged breakpoints; on each piece the integral of its
    absolute value is computed exactly (splitting at a sign change).
    """
    t = _knots(p, q)
    g = p.cdf(t) - q.cdf(t)
    total = 0.0
    for x0, x1, g0, g1 in zip(t[:-1], t[1:], g[:-1], g[1:]):
        h = x1 - x0
        if g0 * g1 >= 0:
            total += h * (abs(g0) + abs(g1)) / 2.0
        else:  # the line crosses zero inside the piece: two triangles
            z = h * abs(g0) / (abs(g0) + abs(g1))
            total += (z * abs(g0) + (h - z) * abs(g1)) / 2.0
    return float(total)


# --------------------------------------------------------------------------------------------
# Brute force (the checks of reference §5.1)
# --------------------------------------------------------------------------------------------
def threshold_search(
    q: UniformUnion, p: UniformUnion | None = None, n_grid: int = 200_001
) -> dict[str, float]:
    """Brute-force search over ``n_grid`` thresholds (plus every breakpoint) on the exact CDFs.

    Returns
    -------
    dict
        ``one_sided`` = 2(1 - min A), ``ks`` = 2 max |F_p - F_q|, ``t_star`` (the minimising threshold),
        ``min_error`` = min A / 2 (the optimal balanced error ε*).
    """
    p = data_distribution() if p is None else p
    lo = min(p.support[0], q.support[0])
    hi = max(p.support[1], q.support[1])
    t = np.unique(np.concatenate([np.linspace(lo, hi, int(n_grid)), _knots(p, q)]))
    area = threshold_error(t, q, p)
    k = int(np.argmin(area))
    min_area = min(float(area[k]), 1.0)  # t beyond the supports: A = 1
    return {
        "one_sided": 2.0 * (1.0 - min_area),
        "ks": 2.0 * float(np.max(np.abs(p.cdf(t) - q.cdf(t)))),
        "t_star": float(t[k]),
        "min_error": min_area / 2.0,
    }


def w1_quadrature(q: UniformUnion, p: UniformUnion | None = None, n_grid: int = 200_001) -> float:
    r"""Trapezoid quadrature of :math:`\int |F_p - F_q|\,dx` on ``n_grid`` points plus the breakpoints."""
    p = data_distribution() if p is None else p
    lo = min(p.support[0], q.support[0])
    hi = max(p.support[1], q.support[1])
    x = np.unique(np.concatenate([np.linspace(lo, hi, int(n_grid)), _knots(p, q)]))
    y = np.abs(p.cdf(x) - q.cdf(x))
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)


def w1_scipy(q: UniformUnion, p: UniformUnion | None = None, n: int = 200_000) -> float:
    """``scipy.stats.wasserstein_distance`` between ``n`` deterministic quantile points of each distribution.

    The points are :math:`F^{-1}((k + 1/2)/n)`, ``k = 0..n-1`` (a midpoint rule for the quantile integral).
    """
    from scipy.stats import wasserstein_distance

    p = data_distribution() if p is None else p
    u = (np.arange(int(n)) + 0.5) / int(n)
    return float(wasserstein_distance(p.quantile(u), q.quantile(u)))


def sample_divergences(
    q: UniformUnion, n: int, rng: np.random.Generator, p: UniformUnion | None = None
) -> dict[str, float]:
    """The three quantities estimated from ``n`` samples of each distribution (via :mod:`alkit.theory.divergence`).

    Returns ``one_sided``, ``ks`` (empirical threshold classifiers) and ``w1`` (empirical 1-D W1).
    """
    from alkit.theory.divergence import ks_1d, one_sided_1d, w1_1d

    p = data_distribution() if p is None else p
    xd = p.sample(n, rng)
    xq = q.sample(n, rng)
    return {"one_sided": 2.0 * one_sided_1d(xd, xq), "ks": 2.0 * ks_1d(xd, xq), "w1": w1_1d(xd, xq)}


def shift_sweep(
    q: UniformUnion, shifts: Iterable[float] | Sequence[float], p: UniformUnion | None = None
) -> dict[str, np.ndarray]:
    """Exact divergences between ``p`` (default U[0,1]) and ``q`` translated by each shift.

    Once the translated support leaves ``p``'s, every threshold classifier separates them perfectly and
    both H-divergences saturate at 2, while :math:`W_1` keeps growing linearly with the shift.

    Returns
    -------
    dict of arrays, each of shape (len(shifts),)
        ``shift``, ``one_sided``, ``ks``, ``w1``.
    """
    p = data_distribution() if p is None else p
    s = np.asarray(list(shifts), dtype=float)
    moved = [q.shifted(float(v)) for v in s]
    return {
        "shift": s,
        "one_sided": np.array([one_sided_divergence(p, m) for m in moved]),
        "ks": np.array([ks_divergence(p, m) for m in moved]),
        "w1": np.array([wasserstein1(p, m) for m in moved]),
    }
