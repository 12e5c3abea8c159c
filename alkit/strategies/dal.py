"""Discriminative Active Learning, DAL (reference §4.17; theory in §5.3).

A fresh binary discriminator learns to tell the labeled set ``L'`` (label 0, "l") from a random
sub-sample of the unlabeled pool (label 1, "u") in the task model's feature space; the unlabeled points
it is most sure are "u" move into ``L'`` without labels, and the next mini-query starts again with a new
discriminator. Everything runs on the view's device; every random step draws from the query's generator.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from alkit.learner import fit_phases
from alkit.seeding import seeded
from alkit.strategies._registry import register_strategy
from alkit.strategies._select import top_k
from alkit.strategies._view import PoolView
from alkit.strategies.base import Selection, Strategy

__all__ = [
    "DiscriminativeActiveLearning",
    "DiscriminatorFit",
    "class_weights",
    "default_caps",
    "default_optim",
    "first_stop_epoch",
    "make_discriminator",
    "mini_query_sizes",
    "proxy_h_divergence",
    "should_stop",
    "subsample_unlabeled",
    "train_discriminator",
]


# --------------------------------------------------------------------------------------------
# Small pure pieces (each tested on its own)
# --------------------------------------------------------------------------------------------
def should_stop(train_accuracy: float, stop_accuracy: float = 0.98) -> bool:
    """DAL's early-stopping rule: stop once an epoch's training accuracy is strictly above ``stop_accuracy``."""
    return train_accuracy > stop_accuracy


def first_stop_epoch(history: Sequence[float], stop_accuracy: float = 0.98) -> int | None:
    """1-based epoch at which :func:`should_stop` first fires on a history of per-epoch accuracies, or None."""
    for epoch, acc in enumerate(history, start=1):
        if should_stop(acc, stop_accuracy):
            return epoch
    return None


def class_weights(n_labeled: int, n_unlabeled: int) -> tuple[float, float]:
    r"""Balanced class weights of [DAL-code]: :math:`w_l = N/N_L`, :math:`w_u = N/N_{U'}` with :math:`N = N_L + N_{U'}`."""
    if n_labeled < 1 or n_unlabeled < 1:
        raise ValueError(f"both sides need at least one point, got N_L={n_labeled}, N_U'={n_unlabeled}")
    n = n_labeled + n_unlabeled
    return n / n_labeled, n / n_unlabeled


def default_optim(dim: int) -> tuple[float, int, int]:
    """``(lr, max_epochs, batch_size)`` of [DAL-code]'s discriminator, keyed on the representation size.

    [DAL-code] switches on ``max(input_shape)``; for a flat ``d``-dimensional representation that is ``d``:
    28 → (3e-4, 200, 1024); 128 → (1e-4, 1000, 128); 512 → (2e-4, 500, 1024); 32 → (3e-4, 500, 1024);
    any other size → Keras' default Adam (1e-3), 1000 epochs, batch 32.
    """
    table = {28: (3e-4, 200, 1024), 128: (1e-4, 1000, 128), 512: (2e-4, 500, 1024), 32: (3e-4, 500, 1024)}
    return table.get(int(dim), (1e-3, 1000, 32))


#: Inputs narrower than this get [DAL-code]'s 20-wide discriminator (256 otherwise).
SMALL_INPUT = 30
#: alkit's training caps: epochs of the 20-wide discriminator, optimiser steps of the 256-wide one.
SMALL_EPOCHS, LARGE_STEPS = 200, 1000


def default_caps(dim: int) -> tuple[int, int | None]:
    """alkit's default ``(max_epochs, max_steps)`` of one discriminator training on a ``d``-dimensional input.

    ``d < 30`` (the 20-wide discriminator): 200 epochs and no step cap; otherwise [DAL-code]'s epochs
    (:func:`default_optim`) and at most 1000 optimiser steps. Why two units: the 256-wide
    discriminator on alkit's 320-d LeNet features has 214,274 weights, the 20-wide one on 2-d inputs
    942, so only the first needs a step cap to keep a query within a minute on a CPU (59K
    Fashion-MNIST, 20 mini-queries: ``python -m benchmarks.seed_papers --only dal``). For the small
    one epochs are the unit that matters: later mini-queries train on up to ``(1 + r)|L'|`` points,
    and a fixed step budget gives them ever fewer passes (the reference's density toy, b = 400 in 10
    mini-queries: 29 epochs in the first, 7 in the last under a 1000-step cap). Measured on that toy
    (``python -m benchmarks.dal_density``, benchmarks/results/dal_density.json): mean share of the
    picks from the dense blob over seeds 0-7 (the reference requires 0.85): 1000 steps 0.757,
    5000 steps 0.814, 30 epochs 0.797, 50 epochs 0.827, 100 epochs 0.910 (2 seeds below 0.85),
    200 epochs 0.932 and 300 epochs 0.931, every seed at or above 0.85 (KCenter 0.596); 200 is the
    cheaper of the two.
    """
    if int(dim) < SMALL_INPUT:
        return SMALL_EPOCHS, None
    return default_optim(dim)[1], LARGE_STEPS


def mini_query_sizes(k: int, n: int) -> list[int]:
    """Sizes of the mini-queries: ``min(n, k)`` of them, each ``k // n``, the last one taking the remainder."""
    if n < 1:
        raise ValueError(f"n_mini_queries must be >= 1, got {n}")
    n = min(n, k)
    if n == 0:
        return []
    size = k // n
    return [size] * (n - 1) + [k - size * (n - 1)]


