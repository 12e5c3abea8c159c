# %% [markdown]
# # 08 — WAAL: a min–max game, a critic, and the η trade-off
#
# *What you will see:* Wasserstein Adversarial Active Learning (Shui et al. 2020; reference §4.19).
# Theorem 1 (lesson 02) bounds the pool risk by the labeled risk plus a Wasserstein-1 term. Minimising
# that bound gives WAAL both halves of an AL round:
#
# * **training** — a min–max game: the feature extractor $f$ and head $h$ minimise
#   $\mathrm{CE} + \mu\,[\overline{g(f(x_U))} - \gamma\,\overline{g(f(x_L))}]$ while a *critic* $g$ (with a
#   gradient penalty, GP) maximises the bracket: an estimate of $W_1$ between unlabeled and labeled
#   features;
# * **query** — take the $b$ smallest $s(x) = U_\text{mix}(p(x)) - \eta\,g(f(x))$: a small upper bound of
#   the unknown loss (uncertain) **and** a large critic value (unlike the labeled set). η trades the two.
#
# We train the critic alone on a toy to see what the **sign of the gradient penalty** does (the official
# code subtracts it), watch the min–max game inside alkit's loop on real digits, and slide η.
# *Prerequisites:* 02 (Theorem 1), 04 (uncertainty), 06 (DAL's labeled-vs-unlabeled view).
#
# Sign convention (alkit): the critic is trained **high on unlabeled** and low on labeled features.

# %%

import json
from pathlib import Path

import numpy as np
import torch

import alkit
from alkit.data import load_dataset
from alkit.lessons import exercise, interact, pick
from alkit.strategies import top_k
from alkit.strategies.waal import (
    WAALCritic,
    bias_coefficient,
    l1_upper,
    l2_upper,
    single_worst,
    waal_critic_step,
    waal_uncertainty,
)
from alkit.viz.discriminators import curves_figure, show, tradeoff_figure, waal_query_figure

torch.set_num_threads(1)
torch.manual_seed(0)

CRITIC_STEPS = pick(600, 1200)  # critic-only steps on the toy
RECORD = 20  # record the toy critic every this many steps
ROUNDS = pick(1, 3)  # query rounds in the loop (after round 0)
WAAL_EPOCHS = pick(4, 10)  # WAAL epochs per round (each a pass over the unlabeled pool)
# digits' preset optimiser (Adam): with the paper's SGD the critic's step is scaled by μ = 0.01 and it
# barely moves in a CPU-sized round
TRAIN = alkit.TrainConfig(epochs=WAAL_EPOCHS, batch_size=32, lr=2e-3)
B = 20  # the AL batch on digits
ETAS = [0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 35.0, 50.0, 75.0, 100.0]

# %% [markdown]
# ## 1. The uncertainty bounds
#
# The label of a pool point is unknown, so WAAL bounds its cross-entropy $-\log p_y$ for *every* $y$:
# $U_\infty = \max_k(-\log p_k) \le U_2 = \lVert\log p\rVert_2 \le U_1 = \sum_k(-\log p_k)$. All are smallest at
# the uniform prediction, so a **small** bound means an **uncertain** point. alkit's default (the official
# code's) is $U_\text{mix} = 0.5\,U_2 + 0.5\,U_1$.

# %%
p1 = torch.linspace(0.02, 0.98, 49)
probs2 = torch.stack([p1, 1 - p1], 1)
fig_bounds = curves_figure({"bounds of -log p_y for p = (p1, 1 - p1)": {
    "U_inf (single worst)": single_worst(probs2), "U_2 (l2 norm)": l2_upper(probs2), "U_1 (sum)": l1_upper(probs2),
    "0.5 U_2 + 0.5 U_1 (alkit)": waal_uncertainty(probs2), "-log p_1": -p1.log()}},
    xlabel="p1", x={k: p1 for k in ("U_inf (single worst)", "U_2 (l2 norm)", "U_1 (sum)",
                                    "0.5 U_2 + 0.5 U_1 (alkit)", "-log p_1")})
