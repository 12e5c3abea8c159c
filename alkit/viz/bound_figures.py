"""Matplotlib figures of the theory lessons (notebooks 01 and 02): divergences, bounds, terms per AL round.

Every builder takes results computed by :mod:`alkit.theory` (it computes nothing the library does not
already provide) and returns a :class:`matplotlib.figure.Figure`. matplotlib is imported lazily (it is
part of the ``notebooks`` extra).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alkit.viz.mpl import show  # noqa: F401  (re-exported: lessons call <module>.show)

__all__ = [
    "ben_david_figure",
    "c_sweep_figure",
    "labeled_vs_unlabeled_figure",
    "shift_figure",
    "show",
    "terms_vs_error_figure",
    "theorem1_terms_figure",
    "theorem1_figure",
    "theory_terms_figure",
    "toy_instance_figure",
    "w1_rates_figure",
]

_COLORS = {"data": "0.35", "q1": "#d62728", "q2": "#1f77b4", "labeled": "#d62728", "unlabeled": "0.45"}
_STRATEGY_COLORS = ["#000000", "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _plt() -> Any:
    import matplotlib.pyplot as plt

    return plt


def _step_density(ax: Any, dist: Any, xs: np.ndarray, color: str, label: str, offset: float = 0.0) -> None:
    ax.fill_between(xs, offset + dist.pdf(xs), offset, step=None, color=color, alpha=0.25, lw=0)
    ax.plot(xs, offset + dist.pdf(xs), color=color, lw=1.8, label=label)


def toy_instance_figure(instance: Any, name: str = "", n_grid: int = 2001) -> Any:
    r"""Four panels of one toy instance (reference §5.1): densities, :math:`A(t)`, and the two CDF pictures.

    The CDF panels shade :math:`|F_{\mathcal D} - F_{\mathcal Q}|`, whose area is :math:`W_1`; the
    :math:`A(t)` panel marks each query's best threshold (its minimum gives the one-sided divergence).

    Parameters
    ----------
    instance : alkit.theory.toy.ToyInstance
    """
    from alkit.theory import toy

    plt = _plt()
    d = toy.data_distribution()
    qs = {"q1": instance.q1, "q2": instance.q2}
    cf = instance.closed_forms()
    x = np.linspace(-0.05, 1.05, n_grid)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    ax = axes[0, 0]
    _step_density(ax, d, x, _COLORS["data"], r"$\mathcal{D}=\mathcal{U}[0,1]$")
    for key, q in qs.items():
        _step_density(ax, q, x, _COLORS[key], rf"$\mathcal{{Q}}_{key[1]}$ = {q}")
    ax.set(title=f"Instance {name}: densities", xlabel="x", ylabel="density")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[0, 1]
    for key, q in qs.items():
        err = toy.threshold_error(x, q)
        k = int(np.argmin(err))
        ax.plot(x, err, color=_COLORS[key], lw=1.8,
                label=rf"$A(t)$ for $\mathcal{{Q}}_{key[1]}$: min {err[k]:.3f} → $d$={cf['one_sided_' + key]:.2f}")
        ax.plot([x[k]], [err[k]], "o", color=_COLORS[key])
    ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set(title=r"threshold error $A(t)=P_\mathcal{D}(x\geq t)+P_\mathcal{Q}(x<t)$", xlabel="threshold t",
           ylabel="mis-classified mass")
    ax.legend(fontsize=8)
    for ax, (key, q) in zip(axes[1], qs.items()):
        fd, fq = d.cdf(x), q.cdf(x)
        ax.plot(x, fd, color=_COLORS["data"], lw=1.8, label=r"$F_\mathcal{D}$")
        ax.plot(x, fq, color=_COLORS[key], lw=1.8, label=rf"$F_{{\mathcal{{Q}}_{key[1]}}}$")
        ax.fill_between(x, fd, fq, color=_COLORS[key], alpha=0.2,
                        label=rf"area = $W_1$ = {cf['w1_' + key]:.4f}")
        gap = np.abs(fd - fq)
        k = int(np.argmax(gap))
        ax.vlines(x[k], min(fd[k], fq[k]), max(fd[k], fq[k]), color="k", lw=2,
                  label=rf"max gap KS = {cf['ks_' + key] / 2:.2f} ($d_\mathcal{{H}}$ = 2·KS = {cf['ks_' + key]:.2f})")
        ax.set(title=rf"CDFs, $\mathcal{{Q}}_{key[1]}$", xlabel="x", ylabel="CDF")
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def shift_figure(q: Any, shift: float, sweep: Mapping[str, np.ndarray], p: Any = None) -> Any:
    r"""Left: :math:`\mathcal D` and the query translated by ``shift``; right: both H-divergences and
    :math:`W_1` against the shift (``sweep`` from :func:`alkit.theory.toy.shift_sweep`), the current
    shift marked."""
    from alkit.theory import toy

    plt = _plt()
    p = toy.data_distribution() if p is None else p
    moved = q.shifted(shift)
    lo = min(p.support[0], q.support[0]) - 0.1
    hi = max(p.support[1], q.support[1] + float(np.max(sweep["shift"]))) + 0.1
    x = np.linspace(lo, hi, 2001)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 3.8))
    _step_density(a0, p, x, _COLORS["data"], f"data {p}")
    _step_density(a0, moved, x, _COLORS["q2"], f"query {moved}")
    a0.set(title=f"shift = {shift:.2f}", xlabel="x", ylabel="density")
    a0.legend(fontsize=8)
    s = sweep["shift"]
    a1.plot(s, sweep["ks"], color="#2ca02c", lw=2, label=r"$d_\mathcal{H}$ = 2·KS (Ben-David)")
    a1.plot(s, sweep["one_sided"], color="#9467bd", lw=1.5, ls="--", label=r"$d_\mathcal{H}$ one-sided")
    a1.plot(s, sweep["w1"], color=_COLORS["q2"], lw=2, label=r"$W_1$")
    a1.axvline(shift, color="k", lw=0.8, ls=":")
    a1.axhline(2.0, color="0.6", lw=0.8, ls=":")
    a1.set(title="H-divergence saturates at 2, W1 keeps growing", xlabel="shift", ylabel="value")
    a1.legend(fontsize=8)
    fig.tight_layout()
    return fig


def c_sweep_figure(a: float, w: float, cs: Sequence[float]) -> Any:
    r"""Instance A's family with the second interval's start ``c`` swept: both divergences and
    :math:`W_1` between :math:`\mathcal D` and :math:`\mathcal Q_2`, with :math:`\mathcal Q_1`'s values dashed."""
    from alkit.theory import toy

    plt = _plt()
    cs = np.asarray(cs, dtype=float)
    one = [toy.one_sided_divergence_q2_closed_form(a, w, c) for c in cs]
    ks = [toy.ks_divergence_q2_closed_form(a, w, c) for c in cs]
    w1 = [toy.w1_q2_closed_form(a, w, c) for c in cs]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(cs, one, color="#9467bd", lw=2, label=r"$d$ one-sided, $\mathcal{Q}_2$")
    ax.plot(cs, ks, color="#2ca02c", lw=2, label=r"$d$ = 2·KS, $\mathcal{Q}_2$")
    ax.plot(cs, w1, color=_COLORS["q2"], lw=2, label=r"$W_1$, $\mathcal{Q}_2$")
    ax.axhline(toy.one_sided_divergence_q1_closed_form(a, w), color="#9467bd", ls=":", lw=1,
               label=r"$d$ one-sided, $\mathcal{Q}_1$")
    ax.axhline(toy.w1_q1_closed_form(a, w), color=_COLORS["q2"], ls=":", lw=1, label=r"$W_1$, $\mathcal{Q}_1$")
    ax.axvline(a + 0.5, color="k", lw=0.8, ls="--")
    ax.text(a + 0.5, 0.02, "  c = a + 1/2", fontsize=8, va="bottom", transform=ax.get_xaxis_transform())
    ax.set(title=f"a = {a}, w = {w}: moving the second half of the query", xlabel="c", ylabel="value")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def labeled_vs_unlabeled_figure(panels: Mapping[str, Mapping[str, Any]]) -> Any:
    r"""One row per strategy: the pool in 2-D (labeled items on top), the 1-D CDFs of labeled and
    unlabeled items along a fixed projection with the area between them shaded, and the threshold error.

    Parameters
    ----------
    panels : dict strategy -> dict
        ``xy_labeled`` (n_L, 2), ``xy_unlabeled`` (n_U, 2): 2-D coordinates; ``z_labeled`` (n_L,),
        ``z_unlabeled`` (n_U,): the 1-D projection; optional ``title`` (a string with the numbers).
    """
    plt = _plt()
    rows = len(panels)
    fig, axes = plt.subplots(rows, 3, figsize=(13, 3.4 * rows), squeeze=False)
    for ax_row, (name, pnl) in zip(axes, panels.items()):
        xl, xu = np.asarray(pnl["xy_labeled"]), np.asarray(pnl["xy_unlabeled"])
        ax_row[0].scatter(xu[:, 0], xu[:, 1], s=4, color=_COLORS["unlabeled"], alpha=0.35, label="unlabeled")
        ax_row[0].scatter(xl[:, 0], xl[:, 1], s=14, color=_COLORS["labeled"], label="labeled")
        ax_row[0].set(title=f"{name}: pool (PCA of the inputs)", xlabel="PC 1", ylabel="PC 2")
        ax_row[0].legend(fontsize=7, loc="upper right")
        zl, zu = np.sort(np.asarray(pnl["z_labeled"])), np.sort(np.asarray(pnl["z_unlabeled"]))
        z = np.sort(np.concatenate([zl, zu]))
        fl = np.searchsorted(zl, z, side="right") / len(zl)
        fu = np.searchsorted(zu, z, side="right") / len(zu)
        ax_row[1].step(z, fu, where="post", color=_COLORS["unlabeled"], label=r"$F_U$")
        ax_row[1].step(z, fl, where="post", color=_COLORS["labeled"], label=r"$F_L$")
        ax_row[1].fill_between(z, fl, fu, step="post", color=_COLORS["labeled"], alpha=0.2, label=r"area = $W_1$ (1-D)")
        ax_row[1].set(title="CDFs along PC 1", xlabel="PC 1", ylabel="CDF")
        ax_row[1].legend(fontsize=7, loc="upper left")
        # threshold error, "labeled" = at or above t, both orientations
        up = 1.0 - fu + fl  # A(t) = P_U(x >= t) + P_L(x < t): "labeled" when x >= t
        ax_row[2].plot(z, up, color="#9467bd", lw=1.5, label=r"$A(t)$, $L$ above $t$")
        ax_row[2].plot(z, 2.0 - up, color="#2ca02c", lw=1.5, label=r"$A(t)$, $L$ below $t$")
        ax_row[2].axhline(1.0, color="0.6", ls=":", lw=0.8)
        ax_row[2].set(title=pnl.get("title", "threshold error along PC 1"), xlabel="threshold t",
                      ylabel="mis-classified mass")
        ax_row[2].legend(fontsize=7)
    fig.tight_layout()
    return fig