def proxy_h_divergence(balanced_error: float) -> float:
    r"""Proxy H-divergence (proxy A-distance) :math:`\hat d = 2(1 - 2\varepsilon)` from a balanced error ε (§5.3)."""
    return 2.0 * (1.0 - 2.0 * balanced_error)


def subsample_unlabeled(n_unlabeled: int, size: int, generator: torch.Generator | None,
                        device: torch.device) -> torch.Tensor:
    """Positions of a uniform sample of ``min(size, n_unlabeled)`` unlabeled points, without replacement."""
    perm = torch.randperm(n_unlabeled, generator=generator, device=device)
    return perm[: min(size, n_unlabeled)]


def make_discriminator(dim: int, width: int | None = None) -> nn.Sequential:
    """[DAL-code]'s discriminator: 3 hidden ReLU layers (256 wide, 20 when ``dim < 30``) and a 2-way output.

    Initialised like Keras' ``Dense`` defaults (Glorot-uniform weights, zero biases) from the global RNG,
    so build it inside :func:`alkit.seeding.seeded`.
    """
    width = (20 if dim < SMALL_INPUT else 256) if width is None else width
    layers: list[nn.Module] = []
    fan_in = dim
    for _ in range(3):
        layers += [nn.Linear(fan_in, width), nn.ReLU()]
        fan_in = width
    layers.append(nn.Linear(fan_in, 2))
    net = nn.Sequential(*layers)
    for m in net:
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


@dataclass
class DiscriminatorFit:
    """What one discriminator training did.

    Attributes
    ----------
    epochs : int
        Epochs run (the stopping epoch, or ``max_epochs``).
    stopped : bool
        Whether the accuracy rule fired (False: the epoch cap was hit).
    history : list of float
        Training accuracy of each epoch, as Keras logs it: the running accuracy over the epoch's
        mini-batches, each measured before its own update, not weighted by the class weights.
    """

    epochs: int
    stopped: bool
    history: list[float]


class _FlatMLP:
    """The discriminator's parameters in one flat buffer, with a hand-written backward pass.

    An MLP this small is dominated by per-op overhead on a CPU: one flat buffer for the parameters,
    gradients and Adam moments makes the optimiser step five tensor ops and the backward pass about
    twenty (about 3x faster than autograd + ``torch.optim.Adam`` here). Writes back into ``net``.
    """

    def __init__(self, net: nn.Sequential) -> None:
        self.linears = [m for m in net if isinstance(m, nn.Linear)]
        ref = self.linears[0].weight
        sizes = [t.numel() for m in self.linears for t in (m.weight, m.bias)]
        self.p = torch.empty(sum(sizes), dtype=ref.dtype, device=ref.device)
        self.g = torch.zeros_like(self.p)
        self.w: list[torch.Tensor] = []
        self.b: list[torch.Tensor] = []
        self.gw: list[torch.Tensor] = []
        self.gb: list[torch.Tensor] = []
        off = 0
        for m in self.linears:
            for t, views, gviews in ((m.weight, self.w, self.gw), (m.bias, self.b, self.gb)):
                n = t.numel()
                views.append(self.p[off : off + n].view_as(t))
                gviews.append(self.g[off : off + n].view_as(t))
                views[-1].copy_(t.detach())
                off += n

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        hs = [x]
        h = x
        for w, b in zip(self.w[:-1], self.b[:-1], strict=True):
            h = torch.addmm(b, h, w.T).clamp_min_(0.0)
            hs.append(h)
        return torch.addmm(self.b[-1], h, self.w[-1].T), hs

    def backward(self, grad_logits: torch.Tensor, hs: list[torch.Tensor]) -> None:
        """Fill ``self.g`` from ``dL/dlogits`` (ReLU masks read from the stored activations)."""
        g = grad_logits
        for j in range(len(self.w) - 1, -1, -1):
            torch.mm(g.T, hs[j], out=self.gw[j])
            torch.sum(g, 0, out=self.gb[j])
            if j:
                g = (g @ self.w[j]).mul_(hs[j] > 0)

    def write_back(self) -> None:
        with torch.no_grad():
            for m, w, b in zip(self.linears, self.w, self.b, strict=True):
                m.weight.copy_(w)
                m.bias.copy_(b)


