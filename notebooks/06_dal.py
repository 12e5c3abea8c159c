# %% [markdown]
# # 06 — DAL: active learning as binary classification
#
# *What you will see:* Discriminative Active Learning (Gissin & Shalev-Shwartz 2019; reference §4.17)
# turns the query into a **labeled-vs-unlabeled classification**: a small discriminator learns to tell
# the labeled set ("l") from the pool ("u") in the task model's feature space, and the points it is
# surest are "u" are queried. We derive one query by hand (and check it against alkit), see why DAL
# splits its budget into **mini-queries**, watch the loop store DAL's proxy H-divergence per
# mini-query, and finally compare the **rankings** that seven strategies put the same MNIST pool in
# (the ranking comparison of DAL's Fig. 3) with a Spearman matrix.
# *Prerequisites:* 02 (Ben-David's bound), 03 (one AL round), 05 (KCenter, BADGE).
#
# Why a classifier? Ben-David et al.'s bound (reference §5.3) says the error on the pool is at most the
# error on the labeled set plus half the $\mathcal H$-divergence between them; a domain classifier with
# balanced error $\varepsilon$ estimates that divergence as $\hat d = 2(1-2\varepsilon)$. Moving the points
# the classifier finds most "unlabeled-looking" into the labeled set should shrink $\hat d$ (section 3
# measures whether it does).

# %%
import numpy as np
import torch

import alkit
from alkit.experiments.ranking import pool_rankings, spearman_matrix
from alkit.lessons import SMOKE, exercise, interact, pick
from alkit.seeding import seeded
from alkit.strategies import PoolView, top_k
from alkit.strategies.dal import (
    class_weights,
    make_discriminator,
    mini_query_sizes,
    proxy_h_divergence,
    subsample_unlabeled,
    train_discriminator,
)
from alkit.viz.discriminators import MapPanel, curves_figure, rank_correlation_figure, score_map_figure, show

torch.set_num_threads(1)
torch.manual_seed(0)

N_A, N_B = pick((1000, 250), (8000, 2000))  # the two-blob pool: dense blob A, sparse blob B (80 % / 20 %)
BUDGET_TOY = pick(60, 200)  # b on the toy
N_MINI = pick(6, 10)  # mini-queries on the toy (the slider's default)
# The toy discriminator: the reference's 2-20-20-20-2 MLP with a cheaper schedule (a divergence it
# cannot push past 98 % training accuracy runs to the 1,000-step budget).
TOY = dict(max_epochs=100, batch_size=128, lr=1e-3)
MNIST_TEST = pick(3800, 1000)  # mnist5k test images; the pool is the other 5000 - MNIST_TEST
MNIST_TRAIN = alkit.TrainConfig(epochs=10, batch_size=64, min_steps=pick(60, 300), lr=2e-3, lr_milestones=(0.5, 0.75))
MNIST_BUDGET = pick(60, 100)
MNIST_DAL = dict(n_mini_queries=pick(5, 10), max_steps=pick(100, 500))  # DAL inside the loop (section 4)
EXTENT = (-5.5, 5.5, -2.5, 2.5)


