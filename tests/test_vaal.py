"""VAAL (reference §4.18): loss targets, toy behaviour, scoring path, shapes, seeding."""

import math

import pytest
import torch

from alkit.strategies import PoolView, get_strategy
from alkit.strategies.vaal import (
    BCE_EPS,
    MLPVAE,
    VAAL,
    ConvVAE,
    VAALDiscriminator,
    clamped_bce,
    discriminator_loss,
    kl_divergence,
    vaal_scores,
    vae_adversarial_loss,
    vae_trd_loss,
)
from alkit.testing import forbid_host_transfers

TINY = dict(latent_dim=4, mlp_hidden=16, disc_hidden=16, epochs=2.0, batch_size=16)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _view(shape, n_l=6, n_u=10, seed=0):
    g = _gen(seed)
    x = torch.randn(n_l + n_u, *shape, generator=g)
    lab, unl = torch.arange(n_l), torch.arange(n_l, n_l + n_u)
    return PoolView.from_tensors(unl, lab, inputs=x[unl], labeled_inputs=x[lab])


# --- (i) the loss targets --------------------------------------------------------------------
def test_bce_matches_hand_values_and_is_clamped():
    p = torch.tensor([0.9, 0.2])
    assert clamped_bce(p, 1.0).item() == pytest.approx(-(math.log(0.9) + math.log(0.2)) / 2, rel=1e-5)
    assert clamped_bce(p, 0.0).item() == pytest.approx(-(math.log(0.1) + math.log(0.8)) / 2, rel=1e-5)
    saturated = clamped_bce(torch.tensor([0.0, 1.0]), 1.0)
    assert torch.isfinite(saturated) and saturated.item() == pytest.approx(-math.log(BCE_EPS) / 2, rel=1e-3)


def test_discriminator_loss_uses_target_one_for_labeled_and_zero_for_unlabeled():
    d_l, d_u = torch.tensor([0.8, 0.6]), torch.tensor([0.3, 0.1])
    want = -(math.log(0.8) + math.log(0.6)) / 2 - (math.log(0.7) + math.log(0.9)) / 2
    assert discriminator_loss(d_l, d_u).item() == pytest.approx(want, rel=1e-5)
    # a perfect discriminator (L -> 1, U -> 0) has ~zero loss; the DeepAL+ target (U -> 1) would not
    assert discriminator_loss(torch.ones(3), torch.zeros(3)).item() < 1e-5
    assert discriminator_loss(torch.ones(3), torch.ones(3)).item() > 10
    assert discriminator_loss(None, d_u).item() == pytest.approx(-(math.log(0.7) + math.log(0.9)) / 2, rel=1e-5)


def test_vae_adversarial_term_uses_target_one_for_both():
    d_l, d_u = torch.tensor([0.8, 0.6]), torch.tensor([0.3, 0.1])
    want = -(math.log(0.8) + math.log(0.6)) / 2 - (math.log(0.3) + math.log(0.1)) / 2
    assert vae_adversarial_loss(d_l, d_u).item() == pytest.approx(want, rel=1e-5)
    assert vae_adversarial_loss(torch.ones(3), torch.ones(3)).item() < 1e-5


def test_kl_and_trd_loss_hand_values():
    mu, logvar = torch.tensor([[1.0, 0.0], [0.0, 2.0]]), torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    per_row = [0.5 * 1.0 + 0.5 * (2.0 - 1.0 - math.log(2.0)), 0.5 * 4.0]
    assert kl_divergence(mu, logvar, "sum").item() == pytest.approx(sum(per_row), rel=1e-5)
    assert kl_divergence(mu, logvar, "mean").item() == pytest.approx(sum(per_row) / 2, rel=1e-5)
    assert kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0
    with pytest.raises(ValueError, match="kl_reduction"):
        kl_divergence(mu, logvar, "batchmean")
    x, recon = torch.zeros(2, 3), torch.ones(2, 3)
    total, mse, kl = vae_trd_loss(x, recon, mu, logvar, beta=0.5)
    assert mse.item() == pytest.approx(1.0) and total.item() == pytest.approx(1.0 + 0.5 * sum(per_row), rel=1e-5)


# --- (ii) toy: biased L ----------------------------------------------------------------------
def _toy(seed, n=100, n_l=20):
    """Two 2-D blobs (A at x=-2, B at x=+2) lifted to 16-D by a fixed random linear map; L from A only."""
    g = _gen(seed)
    a = torch.randn(n, 2, generator=g) * 0.5 + torch.tensor([-2.0, 0.0])
    b = torch.randn(n, 2, generator=g) * 0.5 + torch.tensor([2.0, 0.0])
    w = torch.randn(2, 16, generator=_gen(123)) / math.sqrt(2.0)
    x = torch.cat([a, b]) @ w
    lab = torch.randperm(n, generator=g)[:n_l].sort().values
    mask = torch.ones(2 * n, dtype=torch.bool)
    mask[lab] = False
    unl = torch.nonzero(mask).reshape(-1)
    return PoolView.from_tensors(unl, lab, inputs=x[unl], labeled_inputs=x[lab]), unl >= n


