"""ASAL / GAAL (reference §4.20-4.21): latent ascent, PCA, the index, matching, the GAN cache."""

import os

import pytest
import torch
from torch import nn

from alkit.strategies import _gan as gan_mod
from alkit.strategies import get_strategy
from alkit.strategies.asal import (
    PoolIndex,
    _entropy_from_logits,
    entropy_objective,
    fit_pca,
    latent_ascent,
    match_without_replacement,
    top2_margin,
)
from alkit.testing import forbid_host_transfers, synthetic_view

FAST = {"gan_iterations": 5, "ascent_steps": 30}


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _toy_classifier(d_in=4, k=3, seed=0):
    torch.manual_seed(seed)
    lin = nn.Linear(d_in, k)
    with torch.no_grad():
        lin.weight.mul_(30.0)
        lin.bias.mul_(30.0)
    return lin.eval()


def test_latent_ascent_raises_entropy():
    g, _ = gan_mod.build_gan((4,), latent_dim=3, seed=1)
    clf = _toy_classifier()
    z0 = torch.randn(32, 3, generator=_gen(2))
    z = latent_ascent(g, clf, z0, entropy_objective, steps=100, lr=0.01)
    with torch.no_grad():
        before = _entropy_from_logits(clf(g(z0))).mean()
        after = _entropy_from_logits(clf(g(z))).mean()
    assert after > before + 0.05
    assert all(p.grad is None for p in list(g.parameters()) + list(clf.parameters()))


def test_toy_identity_generator_matches_exhaustive_entropy():
    """§4.20 sanity (ii): G = identity on 2-D, boundary x1 = 0; matches overlap the entropy top-b."""
    torch.manual_seed(0)
    clf = nn.Linear(2, 2)
    with torch.no_grad():
        clf.weight.copy_(torch.tensor([[3.0, 0.0], [-3.0, 0.0]]))
        clf.bias.zero_()
    pool = torch.rand(400, 2, generator=_gen(1)) * 4 - 2
    b = 10
    z = latent_ascent(nn.Identity(), clf, torch.randn(b, 2, generator=_gen(2)), entropy_objective, steps=100, lr=0.05)
    assert z[:, 0].abs().max() < 0.1
    index = PoolIndex(pool, torch.arange(400))
    d, r = index.search(z, torch.ones(400, dtype=torch.bool), b)
    rows, _, ok = match_without_replacement(r, d, torch.ones(400, dtype=torch.bool))
    assert ok.all()
    top = set(_entropy_from_logits(clf(pool)).topk(b).indices.tolist())
    # exhaustive top-b is the b points closest to x1 = 0; matched points lie near it in 2-D, so compare loosely
    near = set(pool[:, 0].abs().argsort()[: 3 * b].tolist())
    assert len(set(rows.tolist()) & near) >= 0.7 * b
    assert top <= near


def test_matching_distinct_unlabeled_and_collisions():
    feats = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.2, 0.0], [5.0, 5.0], [0.05, 0.0]])
    available = torch.tensor([True, True, True, True, False])  # row 4 is labeled (nearest to the queries)
    index = PoolIndex(feats, torch.arange(5))
    q = torch.tensor([[0.04, 0.0], [0.04, 0.0], [0.04, 0.0]])  # all nearest to row 4, then row 0
    d, r = index.search(q, available, 3)
    rows, dist, ok = match_without_replacement(r, d, available)
    assert rows.tolist() == [0, 1, 2]
    assert ok.all()
    assert torch.allclose(dist, torch.tensor([0.04, 0.06, 0.16]) ** 2)


def test_compute_dtype_is_float32_on_mps_only():
    from alkit.device import exact_dtype

    assert exact_dtype(torch.device("mps")) == torch.float32 and exact_dtype("mps") == torch.float32
    assert exact_dtype("cpu") == torch.float64 and exact_dtype(torch.device("cuda", 0)) == torch.float64