show(fig_bounds)
uniform10 = torch.full((1, 10), 0.1)
confident10 = torch.tensor([[0.99] + [0.01 / 9] * 9])
u_uniform, u_confident = float(waal_uncertainty(uniform10)), float(waal_uncertainty(confident10))
print(f"K = 10: U_mix(uniform) = {u_uniform:.3f}, U_mix(p_max = 0.99) = {u_confident:.2f}")

# %% [markdown]
# Mind the **scale**: for ten classes $U_\text{mix}$ runs from 15.15 (uniform) to 40.8 (99 % sure) and
# beyond, while the sigmoid critic lies in $(0, 1)$, so $\eta g < \eta$. The critic can only reorder
# points whose uncertainty values are within η of each other.

# %% [markdown]
# ## 2. The critic alone, and the sign of the gradient penalty
#
# Freeze the features ($f$ = identity) on two blobs: the labeled set comes from blob A only, the
# unlabeled set is the rest of A plus all of B. Step B of WAAL trains the critic on
#
# $$\mathcal L_B = -\mu\big[\overline{g(z_U)} - \gamma\,\overline{g(z_L)}\big] \;\pm\; \mu\,\lambda_\text{gp}\,
#   \operatorname{mean}_v\big(\lVert\nabla_v g(v)\rVert - 1\big)^2 ,$$
#
# where the GP keeps $g$ close to 1-Lipschitz, so that the bracket estimates $W_1$. alkit adds the penalty
# (`gp_sign="correct"`); the official code and DeepAL+ **subtract** it (`gp_sign="official"`), which
# *rewards* gradient norms far from 1. We run `alkit.strategies.waal.waal_critic_step` for both signs
# (γ = 1, λ_gp = 2, SGD 0.1 / momentum 0.5) and record the critic every 20 steps.

# %%
def blobs(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, 2, generator=g) * 0.5 + torch.tensor([-2.0, 0.0])
    b = torch.randn(n, 2, generator=g) * 0.5 + torch.tensor([2.0, 0.0])
    return a, b


blob_a, blob_b = blobs()
z_l, z_u = blob_a[:40], torch.cat([blob_a[40:], blob_b])
line = torch.stack([torch.linspace(-4, 4, 81), torch.zeros(81)], 1)  # the segment y = 0 through both blobs
t_interp = torch.rand(200, 1, generator=torch.Generator().manual_seed(5))


def probe(critic):
    """Mean g on A and on B, the median gradient norm on A-B interpolates, and g along y = 0."""
    critic.eval()
    v = (blob_a + t_interp * (blob_b - blob_a)).requires_grad_(True)
    grad_norm = torch.autograd.grad(critic(v).sum(), v)[0].norm(dim=1).median()
    with torch.no_grad():
        out = (float(critic(blob_a).mean()), float(critic(blob_b).mean()), float(grad_norm), critic(line))
    critic.train()
    return out


toy = {}
for sign in ("correct", "official"):
    torch.manual_seed(0)
    critic = WAALCritic(2)
    opt = torch.optim.SGD(critic.parameters(), lr=0.1, momentum=0.5)
    gen = torch.Generator().manual_seed(1)
    rec = {"step": [], "gap": [], "grad": [], "gp": [], "slices": {}}
    for step in range(1, CRITIC_STEPS + 1):
        li = torch.randint(0, len(z_l), (64,), generator=gen)
        ui = torch.randint(0, len(z_u), (64,), generator=gen)
        _, gp = waal_critic_step(critic, opt, z_l[li], z_u[ui], mu=1.0, gamma=1.0, gp_weight=2.0, gp_sign=sign)
        if step % RECORD == 0:
            g_a, g_b, grad, g_line = probe(critic)
            rec["step"].append(step)
            rec["gap"].append(g_b - g_a)
            rec["grad"].append(grad)
            rec["gp"].append(float(gp))
            if step in (200, CRITIC_STEPS):
                rec["slices"][step] = g_line
    toy[sign] = rec

