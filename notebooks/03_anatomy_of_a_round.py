# %% [markdown]
# # 03 — Anatomy of one AL round
#
# *What you will see:* one active-learning round taken apart — **train → view → score → select → label** —
# and checked step by step against alkit's loop; then the *sampling-bias* toy, where entropy sampling
# never asks about a pocket of the other class, while random sampling finds it. Two strategies
# that change the loop itself close the lesson: CEAL (pseudo-labels) and Learning Loss (a learned
# loss predictor). *Prerequisites:* none; lessons 01–02 are the theory side.
#
# ```
# seed set ─► train ─► evaluate                     (round 0)
# repeat:  view ─► score ─► select ─► label ─► train ─► evaluate   (rounds 1, 2, ...)
# ```

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.stats import spearmanr

import alkit
from alkit.data import sampling_bias
from alkit.lessons import SMOKE, exercise, interact, pick, step_button
from alkit.seeding import make_generator, seed_for
from alkit.strategies import entropy_scores, top_k
from alkit.viz import toy2d

torch.set_num_threads(1)
torch.manual_seed(0)

N_POOL = pick(300, 600)  # pool size (the test set has the same size)
ROUNDS = pick(5, 10)  # query rounds after round 0
BUDGET = 10  # items labeled per round (the AL batch b)
TRAIN = alkit.TrainConfig(epochs=pick(20, 40), batch_size=32, min_steps=pick(100, 200), lr=3e-3)
GRID = pick(40, 80)  # resolution of the heatmaps

ds = sampling_bias(n_samples=N_POOL, n_test=N_POOL, seed=0)
group = np.array(ds.info["group_train"])
group_test = np.array(ds.info["group_test"])
GROUPS = ds.info["groups"]  # ['far_left', 'pocket', 'middle', 'far_right']
POCKET = GROUPS.index("pocket")
grid = toy2d.make_grid(ds.x_train, steps=GRID)


def config(strategy, **params):
    """The same experiment for every strategy: the dataset's biased seed set, b = 10, same training."""
    return alkit.ALConfig(dataset="sampling_bias", strategy=strategy, strategy_params=params, initial_mode="dataset",
                          query=BUDGET, rounds=ROUNDS, train=TRAIN, device="cpu", seed=0)


print(ds)
print({g: int((group == i).sum()) for i, g in enumerate(GROUPS)}, "seed set:", ds.info["initial_indices"])

# %% [markdown]
# ## 1. The pool
#
# Four groups along the horizontal axis (the vertical axis carries no information): a far-left
# cluster of class 0 (blue), a **pocket** of class 1 (red, 10 % of the pool) tucked next to a wide
# class-0 middle band, and a far-right cluster of class 1. The seed set (black edges) comes only from the
# two far clusters, so the first model has never seen the pocket.

# %%
fig, ax = plt.subplots(figsize=(8, 3.2))
toy2d.selection_overlay(ax, ds.x_train, ds.y_train, labeled=ds.info["initial_indices"], pool_size=12)
for i, name in enumerate(GROUPS):
    ax.annotate(name, (float(ds.x_train[group == i, 0].mean()), 1.9), ha="center", fontsize=9)
ax.set_ylim(-2.2, 2.3)
ax.set_title("sampling_bias: pool coloured by class, seed set with black edges")
toy2d.show(fig)

# %% [markdown]
# ## 2. One round, by hand
#
# `ALRun.step()` runs one round. Round 0 labels the seed set and **trains** the model. We then redo
# round 1 by hand with the same pieces the loop uses, and check that the loop picks exactly what we
# picked.

# %%
run = alkit.ALRun(config("entropy"), dataset=ds)
r0 = run.step()  # round 0: label the seed set, train, evaluate
print(f"round 0: {r0.n_labeled} labels, test accuracy {r0.accuracy:.3f}, "
      f"{run.fit_report.steps} optimiser steps")

# %% [markdown]
# **View.** A strategy never sees the dataset. It declares what it `needs`; the loop builds a
# `PoolView` holding exactly that, computed from the freshly trained model on the unlabeled items.
# Entropy needs only the probabilities, so the view holds no labels, no inputs, no model.

