# %% [markdown]
# # 05 — Diversity and hybrids
#
# *What you will see:* four strategies that choose a **batch**, not a ranking — `"kmeans"`,
# `"kcenter"`, `"badge"` and `"cluster_margin"` — on one model; the covering radius they leave behind
# round after round; BADGE's gradient embedding derived with autograd; and DAL's argument against
# KCenter: covering ignores density (reference §4.11 and the §4.17 toys). *Prerequisites:* 03 (the
# round), 04 (uncertainty scores).

# %%

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

import alkit
from alkit.data import blobs
from alkit.lessons import exercise, gen, interact, pick, pool_view, toy_configs
from alkit.strategies import PoolView, margin_scores, top_k
from alkit.strategies.diversity import badge_sq_norms
from alkit.viz import toy2d

torch.set_num_threads(1)
torch.manual_seed(0)

N_POOL = pick(200, 800)
ROUNDS = pick(2, 8)
BUDGET = 10
GRID = pick(40, 80)
TRAIN = alkit.TrainConfig(epochs=pick(20, 40), batch_size=32, min_steps=pick(100, 200), lr=3e-3)

ds = blobs(n_samples=N_POOL, n_classes=4, n_test=N_POOL, cluster_std=1.3, seed=0)
grid = toy2d.make_grid(ds.x_train, steps=GRID)
# gen(seed): a seeded CPU generator; pool_view(run, strategy): the view strategy would get from run's current
# model (run.view_for); config(strategy, **params): every toy run shares budget, rounds and training.
config = toy_configs(query=BUDGET, rounds=ROUNDS, train=TRAIN)


# %% [markdown]
# ## 1. One model, six batches
#
# The model of round 0 (10 random labels), and one batch of $b = 10$ from each strategy. All of them see
# the model's penultimate **embedding** $e(x)$ (128-d here), not the 2-D coordinates:
#
# * `"kmeans"` — $k$-means with $k = b$ on the unlabeled embeddings, the member nearest each centroid
#   (representative);
# * `"kcenter"` — farthest-first traversal from the labeled set: repeatedly the item farthest from
#   everything chosen so far (covering, reference §4.11);
# * `"badge"` — $k$-means++ seeding on gradient embeddings $g_x = (p(x) - \mathbf 1_{\hat y}) \otimes e(x)$:
#   long vectors (uncertain items) and different directions (diverse items) are favoured (§4.12);
# * `"cluster_margin"` — the $10b$ lowest-margin items, spread round-robin over clusters computed once
#   (§4.13);
# * `"margin"` and `"random"` for reference.

# %%
base = alkit.ALRun(config("random"), dataset=ds)
base.step()
probs = toy2d.grid_probs(base.learner, grid)
BATCH = ["kmeans", "kcenter", "badge", "cluster_margin", "margin", "random"]
batch = {}
for name in BATCH:
    s = alkit.get_strategy(name)
    batch[name] = s.query(pool_view(base, s), BUDGET, gen()).indices.numpy()
spread = {name: toy2d.within_batch_distances(ds.x_train[b]) for name, b in batch.items()}
unl = base.unlabeled_indices()
margin_all = margin_scores(base.learner.predict_proba(ds.x_train[unl])).numpy()
margin_of = dict(zip(unl.tolist(), margin_all.tolist(), strict=True))
print(f"{'strategy':15s} {'closest pair':>12s} {'mean distance':>14s} {'mean margin score':>18s}")
mean_margin = {name: float(np.mean([margin_of[i] for i in b])) for name, b in batch.items()}
for name, d in spread.items():
    print(f"{name:15s} {d.min():12.2f} {d.mean():14.2f} {mean_margin[name]:18.3f}")

fig, axes = plt.subplots(2, 3, figsize=(16, 8.4), sharex=True, sharey=True)
for ax, name in zip(axes.ravel(), BATCH, strict=True):
    toy2d.round_panel(ax, grid, ds.x_train, ds.y_train, probs=probs, labeled=base.labeled_indices().tolist(),
                      picks=batch[name].tolist(), title=f'"{name}": closest pair {spread[name].min():.2f}')
toy2d.show(fig)