steps = {s: toy[s]["step"] for s in toy}
fig_gp = curves_figure({
    "g(B) - g(A)  (the critic's W1 estimate)": {s: toy[s]["gap"] for s in toy},
    "median ||grad g|| on A-B interpolates": {s: toy[s]["grad"] for s in toy},
    "GP term (||grad g|| - 1)^2": {s: toy[s]["gp"] for s in toy},
}, xlabel="critic step", x=steps, hlines={"median ||grad g|| on A-B interpolates": 1.0})
show(fig_gp)
fig_slice = curves_figure({"critic g along y = 0 (blob A at x = -2, B at x = +2)": {
    f"{s}, step {k}": toy[s]["slices"][k] for s in toy for k in sorted(toy[s]["slices"])}},
    xlabel="x", x={f"{s}, step {k}": line[:, 0] for s in toy for k in sorted(toy[s]["slices"])})
show(fig_slice)
for s in toy:
    print(f"{s:9s} at step {CRITIC_STEPS}: g(B) - g(A) = {toy[s]['gap'][-1]:.3f}, "
          f"median gradient norm {toy[s]['grad'][-1]:.4f}, GP {toy[s]['gp'][-1]:.3f}")

# %% [markdown]
# With the **correct** sign the critic becomes a ramp — low over blob A, rising towards blob B — that
# separates the blobs (a gap $g(B)-g(A)$ above 0.2 at the last step, printed above) with moderate gradients
# (a median norm below 1.5). With the **official** sign the penalty is maximised:
# within the first 200 steps the critic saturates into a step function (0 on A, 1 on B, zero gradient
# everywhere — $(0-1)^2 = 1$ is a large "penalty"), and a few hundred steps later it collapses to a
# **constant**: no gradient, no gap, no information. A constant critic makes WAAL's diversity term
# $-\eta g$ the same for every point.

# %% [markdown]
# ## 3. The min–max game inside the loop (digits)
#
# `strategy="waal"` installs a training hook: every round trains $f$, $h$ and a fresh critic together
# (step A updates the features with the critic frozen, step B the critic with the features detached).
# An epoch pairs each unlabeled point with a (re-used) labeled one, so it costs about $N_U/N_L$ ordinary
# epochs. The loop stores the critic's means on $L$ and $U$ after training, and their difference
# `waal_w1`, in each round's `extras`.
#
# ⚠ γ, the weight of the labeled mean, has three conventions (`bias`): the official code's $N_L/N_U$
# (`"ratio"`, alkit's default), DeepAL+'s 1 (`"one"`), and the paper's lost coefficient $C_0$
# (`"theory"`). With 20 labels and 1,300 unlabeled digits, "ratio" gives γ ≈ 0.015: the critic's
# objective is then almost only "be high on $U$", which a critic meets by being high **everywhere**.
# The lesson uses `bias="one"`, where the critic must separate.

# %%
def waal_run(gp_sign):
    cfg = alkit.ALConfig(dataset="digits", strategy="waal", rounds=ROUNDS, seed=0, train=TRAIN, device="cpu",
                         strategy_params={"epochs": WAAL_EPOCHS, "bias": "one", "gp_sign": gp_sign})
    run = alkit.ALRun(cfg)
    run.run()
    return run


runs = {s: waal_run(s) for s in ("correct", "official")}
n_lab = [h.n_labeled for h in runs["correct"].history]
curves = {"mean critic on U and on L": {}, "waal_w1 = mean g(U) - mean g(L)": {},
          "GP term in the last epoch": {}, "test accuracy": {}}
