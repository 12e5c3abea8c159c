"""``mnist``, ``cifar10``, ``svhn`` through torchvision, never downloading unless asked.

Files live under ``root`` (default ``$ALKIT_DATA`` or ``~/.cache/alkit/data``) in torchvision's
layout. The arrays are taken whole from the torchvision dataset (``.data`` / ``.targets``), no
per-image transforms. torchvision verifies CIFAR-10 / SVHN files by md5; when that check fails
but files in the real format are present (e.g. a subset, or test fakes from :mod:`alkit.data.fake`),
alkit reads them itself and records ``info["md5_verified"] = False``.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from ._base import ALDataset, DatasetError
from ._util import DIGIT_NAMES, check_bool, normalise_uint8, register, resolve_root
from .idx import find_idx_file, read_idx_images, read_idx_labels
from .mnist5k import MNIST_MEAN, MNIST_STD

__all__ = ["mnist", "cifar10", "svhn", "CIFAR10_CLASSES"]

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
SVHN_MEAN = (0.4377, 0.4438, 0.4728)
SVHN_STD = (0.1980, 0.2010, 0.1970)
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _missing(ds: str, root: Path, where: Path, detail: str = "") -> DatasetError:
    extra = f" ({detail})" if detail else ""
    return DatasetError(
        f"{ds}: dataset files not found under root={root} (expected in {where}){extra}. "
        f"Pass download=True (CLI: --download) when online to fetch them with torchvision, "
        f"or pass root=DIR where they already are (default root: $ALKIT_DATA or ~/.cache/alkit/data)."
    )


def _download_failed(ds: str, root: Path, err: Exception) -> DatasetError:
    return DatasetError(
        f"{ds}: download to {root} failed ({err}); check the network connection or copy the files there"
    )


def _check_arrays(ds: str, where: Path, x: np.ndarray, y: np.ndarray, shape: tuple[int, ...]) -> None:
    if x.ndim != 4 or tuple(x.shape[1:]) != shape or x.dtype != np.uint8:
        raise DatasetError(
            f"{ds}: images in {where} have shape {x.shape[1:]} / dtype {x.dtype}, expected {shape} uint8"
        )
    if len(x) != len(y):
        raise DatasetError(f"{ds}: {where} holds {len(x)} images but {len(y)} labels")
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise DatasetError(f"{ds}: labels in {where} lie in {int(y.min())}..{int(y.max())}, expected 0..9")


def _make(name, xtr, ytr, xte, yte, mean, std, classes, model, info) -> ALDataset:
    return ALDataset(
        name=name,
        x_train=normalise_uint8(xtr, mean, std),
        y_train=torch.from_numpy(ytr.astype(np.int64)),
        x_test=normalise_uint8(xte, mean, std),
        y_test=torch.from_numpy(yte.astype(np.int64)),
        class_names=list(classes),
        default_model=model,
        mean=mean,
        std=std,
        info=info,
    )


# --------------------------------------------------------------------------------------- MNIST
@register("mnist")
def mnist(*, root: str | Path | None = None, download: bool = False) -> ALDataset:
    """MNIST 60K / 10K as ``(N, 1, 28, 28)``, normalised with 0.1307 / 0.3081.

    Parameters
    ----------
    root : str or Path, optional
        torchvision root; files in ``root/MNIST/raw/`` (unpacked, or ``.gz`` only).
    download : bool
        Let torchvision download missing files (needs internet).
    """
    ds = "mnist"
    base = resolve_root(ds, root)
    dl = check_bool(ds, "download", download)
    raw = base / "MNIST" / "raw"
    from torchvision.datasets import MNIST

    try:
        parts = [MNIST(str(base), train=t, download=dl) for t in (True, False)]
        arrays = [(p.data.numpy()[:, None], p.targets.numpy()) for p in parts]
        info = {"source": str(raw), "reader": "torchvision"}
    except RuntimeError as e:
        if dl:
            raise _download_failed(ds, base, e) from e
        arrays = _read_mnist_raw(ds, base, raw)  # e.g. only the .gz files are there
        info = {"source": str(raw), "reader": "alkit.data.idx"}
    except (AssertionError, ValueError, TypeError, KeyError) as e:
        raise DatasetError(f"{ds}: files in {raw} are corrupt ({e!r}); delete them and pass download=True") from e
    (xtr, ytr), (xte, yte) = arrays
    for x, y in arrays:
        _check_arrays(ds, raw, x, y, (1, 28, 28))
    return _make(ds, xtr, ytr, xte, yte, MNIST_MEAN, MNIST_STD, DIGIT_NAMES, "lenet", info)


def _read_mnist_raw(ds: str, base: Path, raw: Path):
    stems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    paths = [find_idx_file(raw, s) for s in stems]
    if not all(paths):
        lacking = [s for s, p in zip(stems, paths) if p is None]
        raise _missing(ds, base, raw, "lacking " + ", ".join(lacking))
    fix = "Delete the damaged file and pass download=True (CLI: --download) when online."
    out = []
    for img, lab in ((paths[0], paths[1]), (paths[2], paths[3])):
        out.append((read_idx_images(img, fix)[:, None], read_idx_labels(lab, fix)))
    return out


# ------------------------------------------------------------------------------------ CIFAR-10
@register("cifar10")
def cifar10(*, root: str | Path | None = None, download: bool = False) -> ALDataset:
    """CIFAR-10 50K / 10K as ``(N, 3, 32, 32)``, normalised per channel.

    Parameters
    ----------
    root : str or Path, optional
        torchvision root; files in ``root/cifar-10-batches-py/``.
    download : bool
        Let torchvision download missing files (needs internet).
    """
    ds = "cifar10"
    base = resolve_root(ds, root)
    dl = check_bool(ds, "download", download)
    folder = base / "cifar-10-batches-py"
    from torchvision.datasets import CIFAR10

    try:
        parts = [CIFAR10(str(base), train=t, download=dl) for t in (True, False)]
        arrays = [(np.ascontiguousarray(p.data.transpose(0, 3, 1, 2)), np.asarray(p.targets)) for p in parts]
        classes = list(parts[0].classes)
        info = {"source": str(folder), "md5_verified": True}
    except RuntimeError as e:
        if dl:
            raise _download_failed(ds, base, e) from e
        arrays, classes = _read_cifar_batches(ds, base, folder)
        info = {"source": str(folder), "md5_verified": False}
    (xtr, ytr), (xte, yte) = arrays
    for x, y in arrays:
        _check_arrays(ds, folder, x, y, (3, 32, 32))
    return _make(ds, xtr, ytr, xte, yte, CIFAR10_MEAN, CIFAR10_STD, classes, "resnet18", info)


def _unpickle(ds: str, path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="latin1")
    except Exception as e:  # pickle raises many types on damaged input
        raise DatasetError(f"{ds}: {path} is corrupt ({e!r}); delete it and pass download=True") from e
    if not isinstance(entry, dict):
        raise DatasetError(f"{ds}: {path} does not hold a CIFAR batch dictionary")
    return entry


def _read_cifar_batches(ds: str, base: Path, folder: Path):
    """Read the python-pickle batches the way torchvision does, without the md5 check."""
    train = [f"data_batch_{i}" for i in range(1, 6)]
    names = train + ["test_batch"]
    lacking = [n for n in names if not (folder / n).is_file()]
    if lacking:
        raise _missing(ds, base, folder, "lacking " + ", ".join(lacking))
    arrays = []
    for group in (train, ["test_batch"]):
        xs, ys = [], []
        for n in group:
            entry = _unpickle(ds, folder / n)
            try:
                data = np.asarray(entry["data"], dtype=np.uint8)
                labels = np.asarray(entry["labels"] if "labels" in entry else entry["fine_labels"], dtype=np.int64)
                xs.append(data.reshape(-1, 3, 32, 32))
            except (KeyError, ValueError) as e:
                raise DatasetError(f"{ds}: {folder / n} is not a CIFAR batch ({e!r})") from e
            ys.append(labels)
        arrays.append((np.concatenate(xs), np.concatenate(ys)))
    classes = CIFAR10_CLASSES
    meta = folder / "batches.meta"
    if meta.is_file():
        names_in_meta = _unpickle(ds, meta).get("label_names")
        if isinstance(names_in_meta, list) and len(names_in_meta) == 10:
            classes = [str(c) for c in names_in_meta]
    return arrays, classes


# ---------------------------------------------------------------------------------------- SVHN
@register("svhn")
def svhn(*, root: str | Path | None = None, download: bool = False) -> ALDataset:
    """SVHN 73,257 / 26,032 as ``(N, 3, 32, 32)``; label 10 (digit 0) becomes 0.

    Parameters
    ----------
    root : str or Path, optional
        torchvision root; files ``root/train_32x32.mat`` and ``root/test_32x32.mat``.
    download : bool
        Let torchvision download missing files (needs internet).
    """
    ds = "svhn"
    base = resolve_root(ds, root)
    dl = check_bool(ds, "download", download)
    from torchvision.datasets import SVHN

    try:
        parts = [SVHN(str(base), split=s, download=dl) for s in ("train", "test")]
        arrays = [(np.ascontiguousarray(p.data), np.asarray(p.labels)) for p in parts]
        info = {"source": str(base), "md5_verified": True}
    except RuntimeError as e:
        if dl:
            raise _download_failed(ds, base, e) from e
        arrays = [_read_svhn_mat(ds, base, s) for s in ("train", "test")]
        info = {"source": str(base), "md5_verified": False}
    (xtr, ytr), (xte, yte) = arrays
    for x, y in arrays:
        _check_arrays(ds, base, x, y, (3, 32, 32))
    return _make(ds, xtr, ytr, xte, yte, SVHN_MEAN, SVHN_STD, DIGIT_NAMES, "resnet18", info)


def _read_svhn_mat(ds: str, base: Path, split: str):
    """``X`` (32, 32, 3, N) uint8 and ``y`` (N, 1) in 1..10 -> NCHW images and labels 0..9."""
    path = base / f"{split}_32x32.mat"
    if not path.is_file():
        raise _missing(ds, base, base, f"lacking {path.name}")
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path))
        x = np.ascontiguousarray(np.transpose(mat["X"], (3, 2, 0, 1)))
        y = np.asarray(mat["y"]).astype(np.int64).reshape(-1)
    except Exception as e:  # scipy raises many types on damaged input
        raise DatasetError(f"{ds}: {path} is corrupt ({e!r}); delete it and pass download=True") from e
    y[y == 10] = 0
    return x, y
