"""Writers of small files in the real on-disk formats, for tests and offline demos.

Each ``write_fake_*`` function returns the uint8 arrays it wrote (images channels-first,
labels as the alkit loader should report them) so a test can check the round trip.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

from .idx import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC

__all__ = [
    "write_idx",
    "write_idx_images",
    "write_idx_labels",
    "write_fake_fashion_mnist",
    "write_fake_mnist_torchvision",
    "write_fake_cifar10",
    "write_fake_svhn",
    "write_fake_image_folder",
]

IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def write_idx(path: str | Path, array: np.ndarray, magic: int, gz: bool = False) -> Path:
    """Write a uint8 array as an IDX file; with ``gz`` compress it and append ``.gz`` to the name if missing."""
    arr = np.ascontiguousarray(array, dtype=np.uint8)
    if magic & 0xFF != arr.ndim:
        raise ValueError(f"magic 0x{magic:08x} declares {magic & 0xFF} dims, array has {arr.ndim}")
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    payload = header + arr.tobytes()
    path = Path(path)
    if gz and path.suffix != ".gz":
        path = path.with_name(path.name + ".gz")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload, compresslevel=1) if gz else payload)
    return path


def write_idx_images(path: str | Path, array_uint8: np.ndarray, gz: bool = False) -> Path:
    """Images ``(N, H, W)`` uint8 -> IDX file with magic 0x00000803."""
    return write_idx(path, array_uint8, IDX_IMAGES_MAGIC, gz)


def write_idx_labels(path: str | Path, labels: np.ndarray, gz: bool = False) -> Path:
    """Labels ``(N,)`` uint8 -> IDX file with magic 0x00000801."""
    return write_idx(path, labels, IDX_LABELS_MAGIC, gz)


def _random_split(n_train: int, n_test: int, seed: int, shape: tuple[int, ...], classes: int = 10):
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        out[f"x_{split}"] = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
        out[f"y_{split}"] = rng.permutation(np.arange(n) % classes).astype(np.int64)
    return out


def _write_idx_set(folder: Path, arrays: dict, gz: bool) -> None:
    xs = (arrays["x_train"][:, 0], arrays["y_train"], arrays["x_test"][:, 0], arrays["y_test"])
    for stem, arr in zip(IDX_STEMS, xs):
        if arr.ndim == 3:
            write_idx_images(folder / stem, arr, gz)
        else:
            write_idx_labels(folder / stem, arr, gz)


def write_fake_fashion_mnist(
    root: str | Path, n_train: int = 300, n_test: int = 100, layout: str = "debian", seed: int = 0
) -> dict[str, np.ndarray]:
    """Random Fashion-MNIST-format files: ``layout="debian"`` writes ``root/*.gz``,
    ``"torchvision"`` writes unpacked files in ``root/FashionMNIST/raw/``.

    Returns ``x_train`` (N, 1, 28, 28) uint8, ``y_train``, ``x_test``, ``y_test``.
    """
    if layout not in ("debian", "torchvision"):
        raise ValueError(f"layout must be 'debian' or 'torchvision', got {layout!r}")
    arrays = _random_split(n_train, n_test, seed, (1, 28, 28))
    root = Path(root)
    if layout == "debian":
        _write_idx_set(root, arrays, gz=True)
    else:
        _write_idx_set(root / "FashionMNIST" / "raw", arrays, gz=False)
    return arrays


def write_fake_mnist_torchvision(
    root: str | Path, n_train: int = 300, n_test: int = 100, seed: int = 0, gz: bool = False
) -> dict[str, np.ndarray]:
    """MNIST files in torchvision's layout ``root/MNIST/raw/`` (unpacked, which is what
    torchvision checks for; ``gz=True`` writes only the ``.gz`` archives)."""
    arrays = _random_split(n_train, n_test, seed, (1, 28, 28))
    _write_idx_set(Path(root) / "MNIST" / "raw", arrays, gz=gz)
    return arrays


def write_fake_cifar10(root: str | Path, n_train: int = 100, n_test: int = 50, seed: int = 0) -> dict[str, np.ndarray]:
    """CIFAR-10 python-pickle batches in ``root/cifar-10-batches-py/`` (5 data batches, test batch, meta).

    The md5 sums differ from the real files, so torchvision rejects them and alkit reads them itself.
    """
    arrays = _random_split(n_train, n_test, seed, (3, 32, 32))
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    chunks = np.array_split(np.arange(n_train), 5)
    batches = [(f"data_batch_{i + 1}", idx, "train") for i, idx in enumerate(chunks)]
    batches.append(("test_batch", np.arange(n_test), "test"))
    for name, idx, split in batches:
        x, y = arrays[f"x_{split}"][idx], arrays[f"y_{split}"][idx]
        entry = {
            "batch_label": f"fake {name}",
            "labels": [int(v) for v in y],
            "data": x.reshape(len(x), 3 * 32 * 32),
            "filenames": [f"img_{i}.png" for i in idx],
        }
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
    meta = {
        "label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
        "num_cases_per_batch": len(chunks[0]),
        "num_vis": 3072,
    }
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return arrays


def write_fake_svhn(root: str | Path, n_train: int = 100, n_test: int = 50, seed: int = 0) -> dict[str, np.ndarray]:
    """``root/train_32x32.mat`` / ``test_32x32.mat`` with ``X`` (32, 32, 3, N) uint8 and ``y`` (N, 1) in 1..10.

    Digit 0 is stored as label 10, as in the real files; the returned labels are 0..9.
    """
    import scipy.io

    arrays = _random_split(n_train, n_test, seed, (3, 32, 32))
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        stored = np.where(y == 0, 10, y).astype(np.uint8).reshape(-1, 1)
        scipy.io.savemat(str(root / f"{split}_32x32.mat"), {"X": x.transpose(2, 3, 1, 0), "y": stored})
    return arrays


def write_fake_image_folder(
    root: str | Path,
    classes: tuple[str, ...] | list[str] = ("cat", "dog"),
    per_class: int = 5,
    size: int | tuple[int, int] = 20,
    mode: str = "RGB",
    seed: int = 0,
    vary_size: bool = True,
) -> Path:
    """An ImageFolder tree ``root/<class>/<class>_<i>.png`` of random images.

    With ``vary_size`` image sizes differ by up to 3 pixels, exercising the resize.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    h, w = (size, size) if isinstance(size, int) else size
    root = Path(root)
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            dh, dw = rng.integers(0, 4, size=2) if vary_size else (0, 0)
            shape = (h + dh, w + dw) if mode == "L" else (h + dh, w + dw, 3)
            pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
            Image.fromarray(pixels).save(root / c / f"{c}_{i}.png")
    return root
