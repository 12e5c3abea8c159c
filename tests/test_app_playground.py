"""alkit.app.playground: every pick starts from the same state and is judged by the same retraining."""

import pytest
import torch

from alkit.app.playground import Playground, playable_strategies
from alkit.app.playground_figures import gain_figure, play_figure
from alkit.learner import TrainConfig

torch.set_num_threads(1)
FAST = TrainConfig(epochs=5, batch_size=16, min_steps=30, lr=3e-3)


@pytest.fixture(scope="module")
def pg():
    return Playground("moons", initial=6, seed=0, train=FAST, dataset_params={"n_samples": 200, "n_test": 200})


def test_initial_state_is_seeded_and_balanced(pg):
    again = Playground("moons", initial=6, seed=0, train=FAST, dataset_params={"n_samples": 200, "n_test": 200})
    assert again.labeled == pg.labeled and again.accuracy == pg.accuracy
    assert sorted(pg.ds.y_train[pg.labeled].tolist()) == [0, 0, 0, 1, 1, 1]


def test_compare_same_points_same_accuracy(pg):
    ent = pg.strategy_pick("entropy", 4)
    rows = pg.compare(ent, strategies=["entropy", "kcenter"], random_repeats=2)
    assert [r["picker"] for r in rows] == ["you", "random", "entropy", "kcenter"]
    by = {r["picker"]: r for r in rows}
    assert by["you"]["points"] == ent == by["entropy"]["points"]
    assert by["you"]["accuracy"] == by["entropy"]["accuracy"]  # same points, same seed: same model
    for r in rows:
        assert r["gain"] == pytest.approx(r["accuracy"] - pg.accuracy)
        assert len(r["points"]) == 4 and not set(r["points"]) & set(pg.labeled)
    assert by["random"]["draws"] == 2 and by["random"]["gain_std"] >= 0
    assert len(gain_figure(rows).data) == 1
    fig = play_figure(pg, pick=ent, others={"kcenter": by["kcenter"]["points"]}, grid_res=20)
    assert any(t.name == "your pick (4)" for t in fig.data)


def test_low_budget_strategies_answer_from_a_state(pg):
    from alkit.app.playground import PLAY_STRATEGIES

    assert {"typiclust", "probcover"} <= set(PLAY_STRATEGIES) <= set(playable_strategies())
    unl = set(pg.unlabeled())
    for name in ("typiclust", "probcover"):
        pick = pg.strategy_pick(name, 5)
        assert len(set(pick)) == 5 and set(pick) <= unl
        assert pg.strategy_pick(name, 5) == pick  # the same state and seed: the same pick
    rows = pg.compare(pg.strategy_pick("typiclust", 5), strategies=["typiclust", "probcover"], random_repeats=1)
    by = {r["picker"]: r for r in rows}
    assert by["you"]["accuracy"] == by["typiclust"]["accuracy"]  # same points, same retraining seed
    assert by["probcover"]["gain"] == pytest.approx(by["probcover"]["accuracy"] - pg.accuracy)
    # both read the toy's coordinates, not the model: the pick is the same after the state is retrained
    again = Playground("moons", initial=6, seed=0, train=TrainConfig(epochs=2, batch_size=16, min_steps=5, lr=3e-3),
                       dataset_params={"n_samples": 200, "n_test": 200})
    assert again.labeled == pg.labeled and again.strategy_pick("probcover", 5) == pg.strategy_pick("probcover", 5)


def test_bad_picks_are_named(pg):
    lab = pg.labeled[0]
    with pytest.raises(ValueError, match="already labeled"):
        pg.check_pick([lab])
    with pytest.raises(ValueError, match="twice"):
        pg.check_pick([pg.unlabeled()[0]] * 2)
    with pytest.raises(ValueError, match="at least one"):
        pg.check_pick([])
    with pytest.raises(ValueError, match="outside"):
        pg.check_pick([10_000])
    with pytest.raises(ValueError, match="training hook"):
        pg.strategy_pick("waal", 2)


def test_commit_moves_the_state():
    g = Playground("blobs", initial=3, seed=1, train=FAST, dataset_params={"n_samples": 90, "n_test": 90})
    pick = g.unlabeled()[:3]
    acc = g.accuracy_with(pick)
    assert g.commit(pick) == acc
    assert g.round == 1 and set(pick) <= set(g.labeled) and len(g.history) == 2


def test_non_2d_datasets_are_refused():
    with pytest.raises(ValueError, match="2-D dataset"):
        Playground("digits")
    assert "entropy" in playable_strategies() and "waal" not in playable_strategies()


def test_decision_region_image_hand_checked():
    import numpy as np

    from alkit.app.playground_figures import decision_region_image

    # 2 classes; rows are ascending y: row 0 (bottom) sure of class 0, row 1 (top) unsure (p = 1/2)
    probs = np.array([[[1.0, 0.0]], [[0.5, 0.5]]])
    img = decision_region_image(probs, opacity=1.0)
    assert img.shape == (2, 1, 3)
    assert img[1, 0].tolist() == [0x1F, 0x77, 0xB4]  # bottom row drawn last: class 0's colour, fully sure
    assert img[0, 0].tolist() == [0xFB, 0xFB, 0xFB]  # top row: unsure -> near white
    faded = decision_region_image(probs, opacity=0.5)
    assert faded[1, 0].tolist() == [round((255 + 0x1F) / 2), round((255 + 0x77) / 2), round((255 + 0xB4) / 2)]
    with pytest.raises(ValueError, match="rows, cols, K"):
        decision_region_image(np.ones((2, 2)))


def test_play_payload_marks_only_unlabeled_points_pickable(pg):
    import json

    from alkit.app.playground_figures import play_payload

    unl = pg.unlabeled()
    d = play_payload(pg, pick=unl[:2], others={"random": unl[2:4]})
    names = [g["name"] for g in d["groups"]]
    assert names[0] == "unlabeled" and "your pick" in names and "random's pick" in names
    pickable = {i for i, g in zip(d["index"], d["group"]) if d["groups"][g]["pickable"]}
    assert pickable == set(unl)  # labeled points, picks and other pickers' marks cannot be clicked
    ring = names.index("your pick")
    assert [i for i, g in zip(d["index"], d["group"]) if g == ring] == list(unl[:2])
    b = d["background"]
    assert b["src"].startswith("data:image/png;base64,") and b["x0"] < b["x1"] and b["y0"] < b["y1"]
    x = pg.ds.x_train.numpy()
    k = d["index"].index(unl[0])
    assert abs(d["x"][k] - x[unl[0], 0]) < 1e-4 and abs(d["y"][k] - x[unl[0], 1]) < 1e-4
    json.dumps(d, allow_nan=False)
