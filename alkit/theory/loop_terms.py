r"""Theory in the loop: the terms of the AL bounds measured after each round.

WAAL's Theorem 1 bounds the pool risk by the labeled risk plus a Lipschitz constant times
:math:`W_1(\text{pool}, \text{labeled})` (plus a probabilistic-Lipschitz term); Ben-David et al.'s bound,
which motivates DAL, uses the labeled risk plus half an H-divergence between labeled and unlabeled data
(plus the ideal joint error). :func:`theory_terms` measures the observable pieces in the task model's
feature space, so a lesson or the dashboard can put them next to the true test error round by round.
With ``ALConfig(theory_terms=True)`` the loop stores them in ``extras["theory"]`` of every round.

References
----------
Shui et al., AISTATS 2020 (WAAL, Theorem 1); Ben-David et al., Machine Learning 2010; Gissin &
Shalev-Shwartz, arXiv:1907.06347, 2019 (DAL). Reference §5.2-5.3.
"""

from __future__ import annotations

from typing import Any

import torch

from alkit.seeding import make_generator
from alkit.theory.divergence import domain_classifier_divergence, w1_estimate

__all__ = ["THEORY_KEYS", "theory_terms"]

THEORY_KEYS = ("labeled_risk", "test_error", "proxy_h_divergence", "w1_labeled_unlabeled")
"""The keys every :func:`theory_terms` result holds (besides bookkeeping keys)."""


def theory_terms(
    learner: Any,
    dataset: Any,
    labeled: torch.Tensor,
    unlabeled: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    seed: int = 0,
    max_points: int = 300,
    domain_hidden: int = 0,
    domain_folds: int = 5,
    w1_method: str = "sinkhorn",
    input_space: bool = True,
) -> dict[str, Any]:
    r"""The observable bound terms of one AL round.

    Parameters
    ----------
    learner : alkit.Learner
        The trained task model of this round (``predict`` and ``embed`` are used, in eval mode).
    dataset : alkit.ALDataset
    labeled, unlabeled : int64 tensors of pool indices, shapes (n_L,) and (n_U,)
    labels : int64 tensor, shape (N,), optional
        The oracle's answers for the pool (``-1`` where unknown); the labeled risk is measured against
        these (what the model was trained on; a noisy oracle's answers included). Default: the true labels.
    seed : int
        Seeds the only random steps here (sub-samples, folds, initialisation), through a private
        ``torch.Generator``: the global RNG and the run's other streams are untouched.
    max_points : int
        Each side is sub-sampled to at most this many points for the two divergences.
    domain_hidden, domain_folds :
        The domain classifier (:func:`~alkit.theory.divergence.domain_classifier_divergence`).
    w1_method : {"sinkhorn", "exact", "sliced", "auto"}
        How :math:`W_1` between the embeddings is estimated (:func:`~alkit.theory.divergence.w1_estimate`).
    input_space : bool
        Also measure both divergences between the (flattened) inputs, a fixed space in which rounds and
        strategies can be compared (each round's embedding space is a different, retrained feature map).

    Returns
    -------
    dict
        ``labeled_risk`` — training error on L (0-1 loss); ``test_error`` — error on the test split;
        ``proxy_h_divergence`` — :math:`2(1 - 2\varepsilon)` of a cross-validated L-vs-U domain classifier
        on embeddings (clipped at 0); ``domain_error`` — that ε; ``w1_labeled_unlabeled`` — :math:`W_1`
        between labeled and unlabeled embeddings (Euclidean); ``w1_method``; ``n_labeled``,
        ``n_unlabeled`` (pool sizes) and ``n_points_labeled``, ``n_points_unlabeled`` (points used);
        with ``input_space``: ``proxy_h_divergence_input`` and ``w1_labeled_unlabeled_input``.
        The divergences are ``None`` when a side has fewer than 2 points.
    """
    labeled = torch.as_tensor(labeled, dtype=torch.long).cpu()
    unlabeled = torch.as_tensor(unlabeled, dtype=torch.long).cpu()
    g = make_generator(seed)
    y_lab = (dataset.y_train if labels is None else labels)[labeled]
    out: dict[str, Any] = {"n_labeled": int(labeled.numel()), "n_unlabeled": int(unlabeled.numel())}
    if labeled.numel():
        pred = learner.predict(dataset.x_train[labeled]).cpu()
        out["labeled_risk"] = float((pred != y_lab).float().mean())
    else:
        out["labeled_risk"] = None
    test_pred = learner.predict(dataset.x_test).cpu()
    out["test_error"] = float((test_pred != dataset.y_test).float().mean())

    def subsample(idx: torch.Tensor) -> torch.Tensor:
        if idx.numel() <= max_points:
            return idx
        return idx[torch.randperm(idx.numel(), generator=g)[:max_points].sort().values]

    lab_s, unl_s = subsample(labeled), subsample(unlabeled)
    out["n_points_labeled"], out["n_points_unlabeled"] = int(lab_s.numel()), int(unl_s.numel())
    if lab_s.numel() < 2 or unl_s.numel() < 2:
        out.update(proxy_h_divergence=None, domain_error=None, w1_labeled_unlabeled=None, w1_method=None)
        if input_space:
            out.update(proxy_h_divergence_input=None, w1_labeled_unlabeled_input=None)
        return out
    x_both = dataset.x_train[torch.cat([lab_s, unl_s])]
    spaces = {"": learner.embed(x_both).detach().double().cpu()}
    if input_space:
        spaces["_input"] = x_both.reshape(len(x_both), -1).double().cpu()
    for suffix, feats in spaces.items():
        f_lab, f_unl = feats[: lab_s.numel()], feats[lab_s.numel() :]
        dom = domain_classifier_divergence(f_lab, f_unl, hidden=domain_hidden, folds=domain_folds, generator=g)
        w1, method = w1_estimate(f_lab, f_unl, method=w1_method, max_points=None, generator=g)
        out["proxy_h_divergence" + suffix] = dom.divergence
        out["w1_labeled_unlabeled" + suffix] = w1
        if not suffix:
            out["domain_error"] = dom.balanced_error
            out["w1_method"] = method
    return out
