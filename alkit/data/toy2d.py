"""Two-dimensional toys (``blobs``, ``moons``, ``sampling_bias`` and its layouts) for watching strategies pick."""

from __future__ import annotations

import math

import numpy as np
import torch

from ._base import ALDataset, DatasetError
from ._util import check_float, check_int, check_seed, register

__all__ = ["SAMPLING_BIAS_LAYOUTS", "blobs", "moons", "sampling_bias", "sampling_bias_layout"]


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


# sampling_bias_layout: named layouts of the family (keyword arguments of the generator). The target is the
# unexplored cluster: no initial label comes from it, and it is a region of its own (not the band).
SAMPLING_BIAS_LAYOUTS: dict[str, dict] = {
    # sampling_bias itself: a class-1 pocket next to the class-0 band
    "pocket": {"band": (-2.0, 3.0), "target_centre": (-2.5, 0.0), "target_half": (0.5, 1.5), "target_mass": 0.10},
    # the pocket moved to the band's right end, next to the class-1 extreme
    "pocket_right": {"band": (-3.0, 2.0), "target_centre": (2.5, 0.0), "target_half": (0.5, 1.5), "target_mass": 0.10},
    # twice as wide and twice the mass
    "wide_pocket": {"band": (-1.0, 3.0), "target_centre": (-2.5, 0.0), "target_half": (1.5, 1.5), "target_mass": 0.20},
    # an island off the axis, above the band
    "island_above": {"band": (-3.0, 3.0), "target_centre": (0.0, 4.5), "target_half": (0.75, 0.75),
                     "target_mass": 0.10},
    # a class-0 island beyond the class-1 extreme
    "island_beyond": {"band": (-3.0, 3.0), "target_centre": (10.0, 0.0), "target_half": (0.75, 1.0),
                      "target_mass": 0.10, "target_class": 0},
    # no band: the target fills the gap between the extremes
    "gap": {"band": None, "target_centre": (0.0, 0.0), "target_half": (1.5, 1.5), "target_mass": 0.20,
            "target_class": 0},
    # a small island far below a wider layout
    "small_far": {"far": 9.0, "band": (-4.0, 4.0), "target_centre": (0.0, -6.0), "target_half": (0.5, 0.5),
                  "target_mass": 0.05},
}
_STD_FAR = 0.5  # standard deviation of the two far clusters
_BAND_HALF_HEIGHT = 1.5  # the band is uniform in y over [-1.5, 1.5]


def _pair(ds: str, opt: str, value: object, positive: bool = False) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise DatasetError(f"{ds}: option {opt} must be a pair of numbers, got {value!r}")
    a, b = (check_float(ds, opt, v, 0.0 if positive else None, None, open_lo=positive) for v in value)
    return a, b


