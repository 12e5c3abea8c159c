# %% [markdown]
# # 02 — Bounds
#
# *What you will see:* the two bounds behind the adversarial/discriminative strategies, checked with
# numbers. **WAAL's Theorem 1** bounds the risk on the whole data by the risk on the queried (labeled)
# data plus a Lipschitz constant times $W_1$(data, query): tight for a diverse query, loose for an
# uncertainty-like one (E2). **Corollary 1** adds finite-sample terms; the empirical $W_1$ shrinks like
# $n^{-1/d}$, slowly in high dimension (E3). **Ben-David et al.'s bound**, which motivates DAL, uses an
# H-divergence instead (E4). Finally *theory in the loop*: the measurable bound terms logged per AL round
# for Random, Entropy, WAAL and DAL, next to the true test error. *Prerequisites:* lesson 01.
#
# The reference numbers asserted below come from the reference's `toy_example.py` (§5.4, Appendix A);
# `alkit.theory.bounds` draws its samples in the same order, so the same seeds give the same numbers.

# %%
import dataclasses
import itertools

import numpy as np
import torch
from scipy.stats import spearmanr

import alkit
from alkit.lessons import exercise, interact, pick
from alkit.theory import THEORY_KEYS, bounds, divergence
from alkit.viz import bound_figures as vt

torch.set_num_threads(1)
torch.manual_seed(0)

LAMBDAS = np.linspace(0.0, 4.0, 81)  # the λ grid of Theorem 1 (holds the reference's 0, .25, .5, 1, 2, 4)
ROUNDS = pick(2, 8)  # AL rounds after round 0 in section 4
BUDGET = 20  # items queried per round
TRAIN = alkit.TrainConfig(epochs=pick(3, 10), batch_size=32, min_steps=pick(30, 100), lr=2e-3)
LOOP_STRATEGIES = {
    "random": {},
    "entropy": {},
    "waal": {"epochs": pick(1, 3)},
    "dal": {"n_mini_queries": pick(2, 5), "max_steps": pick(50, 200)},
}

# %% [markdown]
# ## 1. WAAL's Theorem 1
#
# Hypothesis $h:\mathcal X\to[0,1]$ that is $H$-Lipschitz, labelling function $h^\star$, a symmetric
# $L$-Lipschitz loss (here $\ell=|h-y|$, $L=1$). $h^\star$ is *$\phi(\lambda)$-joint probabilistic Lipschitz*
# if for every coupling $\gamma$ of $\mathcal D$ and $\mathcal Q$:
# $\Pr_{(x,x')\sim\gamma}\big[|h^\star(x)-h^\star(x')|>\lambda\|x-x'\|\big]\le\phi(\lambda)$. Then for every $\lambda>0$
# $$R_{\mathcal D}(h)\le R_{\mathcal Q}(h)+L\,(H+\lambda)\,W_1(\mathcal D,\mathcal Q)+L\,\phi(\lambda).$$
# *Proof idea:* couple $x\sim\mathcal D$ with $x'\sim\mathcal Q$ optimally. The loss changes by at most
# $L|h(x)-h(x')|\le LH\|x-x'\|$ through $h$, and by at most $L|h^\star(x)-h^\star(x')|$ through the label; the
# latter is $\le\lambda\|x-x'\|$ except on an event of probability $\le\phi(\lambda)$, where it is $\le1$. Take
# expectations: $\mathbb E\|x-x'\|=W_1$. The argument holds for two **empirical** measures too, with
# $\phi$ measured on their optimal coupling — which is what we compute.
#
# ### The optimal coupling of two point clouds, from scratch
#
# With $n$ points on each side and weights $1/n$, an optimal coupling is a **permutation** (the extreme
# points of the doubly-stochastic matrices). For $n=6$ we can simply try all $6!=720$ of them; the
# library uses the assignment solver `scipy.optimize.linear_sum_assignment` instead.

# %%
small = np.random.default_rng(0)
xa, xb = small.normal(size=(6, 2)), small.normal(size=(6, 2)) + 1.0
cost = np.linalg.norm(xa[:, None, :] - xb[None, :, :], axis=-1)
best_perm = min(itertools.permutations(range(6)), key=lambda p: cost[np.arange(6), list(p)].sum())
w1_by_hand = cost[np.arange(6), list(best_perm)].mean()
plan = divergence.exact_w1(xa, xb)
print(f"by enumeration: W1 = {w1_by_hand:.6f} with {best_perm};  library: {plan.w1:.6f} with {tuple(int(c) for c in plan.cols)}")
assert abs(w1_by_hand - plan.w1) < 1e-12