for s, run in runs.items():
    ex = [h.extras for h in run.history]
    curves["mean critic on U and on L"][f"{s}: U"] = [e["waal_critic_mean_unlabeled"] for e in ex]
    curves["mean critic on U and on L"][f"{s}: L"] = [e["waal_critic_mean_labeled"] for e in ex]
    curves["waal_w1 = mean g(U) - mean g(L)"][s] = [e["waal_w1"] for e in ex]
    curves["GP term in the last epoch"][s] = [e["waal_train_gp_last_epoch"] for e in ex]
    curves["test accuracy"][s] = [h.accuracy for h in run.history]
xs = {name: n_lab for panel in curves.values() for name in panel}
fig_loop = curves_figure(curves, xlabel="labeled digits", x=xs, hlines={"waal_w1 = mean g(U) - mean g(L)": 0.0})
show(fig_loop)
for s, run in runs.items():
    last = run.history[-1].extras
    print(f"{s:9s} last round: critic mean on L {last['waal_critic_mean_labeled']:.4f}, on U "
          f"{last['waal_critic_mean_unlabeled']:.4f}, W1 {last['waal_w1']:.4f}, γ = {last['waal_gamma']}, "
          f"GP in the last epoch {last['waal_train_gp_last_epoch']:.3f}")

# %% [markdown]
# The correct-sign critic rates the unlabeled features higher than the labeled ones in every round
# ($W_1 > 0$). The official-sign critic does what its loss asks: it *raises* its gradient penalty. In
# every round its last-epoch GP term is close to 1 — i.e. $\lVert\nabla g\rVert \approx 0$ on the
# interpolates and the features: a flat, saturated critic — and above the correct sign's. How far the
# collapse has gone when a round ends depends on the number of steps (the spread of the official
# critic's values over the pool, printed in section 4, says how far it went in this run), which is itself
# a problem: its $W_1$ estimate and the query's diversity term become accidents of the schedule.

# %% [markdown]
# ## 4. The η trade-off
#
# Take the last model of the correct-sign run: for every unlabeled digit its uncertainty bound $U$ and
# critic value $g$. WAAL's query is the $b$ smallest $U - \eta g$: in the $(U, g)$ plane, the points left
# of (or above) a line of slope $1/\eta$. First, by hand — and checked against alkit's own query at the
# strategy's η:

# %%
run = runs["correct"]
view = run.view_for()  # what the run's next query would see
U = waal_uncertainty(view.probs)
g_crit, fitted = run.strategy.critic_values(view)
y_pool = run.dataset.y_train[view.unlabeled]


def picks(eta, g=g_crit, u=U):
    """Positions of WAAL's b picks for a given η: the smallest U - η g."""
    return top_k(-(u - eta * g), B)


lib = run.strategy.query(view, B)
print(f"critic fitted: {fitted}; η = {run.strategy.eta}: by hand == alkit:",
      torch.equal(view.unlabeled[picks(run.strategy.eta)], lib.indices))

# %%
rows = {"mean U of the picks": [], "mean g of the picks": [], "picks shared with η = 0": [],
        "classes among the picks": []}
base = set(picks(0.0).tolist())
for eta in ETAS:
    pos = picks(eta)
    rows["mean U of the picks"].append(float(U[pos].mean()))
    rows["mean g of the picks"].append(float(g_crit[pos].mean()))
    rows["picks shared with η = 0"].append(len(base & set(pos.tolist())))
    rows["classes among the picks"].append(len(set(y_pool[pos].tolist())))
XLIM = (float(U.min()) - 1.0, float(U.quantile(0.5)))


def eta_tradeoff(eta=5.0):
    pos = picks(eta)
    mask = torch.zeros(len(U), dtype=torch.bool)
    mask[pos] = True
    show(waal_query_figure(U, g_crit, mask, eta, colour=y_pool, colour_label="true class", xlim=XLIM,
                           title=f"η = {eta:g}: {B} picks, mean U {float(U[pos].mean()):.1f}, "
                                 f"mean g {float(g_crit[pos].mean()):.3f}"))
    show(tradeoff_figure(ETAS, rows, marker=eta, title="WAAL's picks as η grows (digits, last round)"))
    return pos