def test_float32_pca_path_matches_float64():
    """The MPS path (covariance in float32) gives the float64 components and projections up to rounding."""
    x = torch.randn(300, 12, generator=_gen(0)) @ torch.randn(12, 12, generator=_gen(1)) + 3.0
    p64, p32 = fit_pca(x, 5, dtype=torch.float64), fit_pca(x, 5, dtype=torch.float32)
    assert torch.allclose(p32.components, p64.components, atol=1e-4)  # same signs too (largest entry positive)
    assert torch.allclose(p32.project(x), p64.project(x), atol=1e-3)


def test_asal_selection_with_float32_pca_equals_float64(monkeypatch):
    import alkit.strategies.asal as asal_mod

    view = synthetic_view(get_strategy("asal").required(), n_pool=60, n_labeled=10, seed=5)
    ref = get_strategy("asal", **FAST).query(view, 7, _gen(9))
    monkeypatch.setattr(asal_mod, "exact_dtype", lambda device: torch.float32)  # what MPS gets
    got = get_strategy("asal", **FAST).query(view, 7, _gen(9))
    assert torch.equal(got.indices, ref.indices)


def test_pool_fingerprint_on_the_mps_path_equals_float64(monkeypatch):
    """On MPS (no float64) the fingerprint's sums run on a CPU copy: the same key as on any other device."""
    pool = torch.rand(50, 6, generator=_gen(2))
    ref = gan_mod.pool_fingerprint(pool, {"a": 1})
    copied = []
    real_cpu = torch.Tensor.cpu
    monkeypatch.setattr(gan_mod, "exact_dtype", lambda device: torch.float32)
    monkeypatch.setattr(torch.Tensor, "cpu", lambda t, *a, **k: copied.append(t.shape) or real_cpu(t, *a, **k))
    assert gan_mod.pool_fingerprint(pool, {"a": 1}) == ref
    assert copied == [torch.Size([50, 6])]  # the explicit fallback: one host copy of the pool


def test_pca_matches_svd():
    x = torch.randn(40, 7, generator=_gen(0)) @ torch.randn(7, 7, generator=_gen(1))
    pca = fit_pca(x, 3)
    xc = (x - x.mean(0)).double()
    _, s, vh = torch.linalg.svd(xc, full_matrices=False)
    ref = xc @ vh[:3].T
    got = pca.project(x).double()
    sign = torch.sign((ref * got).sum(0))
    assert torch.allclose(got, ref * sign, atol=1e-4)
    assert torch.allclose(pca.components.T @ pca.components, torch.eye(3), atol=1e-5)
    assert fit_pca(x, 50).components.shape == (7, 7)


@pytest.mark.parametrize("mode", ["exact", "ivf"])
def test_index_matches_brute_force(mode):
    feats = torch.randn(300, 5, generator=_gen(0))
    avail = torch.rand(300, generator=_gen(1)) > 0.3
    q = torch.randn(12, 5, generator=_gen(2))
    index = PoolIndex(feats, torch.arange(300), mode=mode, n_lists=10, nprobe=10)  # nprobe = all lists: exact
    d, r = index.search(q, avail, 4)
    brute = torch.cdist(q, feats).masked_fill(~avail, float("inf"))
    bd, br = brute.topk(4, largest=False)
    assert torch.equal(r, br)
    assert torch.allclose(d.sqrt(), bd, atol=1e-4)


def test_ivf_probes_few_lists():
    feats = torch.randn(2000, 4, generator=_gen(0))
    index = PoolIndex(feats, torch.arange(2000), mode="ivf", nprobe=3)
    assert index.centroids.shape[0] == 45 and int(index.list_sizes.sum()) == 2000
    assert sorted(index.lists[index.lists >= 0].tolist()) == list(range(2000))
    d, r = index.search(feats[:20] + 1e-3, torch.ones(2000, dtype=torch.bool), 1)
    assert (r[:, 0] == torch.arange(20)).float().mean() >= 0.9