# %% [markdown]
# Margin clumps its batch on the boundaries (its closest pair is nearly a duplicate — under 5 % of its
# mean pairwise distance — and its picks are the most uncertain: the largest mean margin score); KMeans and
# KCenter spread over the pool and ignore the boundaries (their mean margin scores are nearer Random's than
# Margin's; KCenter, with the largest mean distance, reaches for the outskirts). The hybrids mix the two:
# BADGE keeps most of Margin's uncertainty (its mean margin score is the closest to Margin's) with a wider
# closest pair; Cluster-Margin trades uncertainty for spread (a lower mean margin score than BADGE's, a
# wider closest pair than Margin's), since its $10b$ candidates already reach fairly confident items of
# this small pool (try `margin_multiplier=2`).
#
# ### BADGE's gradient embedding, derived
#
# Why $(p - \mathbf 1_{\hat y}) \otimes e$? It is the gradient of the cross-entropy loss with respect to
# the last layer's weights $W$, if the label were the model's own guess $\hat y$. Autograd confirms it
# item by item, and its norm is what `badge_sq_norms` computes from the two factors without ever
# building the $K d$-dimensional vector.

# %%
model = base.learner.model
x_some = ds.x_train[unl[:5]]
a, e = base.learner.grad_factors(x_some)
autograd_rows = []
for i in range(len(x_some)):
    model.zero_grad(set_to_none=True)
    logits = model(x_some[i : i + 1])
    F.cross_entropy(logits, logits.argmax(1)).backward()
    autograd_rows.append(model.classifier.weight.grad.clone())  # (K, d')
model.zero_grad(set_to_none=True)
autograd_g = torch.stack(autograd_rows)
outer_g = a[:, :, None] * e[:, None, :]  # (p - onehot) ⊗ e, shape (5, K, d')
print("max |autograd - outer product| =", float((autograd_g - outer_g).abs().max()))
view_badge = pool_view(base, alkit.get_strategy("badge"))
g_norm = badge_sq_norms(*view_badge.grad_factors).sqrt()
print("BADGE's first pick is the longest gradient:",
      int(view_badge.unlabeled[torch.argmax(g_norm)]) == int(batch["badge"][0]))

# %% [markdown]
# ## 2. The covering radius, round by round
#
# KCenter's objective is the **covering radius** of the pool by the labeled set,
# $\max_{x} \min_{c \in L} \lVert x - c \rVert$: the farthest any pool item is from a labeled one. The greedy
# rule is a 2-approximation of the best radius (in the embedding space it uses). Below, whole runs of
# every strategy; the radius is measured in the 2-D input space (`toy2d.covering_radius`), where we can
# draw it.

# %%
runs = {name: alkit.ALRun(config(name), dataset=ds) for name in BATCH}
radius = {name: [] for name in BATCH}
closest = {name: [] for name in BATCH}
labeled_after = {name: [] for name in BATCH}
for name, run in runs.items():
    while not run.done:
        res = run.step()
        lab = run.labeled_indices()
        radius[name].append(toy2d.covering_radius(ds.x_train, ds.x_train[lab]))
        labeled_after[name].append(lab.numpy())
        if res.round > 0:
            closest[name].append(toy2d.within_batch_distances(ds.x_train[res.selected]).min())

fig, axes = plt.subplots(1, 2, figsize=(13, 3.8))
for name in BATCH:
    n_lab = [h.n_labeled for h in runs[name].history]
    style = "--" if name == "random" else "-"
    axes[0].plot(n_lab, radius[name], style, marker="o", label=name)
    axes[1].plot(n_lab, [h.accuracy for h in runs[name].history], style, marker="o", label=name)
axes[0].set_ylabel("covering radius of the pool (input space)")
axes[1].set_ylabel("test accuracy")
for ax in axes:
    ax.set_xlabel("labeled items")
axes[0].legend(fontsize=8)
toy2d.show(fig)
for name in BATCH:
    print(f"{name:15s} radius {' '.join(f'{r:5.2f}' for r in radius[name])}   "
          f"mean closest pair per batch {np.mean(closest[name]):.2f}")


