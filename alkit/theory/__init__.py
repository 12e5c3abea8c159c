"""The theory behind the adversarial/discriminative strategies, made computable (reference §5).

* :mod:`alkit.theory.toy` — WAAL's 1-D toy: threshold H-divergences against W1, exact and brute force.
* :mod:`alkit.theory.divergence` — W1 (1-D, exact OT, sliced, Sinkhorn), KS, the proxy H-divergence of
  a domain classifier.
* :mod:`alkit.theory.bounds` — WAAL's Theorem 1 (E2), Corollary 1's rates (E3), Ben-David's bound (E4).
* :mod:`alkit.theory.loop_terms` — the bound terms of one AL round (``ALConfig(theory_terms=True)``).
"""

from alkit.theory import bounds, divergence, toy
from alkit.theory.bounds import (
    BenDavidResult,
    HypothesisBound,
    QueryBound,
    ben_david_experiment,
    fit_logistic,
    jpl_phi,
    sigmoid_hypothesis,
    theorem1_bound,
    theorem1_experiment,
    w1_rates,
)
from alkit.theory.divergence import (
    DomainClassifierResult,
    OTMatching,
    domain_classifier_divergence,
    exact_w1,
    ks_1d,
    one_sided_1d,
    proxy_h_divergence,
    sinkhorn_w1,
    sliced_w1,
    w1_1d,
    w1_estimate,
)
from alkit.theory.loop_terms import THEORY_KEYS, theory_terms
from alkit.theory.toy import INSTANCES, ToyInstance, UniformUnion

__all__ = [
    "INSTANCES",
    "THEORY_KEYS",
    "BenDavidResult",
    "DomainClassifierResult",
    "HypothesisBound",
    "OTMatching",
    "QueryBound",
    "ToyInstance",
    "UniformUnion",
    "ben_david_experiment",
    "bounds",
    "divergence",
    "domain_classifier_divergence",
    "exact_w1",
    "fit_logistic",
    "jpl_phi",
    "ks_1d",
    "one_sided_1d",
    "proxy_h_divergence",
    "sigmoid_hypothesis",
    "sinkhorn_w1",
    "sliced_w1",
    "theorem1_bound",
    "theorem1_experiment",
    "theory_terms",
    "toy",
    "w1_1d",
    "w1_estimate",
    "w1_rates",
]
