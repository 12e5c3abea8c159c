"""``lenet``: the small LeNet variant used by WAAL (Shui et al., 2020) for FashionMNIST.

Architecture (for a ``1 x 28 x 28`` input)::

    extractor: Conv2d(C, 10, 5) -> MaxPool2d(2) -> ReLU
               -> Conv2d(10, 20, 5) -> Dropout2d(0.5) -> MaxPool2d(2) -> ReLU -> Flatten   # 20*4*4 = 320
    head:      Linear(320, 50) -> ReLU -> Dropout(0.5) -> Linear(50, K)

Every operation is its own top-level entry of the extractor, so
:meth:`ALModel.mc_split` puts ``conv1, pool, relu, conv2`` in the deterministic
prefix and starts the stochastic suffix at the ``Dropout2d``.
"""

from __future__ import annotations

from torch import nn

from ._base import ALModel, register_model
from ._checks import check_image_shape, check_num_classes, check_prob

__all__ = ["build_lenet", "lenet_flat_size"]


def lenet_flat_size(height: int, width: int) -> int:
    """Number of extractor features for an ``H x W`` input: ``20 * h2 * w2`` with
    ``h1 = (H - 4) // 2`` and ``h2 = (h1 - 4) // 2`` (two 5x5 valid convolutions, two 2x2 pools).

    ``28 x 28 -> 20 * 4 * 4 = 320``; ``32 x 32 -> 20 * 5 * 5 = 500``.
    """
    h = ((height - 4) // 2 - 4) // 2
    w = ((width - 4) // 2 - 4) // 2
    return 20 * h * w


@register_model("lenet")
def build_lenet(
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    dropout: float = 0.5,
    conv_dropout: float = 0.5,
) -> ALModel:
    """Build WAAL's LeNet.

    Parameters
    ----------
    input_shape : (C, H, W)
        Any channel count and ``H, W >= 16`` (the smallest size that survives two
        5x5 convolutions and two 2x2 pools). ``(1, 28, 28)`` gives the 320-d
        feature of the original; ``(3, 32, 32)`` gives 500 features.
    num_classes : int
        Number of classes ``K`` (>= 2).
    dropout : float, default 0.5
        Dropout before the classifier (``head``).
    conv_dropout : float, default 0.5
        Channel dropout (``Dropout2d``) after the second convolution.

    Returns
    -------
    ALModel
        ``feature_dim = lenet_flat_size(H, W)``.
    """
    c, h, w = check_image_shape("lenet", input_shape, 16, "(1, 28, 28) or (3, 32, 32)")
    check_num_classes("lenet", num_classes)
    p = check_prob("lenet", "dropout", dropout)
    p2 = check_prob("lenet", "conv_dropout", conv_dropout)
    flat = lenet_flat_size(h, w)
    extractor = nn.Sequential(
        nn.Conv2d(c, 10, kernel_size=5),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Conv2d(10, 20, kernel_size=5),
        nn.Dropout2d(p2),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Flatten(),
    )
    head = nn.Sequential(
        nn.Linear(flat, 50),
        nn.ReLU(),
        nn.Dropout(p),
        nn.Linear(50, num_classes),
    )
    return ALModel(extractor, head, (c, h, w), num_classes)
