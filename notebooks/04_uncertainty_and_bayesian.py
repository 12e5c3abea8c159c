# %% [markdown]
# # 04 — Uncertainty and Bayesian strategies
#
# *What you will see:* every uncertainty score drawn over the plane as a **utility heatmap** next to
# the decision boundary, round by round; MC dropout as a bag of sub-networks; **BALD against
# Entropy** on a toy with one *aleatoric* region (labels are coin flips) and one *epistemic* region
# (no labels yet); BatchBALD's answer to near-duplicates; ensembles; and adversarial distance to
# the boundary as an uncertainty proxy. *Prerequisites:* 03 (one AL round, the pool view).

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.stats import spearmanr

import alkit
from alkit.data import blobs, from_arrays
from alkit.lessons import exercise, gen, interact, pick, pool_view, toy_configs
from alkit.strategies import PoolView, entropy_scores, margin_scores
from alkit.strategies.adversarial import deepfool_perturbation
from alkit.strategies.bayesian import bald_scores, joint_mutual_information, mean_std_scores
from alkit.strategies.training import ensemble_var_ratio_scores
from alkit.viz import toy2d

torch.set_num_threads(1)
torch.manual_seed(0)

N_POOL = pick(150, 600)  # blobs pool
ROUNDS = pick(2, 6)  # query rounds of the per-round runs
BUDGET = 10
T = 10  # MC-dropout passes (the survey's value)
N_MEMBERS = pick(3, 5)  # ensemble size
GRID = pick(40, 80)
TRAIN = alkit.TrainConfig(epochs=pick(20, 40), batch_size=32, min_steps=pick(100, 200), lr=3e-3)
# gen(seed): a seeded CPU generator; pool_view(run, strategy): the view strategy would get from run's current
# model (run.view_for); config(strategy, dataset=..., **params): every toy run shares budget, rounds, training.
config = toy_configs(query=BUDGET, rounds=ROUNDS, train=TRAIN)


# %% [markdown]
# ## 1. Three classes, four deterministic scores
#
# With $K = 3$ the classic scores stop agreeing. On three overlapping Gaussian blobs, a model trained
# on a random seed set of 10 labels scores the plane:
#
# | name | $a(x)$ (larger = query first) |
# |---|---|
# | `"entropy"` | $H(p) = -\sum_k p_k \log p_k$ |
# | `"margin"` | $-(p_{(1)} - p_{(2)})$ |
# | `"least_conf"` | $-p_{(1)}$ |
# | `"var_ratio"` | $1 - p_{(1)}$ (survey / DeepAL+ definition) |
#
# Margin is high on *every* pairwise boundary; entropy and least confidence peak where all three
# classes meet.

# %%
ds3 = blobs(n_samples=N_POOL, n_classes=3, n_test=N_POOL, cluster_std=1.6, seed=0)
grid3 = toy2d.make_grid(ds3.x_train, steps=GRID)


base = alkit.ALRun(config("entropy"), dataset=ds3)
base.step()  # round 0: 10 random labels, one trained model for every score below
probs3 = toy2d.grid_probs(base.learner, grid3)
DET = ["entropy", "margin", "least_conf", "var_ratio"]
heat3 = {name: toy2d.grid_scores(name, base.learner, grid3) for name in DET}

fig, axes = plt.subplots(1, 4, figsize=(18, 3.8), sharey=True)
for ax, name in zip(axes, DET, strict=True):
    toy2d.round_panel(ax, grid3, ds3.x_train, ds3.y_train, probs=probs3, utility=heat3[name],
                      labeled=base.labeled_indices().tolist(), title=f'"{name}"', utility_label=None)
toy2d.show(fig)


# %% [markdown]
# **Budget slider.** The same model, the top-$b$ items of one score. `"var_ratio"` and
# `"least_conf"` always pick the same set: $1-p_{(1)}$ and $-p_{(1)}$ differ by a constant.

# %%
def show_picks(strategy="margin", budget=BUDGET):
    s = alkit.get_strategy(strategy)
    picks = s.query(pool_view(base, s), budget).indices
    fig, ax = plt.subplots(figsize=(6, 4))
    toy2d.round_panel(ax, grid3, ds3.x_train, ds3.y_train, probs=probs3, utility=heat3[strategy],
                      labeled=base.labeled_indices().tolist(), picks=picks.tolist(),
                      title=f'"{strategy}": top {budget}', utility_label=None)
    toy2d.show(fig)
    return picks


