# %% [markdown]
# # 09 — ASAL and GAAL: generate informative samples, then retrieve real ones
#
# *What you will see:* a GAN trained once on the pool (and cached), latents pushed by gradient ascent
# until the classifier is unsure about the generated image, those images matched to their nearest real
# pool items (ASAL), images pushed onto the decision boundary and shown to the "oracle" as they are
# (GAAL), which labels the methods end up asking for (ASAL Fig. 3b), how uncertain the retrieved items
# really are (ASAL Fig. 16), and what a query costs as the pool grows (exact scan vs an IVF index).
# *Prerequisites:* 03 (one AL round), 04 (entropy).
#
# **The idea (reference §4.20).** Uncertainty sampling scores every pool item each round: its cost is
# linear in the pool. ASAL (Mayer & Timofte) instead *generates* `b` high-entropy images with a GAN,
# then looks up the nearest real pool image of each in a fixed feature space with a nearest-neighbour
# index built once. The per-query work is `b × steps` generator+classifier passes plus `b` index look-ups:
# sub-linear in the pool. **GAAL** (Zhu & Bento, §4.21) is the older *query synthesis* method it builds
# on: move the latents onto the decision boundary and ask a human to label the synthetic images.
#
# We work on scikit-learn's 8×8 digits (a pool of 1 348 images), where alkit's GAN is an MLP small
# enough to train on a CPU during the lesson (section 2 prints how long it took).

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

import alkit
from alkit import ALConfig, TrainConfig
from alkit.lessons import exercise, interact, pick
from alkit.strategies import entropy, entropy_scores
from alkit.strategies.asal import PoolIndex, entropy_objective, latent_ascent, top2_margin
from alkit.viz.mpl import show

torch.set_num_threads(1)
torch.manual_seed(0)

B = pick(30, 50)  # items per query (the AL batch size b)
ASCENT = pick(60, 100)  # Adam steps of the latent ascent (paper: 100)
GAN = {"gan_iterations": pick(60, 1600), "gan_batch": pick(64, 16)}  # one-off WGAN-GP training
POOL_SIZES = pick([1024, 4096, 16384], [1024, 4096, 16384, 65536, 262144])  # for the timing section
REPEATS = pick(5, 5)




# %% [markdown]
# ## 1. A classifier to be uncertain about
# Round 0 of an ordinary alkit run: a balanced seed set of 40 digits, the dataset's MLP. ASAL's
# generator asks *this* classifier which images it finds confusing.

# %%
ds = alkit.load_dataset("digits")
run = alkit.ALRun(
    ALConfig(dataset="digits", strategy="random", initial=40, initial_mode="balanced", rounds=1,
             train=TrainConfig(epochs=40, batch_size=32, min_steps=pick(100, 150), lr=2e-3)),
    dataset=ds,
)
round0 = run.step()
model = run.learner.model.eval()
print(f"pool {len(ds.x_train)} items, {run.labeled_mask.sum().item()} labeled, test accuracy {round0.accuracy:.3f}")

# %% [markdown]
# ## 2. The one-off work: GAN, features, PCA, index — built once, cached
# `asal.prepare(view)` trains a WGAN-GP on the whole pool (labeled and unlabeled inputs; no labels),
# stores it under `<workspace>/cache/asal/gan-<fingerprint>.pt`, computes a feature vector per pool item
# (ASAL-Gray: the pixels), reduces it to 50 dimensions by PCA and builds the nearest-neighbour index.
# The first query would do this itself; calling it first keeps its cost out of the query timing.
# A second instance with the same settings finds the file and does not train again.

# %%
asal = alkit.get_strategy("asal", ascent_steps=ASCENT, **GAN)
view = run.view_for(asal, fields={"probs"})  # what the next query would see, plus the probabilities
t0 = time.perf_counter()
state = asal.prepare(view)
prepare_s = time.perf_counter() - t0
gan_info = state["gan"]
print(f"GAN: {gan_info['settings']['iterations']} generator steps, trained now: {gan_info['trained']}, "
      f"prepare took {prepare_s:.1f} s; cache file {gan_info['path']}")