# %% [markdown]
# ### E2 — Theorem 1 on 2-D Gaussians
#
# $\mathcal D=\mathcal N(0,I_2)$, $h^\star(x)=\mathbf 1[x_1+0.5x_2>0]$, 1 000 points per sample. Three query
# samples: **narrow** (std 0.3 along $x_1$: hugging the boundary like an uncertainty sampler), **shifted**
# ($\mathcal N((1,0.5),0.6^2I)$) and **diverse** (a fresh sample of $\mathcal D$). $h(x)=\sigma(w^\top x+b)$ is
# fitted by logistic regression on the query sample ("fitted", $H=\|w\|/4$), or rescaled to $\|w\|=2$
# ("shrunk", $H=0.5$). The bound is drawn against $\lambda$ (thin lines: the true risk on $\hat{\mathcal D}$).

# %%
x_data, queries = bounds.theorem1_experiment(lambdas=LAMBDAS)
vt.show(vt.theorem1_figure(x_data, queries))
print(f"{'query':8s} {'hypothesis':10s} {'W1':>7s} {'H':>6s} {'R_Q':>7s} {'R_D':>7s} {'best bound':>11s} {'at λ':>5s}")
for name, qb in queries.items():
    for hname, hb in qb.hypotheses.items():
        print(f"{name:8s} {hname:10s} {qb.w1:7.4f} {hb.H:6.3f} {hb.risk_q:7.4f} {hb.risk_d:7.4f} "
              f"{hb.best_bound:11.4f} {LAMBDAS[hb.bounds.argmin()]:5.2f}")

# %% [markdown]
# The bound holds everywhere, but it is only **useful** for the diverse query: its $W_1$ to the data is
# small (0.135), so the Lipschitz term costs little and the best bound (0.344) is close to the true
# risk (0.073). The narrow query's risk is about as small (0.078), but its $W_1$ is four times larger
# and the bound (1.397) says nothing; the shifted query is worse still (1.977). With $\|w\|$ shrunk to 2 the
# Lipschitz term drops and the risks rise — for the diverse query the best bound improves to 0.310
# (true risk 0.224). Here $\phi(0)$ is the fraction of matched pairs with different labels: a coupling
# across the boundary is expensive too.
#
# **Why the best λ is 0 in all six rows.** Raising $\lambda$ removes a matched pair from $\phi$ only once
# $\lambda\|x-x'\|\ge1$, i.e. for pairs at distance $\ge1/\lambda$; by Markov's inequality their share is at most
# $\lambda\,\mathbb E\|x-x'\|=\lambda W_1$ — exactly what the $(H+\lambda)W_1$ term adds. With a 0/1 labelling
# function (any hard decision boundary) and $\phi$ measured on the $W_1$-optimal coupling, $\lambda=0$ is
# therefore **always** optimal, whatever the data. The trade-off the theorem allows pays off only when
# $h^\star$ changes gradually: below, the same samples and couplings with the soft labelling function
# $h^\star_{\rm soft}(x)=\sigma(4(x_1+0.5x_2))$ (Lipschitz constant $4\cdot\|(1,0.5)\|/4\approx1.12$). Now almost every
# pair has a label jump, $\phi(0)\approx1$, and $\phi$ falls to 0 by $\lambda\approx1.12$: the best bound sits
# at an interior $\lambda$.

# %%
def soft_labels(x):
    return 1.0 / (1.0 + np.exp(-4.0 * (x[:, 0] + 0.5 * x[:, 1])))