def test_toy_biased_labeled_set_selects_the_other_blob():
    # lambda2 = 0.1 and the per-sample KL: with the official lambda2 = 1 and the summed KL the tiny
    # VAE maps B onto A to fool D and only ~70-95 % of the picks come from B (see the report).
    s = VAAL(latent_dim=4, mlp_hidden=32, disc_hidden=64, epochs=10, batch_size=32, lambda2=0.1,
             kl_reduction="mean")
    for seed in (0, 1):
        view, is_b = _toy(seed)
        vae, disc, _ = s.fit_networks(view.labeled_inputs, view.inputs, seed)
        with torch.no_grad():
            d = disc(vae.encode(view.inputs)[0])
        assert d[is_b].mean() < d[~is_b].mean()
        sel = s.query(view, 20, _gen(seed))
        from_b = is_b[torch.searchsorted(view.unlabeled, sel.indices)].float().mean().item()
        assert from_b >= 0.9, f"seed {seed}: only {from_b:.2f} of the picks from B"


# --- (iii) the scoring path with injected networks --------------------------------------------
def test_selection_is_argsort_of_a_fake_discriminator_ascending():
    g = _gen(4)
    x = torch.randn(30, 3, generator=g)
    view = PoolView.from_tensors(torch.arange(5, 35), torch.arange(5), inputs=x, labeled_inputs=torch.randn(5, 3))

    def encode(xb):
        return xb[:, :2]

    def fake_d(mu):
        return torch.sigmoid(mu[:, 0] - 0.5 * mu[:, 1])

    d = fake_d(encode(x))
    assert torch.allclose(vaal_scores(encode, fake_d, x, batch_size=7), -d)
    pos, picked, _ = VAAL().select_with(view, 8, encode, fake_d)
    assert torch.equal(pos, torch.argsort(d)[:8])
    assert torch.allclose(picked, -d[pos])

    class Injected(VAAL):
        def fit_networks(self, x_labeled, x_unlabeled, seed):
            vae = type("Enc", (), {"encode": staticmethod(lambda xb: (encode(xb), None))})()
            zero = torch.zeros(())
            return vae, fake_d, {"recon": zero, "kl": zero, "adv": zero, "disc": zero}

    sel = Injected().query(view, 8, _gen(0))
    assert torch.equal(sel.indices, view.unlabeled[torch.argsort(d)[:8]])


# --- shapes, seeding, re-initialisation --------------------------------------------------------
@pytest.mark.parametrize("shape", [(6,), (1, 28, 28), (3, 32, 32)])
def test_input_shapes_run(shape):
    s = VAAL(**{**TINY, "conv_width": 4, "max_iterations": 3})
    view = _view(shape)
    with forbid_host_transfers():
        sel = s.query(view, 4, _gen(0))
    assert len(sel.indices) == 4 and len(set(sel.indices.tolist())) == 4
    for key in ("vae_recon", "vae_kl", "vae_adv", "disc_loss"):
        assert math.isfinite(sel.extras[key])
    assert sel.extras["iterations"] == 2


def test_conv_vae_shapes_and_padding():
    for shape, flat in (((1, 28, 28), 8 * 4 * 2 * 2), ((3, 32, 32), 8 * 4 * 2 * 2)):
        vae = ConvVAE(shape, latent_dim=5, width=4)
        x = torch.randn(3, *shape)
        recon, z, mu, logvar = vae(x)
        assert recon.shape == x.shape and mu.shape == z.shape == logvar.shape == (3, 5)
        assert vae.fc_mu.in_features == flat
    assert MLPVAE((2, 3), latent_dim=2, hidden=8)(torch.randn(4, 2, 3))[0].shape == (4, 2, 3)
    disc = VAALDiscriminator(5, 7)
    assert [m.out_features for m in disc.net if isinstance(m, torch.nn.Linear)] == [7, 7, 1]
    assert all(m.bias.abs().sum() == 0 for m in disc.net if isinstance(m, torch.nn.Linear))


def test_seeded_determinism_and_reinitialisation_each_query():
    s = VAAL(**TINY)
    view = _view((6,), n_l=8, n_u=40)
    a, b, c = (s.query(view, 10, _gen(seed)) for seed in (5, 5, 6))
    assert torch.equal(a.indices, b.indices) and torch.equal(a.scores, b.scores)
    assert a.extras == b.extras  # same seed: a fresh, identical model, not a continued one
    assert not torch.equal(a.scores, c.scores) and a.extras["vae_recon"] != c.extras["vae_recon"]
    m1, m2, m3 = (s.fit_networks(view.labeled_inputs, view.inputs, seed)[0] for seed in (1, 1, 2))
    p1, p2, p3 = (torch.cat([p.flatten() for p in m.parameters()]) for m in (m1, m2, m3))
    assert torch.equal(p1, p2) and not torch.equal(p1, p3)


