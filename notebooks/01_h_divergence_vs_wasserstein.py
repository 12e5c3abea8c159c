# %% [markdown]
# # 01 — H-divergence vs Wasserstein
#
# *What you will see:* why WAAL measures the gap between the labeled set and the pool with the
# Wasserstein-1 distance instead of the H-divergence that DAL's theory uses. On WAAL's 1-D toy example
# (reconstructed in the reference, §5.1) two query distributions get **the same H-divergence** from the
# data, although one covers the data much better — and $W_1$ tells them apart. Then a shift slider shows
# the H-divergence **saturating** while $W_1$ keeps growing, and finally the same picture on a real AL
# pool after one round of Entropy, KCenter and WAAL. *Prerequisites:* none (lesson 02 continues with
# the bounds).
#
# **The two divergences.** A threshold classifier $h_t(x)=\mathbf 1[x\ge t]$ says "$x$ comes from the
# query $\mathcal Q$". With equal priors it mis-classifies the mass
# $$A(t)=P_{\mathcal D}(x\ge t)+P_{\mathcal Q}(x<t)=1-F_{\mathcal D}(t)+F_{\mathcal Q}(t),$$
# its best balanced error is $\varepsilon^\star=\tfrac12\min_tA(t)$ and the (one-sided) divergence is
# $d=2(1-2\varepsilon^\star)=2\sup_t\big(F_{\mathcal D}(t)-F_{\mathcal Q}(t)\big)$. Ben-David's definition
# $d_{\mathcal H}=2\sup_h|P_{\mathcal D}(h=1)-P_{\mathcal Q}(h=1)|$ has an absolute value: for thresholds it
# is twice the Kolmogorov–Smirnov distance. Both only look at the **largest** CDF gap. $W_1$ looks at
# **all of it**: $W_1(\mathcal D,\mathcal Q)=\int|F_{\mathcal D}-F_{\mathcal Q}|\,dx=\int_0^1|F^{-1}_{\mathcal D}(u)-F^{-1}_{\mathcal Q}(u)|\,du$.

# %%
import numpy as np
import torch
from scipy.stats import wasserstein_distance

import alkit
from alkit.lessons import exercise, interact, pick
from alkit.theory import divergence, toy
from alkit.viz import bound_figures as vt

torch.set_num_threads(1)
torch.manual_seed(0)

N_GRID = pick(20_001, 200_001)  # thresholds of the brute-force search
N_QUANT = pick(20_000, 200_000)  # quantile points handed to scipy
N_SAMPLE = pick(5_000, 20_000)  # finite samples per distribution
QUERY = pick(40, 100)  # items queried in the one AL round of section 4
TRAIN = alkit.TrainConfig(epochs=pick(5, 20), batch_size=32, min_steps=pick(40, 150), lr=2e-3)
WAAL_EPOCHS = pick(1, 3)  # WAAL's min-max epochs (each pairs every unlabeled item with a labeled one)

D = toy.data_distribution()
B, A = toy.INSTANCES["B"], toy.INSTANCES["A"]
print("instance B:", B, "\n  Q1 =", B.q1, "  Q2 =", B.q2)
print("instance A:", A, "\n  Q1 =", A.q1, "  Q2 =", A.q2)

# %% [markdown]
# ## 1. Instance B: same H-divergence, different coverage
#
# $\mathcal D=\mathcal U[0,1]$, $\mathcal Q_1=\mathcal U[0.4,0.6]$ (one block), $\mathcal Q_2=\mathcal U([0.4,0.5]\cup[0.7,0.8])$
# (the same length split in two, so it spreads over more of the data). Top right: the threshold error
# $A(t)$ of both queries has the same minimum at $t=0.4$ — everything left of 0.4 is data only, and that
# empty stretch is all a threshold can exploit. Bottom: the shaded area between the CDFs is $W_1$; it is
# smaller for the spread-out $\mathcal Q_2$.

# %%
fig_B = vt.toy_instance_figure(B, "B")
vt.show(fig_B)
cf_B = B.closed_forms()
for k, v in cf_B.items():
    print(f"{k:14s} {v:.5f}")

