"""alkit.viz.runs and alkit.viz.round_terms: curves, tables and theory series read from a store."""

import json

import pytest

from alkit.metrics import aubc
from alkit.store import RunStore
from alkit.viz.round_terms import dal_figure, dal_series, series_figure, split_theory, theory_series, waal_series
from alkit.viz.runs import aubc_rows, group_curves, round_seconds, runs_table, timings_figure, wtl_rows


def _run(store, strategy, seed, accs, *, initial=10, query=5, extras=None, dataset="digits"):
    rid = store.create_run({"initial": initial, "query": query}, seed, strategy=strategy, dataset=dataset)
    for r, a in enumerate(accs):
        store.log_round(rid, r, n_labeled=initial + query * r, metrics={"accuracy": a},
                        timings={"infer": 0.5, "query": 1.0, "select": 0.25, "train": 2.0, "evaluate": 0.1},
                        selected=[100 * seed + 10 * r + k for k in range(query)],
                        extras=(extras or {}).get(r, {}))
    return rid


def test_curves_tables_from_a_store(tmp_path):
    store = RunStore(tmp_path)
    ids = [_run(store, "entropy", 0, [0.5, 0.7, 0.8]), _run(store, "entropy", 1, [0.5, 0.6, 0.8]),
           _run(store, "random", 0, [0.5, 0.55, 0.6]), _run(store, "random", 1, [0.5, 0.6]),  # still running
           _run(store, "random", 2, [0.4, 0.5, 0.6], query=20)]  # another schedule
    by = group_curves(store, ids)
    assert set(by) == {"digits"}
    curves = by["digits"]
    assert set(curves) == {"entropy", "random [10+5]", "random [10+20]"}
    assert all(len(n) == 2 for n, _ in curves["random [10+5]"])  # cut to the shared budgets
    rows = aubc_rows(curves)
    assert rows[0]["strategy"] == "entropy"
    assert rows[0]["aubc"] == pytest.approx((aubc([10, 15, 20], [0.5, 0.7, 0.8]) + aubc([10, 15, 20], [0.5, 0.6, 0.8])) / 2)
    assert rows[0]["ci_low"] <= rows[0]["aubc"] <= rows[0]["ci_high"]
    wtl = wtl_rows(by)
    assert wtl[0]["strategy"] == "entropy" and wtl[0]["win"] == 2 and wtl[0]["loss"] == 0
    assert sum(r["win"] for r in wtl) == sum(r["loss"] for r in wtl)
    assert [r["run"] for r in runs_table(store.list_runs())][::-1] == ids


def test_wtl_needs_two_strategies(tmp_path):
    store = RunStore(tmp_path)
    rid = _run(store, "entropy", 0, [0.5, 0.7])
    assert wtl_rows(group_curves(store, [rid])) == []


def test_round_seconds_counts_a_strategy_select_once():
    t = {"infer": 0.5, "query": 1.0, "select": 0.25, "score": 0.7, "train": 2.0, "evaluate": 0.1}
    assert round_seconds(t) == pytest.approx(3.6)
    assert round_seconds({"select": 0.2, "train": 1.0}) == pytest.approx(1.2)  # round 0: select is the seed draw
    fig = timings_figure([{"round": 0, "timings": {"select": 0.2, "train": 1.0}}, {"round": 1, "timings": t}])
    assert {tr.name for tr in fig.data} == {"select", "infer", "query", "train", "evaluate"}
    assert sum(tr.y[1] for tr in fig.data) == pytest.approx(3.6)


def test_theory_series_reads_what_is_there(tmp_path):
    store = RunStore(tmp_path)
    extras = {0: {"theory": {"labeled_risk": 0.1, "w1_labeled_unlabeled": 2.0, "note": "x", "nested": {"a": 1}}},
              1: {"theory": {"labeled_risk": 0.05, "w1_labeled_unlabeled": 1.5, "test_error": None},
                  "waal_w1": 0.3, "waal_critic_mean_labeled": -1.0, "h_divergence": [1.2, 0.8, "bad"]}}
    rid = _run(store, "waal", 0, [0.5, 0.6], extras=extras)
    rounds = store.get_rounds(rid)
    th = theory_series(rounds)
    assert th["labeled_risk"] == ([0, 1], [0.1, 0.05])
    assert th["nested.a"] == ([0], [1.0])
    assert "note" not in th and "test_error" not in th
    groups = split_theory({**th, "n_labeled": ([0], [10.0])})
    assert set(groups["risk"]) == {"labeled_risk"} and set(groups["bookkeeping"]) == {"n_labeled"}
    assert set(groups["divergence"]) == {"w1_labeled_unlabeled", "nested.a"}
    assert waal_series(rounds) == {"waal_w1": ([1], [0.3]), "waal_critic_mean_labeled": ([1], [-1.0])}
    assert dal_series(rounds) == {"h_divergence": [(1, [1.2, 0.8])]}
    fig = series_figure(th, x_map={0: 10, 1: 15}, highlight=1)
    assert list(fig.data[0].x) == [10, 15]
    json.loads(dal_figure(dal_series(rounds)).to_json())
    plain = store.get_rounds(_run(store, "random", 1, [0.5]))
    assert theory_series(plain) == {} and waal_series(plain) == {} and dal_series(plain) == {}
    with pytest.raises(ValueError, match="no series"):
        series_figure({})
    with pytest.raises(ValueError, match="h_divergence"):
        dal_figure({})
