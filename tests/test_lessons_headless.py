"""Lessons headless (nbclient, as `jupyter nbconvert --execute` runs them) and the exercises' checkers.

The nbclient test runs lesson 01 in smoke mode WITHOUT ``ALKIT_STATIC``: the kernel must notice that no
widget frontend is attached (nbclient sends ``allow_stdin=False``) and draw the static figure, so the run
finishes and every figure, the slider's included, is a PNG in the cell outputs (none hides in widget state).
"""

from __future__ import annotations

import os
import pathlib

import pytest

from alkit.lessons import checking

NB_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"


def test_lesson_01_headless_finishes_with_every_figure(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NB_DIR / "01_h_divergence_vs_wasserstein.ipynb", as_version=4)
    env = {k: v for k, v in os.environ.items() if k not in ("ALKIT_STATIC", "MPLBACKEND")}  # inline PNGs
    env.update(ALKIT_SMOKE="1", ALKIT_SOLUTIONS="1", ALKIT_WORKSPACE=str(tmp_path / "ws"), OMP_NUM_THREADS="1")
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "a cell did not run"
    kinds = [set(o.get("data", {})) for c in code for o in c.outputs if o.output_type == "display_data"]
    assert not any("application/vnd.jupyter.widget-view+json" in k for k in kinds), "a widget was built headless"
    slider = next(c for c in code if "interact(show_shift" in c.source)
    assert any("image/png" in o.get("data", {}) for o in slider.outputs), "the slider cell has no static figure"
    n_png = sum("image/png" in k for k in kinds)
    n_show = sum(c.source.count("vt.show(") for c in code)  # one figure per show() call in the lesson
    assert n_png == n_show, (n_png, n_show)
    assert not nb.metadata.get("widgets"), "widget state was saved into the notebook"


def test_widgets_follow_the_frontend(monkeypatch):
    """Live widgets only for a request that allows stdin (an interactive frontend), never for nbclient's."""
    from alkit.lessons import widgets

    class Kernel:
        def __init__(self, allow):
            self.allow = allow

        def get_parent(self):
            return {"header": {"msg_type": "execute_request"}, "content": {"allow_stdin": self.allow}}

    class Shell:
        def __init__(self, allow):
            self.kernel = Kernel(allow)

    import IPython

    for allow, want in ((True, True), (False, False)):
        monkeypatch.setattr(IPython, "get_ipython", lambda allow=allow: Shell(allow))
        assert widgets.frontend_is_interactive() is want
        assert widgets.widgets_available() is (want and not widgets.STATIC)
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert widgets.frontend_is_interactive() is False
    calls = []
    got = widgets.interact(lambda a: calls.append(a) or a, a=(0.0, 1.0, 0.5, 0.5))
    assert got == 0.5 and calls == [0.5]


@pytest.mark.parametrize("answer, reference, words", [
    (-0.5, 0.5, "sign is flipped"),
    (3, 4, "off by one (too small)"),
    (1.0, 0.5, "factor 2 too many"),
    (0.7, 0.3, "complement"),
    (0.31, 0.3, "too large"),
    ("x", "y", "not the one"),
])
def test_diagnose_numbers_and_names(answer, reference, words):
    hint = checking.diagnose(answer, reference)
    assert words in hint and repr(reference) not in hint and str(reference) not in hint


def test_diagnose_arrays_sets_tuples():
    import numpy as np
    import torch

    assert checking.diagnose(np.ones((3, 2)), np.ones((2, 3))).startswith("shape (3, 2) is the transpose")
    assert "one axis too many" in checking.diagnose(torch.ones(5, 3), torch.ones(5))
    assert "wrong order" in checking.diagnose(np.array([2.0, 1.0]), np.array([1.0, 2.0]))
    assert checking.diagnose(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0])) is None
    assert checking.diagnose(torch.tensor([1, 2, 5]), {1, 2, 3}) == \
        "2 of the 3 picks are right; 1 is not in the reference set"
    assert "duplicate" in checking.diagnose([1, 1, 2], {1, 2, 3})
    assert checking.diagnose((0.1, 0.3), (0.1, 0.2), names=["eps_T", "bound"]) == "bound: too large"
    assert "tuple of 2" in checking.diagnose(0.1, (0.1, 0.2))
    assert "not one of the choices" in checking.diagnose("z", "y", options=["x", "y"])
    assert "NaN" in checking.diagnose(np.array([np.nan, 1.0]), np.array([1.0, 1.0]))