# %% [markdown]
# ### Derived once, from scratch
#
# The closed forms of reference §5.1 for $\mathcal Q_1=\mathcal U[a,a+w]$: $F_{\mathcal Q_1}(x)=\mathrm{clip}((x-a)/w,0,1)$,
# so $A(t)$ is minimal at $t=a$ and $d=2a$; its quantile function is $a+wu$, so
# $W_1=\int_0^1|(1-w)u-a|\,du=\frac{1-w}2-a+\frac{a^2}{1-w}$. Here we evaluate both by hand with numpy
# on a grid and check them against the library (`alkit.theory.toy`), which is what the rest of the
# lesson uses.

# %%
a, w = B.a, B.w
t = np.linspace(0.0, 1.0, N_GRID)
F_D = t
F_Q1 = np.clip((t - a) / w, 0.0, 1.0)
A_t = 1.0 - F_D + F_Q1  # mis-classified mass of h_t
d_by_hand = 2.0 * (1.0 - A_t.min())
u = (np.arange(N_QUANT) + 0.5) / N_QUANT
w1_by_hand = np.mean(np.abs(u - (a + w * u)))  # midpoint rule on the quantile integral
print(f"by hand: d = {d_by_hand:.5f}, W1 = {w1_by_hand:.6f}")
print(f"library: d = {toy.one_sided_divergence(D, B.q1):.5f}, W1 = {toy.wasserstein1(D, B.q1):.6f}")
assert abs(d_by_hand - toy.one_sided_divergence(D, B.q1)) < 1e-9
assert abs(w1_by_hand - toy.w1_q1_closed_form(a, w)) < 1e-6

# %% [markdown]
# ### Four routes to the same numbers
#
# For both instances and both queries: the closed forms, the exact piecewise-linear evaluation, a brute
# force search over thresholds with trapezoid quadrature of $\int|F_{\mathcal D}-F_{\mathcal Q}|$,
# `scipy.stats.wasserstein_distance` on deterministic quantile points, and finite samples (an empirical
# threshold classifier and the empirical $W_1$; these agree up to sampling error).

# %%
rng = np.random.default_rng(0)
rows = []
for name, inst in (("A", A), ("B", B)):
    cf = inst.closed_forms()
    for key, q in (("q1", inst.q1), ("q2", inst.q2)):
        bf = toy.threshold_search(q, n_grid=N_GRID)
        smp = toy.sample_divergences(q, N_SAMPLE, rng)
        row = {
            "case": f"{name}/{key}",
            "d one-sided": (cf[f"one_sided_{key}"], toy.one_sided_divergence(D, q), bf["one_sided"], smp["one_sided"]),
            "d = 2KS": (cf[f"ks_{key}"], toy.ks_divergence(D, q), bf["ks"], smp["ks"]),
            "W1": (cf[f"w1_{key}"], toy.wasserstein1(D, q), toy.w1_quadrature(q, n_grid=N_GRID),
                   toy.w1_scipy(q, n=N_QUANT), smp["w1"]),
        }
        rows.append(row)
        for label in ("d one-sided", "d = 2KS"):
            closed, exact, brute, _ = row[label]
            assert abs(closed - exact) < 1e-9 and abs(closed - brute) < 1e-6, (name, key, label)
        closed, exact, quad, sci, _ = row["W1"]
        assert abs(closed - exact) < 1e-9 and abs(closed - quad) < 1e-6 and abs(closed - sci) < 1e-6, (name, key)
print(f"{'case':6s} | {'d one-sided: closed exact brute sample':40s} | {'2KS: closed exact brute sample':34s} | "
      "W1: closed exact quad scipy sample")
for r in rows:
    fmt = lambda v: " ".join(f"{x:.4f}" for x in v)  # noqa: E731
    print(f"{r['case']:6s} | {fmt(r['d one-sided']):40s} | {fmt(r['d = 2KS']):34s} | {fmt(r['W1'])}")

# %% [markdown]
# ## 2. Instance A, and why the definition matters
#
# The appendix of WAAL distinguishes 3 threshold regions for $\mathcal Q_1$ and 5 for $\mathcal Q_2$, and
# starts both $W_1$ integrals at the same point $a$; the reconstruction with that structure is instance A:
# $\mathcal Q_1=\mathcal U[0.1,0.5]$, $\mathcal Q_2=\mathcal U([0.1,0.3]\cup[0.6,0.8])$. The **one-sided**
# divergence is 0.2 for both — but with Ben-David's absolute value the classifier may also say "Q" for
# $x<t$, and $\mathcal Q_1$ leaves $[0.5,1]$ empty: $2\,\mathrm{KS}=1.0$ for $\mathcal Q_1$ against $0.4$ for
# $\mathcal Q_2$. So instance A shows the phenomenon only for the one-sided class; instance B shows it
# for both definitions, which is why we started there.