shown_picks = interact(show_picks, strategy=DET[1:] + DET[:1], budget=(1, 40, 1, BUDGET))


def top(strategy, budget):
    s = alkit.get_strategy(strategy)
    return set(s.query(pool_view(base, s), budget).indices.tolist())


picks_vr = {b: top("var_ratio", b) for b in (1, 10, 40)}
picks_lc = {b: top("least_conf", b) for b in (1, 10, 40)}
print("var_ratio and least_conf pick the same sets:", picks_vr == picks_lc)


# %% [markdown]
# **Round by round.** Whole runs of three scores; the slider moves through the rounds, each panel shows
# that round's model (boundary), its utility (what the next query ranks by) and the picks the round added.

# %%
recs3 = {}
for name in ("entropy", "margin", "least_conf"):
    run = alkit.ALRun(config(name), dataset=ds3)
    recs3[name] = toy2d.RoundRecorder(grid3).attach(run)
    run.run()


def draw_round(round=ROUNDS):  # noqa: A002 - the slider's name
    fig, axes = plt.subplots(1, 3, figsize=(16, 3.8), sharey=True)
    for ax, (name, rec) in zip(axes, recs3.items(), strict=True):
        snap = rec[round]
        toy2d.round_panel(ax, grid3, ds3.x_train, ds3.y_train, probs=snap.probs, utility=snap.utility,
                          labeled=snap.labeled, picks=snap.picks if round else None, utility_label=None,
                          title=f'"{name}" round {round}: acc {snap.accuracy:.3f}')
    toy2d.show(fig)
    return {name: rec[round].accuracy for name, rec in recs3.items()}


shown_round = interact(draw_round, round=(0, ROUNDS, 1, ROUNDS))

# %% [markdown]
# ## 2. MC dropout: one network, many sub-networks
#
# alkit's MLP has a dropout layer before its classifier. With only that layer kept stochastic, a
# forward pass through an item uses a randomly thinned network: $T$ passes give $p^{(1)}(x), \dots,
# p^{(T)}(x)$ and their mean $\bar p(x)$ (Gal & Ghahramani's approximate posterior predictive).
# `Learner.mc_probs` returns the $(T, N, K)$ stack, seeded. It uses *consistent* MC dropout: each pass
# draws one mask and applies it to every item, so "pass 1" over the plane is one thinned network and
# the panels below are $T$ sampled networks' decision boundaries. The per-item scores of this section
# would have the same expectation with a fresh mask per item; BatchBALD (section 4) needs one network
# per pass.

# %%
mc_grid = base.learner.mc_probs(grid3.points, T, seed=0)  # (T, grid points, 3)
mean_grid = mc_grid.mean(dim=0)
fig, axes = plt.subplots(1, 4, figsize=(18, 3.8), sharey=True)
for t, ax in enumerate(axes[:3]):
    toy2d.round_panel(ax, grid3, ds3.x_train, ds3.y_train, probs=mc_grid[t].numpy(),
                      labeled=base.labeled_indices().tolist(), title=f"dropout pass {t + 1}")
toy2d.round_panel(axes[3], grid3, ds3.x_train, ds3.y_train, probs=mean_grid.numpy(),
                  utility=mean_std_scores(mc_grid), labeled=base.labeled_indices().tolist(),
                  title='mean of the passes; heat = "mean_std"', utility_label=None)
toy2d.show(fig)
pass_boundaries_differ = bool((mc_grid.argmax(-1) != mc_grid[0].argmax(-1)).any())

# %% [markdown]
# **BALD** measures how much the passes *disagree*: the mutual information between the label and the
# weights, $a(x) = H(\bar p(x)) - \frac1T \sum_t H(p^{(t)}(x))$ — total uncertainty minus the part every
# pass already has. Derived here once from the stack, then checked against `bald_scores` and the
# `"bald"` heatmap (which builds its own view with the same seed).

# %%
total = -(mean_grid * torch.log(mean_grid.clamp_min(1e-30))).sum(-1)
expected = -(mc_grid * torch.log(mc_grid.clamp_min(1e-30))).sum(-1).mean(0)
bald_mine = total - expected
bald_heat = toy2d.grid_scores("bald", base.learner, grid3, seed=0)
MC = ["entropy_mc", "margin_mc", "least_conf_mc", "var_ratio", "mean_std", "bald"]
mc_heat = {name: toy2d.grid_scores(name, base.learner, grid3, seed=0,
                                   strategy_params={"mode": "mc"} if name == "var_ratio" else None) for name in MC}