def theorem1_figure(x_data: np.ndarray, queries: Mapping[str, Any], lambdas: np.ndarray | None = None) -> Any:
    r"""E2: the samples with the boundary :math:`x_1 + 0.5x_2 = 0`, and Theorem 1's bound against λ for each
    query (fitted hypothesis solid, :math:`\|w\| = 2` dashed) with the true risk :math:`R_{\mathcal D}` as a
    horizontal line.

    Parameters
    ----------
    x_data : array (n, 2)
    queries : dict name -> :class:`alkit.theory.bounds.QueryBound`
    """
    plt = _plt()
    colors = {"narrow": "#d62728", "shifted": "#ff7f0e", "diverse": "#1f77b4"}
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(12, 4.6))
    a0.scatter(x_data[:, 0], x_data[:, 1], s=3, color="0.6", alpha=0.5, label=r"$\hat{\mathcal{D}}$")
    for name, qb in queries.items():
        a0.scatter(qb.x_query[:, 0], qb.x_query[:, 1], s=3, alpha=0.45, color=colors.get(name),
                   label=f"{name} ($W_1$={qb.w1:.3f})")
    t = np.linspace(-3.5, 3.5, 2)
    a0.plot(t, -2 * t, color="k", lw=1)
    a0.set(xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), title=r"$h^\star(x)=1[x_1+0.5x_2>0]$", xlabel="$x_1$",
           ylabel="$x_2$", aspect="equal")
    a0.legend(fontsize=7, markerscale=3, loc="lower left")
    for name, qb in queries.items():
        c = colors.get(name)
        lam = qb.lambdas
        for hname, style in (("fitted", "-"), ("shrunk", "--")):
            hb = qb.hypotheses.get(hname)
            if hb is None:
                continue
            a1.plot(lam, hb.bounds, style, color=c, lw=1.8 if hname == "fitted" else 1.2,
                    label=f"{name}, {hname}: bound (best {hb.best_bound:.3f})")
            a1.axhline(hb.risk_d, color=c, ls=style, lw=0.7, alpha=0.8)
    a1.set(title=r"Theorem 1: $R_\mathcal{Q}+(H+\lambda)W_1+\phi(\lambda)$ vs λ (thin lines: true $R_\mathcal{D}$)",
           xlabel="λ", ylabel="risk / bound", ylim=(0, None))
    a1.legend(fontsize=7, ncol=1)
    fig.tight_layout()
    return fig


