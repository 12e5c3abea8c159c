"""VAAL: variational adversarial active learning (reference §4.18).

VAAL is task-agnostic: a β-VAE learns a latent space from the labeled *and* unlabeled inputs while a
discriminator on the latent means learns to tell "labeled" from "unlabeled"; the VAE is trained
adversarially to make every latent look labeled. The query takes the unlabeled points the
discriminator is most sure are unlabeled. The task model is neither used nor changed, so both
networks are trained inside :meth:`VAAL.query`, from scratch every round, seeded from the query's
generator.

The pure pieces (losses, networks, scoring) are module functions and classes so they can be tested
and reused on their own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from alkit.seeding import mask_seed
from alkit.strategies._registry import register_strategy
from alkit.strategies._select import top_k
from alkit.strategies._view import PoolView
from alkit.strategies.base import Selection, Strategy

__all__ = [
    "VAAL",
    "MLPVAE",
    "ConvVAE",
    "FlattenEncoder",
    "VAALDiscriminator",
    "build_vae",
    "clamped_bce",
    "kl_divergence",
    "vae_trd_loss",
    "vae_adversarial_loss",
    "discriminator_loss",
    "vaal_scores",
]

#: BCE inputs are clamped to ``[BCE_EPS, 1 - BCE_EPS]`` (a saturated sigmoid would give log 0).
BCE_EPS = 1e-6
_INFER_BATCH = 1024  # batch size of the scoring pass
_VAE_MODES = ("adversarial", "frozen", "none")


# ======================================================================================
# Losses (pure functions)
# ======================================================================================
def clamped_bce(p: torch.Tensor, target: float) -> torch.Tensor:
    """Mean binary cross-entropy of probabilities ``p`` against a constant ``target`` (0 or 1).

    ``p`` is clamped to ``[BCE_EPS, 1 - BCE_EPS]`` first, so a saturated sigmoid stays finite.
    """
    p = p.reshape(-1).clamp(BCE_EPS, 1.0 - BCE_EPS)
    return F.binary_cross_entropy(p, torch.full_like(p, float(target)))


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    r""":math:`\mathrm{KL}(\mathcal N(\mu,\sigma^2)\,\Vert\,\mathcal N(0,I))` of a batch of diagonal Gaussians.

    Parameters
    ----------
    mu, logvar : Tensor, shape (B, d)
    reduction : {"sum", "mean"}
        ``"sum"``: summed over batch and latent dimensions, as in the official code
        (``-0.5 * sum(1 + logvar - mu^2 - exp(logvar))``). ``"mean"``: summed over latent
        dimensions and averaged over the batch (the per-sample KL of the ELBO).
    """
    per_elem = -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp())
    if reduction == "sum":
        return per_elem.sum()
    if reduction == "mean":
        return per_elem.sum(dim=1).mean() if len(per_elem) else per_elem.sum()
    raise ValueError(f"kl_reduction must be 'sum' or 'mean', got {reduction!r}")


def vae_trd_loss(
    x: torch.Tensor,
    recon: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
    kl_reduction: str = "sum",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The VAE's own loss on one batch: :math:`\mathrm{MSE}(\hat x, x) + \beta\,\mathrm{KL}`.

    MSE is the mean over all elements (``nn.MSELoss()`` in the official code).

    Returns
    -------
    (total, mse, kl) : tuple of 0-d Tensor
        ``kl`` is the unweighted KL; ``total = mse + beta * kl``.
    """
    mse = F.mse_loss(recon, x)
    kl = kl_divergence(mu, logvar, kl_reduction)
    return mse + beta * kl, mse, kl


def vae_adversarial_loss(d_labeled: torch.Tensor | None, d_unlabeled: torch.Tensor) -> torch.Tensor:
    r"""The VAE's adversarial term :math:`\mathrm{BCE}(D(\mu_L),1) + \mathrm{BCE}(D(\mu_U),1)`.

    The VAE wants *every* latent, labeled or not, to look labeled (target 1 for both).
    ``d_labeled`` may be None when nothing is labeled yet (the term is then left out).
    """
    loss = clamped_bce(d_unlabeled, 1.0)
    if d_labeled is not None:
        loss = loss + clamped_bce(d_labeled, 1.0)
    return loss


def discriminator_loss(d_labeled: torch.Tensor | None, d_unlabeled: torch.Tensor) -> torch.Tensor:
    r"""The discriminator's loss :math:`\mathrm{BCE}(D(\mu_L),1) + \mathrm{BCE}(D(\mu_U),0)`.

    ⚠ Target 0 for the unlabeled latents: DeepAL+ uses 1 here, so its discriminator learns a
    constant. ``d_labeled`` may be None when nothing is labeled yet.
    """
    loss = clamped_bce(d_unlabeled, 0.0)
    if d_labeled is not None:
        loss = loss + clamped_bce(d_labeled, 1.0)
    return loss


# ======================================================================================
# Networks
# ======================================================================================
def _kaiming_init(module: nn.Module) -> None:
    """The official ``kaiming_init``: Kaiming-normal Linear/Conv2d weights, zero biases, BN (1, 0).

    As in the official code, ``ConvTranspose2d`` layers keep PyTorch's default initialisation.
    """
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """:math:`z = \\mu + \\varepsilon\\,\\sigma`, :math:`\\varepsilon` from the (seeded) global RNG."""
    std = torch.exp(0.5 * logvar)
    return mu + std * torch.randn_like(std)


class _VAEBase(nn.Module):
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(recon, z, mu, logvar)``, the official code's output order."""
        mu, logvar = self.encode(x)
        z = _reparameterize(mu, logvar)
        return self.decode(z), z, mu, logvar


class MLPVAE(_VAEBase):
    """β-VAE for flat (or any non-image) inputs: two ReLU layers of ``hidden`` units each way.

    Not in the official code (which only has the conv VAE); used for tabular / flat inputs such as
    alkit's ``digits`` (64 features). Inputs of any shape are flattened; the output is reshaped back.
    """

    def __init__(self, input_shape: tuple[int, ...], latent_dim: int = 32, hidden: int = 256) -> None:
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        n_in = math.prod(self.input_shape)
        self.encoder = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.fc_mu = nn.Linear(hidden, latent_dim)
        self.fc_logvar = nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_in)
        )
        _kaiming_init(self)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x.flatten(1))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, *self.input_shape)


class ConvVAE(_VAEBase):
    """The official conv β-VAE, for ``(C, H, W)`` images, with a width knob and any size.

    Encoder: four Conv(4×4, stride 2, pad 1) + BN + ReLU with ``w, 2w, 4w, 8w`` channels (official
    ``w = 128``), flatten, two Linear heads to μ and log σ². Decoder: Linear(d → 8w·(H/8)·(W/8)),
    three ConvTranspose(4×4, stride 2, pad 1) + BN + ReLU to ``4w, 2w, w`` channels, a final 1×1
    ConvTranspose to ``C`` channels, no output non-linearity.

    The official net is written for 32×32. Other sizes are zero-padded (centred) up to the next
    multiple of 16 and the reconstruction is cropped back, so 28×28 (MNIST, Fashion-MNIST) runs on a
    32×32 canvas exactly like CIFAR (32 → 16 → 8 → 4 → 2 in the encoder, 4 → 32 in the decoder). The
    pad value is 0, i.e. the dataset mean for normalised images; padded pixels are not in the loss.
    """

    def __init__(self, input_shape: tuple[int, ...], latent_dim: int = 32, width: int = 128) -> None:
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(f"ConvVAE needs (C, H, W) inputs, got shape {tuple(input_shape)}")
        c, h, w = (int(s) for s in input_shape)
        self.input_shape = (c, h, w)
        hp, wp = -(-h // 16) * 16, -(-w // 16) * 16
        top, left = (hp - h) // 2, (wp - w) // 2
        self._pad = (left, wp - w - left, top, hp - h - top)
        ch = [width, 2 * width, 4 * width, 8 * width]
        layers: list[nn.Module] = []
        prev = c
        for out in ch:
            layers += [nn.Conv2d(prev, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(True)]
            prev = out
        self.encoder = nn.Sequential(*layers)
        n_flat = ch[3] * (hp // 16) * (wp // 16)
        self.fc_mu = nn.Linear(n_flat, latent_dim)
        self.fc_logvar = nn.Linear(n_flat, latent_dim)
        self._dec_shape = (ch[3], hp // 8, wp // 8)
        self.fc_dec = nn.Linear(latent_dim, math.prod(self._dec_shape))
        dec: list[nn.Module] = []
        for a, b in ((ch[3], ch[2]), (ch[2], ch[1]), (ch[1], ch[0])):
            dec += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        dec.append(nn.ConvTranspose2d(ch[0], c, 1))
        self.decoder = nn.Sequential(*dec)
        _kaiming_init(self)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if any(self._pad):
            x = F.pad(x, self._pad)
        h = self.encoder(x).flatten(1)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decoder(self.fc_dec(z).view(-1, *self._dec_shape))
        left, _, top, _ = self._pad
        _, h, w = self.input_shape
        return out[:, :, top : top + h, left : left + w]


class FlattenEncoder(_VAEBase):
    """No VAE (``vae_mode="none"``): the "latent mean" is the flattened input, ``latent_dim = prod(shape)``.

    Has no parameters; ``encode`` returns ``(x.flatten(1), zeros)`` so it plugs into the scoring path.
    """

    def __init__(self, input_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        self.latent_dim = math.prod(self.input_shape)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = x.flatten(1)
        return flat, torch.zeros_like(flat)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("FlattenEncoder has no decoder (vae_mode='none' trains no VAE)")


class VAALDiscriminator(nn.Module):
    """``Linear(d→512)–ReLU–Linear(512→512)–ReLU–Linear(512→1)–Sigmoid``: P(latent is labeled).

    ⚠ The paper calls it a "5-layer MLP"; the official code (reproduced here) has 3 Linear layers.
    """

    def __init__(self, latent_dim: int = 32, hidden: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(True), nn.Linear(hidden, hidden), nn.ReLU(True),
            nn.Linear(hidden, 1), nn.Sigmoid(),
        )
        _kaiming_init(self)

    def forward(self, mu: torch.Tensor) -> torch.Tensor:
        return self.net(mu).reshape(-1)


def build_vae(input_shape: tuple[int, ...], latent_dim: int = 32, arch: str = "auto",
              conv_width: int = 32, mlp_hidden: int = 256) -> _VAEBase:
    """The VAE for an input shape: ``"auto"`` picks :class:`ConvVAE` for ``(C, H, W)`` inputs, else :class:`MLPVAE`."""
    if arch == "auto":
        arch = "conv" if len(input_shape) == 3 else "mlp"
    if arch == "conv":
        return ConvVAE(input_shape, latent_dim, conv_width)
    if arch == "mlp":
        return MLPVAE(input_shape, latent_dim, mlp_hidden)
    raise ValueError(f"arch must be 'auto', 'conv' or 'mlp', got {arch!r}")


@torch.no_grad()
def vaal_scores(
    encode: Callable[[torch.Tensor], torch.Tensor],
    discriminator: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    batch_size: int = _INFER_BATCH,
) -> torch.Tensor:
    r"""VAAL's acquisition :math:`a(x) = -D(\mu(x))`, shape (N,), on ``x``'s device.

    ``encode`` maps a batch of inputs to latent means μ; ``discriminator`` maps μ to the probability
    of "labeled". Larger score = less labeled-looking = queried first. Both are injected so the
    scoring path can be tested with fake networks.
    """
    out = [discriminator(encode(x[s : s + batch_size])).reshape(-1) for s in range(0, len(x), batch_size)]
    if not out:
        return torch.empty(0, device=x.device)
    return -torch.cat(out)


def _update(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


class _BatchStream:
    """Endless shuffled mini-batches of ``range(n)`` (drop-last, reshuffle each pass); seeded by the global RNG."""

    def __init__(self, n: int, batch_size: int, device: torch.device) -> None:
        self.n, self.size, self.device = n, max(1, min(batch_size, n)), device
        self._perm = torch.empty(0, dtype=torch.long, device=device)
        self._pos = 0

    def next(self) -> torch.Tensor:
        if self._pos + self.size > len(self._perm):
            self._perm = torch.randperm(self.n, device=self.device)
            self._pos = 0
        idx = self._perm[self._pos : self._pos + self.size]
        self._pos += self.size
        return idx


# ======================================================================================
# The strategy
# ======================================================================================
@register_strategy("vaal")
class VAAL(Strategy):
    r"""Variational adversarial active learning (reference §4.18).

    Every query trains, from scratch, a β-VAE on the labeled ∪ unlabeled inputs and a discriminator
    :math:`D` on the latent means, then picks the ``b`` unlabeled points with the **lowest**
    :math:`D(\mu(x))` (the probability of "labeled"): :math:`a(x) = -D(\mu(x))`, top-k with ties
    to the lowest pool index. The task model is not used and its training is untouched.

    Losses (official code):
    :math:`\mathcal L_\text{VAE} = \lambda_1 \sum_{S\in\{L,U\}} (\mathrm{MSE} + \beta\,\mathrm{KL})_S
    + \lambda_2 [\mathrm{BCE}(D(\mu_L), 1) + \mathrm{BCE}(D(\mu_U), 1)]` and
    :math:`\mathcal L_D = \mathrm{BCE}(D(\mu_L), 1) + \mathrm{BCE}(D(\mu_U), 0)` with μ computed under
    ``no_grad``. Per iteration: ``num_vae_steps`` VAE steps, each after the first on a freshly drawn
    labeled/unlabeled batch pair, then ``num_adv_steps`` discriminator steps, the first on the
    latest pair. BCE inputs are clamped to :math:`[10^{-6}, 1-10^{-6}]`.

    Parameters
    ----------
    latent_dim : int
        Latent size :math:`d` (paper: 32 for CIFAR, 64 ImageNet, 128 segmentation).
    beta : float
        β, the KL weight (paper: 1).
    kl_reduction : {"sum", "mean"}
        ``"sum"`` (official code): KL summed over batch and latent dimensions, so it dominates the
        mean-reduced MSE; ``"mean"``: the per-sample KL (sum over latents, mean over the batch).
    lambda1, lambda2 : float
        Weights of the VAE's own loss and of its adversarial term (paper: λ1 = 1; λ2 = 1 for CIFAR,
        10 for Caltech/ImageNet, 25 for segmentation).
    epochs : float
        Training length in passes over the pool: ``ceil(epochs * (N_L + N_U) / batch_size)``
        iterations, counted from the whole pool as the official code does (paper: 100 epochs).
        The default is scaled down so a round stays cheap on a CPU (see Notes).
    max_iterations : int or None
        Cap on the number of iterations (None: no cap), so large pools stay bounded.
    batch_size : int
        Size of each labeled and each unlabeled mini-batch (paper: 64, official code: 128); a set
        smaller than this is used whole.
    lr_vae, lr_disc : float
        Adam learning rates of the VAE and the discriminator (paper and code: 5e-4 both).
    num_vae_steps, num_adv_steps : int
        VAE and discriminator steps per iteration (official: 2 and 1).
    arch : {"auto", "conv", "mlp"}
        VAE family: ``"auto"`` uses the conv VAE for ``(C, H, W)`` inputs, the MLP VAE otherwise.
    conv_width : int
        Channels of the first conv layer of the conv VAE (then ×2, ×4, ×8). Official: 128; the
        default 32 is 16× cheaper, which a CPU needs.
    mlp_hidden : int
        Width of the two hidden layers of the MLP VAE (flat inputs; not in the official code).
    disc_hidden : int
        Width of the discriminator's two hidden layers (official: 512).
    vae_mode : {"adversarial", "frozen", "none"}
        Ablations of VAAL's latent space (VAAL paper §4.4 ablates the same two parts).
        ``"adversarial"`` (default): VAAL, the VAE and D trained together as above.
        ``"frozen"``: the VAE is trained first on its own loss alone (:math:`\lambda_1`
        :math:`\mathcal L_\text{trd}`, the same ``iterations × num_vae_steps`` steps and batch
        sizes, no adversarial term, so ``lambda2`` has no effect), then frozen (eval mode, no more
        updates) while D trains for ``iterations × num_adv_steps`` steps on its latent means.
        ``"none"``: no VAE at all; D (same widths) learns labeled-vs-unlabeled on the flattened
        raw inputs for ``iterations × num_adv_steps`` steps. In ``"none"`` mode the extras
        ``vae_recon``, ``vae_kl`` and ``vae_adv`` are None; in ``"frozen"`` mode ``vae_adv`` is
        the VAE's adversarial term measured (not trained on) during D's training.

    Notes
    -----
    Cost and defaults: the paper's 100 epochs are out of reach of a CPU for image pools;
    ``epochs=10`` and ``max_iterations=300`` cap one round at 300 VAE/discriminator iterations
    (digits: 211), and an image iteration costs far more than a digits one (the official conv width
    128 more still), so raise ``max_iterations`` on a GPU. The measured costs per round are in the
    README (*Measured costs*). ``in_demo`` is False for the same reason. The discriminator sees μ, not a sampled z. The networks
    are re-initialised every query (seeded from the query's generator), as the official code
    creates new models per split. Both run in train mode while training (BatchNorm batch
    statistics) and in eval mode for scoring. ``Selection.extras`` stores the final-epoch means of
    the reconstruction MSE, the (unweighted) KL, the VAE adversarial term and the discriminator
    loss, plus the iteration count and the mean :math:`D(\mu)` over the unlabeled pool. With no
    labeled inputs the labeled terms are left out and the ranking is uninformative.

    ⚠ Sources disagree: the paper's discriminator is "5-layer", the code's has 3 Linear layers
    (reproduced); batch 64 (paper, reproduced) vs 128 (code); ImageNet learning rates differ
    between the paper's table and text. ⚠ DeepAL+'s VAAL is not VAAL: (a) its discriminator step
    uses target 1 for the unlabeled batch too, so D learns a constant; (b) it selects the
    **highest** scores; (c) it runs ``num_vae_steps`` discriminator steps per iteration; (d) VAE
    and D reuse the task optimiser settings (Adam 1e-3, 30 epochs). None of these is reproduced.

    References
    ----------
    Sinha, Ebrahimi & Darrell, *Variational Adversarial Active Learning*, ICCV 2019;
    official code: github.com/sinhasam/vaal.
    """

    needs = frozenset({"inputs", "labeled_inputs"})
    in_demo = False

    def __init__(
        self,
        latent_dim: int = 32,
        beta: float = 1.0,
        kl_reduction: str = "sum",
        lambda1: float = 1.0,
        lambda2: float = 1.0,
        epochs: float = 10.0,
        max_iterations: int | None = 300,
        batch_size: int = 64,
        lr_vae: float = 5e-4,
        lr_disc: float = 5e-4,
        num_vae_steps: int = 2,
        num_adv_steps: int = 1,
        arch: str = "auto",
        conv_width: int = 32,
        mlp_hidden: int = 256,
        disc_hidden: int = 512,
        vae_mode: str = "adversarial",
    ) -> None:
        self.latent_dim = latent_dim
        self.beta = beta
        self.kl_reduction = kl_reduction
        self.lambda1 = lambda1
        self.lambda2 = lambda2
        self.epochs = epochs
        self.max_iterations = max_iterations
        self.batch_size = batch_size
        self.lr_vae = lr_vae
        self.lr_disc = lr_disc
        self.num_vae_steps = num_vae_steps
        self.num_adv_steps = num_adv_steps
        self.arch = arch
        self.conv_width = conv_width
        self.mlp_hidden = mlp_hidden
        self.disc_hidden = disc_hidden
        self.vae_mode = vae_mode

    # --- pieces ----------------------------------------------------------------------------
    def _check(self) -> None:
        if self.vae_mode not in _VAE_MODES:
            raise ValueError(f"vae_mode must be one of {_VAE_MODES}, got {self.vae_mode!r}")
        if self.kl_reduction not in ("sum", "mean"):
            raise ValueError(f"kl_reduction must be 'sum' or 'mean', got {self.kl_reduction!r}")
        for name in ("latent_dim", "batch_size", "num_vae_steps", "num_adv_steps", "conv_width", "mlp_hidden",
                     "disc_hidden"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not self.epochs > 0:
            raise ValueError(f"epochs must be > 0, got {self.epochs!r}")
        if self.max_iterations is not None and (not isinstance(self.max_iterations, int) or self.max_iterations < 1):
            raise ValueError(f"max_iterations must be a positive integer or None, got {self.max_iterations!r}")

    def num_iterations(self, n_pool: int) -> tuple[int, int]:
        """``(iterations, iterations per epoch)`` for a pool of ``n_pool = N_L + N_U`` items."""
        per_epoch = max(1, math.ceil(n_pool / self.batch_size))
        iters = max(1, math.ceil(self.epochs * n_pool / self.batch_size))
        if self.max_iterations is not None:
            iters = min(iters, self.max_iterations)
        return iters, per_epoch

    def fit_networks(
        self, x_labeled: torch.Tensor, x_unlabeled: torch.Tensor, seed: int
    ) -> tuple[_VAEBase, VAALDiscriminator, dict[str, torch.Tensor | None]]:
        """Train a fresh VAE and discriminator (seeded by ``seed``); return them (eval mode) and loss logs.

        The logs are 0-d tensors on the inputs' device: final-epoch means of ``recon`` (MSE summed
        over the labeled and unlabeled batch), ``kl`` (unweighted, likewise), ``adv`` (the VAE's
        adversarial term) and ``disc`` (the discriminator loss). Nothing leaves the device here.
        With ``vae_mode="none"`` the first return value is a :class:`FlattenEncoder` (no VAE) and
        ``recon``, ``kl`` and ``adv`` are None. Every mode runs the same loop,
        :func:`alkit.learner.fit_phases`: ``iterations`` times the VAE's phase and / or D's phase.
        """
        from alkit.learner import fit_phases
        from alkit.seeding import seeded

        self._check()
        dev = x_unlabeled.device
        n_l, n_u = len(x_labeled), len(x_unlabeled)
        iters, per_epoch = self.num_iterations(n_l + n_u)
        window = min(iters, per_epoch)
        shape = tuple(x_unlabeled.shape[1:])
        mode = self.vae_mode
        with seeded(seed, dev):
            if mode == "none":
                enc: _VAEBase = FlattenEncoder(shape).to(dev)
            else:
                enc = build_vae(shape, self.latent_dim, self.arch, self.conv_width, self.mlp_hidden).to(dev)
            disc = VAALDiscriminator(enc.latent_dim if mode == "none" else self.latent_dim,
                                     self.disc_hidden).to(dev)
            lab = _BatchStream(n_l, self.batch_size, dev) if n_l else None
            unl = _BatchStream(n_u, self.batch_size, dev)
            cur: dict[str, torch.Tensor | None] = {}

            def draw() -> None:
                cur["l"] = x_labeled[lab.next()] if lab is not None else None
                cur["u"] = x_unlabeled[unl.next()]

            def latents() -> tuple[torch.Tensor | None, torch.Tensor]:
                with torch.no_grad():
                    if mode == "adversarial":
                        return (None if cur["l"] is None else enc(cur["l"])[2]), enc(cur["u"])[2]
                    return (None if cur["l"] is None else enc.encode(cur["l"])[0]), enc.encode(cur["u"])[0]

            def vae_step(k: int) -> dict[str, torch.Tensor]:
                draw()  # every VAE step trains on a fresh pair
                trd, mse, kl, mu_l, mu_u = self._vae_terms(enc, cur["l"], cur["u"])
                logs = {"recon": mse.detach(), "kl": kl.detach()}
                loss = self.lambda1 * trd
                if mode == "adversarial":
                    adv = vae_adversarial_loss(disc(mu_l) if mu_l is not None else None, disc(mu_u))
                    loss = loss + self.lambda2 * adv
                    logs["adv"] = adv.detach()
                _update(opt_v, loss)
                return logs

            def disc_step(k: int) -> dict[str, torch.Tensor]:
                if k or mode != "adversarial":  # VAAL's first D step reuses the VAE's latest pair
                    draw()
                mu_l, mu_u = latents()
                d_u = disc(mu_u)
                d_l = disc(mu_l) if mu_l is not None else None
                d_loss = discriminator_loss(d_l, d_u)
                _update(opt_d, d_loss)
                logs = {"disc": d_loss.detach()}
                if mode == "frozen":  # the VAE's adversarial term, measured, not trained on
                    logs["adv"] = vae_adversarial_loss(None if d_l is None else d_l.detach(), d_u.detach())
                return logs

            if mode != "none":
                opt_v = torch.optim.Adam(enc.parameters(), lr=self.lr_vae, foreach=True)
                enc.train()
            if mode != "frozen":
                opt_d = torch.optim.Adam(disc.parameters(), lr=self.lr_disc, foreach=True)
                disc.train()
            if mode == "adversarial":  # VAE and D in turn, every iteration
                logs, _ = fit_phases(iters, [(self.num_vae_steps, vae_step), (self.num_adv_steps, disc_step)],
                                     window=window)
            else:  # the VAE first, on its own loss ("frozen"), then D on its frozen (or no) latent space
                logs = fit_phases(iters, [(self.num_vae_steps, vae_step)], window=window)[0] if mode == "frozen" else {}
                enc.eval()  # frozen from here on (BatchNorm running statistics included)
                enc.requires_grad_(False)
                if mode == "frozen":
                    opt_d = torch.optim.Adam(disc.parameters(), lr=self.lr_disc, foreach=True)
                    disc.train()
                logs.update(fit_phases(iters, [(self.num_adv_steps, disc_step)], window=window)[0])
        enc.eval()
        disc.eval()
        out: dict[str, torch.Tensor | None] = {"recon": None, "kl": None, "adv": None, "disc": None}
        out.update(logs)
        return enc, disc, out

    def _vae_terms(self, vae: _VAEBase, xl: torch.Tensor | None, xu: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """``(trd, mse, kl, mu_l, mu_u)`` of the VAE on an unlabeled batch plus, when given, a labeled one."""
        recon_u, _, mu_u, logvar_u = vae(xu)
        trd, mse, kl = vae_trd_loss(xu, recon_u, mu_u, logvar_u, self.beta, self.kl_reduction)
        mu_l = None
        if xl is not None:
            recon_l, _, mu_l, logvar_l = vae(xl)
            trd_l, mse_l, kl_l = vae_trd_loss(xl, recon_l, mu_l, logvar_l, self.beta, self.kl_reduction)
            trd, mse, kl = trd + trd_l, mse + mse_l, kl + kl_l
        return trd, mse, kl, mu_l, mu_u

    def select_with(
        self,
        view: PoolView,
        k: int,
        encode: Callable[[torch.Tensor], torch.Tensor],
        discriminator: Callable[[torch.Tensor], torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Score the unlabeled inputs with given networks; return ``(positions, picked scores, all scores)``."""
        scores = vaal_scores(encode, discriminator, view.inputs)
        pos = top_k(scores, k)
        return pos, scores[pos], scores

    # --- the contract ----------------------------------------------------------------------
    def _select(self, view: PoolView, k: int, generator: torch.Generator | None) -> Selection:
        self._check()
        t0 = time.perf_counter()
        seed_t = torch.randint(0, 2**62, (1,), generator=generator, device=view.device)
        seed = mask_seed(seed_t.item())
        vae, disc, logs = self.fit_networks(view.labeled_inputs, view.inputs, seed)
        t1 = time.perf_counter()
        pos, picked, scores = self.select_with(view, k, lambda x: vae.encode(x)[0], disc)
        t2 = time.perf_counter()
        def num(t: torch.Tensor | None) -> float | None:
            return None if t is None else float(t.item())

        extras: dict[str, Any] = {
            "vae_recon": num(logs["recon"]),
            "vae_kl": num(logs["kl"]),
            "vae_adv": num(logs["adv"]),
            "disc_loss": num(logs["disc"]),
            "disc_unlabeled_mean": float((-scores.mean()).item()),
            "iterations": self.num_iterations(view.n_labeled + view.n_unlabeled)[0],
            "seed": seed,
        }
        return Selection(
            indices=view.unlabeled[pos], scores=picked,
            timings={"train": t1 - t0, "score": t2 - t1, "select": time.perf_counter() - t2}, extras=extras,
        )
