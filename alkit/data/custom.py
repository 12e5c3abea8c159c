"""Bring your own data: ``from_arrays``, ``from_folder`` (registered as ``folder``), and ``imbalanced``."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ._base import ALDataset, DatasetError
from ._util import (
    check_float,
    check_int,
    check_seed,
    default_model_for_shape,
    register,
    stratified_split,
)

__all__ = ["from_arrays", "from_folder", "imbalanced"]


# ------------------------------------------------------------------------------------ arrays
def _inputs(what: str, x: object) -> torch.Tensor:
    """Float32 tensor: uint8 scaled to [0, 1], (N, H, W) given a channel, channels-last transposed."""
    if isinstance(x, torch.Tensor):
        arr = x.detach().cpu().numpy()
    else:
        try:
            arr = np.asarray(x)
        except Exception as e:
            raise DatasetError(f"{what}: cannot convert inputs to an array ({e})") from e
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.number)):
        raise DatasetError(f"{what}: inputs must be numeric, got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise DatasetError(f"{what}: inputs must have shape (N, features) or (N, C, H, W), got {arr.shape}")
    scaled = arr.dtype == np.uint8
    out = arr.astype(np.float32)
    if scaled:
        out /= 255.0
    if out.ndim == 3:  # (N, H, W) grey images
        out = out[:, None]
    elif out.ndim == 4 and out.shape[1] not in (1, 3) and out.shape[3] in (1, 3):
        out = out.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
    if not np.isfinite(out).all():
        raise DatasetError(f"{what}: inputs contain NaN or inf")
    return torch.from_numpy(np.ascontiguousarray(out))


def _labels(what: str, y: object, lookup: dict | None) -> np.ndarray:
    arr = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DatasetError(f"{what}: labels must have shape (N,), got {arr.shape}")
    if lookup is not None:
        try:
            return np.asarray([lookup[str(v)] for v in arr.tolist()], dtype=np.int64)
        except KeyError as e:
            raise DatasetError(f"{what}: label {e.args[0]!r} is not among the class names") from e
    if arr.dtype == np.bool_:
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise DatasetError(f"{what}: labels must be integers, got non-integral floats")
        return arr.astype(np.int64)
    raise DatasetError(f"{what}: labels must be integers or strings, got dtype {arr.dtype}")


def from_arrays(
    x_train,
    y_train,
    x_test,
    y_test,
    class_names: Sequence[str] | None = None,
    name: str = "custom",
    default_model: str | None = None,
) -> ALDataset:
    """Wrap your own arrays (numpy or torch) as an :class:`ALDataset`.

    Inputs become float32: uint8 arrays are divided by 255, others kept as they are (no
    normalisation). ``(N, H, W)`` gets a channel axis and ``(N, H, W, C)`` with ``C`` in
    {1, 3} is made channels-first. Labels become int64; integer-valued floats are accepted
    and string labels are mapped to ``class_names`` (sorted unique strings by default).

    ``default_model`` is inferred when None: ``mlp`` for flat vectors, ``resnet18`` for
    3-channel images, ``lenet`` for other images of at least 16x16, ``mlp`` (which flattens)
    for smaller images.

    Raises
    ------
    DatasetError
        NaN / inf inputs, mismatched shapes or lengths, labels outside ``0..K-1``.
    """
    if not isinstance(name, str) or not name:
        raise DatasetError(f"from_arrays: name must be a non-empty string, got {name!r}")
    ytr_raw = y_train.detach().cpu().numpy() if isinstance(y_train, torch.Tensor) else np.asarray(y_train)
    yte_raw = y_test.detach().cpu().numpy() if isinstance(y_test, torch.Tensor) else np.asarray(y_test)
    lookup = None
    if ytr_raw.dtype.kind in "USO":  # string labels
        names = sorted({str(v) for v in np.concatenate([ytr_raw.ravel(), yte_raw.ravel()]).tolist()})
        if class_names is None:
            class_names = names
        lookup = {c: i for i, c in enumerate(class_names)}
    xtr, xte = _inputs(f"{name} train", x_train), _inputs(f"{name} test", x_test)
    ytr, yte = _labels(f"{name} train", ytr_raw, lookup), _labels(f"{name} test", yte_raw, lookup)
    for what, x, y in ((f"{name} train", xtr, ytr), (f"{name} test", xte, yte)):
        if len(x) != len(y):
            raise DatasetError(f"{what}: {len(x)} inputs but {len(y)} labels (shape mismatch)")
        if len(y) == 0:
            raise DatasetError(f"{what}: the split is empty")
    if tuple(xtr.shape[1:]) != tuple(xte.shape[1:]):
        raise DatasetError(
            f"{name}: train inputs have shape {tuple(xtr.shape[1:])} but test inputs {tuple(xte.shape[1:])} (shape mismatch)"
        )
    k_seen = int(max(ytr.max(), yte.max())) + 1
    if class_names is None:
        class_names = [str(c) for c in range(max(k_seen, 2))]
    class_names = [str(c) for c in class_names]
    if len(class_names) < 2:
        raise DatasetError(f"{name}: need at least 2 classes, got class_names={class_names}")
    low = int(min(ytr.min(), yte.min()))
    if low < 0 or k_seen > len(class_names):
        raise DatasetError(
            f"{name}: labels out of range: they span {low}..{k_seen - 1} but there are "
            f"{len(class_names)} classes (labels must lie in 0..{len(class_names) - 1})"
        )
    model = default_model or default_model_for_shape(tuple(xtr.shape[1:]))
    return ALDataset(
        name=name,
        x_train=xtr,
        y_train=torch.from_numpy(ytr),
        x_test=xte,
        y_test=torch.from_numpy(yte),
        class_names=class_names,
        default_model=model,
        info={"source": "from_arrays"},
    )


# ------------------------------------------------------------------------------------ folder
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "F", "P;grey"}


def from_folder(
    root: str | Path,
    image_size: int | tuple[int, int] | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    grayscale: bool | None = None,
) -> ALDataset:
    """Images in an ImageFolder tree ``root/<class>/<image>``, resized and split (stratified).

    Parameters
    ----------
    root : str or Path
        Top folder; each sub-folder is a class (sorted names give labels 0..K-1).
    image_size : int or (int, int), optional
        Common (height, width); default 28 for grey, 32 for colour images.
    test_fraction : float
        Fraction of each class held out for testing, in (0, 1).
    seed : int
        Seed of the split.
    grayscale : bool, optional
        Force 1 (True) or 3 (False) channels; default: grey when every image is grey.

    Inputs are scaled to [0, 1] and normalised with the per-channel mean / std of the
    training split (stored on the dataset).
    """
    ds = "folder"
    if root is None:
        raise DatasetError(f"{ds}: option root is required: a folder with one sub-folder of images per class")
    if not isinstance(root, (str, os.PathLike)):
        raise DatasetError(f"{ds}: option root must be a path, got {root!r}")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DatasetError(f"{ds}: root {path} does not exist or is not a folder")
    frac = check_float(ds, "test_fraction", test_fraction, 0.0, 1.0, open_lo=True)
    if frac >= 1.0:
        raise DatasetError(f"{ds}: option test_fraction must lie in (0, 1), got {frac}")
    rng = np.random.default_rng(check_seed(ds, seed))
    if grayscale is not None and not isinstance(grayscale, bool):
        raise DatasetError(f"{ds}: option grayscale must be None, True or False, got {grayscale!r}")
    size = _image_size(ds, image_size)

    from PIL import Image
    from torchvision.datasets import ImageFolder

    try:
        tree = ImageFolder(str(path))
    except (FileNotFoundError, RuntimeError) as e:
        raise DatasetError(
            f"{ds}: no images found under {path}: expected {path}/<class name>/<image>.png|jpg|... ({e})"
        ) from e
    if len(tree.classes) < 2:
        raise DatasetError(f"{ds}: {path} holds one class folder ({tree.classes}); need at least 2")
    images = []
    for file, _ in tree.samples:
        try:
            with Image.open(file) as im:
                im.load()
                images.append(im.copy())
        except OSError as e:
            raise DatasetError(f"{ds}: cannot read image {file} ({e})") from e
    grey = all(im.mode in _GREY_MODES for im in images) if grayscale is None else grayscale
    if size is None:
        size = (28, 28) if grey else (32, 32)
    mode = "L" if grey else "RGB"
    resample = Image.Resampling.BILINEAR
    pixels = np.stack([np.asarray(im.convert(mode).resize((size[1], size[0]), resample)) for im in images])
    x = pixels[:, None] if grey else pixels.transpose(0, 3, 1, 2)
    x = x.astype(np.float32) / 255.0
    y = np.asarray(tree.targets, dtype=np.int64)
    n_test = min(max(1, round(frac * len(y))), len(y) - 1)
    tr, te = stratified_split(y, n_test, rng)
    mean = x[tr].mean(axis=(0, 2, 3))
    std = np.maximum(x[tr].std(axis=(0, 2, 3)), 1e-6)
    x = (x - mean[None, :, None, None]) / std[None, :, None, None]
    xt, yt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(y)
    tr_t, te_t = torch.from_numpy(tr), torch.from_numpy(te)
    return ALDataset(
        name=path.name or "folder",
        x_train=xt[tr_t],
        y_train=yt[tr_t],
        x_test=xt[te_t],
        y_test=yt[te_t],
        class_names=list(tree.classes),
        default_model=default_model_for_shape(tuple(xt.shape[1:])),
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        info={"source": str(path), "files": len(y), "test_size": n_test, "seed": int(seed)},
    )


@register("folder")
def _folder(
    *,
    root: str | Path | None = None,
    image_size: int | tuple[int, int] | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    grayscale: bool | None = None,
) -> ALDataset:
    """Registry entry ``folder``: :func:`from_folder` with keyword options."""
    return from_folder(root, image_size=image_size, test_fraction=test_fraction, seed=seed, grayscale=grayscale)


def _image_size(ds: str, image_size: object) -> tuple[int, int] | None:
    if image_size is None:
        return None
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        s = check_int(ds, "image_size", image_size, 4, 1024)
        return s, s
    if isinstance(image_size, (tuple, list)) and len(image_size) == 2:
        return check_int(ds, "image_size", image_size[0], 4, 1024), check_int(ds, "image_size", image_size[1], 4, 1024)
    raise DatasetError(f"{ds}: option image_size must be an int or (height, width), got {image_size!r}")


# -------------------------------------------------------------------------------- imbalance
def imbalanced(dataset: ALDataset, ratios: Sequence[float] | None = None, seed: int = 4666) -> ALDataset:
    """Class-imbalanced pool: keep each training sample of class ``k`` with probability ``ratios[k]``.

    The survey's CIFAR10-imb recipe. The default ``ratios[k] = (k + 1) / K`` gives class
    sizes in proportion 1 : 2 : ... : K. Test and validation splits are unchanged.

    Parameters
    ----------
    dataset : ALDataset
        The balanced source.
    ratios : sequence of float, optional
        One keep-probability in (0, 1] per class.
    seed : int
        Seed of the Bernoulli draws (same seed, same subset).
    """
    if not isinstance(dataset, ALDataset):
        raise DatasetError(f"imbalanced: dataset must be an ALDataset, got {type(dataset).__name__}")
    k = dataset.num_classes
    if ratios is None:
        probs = [(c + 1) / k for c in range(k)]
    else:
        if isinstance(ratios, (str, bytes)) or not isinstance(ratios, (Sequence, np.ndarray, torch.Tensor)):
            raise DatasetError(f"imbalanced: option ratios must be a sequence of {k} numbers, got {ratios!r}")
        probs = [float(r) for r in (ratios.tolist() if hasattr(ratios, "tolist") else ratios)]
        if len(probs) != k:
            raise DatasetError(f"imbalanced: option ratios needs one entry per class ({k}), got {len(probs)}")
        bad = [r for r in probs if not (math.isfinite(r) and 0.0 < r <= 1.0)]
        if bad:
            raise DatasetError(f"imbalanced: every entry of option ratios must lie in (0, 1], got {bad}")
    rng = np.random.default_rng(check_seed("imbalanced", seed))
    y = dataset.y_train.numpy()
    keep = rng.random(len(y)) < np.asarray(probs)[y]
    idx = torch.from_numpy(np.flatnonzero(keep))
    info = dict(dataset.info)
    info["imbalance"] = {
        "ratios": probs,
        "seed": int(seed),
        "source_pool_size": len(y),
        "kept_per_class": np.bincount(y[keep], minlength=k).tolist(),
    }
    return ALDataset(
        name=f"{dataset.name}_imb",
        x_train=dataset.x_train[idx],
        y_train=dataset.y_train[idx],
        x_test=dataset.x_test,
        y_test=dataset.y_test,
        class_names=list(dataset.class_names),
        default_model=dataset.default_model,
        x_val=dataset.x_val,
        y_val=dataset.y_val,
        mean=dataset.mean,
        std=dataset.std,
        info=info,
    )