# %%
vt.show(vt.toy_instance_figure(A, "A"))
cf_A = A.closed_forms()
print({k: round(v, 5) for k, v in cf_A.items()})

# %% [markdown]
# Moving the second half of $\mathcal Q_2$ (its start $c$) in instance A's family: the one-sided divergence
# stays at $2a$ until $c=a+\tfrac12$ (the empty stretch $[0,a)$ is the largest gap until then), while
# $W_1$ changes with every position. It is smallest at $c=\tfrac34-\tfrac w4=0.65$: there the middle of the
# second block (its quantile $u=\tfrac34$) sits on the data's $\tfrac34$-quantile, the median of the upper
# half it is matched with.

# %%
C_GRID = np.linspace(A.a + A.w / 2, 1 - A.w / 2, 61)
vt.show(vt.c_sweep_figure(A.a, A.w, C_GRID))
one_c = np.array([toy.one_sided_divergence(D, toy.query_two_intervals(A.a, A.w, c)) for c in C_GRID])
w1_c = np.array([toy.wasserstein1(D, toy.query_two_intervals(A.a, A.w, c)) for c in C_GRID])
flat = C_GRID <= A.a + 0.5 + 1e-12
c_best = float(C_GRID[w1_c.argmin()])
print(f"one-sided d over c <= a + 1/2: min {one_c[flat].min():.4f}, max {one_c[flat].max():.4f};  "
      f"W1 ranges over [{w1_c.min():.4f}, {w1_c.max():.4f}], smallest at c = {c_best:.3f}")

# %% [markdown]
# ## 3. Saturation: a shift slider
#
# Slide a query away from the data. As soon as the supports stop overlapping, one threshold separates
# them perfectly: both H-divergences are stuck at their maximum 2, whatever the distance. $W_1$ keeps
# measuring **how far** the query is — the property WAAL's critic (a 1-Lipschitz function, Kantorovich
# duality) exploits to give the query a useful gradient even when the two sets are far apart.

# %%
SHIFTS = np.linspace(0.0, 2.0, 81)
SHIFT_QUERIES = {"copy of D": D, "Q1 of B": B.q1, "Q2 of B": B.q2}


def show_shift(shift=0.5, query="copy of D"):
    q = SHIFT_QUERIES[query]
    sweep = toy.shift_sweep(q, SHIFTS)
    vt.show(vt.shift_figure(q, shift, sweep))
    moved = q.shifted(shift)
    values = {"ks": toy.ks_divergence(D, moved), "one_sided": toy.one_sided_divergence(D, moved),
              "w1": toy.wasserstein1(D, moved)}
    print(f"shift {shift:.2f}: 2KS = {values['ks']:.3f}, one-sided d = {values['one_sided']:.3f}, "
          f"W1 = {values['w1']:.3f}")
    return sweep


shift_sweep = interact(show_shift, shift=(0.0, 2.0, 0.05, 0.5), query=list(SHIFT_QUERIES))

# %% [markdown]
# ## 4. The same picture on an AL pool
#
# Now the "query distribution" is the **labeled set** $L$ after one AL round and the "data" is the
# remaining **unlabeled pool** $U$ (digits, 64 pixel features; 20 random seed labels, then one query).
# The pool lives in 64 dimensions, so for the pictures we project every item on the first principal
# component of the pool (a fixed direction, the same for every strategy) and redraw the CDFs, the shaded
# $W_1$ area and the threshold error $A(t)$ in both orientations. The table adds two numbers measured in
# the full 64-d input space with `alkit.theory.divergence`: the proxy H-divergence of a cross-validated
# L-vs-U logistic-regression domain classifier, and a Sinkhorn estimate of $W_1(L,U)$.

