"""The lessons' form: paired sources, no committed outputs, every strategy taught somewhere; and alkit.lessons."""

import importlib
import json
import pathlib
import re

import pytest

import alkit

NB_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(NB_DIR.glob("[0-9][0-9]_*.py"))


def test_there_are_lessons():
    assert len(LESSONS) >= 1, f"no lessons found under {NB_DIR}"


@pytest.mark.parametrize("src", LESSONS, ids=lambda p: p.stem)
def test_lesson_is_paired_and_output_free(src):
    jupytext = pytest.importorskip("jupytext")
    ipynb = src.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run `jupytext --sync {src}`"
    raw = json.loads(ipynb.read_text())
    for i, cell in enumerate(raw["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{ipynb.name} cell {i} has committed outputs"
            assert cell.get("execution_count") is None, f"{ipynb.name} cell {i} has an execution count"
    from_py = jupytext.read(src)
    from_nb = jupytext.read(ipynb)
    py_cells = [(c.cell_type, c.source.strip()) for c in from_py.cells]
    nb_cells = [(c.cell_type, c.source.strip()) for c in from_nb.cells]
    assert py_cells == nb_cells, f"{src.name} and {ipynb.name} differ: run `jupytext --sync {src}`"


@pytest.mark.parametrize("src", LESSONS, ids=lambda p: p.stem)
def test_lesson_follows_the_conventions(src):
    text = src.read_text()
    assert "import alkit" in text or "from alkit" in text, f"{src.name} does not import alkit"
    assert "pick(" in text, f"{src.name} has no smoke/full sizes via alkit.lessons.pick"
    # reference, hints and worked solution in alkit.lessons.exercises / solutions, none in the notebook
    keys = re.findall(r"\bexercise\(\s*[\"']([0-9.]+)[\"']", text)
    n_ex = len(keys)
    assert "if SOLUTIONS:" not in text and "Exercise(" not in text, f"{src.name} shows a solution or checker"
    from alkit.lessons import exercises

    assert set(keys) <= set(exercises.EXERCISES), f"{src.name}: unknown exercise keys {keys}"
    lesson = int(src.name[:2])
    assert all(int(k.split(".")[0]) == lesson for k in keys), f"{src.name}: exercise keys {keys} of another lesson"
    assert 1 <= n_ex <= 3, f"{src.name} has {n_ex} exercises (want 1-3)"
    assert re.search(r"^assert ", text, re.M), f"{src.name} ends without asserts on what it showed"


def test_every_strategy_appears_in_a_lesson():
    texts = "\n".join(p.read_text() for p in LESSONS)
    missing = [name for name in alkit.list_strategies() if not re.search(rf"[\"']{re.escape(name)}[\"']", texts)]
    assert not missing, f"strategies taught in no notebook: {missing}"


# ----------------------------------------------------------------------------- alkit.lessons
@pytest.fixture
def nbmod(monkeypatch):
    def load(**env):
        for k in ("ALKIT_SMOKE", "ALKIT_SOLUTIONS", "ALKIT_STATIC"):
            monkeypatch.delenv(k, raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        import alkit.lessons.widgets as m

        return importlib.reload(m)

    yield load
    monkeypatch.undo()  # first: a failed first import leaves no module, so the import below runs it again
    import alkit.lessons.widgets as m

    importlib.reload(m)


def test_pick_follows_smoke_flag(nbmod):
    assert nbmod(ALKIT_SMOKE="1").pick(1, 2) == 1
    assert nbmod(ALKIT_SMOKE="0").pick(1, 2) == 2
    assert nbmod().pick(1, 2) == 2


def test_bad_flag_value_is_a_clear_error(nbmod):
    with pytest.raises(ValueError, match="ALKIT_SMOKE"):
        nbmod(ALKIT_SMOKE="maybe")


def test_exercise_states(nbmod, capsys):
    m = nbmod(ALKIT_SOLUTIONS="0")
    ex = m.Exercise("x.1", "answer 2", check=lambda a: a == 2)
    assert ex.check(None) is None and "not answered" in capsys.readouterr().out
    assert ex.check(2) is True and ex.solved
    with pytest.raises(AssertionError, match="x.1"):
        ex.check(3)
    m = nbmod(ALKIT_SOLUTIONS="1")
    with pytest.raises(AssertionError, match="no answer"):
        m.Exercise("x.2", "p", check=lambda a: True).check(None)
    with pytest.raises(TypeError, match="callable"):
        m.Exercise("x.3", "p", check=True)


def test_interact_static_fallback_calls_with_defaults(nbmod):
    m = nbmod(ALKIT_STATIC="1")
    assert not m.widgets_available()
    got = m.interact(lambda a, b, c: (a, b, c), a=(0.0, 1.0, 0.1, 0.3), b=["x", "y"], c=7)
    assert got == (0.3, "x", 7)
    with pytest.raises(ValueError, match="outside"):
        m.interact(lambda a: a, a=(0, 1, 1, 5))
    with pytest.raises(ValueError, match="slider"):
        m.interact(lambda a: a, a=(0, 1))
    calls = []
    assert m.step_button(lambda: calls.append(1) or len(calls)) == 1 and calls == [1]


def test_interact_widget_path_builds_controls_and_runs_defaults(nbmod, monkeypatch):
    """The live-widget branch (not taken under nbmake, where ALKIT_STATIC=1) still calls func with the defaults."""
    pytest.importorskip("ipywidgets")
    import IPython.display

    m = nbmod()
    shown = []
    monkeypatch.setattr(m, "widgets_available", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda *objs: shown.extend(objs))
    got = m.interact(lambda a, n, b, c: (a, n, b, c), a=(0.0, 1.0, 0.1, 0.3), n=(1, 9, 1, 4), b=["x", "y"], c=7)
    assert got == (0.3, 4, "x", 7)
    widget = shown[0]
    kinds = {type(child).__name__ for child in widget.children}
    assert {"FloatSlider", "IntSlider", "Dropdown"} <= kinds
    calls = []
    assert m.step_button(lambda: calls.append(1) or len(calls)) == 1
    button = shown[-1].children[0]
    button.click()
    assert calls == [1, 1]


def test_lesson_helpers_and_the_old_module_name():
    import torch

    import alkit.notebook as old
    from alkit import lessons
    from alkit.learner import TrainConfig

    # (other tests here reload alkit.lessons.widgets, so compare where the names come from, not identity)
    assert all(getattr(old, n).__module__ == "alkit.lessons.widgets" for n in ("pick", "Exercise", "interact"))
    assert set(old.__all__) <= set(lessons.__all__)
    train = TrainConfig(epochs=1)
    config = lessons.toy_configs(query=7, rounds=3, train=train)
    cfg = config("ensemble_var_ratio", dataset="aleatoric_epistemic", k=3)
    assert (cfg.strategy, cfg.dataset, cfg.strategy_params) == ("ensemble_var_ratio", "aleatoric_epistemic", {"k": 3})
    assert (cfg.initial, cfg.query, cfg.rounds, cfg.train, cfg.device, cfg.seed) == (10, 7, 3, train, "cpu", 0)
    assert config("margin").dataset == "blobs"
    assert torch.equal(torch.rand(4, generator=lessons.gen(5)), torch.rand(4, generator=torch.Generator().manual_seed(5)))
