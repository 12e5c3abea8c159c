r"""The bounds behind WAAL and DAL, checked numerically (reference §5.2-5.4, experiments E2-E4).

* **E2, WAAL Theorem 1** on empirical measures: for an :math:`H`-Lipschitz hypothesis, an
  :math:`L`-Lipschitz symmetric loss and every :math:`\lambda > 0`,
  :math:`R_{\mathcal D}(h) \le R_{\mathcal Q}(h) + L(H + \lambda) W_1(\mathcal D, \mathcal Q) + L\phi(\lambda)`,
  where :math:`\phi(\lambda)` (joint probabilistic Lipschitzness) is measured on the optimal coupling.
  :func:`theorem1_experiment` reproduces the 2-D Gaussian experiment.
* **E3, Corollary 1's finite-sample term**: :math:`W_1` between two independent n-samples of
  :math:`\mathcal N(0, I_d)` decays like :math:`n^{-1/d}` (:func:`w1_rates`).
* **E4, Ben-David et al.'s bound** :math:`\varepsilon_T(h) \le \varepsilon_S(h) + \tfrac12 d_{\mathcal H\Delta\mathcal H} + \lambda^\star`
  with 1-D thresholds (:func:`ben_david_experiment`).

Data are drawn with :func:`numpy.random.default_rng` in the order of the reference script, so the
default seeds reproduce the numbers of reference §5.4 / Appendix A.

References
----------
Shui et al., *Deep Active Learning: Unified and Principled Method for Query and Training*, AISTATS 2020
(Theorem 1, Corollary 1); Weed & Bach, *Sharp asymptotic and finite-sample rates of convergence of
empirical measures in Wasserstein distance*, Bernoulli 2019; Ben-David et al., *A theory of learning from
different domains*, Machine Learning 2010.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from alkit.theory.divergence import exact_w1, w1_1d

__all__ = [
    "BenDavidResult",
    "HypothesisBound",
    "QueryBound",
    "ben_david_experiment",
    "fit_logistic",
    "jpl_phi",
    "sigmoid_hypothesis",
    "theorem1_bound",
    "theorem1_experiment",
    "w1_rates",
]

QUERY_NAMES = ("narrow", "shifted", "diverse")


# --------------------------------------------------------------------------------------------
# Theorem 1 pieces
# --------------------------------------------------------------------------------------------
def theorem1_bound(risk_q: float, H: float, w1: float, phi: float | np.ndarray, lam: float | np.ndarray,
                   L: float = 1.0) -> float | np.ndarray:
    r"""WAAL Theorem 1's right-hand side :math:`R_{\mathcal Q} + L(H + \lambda)W_1 + L\phi(\lambda)` (vectorised over λ)."""
    return risk_q + L * (H + np.asarray(lam)) * w1 + L * np.asarray(phi)


def jpl_phi(label_jump: np.ndarray, distance: np.ndarray, lam: float | Sequence[float]) -> np.ndarray:
    r"""Joint probabilistic Lipschitz function on a coupling: :math:`\phi(\lambda) = \Pr[|h^\star(x) - h^\star(x')| > \lambda\|x - x'\|]`.

    Parameters
    ----------
    label_jump : array, shape (n,)
        :math:`|h^\star(x_i) - h^\star(x'_i)|` for the matched pairs of the coupling.
    distance : array, shape (n,)
        :math:`\|x_i - x'_i\|` for the same pairs.
    lam : float or sequence of floats, shape (k,)

    Returns
    -------
    array, shape (k,) (or scalar shape for a scalar λ)
    """
    lam_arr = np.asarray(lam, dtype=float)
    jump = np.asarray(label_jump, dtype=float)
    dist = np.asarray(distance, dtype=float)
    return (jump[None, :] > lam_arr.reshape(-1, 1) * dist[None, :]).mean(1).reshape(lam_arr.shape)


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 500, lr: float = 0.5) -> tuple[np.ndarray, float]:
    r"""Logistic regression by full-batch gradient descent from zero (the reference's fit): returns ``(w, b)``.

    Parameters
    ----------
    x : array, shape (n, d)
    y : array, shape (n,) in {0, 1}
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    w = np.zeros(xa.shape[1])
    b = 0.0
    n = xa.shape[0]
    for _ in range(int(steps)):
        r = 1.0 / (1.0 + np.exp(-(xa @ w + b))) - ya
        w = w - lr * (xa.T @ r) / n
        b = b - lr * float(r.mean())
    return w, float(b)


def sigmoid_hypothesis(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    r""":math:`h(x) = \sigma(w^\top x + b)`, which is :math:`\|w\|/4`-Lipschitz. ``x`` (n, d) → (n,)."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(x) @ w + b)))


