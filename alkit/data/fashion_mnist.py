"""``fashion_mnist``: Zalando's Fashion-MNIST read from local IDX files (Debian package or torchvision layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ._base import ALDataset, DatasetError
from ._util import check_bool, check_seed, default_root, normalise_uint8, register, resolve_root
from .idx import find_idx_file, read_idx_images, read_idx_labels

__all__ = ["fashion_mnist", "find_fashion_mnist", "FASHION_MNIST_CLASSES", "FASHION_MEAN", "FASHION_STD", "DEBIAN_DIR"]

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
FASHION_MEAN = (0.286,)
FASHION_STD = (0.3529,)
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
FIX = (
    "Fix: install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), "
    f"which puts the files in {DEBIAN_DIR}/, or pass root=DIR where DIR (or DIR/FashionMNIST/raw/, "
    "torchvision's layout) contains train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
    "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]."
)


def _candidates(root: Path | None) -> list[Path]:
    if root is not None:
        return [root, root / "FashionMNIST" / "raw", root / "fashion-mnist"]
    return [DEBIAN_DIR, default_root() / "FashionMNIST" / "raw"]


def find_fashion_mnist(root: str | Path | None = None) -> dict[str, Path]:
    """Paths of the four IDX files: the first candidate folder holding all of them.

    Candidates: ``root``, ``root/FashionMNIST/raw``, ``root/fashion-mnist`` when ``root`` is
    given; otherwise the Debian folder and ``$ALKIT_DATA/FashionMNIST/raw``.
    """
    base = None if root is None else resolve_root("fashion_mnist", root)
    notes = []
    for folder in _candidates(base):
        found = {k: find_idx_file(folder, stem) for k, stem in STEMS.items()}
        if all(found.values()):
            return found  # type: ignore[return-value]
        if any(found.values()):
            missing = [STEMS[k] + "[.gz]" for k, p in found.items() if p is None]
            notes.append(f"{folder} (lacks {', '.join(missing)})")
        else:
            notes.append(f"{folder}")
    raise DatasetError(f"Fashion-MNIST not found; looked in: {'; '.join(notes)}. {FIX}")


def _read_split(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    x = read_idx_images(images, FIX)
    y = read_idx_labels(labels, FIX)
    if x.shape[1:] != (28, 28):
        raise DatasetError(f"{images}: images are {x.shape[1:]}, Fashion-MNIST has 28x28. {FIX}")
    if len(x) != len(y):
        raise DatasetError(f"{images} holds {len(x)} images but {labels} holds {len(y)} labels. {FIX}")
    if len(y) and y.max() > 9:
        raise DatasetError(f"{labels}: label {int(y.max())} outside 0..9. {FIX}")
    return x, y.astype(np.int64)


@register("fashion_mnist")
def fashion_mnist(
    *, root: str | Path | None = None, waal_split: bool = False, seed: int = 0, download: bool = False
) -> ALDataset:
    """Fashion-MNIST as ``(N, 1, 28, 28)`` normalised with mean 0.286 / std 0.3529.

    Parameters
    ----------
    root : str or Path, optional
        Folder with the IDX files (plain or ``.gz``), directly or as ``FashionMNIST/raw/``.
        Default: the Debian package's ``/usr/share/datasets/fashion-mnist/``.
    waal_split : bool
        WAAL's protocol: a seeded permutation of the 60K training images gives a 40K pool
        and a 20K validation set (``x_val`` / ``y_val``); in general one third goes to validation.
    seed : int
        Seed of the WAAL permutation (unused otherwise).
    download : bool
        Let torchvision download the files into ``root/FashionMNIST/raw/`` (default root:
        ``$ALKIT_DATA`` or ``~/.cache/alkit/data``); needs the internet.
    """
    waal = check_bool("fashion_mnist", "waal_split", waal_split)
    seed = check_seed("fashion_mnist", seed)
    if check_bool("fashion_mnist", "download", download):
        root = resolve_root("fashion_mnist", root)
        from torchvision.datasets import FashionMNIST

        try:
            for train in (True, False):
                FashionMNIST(str(root), train=train, download=True)
        except (RuntimeError, OSError) as e:
            raise DatasetError(f"fashion_mnist: download to {root} failed ({e}). {FIX}") from e
    files = find_fashion_mnist(root)
    xtr, ytr = _read_split(files["train_images"], files["train_labels"])
    xte, yte = _read_split(files["test_images"], files["test_labels"])
    x_train = normalise_uint8(xtr[:, None], FASHION_MEAN, FASHION_STD)
    x_test = normalise_uint8(xte[:, None], FASHION_MEAN, FASHION_STD)
    y_train, y_test = torch.from_numpy(ytr), torch.from_numpy(yte)
    info = {"source": str(files["train_images"].parent), "files": {k: str(p) for k, p in files.items()}}
    x_val = y_val = None
    if waal:
        n = len(y_train)
        n_val = round(n / 3)
        if n_val < 1 or n - n_val < 1:
            raise DatasetError(f"fashion_mnist: waal_split needs at least 2 training images, found {n}")
        perm = np.random.default_rng(seed).permutation(n)
        pool = torch.from_numpy(np.sort(perm[: n - n_val]))
        val = torch.from_numpy(np.sort(perm[n - n_val :]))
        x_val, y_val = x_train[val], y_train[val]
        x_train, y_train = x_train[pool], y_train[pool]
        info.update(split="waal", pool_size=n - n_val, val_size=n_val, seed=seed)
    return ALDataset(
        name="fashion_mnist",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=list(FASHION_MNIST_CLASSES),
        default_model="lenet",
        x_val=x_val,
        y_val=y_val,
        mean=FASHION_MEAN,
        std=FASHION_STD,
        info=info,
    )
