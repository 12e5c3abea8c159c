"""alkit.viz.round_terms: the Theory page's panels and how Ben-David et al.'s bound adds up per round."""

import math

import pytest

from alkit.app.lite import lite_spec
from alkit.viz.round_terms import (
    THEORY_PANELS,
    THEORY_TERMS,
    bound_decomposition,
    bound_stack_figure,
    term_name,
    theory_panel_figures,
)

SERIES = {
    "labeled_risk": ([0, 1, 2], [0.10, 0.05, 0.0]),
    "test_error": ([0, 1, 2], [0.50, 0.30, 0.20]),
    "proxy_h_divergence": ([0, 1, 2], [1.20, 0.20, 0.0]),
    "proxy_h_divergence_input": ([0, 1, 2], [0.4, 0.1, 0.0]),
    "w1_labeled_unlabeled": ([0, 1, 2], [12.0, 8.0, 6.0]),
    "w1_labeled_unlabeled_input": ([0, 1, 2], [2.0, 1.8, 1.7]),
    "domain_error": ([0, 1, 2], [0.2, 0.45, 0.5]),
}


def test_bound_decomposition_by_hand():
    rows = bound_decomposition(SERIES)
    assert [r["round"] for r in rows] == [0, 1, 2]
    # round 0: 0.10 + 1.20 / 2 = 0.70 > 0.50 measured, so the rest is -0.20 (the observed terms overshoot)
    r0 = rows[0]
    assert r0["labeled_risk"] == 0.10 and r0["divergence_term"] == pytest.approx(0.60)
    assert r0["rest"] == pytest.approx(-0.20)
    # round 1: 0.05 + 0.10 + rest = 0.30 -> rest 0.15; round 2: 0 + 0 + 0.20
    assert rows[1]["rest"] == pytest.approx(0.15) and rows[2]["rest"] == pytest.approx(0.20)
    for r in rows:  # the three parts add up to the measured test error exactly
        assert math.isclose(r["labeled_risk"] + r["divergence_term"] + r["rest"], r["test_error"], abs_tol=1e-12)


def test_bound_decomposition_keeps_only_rounds_with_every_term():
    s = {"labeled_risk": ([0, 1, 2], [0.1, 0.1, 0.1]), "test_error": ([0, 2], [0.4, 0.2]),
         "proxy_h_divergence": ([1, 2], [0.5, 0.2])}
    assert [r["round"] for r in bound_decomposition(s)] == [2]
    assert bound_decomposition({"test_error": ([0], [0.3])}) == []
    with pytest.raises(ValueError, match="no rounds"):
        bound_stack_figure([])


def test_stack_figure_is_relative_bars_against_the_measured_line():
    rows = bound_decomposition(SERIES)
    spec = lite_spec(bound_stack_figure(rows, x_map={0: 20, 1: 40, 2: 60}, x_label="labels"))
    assert spec is not None and spec["barmode"] == "relative"
    bars = [t for t in spec["traces"] if t["type"] == "bar"]
    (line,) = [t for t in spec["traces"] if t["type"] == "scatter"]
    assert [t["name"].split(" ")[0] for t in bars] == ["labeled", "½", "the"]
    assert line["x"] == [20, 40, 60] and line["y"] == [0.5, 0.3, 0.2]
    for k in range(3):
        assert sum(t["y"][k] for t in bars) == pytest.approx(line["y"][k])


def test_each_quantity_has_its_own_axis_and_a_readable_name():
    figs = theory_panel_figures(SERIES)
    assert [t for t, _ in figs] == [p[0] for p in THEORY_PANELS]
    specs = {t: lite_spec(f) for t, f in figs}
    assert specs["Risks"]["panels"][0]["y"]["range"] == [0.0, 1.0]
    assert specs["Proxy H-divergence"]["panels"][0]["y"]["range"] == [0.0, 2.0]
    for title, spec in specs.items():
        names = [t["name"] for t in spec["traces"]]
        assert not set(names) & set(SERIES), (title, names)  # no raw keys in a legend
        # W1 (tens) never shares an axis with a bounded quantity
        assert not (any(n.startswith("W1") for n in names) and any(not n.startswith("W1") for n in names))
    assert term_name("w1_labeled_unlabeled_input") == "W1(L, U), input pixels"
    assert term_name("something_new") == "something_new"
    assert all(meaning and not meaning.endswith(".") for _, meaning in THEORY_TERMS.values())
    # a panel whose terms a run did not store is left out
    only = theory_panel_figures({"test_error": SERIES["test_error"]})
    assert [t for t, _ in only] == ["Risks"]