fig, axes = plt.subplots(2, 3, figsize=(16, 7.4), sharex=True, sharey=True)
for ax, name in zip(axes.ravel(), MC, strict=True):
    label = ' (mode="mc")' if name == "var_ratio" else ""
    toy2d.round_panel(ax, grid3, ds3.x_train, ds3.y_train, probs=mean_grid.numpy(), utility=mc_heat[name],
                      labeled=base.labeled_indices().tolist(), title=f'"{name}"{label}', utility_label=None)
toy2d.show(fig)

# %% [markdown]
# ## 3. BALD against Entropy: aleatoric vs epistemic
#
# A toy built for the contrast: class 0 on the left, class 1 on the right, and two regions between
# them on the boundary:
#
# * **noisy** (bottom): plenty of labeled points, but their labels are coin flips. Every pass predicts
#   $p \approx (\frac12, \frac12)$: high entropy, nothing to learn — *aleatoric* uncertainty;
# * **unexplored** (top): no labels at all. The passes extrapolate differently — *epistemic*
#   uncertainty, which labels can remove.
#
# One model, every strategy's view of it, one batch of 10 each.

# %%
N_REGION = pick(40, 60)
rng = np.random.default_rng(0)
centres = {"left": (-3.0, 0.0), "right": (3.0, 0.0), "noisy": (0.0, -3.0), "unexplored": (0.0, 3.0)}
sizes = {"left": N_REGION, "right": N_REGION, "noisy": 2 * N_REGION, "unexplored": N_REGION}
xb = np.concatenate([np.asarray(c) + 0.5 * rng.standard_normal((sizes[r], 2)) for r, c in centres.items()])
region = np.concatenate([np.full(sizes[r], i) for i, r in enumerate(centres)])
REGIONS = list(centres)
yb = np.select([region == 0, region == 1, region == 2], [0, 1, rng.integers(0, 2, len(region))],
               default=(xb[:, 0] > 0).astype(int))
dsb = from_arrays(xb.astype(np.float32), yb, xb.astype(np.float32), yb, name="aleatoric_epistemic")
gridb = toy2d.make_grid(dsb.x_train, steps=GRID)
seed_b = np.concatenate([np.flatnonzero(region == 0)[:8], np.flatnonzero(region == 1)[:8],
                         np.flatnonzero(region == 2)[: int(1.6 * N_REGION)]]).tolist()

run_b = alkit.ALRun(config("entropy", dataset="aleatoric_epistemic"), dataset=dsb, initial_indices=seed_b)
run_b.step()
COMPARE = {"entropy": {}, "entropy_mc": {}, "margin_mc": {}, "least_conf_mc": {}, "var_ratio": {"mode": "mc"},
           "mean_std": {}, "bald": {}, "batch_bald": {}}
picks_b = {}
for name, params in COMPARE.items():
    s = alkit.get_strategy(name, **params)
    picks_b[name] = s.query(pool_view(run_b, s), BUDGET, gen()).indices.numpy()
counts_b = {name: np.bincount(region[p], minlength=4) for name, p in picks_b.items()}
print(f"{'strategy':14s}" + "".join(f"{r:>12s}" for r in REGIONS))
for name, c in counts_b.items():
    print(f"{name:14s}" + "".join(f"{v:12d}" for v in c))

# %%
unl_b = run_b.unlabeled_indices().numpy()
view_b = pool_view(run_b, alkit.get_strategy("bald"))
ent_pool = entropy_scores(view_b.mc_probs.mean(0)).numpy()
bald_pool = bald_scores(view_b.mc_probs).numpy()
per_region = {r: (ent_pool[region[unl_b] == i].mean(), bald_pool[region[unl_b] == i].mean())
              for i, r in enumerate(REGIONS) if (region[unl_b] == i).any()}
for r, (e, b) in per_region.items():
    print(f"{r:11s} mean entropy {e:.3f}   mean BALD {b:.4f}")

fig, axes = plt.subplots(1, 2, figsize=(13, 4.6), sharey=True)
for ax, name in zip(axes, ("entropy", "bald"), strict=True):
    toy2d.round_panel(ax, gridb, dsb.x_train, dsb.y_train, probs=toy2d.grid_probs(run_b.learner, gridb),
                      utility=toy2d.grid_scores(name, run_b.learner, gridb, seed=1), labeled=seed_b,
                      picks=picks_b[name].tolist(), title=f'"{name}": heat and its 10 picks', utility_label=None)