def two_blobs(seed=0, n_a=N_A, n_b=N_B):
    """The reference's DAL toy: A = N((-3, 0), 0.5²I), B = N((3, 0), 0.5²I); Ψ = identity."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n_a, 2, generator=g) * 0.5 + torch.tensor([-3.0, 0.0])
    b = torch.randn(n_b, 2, generator=g) * 0.5 + torch.tensor([3.0, 0.0])
    return torch.cat([a, b]), torch.cat([torch.zeros(n_a, dtype=torch.bool), torch.ones(n_b, dtype=torch.bool)])


def toy_view(x, labeled):
    """A pool view whose 'embeddings' are the 2-D points themselves."""
    mask = torch.zeros(len(x), dtype=torch.bool)
    mask[labeled] = True
    lab, unl = mask.nonzero().squeeze(1), (~mask).nonzero().squeeze(1)
    return PoolView.from_tensors(unl, lab, embeddings=x[unl], labeled_embeddings=x[lab])


x_toy, is_b = two_blobs()
print(f"toy pool: {N_A} points in blob A, {N_B} in blob B")

# %% [markdown]
# ## 1. One query, by hand: a labeled-vs-unlabeled classifier
#
# The labeled set is **biased**: 100 points, all from blob A. One DAL mini-query is four steps:
#
# 1. sub-sample the unlabeled side to $U'$ of at most $10\,|L|$ points (DAL's code does this: it keeps the
#    two classes within 1:10 and the cost independent of the pool size);
# 2. build a **fresh** discriminator (3 hidden ReLU layers; 20 wide for inputs under 30 dimensions);
# 3. train it on $L$ (label 0) vs $U'$ (label 1) with balanced class weights $w_l = N/N_L$,
#    $w_u = N/N_{U'}$, stopping at the first epoch whose training accuracy exceeds 98 % — *not* to 100 %,
#    so points close to labeled ones keep a lower $P(u)$;
# 4. query the points of $U'$ with the largest $a(x) = \hat P(u \mid \Psi(x))$.
#
# We do this once by hand, with the same generator the strategy would use, and then ask alkit.

# %%
g_idx = torch.Generator().manual_seed(100)
biased_L = torch.randperm(N_A, generator=g_idx)[:100]  # 100 labeled points, all in blob A
view_biased = toy_view(x_toy, biased_L)
B1 = 20  # one mini-query of 20 points

gen = torch.Generator().manual_seed(0)
emb, lab = view_biased.embeddings, view_biased.labeled_embeddings
n_lab = len(lab)
sub = subsample_unlabeled(len(emb), max(10 * n_lab, B1), gen, emb.device)  # step 1
x_train = torch.cat([lab, emb[sub]])
y_train = torch.cat([torch.zeros(n_lab, dtype=torch.long), torch.ones(len(sub), dtype=torch.long)])
seed = int(torch.randint(0, 2**62, (1,), generator=gen).item())
with seeded(seed, emb.device):
    disc = make_discriminator(2)  # step 2: 2-20-20-20-2
fit = train_discriminator(disc, x_train, y_train, class_weights(n_lab, len(sub)), generator=gen,  # step 3
                          stop_accuracy=0.98, max_steps=1000, **TOY)


def p_unlabeled(z):
    """The trained discriminator's P(u | z)."""
    with torch.no_grad():
        return disc(z).softmax(1)[:, 1]


cand = sub.sort().values
by_hand = view_biased.unlabeled[cand[top_k(p_unlabeled(emb[cand]), B1)]]  # step 4
err = 0.5 * ((p_unlabeled(lab) > 0.5).float().mean() + (p_unlabeled(emb[sub]) <= 0.5).float().mean())
d_hat = proxy_h_divergence(float(err))

sel_lib = alkit.get_strategy("dal", n_mini_queries=1, **TOY).query(view_biased, B1, torch.Generator().manual_seed(0))
print(f"discriminator: {fit.epochs} epochs, stopped by the 98 % rule: {fit.stopped}; balanced training error "
      f"{float(err):.3f} -> proxy H-divergence {d_hat:.3f} (alkit stored {sel_lib.extras['h_divergence'][0]:.3f})")
print("by hand == alkit:", torch.equal(by_hand, sel_lib.indices),
      f"| share of the picks from blob B: {is_b[sel_lib.indices].float().mean():.2f}")
share_b_first = float(is_b[sel_lib.indices].float().mean())
pi_b = N_B / (N_A - 100 + N_B)  # share of blob B among the unlabeled points
print(f"2 × share of B in the pool = {2 * pi_b:.3f}")

fig_map = score_map_figure(
    [MapPanel("one DAL mini-query: P(u | x) of the discriminator", fn=p_unlabeled, cbar="P(u)", vmin=0, vmax=1,
              cmap="magma", points={"unlabeled": emb, "labeled": lab, "picked": x_toy[sel_lib.indices]})],
    EXTENT, resolution=pick(60, 120), panel_size=4.5)
show(fig_map)

# %% [markdown]
# The discriminator has learned where the labeled set is *not*: blob B is bright, blob A dark. It
# cannot do better than that — the A-part of $U'$ looks exactly like $L$ — so it never reaches 98 %
# and its balanced error stays near the best possible one: call all of A "l" and all of B "u", which
# errs on no labeled point and on the A-share of $U'$, $\varepsilon^\star = \tfrac12 (1 - \pi_B)$ with
# $\pi_B$ the share of blob B in the pool. Hence $\hat d \approx 2(1 - 2\varepsilon^\star) = 2\pi_B$: the
# divergence measures how much of the pool the labeled set does not represent. The first 20 picks all
# come from blob B.
#
# ⚠ $\hat d$ here is measured on the very points the discriminator was trained on (there are no
# held-out labeled points), so it is an optimistic, i.e. large, estimate of the divergence.