def soft_query(qb):
    """The same query sample, coupling and hypotheses, with the soft labelling function."""
    plan = divergence.exact_w1(x_data, qb.x_query)  # the W1-optimal coupling (a permutation)
    xd, xq = x_data[plan.rows], qb.x_query[plan.cols]
    dist, jump = np.linalg.norm(xd - xq, axis=1), np.abs(soft_labels(xd) - soft_labels(xq))
    phi = bounds.jpl_phi(jump, dist, LAMBDAS)
    hyps = {}
    for hname, hb in qb.hypotheses.items():
        h = lambda x, hb=hb: 1.0 / (1.0 + np.exp(-(x @ hb.w + hb.b)))  # noqa: E731
        risk_q = float(np.mean(np.abs(h(qb.x_query) - soft_labels(qb.x_query))))
        risk_d = float(np.mean(np.abs(h(x_data) - soft_labels(x_data))))
        hyps[hname] = dataclasses.replace(hb, risk_q=risk_q, risk_d=risk_d,
                                          bounds=bounds.theorem1_bound(risk_q, hb.H, plan.w1, phi, LAMBDAS))
    return dataclasses.replace(qb, w1=plan.w1, phi=phi, distances=dist, label_jump=jump, hypotheses=hyps)


soft_queries = {name: soft_query(qb) for name, qb in queries.items()}
vt.show(vt.theorem1_figure(x_data, soft_queries))
LABELLINGS = {"0/1 (hard)": queries, "soft σ(4·margin)": soft_queries}
for lab, qs in LABELLINGS.items():
    for name, qb in qs.items():
        hb = qb.hypotheses["fitted"]
        print(f"{lab:17s} {name:8s} fitted: phi(0) = {qb.phi[0]:.3f}, best bound {hb.best_bound:.3f} at λ = "
              f"{LAMBDAS[hb.bounds.argmin()]:.2f} (bound at λ = 0: {hb.bounds[0]:.3f}; true risk {hb.risk_d:.3f})")

# %% [markdown]
# Slide $\lambda$ to see the four terms of the bound at once, for either labelling function: with the
# hard one every step of $\lambda$ adds more $\lambda W_1$ than it takes from $\phi$; with the soft one the
# $\phi$ bar shrinks faster than the $\lambda W_1$ bar grows until $\lambda\approx1$.

# %%
def show_terms(lam=0.0, hypothesis="fitted", labelling="0/1 (hard)"):
    qs = LABELLINGS[labelling]
    vt.show(vt.theorem1_terms_figure(qs, lam, hypothesis))
    k = int(np.argmin(np.abs(LAMBDAS - lam)))
    return {name: qb.hypotheses[hypothesis].bounds[k] for name, qb in qs.items()}


bounds_at_default = interact(show_terms, lam=(0.0, 4.0, 0.05, 0.0), hypothesis=["fitted", "shrunk"],
                             labelling=list(LABELLINGS))

# %% [markdown]
# ## 2. Corollary 1: finite samples (E3)
#
# With $N_D$ data and $N_Q$ query points, w.p. $\ge1-\delta$:
# $R_{\mathcal D}(h)\le\hat R_{\mathcal Q}(h)+L(H+\lambda)\,W_1(\hat{\mathcal D},\hat{\mathcal Q})+L\phi(\lambda)+2\mathfrak R_{N_Q}(\ell\circ\mathcal H)+\kappa(\delta,N_D,N_Q)$.
# $\kappa$ collects the confidence terms, among them the convergence of the empirical measures
# (Weed & Bach): $W_1(\mu,\hat\mu_n)\lesssim n^{-1/s}$ for $s$ above the intrinsic dimension — never faster
# than $n^{-1/2}$, and in $d\ge3$ really like $n^{-1/d}$. Below: $W_1$ between two independent $n$-samples of
# $\mathcal N(0,I_d)$ (exact OT in every dimension, mean of 3 repetitions).

# %%
rates = bounds.w1_rates()
vt.show(vt.w1_rates_figure(rates))
for d, r in rates.items():
    print(f"d={d}: W1 at n={r['n'].astype(int).tolist()} -> {np.round(r['w1'], 4).tolist()}, "
          f"log-log slope {r['slope']:+.3f}")

