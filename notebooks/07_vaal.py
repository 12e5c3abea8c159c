# %% [markdown]
# # 07 — VAAL: a latent space, a discriminator, and what each part is worth
#
# *What you will see:* Variational Adversarial Active Learning (Sinha et al. 2019; reference §4.18) is
# task-agnostic: a β-VAE learns a latent space from labeled **and** unlabeled inputs, a discriminator
# $D$ on the latent means learns to tell "labeled" from "unlabeled", and the VAE is trained
# *adversarially* to make every latent look labeled. VAAL queries the unlabeled points with the
# **lowest** $D(\mu(x))$. We look at the latent space and the discriminator on a toy with a 2-D
# latent, derive the query once by hand, and then take VAAL apart with two **ablations** (alkit's
# `vae_mode`): a **frozen** VAE (trained on its own loss, never shown $D$) and **no VAE** ($D$ on the raw
# inputs) — on the toy and on real MNIST digits with a biased labeled set.
# *Prerequisites:* 06 (DAL: the same labeled-vs-unlabeled idea without a VAE).
#
# The two losses (official code):
#
# $$\mathcal L_\text{VAE} = \lambda_1\!\!\sum_{S\in\{L,U\}}\!\big(\mathrm{MSE}_S + \beta\,\mathrm{KL}_S\big)
#   + \lambda_2\big[\mathrm{BCE}(D(\mu_L),1) + \mathrm{BCE}(D(\mu_U),1)\big],\qquad
#   \mathcal L_D = \mathrm{BCE}(D(\mu_L),1) + \mathrm{BCE}(D(\mu_U),0).$$

# %%
import math

import matplotlib.pyplot as plt
import torch

import alkit
from alkit.lessons import SMOKE, exercise, interact, pick
from alkit.strategies import PoolView, top_k
from alkit.strategies.vaal import VAAL
from alkit.viz.discriminators import MapPanel, score_map_figure, show

torch.set_num_threads(1)
torch.manual_seed(0)

N_TOY = pick(100, 200)  # points per blob on the toy
B_TOY = 20  # picks on the toy
# A tiny VAAL for the toy: 2-D latent (so we can look at it), per-sample KL (see the note in section 1)
TOY_VAAL = dict(latent_dim=2, mlp_hidden=32, disc_hidden=64, epochs=pick(10, 20), batch_size=32, kl_reduction="mean")
MODES = ["adversarial", "frozen", "none"]
MNIST_TEST = pick(4000, 1000)  # mnist5k test images; the pool is the other 5000 - MNIST_TEST
MNIST_VAAL = dict(arch="mlp", mlp_hidden=pick(128, 256), disc_hidden=pick(128, 512), max_iterations=pick(60, 300))
MNIST_B = 100