@register("sampling_bias_layout")
def sampling_bias_layout(
    *,
    layout: str = "pocket",
    n_samples: int = 600,
    n_test: int = 600,
    n_initial: int = 10,
    seed: int = 0,
    far: float | None = None,
    band: tuple[float, float] | None | str = "layout",
    target_centre: tuple[float, float] | None = None,
    target_half: tuple[float, float] | None = None,
    target_mass: float | None = None,
    target_class: int | None = None,
):
    """A family of sampling-bias layouts: initial labels at two extremes, an unexplored cluster elsewhere.

    Every layout has a class-0 cluster ``N((-far, 0), 0.5²I)`` and a class-1 cluster
    ``N((far, 0), 0.5²I)`` (the suggested initial labels, ``info["initial_indices"]``, come only
    from these two, half each), an optional class-0 **band** uniform on ``[x0, x1] × [-1.5, 1.5]``, and
    the **target**: a cluster uniform on the box ``centre ± half`` of class ``target_class`` from which
    no initial label is drawn (``info["target_group"]`` is its group id in ``info["group_train"]``).
    Masses: the target ``target_mass``; each extreme 20 % with a band (the band takes the rest) and
    ``(1 - target_mass) / 2`` without one. Group sizes follow the masses exactly (rounded).

    ``layout`` picks a named set of defaults from :data:`SAMPLING_BIAS_LAYOUTS` (positions, sizes,
    distances: a pocket beside the band as in :func:`sampling_bias`, at its other end, twice as wide,
    an island above the band, beyond an extreme, filling a gap, small and far); any keyword given
    overrides it (``band=None`` removes the band). The target may not overlap the band or come within
    three standard deviations of an extreme.

    Parameters
    ----------
    layout : str
        A key of :data:`SAMPLING_BIAS_LAYOUTS`.
    n_samples, n_test, n_initial, seed : int
        Pool size, test size, size of the suggested initial set, generator seed.
    far : float
        Distance of the two extreme clusters from the origin along ``x`` (default 6).
    band : (float, float) or None
        ``x`` range of the class-0 band, or None for no band.
    target_centre, target_half : (float, float)
        Centre and half-widths (``> 0``) of the target box.
    target_mass : float
        Share of the pool (and of the test set) in the target, in ``(0, 0.5]``.
    target_class : int
        Class of the target, 0 or 1 (default 1).
    """
    ds = "sampling_bias_layout"
    if layout not in SAMPLING_BIAS_LAYOUTS:
        raise DatasetError(f"{ds}: unknown layout {layout!r}; valid layouts: {', '.join(SAMPLING_BIAS_LAYOUTS)}")
    spec = {"far": 6.0, "band": None, "target_class": 1, **SAMPLING_BIAS_LAYOUTS[layout]}
    given = {"far": far, "target_centre": target_centre, "target_half": target_half, "target_mass": target_mass,
             "target_class": target_class}
    spec.update({k: v for k, v in given.items() if v is not None})
    if band != "layout":
        spec["band"] = band
    far_ = check_float(ds, "far", spec["far"], 0.0, None, open_lo=True)
    centre = _pair(ds, "target_centre", spec["target_centre"])
    half = _pair(ds, "target_half", spec["target_half"], positive=True)
    mass = check_float(ds, "target_mass", spec["target_mass"], 0.0, 0.5, open_lo=True)
    t_class = check_int(ds, "target_class", spec["target_class"], 0, 1)
    band_ = None if spec["band"] is None else _pair(ds, "band", spec["band"])
    if band_ is not None and not band_[0] < band_[1]:
        raise DatasetError(f"{ds}: option band must be an increasing x range (x0 < x1), got {band_}")
    lo = (centre[0] - half[0], centre[1] - half[1])
    hi = (centre[0] + half[0], centre[1] + half[1])
    if band_ is not None and lo[0] < band_[1] and hi[0] > band_[0] and lo[1] < _BAND_HALF_HEIGHT \
            and hi[1] > -_BAND_HALF_HEIGHT:
        raise DatasetError(f"{ds}: the target box {lo}..{hi} overlaps the band x in {band_}, |y| < 1.5")
    for cx in (-far_, far_):  # distance from each extreme's centre to the box
        dx = max(lo[0] - cx, 0.0, cx - hi[0])
        dy = max(lo[1], 0.0, -hi[1])
        if math.hypot(dx, dy) < 3 * _STD_FAR:
            raise DatasetError(f"{ds}: the target box {lo}..{hi} lies within {3 * _STD_FAR} of the extreme at x = {cx}")
    far_mass = 0.2 if band_ is not None else (1.0 - mass) / 2
    if band_ is not None and 2 * far_mass + mass >= 1.0:
        raise DatasetError(f"{ds}: target_mass {mass} leaves no mass for the band")
    names = ["far_left", "far_right", "target"] + (["band"] if band_ is not None else [])
    masses = [far_mass, far_mass, mass] + ([1.0 - 2 * far_mass - mass] if band_ is not None else [])
    classes = [0, 1, t_class] + ([0] if band_ is not None else [])
    n = check_int(ds, "n_samples", n_samples, 20)
    n_te = check_int(ds, "n_test", n_test, 20)
    n_far = round(far_mass * n)
    n_init = check_int(ds, "n_initial", n_initial, 2, 2 * n_far)
    rng = np.random.default_rng(check_seed(ds, seed))

    def draw(m: int):
        sizes = [round(w * m) for w in masses]
        sizes[-1] = m - sum(sizes[:-1])  # the last group (band, or target without one) takes the rounding
        xs, ys, gs = [], [], []
        for g, k in enumerate(sizes):
            if names[g] in ("far_left", "far_right"):
                cx = -far_ if names[g] == "far_left" else far_
                x = np.stack([rng.normal(cx, _STD_FAR, k), rng.normal(0.0, _STD_FAR, k)], axis=1)
            elif names[g] == "target":
                x = np.stack([rng.uniform(lo[0], hi[0], k), rng.uniform(lo[1], hi[1], k)], axis=1)
            else:
                x = np.stack([rng.uniform(band_[0], band_[1], k),
                              rng.uniform(-_BAND_HALF_HEIGHT, _BAND_HALF_HEIGHT, k)], axis=1)
            xs.append(x)
            ys.append(np.full(k, classes[g]))
            gs.append(np.full(k, g))
        order = rng.permutation(m)
        return np.concatenate(xs)[order], np.concatenate(ys)[order], np.concatenate(gs)[order]

    xtr, ytr, gtr = draw(n)
    xte, yte, gte = draw(n_te)
    left = rng.permutation(np.flatnonzero(gtr == 0))[: n_init // 2]
    right = rng.permutation(np.flatnonzero(gtr == 1))[: n_init - n_init // 2]
    info = {
        "initial_indices": sorted(int(i) for i in np.concatenate([left, right])),
        "groups": names,
        "target_group": names.index("target"),
        "group_train": gtr.tolist(),
        "group_test": gte.tolist(),
        "layout": layout,
        "spec": {"far": far_, "band": None if band_ is None else list(band_), "target_centre": list(centre),
                 "target_half": list(half), "target_mass": mass, "target_class": t_class},
        "seed": int(seed),
    }
    return _make(ds, xtr, ytr, xte, yte, ["class 0", "class 1"], info)