# %% [markdown]
# In 8 dimensions quadrupling the sample shrinks $W_1$ by only 15–16 %: an empirical $W_1$ between a small
# labeled set and the pool is dominated by sample size. This is why WAAL estimates $W_1$ with a critic in
# a learned low-dimensional feature space, and why the per-round $W_1$ in section 4 falls for every
# strategy from round 0 to the last round.
#
# ## 3. Ben-David et al.'s bound (E4)
#
# For a hypothesis class $\mathcal H$ and every $h\in\mathcal H$:
# $\varepsilon_T(h)\le\varepsilon_S(h)+\tfrac12d_{\mathcal H\Delta\mathcal H}(\mathcal D_S,\mathcal D_T)+\lambda^\star$,
# with $\lambda^\star=\min_h(\varepsilon_S(h)+\varepsilon_T(h))$. DAL reads it with source = labeled set and
# target = pool: shrink the divergence between them and the labeled error transfers to the pool. In 1-D
# with thresholds (both orientations, 205 grid points, 410 hypotheses), $\mathcal H\Delta\mathcal H$ is the
# class of intervals and their complements, so $d_{\mathcal H\Delta\mathcal H}$ can be brute-forced. The source
# is a biased labeled sample (300 points from $\mathcal U[0.35,0.75]$ + 100 uniform), the target the pool
# $\mathcal U[0,1]$, labels $\mathbf 1[0.3\le x<0.8]$ — not a threshold, so $\lambda^\star>0$.

# %%
bd = bounds.ben_david_experiment()
vt.show(vt.ben_david_figure(bd))
k_erm = bd.erm
print(f"d_HdH = {bd.d_hdh:.4f}, lambda* = {bd.lambda_star:.4f}")
print(f"ERM on the source: eps_S = {bd.err_source[k_erm]:.4f}, eps_T = {bd.err_target[k_erm]:.4f}, "
      f"bound = {bd.bounds[k_erm]:.4f}; smallest slack over all {len(bd.bounds)} hypotheses = {bd.slack.min():.4f}")

# %% [markdown]
# The bound holds for all 410 hypotheses but is loose (0.778 for a true target error of 0.222): the
# divergence term $\tfrac12d_{\mathcal H\Delta\mathcal H}=0.46$ is the largest of its three terms, because the
# biased source has a large, easily separated bulk.
# And, as lesson 01 showed, an H-divergence saturates — it cannot say *how far* the labeled set is
# from the pool, only how separable it is.
#
# ## 4. Theory in the loop
#
# `ALConfig(theory_terms=True)` makes the loop measure, after every round's training, the observable
# bound terms and store them in the run store (`extras["theory"]`, which the dashboard's Theory page
# reads): the **labeled risk** (training error on $L$), the **test error**, the **proxy H-divergence**
# $2(1-2\varepsilon)$ of a cross-validated L-vs-U domain classifier, and a Sinkhorn estimate of
# **$W_1(L,U)$** — each both in the task model's embedding space (retrained each round, so its scale
# drifts) and in the fixed input space (comparable across rounds and strategies). The unknown constants
# ($H$, $\lambda$, $\phi$, $\lambda^\star$) are not measurable, so we look at how the terms move with the
# true test error rather than at a numeric bound. Digits, 20 seed labels, +20 per round.

# %%
ds = alkit.load_dataset("digits")
store = alkit.RunStore()  # $ALKIT_WORKSPACE or ./alkit-workspace; open the dashboard to browse these runs
terms, accuracy, run_ids = {}, {}, {}
for strategy, params in LOOP_STRATEGIES.items():
    config = alkit.ALConfig(dataset="digits", strategy=strategy, strategy_params=params, initial=20, query=BUDGET,
                            rounds=ROUNDS, seed=0, train=TRAIN, device="cpu", theory_terms=True)
    run = alkit.run_active_learning(config, store=store, dataset=ds)
    run_ids[strategy] = run.run_id
    terms[strategy] = [row["extras"]["theory"] for row in store.get_rounds(run.run_id)]  # read back from the store
    accuracy[strategy] = [h.accuracy for h in run.history]
    print(f"{strategy:8s} run {run.run_id}: accuracy {np.round(accuracy[strategy], 3).tolist()}")
vt.show(vt.theory_terms_figure(terms))
vt.show(vt.terms_vs_error_figure(terms))

# %%
points = [t for per_round in terms.values() for t in per_round]  # every (strategy, round)
errors = [t["test_error"] for t in points]
rho_w1 = spearmanr([t["w1_labeled_unlabeled_input"] for t in points], errors).statistic
rho_h = spearmanr([t["proxy_h_divergence_input"] for t in points], errors).statistic
print(f"Spearman correlation with the test error over all (strategy, round) points: W1(L,U) inputs {rho_w1:+.2f}, "
      f"proxy H inputs {rho_h:+.2f}")
