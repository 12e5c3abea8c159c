"""The learner: seeded training, inference shapes, MC dropout, gradient factors, validation and errors."""

import pytest
import torch
from torch import nn

from alkit.learner import Learner, TrainConfig
from alkit.models import ALModel, ModelError


def blobs(n=120, k=3, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(k, d, generator=g) * 4
    y = torch.arange(n) % k
    x = centers[y] + torch.randn(n, d, generator=g)
    return x, y


def learner(**cfg):
    cfg.setdefault("epochs", 5)
    cfg.setdefault("batch_size", 16)
    return Learner("mlp", (5,), 3, TrainConfig(**cfg), device="cpu")


def test_same_seed_same_weights_and_predictions():
    x, y = blobs()
    a, b = learner(), learner()
    a.fit(x, y, seed=3)
    b.fit(x, y, seed=3)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    c = learner()
    c.fit(x, y, seed=4)
    assert not torch.equal(a.predict_proba(x), c.predict_proba(x))


def test_fit_does_not_touch_global_rng():
    x, y = blobs()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    learner().fit(x, y, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_learns_separable_blobs():
    x, y = blobs(n=300)
    lr = learner(epochs=30)
    lr.fit(x, y, seed=0)
    assert (lr.predict(x) == y).float().mean() > 0.95


def test_min_steps_extends_epochs():
    x, y = blobs(n=32)
    lr = learner(epochs=2, batch_size=16, min_steps=20)
    rep = lr.fit(x, y, seed=0)
    assert rep.steps == 20 and rep.epochs_run == 10


def test_inference_shapes_and_consistency():
    x, y = blobs()
    lr = learner()
    lr.fit(x, y, seed=0)
    out = lr.infer(x, {"probs", "embeddings", "grad_factors", "logits"})
    assert out["probs"].shape == (120, 3)
    assert torch.allclose(out["probs"].sum(1), torch.ones(120))
    assert out["embeddings"].shape == (120, lr.model.feature_dim)
    a, e = out["grad_factors"]
    assert a.shape == (120, 3)
    # a = p - onehot(argmax p): sums to zero, negative exactly at the argmax
    assert torch.allclose(a.sum(1), torch.zeros(120), atol=1e-6)
    assert torch.equal(a.argmin(1), out["probs"].argmax(1))
    # e is the classifier's input: classifier(e) reproduces the logits
    assert torch.allclose(lr.model.classifier(e), out["logits"], atol=1e-5)


def test_grad_factors_give_the_last_layer_gradient():
    x, y = blobs(n=10)
    lr = learner()
    lr.fit(x, y, seed=0)
    a, e = lr.grad_factors(x[:1])
    model = lr.model
    model.zero_grad()
    logits = model(x[:1])
    loss = nn.functional.cross_entropy(logits, logits.argmax(1))
    loss.backward()
    g = model.classifier.weight.grad  # (K, d)
    assert torch.allclose(g, a[0][:, None] * e[0][None, :], atol=1e-5)


def test_mc_probs_shape_seed_and_bn_untouched():
    x, y = blobs()
    lr = learner()
    lr.fit(x, y, seed=0)
    m1 = lr.mc_probs(x, 4, seed=1)
    m2 = lr.mc_probs(x, 4, seed=1)
    assert m1.shape == (4, 120, 3)
    assert torch.equal(m1, m2)
    assert not torch.equal(m1[0], m1[1])  # dropout is active
    assert torch.allclose(m1.sum(-1), torch.ones(4, 120))
    assert not lr.model.training  # back in eval mode


def test_mc_dropout_keeps_batchnorm_frozen():
    class BNNet(ALModel):
        def __init__(self):
            super().__init__(nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU()),
                             nn.Sequential(nn.Dropout(0.5), nn.Linear(8, 3)), (5,), 3)

    x, y = blobs()
    lr = Learner(BNNet, (5,), 3, TrainConfig(epochs=2), device="cpu")
    lr.fit(x, y, seed=0)
    bn = lr.model.extractor[1]
    before = (bn.running_mean.clone(), bn.running_var.clone(), int(bn.num_batches_tracked))
    lr.mc_probs(x, 3, seed=0)
    assert torch.equal(bn.running_mean, before[0]) and torch.equal(bn.running_var, before[1])
    assert int(bn.num_batches_tracked) == before[2]


def test_mc_without_dropout_is_a_clear_error():
    class NoDrop(ALModel):
        def __init__(self):
            super().__init__(nn.Sequential(nn.Linear(5, 8), nn.ReLU()), nn.Sequential(nn.Linear(8, 3)), (5,), 3)

    x, y = blobs()
    lr = Learner(NoDrop, (5,), 3, TrainConfig(epochs=1), device="cpu")
    lr.fit(x, y, seed=0)
    with pytest.raises(ModelError, match="no dropout"):
        lr.mc_probs(x, 3, seed=0)


def test_mc_with_dropout_rate_zero_is_a_clear_error():
    """A dropout layer with p = 0 makes all T passes one network (the DeepAL+ bug): refused, naming the rate."""
    x, y = blobs()
    lr = Learner("mlp", (5,), 3, TrainConfig(epochs=1), device="cpu", model_kwargs={"dropout": 0.0})
    lr.fit(x, y, seed=0)
    with pytest.raises(ModelError, match=r"dropout rate is 0 in all 1 dropout layer\(s\)"):
        lr.mc_probs(x, 3, seed=0)


def test_mc_passes_without_effect_are_a_clear_error():
    """Dropout with p > 0 whose masks cannot change the output (it drops a constant-zero feature): caught on the passes."""
    class DeadDrop(ALModel):
        def __init__(self):
            super().__init__(nn.Sequential(nn.Linear(5, 8), nn.ReLU()),
                             nn.Sequential(nn.Dropout(0.5), nn.Linear(8, 3)), (5,), 3)

        def mc_split(self):
            prefix, suffix = super().mc_split()
            return prefix, nn.Sequential(_Zero(), *suffix)  # the dropout only ever sees zeros

    class _Zero(nn.Module):
        def forward(self, h):
            return torch.zeros_like(h)

    x, y = blobs()
    lr = Learner(DeadDrop, (5,), 3, TrainConfig(epochs=1), device="cpu")
    lr.fit(x, y, seed=0)
    with pytest.raises(ModelError, match=r"all 4 MC-dropout passes came out identical on 120 items"):
        lr.mc_probs(x, 4, seed=0)
    assert lr.mc_probs(x, 1, seed=0).shape == (1, 120, 3)  # one pass cannot be compared: allowed


def test_mc_with_active_dropout_passes_differ():
    x, y = blobs()
    lr = learner(epochs=2)
    lr.fit(x, y, seed=0)
    m = lr.mc_probs(x, 4, seed=0)
    assert (m - m[:1]).abs().amax() > 1e-3


def test_holdout_validation_selects_best_and_stops_early():
    x, y = blobs(n=200)
    lr = learner(epochs=40, validation="holdout", val_fraction=0.25, patience=3)
    rep = lr.fit(x, y, seed=0)
    assert rep.best_epoch is not None and rep.val_accuracy
    assert rep.epochs_run <= 40
    assert rep.best_val_accuracy == max(rep.val_accuracy)


def test_dataset_validation_needs_a_split():
    x, y = blobs()
    with pytest.raises(ValueError, match="x_val"):
        learner(validation="dataset").fit(x, y, seed=0)


@pytest.mark.parametrize("bad, match", [
    ({"epochs": 0}, "epochs"), ({"lr": -1.0}, "lr"), ({"optimizer": "rmsprop"}, "optimizer"),
    ({"validation": "kfold"}, "validation"), ({"lr_milestones": (1.5,)}, "milestones"),
])
def test_train_config_validation(bad, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**bad)


def test_bad_inputs_are_named():
    x, y = blobs()
    lr = learner()
    with pytest.raises(ValueError, match="shape"):
        lr.fit(torch.randn(10, 4), y[:10], seed=0)
    with pytest.raises(ValueError, match="labels"):
        lr.fit(x, y.float().long()[:5], seed=0)
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        lr.fit(x, y + 5, seed=0)
    with pytest.raises(TypeError, match="floating"):
        lr.fit(x.long(), y, seed=0)
    with pytest.raises(ValueError, match="empty"):
        lr.fit(x[:0], y[:0], seed=0)
    with pytest.raises(RuntimeError, match="fit"):
        _ = learner().model


def test_class_count_mismatch_between_model_and_data():
    with pytest.raises(ModelError, match="classes"):
        Learner(lambda: Learner("mlp", (5,), 4).new_model(0), (5,), 3, device="cpu").new_model(0)


def test_mc_probs_consistent_masks_one_network_per_pass():
    """Consistent MC dropout: in each pass every item sees the same sampled network."""
    x, y = blobs()
    lr = learner()
    lr.fit(x, y, seed=0)
    twins = torch.cat([x[:5], x[:5]])  # each item twice
    m = lr.mc_probs(twins, 6, seed=3)
    gap_twins = (m[:, :5] - m[:, 5:]).abs().max()
    gap_passes = (m[0] - m[1]).abs().max()
    assert gap_twins < 1e-6  # same network within a pass, so twins agree (up to float rounding)
    assert gap_passes > 100 * max(float(gap_twins), 1e-7)  # a different network in the next pass
    # the same masks whatever the inference batch size
    lr.config.eval_batch_size = 7
    assert torch.allclose(lr.mc_probs(x, 4, seed=1), learner_mc_reference(lr, x), atol=1e-6)


def learner_mc_reference(lr, x):
    lr.config.eval_batch_size = 10_000
    return lr.mc_probs(x, 4, seed=1)


def test_mc_probs_consistent_masks_on_lenet_conv_dropout():
    lr = Learner("lenet", (1, 28, 28), 4, TrainConfig(epochs=1), device="cpu")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 1, 28, 28, generator=g)
    lr.fit(x, torch.tensor([0, 1, 2, 3, 0, 1]), seed=0)
    m = lr.mc_probs(torch.cat([x[:2], x[:2]]), 5, seed=0)
    assert m.shape == (5, 4, 4) and torch.allclose(m[:, :2], m[:, 2:], atol=1e-6)
    assert (m[0] - m[1]).abs().max() > 1e-4