shown_pos = interact(eta_tradeoff, eta=(0.0, 100.0, 1.0, 5.0))
for i, eta in enumerate(ETAS):
    print(f"η = {eta:5.1f}: mean U {rows['mean U of the picks'][i]:6.2f}, mean g {rows['mean g of the picks'][i]:.3f}, "
          f"shared with η = 0: {rows['picks shared with η = 0'][i]:2d}, classes {rows['classes among the picks'][i]}")

# the same sweep on the official-sign critic
view_o = runs["official"].view_for()
U_o = waal_uncertainty(view_o.probs)
g_o, _ = runs["official"].strategy.critic_values(view_o)
official_same = all(torch.equal(picks(eta, g_o, U_o), picks(0.0, g_o, U_o)) for eta in ETAS)
print(f"official-sign critic: spread of g over the pool {float(g_o.max() - g_o.min()):.3f}; "
      f"picks identical for every η: {official_same}")

# %% [markdown]
# As η grows, the picks trade uncertainty for critic value: their mean $U$ rises (less uncertain) and
# their mean $g$ rises (further from the labeled set). Because the score is a sum over points, both
# averages can only go up with η (the greedy top-$b$ is the exact minimiser for every η). At the
# paper's η = 5 the critic only breaks near-ties of $U$ (at most one pick changes, the mean $U$ by less
# than 0.1); on ten classes it takes η of a few tens before the critic moves many picks (at η = 50 at
# least a quarter of them). (Where the official sign has collapsed the critic to a constant, η does
# nothing at all and WAAL degenerates to pure uncertainty sampling; the last line above says whether
# that happened in this run.)

# %% [markdown]
# ## 5. Does the critic find what the labeled set misses? A family of sampling-bias layouts
#
# WAAL's Fig. 1 promise: on a sampling-bias pool (initial labels only at two extremes) its diversity term
# $-\eta g$ steers the query to regions the labeled set does not cover, which pure uncertainty sampling
# never visits (lesson 03). `alkit.data.sampling_bias_layout` builds a family of such pools: a class-0
# cluster at $x=-\text{far}$ and a class-1 cluster at $x=+\text{far}$ hold the initial labels, a class-0
# band may fill the middle, and the **target** — an unexplored cluster — sits elsewhere (a pocket beside
# the band as in `sampling_bias`, at its other end, twice as wide, an island above the band, beyond an
# extreme, filling the gap, small and far). The figure is the **target share**: the fraction of all
# queried points that fall in the target. Random's expected share is the target's share of the pool.
#
# Here: one layout (a class-0 island beyond the class-1 extreme), WAAL with its defaults and Random, through
# the real loop; after every round we probe the critic the next query will use. A second WAAL run swaps the
# critic's ReLU for a LeakyReLU and uses γ = 1 (`critic_activation="leaky_relu", bias="one"`): a critic that
# cannot die and has to separate $L$ from $U$.

# %%
SB_LAYOUT = "island_beyond"
SB_SEEDS = pick([2], [0, 1, 2])
SB_ROUNDS = pick(2, 4)  # query rounds on the 300-point pool, b = 10 (as benchmarks/waal_layouts.py)
SB_B = 10