again = alkit.get_strategy("asal", ascent_steps=ASCENT, **GAN).prepare(view)["gan"]
print(f"a fresh ASAL instance: trained again? {again['trained']} (loaded from {again['path'] == gan_info['path'] and 'the same file'})")
gen, pca, index = state["gen"], state["pca"], state["index"]

with torch.no_grad():
    samples = gen(torch.randn(12, gen.latent_dim, generator=torch.Generator().manual_seed(0)))
fig, axes = plt.subplots(2, 12, figsize=(12, 2.3))
for i in range(12):
    axes[0, i].imshow(samples[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    axes[1, i].imshow(ds.x_train[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
for a in axes.flat:
    a.axis("off")
axes[0, 0].set_title("GAN samples", loc="left", fontsize=9)
axes[1, 0].set_title("real pool items", loc="left", fontsize=9)
show(fig)

# %% [markdown]
# The samples are blurry: a CPU-sized GAN (the paper trains 40K–100K steps). ASAL's retrieval only needs
# them to land near real images in the matching space; how well that works is what the rest of the lesson
# measures. **⚠ ASAL hinges on the GAN** — on CIFAR-10 with ten classes the paper found it no better
# than random.
#
# ## 3. Generation: gradient ascent on the entropy, in latent space
# `latent_ascent` moves only the latents `z` (generator and classifier frozen) with Adam to minimise
# $-H(p_\theta(G(z)))$. Drag the slider: the predicted distribution flattens (the mean entropy in the
# title rises with the steps; the curve below draws it).

# %%
z_demo = torch.randn(10, gen.latent_dim, generator=torch.Generator().manual_seed(1))


def show_ascent(steps=ASCENT):
    z = latent_ascent(gen, model, z_demo, entropy_objective, steps=steps, lr=asal.ascent_lr)
    with torch.no_grad():
        x = gen(z)
        p = model(x).softmax(-1)
    h = entropy(p)
    fig, axes = plt.subplots(1, 10, figsize=(12, 1.8))
    for i, a in enumerate(axes):
        a.imshow(x[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        top = p[i].topk(2)
        a.set_title(f"H={h[i]:.2f}\n{top.indices[0]}:{top.values[0]:.2f} {top.indices[1]}:{top.values[1]:.2f}",
                    fontsize=7)
        a.axis("off")
    fig.suptitle(f"after {steps} ascent steps: mean entropy {h.mean():.2f} (max log 10 = {np.log(10):.2f})",
                 fontsize=9, y=1.08)
    show(fig)
    return float(h.mean())


ascent_entropy = interact(show_ascent, steps=(0, ASCENT, 10, ASCENT))

# %%
grid = sorted({0, 5, 10, 25, 50, ASCENT})
z_b = torch.randn(B, gen.latent_dim, generator=torch.Generator().manual_seed(2))
mean_h = []
for s in grid:
    with torch.no_grad():
        mean_h.append(float(entropy(model(gen(latent_ascent(gen, model, z_b, entropy_objective, steps=s,
                                                                     lr=asal.ascent_lr))).softmax(-1)).mean()))
plt.figure(figsize=(5, 3))
plt.plot(grid, mean_h, marker="o")
plt.axhline(np.log(10), color="grey", ls=":", label="log 10 (uniform)")
plt.xlabel("Adam steps on z")
plt.ylabel(f"mean entropy of {B} generated images")
plt.legend()
plt.title("latent ascent raises the classifier's entropy")
show()
print(dict(zip(grid, np.round(mean_h, 3), strict=True)))

# %% [markdown]
# ## 4. Matching: nearest *unlabeled* real item, without replacement
# `asal.query` generates `b` images, orders them by their entropy (most uncertain first) and gives each
# its nearest pool item in the PCA space that is neither labeled nor already taken.
#
# **Derivation from scratch (once), then checked against the library.** With the same seed we redo the
# three steps by hand, using a brute-force `torch.cdist` over the unlabeled pool instead of the index.

# %%
SEED = 7
sel_asal = asal.query(view, B, torch.Generator().manual_seed(SEED))

z0 = torch.randn(B, gen.latent_dim, generator=torch.Generator().manual_seed(SEED))  # the query's latents
z = latent_ascent(gen, model, z0, entropy_objective, steps=ASCENT, lr=asal.ascent_lr)
with torch.no_grad():
    x_gen = gen(z)
    h_gen = entropy(model(x_gen).softmax(-1))
order = torch.argsort(h_gen, descending=True, stable=True)  # most uncertain generated image first
q = pca.project(x_gen[order])  # ASAL-Gray: PCA of the pixels
pool_feat = pca.project(ds.x_train[view.unlabeled])
dist = torch.cdist(q, pool_feat)
taken, mine = set(), []
for t in range(B):
    j = next(int(j) for j in dist[t].argsort() if int(j) not in taken)
    taken.add(j)
    mine.append(int(view.unlabeled[j]))
print("from scratch == alkit:", mine == sel_asal.indices.tolist())
assert mine == sel_asal.indices.tolist()

pos_unl = torch.searchsorted(view.unlabeled, sel_asal.indices)
h_pool = entropy_scores(view.probs)  # entropy of every unlabeled item under the current model
show_n = min(B, 12)
fig, axes = plt.subplots(2, show_n, figsize=(12, 2.8))
for i in range(show_n):
    g_img, r_idx = x_gen[order[i]], int(sel_asal.indices[i])
    axes[0, i].imshow(g_img.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    axes[0, i].set_title(f"H={h_gen[order[i]]:.2f}", fontsize=7)
    axes[1, i].imshow(ds.x_train[r_idx].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    axes[1, i].set_title(f"y={int(ds.y_train[r_idx])} H={h_pool[pos_unl[i]]:.2f}", fontsize=7)
for a in axes.flat:
    a.axis("off")
fig.suptitle("top: generated (entropy under the model); bottom: matched real pool item (true label, entropy)",
             fontsize=9)
show(fig)

# %% [markdown]
# ## 5. GAAL: synthesis on the decision boundary
# GAAL moves the latents to where the top two classes tie (for ten classes, alkit minimises the margin
# $p_{(1)}-p_{(2)}$) and hands the **synthetic images** to the oracle. Would you know what to answer?
# (alkit's loop has an oracle for pool items only, so the registered `"gaal"` strategy retrieves the
# nearest pool item like ASAL; `gaal.synthesize` gives the paper's query synthesis.)

# %%
gaal = alkit.get_strategy("gaal", ascent_steps=ASCENT, **GAN)
synth = gaal.synthesize(model, 10, torch.Generator().manual_seed(3), view=view)
z_plain = torch.randn(10, gen.latent_dim, generator=torch.Generator().manual_seed(3))
with torch.no_grad():
    logits_s, logits_p = model(synth), model(gen(z_plain))
margin_synth, margin_plain = top2_margin(logits_s), top2_margin(logits_p)
fig, axes = plt.subplots(1, 10, figsize=(12, 1.8))
for i, a in enumerate(axes):
    a.imshow(synth[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    top = logits_s[i].softmax(-1).topk(2)
    a.set_title(f"{top.indices[0]} vs {top.indices[1]}\nmargin {margin_synth[i]:.3f}", fontsize=7)
    a.axis("off")
fig.suptitle(f"GAAL's synthetic queries: mean margin {margin_synth.mean():.3f} "
             f"(unoptimised samples: {margin_plain.mean():.3f})", fontsize=9, y=1.08)
show(fig)

# %% [markdown]
# ## 6. Which labels does each method ask for? (ASAL Fig. 3b)
# One query of `b` items from the same classifier by `"random"`, `"entropy"` (exhaustive max-entropy
# scan), `"asal"` and `"gaal"`, counted by their true class. Slide the budget.

# %%
instances = {"random": alkit.get_strategy("random"), "entropy": alkit.get_strategy("entropy"),
             "asal": asal, "gaal": gaal}
pool_share = torch.bincount(ds.y_train, minlength=10).float() / len(ds.y_train)


def label_distribution(budget=B):
    picks = {name: s.query(view, budget, torch.Generator().manual_seed(SEED)).indices
             for name, s in instances.items()}
    counts = {name: torch.bincount(ds.y_train[idx], minlength=10) for name, idx in picks.items()}
    fig, ax = plt.subplots(figsize=(9, 3.2))
    w = 0.2
    for i, (name, c) in enumerate(counts.items()):
        style = {"color": "black", "hatch": "//", "fill": False} if name == "random" else {}
        ax.bar(np.arange(10) + (i - 1.5) * w, c.numpy(), width=w, label=name, **style)
    ax.step(np.arange(11) - 0.5, np.r_[pool_share.numpy(), pool_share[-1].item()] * budget, where="post",
            color="grey", ls="--", label="pool share × b")
    ax.set_xticks(range(10))
    ax.set_xlabel("true class of the queried item")
    ax.set_ylabel("items")
    ax.set_title(f"label distribution of one query of b={budget}")
    ax.legend(fontsize=8, ncol=5)
    show(fig)
    tv = {n: 0.5 * float((c.float() / budget - pool_share).abs().sum()) for n, c in counts.items()}
    print("total-variation distance to the pool's class shares:", {n: round(v, 3) for n, v in tv.items()})
    return picks, counts


picks, label_counts = interact(label_distribution, budget=(10, 100, 10, B))

# %% [markdown]
# ## 7. How uncertain are the items that get labeled? (ASAL Fig. 16)
# Entropy under the current classifier of: generated images before and after the ascent, the real
# items ASAL and GAAL retrieve, random picks and the exhaustive max-entropy picks. The ascent makes the
# *generated* images uncertain; the matched real neighbours are much less so (less than half the
# generated images' mean entropy) — nearness in pixel-PCA space does not carry uncertainty over. The
# max-entropy scan is, by construction, the ceiling.

# %%
with torch.no_grad():
    h_before = entropy(model(gen(z0)).softmax(-1))


def pool_entropy(idx):
    return h_pool[torch.searchsorted(view.unlabeled, idx)]


groups = {
    "generated\nz~N(0,I)": h_before,
    "generated\n(ASAL ascent)": h_gen,
    "ASAL\nmatched": pool_entropy(picks["asal"]),
    "GAAL\nmatched": pool_entropy(picks["gaal"]),
    "random": pool_entropy(picks["random"]),
    "max-entropy\nscan": pool_entropy(picks["entropy"]),
}
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.boxplot([g.numpy() for g in groups.values()], showmeans=True)
ax.set_xticks(range(1, len(groups) + 1), list(groups), fontsize=8)
ax.axhline(np.log(10), color="grey", ls=":")
ax.set_ylabel("entropy under the current model")
ax.set_title(f"entropy of the selected samples (b={B})")
show(fig)
mean_entropy = {k.replace("\n", " "): float(v.mean()) for k, v in groups.items()}
print({k: round(v, 3) for k, v in mean_entropy.items()})
print("extras stored by the strategy:", {k: round(v, 3) for k, v in sel_asal.extras.items() if isinstance(v, float)})

# %% [markdown]
# ## 8. Query time against pool size
# The point of ASAL is a query cost that does not grow with the pool. We make bigger pools out of jittered
# copies of the digits (in the same 50-d PCA space), and time (on this machine, so the figure is for
# reading, not for checking), for `b` generated queries:
#
# * the **exhaustive entropy scan** uncertainty sampling needs (a forward pass over the whole pool + top-b);
# * the **exact** index (`PoolIndex(mode="exact")`: blocked matrix products, linear in the pool);
# * the **IVF** index (`mode="ivf"`: √N k-means lists, 8 of them probed: about √N work, approximate);
# * ASAL's **generation** (b × steps passes, independent of the pool).

# %%
def median_time(fn, repeats=REPEATS):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


gen_s = sel_asal.timings["generate"]
timing = {"n": [], "scan": [], "exact": [], "ivf": [], "ivf_build": [], "dist_ratio": [], "ivf_dists": [],
          "recall": []}
g_pool = torch.Generator().manual_seed(11)
for n in POOL_SIZES:
    rows = torch.randint(len(ds.x_train), (n,), generator=g_pool)
    x_big = (ds.x_train[rows] + 0.05 * torch.randn(n, 64, generator=g_pool)).clamp(0, 1)
    f_big = pca.project(x_big)
    avail = torch.ones(n, dtype=torch.bool)

    def scan(x=x_big):
        with torch.no_grad():
            h = torch.cat([entropy(model(x[s:s + 65536]).softmax(-1)) for s in range(0, len(x), 65536)])
        return h.topk(B).indices

    exact = PoolIndex(f_big, torch.arange(n), mode="exact")
    t = time.perf_counter()
    ivf = PoolIndex(f_big, torch.arange(n), mode="ivf")
    timing["ivf_build"].append(time.perf_counter() - t)
    timing["n"].append(n)
    timing["scan"].append(median_time(scan))
    timing["exact"].append(median_time(lambda e=exact, a=avail: e.search(q, a, B)))
    timing["ivf"].append(median_time(lambda i=ivf, a=avail: i.search(q, a, B)))
    (d_exact, r_exact), (d_ivf, r_ivf) = exact.search(q, avail, 1), ivf.search(q, avail, 1)
    timing["dist_ratio"].append(float((d_ivf[:, 0].sqrt() / d_exact[:, 0].sqrt().clamp_min(1e-12)).mean()))
    timing["recall"].append(float((r_ivf[:, 0] == r_exact[:, 0]).float().mean()))
    # Work per query, counted (deterministic): the exact search computes N distances; IVF computes one
    # per centroid, then one per slot of the nprobe probed lists, each padded to the longest list.
    n_lists = ivf.centroids.shape[0]
    timing["ivf_dists"].append(n_lists + min(ivf.nprobe, n_lists) * ivf.lists.shape[1])
    print(f"N={n:>7}: scan {timing['scan'][-1] * 1e3:7.1f} ms | exact {timing['exact'][-1] * 1e3:7.2f} ms | "
          f"IVF {timing['ivf'][-1] * 1e3:6.2f} ms (build {timing['ivf_build'][-1]:.2f} s, "
          f"{n_lists} lists, {timing['ivf_dists'][-1]} distances per query vs {n}; recall@1 "
          f"{timing['recall'][-1]:.2f}, its neighbour is {timing['dist_ratio'][-1]:.3f}x as far as the true one)")


def loglog_slope(ns, ts):
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])


slopes = {k: loglog_slope(timing["n"], timing[k]) for k in ("scan", "exact", "ivf")}
plt.figure(figsize=(6, 3.8))
for k, label in (("scan", "exhaustive entropy scan"), ("exact", "exact NN search"), ("ivf", "IVF NN search")):
    plt.loglog(timing["n"], timing[k], marker="o", label=f"{label} (slope {slopes[k]:.2f})")
plt.axhline(gen_s, color="purple", ls="-.", label=f"ASAL generation ({ASCENT} steps, b={B})")
plt.xlabel("pool size N")
plt.ylabel("seconds per query")
plt.legend(fontsize=8)
plt.title("what grows with the pool")
show()
print("log-log slopes of the measured times:", {k: round(v, 2) for k, v in slopes.items()})
dist_slope = loglog_slope(timing["n"], timing["ivf_dists"])  # the exact search's is 1 by construction
print(f"log-log slope of IVF's distance computations per query: {dist_slope:.2f} (exact search: 1)")

# %% [markdown]
# Read the timings on your own machine: ASAL pays off only once the pool is large enough for a search
# over it to cost more than the generation (the paper's CelebA pool has 16M images). What does not
# depend on the machine is the work, counted above: the exact search computes N distances per query
# (slope 1), IVF one per centroid plus one per slot of the probed lists. In theory that grows like √N
# (slope 0.5); alkit pads every list to the longest one, and on clustered data like these jittered digits
# the longest list grows faster than the mean, so the counted slope lies between 0.5 and 1 (checked
# below). IVF pays with accuracy: its neighbour is not always the true nearest one (the printed recall@1
# is below 1 at some pool size) and is never nearer (the distance ratio).
#
# ## Exercises
# **09.1** How many of ASAL's `b` picks (`picks["asal"]`) are also among the `b` highest-entropy
# unlabeled items (`picks["entropy"]`)? (An integer.)
#
# **09.2** IVF is approximate because it scans only `nprobe` of its lists. Build an IVF index over the
# digits pool's features (`index.features`, rows `index.row_pool`) that probes *every* list, and return
# the fraction of the generated queries `q` whose nearest neighbour agrees with the exact index's.

# %%
ex1 = exercise("09.1", picks=picks)
answer1 = None  # your code here: an int
ex1.check(answer1)  # stuck? ex1.reveal() prints a worked solution

# %%
ex2 = exercise("09.2", index=index, q=q)
answer2 = None  # your code here
ex2.check(answer2)

# %% [markdown]
# ## What this lesson showed (checked)

# %%
import os  # noqa: E402

assert len(ds.x_train) == 1348  # "a pool of 1 348 images"
# the GAN was trained once and cached in the workspace; a second instance loaded it
assert os.path.exists(gan_info["path"]) and again["trained"] is False
# latent ascent raises the entropy of the generated images (slider default and the curve)
assert mean_h[-1] > mean_h[0] + 0.1 and ascent_entropy > 0.5
assert all(b > a for a, b in zip(mean_h, mean_h[1:], strict=False))  # the entropy rises with the ascent steps
# the from-scratch matching equals alkit's; every query returns b distinct unlabeled items
assert mine == sel_asal.indices.tolist()
unlabeled = set(view.unlabeled.tolist())
for name, idx in picks.items():
    assert len(set(idx.tolist())) == B and set(idx.tolist()) <= unlabeled, name
    assert int(label_counts[name].sum()) == B
# Fig. 16: generated images are far more uncertain than their matched real neighbours, and the
# exhaustive scan bounds every pool selection from above
assert mean_entropy["generated (ASAL ascent)"] > mean_entropy["generated z~N(0,I)"]
assert mean_entropy["ASAL matched"] < 0.5 * mean_entropy["generated (ASAL ascent)"]  # "much less so"
assert mean_entropy["max-entropy scan"] >= max(mean_entropy["ASAL matched"], mean_entropy["GAAL matched"],
                                               mean_entropy["random"])
# GAAL's synthetic images sit nearer the boundary than unoptimised samples
assert float(margin_synth.mean()) < float(margin_plain.mean())
# query work (counted, not timed): IVF's distance computations grow more slowly with the pool than the
# exact search's N, between √N and N, and fall below N at the largest pool
assert 0.5 <= dist_slope < 1.0 and timing["ivf_dists"][-1] < timing["n"][-1]
assert all(r >= 1.0 - 1e-4 for r in timing["dist_ratio"])  # never nearer than the true nearest neighbour
assert min(timing["recall"]) < 1.0  # ...and is not always the true nearest one (recall@1 below 1)