def theorem1_terms_figure(queries: Mapping[str, Any], lam: float, hypothesis: str = "fitted") -> Any:
    r"""Theorem 1's right-hand side at one λ, stacked term by term for each query, next to the true risk.

    Terms: :math:`\hat R_{\mathcal Q}`, :math:`H W_1`, :math:`\lambda W_1` and :math:`\phi(\lambda)` (L = 1); the
    black tick is :math:`R_{\mathcal D}`. λ is snapped to the nearest point of the queries' λ grid.
    """
    plt = _plt()
    names = list(queries)
    fig, ax = plt.subplots(figsize=(7.5, 4))
    parts = [("labeled risk $R_Q$", "#7f7f7f"), ("$H W_1$", "#1f77b4"), (r"$\lambda W_1$", "#aec7e8"),
             (r"$\phi(\lambda)$", "#ff7f0e")]
    bottoms = np.zeros(len(names))
    for j, (label, color) in enumerate(parts):
        vals = []
        for name in names:
            qb = queries[name]
            k = int(np.argmin(np.abs(qb.lambdas - lam)))
            hb = qb.hypotheses[hypothesis]
            vals.append([hb.risk_q, hb.H * qb.w1, qb.lambdas[k] * qb.w1, qb.phi[k]][j])
        ax.bar(names, vals, bottom=bottoms, color=color, label=label, width=0.55)
        bottoms += np.asarray(vals)
    for i, name in enumerate(names):
        r_d = queries[name].hypotheses[hypothesis].risk_d
        ax.hlines(r_d, i - 0.35, i + 0.35, color="k", lw=2.5, label="true risk $R_D$" if i == 0 else None)
        ax.text(i, bottoms[i], f"{bottoms[i]:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set(title=f"Theorem 1 at λ = {lam:.2f} ({hypothesis} hypothesis)", ylabel="risk / bound")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def terms_vs_error_figure(
    terms: Mapping[str, Sequence[Mapping[str, Any]]],
    keys: Sequence[tuple[str, str]] = (
        ("w1_labeled_unlabeled_input", "W1(L, U), inputs"),
        ("proxy_h_divergence_input", "proxy H-divergence, inputs"),
        ("w1_labeled_unlabeled", "W1(L, U), embeddings"),
    ),
) -> Any:
    """Each measured term against the true test error, one point per (strategy, round); arrows follow the rounds."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.8), squeeze=False)
    for ax, (key, title) in zip(axes[0], keys):
        for i, (name, per_round) in enumerate(terms.items()):
            x = [np.nan if t.get(key) is None else t[key] for t in per_round]
            y = [t["test_error"] for t in per_round]
            ax.plot(x, y, marker="o", ms=3, lw=1, color=_STRATEGY_COLORS[i % len(_STRATEGY_COLORS)], alpha=0.85,
                    ls="--" if name == "random" else "-", label=name)
            ax.plot(x[-1:], y[-1:], "s", ms=6, color=_STRATEGY_COLORS[i % len(_STRATEGY_COLORS)])
        ax.set(xlabel=title, ylabel="test error", title=f"test error vs {title}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def w1_rates_figure(rates: Mapping[int, Mapping[str, Any]]) -> Any:
    r"""E3: :math:`W_1` between two n-samples of :math:`\mathcal N(0, I_d)` against n (log-log), with
    :math:`n^{-1/2}` and :math:`n^{-1/d}` guides through the first point."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.3))
    for i, (d, r) in enumerate(sorted(rates.items())):
        n, v = np.asarray(r["n"], float), np.asarray(r["w1"], float)
        c = _STRATEGY_COLORS[(i + 1) % len(_STRATEGY_COLORS)]
        ax.loglog(n, v, "o-", color=c, lw=2, label=f"d={d}: slope {r['slope']:+.2f}")
        ax.loglog(n, v[0] * (n / n[0]) ** (-1.0 / max(d, 2)), ":", color=c, lw=1,
                  label=f"$n^{{-1/{max(d, 2)}}}$")
    ax.set(title="empirical $W_1$ between two samples of the same law", xlabel="n", ylabel="$W_1$")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def ben_david_figure(result: Any) -> Any:
    r"""E4: the source and target samples with the labels' interval, and every hypothesis' target error
    against its bound :math:`\varepsilon_S + \tfrac12 d_{\mathcal H\Delta\mathcal H} + \lambda^\star`."""
    plt = _plt()
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(12, 4.2))
    bins = np.linspace(0, 1, 41)
    a0.hist(result.target, bins=bins, density=True, alpha=0.45, color="0.5", label="target T (pool)")
    a0.hist(result.source, bins=bins, density=True, alpha=0.45, color="#d62728", label="source S (labeled)")
    a0.axvspan(0.3, 0.8, color="#2ca02c", alpha=0.08, label="label 1: 0.3 ≤ x < 0.8")
    a0.set(title=rf"$d_{{H\Delta H}}$ = {result.d_hdh:.4f}, $\lambda^\star$ = {result.lambda_star:.4f}",
           xlabel="x", ylabel="density")
    a0.legend(fontsize=8)
    a1.scatter(result.err_target, result.bounds, s=6, color="#1f77b4", label="all 410 hypotheses")
    k = result.erm
    a1.scatter([result.err_target[k]], [result.bounds[k]], s=60, color="#d62728", zorder=3,
               label=rf"ERM on S: $\varepsilon_T$={result.err_target[k]:.3f}, bound {result.bounds[k]:.3f}")
    lim = [0, max(1.0, float(result.bounds.max()))]
    a1.plot(lim, lim, color="k", lw=0.8, ls="--", label="bound = error")
    a1.set(title="the bound holds for every hypothesis (above the diagonal)", xlabel=r"$\varepsilon_T(h)$",
           ylabel=r"$\varepsilon_S(h)+\frac{1}{2}d_{H\Delta H}+\lambda^\star$")
    a1.legend(fontsize=8)
    fig.tight_layout()
    return fig