def test_iteration_count_and_validation():
    s = VAAL(epochs=2.5, batch_size=64, max_iterations=None)
    assert s.num_iterations(1348) == (math.ceil(2.5 * 1348 / 64), math.ceil(1348 / 64))
    assert VAAL(epochs=100, max_iterations=50).num_iterations(1348)[0] == 50
    view = _view((6,))
    with pytest.raises(ValueError, match="kl_reduction"):
        VAAL(kl_reduction="avg").query(view, 2, _gen(0))
    with pytest.raises(ValueError, match="arch"):
        VAAL(**TINY, arch="rnn").query(view, 2, _gen(0))
    assert get_strategy("vaal").needs == frozenset({"inputs", "labeled_inputs"})
    assert get_strategy("vaal").training_hook() is None


def test_no_labeled_inputs_still_returns_a_selection():
    g = _gen(0)
    view = PoolView.from_tensors(torch.arange(12), torch.empty(0, dtype=torch.long),
                                 inputs=torch.randn(12, 6, generator=g), labeled_inputs=torch.empty(0, 6))
    sel = VAAL(**TINY).query(view, 3, _gen(0))
    assert len(set(sel.indices.tolist())) == 3


# --- ablations: vae_mode = "frozen" / "none" ---------------------------------------------------
def test_ablation_modes_on_the_biased_toy():
    """Calibrated once (official lambda2 = 1, summed KL, seeds 0-2): share of the 20 picks from blob B
    adversarial 1.00 / 0.90 / 0.75, frozen 1.00 / 0.95 / 0.95, none 1.00 / 1.00 / 1.00."""
    for mode in ("frozen", "none"):
        s = VAAL(latent_dim=4, mlp_hidden=32, disc_hidden=64, epochs=10, batch_size=32, vae_mode=mode)
        for seed in (0, 1):
            view, is_b = _toy(seed)
            sel = s.query(view, 20, _gen(seed))
            from_b = is_b[torch.searchsorted(view.unlabeled, sel.indices)].float().mean().item()
            assert from_b >= 0.9, f"{mode}, seed {seed}: only {from_b:.2f} of the picks from B"


def test_frozen_vae_never_sees_the_discriminator():
    view = _view((6,), n_l=8, n_u=40)
    fits = [VAAL(**TINY, vae_mode="frozen", lambda2=l2, num_adv_steps=n).fit_networks(
        view.labeled_inputs, view.inputs, 3) for l2, n in ((1.0, 1), (50.0, 1), (1.0, 3))]
    params = [torch.cat([p.flatten() for p in vae.parameters()]) for vae, _, _ in fits]
    assert torch.equal(params[0], params[1])  # lambda2 has no effect: no adversarial term
    assert torch.equal(params[0], params[2])  # D's training does not move the VAE
    assert not any(p.requires_grad for p in fits[0][0].parameters())
    d0, d2 = (torch.cat([p.flatten() for p in disc.parameters()]) for _, disc, _ in (fits[0], fits[2]))
    assert not torch.equal(d0, d2)
    logs = fits[0][2]
    assert all(torch.isfinite(logs[k]) for k in ("recon", "kl", "adv", "disc"))
    # and it is not the adversarial VAE
    adv_vae = VAAL(**TINY).fit_networks(view.labeled_inputs, view.inputs, 3)[0]
    assert not torch.equal(params[0], torch.cat([p.flatten() for p in adv_vae.parameters()]))


@pytest.mark.parametrize("shape", [(6,), (1, 28, 28)])
def test_no_vae_discriminates_flattened_inputs(shape):
    from alkit.strategies.vaal import FlattenEncoder

    s = VAAL(**TINY, vae_mode="none")
    view = _view(shape)
    with forbid_host_transfers():
        sel = s.query(view, 4, _gen(0))
    assert len(set(sel.indices.tolist())) == 4
    enc, disc, logs = s.fit_networks(view.labeled_inputs, view.inputs, sel.extras["seed"])
    assert isinstance(enc, FlattenEncoder) and list(enc.parameters()) == []
    assert disc.net[0].in_features == math.prod(shape)
    assert logs["recon"] is None and logs["kl"] is None and logs["adv"] is None
    assert sel.extras["vae_recon"] is None and math.isfinite(sel.extras["disc_loss"])
    with torch.no_grad():
        want = -disc(view.inputs.flatten(1))
    assert torch.allclose(sel.scores.sort().values, want.topk(4).values.sort().values)


def test_vae_mode_default_and_validation():
    assert VAAL().vae_mode == "adversarial"
    view = _view((6,), n_l=8, n_u=40)
    a = VAAL(**TINY).query(view, 5, _gen(2))
    b = VAAL(**TINY, vae_mode="adversarial").query(view, 5, _gen(2))
    assert torch.equal(a.indices, b.indices) and a.extras == b.extras
    with pytest.raises(ValueError, match="vae_mode"):
        VAAL(**TINY, vae_mode="off").query(view, 2, _gen(0))