# %%
ds = alkit.load_dataset("digits")
x_pool = ds.x_train.double()
center = x_pool - x_pool.mean(0)
_, _, v_t = torch.linalg.svd(center, full_matrices=False)
pcs = (center @ v_t[:2].T).numpy()  # (N, 2): PCA coordinates of the pool
STRATEGIES = {"random": {}, "entropy": {}, "kcenter": {}, "waal": {"epochs": WAAL_EPOCHS}}

panels, pool_numbers = {}, {}
for strategy, params in STRATEGIES.items():
    config = alkit.ALConfig(dataset="digits", strategy=strategy, strategy_params=params, initial=20, query=QUERY,
                            rounds=1, seed=0, train=TRAIN, device="cpu")
    run = alkit.ALRun(config, dataset=ds)
    history = run.run()
    lab, unl = run.labeled_indices(), run.unlabeled_indices()
    gen = torch.Generator().manual_seed(0)
    z_l, z_u = pcs[lab.numpy(), 0], pcs[unl.numpy(), 0]
    numbers = {
        "accuracy": history[-1].accuracy,
        "2KS (PC 1)": 2 * divergence.ks_1d(z_l, z_u),
        "W1 (PC 1)": divergence.w1_1d(z_l, z_u),
        "proxy H (64-d)": divergence.domain_classifier_divergence(x_pool[lab], x_pool[unl], generator=gen).divergence,
        "W1 (64-d)": divergence.w1_estimate(x_pool[lab], x_pool[unl], method="sinkhorn", max_points=600,
                                           generator=gen)[0],
    }
    pool_numbers[strategy] = numbers
    panels[strategy] = {"xy_labeled": pcs[lab.numpy()], "xy_unlabeled": pcs[unl.numpy()], "z_labeled": z_l,
                        "z_unlabeled": z_u,
                        "title": f"2KS = {numbers['2KS (PC 1)']:.2f}, W1 = {numbers['W1 (PC 1)']:.3f} (PC 1)"}
vt.show(vt.labeled_vs_unlabeled_figure(panels))
print(f"{'strategy':9s} " + " ".join(f"{k:>15s}" for k in next(iter(pool_numbers.values()))))
for strategy, numbers in pool_numbers.items():
    print(f"{strategy:9s} " + " ".join(f"{v:15.3f}" for v in numbers.values()))

# %% [markdown]
# **Reading the table.** Entropy queries the items the model is least sure about; they cluster between
# classes, so its labeled set is easy to tell apart from the pool (a larger proxy H-divergence) and far
# from it in $W_1$. KCenter covers the pool (it adds the point farthest from everything labeled), so its
# labeled set sits close to the pool in $W_1$, like a random sample. WAAL mixes uncertainty with its
# critic's "looks unlabeled" score; with a critic trained for only a few epochs on 20 labels the
# uncertainty part dominates and its labeled set looks like Entropy's. Note how the H-divergence only
# reports the single best separating direction, while $W_1$ sums up every mismatch — which is the point
# of section 1.

# %% [markdown]
# ## Exercises
#
# **1.1** Compute $W_1(\mathcal D,\mathcal Q_2)$ for instance A's family with $c=0.7$ (instead of 0.6)
# with the library's exact routine (or by integrating the quantile functions yourself).
#
# **1.2** For instance A's family ($a=0.1$, $w=0.4$), find (to $10^{-3}$) the largest $c$ for which the
# one-sided divergences of $\mathcal Q_1$ and $\mathcal Q_2$ are still equal. Search numerically.
#
# **1.3** Slide instance B's $\mathcal Q_2$ to the right: from which shift on is $2\,\mathrm{KS}=2$ (the
# divergence saturated)? What is $W_1$ there?

# %% [markdown]
# Each checker compares your answer with a reference computed inside `alkit.lessons` and, when it is
# off, says what is off (a sign, a factor, the wrong query ...) without printing the answer.
# `ex1.reveal()` prints a worked solution when you are stuck.

# %%
ex1 = exercise("1.1")
answer1 = None  # your code here
ex1.check(answer1)

# %%
ex2 = exercise("1.2")
answer2 = None  # your code here
ex2.check(answer2)

# %%
ex3 = exercise("1.3")
answer3 = None  # your code here: a tuple (shift, W1)
ex3.check(answer3)

# %% [markdown]
# ## What this lesson showed (checked)