def test_exercise_solutions_pass_and_wrong_answers_get_hints(monkeypatch, capsys):
    """Every context-free lesson exercise: its worked solution passes, a typical mistake gets its hint."""
    from alkit.lessons import exercises, widgets

    monkeypatch.setattr(widgets, "SOLUTIONS", True)
    for key in ("1.1", "1.2", "1.3", "06.1", "06.3", "07.1", "08.1", "08.2", "10.2"):
        assert exercises.exercise(key).check(None) is True, key  # None -> the worked solution is filled in
    assert "worked solution was filled in" in capsys.readouterr().out
    wrong = {"06.1": (0.8, "factor 2"), "06.3": (2, "first 19 mini-queries"), "07.1": (0.6931, "one of the two"),
             "08.1": (1000 / 39000, "'ratio'"), "1.3": ((0.6, 0.6), "the shift itself"), "1.2": (0.5, "still equal"),
             "10.2": (17, "default δ0")}
    for answer, words in ((31, "linear schedule"), (7, "off by one (too small)"), (9, "off by one (too large)"),
                          (8.5, "an integer")):
        with pytest.raises(AssertionError, match="not right yet") as err:
            exercises.exercise("10.2").check(answer)
        assert words in str(err.value), (answer, str(err.value))
        assert " 8" not in str(err.value)  # the hint never prints the answer (round 8)
    for key, (answer, words) in wrong.items():
        with pytest.raises(AssertionError, match="not right yet") as err:
            exercises.exercise(key).check(answer)
        assert words in str(err.value), (key, str(err.value))
    monkeypatch.setattr(widgets, "SOLUTIONS", False)
    assert exercises.exercise("1.1").check(None) is None and "reveal()" in capsys.readouterr().out
    exercises.exercise("06.3").reveal()
    assert "mini_query_sizes(53, 20)" in capsys.readouterr().out


def test_exercise_10_1_labels_saved_by_hand(monkeypatch, capsys):
    """Exercise 10.1 on hand-made curves: mean over seeds, Random's final accuracy as target, first crossing.

    Random (both seeds) 0.5, 0.625, 0.75 at 20, 40, 60 labels reaches its final 0.75 at 60; margin's seeds
    (0.5, 0.875, 1) and (0.5, 0.625, 0.75) average to 0.5, 0.75, 0.875, which reach 0.75 at 40: 20 labels
    saved. Seed 0 alone reaches 0.75 at 20 + 20 * 0.25 / 0.375 = 33.3 (a saving of 26.7). (Binary fractions,
    so the means are exact.)
    """
    import math
    import types

    from alkit.lessons import exercises, widgets

    n = [20, 40, 60]
    result = types.SimpleNamespace(curves={"random": [(n, [0.5, 0.625, 0.75]), (n, [0.5, 0.625, 0.75])],
                                           "margin": [(n, [0.5, 0.875, 1.0]), (n, [0.5, 0.625, 0.75])]})
    ex = exercises.exercise("10.1", result=result)
    assert ex.check(20.0) is True
    for answer, words in ((-20.0, "sign is flipped"), (40.0, "ONE curve"), (60.0, "ONE curve"),
                          (60 - (20 + 20 * 0.25 / 0.375), "seed 0"), (math.nan, "does reach"), (21.0, "too large")):
        with pytest.raises(AssertionError, match="not right yet") as err:
            ex.check(answer)
        assert words in str(err.value) and "20" not in str(err.value), (answer, str(err.value))
    monkeypatch.setattr(widgets, "SOLUTIONS", True)
    assert ex.check(None) is True  # the worked solution (alkit.labels_saved) agrees with the hand-made reference
    # margin never reaches Random's final accuracy: the saving is undefined, and only nan is right
    never = types.SimpleNamespace(curves={"random": [(n, [0.5, 0.625, 0.75])], "margin": [(n, [0.5, 0.5, 0.625])]})
    ex = exercises.exercise("10.1", result=never)
    assert ex.check(math.nan) is True and ex.check(None) is True
    with pytest.raises(AssertionError, match="undefined"):
        ex.check(0.0)
    capsys.readouterr()
    ex.reveal()
    assert "labels_saved" in capsys.readouterr().out


def test_every_exercise_has_a_checker_and_a_solution():
    from alkit.lessons import exercises, solutions

    assert set(exercises.EXERCISES) == set(solutions.SOLVERS)
    with pytest.raises(KeyError, match="no exercise"):
        exercises.exercise("99.9")
    with pytest.raises(TypeError, match=r"needs \['view'\]"):
        exercises.exercise("3.1")


def test_exported_html_is_self_contained_and_typesets_offline(tmp_path):
    """The exported page fetches nothing (every figure a data: PNG, MathJax inlined) and Chromium, with every
    request off the file blocked, turns the lesson's $...$ into typeset maths."""
    nbformat = pytest.importorskip("nbformat")
    from alkit.lessons.export import export_html

    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(r"Inline $W_1(\mathcal D,\mathcal Q)$ and $$\int_0^1|F^{-1}(u)|\,du.$$"),
        nbformat.v4.new_code_cell("fig", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": png, "text/plain": "<Figure>"})])])
    nbformat.write(nb, tmp_path / "m.ipynb")
    page = export_html(tmp_path / "m.ipynb", tmp_path / "m.html")
    text = page.read_text()
    import re

    assert not re.findall(r"<(?:script|link|img)[^>]*(?:src|href)=\"(?:https?:)?//", text), "a tag loads from a host"
    assert "data:image/png;base64," + png[:20] in text
    chromium = pathlib.Path("/usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    if not chromium.exists():
        pytest.skip("/usr/bin/chromium not installed")
    left = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=["--no-sandbox"])
        page_ = browser.new_page()
        page_.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                    else (left.append(route.request.url), route.abort()))
        page_.goto(page.as_uri())
        page_.wait_for_function("document.querySelectorAll('mjx-container svg').length >= 2", timeout=20_000)
        n_math = page_.evaluate("document.querySelectorAll('mjx-container').length")
        browser.close()
    assert n_math == 2 and not left, (n_math, left)
