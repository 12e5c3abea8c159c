"""Two-dimensional toy sets (``blobs``, ``moons``, ``sampling_bias``) for watching a strategy pick points."""

from __future__ import annotations

import numpy as np
import torch

from ._base import ALDataset
from ._util import check_float, check_int, check_seed, register

__all__ = ["blobs", "moons", "sampling_bias"]


def _balanced_labels(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels in ``0..k-1``, counts differing by at most one, in random order."""
    return rng.permutation(np.arange(n) % k)


def _make(name: str, xtr, ytr, xte, yte, class_names, info) -> ALDataset:
    return ALDataset(
        name=name,
        x_train=torch.from_numpy(np.ascontiguousarray(xtr, dtype=np.float32)),
        y_train=torch.from_numpy(np.asarray(ytr, dtype=np.int64)),
        x_test=torch.from_numpy(np.ascontiguousarray(xte, dtype=np.float32)),
        y_test=torch.from_numpy(np.asarray(yte, dtype=np.int64)),
        class_names=class_names,
        default_model="mlp",
        info=info,
    )


@register("blobs")
def blobs(*, n_samples: int = 600, n_classes: int = 3, n_test: int = 600, cluster_std: float = 1.0, seed: int = 0):
    """``n_classes`` Gaussian blobs with centres evenly spaced on a circle of radius 4.

    Parameters
    ----------
    n_samples, n_test : int
        Pool and test sizes; classes are balanced (counts differ by at most one).
    n_classes : int
        Number of blobs / classes, 2..20.
    cluster_std : float
        Standard deviation of each blob.
    seed : int
        Seed of the generator drawing pool then test.
    """
    ds = "blobs"
    k = check_int(ds, "n_classes", n_classes, 2, 20)
    n = check_int(ds, "n_samples", n_samples, k)
    n_te = check_int(ds, "n_test", n_test, 1)
    std = check_float(ds, "cluster_std", cluster_std, 0.0, None, open_lo=True)
    rng = np.random.default_rng(check_seed(ds, seed))
    angles = 2 * np.pi * np.arange(k) / k
    centres = 4.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)

    def draw(m: int):
        y = _balanced_labels(m, k, rng)
        return centres[y] + std * rng.standard_normal((m, 2)), y

    xtr, ytr = draw(n)
    xte, yte = draw(n_te)
    info = {"centres": centres.tolist(), "cluster_std": std, "seed": int(seed)}
    return _make(ds, xtr, ytr, xte, yte, [f"blob {c}" for c in range(k)], info)


@register("moons")
def moons(*, n_samples: int = 600, noise: float = 0.15, n_test: int = 600, seed: int = 0):
    """Two interleaving half circles (class 0 upper, class 1 lower), Gaussian noise ``noise``.

    The angle along each moon is drawn uniformly, so pool and test are i.i.d.
    """
    ds = "moons"
    n = check_int(ds, "n_samples", n_samples, 2)
    n_te = check_int(ds, "n_test", n_test, 1)
    sd = check_float(ds, "noise", noise, 0.0, None)
    rng = np.random.default_rng(check_seed(ds, seed))

    def draw(m: int):
        y = _balanced_labels(m, 2, rng)
        t = rng.uniform(0.0, np.pi, m)
        upper = np.stack([np.cos(t), np.sin(t)], axis=1)
        lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
        x = np.where(y[:, None] == 0, upper, lower)
        return x + sd * rng.standard_normal((m, 2)), y

    xtr, ytr = draw(n)
    xte, yte = draw(n_te)
    return _make(ds, xtr, ytr, xte, yte, ["upper moon", "lower moon"], {"noise": sd, "seed": int(seed)})


# sampling_bias groups, left to right along x: (name, mass, class)
_GROUPS = (
    ("far_left", 0.20, 0),
    ("pocket", 0.10, 1),
    ("middle", 0.50, 0),
    ("far_right", 0.20, 1),
)


@register("sampling_bias")
def sampling_bias(*, n_samples: int = 600, n_test: int = 600, n_initial: int = 10, seed: int = 0):
    """The sampling-bias trap of uncertainty sampling (Dasgupta; WAAL, Fig. 1).

    Along ``x`` there are four groups (``y`` carries no label information):

    ============  ======  =====  ===========================
    group         mass    class  x
    ============  ======  =====  ===========================
    far_left      20 %    0      N(-6, 0.5)
    pocket        10 %    1      U(-3, -2)  (dense middle)
    middle        50 %    0      U(-2, 3)   (dense middle)
    far_right     20 %    1      N(6, 0.5)
    ============  ======  =====  ===========================

    The suggested initial labels (``info["initial_indices"]``) come only from the two far
    clusters, so the first model puts its boundary near ``x = 0``. Uncertainty sampling then
    queries around that boundary, moves it right to ``x ~ 4.5`` and never asks about the
    pocket, which lies between two class-0 regions and is predicted class 0 with confidence:
    it stalls near 90 % accuracy, while random or diversity-aware sampling soon hits the
    pocket and reaches ~100 %.

    Parameters
    ----------
    n_samples, n_test : int
        Pool and test sizes (group sizes follow the masses exactly).
    n_initial : int
        Size of the suggested initial set, half from each far cluster.
    seed : int
        Seed of the generator.
    """
    ds = "sampling_bias"
    n = check_int(ds, "n_samples", n_samples, 20)
    n_te = check_int(ds, "n_test", n_test, 20)
    n_far = round(_GROUPS[0][1] * n)
    n_init = check_int(ds, "n_initial", n_initial, 2, 2 * n_far)
    rng = np.random.default_rng(check_seed(ds, seed))

    def draw(m: int):
        sizes = [round(w * m) for _, w, _ in _GROUPS]
        sizes[2] = m - sizes[0] - sizes[1] - sizes[3]
        xs, ys, gs = [], [], []
        for g, ((_, _, label), k) in enumerate(zip(_GROUPS, sizes)):
            if g in (0, 3):
                x = np.stack([rng.normal(-6.0 if g == 0 else 6.0, 0.5, k), rng.normal(0.0, 0.5, k)], axis=1)
            else:
                lo, hi = (-3.0, -2.0) if g == 1 else (-2.0, 3.0)
                x = np.stack([rng.uniform(lo, hi, k), rng.uniform(-1.5, 1.5, k)], axis=1)
            xs.append(x)
            ys.append(np.full(k, label))
            gs.append(np.full(k, g))
        order = rng.permutation(m)
        return np.concatenate(xs)[order], np.concatenate(ys)[order], np.concatenate(gs)[order]

    xtr, ytr, gtr = draw(n)
    xte, yte, gte = draw(n_te)
    left = rng.permutation(np.flatnonzero(gtr == 0))[: n_init // 2]
    right = rng.permutation(np.flatnonzero(gtr == 3))[: n_init - n_init // 2]
    info = {
        "initial_indices": sorted(int(i) for i in np.concatenate([left, right])),
        "groups": [g for g, _, _ in _GROUPS],
        "group_train": gtr.tolist(),
        "group_test": gte.tolist(),
        "seed": int(seed),
    }
    return _make(ds, xtr, ytr, xte, yte, ["class 0", "class 1"], info)
