"""Tests of alkit.models: the ALModel contract for every registered model, plus architecture details."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from alkit.models import (
    ALModel,
    ModelError,
    ResNet,
    get_model,
    has_dropout,
    lenet_flat_size,
    list_models,
)

torch.set_num_threads(1)

# Small widths keep vgg16_bn / resnet18 fast; the architecture is otherwise unchanged.
FAST = {"vgg16_bn": {"width": 4}, "resnet18": {"width": 4}}

# input shapes each model must accept
SHAPES = {
    "mlp": [(2,), (1, 28, 28), (3, 8, 8)],
    "lenet": [(1, 28, 28), (3, 32, 32), (2, 16, 20)],
    "vgg16_bn": [(3, 32, 32), (1, 32, 32), (3, 40, 48)],
    "resnet18": [(3, 32, 32), (1, 28, 28), (5, 8, 8)],
}

BAD_SHAPES = {
    "mlp": [(), (0, 3), (-1,), (2.5, 3)],
    "lenet": [(784,), (1, 28), (1, 15, 28), (1, 28, 28, 1)],
    "vgg16_bn": [(1, 28, 28), (3, 32), (3, 31, 32)],
    "resnet18": [(3, 32), (3, 7, 32), (3,)],
}

ALL = ["lenet", "mlp", "resnet18", "vgg16_bn"]


def build(name: str, shape: tuple[int, ...], k: int = 10, **kw) -> ALModel:
    torch.manual_seed(0)
    return get_model(name, shape, k, **{**FAST.get(name, {}), **kw})


def test_registry_lists_all_models():
    assert list_models() == ALL
    assert set(SHAPES) == set(list_models())


@pytest.mark.parametrize("name", ALL)
def test_forward_shapes_and_features(name):
    for shape in SHAPES[name]:
        m = build(name, shape, k=7).eval()
        x = torch.randn(3, *shape)
        with torch.no_grad():
            out = m(x)
            feats = m.features(x)
        assert out.shape == (3, 7), (name, shape)
        assert feats.shape == (3, m.feature_dim), (name, shape)
        assert m.input_shape == shape and m.num_classes == 7
        assert torch.allclose(out, m.head(feats), atol=1e-6)
        assert m.penultimate(feats).shape == (3, m.classifier.in_features)


@pytest.mark.parametrize("name", ALL)
def test_head_has_dropout_before_classifier(name):
    m = build(name, SHAPES[name][0])
    assert isinstance(m.head[-1], nn.Linear)
    assert m.classifier is m.head[-1]
    assert isinstance(m.head[-2], nn.Dropout)
    assert 0.0 < m.head[-2].p < 1.0
    assert has_dropout(m.head)


@pytest.mark.parametrize("name", ALL)
def test_mc_split_reproduces_forward(name):
    shape = SHAPES[name][0]
    m = build(name, shape).eval()
    prefix, suffix = m.mc_split()
    assert len(prefix) + len(suffix) == len(m.layers())
    assert not has_dropout(prefix)
    assert has_dropout(suffix[0])
    x = torch.randn(4, *shape)
    with torch.no_grad():
        assert torch.allclose(suffix(prefix(x)), m(x), atol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_eval_deterministic_train_stochastic(name):
    shape = SHAPES[name][0]
    m = build(name, shape, dropout=0.5).eval()
    x = torch.randn(4, *shape)
    with torch.no_grad():
        assert torch.equal(m(x), m(x))
        m.train()
        torch.manual_seed(1)
        a = m(x)
        torch.manual_seed(2)
        b = m(x)
    assert not torch.allclose(a, b)  # dropout is active in train mode


@pytest.mark.parametrize("name", ALL)
def test_backward_reaches_every_parameter(name):
    shape = SHAPES[name][0]
    m = build(name, shape).train()
    loss = nn.functional.cross_entropy(m(torch.randn(4, *shape)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    assert all(p.grad is not None for p in m.parameters())


def test_unknown_name_lists_valid_names():
    with pytest.raises(ModelError) as err:
        get_model("resnet19", (3, 32, 32), 10)
    msg = str(err.value)
    assert "resnet19" in msg and "resnet18" in msg
    for name in ALL:
        assert name in msg


@pytest.mark.parametrize("name", ALL)
def test_bad_input_shape_raises(name):
    for shape in BAD_SHAPES[name]:
        with pytest.raises(ModelError, match="input_shape") as err:
            get_model(name, shape, 10)
        assert name in str(err.value)


@pytest.mark.parametrize("name", ALL)
def test_bad_options_raise(name):
    shape = SHAPES[name][0]
    with pytest.raises(ModelError, match="dropout"):
        get_model(name, shape, 10, dropout=1.0)
    with pytest.raises(ModelError, match="num_classes"):
        get_model(name, shape, 1)
    with pytest.raises(TypeError):
        get_model(name, shape, 10, no_such_option=3)


def test_width_options_validated():
    with pytest.raises(ModelError, match="width"):
        get_model("resnet18", (3, 32, 32), 10, width=0)
    with pytest.raises(ModelError, match="width"):
        get_model("vgg16_bn", (3, 32, 32), 10, width=-2)
    with pytest.raises(ModelError, match="hidden"):
        get_model("mlp", (4,), 3, hidden=(8, 0))
    with pytest.raises(ModelError, match="hidden"):
        get_model("mlp", (4,), 3, hidden=16)


def test_lenet_architecture_exact():
    m = get_model("lenet", (1, 28, 28), 10)
    assert m.feature_dim == 320 == lenet_flat_size(28, 28)
    assert lenet_flat_size(32, 32) == 500
    expected_extractor = [
        (nn.Conv2d, {"in_channels": 1, "out_channels": 10, "kernel_size": (5, 5)}),
        (nn.MaxPool2d, {"kernel_size": 2}),
        (nn.ReLU, {}),
        (nn.Conv2d, {"in_channels": 10, "out_channels": 20, "kernel_size": (5, 5)}),
        (nn.Dropout2d, {"p": 0.5}),
        (nn.MaxPool2d, {"kernel_size": 2}),
        (nn.ReLU, {}),
        (nn.Flatten, {}),
    ]
    expected_head = [
        (nn.Linear, {"in_features": 320, "out_features": 50}),
        (nn.ReLU, {}),
        (nn.Dropout, {"p": 0.5}),
        (nn.Linear, {"in_features": 50, "out_features": 10}),
    ]
    for seq, expected in ((m.extractor, expected_extractor), (m.head, expected_head)):
        assert len(seq) == len(expected)
        for layer, (cls, attrs) in zip(seq, expected):
            assert type(layer) is cls
            for k, v in attrs.items():
                assert getattr(layer, k) == v, (cls, k)
    # MC-dropout prefix: conv1, pool, relu, conv2 -- everything before the Dropout2d
    prefix, _ = m.mc_split()
    assert [type(layer) for layer in prefix] == [nn.Conv2d, nn.MaxPool2d, nn.ReLU, nn.Conv2d]


def test_lenet_parameter_count():
    k = 10
    conv1 = 1 * 10 * 5 * 5 + 10
    conv2 = 10 * 20 * 5 * 5 + 20
    fc1 = 320 * 50 + 50
    fc2 = 50 * k + k
    m = get_model("lenet", (1, 28, 28), k)
    assert sum(p.numel() for p in m.parameters()) == conv1 + conv2 + fc1 + fc2 == 21840


def test_mlp_layout():
    m = get_model("mlp", (1, 28, 28), 10)
    assert m.feature_dim == 128
    linears = [layer for layer in m.extractor if isinstance(layer, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(784, 256), (256, 128)]
    assert m.head[0].p == pytest.approx(0.3)
    logreg = get_model("mlp", (5,), 3, hidden=())
    assert logreg.feature_dim == 5 and len(logreg.head) == 2


def test_resnet18_structure():
    m = get_model("resnet18", (3, 32, 32), 10)
    assert isinstance(m, ResNet)
    assert m.feature_dim == 512
    names = [n for n, _ in m.extractor.named_children()]
    assert names == ["stem", "layer1", "layer2", "layer3", "layer4", "pool", "flatten"]
    assert not any(isinstance(mod, nn.MaxPool2d) for mod in m.modules())
    conv = m.extractor.stem[0]
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1)
    assert [len(getattr(m.extractor, s)) for s in ResNet.STAGES] == [2, 2, 2, 2]
    # CIFAR ResNet-18 with a 10-class head has 11,173,962 parameters (well-known value)
    assert sum(p.numel() for p in m.parameters()) == 11_173_962


def test_resnet18_stage_outputs():
    m = build("resnet18", (3, 32, 32), width=4).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        outs = m.stage_outputs(x)
        hooked = []
        handle = m.extractor.layer3.register_forward_hook(lambda mod, inp, out: hooked.append(out))
        m(x)
        handle.remove()
    assert [tuple(o.shape) for o in outs] == [(2, 4, 32, 32), (2, 8, 16, 16), (2, 16, 8, 8), (2, 32, 4, 4)]
    assert torch.allclose(hooked[0], outs[2])


def test_vgg16_bn_structure():
    m = get_model("vgg16_bn", (3, 32, 32), 10, width=8)
    convs = [layer for layer in m.extractor if isinstance(layer, nn.Conv2d)]
    assert len(convs) == 13
    assert [c.out_channels for c in convs] == [8, 8, 16, 16, 32, 32, 32, 64, 64, 64, 64, 64, 64]
    assert sum(isinstance(layer, nn.BatchNorm2d) for layer in m.extractor) == 13
    assert sum(isinstance(layer, nn.MaxPool2d) for layer in m.extractor) == 5
    assert m.feature_dim == 64
    full = get_model("vgg16_bn", (3, 32, 32), 10)
    assert full.feature_dim == 512
    hid = build("vgg16_bn", (3, 32, 32), hidden=24).eval()
    assert hid.feature_dim == 32 and hid.classifier.in_features == 24
    assert hid(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert isinstance(hid.head[-2], nn.Dropout)
