"""Models: every one is an :class:`ALModel` (``extractor`` -> features, ``head`` -> logits).

Registered names (see :func:`list_models`):

``mlp``
    Flatten + fully connected layers; any input shape.
``lenet``
    WAAL's LeNet for 28 x 28 grey images (320-d features).
``vgg16_bn``
    VGG-16 with batch norm for 32 x 32 images (512-d features).
``resnet18``
    ResNet-18 with the CIFAR stem (512-d features; stages ``layer1``..``layer4``).

Build one with ``get_model(name, input_shape, num_classes, **options)``.
"""

from __future__ import annotations

from ._base import ALModel, ModelError, get_model, has_dropout, list_models, register_model
from .lenet import build_lenet, lenet_flat_size
from .mlp import build_mlp
from .resnet import BasicBlock, ResNet, build_resnet18
from .vgg import VGG16_CFG, build_vgg16_bn

__all__ = [
    "ALModel",
    "ModelError",
    "register_model",
    "list_models",
    "get_model",
    "has_dropout",
    "build_mlp",
    "build_lenet",
    "lenet_flat_size",
    "build_vgg16_bn",
    "VGG16_CFG",
    "build_resnet18",
    "ResNet",
    "BasicBlock",
]