def train_discriminator(
    net: nn.Sequential,
    x: torch.Tensor,
    y: torch.Tensor,
    weights: tuple[float, float],
    *,
    lr: float,
    max_epochs: int,
    batch_size: int,
    stop_accuracy: float,
    generator: torch.Generator | None,
    max_steps: int | None = None,
) -> DiscriminatorFit:
    """Train ``net`` (from :func:`make_discriminator`) in place with Adam and the class-weighted cross-entropy.

    The loss of a mini-batch is the mean of ``w[y_i] · CE_i`` (Keras' ``class_weight``); every epoch
    visits all rows in a fresh order drawn from ``generator`` (the last mini-batch may be smaller).
    Adam: β = (0.9, 0.999), ε = 1e-7 (Keras' default), bias-corrected as in ``torch.optim.Adam``.
    Stops at the end of the first epoch where :func:`should_stop` fires, or once ``max_steps``
    optimiser steps are done (at the end of that epoch); the only host sync is one scalar per epoch.
    The epochs run in the shared small fit loop (:func:`alkit.learner.fit_phases`, one iteration per
    epoch, one step per mini-batch), the step itself on the flat buffers of :class:`_FlatMLP`.
    """
    n = x.shape[0]
    b1, b2, eps = 0.9, 0.999, 1e-7
    w = torch.tensor(weights, dtype=x.dtype, device=x.device)
    # per-row factor w[y] / (size of the row's mini-batch): the last mini-batch may be smaller
    batch_of_row = torch.full((n,), float(batch_size), dtype=x.dtype, device=x.device)
    batch_of_row[(n // batch_size) * batch_size :] = float(n % batch_size or batch_size)
    mlp = _FlatMLP(net)
    m1 = torch.zeros_like(mlp.p)
    m2 = torch.zeros_like(mlp.p)
    history: list[float] = []
    run = {"step": 0, "stopped": False}
    epoch: dict[str, torch.Tensor] = {}

    def batch_step(k: int) -> dict[str, torch.Tensor]:
        if k == 0:  # a new epoch: one gather, then every mini-batch is a slice (a view)
            order = torch.randperm(n, generator=generator, device=x.device)
            epoch["x"], ye = x[order], y[order]
            epoch["y_f"], epoch["y_b"] = ye.to(x.dtype), ye.bool()
            epoch["scale"] = w[ye] / batch_of_row
        sl = slice(k * batch_size, (k + 1) * batch_size)
        logits, hs = mlp.forward(epoch["x"][sl])
        margin = logits[:, 1] - logits[:, 0]
        correct = (margin > 0).eq(epoch["y_b"][sl]).sum()
        # two-way softmax: p - onehot(y) = (-(d), d) with d = sigmoid(l1 - l0) - y
        d = margin.sigmoid_().sub_(epoch["y_f"][sl]).mul_(epoch["scale"][sl])
        mlp.backward(torch.stack((d.neg(), d), 1), hs)
        run["step"] += 1
        step = run["step"]
        m1.lerp_(mlp.g, 1.0 - b1)
        m2.mul_(b2).addcmul_(mlp.g, mlp.g, value=1.0 - b2)
        denom = m2.sqrt().div_((1.0 - b2**step) ** 0.5).add_(eps)
        mlp.p.addcdiv_(m1, denom, value=-lr / (1.0 - b1**step))
        return {"correct": correct}

    def end_of_epoch(sums: dict[str, torch.Tensor]) -> bool:
        acc = sums["correct"].item() / n  # the one host sync of an epoch
        history.append(acc)
        if should_stop(acc, stop_accuracy):
            run["stopped"] = True
            return True
        return max_steps is not None and run["step"] >= max_steps

    # an iteration of the shared small fit loop is one epoch of ceil(n / batch_size) steps
    fit_phases(max_epochs, [(-(-n // batch_size), batch_step)], window=0, stop=end_of_epoch)
    stopped = bool(run["stopped"])
    mlp.write_back()
    net.eval()
    return DiscriminatorFit(epochs=len(history), stopped=stopped, history=history)


@torch.no_grad()
def _prob_unlabeled(net: nn.Module, x: torch.Tensor, block: int = 8192) -> torch.Tensor:
    """``P(u | x)`` for every row, in blocks (eval mode, no graph)."""
    out = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
    for s in range(0, x.shape[0], block):
        out[s : s + block] = net(x[s : s + block]).softmax(1)[:, 1]
    return out


# --------------------------------------------------------------------------------------------
# The strategy
# --------------------------------------------------------------------------------------------
@register_strategy("dal")
class DiscriminativeActiveLearning(Strategy):
    r"""Discriminative Active Learning: query what a labeled-vs-unlabeled classifier calls "unlabeled" (§4.17).

    The budget ``b`` is split into ``n_mini_queries`` mini-queries of ``b // n`` points, the last one
    taking the remainder (fewer mini-queries when ``b < n``). Before each mini-query the unlabeled side is
    sub-sampled uniformly to ``U'`` of at most ``subsample_ratio × |L'|`` points (at least the mini-query
    size), a **fresh** discriminator (:func:`make_discriminator`, its initialisation seeded from the
    generator) is trained on ``L'`` (label 0) vs ``U'`` (label 1) with balanced class weights
    :math:`w_l = N/N_L`, :math:`w_u = N/N_{U'}` and Adam, until the first epoch whose training accuracy
    exceeds ``stop_accuracy`` (or ``max_epochs``), and the top points of ``U'`` by
    :math:`a(x) = \hat P(u \mid \Psi(x))` move into ``L'`` without labels. ``Ψ`` is the task model's
    feature map (``embeddings`` / ``labeled_embeddings``); labels are never used. The returned indices are
    all moved points in the order they moved, with their ``P(u)`` as scores.

    ``extras`` holds, per mini-query (lists): ``h_divergence``, the proxy H-divergence
    :math:`2(1 - 2\varepsilon)` where ε is the discriminator's **balanced training error at stop**
    (½ error on ``L'`` + ½ error on ``U'``, threshold 0.5, measured in eval mode on the very points it was
    trained on, so it is an optimistic, i.e. large, estimate of the divergence: there are no held-out
    labeled points to measure it on); ``epochs`` (epochs trained); ``stopped`` (whether the 98 % rule
    fired rather than the cap); ``n_train`` (``|L'| + |U'|``).

    Parameters
    ----------
    n_mini_queries : int
        ``n``; 20 for the learned-representation variant of [DAL-code] (10 for raw pixels / autoencoder).
    subsample_ratio : float
        The unlabeled side is sub-sampled to ``subsample_ratio × |L'|`` points before every mini-query
        ([DAL-code]: 10).
    lr : float or None
        Adam learning rate; None: [DAL-code]'s rule by representation size (:func:`default_optim`).
    max_epochs : int or None
        Epoch cap of one discriminator training; None: alkit's rule (:func:`default_caps`): 200 for
        inputs narrower than 30, else [DAL-code]'s (200–1000).
    batch_size : int or None
        Mini-batch size of the discriminator; None: [DAL-code]'s rule (32–1024).
    max_steps : int, None or "auto"
        Step budget of one discriminator training, checked at the end of each epoch. ``"auto"``
        (default, :func:`default_caps`): 1000 for the 256-wide discriminator (inputs of 30 or more
        dimensions), none for the 20-wide one, which the epoch cap bounds. ⚠ [DAL-code] caps epochs
        only (200–1000); on features where the discriminator cannot reach ``stop_accuracy`` (alkit's
        LeNet on Fashion-MNIST: proxy H-divergence ≈ 0.2 after 5 epochs) that means hours per query on
        a CPU. ``None`` leaves the epoch cap alone; ``max_steps=None, max_epochs=1000`` is [DAL-code].
    stop_accuracy : float
        Stop at the end of the first epoch whose training accuracy is strictly above this ([DAL-code]: 0.98;
        not trained to 100 % on purpose, so points near labeled ones keep a lower ``P(u)``).
    score_on : {"subsample", "pool"}
        Which unlabeled points a discriminator ranks: ``"subsample"`` ([DAL-code]) only the ``U'`` it was
        trained on; ``"pool"`` every unlabeled point not moved yet.

    Notes
    -----
    ⚠ Sources differ on details, and alkit chooses:

    * which points are ranked: [DAL-code] predicts only on the sub-sample ``U'`` (the default here);
      Algorithm 1 of the paper ranks the whole unlabeled pool (``score_on="pool"``);
    * the mini-query sizes: [DAL-code] loops in steps of ``int(b/n)`` until ``b`` points are taken, which
      gives more than ``n`` mini-queries when ``n`` does not divide ``b`` (and never ends when ``b < n``);
      alkit runs exactly ``min(n, b)`` mini-queries, the last one taking the remainder;
    * the discriminator's optimiser/epochs/batch table is [DAL-code]'s, keyed on the representation
      size ``d``: alkit's LeNet gives ``d = 320`` and its MLP ``d = 128``, so they fall under the
      "other size" (Adam 1e-3, ≤ 1000 epochs, batch 32) and "128" (Adam 1e-4, ≤ 1000, batch 128) rows;
    * the training caps are alkit's (:func:`default_caps`): [DAL-code]'s epochs plus 1000 steps for
      the 256-wide discriminator, 200 epochs (not 1000) for the 20-wide one on inputs narrower than 30
      (2-D toys; ``python -m benchmarks.dal_density --caps paper`` runs [DAL-code]'s cap);
    * the training accuracy checked by the stopping rule is Keras' running epoch accuracy (mini-batch
      predictions before each update, unweighted), as in [DAL-code]'s ``DiscriminativeEarlyStopping``;
    * initialisation follows Keras' ``Dense`` defaults (Glorot-uniform, zero bias) and Adam uses Keras'
      ``epsilon=1e-7``; the weighted loss is Keras' mean of ``w[y] · CE`` over the mini-batch (not
      PyTorch's ``weight=`` normalisation by the summed weights);
    * the sub-sample is never smaller than the mini-query (which matters only when ``|L'|`` is tiny).

    Cost: ``n`` trainings on at most ``(1 + subsample_ratio)|L'|`` points each, independent of ``N_U``
    (with ``score_on="subsample"``). When the discriminator cannot reach ``stop_accuracy`` (``L'`` drawn
    like the pool, e.g. random embeddings) every training runs to its cap (``max_epochs`` /
    ``max_steps``); lower them for quick runs.

    References
    ----------
    Gissin & Shalev-Shwartz, *Discriminative Active Learning*, arXiv:1907.06347, 2019, and their code
    ``dsgissin/DiscriminativeActiveLearning`` ([DAL-code]); Ben-David et al., *A theory of learning from
    different domains*, Machine Learning 2010 (the H-divergence behind the method).
    """

    needs = frozenset({"embeddings", "labeled_embeddings"})
    # n discriminator trainings per round, each up to its step cap: too slow for the demo (README, *Measured costs*).
    in_demo = False

    def __init__(
        self,
        n_mini_queries: int = 20,
        subsample_ratio: float = 10.0,
        lr: float | None = None,
        max_epochs: int | None = None,
        batch_size: int | None = None,
        max_steps: int | str | None = "auto",
        stop_accuracy: float = 0.98,
        score_on: str = "subsample",
    ) -> None:
        self.n_mini_queries = n_mini_queries
        self.subsample_ratio = subsample_ratio
        self.lr = lr
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.stop_accuracy = stop_accuracy
        self.score_on = score_on

    def _check(self) -> None:
        if isinstance(self.n_mini_queries, bool) or not isinstance(self.n_mini_queries, int) or self.n_mini_queries < 1:
            raise ValueError(f"n_mini_queries must be a positive integer, got {self.n_mini_queries!r}")
        if not self.subsample_ratio > 0:
            raise ValueError(f"subsample_ratio must be > 0, got {self.subsample_ratio!r}")
        for name in ("max_epochs", "batch_size", "max_steps"):
            v = getattr(self, name)
            if name == "max_steps" and v == "auto":
                continue
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                extra = ", 'auto'" if name == "max_steps" else ""
                raise ValueError(f"{name} must be a positive integer{extra} or None, got {v!r}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"lr must be > 0 or None, got {self.lr!r}")
        if self.score_on not in ("subsample", "pool"):
            raise ValueError(f"score_on must be 'subsample' or 'pool', got {self.score_on!r}")

    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        self._check()
        t0 = time.perf_counter()
        emb = view.embeddings
        emb = emb.float() if (not emb.is_floating_point() or emb.element_size() < 4) else emb
        lab = view.labeled_embeddings.to(emb.dtype)
        if lab.shape[0] == 0:
            raise ValueError("dal needs a non-empty labeled set: the discriminator learns labeled vs unlabeled")
        dev, n_u, dim = emb.device, emb.shape[0], emb.shape[1]
        lr0, _, batch0 = default_optim(dim)
        epochs0, steps0 = default_caps(dim)
        lr = lr0 if self.lr is None else float(self.lr)
        max_epochs = epochs0 if self.max_epochs is None else self.max_epochs
        max_steps = steps0 if self.max_steps == "auto" else self.max_steps
        batch = batch0 if self.batch_size is None else self.batch_size

        # L' = L plus the points moved so far (rows of emb); `avail` marks the unlabeled rows not moved yet.
        avail = torch.ones(n_u, dtype=torch.bool, device=dev)
        moved_pos: list[torch.Tensor] = []
        moved_scores: list[torch.Tensor] = []
        extras: dict[str, list] = {"h_divergence": [], "epochs": [], "stopped": [], "n_train": []}
        t_train = t_score = 0.0
        n_moved = 0
        for size in mini_query_sizes(k, self.n_mini_queries):
            ta = time.perf_counter()
            free = torch.nonzero(avail).squeeze(1)  # ascending positions of the remaining unlabeled rows
            n_free = n_u - n_moved
            n_lab = lab.shape[0] + n_moved
            n_sub = max(int(self.subsample_ratio * n_lab), size)
            sub = free[subsample_unlabeled(n_free, n_sub, generator, dev)]
            x_lab = torch.cat([lab, *(emb[p] for p in moved_pos)]) if moved_pos else lab
            x = torch.cat([x_lab, emb[sub]])
            y = torch.cat([torch.zeros(n_lab, dtype=torch.long, device=dev),
                           torch.ones(sub.numel(), dtype=torch.long, device=dev)])
            seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=dev).item())
            with seeded(seed, dev):
                net = make_discriminator(dim).to(device=dev, dtype=emb.dtype)
            fit = train_discriminator(net, x, y, class_weights(n_lab, sub.numel()), lr=lr, max_epochs=max_epochs,
                                      batch_size=batch, stop_accuracy=self.stop_accuracy, generator=generator,
                                      max_steps=max_steps)
            tb = time.perf_counter()
            p_lab = _prob_unlabeled(net, x_lab)
            if self.score_on == "subsample":
                cand = sub.sort().values
                p_cand = p_sub = _prob_unlabeled(net, emb[cand])
            else:
                cand = free
                p_cand = _prob_unlabeled(net, emb[cand])
                p_sub = p_cand[torch.searchsorted(cand, sub.sort().values)]
            err = 0.5 * ((p_lab > 0.5).float().mean() + (p_sub <= 0.5).float().mean())
            pick = top_k(p_cand, size)  # ties to the lowest pool index (cand is ascending)
            pos = cand[pick]
            avail[pos] = False
            moved_pos.append(pos)
            moved_scores.append(p_cand[pick])
            n_moved += size
            extras["h_divergence"].append(proxy_h_divergence(float(err.item())))
            extras["epochs"].append(fit.epochs)
            extras["stopped"].append(fit.stopped)
            extras["n_train"].append(int(x.shape[0]))
            t_train += tb - ta
            t_score += time.perf_counter() - tb
        positions = torch.cat(moved_pos)
        return Selection(
            indices=view.unlabeled[positions],
            scores=torch.cat(moved_scores),
            timings={"train": t_train, "score": t_score, "total": time.perf_counter() - t0},
            extras=extras,
        )