def _boundary_labels(x: np.ndarray) -> np.ndarray:
    """The experiment's labelling function :math:`h^\\star(x) = 1[x_1 + 0.5 x_2 > 0]`."""
    return (x[:, 0] + 0.5 * x[:, 1] > 0.0).astype(float)


@dataclass
class HypothesisBound:
    """Theorem 1 for one hypothesis on one query sample (arrays over the λ grid)."""

    name: str
    w: np.ndarray
    b: float
    H: float
    risk_q: float
    """Empirical risk on the query (labeled) sample, :math:`\\hat R_{\\mathcal Q}`."""
    risk_d: float
    """Risk on the data sample (the quantity bounded), :math:`R_{\\hat{\\mathcal D}}`."""
    bounds: np.ndarray

    @property
    def best_bound(self) -> float:
        return float(self.bounds.min())


@dataclass
class QueryBound:
    """Theorem 1 for one query distribution: the coupling, φ(λ) and each hypothesis' bound."""

    name: str
    x_query: np.ndarray
    w1: float
    lambdas: np.ndarray
    phi: np.ndarray
    distances: np.ndarray
    """Length of each matched pair of the optimal coupling, shape (n,)."""
    label_jump: np.ndarray
    r""":math:`|h^\star(x) - h^\star(x')|` of each matched pair, shape (n,)."""
    hypotheses: dict[str, HypothesisBound] = field(default_factory=dict)


def theorem1_experiment(
    n: int = 1000,
    seed: int = 1,
    lambdas: Sequence[float] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
    shrunk_norm: float = 2.0,
) -> tuple[np.ndarray, dict[str, QueryBound]]:
    r"""E2: WAAL's Theorem 1 on 2-D Gaussians with the exact empirical OT coupling.

    :math:`\mathcal D = \mathcal N(0, I_2)`, :math:`h^\star(x) = \mathbf 1[x_1 + 0.5x_2 > 0]`; three
    query samples of ``n`` points: *narrow* (std 0.3 along :math:`x_1`, 1 along :math:`x_2`: close to the
    boundary, uncertainty-like), *shifted* (:math:`\mathcal N((1, 0.5), 0.6^2 I)`) and *diverse* (a fresh
    sample of :math:`\mathcal D`). For each: the exact OT plan :math:`\hat{\mathcal D} \leftrightarrow \hat{\mathcal Q}`
    (:func:`~alkit.theory.divergence.exact_w1`), :math:`\phi(\lambda)` on its pairs, and two hypotheses,
    logistic regression fitted on the query sample (``"fitted"``, :math:`H = \|w\|/4`) and the same
    direction rescaled to :math:`\|w\| =` ``shrunk_norm`` (``"shrunk"``), with loss :math:`|h - y|` (L = 1).
    Draws: ``default_rng(seed)``, in the order D, narrow, shifted, diverse.

    Returns
    -------
    x_data : array, shape (n, 2)
    queries : dict name -> :class:`QueryBound` (keys ``narrow``, ``shifted``, ``diverse``)
    """
    rng = np.random.default_rng(seed)
    x_data = rng.normal(size=(n, 2))
    samples = {
        "narrow": rng.normal(size=(n, 2)) * np.array([0.3, 1.0]),
        "shifted": rng.normal(size=(n, 2)) * 0.6 + np.array([1.0, 0.5]),
        "diverse": rng.normal(size=(n, 2)),
    }
    lam = np.asarray(lambdas, dtype=float)
    y_data = _boundary_labels(x_data)
    out: dict[str, QueryBound] = {}
    for name, xq in samples.items():
        plan = exact_w1(x_data, xq)
        jump = np.abs(y_data[plan.rows] - _boundary_labels(xq)[plan.cols])
        phi = jpl_phi(jump, plan.distances, lam)
        qb = QueryBound(name, xq, plan.w1, lam, phi, plan.distances, jump)
        yq = _boundary_labels(xq)
        w, b = fit_logistic(xq, yq)
        scale = shrunk_norm / float(np.linalg.norm(w))
        for hname, (ww, bb) in {"fitted": (w, b), "shrunk": (w * scale, b * scale)}.items():
            H = float(np.linalg.norm(ww)) / 4.0
            r_q = float(np.mean(np.abs(sigmoid_hypothesis(xq, ww, bb) - yq)))
            r_d = float(np.mean(np.abs(sigmoid_hypothesis(x_data, ww, bb) - y_data)))
            qb.hypotheses[hname] = HypothesisBound(hname, ww, bb, H, r_q, r_d,
                                                   np.asarray(theorem1_bound(r_q, H, plan.w1, phi, lam)))
        out[name] = qb
    return x_data, out