# %%
strategy = run.strategy
print(strategy, "needs", sorted(strategy.required()))
view = run.view_for(strategy)  # exactly what the loop builds before round 1's query (alkit.build_view)
held = [name for name in sorted(alkit.strategies.NEEDS) if view.has(name)]
print(f"view for round {view.round}: {view.n_unlabeled} unlabeled, {view.n_labeled} labeled; holds {held}")
print("probs", tuple(view.probs.shape), "| holds labels?", view.has("labeled_targets"))

# %% [markdown]
# **Score.** The acquisition value $a(x) = H(p(x)) = -\sum_k p_k(x)\log p_k(x)$; larger means "ask
# first". Derived here once from scratch (with $0 \log 0 = 0$), then checked against the library's
# `entropy_scores`.

# %%
p = view.probs
h_mine = -(p * torch.log(p.clamp_min(1e-30))).sum(dim=1)
h_lib = entropy_scores(p)
print(f"largest entropy {h_lib.max():.4f} (log 2 = {np.log(2):.4f}); smallest {h_lib.min():.2e}")

h_grid0 = toy2d.grid_scores(strategy, run.learner, grid)  # the same score function over the whole plane
probs_grid0 = toy2d.grid_probs(run.learner, grid)

# %% [markdown]
# **Select.** The top-$b$ scores, ties to the lowest pool index. `top_k` returns positions in the
# view; `view.unlabeled` turns them into pool indices. The strategy object does the same in
# `query` (its generator only breaks ties when asked to).
#
# **Label.** The oracle answers for those indices; they join the labeled set, and the round ends by
# retraining **from scratch** on the enlarged set. `run.step()` does all of this; we check it picks
# exactly our items.

# %%
pos = top_k(h_lib, BUDGET)
my_picks = view.unlabeled[pos]
lib_picks = strategy.query(view, BUDGET, make_generator(seed_for(0, 1, "query"))).indices
r1 = run.step()  # the loop's round 1: view, query, oracle, train, evaluate
print("picked by hand:", sorted(my_picks.tolist()))
print("picked by loop:", sorted(r1.selected), f"→ round 1 accuracy {r1.accuracy:.3f}")
print("groups of the picks:", [GROUPS[g] for g in group[my_picks.numpy()]])
p_pocket0 = view.probs[torch.as_tensor(group[view.unlabeled.numpy()] == POCKET), 0]  # P(class 0) on the pocket
print(f"entropy of the picks: {h_lib[pos].min():.3f} to {h_lib[pos].max():.3f} nats; the round-0 model gives the "
      f"pocket items P(class 0) >= {p_pocket0.min():.3f} (they are class 1)")
probs_grid1 = toy2d.grid_probs(run.learner, grid)

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 3.8), sharey=True)
toy2d.round_panel(axes[0], grid, ds.x_train, ds.y_train, probs=probs_grid0, utility=h_grid0,
                  labeled=ds.info["initial_indices"], picks=my_picks.tolist(), utility_label="entropy (nats)",
                  title="round-0 model: entropy over the plane, boundary, and the 10 picks of round 1")
toy2d.round_panel(axes[1], grid, ds.x_train, ds.y_train, probs=probs_grid1,
                  labeled=run.labeled_indices().tolist(), title="round-1 model, retrained with the picks labeled")
toy2d.show(fig)

# %% [markdown]
# The entropy is largest on the decision boundary, so the whole batch lands there: every pick's entropy
# is above 0.5 nats (log 2 = 0.693 is the maximum). Nothing in the score rewards asking about a region
# the model is *confidently* wrong about — which is exactly the pocket: the model puts it in class 0
# with a probability above 0.9 (printed above), and no pick comes from it.
#
# ## 3. Step through a run yourself
#
# The button runs one more round of a fresh entropy run and draws it (without a widget frontend,
# it runs one round and draws it once). Each panel shows the model the round just trained, its entropy
# (what the *next* query ranks by), and the picks that round added.

# %%
live = alkit.ALRun(config("entropy"), dataset=ds)
live_rec = toy2d.RoundRecorder(grid).attach(live)