def sb_run(strategy, seed, **params):
    """Target share of all picks, and per WAAL query: critic spread, the η-gap, picks vs the η = 0 picks."""
    ds = load_dataset("sampling_bias_layout", layout=SB_LAYOUT, n_samples=300, n_test=300, seed=seed)
    target = torch.tensor(ds.info["group_train"]) == ds.info["target_group"]
    cfg = alkit.ALConfig(dataset="sampling_bias", strategy=strategy, strategy_params=params, initial_mode="dataset",
                         query=SB_B, rounds=SB_ROUNDS, device="cpu", seed=seed)
    sb_al = alkit.ALRun(cfg, dataset=ds)
    probes = []
    while not sb_al.done:
        sb_al.step()
        if strategy != "waal" or sb_al.done:
            continue
        v = sb_al.view_for()
        u = waal_uncertainty(v.probs)
        g, _ = sb_al.strategy.critic_values(v)
        t = target[v.unlabeled]
        probes.append({
            "critic spread": float(g.max() - g.min()),
            # how far the most uncertain target point is behind the b-th most uncertain point: the critic
            # term eta * g lies in (0, eta), so no target point can be picked when this exceeds eta
            "U gap": float(u[t].min() - u.sort().values[SB_B - 1]),
            "critic picks target": float(t[top_k(g, SB_B)].float().mean()),
            "target predicted 1": float((v.probs[t].argmax(1) == 1).float().mean()),
            "WAAL picks = eta-0 picks": torch.equal(top_k(-(u - sb_al.strategy.eta * g), SB_B), top_k(-u, SB_B)),
        })
    picks = torch.tensor([i for h in sb_al.history[1:] for i in h.selected])
    return float(target[picks].float().mean()), probes


sb = {name: [sb_run(strategy, s, **params) for s in SB_SEEDS] for name, (strategy, params) in {
    "waal": ("waal", {}), "waal_live": ("waal", {"critic_activation": "leaky_relu", "bias": "one"}),
    "random": ("random", {})}.items()}