for ax in axes:
    for r, (cx, cy) in centres.items():
        ax.annotate(r, (cx, cy + 1.5), ha="center", color="w", fontsize=9)
toy2d.show(fig)

# %% [markdown]
# (The BALD map is the disagreement of the same $T = 10$ sampled networks at every grid point.)
# Entropy (and every score of the mean prediction) spends most of its batch on the noisy region, where a
# label tells the model nothing new — there the mean entropy is close to $\log 2$; BALD and MeanSTD, which
# look at *disagreement between passes*, put at least 8 of their 10 picks where the model has not been
# taught yet, where BALD is higher than on the coin flips.
#
# ## 4. BatchBALD: a batch is not ten single picks
#
# Top-$b$ BALD scores items one at a time. If the pool holds copies, the copies score alike and land in
# the same batch, although the second copy teaches less than the first did. `"batch_bald"` grows the
# batch greedily, maximising the *joint* mutual information $I(y_1, \dots, y_b; w)$, so a copy of an
# item already chosen gains little. Here every unlabeled item of the toy appears three times, with the
# same prediction under every dropout pass: its columns of the MC stack are copied (exactly what
# consistent MC dropout gives for identical inputs: pass $t$ is one network for all items). A copy's
# label is still a fresh draw given the network, so a copy gains *less*, not nothing. And a copy is
# not the only redundant item: two neighbours that every sampled network treats alike are nearly as
# redundant as a copy, so on this toy BatchBALD may still take copies. What it guarantees is the
# quantity it maximises: `joint_mutual_information` computes $I(y_1, \dots, y_b; w)$ exactly (all
# $K^b$ label configurations) for both batches.

# %%
COPIES = 3
mc_copies = view_b.mc_probs.repeat_interleave(COPIES, dim=1)  # (T, 3 N_U, K): item i is rows 3i..3i+2
view_copies = PoolView.from_tensors(torch.arange(mc_copies.shape[1]), mc_probs=mc_copies)