# %%
# 1. instance B: equal H-divergences under both definitions, W1 prefers the spread-out query
assert abs(cf_B["one_sided_q1"] - 0.8) < 1e-12 and abs(cf_B["one_sided_q2"] - 0.8) < 1e-12
x_t = np.linspace(0.0, 1.0, 10_001)  # both threshold errors are smallest at t = 0.4
assert all(abs(x_t[np.argmin(toy.threshold_error(x_t, q))] - 0.4) < 1e-3 for q in (B.q1, B.q2))
# the figure's max-gap bars: each label's KS equals the bar's length, and 2·KS the divergence
for ax, key in zip(fig_B.axes[2:], ("q1", "q2")):
    bar = next(c for c in ax.collections if c.get_label().startswith("max gap"))
    (x0, y0), (x1, y1) = bar.get_segments()[0]
    assert abs(abs(y1 - y0) - cf_B["ks_" + key] / 2) < 1e-3, (key, abs(y1 - y0))
    assert f"KS = {cf_B['ks_' + key] / 2:.2f}" in bar.get_label() and f"= {cf_B['ks_' + key]:.2f}" in bar.get_label()
assert abs(cf_B["ks_q1"] - cf_B["ks_q2"]) < 1e-12
assert abs(cf_B["w1_q1"] - 0.20) < 1e-12 and abs(cf_B["w1_q2"] - 0.15) < 1e-12
# 2. instance A: equal only for the one-sided class; the reference numbers 13/60 and 1/12
assert abs(cf_A["one_sided_q1"] - cf_A["one_sided_q2"]) < 1e-12 and abs(cf_A["one_sided_q1"] - 0.2) < 1e-12
assert abs(cf_A["ks_q1"] - 1.0) < 1e-12 and abs(cf_A["ks_q2"] - 0.4) < 1e-12
assert abs(cf_A["w1_q1"] - 13 / 60) < 1e-12 and abs(cf_A["w1_q2"] - 1 / 12) < 1e-12
# closed forms == brute force == scipy (checked per row above); samples agree within sampling error
for r in rows:
    assert abs(r["W1"][0] - r["W1"][4]) < 0.02 and abs(r["d = 2KS"][0] - r["d = 2KS"][3]) < 0.05
assert abs(w1_by_hand - wasserstein_distance(u, B.q1.quantile(u))) < 1e-9
# the c sweep: flat one-sided divergence up to c = a + 1/2, W1 not flat
assert np.allclose(one_c[flat], 2 * A.a) and w1_c.max() - w1_c.min() > 0.05
assert abs(c_best - (0.75 - A.w / 4)) < 1e-9 and abs(c_best - 0.65) < 1e-9
# 3. saturation: 2KS stuck at 2 once the supports separate, W1 growing linearly
sat = shift_sweep["shift"] >= 1.0
assert np.allclose(shift_sweep["ks"][sat], 2.0) and np.all(np.diff(shift_sweep["w1"][sat]) > 0)
assert np.allclose(shift_sweep["one_sided"][sat], 2.0)  # both H-divergences stuck at 2
assert np.allclose(shift_sweep["w1"], shift_sweep["shift"])  # the default query is a copy of D
# 4. the AL pool: entropy's labeled set is farther from the pool than KCenter's and random's
nums = pool_numbers
assert nums["entropy"]["W1 (64-d)"] > nums["kcenter"]["W1 (64-d)"]
assert nums["entropy"]["W1 (64-d)"] > nums["random"]["W1 (64-d)"]
assert nums["entropy"]["proxy H (64-d)"] > nums["random"]["proxy H (64-d)"]
# KCenter's labeled set sits close to the pool in W1, like a random sample (nearer random's than entropy's)
assert abs(nums["kcenter"]["W1 (64-d)"] - nums["random"]["W1 (64-d)"]) < abs(
    nums["kcenter"]["W1 (64-d)"] - nums["entropy"]["W1 (64-d)"])
# WAAL's labeled set looks like Entropy's: nearer entropy's than random's, in W1 and in proxy H
for key in ("W1 (64-d)", "proxy H (64-d)"):
    assert abs(nums["waal"][key] - nums["entropy"][key]) < abs(nums["waal"][key] - nums["random"][key]), key
assert all(0.0 <= n["proxy H (64-d)"] <= 2.0 and 0.0 <= n["2KS (PC 1)"] <= 2.0 for n in nums.values())
