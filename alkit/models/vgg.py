"""``vgg16_bn``: VGG-16 with batch normalisation, sized for 32 x 32 images (CIFAR-style).

Configuration (``width = 64``, the standard one)::

    64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M

Each number is ``Conv2d(3x3, padding 1) -> BatchNorm2d -> ReLU``; ``M`` is a 2x2
max-pool. Five pools take 32 x 32 down to 1 x 1; an adaptive average pool then
makes larger inputs work too. The extractor ends with ``Flatten`` and yields
``8 * width`` (= 512) features. The head is ``Dropout(0.5) -> Linear(512, K)``,
optionally with one hidden layer.
"""

from __future__ import annotations

from torch import nn

from ._base import ALModel, register_model
from ._checks import check_image_shape, check_num_classes, check_pos_int, check_prob

__all__ = ["build_vgg16_bn", "VGG16_CFG"]

#: Channel multipliers of the 13 convolutions relative to ``width``; ``"M"`` is a max-pool.
VGG16_CFG: tuple[int | str, ...] = (1, 1, "M", 2, 2, "M", 4, 4, 4, "M", 8, 8, 8, "M", 8, 8, 8, "M")


@register_model("vgg16_bn")
def build_vgg16_bn(
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    width: int = 64,
    dropout: float = 0.5,
    hidden: int | None = None,
) -> ALModel:
    """Build VGG-16-BN.

    Parameters
    ----------
    input_shape : (C, H, W)
        Any channel count and ``H, W >= 32`` (five 2x2 pools need at least 32 pixels).
    num_classes : int
        Number of classes ``K`` (>= 2).
    width : int, default 64
        Channels of the first block; the blocks use ``width * (1, 2, 4, 8, 8)``.
        Small values (e.g. 8) give a fast model for tests and demos.
    dropout : float, default 0.5
        Dropout before the classifier (and before the hidden layer, if any).
    hidden : int or None, default None
        If given, the head is ``Dropout -> Linear(8*width, hidden) -> ReLU -> Dropout -> Linear(hidden, K)``.

    Returns
    -------
    ALModel
        ``feature_dim = 8 * width``.
    """
    c, h, w = check_image_shape("vgg16_bn", input_shape, 32, "(3, 32, 32)")
    check_num_classes("vgg16_bn", num_classes)
    width = check_pos_int("vgg16_bn", "width", width)
    p = check_prob("vgg16_bn", "dropout", dropout)

    layers: list[nn.Module] = []
    channels = c
    for item in VGG16_CFG:
        if item == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            out = int(item) * width
            layers += [nn.Conv2d(channels, out, kernel_size=3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
            channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    extractor = nn.Sequential(*layers)

    if hidden is None:
        head = nn.Sequential(nn.Dropout(p), nn.Linear(channels, num_classes))
    else:
        hid = check_pos_int("vgg16_bn", "hidden", hidden)
        head = nn.Sequential(
            nn.Dropout(p), nn.Linear(channels, hid), nn.ReLU(), nn.Dropout(p), nn.Linear(hid, num_classes)
        )

    for m in extractor.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return ALModel(extractor, head, (c, h, w), num_classes)