def compare_batches(budget=BUDGET):
    out = {}
    for name in ("bald", "batch_bald"):
        picked = alkit.get_strategy(name).query(view_copies, budget, gen()).indices
        out[name] = (picked // COPIES).tolist()  # which original item each pick is a copy of
        out[name + "_joint_mi"] = float(joint_mutual_information(mc_copies[:, picked]))
    print({name: f"{len(set(out[name]))} distinct items in {budget} picks, joint MI {out[name + '_joint_mi']:.4f}"
           for name in ("bald", "batch_bald")})
    return out


batches = interact(compare_batches, budget=(2, 14, 1, BUDGET))  # exact joint MI: 2**14 label configurations at most

# %% [markdown]
# ## 5. Ensembles: disagreement between independently trained networks
#
# `"ensemble_var_ratio"` (Beluch et al. 2018) trains $k$ copies of the model from different seeds (its
# training hook) and asks how many of them vote against the majority: $a = 1 - f_\text{mode}/k$, ties
# broken by the ensemble-mean entropy. Every member's boundary is drawn below.

# %%
ens_run = alkit.ALRun(config("ensemble_var_ratio", dataset="aleatoric_epistemic", k=N_MEMBERS), dataset=dsb,
                      initial_indices=seed_b)
ens_run.step()
ens = ens_run.strategy
members = ens.members_for(toy2d.grid_view({"model"}, ens_run.learner, gridb.points[:1]))
member_grid = ens.member_probs(members, gridb.points)  # (k, grid points, 2)
ens_heat = toy2d.grid_scores(ens, ens_run.learner, gridb)
picks_b["ensemble_var_ratio"] = ens.query(pool_view(ens_run, ens), BUDGET, gen()).indices.numpy()
counts_b["ensemble_var_ratio"] = np.bincount(region[picks_b["ensemble_var_ratio"]], minlength=4)
print("ensemble_var_ratio picks per region:", dict(zip(REGIONS, counts_b["ensemble_var_ratio"].tolist(), strict=True)))
pool_votes = ensemble_var_ratio_scores(ens.member_probs(members, dsb.x_train), secondary=False).numpy()
split_share = {r: float((pool_votes[region == i] > 0).mean()) for i, r in enumerate(REGIONS) if r in ("noisy", "unexplored")}
print("share of items on which the members' votes split:", {r: round(v, 2) for r, v in split_share.items()})

fig, ax = plt.subplots(figsize=(7, 4.6))
toy2d.utility_heatmap(ax, gridb, ens_heat, label="1 - f_mode / k (+ tie-break)")
for m in range(len(members)):
    toy2d.decision_boundary(ax, gridb, member_grid[m].numpy(), color=toy2d.CLASS_COLORS[2 + m % 6], linewidth=1)
toy2d.selection_overlay(ax, dsb.x_train, dsb.y_train, labeled=seed_b, picks=picks_b["ensemble_var_ratio"].tolist(),
                        pool_alpha=0.8)
ax.set_title(f'"ensemble_var_ratio": {len(members)} members\' boundaries and the vote disagreement')
toy2d.show(fig)

# %% [markdown]
# Coin-flip labels split the votes too: members trained on coin flips disagree on part of the noisy
# region (the share of split votes printed above is above 0 there), so vote counting mixes aleatoric
# with epistemic uncertainty — unlike BALD, which subtracts the per-member entropy. Which region wins the
# batch depends on the members: the picks per region above change between smoke mode (3 members) and
# full mode (5).
#
# ## 6. Adversarial distance to the boundary
#
# `"adv_deepfool"` and `"adv_bim"` (reference §4.14–4.15) measure uncertainty as *distance*: the size of
# the smallest perturbation that flips the predicted label, found by DeepFool (step to the linearised
# nearest boundary, repeat) or by iterated sign-gradient steps (BIM); $a(x) = -\lVert r\rVert^2$. In 2-D
# the perturbations are arrows, and we can compare their length with the true distance to the boundary
# read off a fine grid.

# %%
model = base.learner.model
x_pool = ds3.x_train[base.unlabeled_indices()]
r, flipped, _ = deepfool_perturbation(model, x_pool, max_iter=50, overshoot=0.02)
df_len = r.norm(dim=1).numpy()
fine = toy2d.make_grid(ds3.x_train, steps=2 * GRID)
fine_pred = toy2d.grid_probs(base.learner, fine).argmax(1)
pool_pred = base.learner.predict(x_pool).numpy()
dist = torch.cdist(x_pool.double(), fine.points.double()).numpy()
true_len = np.where(fine_pred[None, :] != pool_pred[:, None], dist, np.inf).min(1)  # nearest other-class grid point
rho_df = float(spearmanr(df_len, true_len).statistic)
ADV = ["adv_deepfool", "adv_bim"]
adv_scores = {name: alkit.get_strategy(name).score(pool_view(base, alkit.get_strategy(name))).numpy() for name in ADV}
margin_pool = margin_scores(base.learner.predict_proba(x_pool)).numpy()
rho_margin = {name: float(spearmanr(s, margin_pool).statistic) for name, s in adv_scores.items()}
print(f"Spearman(DeepFool length, grid distance to the boundary) = {rho_df:.3f}; flipped {int(flipped.sum())}/{len(r)}")
print("Spearman with the margin score:", {k: round(v, 3) for k, v in rho_margin.items()})

fig, axes = plt.subplots(1, 2, figsize=(14, 4.4), sharey=True)
order = np.argsort(df_len)
show_idx = order[np.linspace(0, len(order) // 2, 30).astype(int)]  # 30 items spread over the closer half
toy2d.round_panel(axes[0], grid3, ds3.x_train, ds3.y_train, probs=probs3, labeled=base.labeled_indices().tolist(),
                  title="DeepFool perturbations r (arrows) of 30 pool items")
axes[0].quiver(x_pool[show_idx, 0], x_pool[show_idx, 1], r[show_idx, 0], r[show_idx, 1], angles="xy",
               scale_units="xy", scale=1, width=0.005, color="k")
df_heat = toy2d.grid_scores("adv_deepfool", base.learner, grid3)  # -||r||^2 at every grid point
toy2d.round_panel(axes[1], grid3, ds3.x_train, ds3.y_train, probs=probs3, utility=np.sqrt(-df_heat),
                  cmap="viridis_r", labeled=base.labeled_indices().tolist(), utility_label="||r||",
                  title='"adv_deepfool": ||r|| over the plane (score = -||r||², short = queried first)')
toy2d.show(fig)

# %% [markdown]
# ## Exercises
#
# **4.1** From `mc_grid` (the $(T, N, K)$ stack of §2), compute the MeanSTD score of every grid point
# yourself: the population standard deviation (ddof 0) of each class probability over the passes,
# averaged over classes. Return a tensor of shape `(N,)`.
#
# **4.2** With a budget of 1, BALD and BatchBALD pick the same item (the first BatchBALD step *is* the
# BALD argmax). On `view_copies` of §4, what is the **smallest budget** at which their batches differ as
# sets? Return an integer.

# %%
ex1 = exercise("4.1", mc_grid=mc_grid)
answer1 = None  # your code here: a tensor of shape (N,)
ex1.check(answer1)  # stuck? ex1.reveal() prints a worked solution

# %%
ex2 = exercise("4.2", view_copies=view_copies)
answer2 = None  # your code here: an int
ex2.check(answer2)

# %% [markdown]
# ## What this lesson showed (checked)

# %%
# §1: the heatmaps are the score functions; var_ratio is least_conf in disguise; where the maps peak.
p3 = torch.as_tensor(probs3)
assert np.array_equal(heat3["entropy"], entropy_scores(p3).numpy())
assert np.array_equal(heat3["margin"], margin_scores(p3).numpy())
assert picks_vr == picks_lc
top_e, top_m = int(np.argmax(heat3["entropy"])), int(np.argmax(heat3["margin"]))
assert (probs3[top_e] > 0.2).all()  # entropy's peak: all three classes plausible
assert (probs3[int(np.argmax(heat3["least_conf"]))] > 0.2).all()  # least confidence's peak too
srt = np.sort(probs3[top_m])[::-1]
assert srt[0] - srt[1] < 0.02  # margin's peak: on a boundary between two classes
assert len(shown_picks) == BUDGET
assert shown_round == {name: rec[ROUNDS].accuracy for name, rec in recs3.items()}
assert all(len(rec) == ROUNDS + 1 and rec[ROUNDS].utility is not None for rec in recs3.values())
# §2: the passes are different networks; BALD from scratch equals the library and the heatmap.
assert pass_boundaries_differ
assert torch.allclose(mean_grid.sum(-1), torch.ones(len(mean_grid)), atol=1e-5)
assert torch.allclose(bald_mine, bald_scores(mc_grid), atol=1e-6)
assert np.allclose(bald_heat, bald_mine.numpy(), atol=1e-6) and np.allclose(mc_heat["bald"], bald_heat)
assert (bald_heat >= -1e-6).all()
# §3: entropy spends the batch on coin flips, BALD / MeanSTD on the unexplored region.
NOISY, UNEXPLORED = REGIONS.index("noisy"), REGIONS.index("unexplored")
assert counts_b["bald"][UNEXPLORED] >= 8 and counts_b["mean_std"][UNEXPLORED] >= 8
assert counts_b["entropy"][NOISY] > counts_b["bald"][NOISY]
assert all(counts_b[n][NOISY] > BUDGET / 2 for n in ("entropy", "entropy_mc", "margin_mc", "least_conf_mc"))  # most
assert per_region["noisy"][0] > 0.6  # entropy close to log 2 = 0.693 in the noisy region
assert per_region["unexplored"][1] > per_region["noisy"][1]  # ...but BALD is higher where nothing is labeled
# §4: BatchBALD starts like BALD and reaches at least BALD's joint MI; top-b BALD takes copies.
assert batches["bald"][0] == batches["batch_bald"][0]
assert batches["batch_bald_joint_mi"] >= batches["bald_joint_mi"] - 1e-9  # the quantity BatchBALD maximises
assert len(set(batches["bald"])) < BUDGET  # BALD's batch holds copies
# §5: the ensemble's heatmap is the vote variation ratio of its members.
assert len(members) == N_MEMBERS
assert np.allclose(ens_heat, ensemble_var_ratio_scores(member_grid).numpy())
assert ens_heat.max() > 0.2  # the members disagree somewhere
assert split_share["noisy"] > 0 and split_share["unexplored"] > 0  # ...on coin flips and on the unexplored region
# §6: DeepFool's perturbation length tracks the distance to the boundary; both attacks rank like margin.
assert bool(flipped.all())
assert rho_df > 0.8
assert np.median(df_len / np.maximum(true_len, 1e-9)) < 1.5
assert all(v > 0.5 for v in rho_margin.values())
assert (df_heat <= 0).all()