for name, sb_rows in sb.items():
    print(f"{name:9s} target share per seed {[round(r[0], 3) for r in sb_rows]}")
    for seed, (_, probes) in zip(SB_SEEDS, sb_rows, strict=True):
        for i, p in enumerate(probes):
            print(f"    seed {seed}, query {i + 1}: " + ", ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in p.items()))

# %% [markdown]
# What the probes show (checked at the end of the lesson):
#
# * **Critic collapse.** With the defaults the critic is dead after training: its spread over the pool is
#   (near) zero. Its hidden ReLUs end negative on every feature — the task model's features grow while it
#   fits ten labels — and once the last unit dies, $g$ is a constant whose gradient, and the gradient
#   penalty's, vanishes: nothing revives it. γ is not the cause: with γ = 1 the ReLU critic dies too
#   (counted over the benchmark's runs below); a LeakyReLU critic stays alive. A constant critic shifts every score alike, so
#   WAAL's picks are exactly the η = 0 picks: **pure uncertainty sampling**, which stays on the boundary
#   between the two labeled extremes and never visits the island.
# * **The η balance.** With a live critic the spread is back, and in some rounds the critic alone would
#   pick the island, yet WAAL still does not: the model predicts the island confidently (as class 1, the
#   side of its nearest labels), so its smallest bound $U$ is more than η = 5 above the $b$-th smallest of
#   the pool, and $\eta g < \eta$ cannot close that gap.
#
# So WAAL finds an unexplored region only when it is also **uncertain** there: when the region straddles
# the current decision boundary. The whole family, five seeds each (three for DAL, `waal_one` and
# `waal_live_eta50`; `python -m benchmarks.waal_layouts`,
# which also runs DAL, KCenter and BADGE and stores every probe; read from its results file when present):

# %%
table_path = Path(alkit.__file__).resolve().parents[1] / "benchmarks" / "results" / "waal_layouts.json"
if table_path.exists():
    table = json.loads(table_path.read_text())["default"]["table"]
    cols = list(dict.fromkeys(n for row in table.values() for n in row))
    print(f"{'layout':14s}" + "".join(f"{n:>17s}" for n in cols))
    for layout, row in table.items():
        print(f"{layout:14s}" + "".join(f"{row[n]['mean']:>10.3f} ±{row[n]['std']:.3f}" if n in row else f"{'':>17s}"
                                        for n in cols))
    waal_wins = sorted(lay for lay, row in table.items() if row["waal"]["mean"] >= row["random"]["mean"])
    eta50_wins = sorted(lay for lay, row in table.items() if row["waal_live_eta50"]["mean"] >= row["random"]["mean"])
    print("layouts where WAAL's mean target share >= Random's:", waal_wins, "| with a live critic and η = 50:",
          eta50_wins)
    runs_ = json.loads(table_path.read_text())["default"]["runs"]
    dead = {v: [p["g_spread"] < 1e-3 for r in runs_ if r["strategy"] == v for p in r.get("probes", [])]
            for v in ("waal", "waal_one", "waal_live", "waal_live_eta50")}
    for v, flags in dead.items():
        print(f"{v:16s} critic dead (spread < 1e-3) in {sum(flags)} of {len(flags)} probed queries")

# %% [markdown]
# Read the table row by row. WAAL (defaults, or with the live critic) reaches Random's share only on
# `pocket_right` and `gap`, the two layouts whose target lies where the first model's boundary is —
# there uncertainty sampling alone finds it. Everywhere else (a pocket away from the boundary, an island
# above the band or beyond an extreme, a small far island) it takes less than Random, on three of the five
# nothing at all. Raising η tenfold with a live critic (`waal_live_eta50`, η = 50) adds the island above
# the band and the small far island, not the pockets nor the island beyond the extreme: the critic does
# not single out the target among the unexplored regions (the band is unexplored too). KCenter
# (coverage) takes at least Random's share on six of the seven layouts, BADGE (gradient embeddings,
# k-means++) on five: their diversity does not have to outbid an unbounded uncertainty term. The honest
# condition for
# WAAL's Fig. 1 promise is therefore: **the unexplored region must also be uncertain for the current
# model** — and with the paper's ReLU critic the diversity term is usually gone altogether.

# %% [markdown]
# ## Exercises
#
# **1.** The paper's bias coefficient in mean form is $C_0 = \frac{N_L(N_U - N_B)}{N_U(N_L + N_B)}$. Compute it for
# $N_L = 1000$, $N_U = 39\,000$, $N_B = 500$ (Fashion-MNIST's first round) with alkit.
#
# **2.** Two unlabeled points, ten classes: *x* has a uniform prediction and critic value 0; *x'* is 99 % sure
# of one class (the rest spread evenly) and has critic value 1. Above which η does WAAL query *x'* first?

# %%
ex1 = exercise("08.1")
answer1 = None  # your code here
ex1.check(answer1)  # stuck? ex1.reveal() prints a worked solution

ex2 = exercise("08.2")
answer2 = None  # your code here
ex2.check(answer2)

# %% [markdown]
# ## What this lesson showed (checked)

# %%
# 1. the bounds: ordered, smallest at the uniform prediction; the scale note
assert (single_worst(probs2) <= l2_upper(probs2) + 1e-5).all() and (l2_upper(probs2) <= l1_upper(probs2) + 1e-5).all()
assert int(waal_uncertainty(probs2).argmin()) == 24 and abs(u_uniform - 15.154) < 1e-3
assert abs(u_confident - 40.8) < 0.05  # "from 15.15 (uniform) to 40.8 (99 % sure)"
assert abs(bias_coefficient("ratio", 20, 1300) - 0.015) < 1e-3  # "ratio" gives γ ≈ 0.015
# 2. toy critic: the correct sign separates the blobs with moderate gradients;
#    the official sign saturates (zero gradients) and ends as a constant
assert toy["correct"]["gap"][-1] > 0.2 and toy["correct"]["grad"][-1] < 1.5
assert toy["official"]["step"][9] == 200  # the first ten records cover steps 20..200
assert max(toy["official"]["gap"][:10]) > 0.9  # the step function, within the first 200 steps
assert toy["official"]["grad"][-1] < 1e-2 and abs(toy["official"]["gap"][-1]) < 0.05  # no gradient, no gap
assert float(toy["official"]["slices"][CRITIC_STEPS].max() - toy["official"]["slices"][CRITIC_STEPS].min()) < 0.05
# 3. in the loop: the correct critic rates U above L; the official critic is (nearly) constant
assert all(h.extras["waal_w1"] > 0 for h in runs["correct"].history)
gp_c = curves["GP term in the last epoch"]["correct"]
gp_o = curves["GP term in the last epoch"]["official"]
assert all(o > c for o, c in zip(gp_o, gp_c, strict=True)) and min(gp_o) > 0.9
# 4. η: by hand == alkit; η = 0 is pure uncertainty; both averages rise with η; the official critic ignores η
assert fitted and torch.equal(view.unlabeled[picks(run.strategy.eta)], lib.indices)
assert torch.equal(picks(0.0), top_k(-U, B))
assert all(np.diff(rows["mean U of the picks"]) >= -1e-4) and all(np.diff(rows["mean g of the picks"]) >= -1e-6)
assert rows["mean g of the picks"][-1] > rows["mean g of the picks"][0]
assert rows["picks shared with η = 0"][0] == B and rows["picks shared with η = 0"][-1] < B
assert torch.equal(shown_pos, picks(5.0))
k5, k50 = ETAS.index(5.0), ETAS.index(50.0)
assert rows["picks shared with η = 0"][k5] >= B - 1  # η = 5: near-ties only
assert abs(rows["mean U of the picks"][k5] - rows["mean U of the picks"][0]) < 0.1
assert rows["picks shared with η = 0"][k50] <= B - B // 4  # η = 50: a quarter of the picks or more move
# 5. sampling-bias layouts: the default critic is dead and WAAL is pure uncertainty sampling, which never
#    picks the island while Random does; a live critic is not enough: where it alone would pick the island,
#    the island's bound U is more than eta above the b-th smallest, and WAAL still takes none of it
waal_probes = [p for _, probes in sb["waal"] for p in probes]
live_probes = [p for _, probes in sb["waal_live"] for p in probes]
assert all(p["critic spread"] < 1e-3 and p["WAAL picks = eta-0 picks"] for p in waal_probes)
assert all(share == 0.0 for share, _ in sb["waal"]) and np.mean([share for share, _ in sb["random"]]) > 0
assert all(p["critic spread"] > 0.1 for p in live_probes)
wanted = [p for p in live_probes if p["critic picks target"] >= 0.5]
assert wanted and all(p["U gap"] > 5.0 for p in wanted)
assert all(share == 0.0 for share, _ in sb["waal_live"])
assert all(p["target predicted 1"] > 0.9 for p in waal_probes + live_probes)
if table_path.exists():  # the table printed above (benchmarks/waal_layouts.py)
    assert waal_wins == ["gap", "pocket_right"]
    cells = {(r["layout"], r["strategy"]) for r in runs_}
    for lay, v in cells:  # "five seeds each (three for DAL, waal_one and waal_live_eta50)"
        k = sum(r["layout"] == lay and r["strategy"] == v for r in runs_)
        assert k == (3 if v in ("dal", "waal_one", "waal_live_eta50") else 5), (lay, v, k)
    assert eta50_wins == ["gap", "island_above", "pocket_right", "small_far"]
    assert sum(dead["waal"]) > len(dead["waal"]) / 2 and sum(dead["waal_one"]) > len(dead["waal_one"]) / 2
    assert not any(dead["waal_live"]) and not any(dead["waal_live_eta50"])
    assert sum(table[lay]["waal"]["mean"] == 0.0 for lay in table if lay not in waal_wins) == 3
    for name, wins in (("kcenter", 6), ("badge", 5)):
        assert sum(row[name]["mean"] >= row["random"]["mean"] for row in table.values()) == wins
    assert all(table[lay]["waal_live"]["mean"] < table[lay]["random"]["mean"] for lay in table if lay not in waal_wins)