def theory_terms_figure(
    terms: Mapping[str, Sequence[Mapping[str, Any]]],
    keys: Sequence[tuple[str, str]] = (
        ("test_error", "test error (true)"),
        ("labeled_risk", "labeled risk (training error on L)"),
        ("proxy_h_divergence_input", "proxy H-divergence L vs U (inputs)"),
        ("w1_labeled_unlabeled_input", "W1(L, U) (inputs, Sinkhorn)"),
        ("proxy_h_divergence", "proxy H-divergence L vs U (embeddings)"),
        ("w1_labeled_unlabeled", "W1(L, U) (embeddings, Sinkhorn)"),
    ),
) -> Any:
    """The bound terms per AL round for several strategies, one panel per term, against the labels used.

    Parameters
    ----------
    terms : dict strategy -> list over rounds of ``extras["theory"]`` dicts (with ``n_labeled``)
    keys : (key, panel title) pairs to draw (keys missing from the dicts are skipped)
    """
    plt = _plt()
    first = next(iter(terms.values()), [{}])
    keys = [(k, t) for k, t in keys if first and k in first[0]]
    cols = 3 if len(keys) > 4 else 2
    rows = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    for ax, (key, title) in zip(axes.ravel(), keys):
        for i, (name, per_round) in enumerate(terms.items()):
            n = [t["n_labeled"] for t in per_round]
            v = [np.nan if t.get(key) is None else t[key] for t in per_round]
            ax.plot(n, v, marker="o", ms=3, lw=1.6, color=_STRATEGY_COLORS[i % len(_STRATEGY_COLORS)],
                    ls="--" if name == "random" else "-", label=name)
        ax.set(title=title, xlabel="labels")
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(keys):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig
