"""Seeds of the WAAL Fashion-MNIST reproduction are merged, never dropped (old stored formats included)."""

import json
import os
from pathlib import Path

import pytest

from alkit.experiments.reproduce import merge_seeds


def entry(seeds, accs, secs, epochs=20, momentum=0.9, with_seconds_per_seed=True):
    per = [[{"n_labeled": 1000 + 500 * i, "accuracy": a} for i, a in enumerate(c)] for c in accs]
    n = min(len(c) for c in per)
    curve = [{"n_labeled": per[0][i]["n_labeled"], "accuracy": sum(c[i]["accuracy"] for c in per) / len(per)}
             for i in range(n)]
    e = {"curve": curve, "seconds": sum(secs) / len(secs), "seeds": list(seeds), "per_seed": per,
         "epochs": epochs, "momentum": momentum}
    if with_seconds_per_seed:
        e["seconds_per_seed"] = list(secs)
    return e


def test_an_entry_from_before_seconds_per_seed_is_averaged_in():
    """The committed seed-0 WAAL entry has no seconds_per_seed: `--seeds 1` must average it in, not replace it."""
    old = entry([0], [[0.80, 0.84]], [2400.0], with_seconds_per_seed=False)
    both = merge_seeds(old, entry([1], [[0.70, 0.86]], [2600.0]))
    assert both["seeds"] == [0, 1]
    assert [round(p["accuracy"], 6) for p in both["curve"]] == [0.75, 0.85]
    assert both["per_seed"][0] == old["per_seed"][0]
    assert both["seconds_per_seed"] == [2400.0, 2600.0] and both["seconds"] == 2500.0


def test_the_committed_waal_result_keeps_its_seed():
    from alkit.experiments.reproduce import RESULTS_FILE

    committed = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / RESULTS_FILE
    stored = json.loads(committed.read_text())["waal"]
    new = entry([1], [[0.5] * len(stored["curve"])], [1.0], epochs=stored["epochs"], momentum=stored["momentum"])
    merged = merge_seeds(stored, new)
    assert merged["seeds"] == list(stored["seeds"]) + [1]
    assert merged["per_seed"][: len(stored["per_seed"])] == stored["per_seed"]


def test_a_rerun_seed_replaces_only_that_seed():
    old = entry([0, 1], [[0.8], [0.6]], [10.0, 30.0])
    with pytest.warns(UserWarning, match=r"seeds \[1\] were run again"):
        out = merge_seeds(old, entry([1], [[0.9]], [20.0]))
    assert out["seeds"] == [0, 1] and out["per_seed"] == [old["per_seed"][0], [{"n_labeled": 1000, "accuracy": 0.9}]]
    assert out["curve"][0]["accuracy"] == pytest.approx(0.85) and out["seconds_per_seed"] == [10.0, 20.0]


@pytest.mark.parametrize("old", [
    entry([0], [[0.8]], [10.0], epochs=12),  # another schedule
    {"curve": [{"n_labeled": 1000, "accuracy": 0.8}], "seconds": 10.0, "epochs": 20, "momentum": 0.9},  # no seeds
])
def test_an_entry_that_cannot_be_averaged_is_kept_not_dropped(old):
    with pytest.warns(UserWarning, match="kept under 'superseded'"):
        out = merge_seeds(old, entry([1], [[0.6]], [2.0]))
    assert out["seeds"] == [1] and out["superseded"] == [old]
    again = merge_seeds(out, entry([2], [[0.4]], [4.0]))  # later merges carry the superseded entries along
    assert again["seeds"] == [1, 2] and again["superseded"] == [old]


def test_nothing_stored_gives_the_new_entry():
    new = entry([3], [[0.5]], [1.0])
    assert merge_seeds(None, new) == new and merge_seeds({}, new) == new


def test_results_default_to_the_workspace_not_the_checkout(tmp_path, monkeypatch):
    from alkit.experiments.reproduce import results_path

    monkeypatch.setenv("ALKIT_WORKSPACE", str(tmp_path / "ws"))
    assert results_path() == tmp_path / "ws" / "results" / "waal_fmnist.json"
    assert results_path(workspace=tmp_path / "other") == tmp_path / "other" / "results" / "waal_fmnist.json"
    assert results_path(tmp_path / "mine", workspace=tmp_path / "other") == tmp_path / "mine" / "waal_fmnist.json"
    assert os.fspath(results_path()).startswith(os.fspath(tmp_path))

