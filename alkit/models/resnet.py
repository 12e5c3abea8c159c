"""``resnet18``: ResNet-18 with the CIFAR stem (He et al., 2016; the variant used across deep-AL benchmarks).

The ImageNet stem (7x7 stride-2 convolution + max-pool) would shrink a 32 x 32
image to 8 x 8 before the first stage; the CIFAR stem is a single 3x3 stride-1
convolution with no max-pool. The extractor is an ``nn.Sequential`` with the
named children ``stem, layer1, layer2, layer3, layer4, pool, flatten``, so the
four stage outputs (used e.g. by learning-loss prediction) can be read with
forward hooks on ``model.extractor.layer1`` ... ``layer4``, or all at once with
:meth:`ResNet.stage_outputs`.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ._base import ALModel, register_model
from ._checks import check_image_shape, check_num_classes, check_pos_int, check_prob

__all__ = ["BasicBlock", "ResNet", "build_resnet18"]


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection: ``relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x))``.

    The shortcut is the identity, or ``1x1 conv (stride s) -> BatchNorm`` when
    the stride or the channel count changes.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )
        else:
            self.shortcut = nn.Identity()
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class ResNet(ALModel):
    """An :class:`ALModel` whose extractor has the stages ``layer1`` ... ``layer4``."""

    STAGES: tuple[str, ...] = ("layer1", "layer2", "layer3", "layer4")

    def stage_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of ``layer1`` ... ``layer4`` for a batch, shapes ``(B, c_i, H_i, W_i)``.

        Runs the stem and the four stages only (not the pool or the head).
        """
        ex = self.extractor
        out = ex.stem(x)
        outs = []
        for name in self.STAGES:
            out = getattr(ex, name)(out)
            outs.append(out)
        return outs


@register_model("resnet18")
def build_resnet18(
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    width: int = 64,
    dropout: float = 0.3,
) -> ResNet:
    """Build a CIFAR-style ResNet-18.

    Parameters
    ----------
    input_shape : (C, H, W)
        Any channel count; ``H, W >= 8``. Designed for 32 x 32 (stages at 32, 16,
        8, 4 pixels); the global average pool makes any larger size work, e.g.
        ``(1, 28, 28)`` for FashionMNIST.
    num_classes : int
        Number of classes ``K`` (>= 2).
    width : int, default 64
        Channels of ``layer1``; the stages use ``width * (1, 2, 4, 8)``. Small
        values (e.g. 8) give a fast model for tests and demos.
    dropout : float, default 0.3
        Dropout before the classifier. The reference ResNet has none; alkit adds
        a moderate one so that MC-dropout strategies (BALD, variation ratios, ...)
        work on every model, while costing little accuracy.

    Returns
    -------
    ResNet
        ``feature_dim = 8 * width`` (512 by default);
        ``head = Dropout(dropout), Linear(8*width, K)``.
    """
    c, h, w = check_image_shape("resnet18", input_shape, 8, "(3, 32, 32)")
    check_num_classes("resnet18", num_classes)
    width = check_pos_int("resnet18", "width", width)
    p = check_prob("resnet18", "dropout", dropout)

    stem = nn.Sequential(
        nn.Conv2d(c, width, 3, stride=1, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
    )
    stages: list[tuple[str, nn.Module]] = []
    channels = width
    for i, (mult, stride) in enumerate(((1, 1), (2, 2), (4, 2), (8, 2)), start=1):
        out = mult * width
        stages.append((f"layer{i}", nn.Sequential(BasicBlock(channels, out, stride), BasicBlock(out, out, 1))))
        channels = out
    extractor = nn.Sequential(
        OrderedDict([("stem", stem), *stages, ("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten())])
    )
    head = nn.Sequential(nn.Dropout(p), nn.Linear(channels, num_classes))

    for m in extractor.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return ResNet(extractor, head, (c, h, w), num_classes)