def step_and_draw():
    if live.done:
        print("the run is complete")
        return None
    res = live.step()
    snap = live_rec[-1]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    toy2d.round_panel(ax, grid, ds.x_train, ds.y_train, probs=snap.probs, utility=snap.utility,
                      labeled=snap.labeled, picks=snap.picks, utility_label="entropy",
                      title=f"round {res.round}: {res.n_labeled} labels, accuracy {res.accuracy:.3f}")
    toy2d.show(fig)
    return res


first = step_button(step_and_draw)

# %% [markdown]
# ## 4. The sampling-bias trap: entropy against random
#
# Now whole runs of `"entropy"` and `"random"` from the same biased seed set, recorded round by
# round. Move the slider to watch the labeled set grow: entropy keeps querying along its boundary
# (which drifts right, to the gap between the middle band and the far-right cluster: its last batch
# lies to the right of its first) and never touches the pocket, because the model is sure the pocket is
# class 0. Random sampling hits the pocket by chance (it is 10 % of the pool), and the model then gets
# part of the pocket right (the pocket test accuracies printed below).

# %%
runs, recs = {}, {}
for name in ("entropy", "random"):
    runs[name] = alkit.ALRun(config(name), dataset=ds)
    recs[name] = toy2d.RoundRecorder(grid).attach(runs[name])
    runs[name].run()


def picks_per_group(run):
    """How many labeled items each group holds at the end (the seed set included)."""
    return {g: int((group[run.labeled_indices().numpy()] == i).sum()) for i, g in enumerate(GROUPS)}


def group_accuracy(run):
    pred = run.learner.predict(ds.x_test).numpy()
    return {g: float((pred[group_test == i] == ds.y_test.numpy()[group_test == i]).mean()) for i, g in enumerate(GROUPS)}


for name, r in runs.items():
    print(f"{name:8s} labels per group {picks_per_group(r)}  final accuracy {r.history[-1].accuracy:.3f}  "
          f"pocket test accuracy {group_accuracy(r)['pocket']:.2f}")
first_x, last_x = (float(ds.x_train[recs["entropy"][k].picks, 0].mean()) for k in (1, ROUNDS))
print(f"mean x of entropy's picks: round 1 {first_x:.2f}, round {ROUNDS} {last_x:.2f}")


# %%
def draw_rounds(round=ROUNDS):  # noqa: A002 - the slider's name
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.6), sharey=True)
    for ax, name in zip(axes, recs, strict=True):
        snap = recs[name][round]
        toy2d.round_panel(ax, grid, ds.x_train, ds.y_train, probs=snap.probs, labeled=snap.labeled,
                          picks=snap.picks if round > 0 else None,
                          title=f"{name}, round {round}: accuracy {snap.accuracy:.3f}")
    toy2d.show(fig)
    return {name: recs[name][round].accuracy for name in recs}


shown_round = interact(draw_rounds, round=(0, ROUNDS, 1, ROUNDS))

# %%
fig, ax = plt.subplots(figsize=(6, 3.4))
for name, style in (("entropy", "-o"), ("random", "--s")):
    h = runs[name].history
    ax.plot([x.n_labeled for x in h], [x.accuracy for x in h], style, label=name)
ax.axhline(1 - 0.10, color="grey", lw=0.8, ls=":")
ax.annotate("every pocket point wrong (0.90)", (len(ds.info["initial_indices"]), 0.905), fontsize=8)
ax.set_xlabel("labeled items")
ax.set_ylabel("test accuracy")
ax.legend()
ax.set_title("sampling_bias: entropy stalls, random does not")
toy2d.show(fig)

# %% [markdown]
# ## 5. A twist on the loop: CEAL's pseudo-labels
#
# `"ceal"` queries exactly like entropy, and *also* trains on unlabeled items the current model is
# extremely sure about ($H(p(x)) < \delta_t$), with the model's own prediction as their label
# (reference §4.9). The pseudo-labels never join the labeled set; they are recomputed every round.
# The strategy hands them to its training hook, so we can catch them when the loop enters the
# training phase. On this pool they are a warning: once the boundary has moved right, the pocket is
# predicted class 0 with near-certainty, so CEAL *teaches* the model the wrong label for it.