def lifted_blobs(seed=0, n=N_TOY, n_l=20):
    """Reference §4.18's toy: blobs A at (-2, 0) and B at (2, 0) (std 0.5), lifted to 16-D by a fixed
    random linear map W; the labeled set comes from blob A only."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, 2, generator=g) * 0.5 + torch.tensor([-2.0, 0.0])
    b = torch.randn(n, 2, generator=g) * 0.5 + torch.tensor([2.0, 0.0])
    w = torch.randn(2, 16, generator=torch.Generator().manual_seed(123)) / math.sqrt(2.0)
    plane = torch.cat([a, b])
    lab = torch.randperm(n, generator=g)[:n_l].sort().values
    mask = torch.ones(2 * n, dtype=torch.bool)
    mask[lab] = False
    unl = torch.nonzero(mask).reshape(-1)
    x = plane @ w
    view = PoolView.from_tensors(unl, lab, inputs=x[unl], labeled_inputs=x[lab])
    return view, plane, w, unl >= n


view_toy, plane, W, unl_is_b = lifted_blobs()
is_b = torch.arange(len(plane)) >= N_TOY
EXTENT = (-4.0, 4.0, -2.5, 2.5)
print(f"toy: {len(plane)} points in 16-D ({view_toy.n_labeled} labeled, all from blob A)")

# %% [markdown]
# ## 1. The latent space and the discriminator
#
# `VAAL.fit_networks` trains a fresh VAE and discriminator exactly as a query does and hands them back,
# so we can look inside. With a 2-D latent we can draw the latent means $\mu(x)$ of the whole pool and
# $D$ over the latent plane.
#
# ⚠ The official code sums the KL term over the batch *and* the latent dimensions while the MSE is a
# mean, so the KL dominates and squeezes the latents towards $\mathcal N(0, I)$; on this 2-D toy that
# merges the blobs. The toy uses the per-sample KL (`kl_reduction="mean"`); the MNIST part below keeps it too.

# %%
fits = {}
for mode in MODES:
    s = VAAL(**TOY_VAAL, vae_mode=mode)
    sel = s.query(view_toy, B_TOY, torch.Generator().manual_seed(0))
    enc, disc, logs = s.fit_networks(view_toy.labeled_inputs, view_toy.inputs, sel.extras["seed"])  # same networks
    fits[mode] = {"sel": sel, "enc": enc, "disc": disc,
                  "share_b": float(is_b[sel.indices].float().mean())}

adv = fits["adversarial"]
with torch.no_grad():
    mu_all = adv["enc"].encode(plane @ W)[0]
    d_all = adv["disc"](mu_all)
lo, hi = mu_all.min(0).values - 0.5, mu_all.max(0).values + 0.5
LATENT_EXTENT = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
GREY = {"c": "#bbbbbb", "marker": ".", "s": 8}
fig_latent = score_map_figure([
    MapPanel("latent means μ(x) of the pool", fn=None, styles={"blob A": GREY},
             points={"blob A": mu_all[~is_b], "blob B": mu_all[is_b], "labeled": mu_all[view_toy.labeled]}),
    MapPanel("D(μ) over the latent plane, VAAL's picks", fn=adv["disc"], cbar="D = P(labeled)", vmin=0, vmax=1,
             cmap="magma", styles={"pool": GREY}, points={"pool": mu_all, "labeled": mu_all[view_toy.labeled],
                                                          "picked": mu_all[adv["sel"].indices]}),
], LATENT_EXTENT, resolution=pick(50, 100), panel_size=4.0)
show(fig_latent)
print(f"mean D(μ) on blob A {float(d_all[~is_b].mean()):.3f}, on blob B {float(d_all[is_b].mean()):.3f}; "
      f"share of the {B_TOY} picks from B: {adv['share_b']:.2f}")

# %% [markdown]
# The VAE keeps the two blobs mostly apart in its latent space (it has to reconstruct them), and $D$ learns
# that the labeled latents sit in blob A's region: $D(\mu)$ is lower on blob B, whose points are picked.
#
# **The query, by hand.** VAAL's acquisition is $a(x) = -D(\mu(x))$ — the $b$ unlabeled points with the
# lowest "labeled" probability. With the networks above:

# %%
with torch.no_grad():
    d_unl = adv["disc"](adv["enc"].encode(view_toy.inputs)[0])
by_hand = view_toy.unlabeled[top_k(-d_unl, B_TOY)]
print("by hand == alkit:", torch.equal(by_hand, adv["sel"].indices))

# %% [markdown]
# ## 2. The adversarial weight λ2
#
# The VAE's adversarial term pushes *every* latent towards the region $D$ calls labeled: the VAE fights
# the discriminator by moving unlabeled latents (blob B's) towards labeled ones. The stronger the term
# (λ2), the closer $D$ is held to chance — its final loss rises towards $2\ln 2 \approx 1.39$. Slide λ2 and
# watch $D$ over the **input plane** ($D(\mu(W^\top p))$ for each 2-D point $p$) and the share of picks
# from B. On a toy this easy the picks often survive the fight; the next sections show data where they do not.

# %%
_lam = {}


def vaal_with(lambda2):
    if lambda2 not in _lam:
        s = VAAL(**TOY_VAAL, lambda2=lambda2)
        sel = s.query(view_toy, B_TOY, torch.Generator().manual_seed(0))
        enc, disc, _ = s.fit_networks(view_toy.labeled_inputs, view_toy.inputs, sel.extras["seed"])
        _lam[lambda2] = {"sel": sel, "fn": lambda p: disc(enc.encode(p @ W)[0]),
                         "share_b": float(is_b[sel.indices].float().mean()), "disc_loss": sel.extras["disc_loss"]}
    return _lam[lambda2]


def adversarial_weight(lambda2=1.0):
    r = vaal_with(lambda2)
    fig = score_map_figure([MapPanel(f"λ2 = {lambda2:g}: D(μ(x)) over the input plane; {r['share_b']:.0%} of the "
                                     f"picks from B, D loss {r['disc_loss']:.2f}", fn=r["fn"], cbar="D", vmin=0,
                                     vmax=1, cmap="magma",
                                     points={"unlabeled": plane[view_toy.unlabeled], "labeled": plane[view_toy.labeled],
                                             "picked": plane[r["sel"].indices]})], EXTENT, resolution=pick(50, 100),
                           panel_size=4.5)
    show(fig)
    return r


shown_lam = interact(adversarial_weight, lambda2=(0.0, 10.0, 0.5, 1.0))
strong = vaal_with(10.0)
print(f"λ2 = 1: {shown_lam['share_b']:.2f} from B (D loss {shown_lam['disc_loss']:.3f}); "
      f"λ2 = 10: {strong['share_b']:.2f} from B (D loss {strong['disc_loss']:.3f}); chance D loss = 2 ln 2 = {2 * math.log(2):.3f}")

# %% [markdown]
# ## 3. Ablations: frozen VAE, no VAE (the toy)
#
# alkit's `vae_mode` takes VAAL apart (the VAAL paper's own ablation studies the same two parts):
#
# * `"frozen"` — the VAE is trained on its own loss only (same number of steps), then frozen; $D$ then
#   trains on its fixed latents. No adversarial game.
# * `"none"` — no VAE: $D$ (same widths) learns labeled-vs-unlabeled on the raw 16-D inputs, like DAL
#   (lesson 06) with a BCE discriminator and no mini-queries.

# %%
fig_ablation = score_map_figure([
    MapPanel(f"{mode}: {fits[mode]['share_b']:.0%} of the picks from B", cbar="D", vmin=0, vmax=1, cmap="magma",
             fn=(lambda p, m=mode: fits[m]["disc"](fits[m]["enc"].encode(p @ W)[0])),
             points={"unlabeled": plane[view_toy.unlabeled], "labeled": plane[view_toy.labeled],
                     "picked": plane[fits[mode]["sel"].indices]}) for mode in MODES
], EXTENT, resolution=pick(50, 100), panel_size=3.6, suptitle="D(μ(x)) over the input plane for the three vae_modes")
show(fig_ablation)
for mode in MODES:
    ex = fits[mode]["sel"].extras
    print(f"{mode:12s} picks from B {fits[mode]['share_b']:.2f} | D loss {ex['disc_loss']:.3f} | "
          f"VAE recon {ex['vae_recon']} | VAE adversarial term {ex['vae_adv']}")

# %% [markdown]
# On this toy every variant finds blob B: the two blobs are far apart, so the labeled-vs-unlabeled
# question is easy with or without a latent space. The discriminator's loss tells how easy: without the
# adversarial game it ends lower (it wins), with it $D$ is held nearer to chance ($2\ln 2 \approx 1.39$).

# %% [markdown]
# ## 4. Ablations on real digits (MNIST-5k)
#
# Now 784-pixel MNIST digits, and a labeled set of 100 digits drawn **only from classes 0–4**. A good
# labeled-vs-unlabeled signal should send the query to the classes 5–9 it has never seen. We run the
# three modes (an MLP VAE on the flattened digits, so a CPU can afford it) and compare the share of
# unseen-class digits among the 100 picks with random sampling.

# %%
mnist = alkit.load_dataset("mnist5k", test_size=MNIST_TEST)
y = mnist.y_train
g = torch.Generator().manual_seed(0)
seen_pool = torch.nonzero(y < 5).squeeze(1)
lab_m = seen_pool[torch.randperm(len(seen_pool), generator=g)[:100]].sort().values
mask = torch.zeros(len(y), dtype=torch.bool)
mask[lab_m] = True
unl_m = torch.nonzero(~mask).squeeze(1)
view_m = PoolView.from_tensors(unl_m, lab_m, inputs=mnist.x_train[unl_m], labeled_inputs=mnist.x_train[lab_m])
pool_unseen = float((y[unl_m] >= 5).float().mean())

mnist_res = {}
for mode in MODES:
    sel = alkit.get_strategy("vaal", **MNIST_VAAL, kl_reduction="mean", vae_mode=mode).query(
        view_m, MNIST_B, torch.Generator().manual_seed(0))
    mnist_res[mode] = {"unseen": float((y[sel.indices] >= 5).float().mean()), **sel.extras}
rand = alkit.get_strategy("random").query(view_m, MNIST_B, torch.Generator().manual_seed(0))
mnist_res["random"] = {"unseen": float((y[rand.indices] >= 5).float().mean())}

fig_mnist, ax = plt.subplots(figsize=(6, 3.2))
names = list(mnist_res)
ax.bar(names, [mnist_res[n]["unseen"] for n in names], color=["#9467bd", "#1f77b4", "#2ca02c", "#7f7f7f"])
ax.axhline(pool_unseen, color="black", ls=":", lw=1, label=f"share in the pool ({pool_unseen:.2f})")
ax.set_ylim(0, 1)
ax.set_ylabel("share of picks from classes 5–9")
ax.set_title(f"MNIST-5k, labeled set from classes 0–4 only, b = {MNIST_B}", fontsize=10)
ax.legend(fontsize=8)
show(fig_mnist)
for n in MODES:
    r = mnist_res[n]
    print(f"{n:12s} unseen share {r['unseen']:.2f} | D loss {r['disc_loss']:.3f} | VAE KL {r['vae_kl']} | "
          f"iterations {r['iterations']}")
print(f"random       unseen share {mnist_res['random']['unseen']:.2f}")

# %% [markdown]
# On real digits the ablations separate. The **raw-pixel** discriminator (no VAE) sends most of the
# query to the unseen digits: in pixel space, 5–9 simply look different from the 0–4 it was shown. With
# a VAE, on the few hundred steps a CPU affords, the latent means carry little (the KL term is tiny,
# below 1 nat: the posterior has nearly collapsed to the prior), so the frozen-VAE discriminator does
# about as well as random (within 0.1 of its share). In the adversarial mode the VAE additionally pushes
# every latent towards "labeled": $D$ ends at chance (its loss within 0.03 of $2\ln 2$), its remaining
# wiggles decide the query, and VAAL is no better than random (at most 0.1 above its share) — in full
# mode (300 iterations, 3,900 unlabeled digits) it takes **no** digit from 5–9 at all, as if the VAE had
# pushed the unlabeled latents past the labeled ones (our reading, not checked further). VAAL's latent space only pays off once the VAE has learned a real representation — the
# paper trains it for 100 epochs on a GPU. That is the honest reading of an ablation: a component is
# worth what it adds *under your budget*.

# %% [markdown]
# ## Exercises
#
# **1.** What is the discriminator loss $\mathcal L_D$ of a discriminator that outputs 0.5 for every latent
# (labeled or not)? Use alkit's `discriminator_loss`.
#
# **2.** Which `vae_mode` sent the largest share of its MNIST picks to the unseen classes 5–9?
#
# **3.** DeepAL+'s "VAAL" takes the unlabeled points with the **highest** $D(\mu)$ instead of the lowest.
# With the toy's adversarial networks from section 1, what share of its 20 picks would come from blob B?

# %%
ex1 = exercise("07.1")
answer1 = None  # your code here
ex1.check(answer1)  # stuck? ex1.reveal() prints a worked solution

ex2 = exercise("07.2", mnist_res=mnist_res, modes=MODES)
answer2 = None  # your code here: a vae_mode name
ex2.check(answer2)

ex3 = exercise("07.3", d_unl=d_unl, view_toy=view_toy, is_b=is_b, budget=B_TOY)
answer3 = None  # your code here
ex3.check(answer3)

# %% [markdown]
# ## What this lesson showed (checked)

# %%
# 1. the latent space keeps the blobs apart, D is lower on the unlabeled blob, the query is top-b of -D
assert float(d_all[is_b].mean()) < float(d_all[~is_b].mean())
assert torch.equal(by_hand, adv["sel"].indices)
assert adv["share_b"] >= 0.75
# 2. the slider's default is section 1's VAAL; a stronger adversarial term holds D nearer chance
assert torch.equal(shown_lam["sel"].indices, adv["sel"].indices)
assert shown_lam["disc_loss"] < strong["disc_loss"] < 2 * math.log(2) + 0.05
# 3. on the toy every ablation finds blob B; without the game D wins (a lower loss)
assert all(fits[m]["share_b"] >= 0.75 for m in MODES) and fits["none"]["share_b"] >= 0.9
assert fits["none"]["sel"].extras["vae_recon"] is None
assert max(fits[m]["sel"].extras["disc_loss"] for m in ("frozen", "none")) < fits["adversarial"]["sel"].extras["disc_loss"]
# 4. MNIST: the raw-pixel discriminator finds the unseen classes; adversarial D ends near chance
assert mnist_res["none"]["unseen"] >= pool_unseen + 0.2
assert mnist_res["none"]["unseen"] >= max(mnist_res["adversarial"]["unseen"], mnist_res["random"]["unseen"])
assert abs(mnist_res["adversarial"]["disc_loss"] - 2 * math.log(2)) < 0.03
assert mnist_res["none"]["unseen"] > 0.5  # "most of the query"
assert abs(mnist_res["frozen"]["unseen"] - mnist_res["random"]["unseen"]) <= 0.1  # "about as well as random"
if not SMOKE:  # the full-mode run: 300 iterations, 3,900 unlabeled digits, no unseen digit at all
    assert mnist_res["adversarial"]["iterations"] == 300 and view_m.n_unlabeled == 3900
    assert mnist_res["adversarial"]["unseen"] == 0.0
assert mnist_res["adversarial"]["unseen"] <= mnist_res["random"]["unseen"] + 0.1  # no better than random
assert max(mnist_res[m]["vae_kl"] for m in ("adversarial", "frozen")) < 1.0  # a nearly collapsed posterior
# exercises: the wrong sign avoids blob B
assert ex3._reference() < 0.5  # the highest-D picks come mostly from A