# %% [markdown]
# ## 2. Mini-queries: why DAL splits its budget
#
# With one discriminator and a large budget, DAL takes the top-$b$ of a single $P(u)$ map: a **clump**
# of near-duplicates in the brightest region. DAL instead splits $b$ into $n$ mini-queries; after each,
# the picked points join $L$ *without labels* (Ψ does not change, so none are needed), and a fresh
# discriminator is trained on the new $L'$. Regions just covered stop looking "unlabeled".
#
# The pool below has a labeled set that over-represents the sparse blob B (50 points from each blob,
# while B holds only 20 % of the pool). DAL should mostly query the dense blob A (it matches
# distributions, so density matters), unlike KCenter, which covers space regardless of density.
# The slider sets the number of mini-queries; we measure the share of picks from A and the mean
# distance from each pick to its nearest other pick (larger = less clumped).

# %%
g_idx = torch.Generator().manual_seed(100)
mixed_L = torch.cat([torch.randperm(N_A, generator=g_idx)[:50], N_A + torch.randperm(N_B, generator=g_idx)[:50]])
view_mixed = toy_view(x_toy, mixed_L)
print("mini-query sizes for b =", BUDGET_TOY, "and n = 7:", mini_query_sizes(BUDGET_TOY, 7))

_cache = {}


def dal_on_toy(n_mini):
    if n_mini not in _cache:
        sel = alkit.get_strategy("dal", n_mini_queries=n_mini, **TOY).query(view_mixed, BUDGET_TOY,
                                                                          torch.Generator().manual_seed(0))
        picks = x_toy[sel.indices]
        d = torch.cdist(picks, picks).fill_diagonal_(float("inf"))
        _cache[n_mini] = {"sel": sel, "share_a": 1.0 - float(is_b[sel.indices].float().mean()),
                          "nn_dist": float(d.min(1).values.mean()), "h": sel.extras["h_divergence"]}
    return _cache[n_mini]


kc = alkit.get_strategy("kcenter").query(view_mixed, BUDGET_TOY)
kc_share_a = 1.0 - float(is_b[kc.indices].float().mean())
kc_d = torch.cdist(x_toy[kc.indices], x_toy[kc.indices]).fill_diagonal_(float("inf"))
kc_nn = float(kc_d.min(1).values.mean())


def mini_queries(n_mini=N_MINI):
    one, many = dal_on_toy(1), dal_on_toy(n_mini)
    pts = {"unlabeled": view_mixed.embeddings, "labeled": view_mixed.labeled_embeddings}
    fig = score_map_figure([
        MapPanel(f"DAL, 1 mini-query: {one['share_a']:.0%} from A, NN dist {one['nn_dist']:.3f}",
                 points={**pts, "picked": x_toy[one["sel"].indices]}),
        MapPanel(f"DAL, {n_mini} mini-queries: {many['share_a']:.0%} from A, NN dist {many['nn_dist']:.3f}",
                 points={**pts, "picked": x_toy[many["sel"].indices]}),
        MapPanel(f"KCenter: {kc_share_a:.0%} from A, NN dist {kc_nn:.3f}", points={**pts, "picked": x_toy[kc.indices]}),
    ], EXTENT, panel_size=3.6, suptitle=f"b = {BUDGET_TOY} picks (red stars) on a labeled set that over-represents blob B")
    show(fig)
    return many


shown_mq = interact(mini_queries, n_mini=(1, 20, 1, N_MINI))
one_mq = dal_on_toy(1)
print(f"share from the dense blob A: DAL(1) {one_mq['share_a']:.2f}, DAL({N_MINI}) {shown_mq['share_a']:.2f}, "
      f"KCenter {kc_share_a:.2f}")
print(f"mean nearest-pick distance:  DAL(1) {one_mq['nn_dist']:.3f}, DAL({N_MINI}) {shown_mq['nn_dist']:.3f}, "
      f"KCenter {kc_nn:.3f}")

