"""Datasets as plain tensors plus metadata, loaded by name.

>>> from alkit.data import load_dataset, list_datasets
>>> ds = load_dataset("digits", seed=0)

Nothing here downloads at import or load time unless a loader is given ``download=True``.
"""

from . import fake, toy2d
from ._base import ALDataset, DatasetError, list_datasets, load_dataset, register_dataset, validate_tensors
from ._util import default_root
from .custom import from_arrays, from_folder, imbalanced
from .digits import digits
from .fashion_mnist import FASHION_MNIST_CLASSES, fashion_mnist, find_fashion_mnist
from .idx import read_idx, read_idx_images, read_idx_labels
from .mnist5k import mnist5k
from .torchvision_sets import CIFAR10_CLASSES, cifar10, mnist, svhn
from .toy2d import SAMPLING_BIAS_LAYOUTS, blobs, moons, sampling_bias, sampling_bias_layout

__all__ = [
    "ALDataset",
    "DatasetError",
    "register_dataset",
    "list_datasets",
    "load_dataset",
    "validate_tensors",
    "default_root",
    "from_arrays",
    "from_folder",
    "imbalanced",
    "toy2d",
    "fake",
    "blobs",
    "moons",
    "sampling_bias",
    "sampling_bias_layout",
    "SAMPLING_BIAS_LAYOUTS",
    "digits",
    "mnist5k",
    "fashion_mnist",
    "find_fashion_mnist",
    "mnist",
    "cifar10",
    "svhn",
    "read_idx",
    "read_idx_images",
    "read_idx_labels",
    "FASHION_MNIST_CLASSES",
    "CIFAR10_CLASSES",
]