# --------------------------------------------------------------------------------------------
# E3: empirical W1 rates
# --------------------------------------------------------------------------------------------
def w1_rates(
    dims: Sequence[int] = (1, 2, 8),
    ns: Sequence[int] = (100, 400, 1600),
    reps: int = 3,
    seed: int = 3,
) -> dict[int, dict[str, np.ndarray | float]]:
    r"""E3: mean :math:`W_1` between two independent ``n``-samples of :math:`\mathcal N(0, I_d)`.

    Exact in every dimension (1-D CDF formula; exact assignment for d > 1). Draws: ``default_rng(seed)``,
    for each d, each n, each repetition: sample A then sample B.

    Returns
    -------
    dict d -> {"n": array (len(ns),), "w1": array (len(ns),), "slope": log-log slope of w1 against n}
    """
    rng = np.random.default_rng(seed)
    out: dict[int, dict[str, np.ndarray | float]] = {}
    for d in dims:
        vals = []
        for n in ns:
            reps_v = []
            for _ in range(int(reps)):
                xa, xb = rng.normal(size=(n, d)), rng.normal(size=(n, d))
                reps_v.append(w1_1d(xa[:, 0], xb[:, 0]) if d == 1 else exact_w1(xa, xb).w1)
            vals.append(float(np.mean(reps_v)))
        n_arr, v_arr = np.asarray(ns, dtype=float), np.asarray(vals)
        out[int(d)] = {"n": n_arr, "w1": v_arr, "slope": float(np.polyfit(np.log(n_arr), np.log(v_arr), 1)[0])}
    return out


# --------------------------------------------------------------------------------------------
# E4: Ben-David's bound in 1-D
# --------------------------------------------------------------------------------------------
@dataclass
class BenDavidResult:
    r"""E4 in numbers. Hypothesis ``k < len(grid)`` is :math:`\mathbf 1[x \ge t_k]`; ``k >= len(grid)`` its complement."""

    grid: np.ndarray
    source: np.ndarray
    target: np.ndarray
    err_source: np.ndarray
    err_target: np.ndarray
    d_hdh: float
    lambda_star: float
    erm: int

    @property
    def bounds(self) -> np.ndarray:
        """The bound :math:`\\varepsilon_S(h) + \\tfrac12 d_{H\\Delta H} + \\lambda^\\star` for every hypothesis."""
        return self.err_source + 0.5 * self.d_hdh + self.lambda_star

    @property
    def slack(self) -> np.ndarray:
        return self.bounds - self.err_target


def _interval_labels(x: np.ndarray) -> np.ndarray:
    return ((x >= 0.3) & (x < 0.8)).astype(int)


def ben_david_experiment(
    seed: int = 2, n_target: int = 4000, n_biased: int = 300, n_uniform: int = 100, n_grid: int = 205
) -> BenDavidResult:
    r"""E4: Ben-David et al.'s bound with 1-D threshold classifiers (both orientations).

    Target = pool :math:`\mathcal U[0,1]` (``n_target`` points); source = a biased labeled sample
    (``n_biased`` from :math:`\mathcal U[0.35, 0.75]` + ``n_uniform`` from :math:`\mathcal U[0,1]`);
    labels :math:`\mathbf 1[0.3 \le x < 0.8]` (an interval, not a threshold, so :math:`\lambda^\star > 0`);
    thresholds on ``n_grid`` points of [-0.01, 1.01]. :math:`\mathcal H\Delta\mathcal H` is the class of
    intervals :math:`[t_1, t_2)` between grid points and their complements, so
    :math:`d_{\mathcal H\Delta\mathcal H} = 2\max_{t_1 < t_2} |P_S[t_1, t_2) - P_T[t_1, t_2)|` by brute force.
    Draws: ``default_rng(seed)``: target, then the biased part, then the uniform part of the source.
    """
    rng = np.random.default_rng(seed)
    grid = np.linspace(-0.01, 1.01, int(n_grid))
    target = rng.uniform(size=n_target)
    source = np.concatenate([rng.uniform(0.35, 0.75, n_biased), rng.uniform(size=n_uniform)])

    def predictions(x: np.ndarray) -> np.ndarray:
        up = (x[None, :] >= grid[:, None]).astype(int)
        return np.concatenate([up, 1 - up])

    err_s = (predictions(source) != _interval_labels(source)[None, :]).mean(1)
    err_t = (predictions(target) != _interval_labels(target)[None, :]).mean(1)
    # mass of [t_i, t_j) under each sample: F(t_j) - F(t_i) with F counting points strictly below t
    fs = np.searchsorted(np.sort(source), grid) / len(source)
    ft = np.searchsorted(np.sort(target), grid) / len(target)
    diff = (fs[None, :] - fs[:, None]) - (ft[None, :] - ft[:, None])
    return BenDavidResult(grid, source, target, err_s, err_t, 2.0 * float(np.abs(diff).max()),
                          float((err_s + err_t).min()), int(np.argmin(err_s)))