# %% [markdown]
# With one mini-query the picks pile up in a small patch of blob A; more mini-queries spread them
# over blob A (a larger nearest-pick distance) while still taking most of them from the dense blob.
# KCenter spreads its picks evenly in *space*, so it keeps sampling the sparse blob B.

# %% [markdown]
# ## 3. DAL inside the loop: the proxy H-divergence per mini-query (MNIST-5k)
#
# Now real data: 5,000 MNIST digits shipped with alkit (no download), a LeNet task model, and Ψ = its
# 320-d feature map. `ALRun.step()` runs round 0 (train on 100 random labels), then round 1 queries with
# DAL; the loop stores DAL's internals in `extras`: per mini-query the proxy H-divergence, the epochs
# and whether the 98 % rule fired.

# %%
mnist = alkit.load_dataset("mnist5k", test_size=MNIST_TEST)
cfg = alkit.ALConfig(dataset="mnist5k", strategy="dal", strategy_params=MNIST_DAL, initial=100, query=MNIST_BUDGET,
                     rounds=1, train=MNIST_TRAIN, device="cpu", seed=0)
run = alkit.ALRun(cfg, dataset=mnist)
r0 = run.step()
print(f"round 0: {r0.n_labeled} labels, test accuracy {r0.accuracy:.3f}; pool of {len(mnist.x_train)} digits")

# the view every strategy of section 4 scores: the round-0 model, the same unlabeled pool
STRATS = {
    "dal": alkit.get_strategy("dal", n_mini_queries=1, score_on="pool", max_steps=300),
    "entropy": alkit.get_strategy("entropy"),
    "margin": alkit.get_strategy("margin"),
    "least_conf": alkit.get_strategy("least_conf"),
    "badge": alkit.get_strategy("badge"),
    "kcenter": alkit.get_strategy("kcenter"),
    "random": alkit.get_strategy("random"),
}
view_mnist = run.view_for(*STRATS.values())  # one view holding every field these strategies declare

r1 = run.step()  # round 1: DAL's mini-queries, then label, retrain, evaluate
h_div = r1.extras["h_divergence"]
print(f"round 1: {r1.n_labeled} labels, accuracy {r1.accuracy:.3f}")
print("proxy H-divergence per mini-query:", [round(h, 2) for h in h_div], "| epochs:", r1.extras["epochs"])
fig_h = curves_figure({"proxy H-divergence 2(1 - 2ε) of each mini-query": {"DAL, round 1": h_div}},
                      xlabel="mini-query", hlines={"proxy H-divergence 2(1 - 2ε) of each mini-query": 0.0})
show(fig_h)

# %% [markdown]
# Each mini-query's discriminator faces a labeled set $L'$ that already contains the earlier picks —
# exactly the points that made $L$ and $U$ easy to tell apart — so the divergence it finds should go
# down over the round. Each value is one short, noisy training run (here capped at `max_steps`
# optimiser steps; DAL's code allows up to 1,000 epochs), so the curve need not be monotone. In full mode
# (10 mini-queries, up to 500 steps each) the second half of the values is lower on average than the
# first; in smoke mode (5 mini-queries of at most 100 steps) the discriminators are too short for that
# trend, and the values may even rise.

# %% [markdown]
# ## 4. Ranking against ranking (DAL's Fig. 3)
#
# Two strategies that **order** the pool alike pick alike, whatever their scores mean. We score the same
# unlabeled MNIST pool, with the same round-0 model, by seven strategies and correlate their orders
# with Spearman's ρ (`alkit.experiments.ranking`):
#
# * score strategies rank by their score (entropy, margin, least confidence);
# * batch strategies rank by their **selection order** when asked for the whole pool (KCenter, BADGE,
#   random);
# * DAL ranks by one discriminator's $P(u)$ over the whole pool (`n_mini_queries=1, score_on="pool"`;
#   mini-queries reorder only the top of a batch).

# %%
signals = pool_rankings(view_mnist, STRATS, seed=0)
names, rho = spearman_matrix(signals)
R = {a: {b: float(rho[i, j]) for j, b in enumerate(names)} for i, a in enumerate(names)}
fig_rho = rank_correlation_figure(names, rho, title=f"Spearman ρ between rankings of {view_mnist.n_unlabeled} "
                                                  "unlabeled MNIST digits (one shared model)")