# %%
ceal_run = alkit.ALRun(config("ceal"), dataset=ds)
pseudo = []  # (round, pool indices, pseudo-labels) caught just before each training


def catch_pseudo_labels(event):
    if event.kind == "phase" and event.data.get("phase") == "train":
        got = ceal_run.strategy.pseudo_labels()
        if got is not None:
            pseudo.append((event.round, got[0].numpy(), got[1].numpy()))


ceal_run.callbacks.append(catch_pseudo_labels)
ceal_run.run()
y_true = ds.y_train.numpy()
for r, idx, lab in pseudo:
    wrong = idx[lab != y_true[idx]]
    print(f"round {r}: {len(idx):4d} pseudo-labels, {len(wrong):3d} wrong, "
          f"of which in the pocket: {int((group[wrong] == POCKET).sum())}")
print("ceal labels per group:", picks_per_group(ceal_run))

# %%
r_last, idx_last, lab_last = pseudo[-1]
fig, ax = plt.subplots(figsize=(8, 3.4))
toy2d.selection_overlay(ax, ds.x_train, None, labeled=None)
ax.scatter(ds.x_train[idx_last, 0], ds.x_train[idx_last, 1], s=14,
           c=[toy2d.CLASS_COLORS[c] for c in lab_last], label="pseudo-labeled (colour = pseudo-label)")
bad = idx_last[lab_last != y_true[idx_last]]
ax.scatter(ds.x_train[bad, 0], ds.x_train[bad, 1], s=60, facecolors="none", edgecolors="k", label="wrong")
ax.legend(fontsize=8, loc="lower right")
ax.set_title(f"CEAL, round {r_last}: the pseudo-labels it trains on")
toy2d.show(fig)

# %% [markdown]
# ## 6. Another twist: Learning Loss
#
# `"lpl"` (Yoo & Kweon 2019, reference §4.16) changes training too: a small loss-prediction module
# rides on the network, trained with a ranking loss to predict each item's cross-entropy. The query
# takes the items with the largest **predicted loss**. On a 2-D pool we can draw that prediction over
# the plane and compare it with the true loss on the unlabeled items (which only we, the teachers,
# can compute).

# %%
lpl_run = alkit.ALRun(config("lpl"), dataset=ds)
lpl_rec = toy2d.RoundRecorder(grid).attach(lpl_run)
lpl_run.run()
unl = lpl_run.unlabeled_indices()
with torch.no_grad():
    true_loss = torch.nn.functional.cross_entropy(lpl_run.learner.model(ds.x_train[unl]), ds.y_train[unl],
                                                  reduction="none")
pred_loss = lpl_run.strategy.predicted_loss(lpl_run.learner.model, ds.x_train[unl])
lpl_rho = float(spearmanr(pred_loss.numpy(), true_loss.numpy()).statistic)
print(f"Spearman(predicted loss, true loss) on the unlabeled pool: {lpl_rho:.2f}")
print("lpl labels per group:", picks_per_group(lpl_run), f"final accuracy {lpl_run.history[-1].accuracy:.3f}")

fig, ax = plt.subplots(figsize=(8, 3.4))
snap = lpl_rec[-1]
toy2d.round_panel(ax, grid, ds.x_train, ds.y_train, probs=snap.probs, utility=snap.utility,
                  labeled=snap.labeled, picks=snap.picks, cmap="magma", utility_label="predicted loss",
                  title=f"lpl, round {snap.round}: the loss module's prediction over the plane")
toy2d.show(fig)

# %% [markdown]
# The loss module learns from labeled items only. Whether it ever rates the pocket highly depends on
# how well it extrapolates, and here on the training budget: in full mode (10 rounds, longer training)
# it escapes the trap and labels most of the pocket; in smoke mode (5 short rounds) it never queries
# the pocket (the labels per group printed above).
#
# ## Exercises
#
# **3.1** With two classes, least confidence ($a = -p_{(1)}$) ranks items exactly like entropy. Using
# `view` from §2, return the **pool indices** of the 10 least-confident items (a 1-D tensor) —
# compute it from `view.probs` yourself.
#
# **3.2** The trap is in the seed set. Add **one** pocket item to `ds.info["initial_indices"]`, run
# `"entropy"` for `ROUNDS` rounds from that seed set (`alkit.ALRun(..., initial_indices=...)`), and
# return the final model's accuracy on the pocket's **test** items (use `group_accuracy`).

