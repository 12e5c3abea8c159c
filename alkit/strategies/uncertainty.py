"""Random and the deterministic uncertainty strategies (reference §4.1–4.5)."""

from __future__ import annotations

import torch

from alkit.strategies._registry import register_strategy
from alkit.strategies._view import PoolView
from alkit.strategies.base import ScoreStrategy, Selection, Strategy
from alkit.strategies.scores import (
    check_mc_passes_differ,
    check_probs,
    entropy_scores,
    least_conf_scores,
    margin_scores,
    var_ratio_mc_scores,
    var_ratio_scores,
)

__all__ = ["RandomSampling", "EntropySampling", "MarginSampling", "LeastConfidence", "VariationRatio"]


@register_strategy("random")
class RandomSampling(Strategy):
    """Uniform sampling without replacement from the unlabeled pool (reference §4.1).

    The baseline every strategy must beat. Uses only the given generator, never the global RNG
    (⚠ DeepAL+ draws from NumPy's global RNG, so its runs depend on everything drawn before).

    References
    ----------
    Settles, *Active Learning Literature Survey*, 2009 (passive sampling baseline).
    """

    needs = frozenset()

    def __init__(self) -> None:
        pass

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        perm = torch.randperm(view.n_unlabeled, generator=generator, device=view.device)
        return Selection(indices=view.unlabeled[perm[:k]])


class _ProbScore(ScoreStrategy):
    needs = frozenset({"probs"})

    def __init__(self, tie_break: str = "index") -> None:
        self.tie_break = tie_break


@register_strategy("entropy")
class EntropySampling(_ProbScore):
    r"""Maximum entropy of the predictive distribution, :math:`a = H(p(x))` (reference §4.2).

    Parameters
    ----------
    tie_break : {"index", "random"}
        Exact ties go to the lowest pool index, or are ordered by the seeded generator.

    References
    ----------
    Shannon entropy sampling; survey: Zhan et al., *A Comparative Survey of Deep Active Learning*, 2022.
    """

    def score(self, view: PoolView) -> torch.Tensor:
        return entropy_scores(view.probs)


@register_strategy("margin")
class MarginSampling(_ProbScore):
    r"""Smallest gap between the two most likely classes, :math:`a = -(p_{(1)} - p_{(2)})` (reference §4.3).

    Parameters
    ----------
    tie_break : {"index", "random"}
        Exact ties go to the lowest pool index, or are ordered by the seeded generator.

    References
    ----------
    Scheffer, Decomain & Wrobel, *Active hidden Markov models for information extraction*, 2001.
    """

    def score(self, view: PoolView) -> torch.Tensor:
        return margin_scores(view.probs)


@register_strategy("least_conf")
class LeastConfidence(_ProbScore):
    r"""Lowest top-class probability, :math:`a = -p_{(1)}` (reference §4.4).

    Parameters
    ----------
    tie_break : {"index", "random"}
        Exact ties go to the lowest pool index, or are ordered by the seeded generator.

    References
    ----------
    Lewis & Gale, *A sequential algorithm for training text classifiers*, 1994.
    """

    def score(self, view: PoolView) -> torch.Tensor:
        return least_conf_scores(view.probs)


@register_strategy("var_ratio")
class VariationRatio(ScoreStrategy):
    r"""Variation ratio (reference §4.5), in both definitions found in the literature.

    Parameters
    ----------
    mode : {"deterministic", "mc"}
        ``"deterministic"`` (survey / DeepAL+): :math:`1 - p_{(1)}`, ranking exactly like
        ``least_conf``. ``"mc"`` (Freeman 1965, Gal et al. 2017): :math:`1 - f_\text{mode}/T`
        over ``mc_samples`` MC-dropout passes.
    mc_samples : int
        T, the number of MC-dropout passes in ``"mc"`` mode (survey: 10; Gal et al.: 20).
    secondary : bool
        In ``"mc"`` mode the score takes only T+1 values; with ``secondary`` ties are broken by
        the MC-mean confidence :math:`1-\bar p_{(1)}`, added scaled by :math:`1/(2T)` so it never
        reorders different vote counts.
    tie_break : {"index", "random"}
        Exact ties go to the lowest pool index, or are ordered by the seeded generator.

    Notes
    -----
    ⚠ ``mode="deterministic"`` reproduces the survey / DeepAL+ (where VarRatio is LeastConf under
    another name); ``mode="mc"`` reproduces Gal, Islam & Ghahramani's definition.

    References
    ----------
    Freeman, *Elementary Applied Statistics*, 1965; Gal, Islam & Ghahramani, *Deep Bayesian Active
    Learning with Image Data*, ICML 2017.
    """

    def __init__(self, mode: str = "deterministic", mc_samples: int = 10, secondary: bool = True,
                 tie_break: str = "index") -> None:
        self.mode = mode
        self.mc_samples = mc_samples
        self.secondary = secondary
        self.tie_break = tie_break

    def required(self) -> frozenset[str]:
        if self.mode == "deterministic":
            return frozenset({"probs"})
        if self.mode == "mc":
            if not isinstance(self.mc_samples, int) or self.mc_samples < 1:
                raise ValueError(f"mc_samples must be a positive integer, got {self.mc_samples!r}")
            return frozenset({"mc_probs"})
        raise ValueError(f"var_ratio mode must be 'deterministic' or 'mc', got {self.mode!r}")

    def score(self, view: PoolView) -> torch.Tensor:
        if self.required() == {"probs"}:
            return var_ratio_scores(view.probs)
        mc = check_mc_passes_differ(check_probs(view.mc_probs, mc=True), "the view's mc_probs")
        a = var_ratio_mc_scores(mc)
        if self.secondary:
            a = a + (1.0 - mc.mean(dim=0).max(dim=-1).values) / (2 * mc.shape[0])
        return a