show(fig_rho)
print("DAL vs entropy", round(R["dal"]["entropy"], 3), "| DAL vs kcenter", round(R["dal"]["kcenter"], 3),
      "| BADGE vs entropy", round(R["badge"]["entropy"], 3), "| kcenter vs entropy", round(R["kcenter"]["entropy"], 3),
      "| entropy vs margin", round(R["entropy"]["margin"], 3), "| max |ρ| with random",
      round(max(abs(R["random"][n]) for n in names if n != "random"), 3))

# %% [markdown]
# What the matrix says:
#
# * the three uncertainty scores are almost the same ranking (ρ > 0.9), and BADGE, whose gradient
#   embeddings are scaled by the same uncertainty, is closer to them than DAL or KCenter is;
# * DAL's ranking is only weakly correlated with uncertainty *and* with KCenter (ρ below 0.5): it asks a
#   different question ("what does the labeled set not represent yet?");
# * random is uncorrelated with everything, as it must be — a check on the method.

# %% [markdown]
# ## Exercises
#
# **1.** A labeled-vs-unlabeled discriminator reaches a balanced error of 0.1. What proxy
# H-divergence does DAL store for it?
#
# **2.** Which strategy's ranking of the MNIST pool is most similar to DAL's (largest ρ, DAL itself and
# random excluded)? Answer with its name.
#
# **3.** DAL splits a budget of 53 into 20 mini-queries. How many points does the *last* mini-query take?

# %%
ex1 = exercise("06.1")
answer1 = None  # your code here
ex1.check(answer1)  # stuck? ex1.reveal() prints a worked solution

ex2 = exercise("06.2", R=R)
answer2 = None  # your code here: a strategy name
ex2.check(answer2)

ex3 = exercise("06.3")
answer3 = None  # your code here: an int
ex3.check(answer3)

# %% [markdown]
# ## What this lesson showed (checked)

# %%
# 1. one mini-query by hand is alkit's DAL, and a biased labeled set sends it to the other blob
assert torch.equal(by_hand, sel_lib.indices)
assert abs(d_hat - sel_lib.extras["h_divergence"][0]) < 1e-6
assert abs(d_hat - 2 * pi_b) < 0.15 and not fit.stopped  # the divergence is the unrepresented share
assert share_b_first == 1.0  # "the first 20 picks all come from blob B"
assert float(p_unlabeled(x_toy[is_b]).mean()) > float(p_unlabeled(x_toy[~is_b]).mean())  # B bright, A dark
# 2. DAL prefers the dense blob far more than KCenter; mini-queries spread the picks
assert one_mq["share_a"] >= 0.85 and shown_mq["share_a"] >= 0.85
assert shown_mq["share_a"] - kc_share_a >= 0.2
assert shown_mq["nn_dist"] > one_mq["nn_dist"]
assert 1.0 - kc_share_a > N_B / (N_A + N_B)  # KCenter keeps sampling B, above its 20 % share of the pool
# 3. the loop stored one proxy H-divergence per mini-query, each in [-2, 2]
assert len(h_div) == MNIST_DAL["n_mini_queries"] and all(-2.0 <= h <= 2.0 for h in h_div)
if not SMOKE:  # full mode: the divergence goes down over the round (smoke mode's discriminators are too short)
    assert np.mean(h_div[len(h_div) // 2:]) < np.mean(h_div[: len(h_div) // 2])
# 4. the ranking matrix: uncertainty scores agree, random agrees with nothing, DAL is its own thing
assert np.allclose(np.diag(rho), 1.0) and np.allclose(rho, rho.T)
assert R["entropy"]["margin"] > 0.9 and R["entropy"]["least_conf"] > 0.9
assert all(abs(R["random"][n]) < 0.1 for n in names if n != "random")
assert len(STRATS) == 7 and R["dal"]["entropy"] < 0.5 and R["dal"]["kcenter"] < 0.5  # "only weakly"
assert R["badge"]["entropy"] > max(R["dal"]["entropy"], R["kcenter"]["entropy"])  # BADGE closer to uncertainty
assert R["dal"]["entropy"] > 0.0  # but not unrelated: unrepresented digits are also uncertain ones
