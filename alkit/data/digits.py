"""``digits``: scikit-learn's 8x8 handwritten digits (1797 images), the default dataset."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch

from ._base import ALDataset, DatasetError
from ._util import DIGIT_NAMES, check_seed, check_test_size, register, stratified_split

__all__ = ["digits"]


def _read_digits() -> tuple[np.ndarray, np.ndarray]:
    """(X float64 (1797, 64) in 0..16, y int64), read from the CSV scikit-learn ships.

    Reading the file directly skips importing ``sklearn.datasets`` (over a second);
    ``load_digits`` is the fallback if the file moved.
    """
    spec = find_spec("sklearn")
    if spec is None:
        raise DatasetError("digits needs scikit-learn (pip install scikit-learn)")
    for loc in spec.submodule_search_locations or []:
        path = Path(loc) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",")
            return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data, bunch.target.astype(np.int64)


@register("digits")
def digits(*, test_size: float | int = 0.25, seed: int = 0) -> ALDataset:
    """8x8 digits as flat vectors ``(N, 64)`` scaled to [0, 1]; stratified split.

    Parameters
    ----------
    test_size : float or int
        Test fraction in (0, 1), or a test count.
    seed : int
        Seed of the split.
    """
    x, y = _read_digits()
    if x.shape != (1797, 64) or y.min() < 0 or y.max() > 9:
        raise DatasetError(f"digits: unexpected data shape {x.shape} / labels {y.min()}..{y.max()}")
    n_test = check_test_size("digits", test_size, len(y))
    rng = np.random.default_rng(check_seed("digits", seed))
    tr, te = stratified_split(y, n_test, rng)
    xf = torch.from_numpy((x / 16.0).astype(np.float32))
    yt = torch.from_numpy(y)
    tr, te = torch.from_numpy(tr), torch.from_numpy(te)
    return ALDataset(
        name="digits",
        x_train=xf[tr],
        y_train=yt[tr],
        x_test=xf[te],
        y_test=yt[te],
        class_names=list(DIGIT_NAMES),
        default_model="mlp",
        info={"source": "sklearn.datasets.load_digits", "test_size": n_test, "seed": int(seed)},
    )