# %%
ex1 = exercise("3.1", view=view)
answer1 = None  # your code here: a 1-D tensor of pool indices
ex1.check(answer1)  # stuck? ex1.reveal() prints a worked solution

# %%
without_pocket = group_accuracy(runs["entropy"])["pocket"]
ex2 = exercise("3.2", ds=ds, config=config, group=group, pocket=POCKET, group_accuracy=group_accuracy,
               without=without_pocket)
answer2 = None  # your code here
ex2.check(answer2)

# %% [markdown]
# ## What this lesson showed (checked)

# %%
# §1: four groups; the pocket is 10 % of the pool and of the test set; the seed set holds only the far clusters.
assert len(GROUPS) == 4 and abs((group == POCKET).mean() - 0.10) < 0.005 and abs((group_test == POCKET).mean() - 0.10) < 0.005
assert {GROUPS[g] for g in group[ds.info["initial_indices"]]} == {"far_left", "far_right"}
# §2: the from-scratch entropy is the library's, and the hand-made round is the loop's round.
assert torch.allclose(h_mine, h_lib, atol=1e-6)
assert sorted(my_picks.tolist()) == sorted(lib_picks.tolist()) == sorted(r1.selected)
assert not view.has("labeled_targets") and not view.has("inputs") and not view.has("model")  # probabilities only
# the whole batch on the boundary (entropy > 0.5 nats), none from the pocket, which the model calls class 0
assert h_lib[pos].min() > 0.5 and not (group[my_picks.numpy()] == POCKET).any() and p_pocket0.min() > 0.9
assert h_lib.max() <= np.log(2) + 1e-6
# The entropy heatmap peaks on the decision boundary: the argmax grid point's class is uncertain.
top = int(np.argmax(h_grid0))
assert abs(probs_grid0[top, 0] - 0.5) < 0.1
# §3: the button ran a round.
assert first is not None and first.round == 0 and live_rec[0].utility.shape == (GRID * GRID,)
# §4: entropy never labels the pocket and ends with the whole pocket wrong; random finds it.
assert picks_per_group(runs["entropy"])["pocket"] == 0
assert group_accuracy(runs["entropy"])["pocket"] == 0.0
assert max(h.accuracy for h in runs["entropy"].history) <= 0.91  # "entropy stalls" at every pocket point wrong
assert last_x > first_x  # its boundary, and its batches, drift right
assert picks_per_group(runs["random"])["pocket"] >= 1
assert group_accuracy(runs["random"])["pocket"] > 0.0
assert runs["random"].history[-1].accuracy > runs["entropy"].history[-1].accuracy
assert shown_round == {name: recs[name][ROUNDS].accuracy for name in recs}
# §5: CEAL queries like entropy (never the pocket) and pseudo-labels pocket items with the wrong class.
assert picks_per_group(ceal_run)["pocket"] == 0
assert len(pseudo) == ROUNDS and all(len(idx) > 0 for _, idx, _ in pseudo)
wrong_groups = np.concatenate([group[idx[lab != y_true[idx]]] for _, idx, lab in pseudo])
assert len(wrong_groups) > 0 and set(wrong_groups.tolist()) == {POCKET}
assert all((lab[group[idx] == POCKET] == 0).all() for _, idx, lab in pseudo)
# §6: the learned loss ranks the unlabeled pool like the true loss (positively).
assert lpl_rho > 0.2
lpl_pocket = picks_per_group(lpl_run)["pocket"]
assert lpl_pocket == 0 if SMOKE else lpl_pocket > (group == POCKET).sum() / 2  # smoke: trapped; full: escapes
# exercise 3.1's premise: with two classes least confidence picks what entropy picks
assert set(alkit.get_strategy("least_conf").query(view, BUDGET).indices.tolist()) == set(my_picks.tolist())
assert len(lpl_rec) == ROUNDS + 1 and lpl_rec[-1].utility is not None
