"""A small WGAN-GP for ASAL and GAAL, trained once per pool and cached in the workspace's cache folder.

Three architectures, chosen from the input shape:

``(1, 28, 28)`` and ``(3, 32, 32)``
    DCGAN-style conv nets: the generator maps ``z`` by a linear layer to a 7x7 (or 4x4) map and
    up-samples with ConvTranspose(4, stride 2, pad 1); the critic mirrors it with Conv(4, 2, 1),
    LeakyReLU(0.2), a 128-d linear *feature* layer and a linear output.
any other shape
    MLPs on the flattened input (two hidden layers of ``width`` units).

Neither net uses batch norm (the critic must not: the gradient penalty is per sample; the
generator is kept simple so that it behaves the same in train and eval mode). The generator has
no output non-linearity because alkit's inputs are normalised, not squashed to [-1, 1].

Training follows Gulrajani et al.'s defaults (reference §4.20, §7 item 10): Adam lr 1e-4,
betas (0.5, 0.9), 5 critic steps per generator step, gradient-penalty weight 10. Every random
draw (initialisation, mini-batches, latents, interpolation weights) comes from ``seed``, so the
same pool and settings give the same GAN.

The cache file is ``<cache_dir>/asal/gan-<fingerprint>.pt``, where ``cache_dir`` is the folder the caller
passes (ASAL passes :attr:`PoolView.cache_dir <alkit.strategies.PoolView>`, which the loop sets to
``<workspace>/cache``; without one nothing is written): the two state dicts and a small
``meta`` dict, written with :func:`torch.save` and read with ``torch.load(..., weights_only=True)``.
The fingerprint hashes the pool's shape, a few order-free statistics of its values and every
training setting, so a changed pool or setting trains a new GAN instead of reusing a stale one.

⚠ Expect little from the default, CPU-sized training (200 generator steps of 5 critic steps each; README,
*Measured costs*, has the time per step): samples look like blurry class averages, enough for the teaching contrast (latent ascent, matching) but
far from the paper's GANs (40K-100K generator steps on MNIST, 25 h on CelebA). Raise
``iterations`` (and use a GPU) for recognisable digits.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pathlib
import time
from typing import Any

import torch
from torch import nn

from alkit.device import exact_dtype
from alkit.seeding import seeded

__all__ = [
    "Generator",
    "Critic",
    "build_gan",
    "gradient_penalty",
    "train_wgan_gp",
    "pool_fingerprint",
    "gan_cache_path",
    "load_or_train_gan",
    "Autoencoder",
    "train_autoencoder",
    "load_or_train_autoencoder",
]

CACHE_SUBDIR = "asal"
#: GANs trained in this process, by (fingerprint, device): a new workspace (e.g. every test's
#: temporary one) gets the file written again without retraining. Disk is always checked first.
_TRAINED: dict[tuple[str, str], dict[str, Any]] = {}
_TRAINED_MAX = 4


class Generator(nn.Module):
    """Maps latents ``(B, latent_dim)`` to inputs ``(B, *input_shape)``."""

    def __init__(self, input_shape: tuple[int, ...], latent_dim: int = 64, width: int = 128) -> None:
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        self.latent_dim = int(latent_dim)
        c = self.input_shape[0] if len(self.input_shape) == 3 else 0
        if self.input_shape == (1, 28, 28):
            self.net = nn.Sequential(
                nn.Linear(latent_dim, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),  # 14x14
                nn.ConvTranspose2d(32, c, 4, 2, 1),  # 28x28
            )
        elif self.input_shape == (3, 32, 32):
            self.net = nn.Sequential(
                nn.Linear(latent_dim, 128 * 4 * 4), nn.ReLU(), nn.Unflatten(1, (128, 4, 4)),
                nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.ReLU(),  # 8x8
                nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),  # 16x16
                nn.ConvTranspose2d(32, c, 4, 2, 1),  # 32x32
            )
        else:
            d = math.prod(self.input_shape)
            self.net = nn.Sequential(
                nn.Linear(latent_dim, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, d),
                nn.Unflatten(1, self.input_shape),
            )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Critic(nn.Module):
    """The WGAN critic; :meth:`features` is its penultimate layer (ASAL-Discriminator features)."""

    def __init__(self, input_shape: tuple[int, ...], width: int = 128) -> None:
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        lrelu = nn.LeakyReLU(0.2)
        if self.input_shape == (1, 28, 28):
            self.body = nn.Sequential(
                nn.Conv2d(1, 32, 4, 2, 1), lrelu,  # 14x14
                nn.Conv2d(32, 64, 4, 2, 1), lrelu,  # 7x7
                nn.Flatten(), nn.Linear(64 * 7 * 7, 128), lrelu,
            )
            self.feature_dim = 128
        elif self.input_shape == (3, 32, 32):
            self.body = nn.Sequential(
                nn.Conv2d(3, 32, 4, 2, 1), lrelu,  # 16x16
                nn.Conv2d(32, 64, 4, 2, 1), lrelu,  # 8x8
                nn.Conv2d(64, 128, 4, 2, 1), lrelu,  # 4x4
                nn.Flatten(), nn.Linear(128 * 4 * 4, 128), lrelu,
            )
            self.feature_dim = 128
        else:
            d = math.prod(self.input_shape)
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(d, width), lrelu, nn.Linear(width, width), lrelu)
            self.feature_dim = width
        self.out = nn.Linear(self.feature_dim, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations ``(B, feature_dim)``."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x)).squeeze(1)


def build_gan(input_shape: tuple[int, ...], latent_dim: int = 64, seed: int = 0) -> tuple[Generator, Critic]:
    """Build a seeded (generator, critic) pair on the CPU; the global RNG is left untouched."""
    with seeded(seed):
        return Generator(input_shape, latent_dim), Critic(input_shape)


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None
                     ) -> torch.Tensor:
    r"""Gulrajani et al.'s penalty :math:`\mathbb E[(\lVert\nabla_{\hat x} D(\hat x)\rVert_2 - 1)^2]`
    on random interpolates :math:`\hat x = \epsilon x + (1-\epsilon)\tilde x`."""
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, generator=generator, device=real.device, dtype=real.dtype)
    mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def train_wgan_gp(
    gen: Generator,
    critic: Critic,
    data: torch.Tensor,
    *,
    iterations: int,
    batch_size: int = 64,
    n_critic: int = 5,
    gp_weight: float = 10.0,
    lr: float = 1e-4,
    betas: tuple[float, float] = (0.5, 0.9),
    seed: int = 0,
) -> dict[str, float]:
    """Train in place for ``iterations`` generator steps on ``data`` (on ``data``'s device).

    Returns the last critic's Wasserstein estimate and penalty (floats). Device-only: the only host
    reads are two scalars at the end.
    """
    dev = data.device
    g = torch.Generator(device=dev).manual_seed(seed)
    n = data.shape[0]
    bs = max(1, min(int(batch_size), n))
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=betas, foreach=True)
    opt_d = torch.optim.Adam(critic.parameters(), lr=lr, betas=betas, foreach=True)
    gen.train()
    critic.train()
    w_est = gp = torch.zeros((), device=dev)
    for _ in range(int(iterations)):
        for p in critic.parameters():
            p.requires_grad_(True)
        for _ in range(int(n_critic)):
            real = data[torch.randint(n, (bs,), generator=g, device=dev)]
            with torch.no_grad():
                fake = gen(torch.randn(bs, gen.latent_dim, generator=g, device=dev))
            w_est = critic(real).mean() - critic(fake).mean()
            gp = gradient_penalty(critic, real, fake, g)
            opt_d.zero_grad(set_to_none=True)
            (-w_est + gp_weight * gp).backward()
            opt_d.step()
        for p in critic.parameters():
            p.requires_grad_(False)
        loss_g = -critic(gen(torch.randn(bs, gen.latent_dim, generator=g, device=dev))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    for p in critic.parameters():
        p.requires_grad_(True)
    gen.eval()
    critic.eval()
    return {"wasserstein_estimate": float(w_est.detach().item()), "gradient_penalty": float(gp.detach().item())}


def pool_fingerprint(pool: torch.Tensor, settings: dict[str, Any]) -> str:
    """A 16-hex-digit key for (pool, settings): shape + order-free statistics + the settings.

    The statistics (sum, sum of squares and of cubes, sums of per-row min/max/norm) are computed in
    float64 and rounded to 9 significant digits, so the key does not depend on the row order or on
    float summation order. Only scalars leave the device, except on MPS, which has no float64: there
    the pool is copied to the CPU once for these sums (explicit fallback), so a pool gets the same
    key, and the same cached GAN, on every device.
    """
    x = pool.detach().flatten(1)
    if exact_dtype(x.device) != torch.float64:
        x = x.cpu()
    x = x.double()
    stats = [x.sum(), (x * x).sum(), (x * x * x).sum(), x.amin(1).sum(), x.amax(1).sum(), x.norm(dim=1).sum()]
    payload = {
        "shape": list(pool.shape),
        "dtype": str(pool.dtype),
        "stats": [f"{s.item():.9g}" for s in stats],
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def gan_cache_path(fingerprint: str, cache_dir: str | os.PathLike) -> pathlib.Path:
    """``<cache_dir>/asal/gan-<fingerprint>.pt``."""
    return pathlib.Path(cache_dir).joinpath(CACHE_SUBDIR, f"gan-{fingerprint}.pt")


def _save(state: dict[str, Any], path: pathlib.Path | None) -> None:
    """Write ``state`` atomically to ``path`` (nothing when there is no cache folder)."""
    if path is None:
        return
    os.makedirs(path.parent, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_or_train_gan(
    pool: torch.Tensor,
    *,
    latent_dim: int = 64,
    iterations: int = 300,
    batch_size: int = 64,
    seed: int = 0,
    max_epochs: int = 100,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[Generator, Critic, dict[str, Any]]:
    """The cached GAN for ``pool`` (all pool inputs, labeled and unlabeled), training it on a miss.

    Training runs ``min(iterations, ceil(max_epochs * N / (5 * batch)))`` generator steps: a tiny
    pool is not passed over more than ``max_epochs`` times by the critic (this keeps test pools of
    a few dozen items cheap; MNIST-sized pools reach the cap only beyond 9 000 steps).

    ``cache_dir``: the folder of the cache file (see the module docstring); None keeps the GAN in this
    process only. Returns ``(generator, critic, info)`` in eval mode on ``pool``'s device; ``info`` holds
    ``path`` (None without ``cache_dir``), ``fingerprint``, ``trained`` (False on a cache hit), ``seconds`` and the training
    statistics.
    """
    n_critic = 5
    iterations = min(int(iterations), math.ceil(max_epochs * pool.shape[0] / (n_critic * max(1, min(batch_size,
                                                                                                   pool.shape[0])))))
    settings = {"arch": "wgan-gp-v1", "latent_dim": int(latent_dim), "iterations": int(iterations),
                "batch_size": int(batch_size), "seed": int(seed), "n_critic": n_critic, "gp_weight": 10.0, "lr": 1e-4,
                "betas": [0.5, 0.9]}
    fp = pool_fingerprint(pool, settings)
    path = None if cache_dir is None else gan_cache_path(fp, cache_dir)
    shape = tuple(pool.shape[1:])
    gen, critic = build_gan(shape, latent_dim, seed)
    gen.to(pool.device)
    critic.to(pool.device)
    t0 = time.perf_counter()
    if path is not None and path.exists():
        state = torch.load(path, map_location=pool.device, weights_only=True)
        gen.load_state_dict(state["generator"])
        critic.load_state_dict(state["critic"])
        gen.eval()
        critic.eval()
        meta = dict(state.get("meta", {}))
        trained = False
    else:
        key = (fp, str(pool.device))
        state = _TRAINED.get(key)
        trained = state is None
        if state is None:
            stats = train_wgan_gp(gen, critic, pool.detach().float(), iterations=iterations, batch_size=batch_size,
                                  seed=seed)
            meta = {"settings": settings, "n_pool": int(pool.shape[0]), "input_shape": list(shape), **stats}
            state = {"generator": {k: v.detach().clone() for k, v in gen.state_dict().items()},
                     "critic": {k: v.detach().clone() for k, v in critic.state_dict().items()}, "meta": meta}
            while len(_TRAINED) >= _TRAINED_MAX:
                _TRAINED.pop(next(iter(_TRAINED)))
            _TRAINED[key] = state
        else:
            gen.load_state_dict(state["generator"])
            critic.load_state_dict(state["critic"])
            gen.eval()
            critic.eval()
            meta = dict(state["meta"])
        _save(state, path)
    for p in list(gen.parameters()) + list(critic.parameters()):
        p.requires_grad_(False)
    info = {"path": None if path is None else str(path), "fingerprint": fp, "trained": trained,
            "seconds": time.perf_counter() - t0, **meta}
    return gen, critic, info


# ======================================================================================
# The autoencoder of ASAL-Autoencoder (matching features)
# ======================================================================================
class Autoencoder(nn.Module):
    """An encoder with the critic's body plus a linear ``code_dim`` layer, and a decoder with the
    generator's architecture (reading the code as its latent). :meth:`encode` gives the matching
    features of ASAL-Autoencoder."""

    def __init__(self, input_shape: tuple[int, ...], code_dim: int = 64, width: int = 128) -> None:
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        self.code_dim = int(code_dim)
        body = Critic(self.input_shape, width)
        self.encoder = nn.Sequential(body.body, nn.Linear(body.feature_dim, self.code_dim))
        self.decoder = Generator(self.input_shape, latent_dim=self.code_dim, width=width)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes ``(B, code_dim)`` of inputs ``(B, *input_shape)``."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x))


def train_autoencoder(ae: Autoencoder, data: torch.Tensor, *, iterations: int, batch_size: int = 64,
                      lr: float = 1e-3, seed: int = 0) -> dict[str, float]:
    """Train in place with Adam on the mean squared reconstruction error; returns the first and last
    mini-batch losses (floats; the only host reads). Every draw comes from ``seed``."""
    dev = data.device
    g = torch.Generator(device=dev).manual_seed(int(seed))
    n = data.shape[0]
    bs = max(1, min(int(batch_size), n))
    opt = torch.optim.Adam(ae.parameters(), lr=lr, foreach=True)
    ae.train()
    first = last = torch.zeros((), device=dev)
    for it in range(int(iterations)):
        x = data[torch.randint(n, (bs,), generator=g, device=dev)]
        loss = torch.nn.functional.mse_loss(ae(x), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if it == 0:
            first = loss.detach()
        last = loss.detach()
    ae.eval()
    return {"first_loss": float(first.item()), "last_loss": float(last.item())}


def load_or_train_autoencoder(
    pool: torch.Tensor,
    *,
    code_dim: int = 64,
    iterations: int = 500,
    batch_size: int = 64,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[Autoencoder, dict[str, Any]]:
    """The cached autoencoder for ``pool`` (``<cache_dir>/asal/ae-<fingerprint>.pt``, read with
    ``weights_only=True``), training it on a miss. Returns ``(autoencoder, info)`` in eval mode on
    ``pool``'s device with frozen parameters; ``info`` as for :func:`load_or_train_gan`."""
    if int(iterations) < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    settings = {"arch": "ae-v1", "code_dim": int(code_dim), "iterations": int(iterations),
                "batch_size": int(batch_size), "seed": int(seed), "lr": 1e-3}
    fp = pool_fingerprint(pool, settings)
    path = None if cache_dir is None else pathlib.Path(cache_dir).joinpath(CACHE_SUBDIR, f"ae-{fp}.pt")
    shape = tuple(pool.shape[1:])
    with seeded(seed):
        ae = Autoencoder(shape, code_dim)
    ae.to(pool.device)
    t0 = time.perf_counter()
    key = (fp, str(pool.device))
    if path is not None and path.exists():
        state = torch.load(path, map_location=pool.device, weights_only=True)
        trained = False
    else:
        state = _TRAINED.get(key)
        trained = state is None
        if state is None:
            stats = train_autoencoder(ae, pool.detach().float(), iterations=iterations, batch_size=batch_size,
                                      seed=seed)
            meta = {"settings": settings, "n_pool": int(pool.shape[0]), "input_shape": list(shape), **stats}
            state = {"autoencoder": {k: v.detach().clone() for k, v in ae.state_dict().items()}, "meta": meta}
            while len(_TRAINED) >= _TRAINED_MAX:
                _TRAINED.pop(next(iter(_TRAINED)))
            _TRAINED[key] = state
        _save(state, path)
    ae.load_state_dict(state["autoencoder"])
    ae.eval()
    for p in ae.parameters():
        p.requires_grad_(False)
    info = {"path": None if path is None else str(path), "fingerprint": fp, "trained": trained,
            "seconds": time.perf_counter() - t0, **dict(state.get("meta", {}))}
    return ae, info