final = {s: {k: per_round[-1][k] for k in ("test_error", "w1_labeled_unlabeled_input", "proxy_h_divergence_input")}
         for s, per_round in terms.items()}
for s, f in final.items():
    print(f"{s:8s} final: " + ", ".join(f"{k} {v:.3f}" for k, v in f.items()))
w1_first_last = {s: (per_round[0]["w1_labeled_unlabeled_input"], per_round[-1]["w1_labeled_unlabeled_input"])
                 for s, per_round in terms.items()}
print("W1(L,U) inputs, round 0 -> last round:", {s: tuple(round(v, 3) for v in fl) for s, fl in w1_first_last.items()})

# %% [markdown]
# **What to look for.** $W_1(L,U)$ is largest at round 0 (20 labels) and smaller at the last round for
# every strategy — the finite-sample effect of E3 dominates $W_1(L,U)$ for small $L$ — so $W_1$ tracks the
# test error across rounds (the positive rank correlation above). At the last round the strategies
# differ: Entropy's and WAAL's labeled sets (WAAL's critic is weakly trained here, so it behaves like
# Entropy) are farther from the pool than Random's, a sample of the pool, and DAL's, which sits within
# 0.05 of Random's: DAL queries what its discriminator calls "unlabeled", the items that make $L$ look
# like $U$, which a random sample already does on average. Do not expect DAL's proxy H-divergence to
# drop towards 0 either: measured by a held-out domain classifier on a few dozen labeled points it is
# noisy, it need not order the strategies as $W_1$ does, and its rank correlation with the test error is
# weaker than $W_1$'s (printed above). A small divergence does not guarantee a
# small error either — the bounds also carry the labeled risk and the unknown constants — and the final
# test errors above order the strategies differently from their final $W_1$: the bounds explain why
# diversity helps, not which strategy wins.

# %% [markdown]
# ## Exercises
#
# **2.1** From the diverse query's coupling (`queries["diverse"].distances` and `.label_jump`), compute
# $\phi(1)$ with `bounds.jpl_phi` and then Theorem 1's bound at $\lambda=1$ for the fitted hypothesis with
# `bounds.theorem1_bound`.
#
# **2.2** In E4, take the hypothesis $\mathbf 1[x\ge t]$ whose threshold is the grid point closest to 0.3.
# Give its target error and its Ben-David bound as a pair `(eps_T, bound)`.

# %%
ex1 = exercise("2.1", diverse=queries["diverse"])
answer1 = None  # your code here
ex1.check(answer1)  # stuck? ex1.reveal() prints a worked solution

# %%
ex2 = exercise("2.2", bd=bd)
answer2 = None  # your code here: a tuple (eps_T, bound)
ex2.check(answer2)

# %% [markdown]
# ## What this lesson showed (checked)

# %%
# E2: the reference numbers (reference §5.4) and the bound holding for every λ and hypothesis
w1s = {n: qb.w1 for n, qb in queries.items()}
best = {n: qb.hypotheses["fitted"].best_bound for n, qb in queries.items()}
risk = {n: qb.hypotheses["fitted"].risk_d for n, qb in queries.items()}
for name, (w1_ref, bound_ref, risk_ref) in {"diverse": (0.135, 0.344, 0.073), "narrow": (0.558, 1.397, 0.078),
                                            "shifted": (1.239, 1.977, 0.130)}.items():
    assert abs(w1s[name] - w1_ref) < 1e-3 and abs(best[name] - bound_ref) < 1e-3 and abs(risk[name] - risk_ref) < 1e-3
shrunk = queries["diverse"].hypotheses["shrunk"]
assert abs(shrunk.best_bound - 0.310) < 1e-3 and abs(shrunk.risk_d - 0.224) < 1e-3
assert all((hb.risk_d <= hb.bounds + 1e-12).all() for qb in queries.values() for hb in qb.hypotheses.values())
assert min(best, key=best.get) == "diverse" and abs(bounds_at_default["diverse"] - best["diverse"]) < 1e-12
assert 3.5 < w1s["narrow"] / w1s["diverse"] < 4.5 and best["shifted"] > best["narrow"]  # "four times", "worse still"
for qb in queries.values():  # shrinking ||w|| lowers H and raises the risk on D
    assert qb.hypotheses["shrunk"].H < qb.hypotheses["fitted"].H
    assert qb.hypotheses["shrunk"].risk_d > qb.hypotheses["fitted"].risk_d
    assert abs(qb.phi[0] - np.mean(qb.label_jump > 0)) < 1e-12  # phi(0): the share of pairs across the boundary