# %%
def draw_cover(round=ROUNDS):  # noqa: A002 - the slider's name
    """The labeled set after `round`, the pool item farthest from it, and the covering disc around it."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for ax, name in zip(axes, ("kcenter", "random"), strict=True):
        lab = labeled_after[name][round]
        d = torch.cdist(ds.x_train.double(), ds.x_train[lab].double()).min(1).values
        far = int(torch.argmax(d))
        toy2d.selection_overlay(ax, ds.x_train, ds.y_train, labeled=lab.tolist(), picks=[far],
                                pick_label="farthest item")
        ax.add_patch(plt.Circle(ds.x_train[far].tolist(), float(d[far]), fill=False, ls="--", color="k"))
        ax.set_aspect("equal")
        ax.set_title(f'"{name}", round {round}: radius {float(d[far]):.2f}')
    toy2d.show(fig)
    return {name: radius[name][round] for name in ("kcenter", "random")}


shown_cover = interact(draw_cover, round=(0, ROUNDS, 1, ROUNDS))

# %% [markdown]
# ## 3. DAL's density argument against KCenter
#
# KCenter treats every region alike: a sparse region needs as many centres as a dense one of the same
# size, so it is *over*-sampled relative to its share of the pool (outliers are favoured by design).
# DAL (Gissin & Shalev-Shwartz) instead trains a classifier to tell the labeled set from the unlabeled
# pool and queries what it calls "unlabeled" most confidently: regions that are **under-represented in
# $L$ relative to the pool**, which weighs density in. The reference's two-blob toys (§4.17), with the
# 2-D coordinates as the representation $\Psi$:
#
# * blob **A** dense (80 % of the pool), blob **B** sparse (20 %);
# * toy (i): $L$ holds only A items → DAL's first mini-query should come from B;
# * toy (ii): $L$ = equal numbers from A and B (B over-represented 2.5×) → DAL should take mostly A,
#   KCenter far fewer.

# %%
N_A, N_B = pick((1600, 400), (8000, 2000))
L_EACH = pick(25, 50)
DAL_BUDGET = pick(100, 200)
DAL_PARAMS = {"n_mini_queries": 5, "max_epochs": 100, "batch_size": 128, "lr": 1e-3}  # the tests' toy settings
g = gen(0)
x2 = torch.cat([torch.randn(N_A, 2, generator=g) * 0.5 + torch.tensor([-3.0, 0.0]),
                torch.randn(N_B, 2, generator=g) * 0.5 + torch.tensor([3.0, 0.0])])
is_b = torch.cat([torch.zeros(N_A, dtype=torch.bool), torch.ones(N_B, dtype=torch.bool)])


def identity_view(labeled):
    """Ψ = identity: the coordinates are the embeddings."""
    mask = torch.zeros(len(x2), dtype=torch.bool)
    mask[labeled] = True
    lab, unl_ = mask.nonzero().squeeze(1), (~mask).nonzero().squeeze(1)
    return PoolView.from_tensors(unl_, lab, embeddings=x2[unl_], labeled_embeddings=x2[lab])


gl = gen(100)
only_a = torch.randperm(N_A, generator=gl)[: 2 * L_EACH]
both = torch.cat([torch.randperm(N_A, generator=gl)[:L_EACH], N_A + torch.randperm(N_B, generator=gl)[:L_EACH]])
first_mq = alkit.get_strategy("dal", **{**DAL_PARAMS, "n_mini_queries": 1}).query(identity_view(only_a), 20, gen(0))
view_ii = identity_view(both)
dal_sel = alkit.get_strategy("dal", **DAL_PARAMS).query(view_ii, DAL_BUDGET, gen(0))
kc_sel = alkit.get_strategy("kcenter").query(view_ii, DAL_BUDGET, gen(0))
share_b_first = float(is_b[first_mq.indices].float().mean())
share_a = {"dal": 1 - float(is_b[dal_sel.indices].float().mean()), "kcenter": 1 - float(is_b[kc_sel.indices].float().mean())}
print(f"toy (i): DAL's first mini-query from B: {share_b_first:.0%}")
print(f"toy (ii): share of picks from the dense blob A (pool share 80 %): "
      f"DAL {share_a['dal']:.1%}, KCenter {share_a['kcenter']:.1%}")
print("DAL's proxy H-divergence per mini-query:", [round(h, 2) for h in dal_sel.extras["h_divergence"]])

fig, axes = plt.subplots(1, 3, figsize=(17, 3.8), sharey=True)
panels = [("toy (i): dal, first mini-query", only_a, first_mq.indices),
          (f"toy (ii): dal, {share_a['dal']:.0%} from A", both, dal_sel.indices),
          (f"toy (ii): kcenter, {share_a['kcenter']:.0%} from A", both, kc_sel.indices)]
for ax, (title, lab, picks) in zip(axes, panels, strict=True):
    toy2d.selection_overlay(ax, x2, is_b.long(), labeled=lab.tolist(), picks=picks.tolist(), pool_size=4,
                            pick_size=40)
    ax.set_title(title, fontsize=10)
toy2d.show(fig)

# %% [markdown]
# ## Exercises
#
# **5.1** The greedy covering is a 2-approximation. On the tiny instance below (12 points, point 0
# labeled, budget 3, the coordinates as embeddings), find the **optimal** covering radius by trying every
# choice of 3 centres among the 11 unlabeled points (use `toy2d.covering_radius`). Return it as a float.
#
# **5.2** Cluster-Margin with `margin_multiplier=1` has only $b$ candidates, so the clusters cannot
# change the batch: it must pick exactly Margin's top-$b$. Query a fresh `"cluster_margin"` with that
# setting on the round-0 model of §1 (`pool_view(base, strategy)`, budget `BUDGET`) and return the picked
# pool indices as a set.

# %%
tiny = torch.randn(12, 2, generator=gen(7))
tiny_view = PoolView.from_tensors(torch.arange(1, 12), torch.tensor([0]), embeddings=tiny[1:],
                                  labeled_embeddings=tiny[:1])
greedy_picks = alkit.get_strategy("kcenter").query(tiny_view, 3, None).indices
greedy_radius = toy2d.covering_radius(tiny, tiny[torch.cat([torch.tensor([0]), greedy_picks])])
ex1 = exercise("5.1", tiny=tiny, greedy_radius=greedy_radius)
answer1 = None  # your code here: a float
ex1.check(answer1)  # stuck? ex1.reveal() prints a worked solution

# %%
ex2 = exercise("5.2", margin_top=set(batch["margin"].tolist()), base=base, budget=BUDGET)
answer2 = None  # your code here: a set of pool indices
ex2.check(answer2)

# %% [markdown]
# ## What this lesson showed (checked)

# %%
# §1: every batch is b distinct unlabeled items; margin clumps, the diversity strategies spread.
labeled0 = set(base.labeled_indices().tolist())
assert all(len(set(b.tolist())) == BUDGET and not set(b.tolist()) & labeled0 for b in batch.values())
for name in ("kmeans", "kcenter", "cluster_margin"):
    assert spread[name].min() > spread["margin"].min(), name
assert set(batch["margin"].tolist()) == set(unl[top_k(torch.as_tensor(margin_all), BUDGET)].tolist())
# the reading under the table: margin's picks the most uncertain, its closest pair nearly a duplicate
others = [n for n in BATCH if n != "margin"]
assert all(mean_margin["margin"] > mean_margin[n] for n in others)
assert spread["margin"].min() < 0.05 * spread["margin"].mean()
for name in ("kmeans", "kcenter"):  # nearer Random's uncertainty than Margin's
    assert abs(mean_margin[name] - mean_margin["random"]) < abs(mean_margin[name] - mean_margin["margin"]), name
assert all(spread["kcenter"].mean() > spread[n].mean() for n in BATCH if n != "kcenter")  # the outskirts
assert min(others, key=lambda n: abs(mean_margin[n] - mean_margin["margin"])) == "badge"
assert spread["badge"].min() > spread["margin"].min()
assert mean_margin["cluster_margin"] < mean_margin["badge"] and spread["cluster_margin"].min() > spread["margin"].min()
# BADGE: the gradient embedding is the last-layer gradient for the guessed label; first pick = longest.
assert torch.allclose(autograd_g, outer_g, atol=1e-5)
assert torch.allclose(outer_g.flatten(1).norm(dim=1), badge_sq_norms(a, e).sqrt(), atol=1e-5)
assert int(view_badge.unlabeled[torch.argmax(g_norm)]) == int(batch["badge"][0])
# §2: the radius never grows; KCenter covers the pool best from round 1 on, and its batches spread out.
for name in BATCH:
    assert all(b <= a_ + 1e-9 for a_, b in zip(radius[name], radius[name][1:], strict=False)), name
    assert len(radius[name]) == ROUNDS + 1
assert all(kc <= rd + 1e-9 for kc, rd in zip(radius["kcenter"][1:], radius["random"][1:], strict=True))
assert radius["kcenter"][-1] < radius["random"][-1]
assert np.mean(closest["cluster_margin"]) > np.mean(closest["margin"])
assert np.mean(closest["kcenter"]) > np.mean(closest["margin"])
assert shown_cover == {"kcenter": radius["kcenter"][ROUNDS], "random": radius["random"][ROUNDS]}
# §3: DAL finds the blob L misses, and weighs density in where KCenter does not.
assert share_b_first >= 0.9
assert share_a["dal"] >= 0.85
assert share_a["dal"] - share_a["kcenter"] >= 0.2
assert 1 - share_a["kcenter"] > 0.2  # KCenter over-samples the sparse blob (pool share 20 %)
assert len(dal_sel.extras["h_divergence"]) == DAL_PARAMS["n_mini_queries"]
# Exercise 5.1's instance: the greedy radius is within twice the optimum.
assert greedy_radius <= 2 * ex1._reference() + 1e-9  # KCenter's 2-approximation