def test_gan_cache_written_once_and_loaded_weights_only(monkeypatch, tmp_path):
    gan_mod._TRAINED.clear()
    calls, loads = [], []
    real_train, real_load = gan_mod.train_wgan_gp, torch.load
    monkeypatch.setattr(gan_mod, "train_wgan_gp", lambda *a, **kw: calls.append(1) or real_train(*a, **kw))
    monkeypatch.setattr(torch, "load", lambda *a, **kw: loads.append(kw) or real_load(*a, **kw))
    view = synthetic_view(get_strategy("asal").required(), n_pool=60, n_labeled=10, cache_dir=tmp_path)
    a = get_strategy("asal", **FAST)
    sel = a.query(view, 5, _gen())
    assert len(calls) == 1 and sel.extras["asal_gan_trained"] is True
    files = os.listdir(gan_mod.gan_cache_path("x", tmp_path).parent)
    assert len(files) == 1 and files[0].startswith("gan-") and files[0].endswith(".pt")
    b = get_strategy("asal", **FAST)  # a fresh instance: must load, not retrain
    sel_b = b.query(view, 5, _gen())
    assert len(calls) == 1 and sel_b.extras["asal_gan_trained"] is False
    assert loads and all(kw.get("weights_only") is True for kw in loads)
    assert torch.equal(sel.indices, sel_b.indices)
    a.query(view, 5, _gen())  # same instance: nothing reloaded
    assert len(loads) == 1


def test_asal_query_extras_and_device_only():
    s = get_strategy("asal", **FAST)
    view = synthetic_view(s.required(), n_pool=80, n_labeled=20, num_classes=3)
    s.prepare(view)
    with forbid_host_transfers():
        sel = s.query(view, 6, _gen(4))
    idx = sel.indices.tolist()
    assert len(set(idx)) == 6 and set(idx) <= set(view.unlabeled.tolist())
    ex = sel.extras
    assert ex["asal_generated_entropy"] > ex["asal_generated_entropy_before"]
    assert ex["asal_match_distance"].shape == (6,) and int(ex["asal_matched_pred_hist"].sum()) == 6
    assert torch.isfinite(sel.scores).all()
    disc = get_strategy("asal", features="discriminator", **FAST).query(view, 6, _gen(4))
    assert len(set(disc.indices.tolist())) == 6
    ae = get_strategy("asal", features="autoencoder", ae_iterations=30, ae_code_dim=8, **FAST)
    sel_ae = ae.query(view, 6, _gen(4))
    assert len(set(sel_ae.indices.tolist())) == 6 and set(sel_ae.indices.tolist()) <= set(view.unlabeled.tolist())
    state = ae.prepare(view)
    assert state["autoencoder"]["trained"] in (True, False) and state["index"].features.shape[1] == 8
    with pytest.raises(ValueError, match="ae_iterations"):
        get_strategy("asal", features="autoencoder", ae_iterations=0).query(view, 2, _gen())


def test_autoencoder_learns_and_is_cached(tmp_path):
    from alkit.strategies import _gan as gan

    g = torch.Generator().manual_seed(0)
    # 2-D structure in 16-D: the code (4) can capture it, so the reconstruction error must fall.
    pool = torch.randn(200, 2, generator=g) @ torch.randn(2, 16, generator=g)
    ae, info = gan.load_or_train_autoencoder(pool, code_dim=4, iterations=300, cache_dir=tmp_path)
    assert info["last_loss"] < 0.5 * info["first_loss"]
    with torch.no_grad():
        err = torch.nn.functional.mse_loss(ae(pool), pool).item()
    assert err < 0.5 * pool.var().item()
    assert not any(p.requires_grad for p in ae.parameters())
    gan._TRAINED.clear()  # force the disk path
    ae2, info2 = gan.load_or_train_autoencoder(pool, code_dim=4, iterations=300, cache_dir=tmp_path)
    assert info2["trained"] is False and info2["path"] == info["path"] and info["path"].endswith(".pt")
    with torch.no_grad():
        assert torch.equal(ae.encode(pool), ae2.encode(pool))
    _, info3 = gan.load_or_train_autoencoder(pool, code_dim=4, iterations=301, cache_dir=tmp_path)
    assert info3["fingerprint"] != info["fingerprint"]  # a changed setting trains a new one