# hard labels: the best λ is 0 in all six cases, as Markov's inequality says (phi(0) - phi(λ) <= λ W1)
for qb in queries.values():
    assert np.all(qb.phi[0] - qb.phi <= LAMBDAS * qb.w1 + 1e-12)
    assert all(hb.bounds.argmin() == 0 for hb in qb.hypotheses.values())
# soft labels: phi(0) near 1, an interior best λ near the Lipschitz constant 1.12, and the bound still holds
lip = 4 * np.hypot(1.0, 0.5) / 4
for qb in soft_queries.values():
    assert qb.phi[0] > 0.95 and np.all(qb.phi[LAMBDAS >= lip] == 0)
    for hb in qb.hypotheses.values():
        assert np.all(hb.risk_d <= hb.bounds + 1e-12) and 0 < LAMBDAS[hb.bounds.argmin()] <= lip
        assert hb.best_bound < hb.bounds[0]
# E3: the rates table and its slopes
assert np.allclose(rates[1]["w1"], [0.164, 0.077, 0.033], atol=1.5e-3)
assert np.allclose(rates[2]["w1"], [0.396, 0.225, 0.117], atol=1.5e-3)
assert np.allclose(rates[8]["w1"], [2.06, 1.74, 1.46], atol=5e-3)
assert rates[1]["slope"] < rates[2]["slope"] < rates[8]["slope"] < -0.1
assert all(0.145 <= 1 - b / a < 0.165 for a, b in zip(rates[8]["w1"], rates[8]["w1"][1:]))  # "by only 15-16 %"
# E4: Ben-David's bound
assert abs(bd.d_hdh - 0.921) < 1e-3 and abs(bd.lambda_star - 0.2625) < 1e-4
assert abs(bd.err_source[k_erm] - 0.055) < 1e-4 and abs(bd.err_target[k_erm] - 0.222) < 1e-3
assert abs(bd.bounds[k_erm] - 0.778) < 1e-3 and len(bd.bounds) == 410 and (bd.slack >= 0).all()
assert abs(0.5 * bd.d_hdh - 0.46) < 5e-3 and 0.5 * bd.d_hdh > max(bd.lambda_star, bd.err_source[k_erm])
# theory in the loop: every round of every strategy stored its terms, consistent with the run
for strategy, per_round in terms.items():
    assert len(per_round) == ROUNDS + 1
    for t, acc in zip(per_round, accuracy[strategy]):
        assert set(THEORY_KEYS) <= set(t) and abs(t["test_error"] - (1 - acc)) < 1e-6
        assert 0 <= t["proxy_h_divergence"] <= 2 and t["w1_labeled_unlabeled_input"] > 0
    assert np.mean([t["labeled_risk"] for t in per_round]) < np.mean([t["test_error"] for t in per_round])
# random's labeled set is a sample of the pool: its W1 to the pool falls as it grows (E3 in the loop)
w1_random = [t["w1_labeled_unlabeled_input"] for t in terms["random"]]
assert w1_random[-1] < w1_random[0]
assert rho_w1 > 0  # across rounds and strategies, W1(L, U) moves with the test error
assert all(last < first for first, last in w1_first_last.values())  # W1 falls from round 0 for every strategy
w1_last = {s: f["w1_labeled_unlabeled_input"] for s, f in final.items()}
assert min(w1_last["entropy"], w1_last["waal"]) > max(w1_last["random"], w1_last["dal"])
assert abs(w1_last["dal"] - w1_last["random"]) < 0.05
assert rho_w1 > abs(rho_h)  # the proxy H-divergence tracks the test error less than W1 does
order = lambda key: sorted(final, key=lambda s: final[s][key])  # noqa: E731
assert order("test_error") != order("w1_labeled_unlabeled_input")