# ------------------------------------------------------------------ seeded(): every global generator
class _FakeGen:
    def __init__(self, log, name):
        self.log, self.name = log, name

    def manual_seed(self, seed):
        self.log.append((self.name, "seed", seed))
        return self


def test_seeded_restores_the_cpu_generator_and_seeds_the_block():
    from alkit.seeding import seeded

    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    with seeded(5, torch.device("cpu")):
        inside = torch.rand(3)
    assert torch.equal(torch.rand(3), expected)  # the state before the block is back
    with seeded(5, torch.device("cpu")):
        assert torch.equal(torch.rand(3), inside)  # same seed, same draws
    with pytest.raises(RuntimeError, match="boom"), seeded(6, torch.device("cpu")):
        raise RuntimeError("boom")
    torch.manual_seed(7)
    assert torch.equal(torch.rand(3), expected)


def test_seeded_forks_every_cuda_device_and_mps(monkeypatch):
    """With fakes for two initialised CUDA devices and MPS: each is seeded in the block and restored after it."""
    import alkit.seeding as seeding_mod
    from alkit.seeding import seeded

    log, states = [], {"cuda0": "c0", "cuda1": "c1", "mps": "m"}
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda i: states[f"cuda{i}"])
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, i: log.append((f"cuda{i}", "restore", s)))
    monkeypatch.setattr(torch.cuda, "default_generators", (_FakeGen(log, "cuda0"), _FakeGen(log, "cuda1")))
    monkeypatch.setattr(seeding_mod, "_mps_available", lambda: True)
    monkeypatch.setattr(torch.mps, "get_rng_state", lambda: states["mps"])
    monkeypatch.setattr(torch.mps, "set_rng_state", lambda s: log.append(("mps", "restore", s)))
    monkeypatch.setattr(torch.mps, "manual_seed", lambda s: log.append(("mps", "seed", s)))
    with seeded(11, torch.device("cpu")):
        assert sorted(log) == [("cuda0", "seed", 11), ("cuda1", "seed", 11), ("mps", "seed", 11)]
        log.clear()
    assert sorted(log) == [("cuda0", "restore", "c0"), ("cuda1", "restore", "c1"), ("mps", "restore", "m")]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_seeded_restores_every_real_cuda_device():
    from alkit.seeding import seeded

    torch.cuda.init()
    before = [torch.cuda.get_rng_state(i) for i in range(torch.cuda.device_count())]
    with seeded(3, torch.device("cuda")):
        inside = torch.rand(4, device="cuda")
    assert all(torch.equal(torch.cuda.get_rng_state(i), s) for i, s in enumerate(before))
    with seeded(3, torch.device("cuda")):
        assert torch.equal(torch.rand(4, device="cuda"), inside)


def test_gan_and_autoencoder_builders_leave_the_global_generators_alone(tmp_path):
    from alkit.strategies._gan import build_gan, load_or_train_autoencoder

    torch.manual_seed(9)
    expected = torch.rand(3)
    torch.manual_seed(9)
    g1, _ = build_gan((6,), latent_dim=4, seed=2)
    load_or_train_autoencoder(torch.rand(20, 6, generator=torch.Generator().manual_seed(0)), code_dim=3,
                              iterations=1, batch_size=8, cache_dir=tmp_path)
    assert torch.equal(torch.rand(3), expected)
    g2, _ = build_gan((6,), latent_dim=4, seed=2)
    assert all(torch.equal(a, b) for a, b in zip(g1.parameters(), g2.parameters()))