def test_asal_ivf_index_in_query():
    s = get_strategy("asal", index="ivf", n_lists=5, nprobe=2, **FAST)
    view = synthetic_view(s.required(), n_pool=120, n_labeled=20)
    sel = s.query(view, 10, _gen(1))
    assert sel.extras["asal_index"] == "ivf"
    assert len(set(sel.indices.tolist())) == 10 and set(sel.indices.tolist()) <= set(view.unlabeled.tolist())


def test_seeded_determinism():
    view = synthetic_view(get_strategy("asal").required(), n_pool=60, n_labeled=10, seed=5)
    runs = [get_strategy("asal", **FAST).query(view, 7, _gen(9)) for _ in range(2)]
    assert torch.equal(runs[0].indices, runs[1].indices)
    assert torch.equal(runs[0].scores, runs[1].scores)
    other = get_strategy("asal", **FAST).query(view, 7, _gen(10))
    assert other.extras["asal_generated_entropy"] != runs[0].extras["asal_generated_entropy"]


def test_gaal_synthesize_shape_and_margin():
    s = get_strategy("gaal", gan_iterations=5, ascent_steps=100, ascent_lr=0.05)
    view = synthetic_view(s.required(), n_pool=60, n_labeled=10, num_classes=4, input_dim=6)
    with pytest.raises(RuntimeError, match="needs a GAN"):
        s.synthesize(view.model, 4, _gen())
    x = s.synthesize(view.model, 16, _gen(3), view=view)
    assert x.shape == (16, 6)
    g = s._state["gen"]
    with torch.no_grad():
        rand = g(torch.randn(16, g.latent_dim, generator=_gen(3)))
        assert top2_margin(view.model(x)).mean() < 0.5 * top2_margin(view.model(rand)).mean()
    sel = s.query(view, 5, _gen(3))
    assert set(sel.indices.tolist()) <= set(view.unlabeled.tolist()) and "gaal_generated_margin" in sel.extras


def test_gan_on_images_shapes(tmp_path):
    for shape in [(1, 28, 28), (3, 32, 32)]:
        g, c = gan_mod.build_gan(shape, latent_dim=8)
        x = g(torch.randn(2, 8))
        assert x.shape == (2, *shape) and c(x).shape == (2,) and c.features(x).shape == (2, 128)
    pool = torch.randn(16, 1, 28, 28, generator=_gen(0))
    g, c, info = gan_mod.load_or_train_gan(pool, latent_dim=8, iterations=1, batch_size=8, cache_dir=tmp_path)
    assert info["trained"] and os.path.exists(info["path"])


def test_without_a_cache_dir_the_gan_stays_in_memory(tmp_path, monkeypatch):
    """Strategies never look up the workspace: no cache_dir on the view, no file anywhere."""
    monkeypatch.chdir(tmp_path)
    gan_mod._TRAINED.clear()
    pool = torch.randn(12, 4, generator=_gen(3))
    _, _, info = gan_mod.load_or_train_gan(pool, latent_dim=2, iterations=1, batch_size=4)
    assert info["path"] is None and info["trained"] is True
    _, _, again = gan_mod.load_or_train_gan(pool, latent_dim=2, iterations=1, batch_size=4)
    assert again["trained"] is False  # the in-process copy
    assert not any(tmp_path.rglob("*.pt")) and not os.path.exists(os.environ["ALKIT_WORKSPACE"])
