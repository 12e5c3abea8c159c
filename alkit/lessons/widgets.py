"""Helpers the lessons in ``notebooks/`` share: smoke mode, exercises, widgets with a static fallback.

The notebooks teach; this module only removes boilerplate from them, so that every lesson handles
the three ways it is run in the same way:

* **interactively** in JupyterLab (``make lab``): sliders and buttons are live ipywidgets;
* **headless** (``jupyter nbconvert --execute``, nbmake, papermill: anything driven by nbclient), with
  or without ``ALKIT_SMOKE=1``: no widget is built; the function is called once with the default
  values, so its figure lands in the cell's outputs (and in an exported HTML page);
* **without ipywidgets** (or with ``ALKIT_STATIC=1``): the same static call.

How a headless run is recognised
--------------------------------
From inside the kernel, JupyterLab and a headless executor look alike: both are an ipykernel with a
``kernel`` object and registered comm targets, and comm messages sent to a headless client are simply
dropped (or, for output widgets, mimicked by nbclient). What differs is the request being executed:
every ``execute_request`` carries ``allow_stdin``, which an interactive frontend (JupyterLab, Notebook,
VS Code) sets to true because it can answer ``input()``, and which nbclient sets to false on every
request it sends (``NotebookClient.start_new_kernel_client`` sets ``kc.allow_stdin = False``). A client
that cannot answer ``input()`` cannot move a slider either, so :func:`widgets_available` builds widgets
only for a request that allows stdin. Without this, a headless run built real ``interactive`` widgets:
their figure went into an Output widget's state instead of the cell's outputs (so an exported page lost
it), and some runs never finished: 2 of 14 full-mode ``nbconvert --execute`` runs of lesson 01 and 1 of 1
of lesson 04 hung on a slider cell, the kernel idle with the cell done and the client waiting for a reply
with no timeout (``tests/test_lessons_headless.py`` runs a lesson headless and checks its figures).

Environment variables
---------------------
``ALKIT_SMOKE=1``
    Smoke mode: :func:`pick` returns its first argument (the small setting).
``ALKIT_SOLUTIONS=1``
    Fill in the exercise solutions (CI does, so every exercise's checker is itself checked).
``ALKIT_STATIC=1``
    Never build widgets, even when ipywidgets is importable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "SMOKE",
    "SOLUTIONS",
    "STATIC",
    "Exercise",
    "frontend_is_interactive",
    "interact",
    "pick",
    "step_button",
    "widgets_available",
]


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"environment variable {name} must be 0/1/true/false, got {os.environ[name]!r}")


SMOKE: bool = _flag("ALKIT_SMOKE")
"""True under ``ALKIT_SMOKE=1`` (CI): lessons use tiny pools and one seed."""
SOLUTIONS: bool = _flag("ALKIT_SOLUTIONS")
"""True under ``ALKIT_SOLUTIONS=1``: exercise solutions are filled in and checked."""
STATIC: bool = _flag("ALKIT_STATIC")
"""True under ``ALKIT_STATIC=1``: no widgets, static figures only."""


def pick(smoke: Any, full: Any) -> Any:
    """The smoke-mode value under ``ALKIT_SMOKE=1``, the full value otherwise.

    >>> pick(200, 5000) in (200, 5000)
    True
    """
    return smoke if SMOKE else full


def frontend_is_interactive() -> bool:
    """Whether the request now executing comes from a frontend a person sits at (it allows stdin).

    False outside a kernel and for every request nbclient sends (nbconvert, nbmake, papermill): those
    set ``allow_stdin`` to false. Reads the parent message of the current request
    (``ipykernel.kernelbase.Kernel.get_parent``).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the notebook extra
        return False
    ip = get_ipython()
    kernel = getattr(ip, "kernel", None) if ip is not None else None
    if kernel is None:
        return False
    get_parent = getattr(kernel, "get_parent", None)
    parent = get_parent() if callable(get_parent) else getattr(kernel, "_parent_header", {})
    content = parent.get("content", {}) if isinstance(parent, dict) else {}
    return bool(content.get("allow_stdin", False))


def widgets_available() -> bool:
    """Whether live ipywidgets can be shown: ipywidgets importable, not ``ALKIT_STATIC``, and an interactive
    frontend (:func:`frontend_is_interactive`; a headless nbclient run gets the static figure)."""
    if STATIC:
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return frontend_is_interactive()


def interact(func: Callable[..., Any], **controls: Any) -> Any:
    """``ipywidgets.interact`` when widgets are available, else one call with the default values.

    Parameters
    ----------
    func : callable
        Draws the figure for given control values (keyword arguments).
    **controls
        ``name=(lo, hi, step, default)`` for a float/int slider, ``name=[options...]`` (first is the
        default) for a dropdown, or a plain value for a fixed argument.

    Returns
    -------
    Whatever ``func`` returned for the default values (so the notebook can assert on it).
    """
    defaults: dict[str, Any] = {}
    for name, spec in controls.items():
        if isinstance(spec, tuple):
            if len(spec) != 4:
                raise ValueError(f"control {name!r}: a slider is (lo, hi, step, default), got {spec!r}")
            lo, hi, _step, default = spec
            if not lo <= default <= hi:
                raise ValueError(f"control {name!r}: default {default} outside [{lo}, {hi}]")
            defaults[name] = default
        elif isinstance(spec, list):
            if not spec:
                raise ValueError(f"control {name!r}: empty option list")
            defaults[name] = spec[0]
        else:
            defaults[name] = spec
    if not widgets_available():
        return func(**defaults)
    import ipywidgets as w
    from IPython.display import display

    kwargs: dict[str, Any] = {}
    for name, spec in controls.items():
        if isinstance(spec, tuple):
            lo, hi, step, default = spec
            cls = w.IntSlider if all(isinstance(v, int) and not isinstance(v, bool) for v in spec) else w.FloatSlider
            kwargs[name] = cls(min=lo, max=hi, step=step, value=default, description=name,
                               continuous_update=False)
        elif isinstance(spec, list):
            kwargs[name] = w.Dropdown(options=spec, value=spec[0], description=name)
        else:
            kwargs[name] = w.fixed(spec)
    out = w.interactive(func, **kwargs)
    display(out)
    return out.result


def step_button(step: Callable[[], Any], description: str = "Step one AL round") -> Any:
    """A button that calls ``step()`` on each click; without widgets, calls it once.

    Returns the result of the first call (made immediately, so the notebook has something to show).
    """
    first = step()
    if widgets_available():
        import ipywidgets as w
        from IPython.display import display

        button = w.Button(description=description)
        out = w.Output()

        def on_click(_: Any) -> None:
            with out:
                step()

        button.on_click(on_click)
        display(w.VBox([button, out]))
    return first


class Exercise:
    """An exercise: a prompt, a checker that compares with a reference computed in the package, hints.

    In a lesson (the exercise's reference, hints and worked solution live in :mod:`alkit.lessons.exercises`
    and :mod:`alkit.lessons.solutions`, out of the student's way)::

        ex = exercise("1.1")     # or exercise("3.1", view=view): what the checker needs from the lesson
        answer = None            # your code here
        ex.check(answer)         # a wrong answer says what is off; ex.reveal() prints a worked solution

    ``check(None)`` prints a reminder instead of failing, so the lesson runs before it is solved. Under
    ``ALKIT_SOLUTIONS=1`` (CI) ``check(None)`` fills in the worked solution and checks it, so every run of
    the lessons proves that each solution passes its checker.

    Parameters
    ----------
    key, prompt : str
    check : callable, optional
        ``check(answer) -> bool``: the old form, a bare predicate (no hint, no solution).
    reference : callable, optional
        ``reference() -> value``: the right answer, computed when an answer is checked.
    solution : callable, optional
        ``solution() -> answer``: the worked solution that ``ALKIT_SOLUTIONS=1`` fills in and :meth:`reveal`
        prints.
    hints : sequence of (callable, str), optional
        ``(predicate(answer) -> bool, message)``, tried before the generic comparison, for mistakes this
        exercise invites (the predicate may compare with the reference; the message must not print it).
    compare : dict, optional
        Keyword arguments of :func:`alkit.lessons.checking.diagnose` (``rtol``, ``atol``, ``names``,
        ``options``).
    """

    def __init__(self, key: str, prompt: str, check: Callable[[Any], bool] | None = None, *,
                 reference: Callable[[], Any] | None = None, solution: Callable[[], Any] | None = None,
                 hints: Sequence[tuple[Callable[[Any], bool], str]] = (),
                 compare: dict[str, Any] | None = None) -> None:
        if check is not None and not callable(check):
            raise TypeError(f"exercise {key}: check must be callable, got {type(check).__name__}")
        if (check is None) == (reference is None):
            raise TypeError(f"exercise {key}: give exactly one of check= (a predicate) and reference=")
        for name, fn in (("reference", reference), ("solution", solution)):
            if fn is not None and not callable(fn):
                raise TypeError(f"exercise {key}: {name} must be callable, got {type(fn).__name__}")
        self.key = key
        self.prompt = prompt
        self._check = check
        self._reference = reference
        self._solution = solution
        self._hints = list(hints)
        self._compare = dict(compare or {})
        self.solved: bool | None = None

    def __repr__(self) -> str:
        return f"Exercise({self.key!r}, solved={self.solved})"

    def problem(self, answer: Any) -> str | None:
        """``None`` when ``answer`` is right, else the hint :meth:`check` would raise (never the answer)."""
        if self._check is not None:
            return None if self._check(answer) else "not right yet"
        from alkit.lessons.checking import diagnose

        assert self._reference is not None
        generic = diagnose(answer, self._reference(), **self._compare)
        if generic is None:
            return None
        for predicate, message in self._hints:  # a mistake this exercise invites, named
            try:
                hit = bool(predicate(answer))
            except Exception:  # a hint's test may not apply to an answer of another type
                hit = False
            if hit:
                return message
        return generic

    def check(self, answer: Any) -> bool | None:
        """True when the answer is right; AssertionError with a hint when wrong; None when not answered."""
        if answer is None:
            if SOLUTIONS and self._solution is not None:
                answer = self._solution()
                print(f"Exercise {self.key}: the worked solution was filled in (ALKIT_SOLUTIONS=1).")
            elif SOLUTIONS:
                raise AssertionError(f"exercise {self.key}: no answer although ALKIT_SOLUTIONS=1 fills in solutions")
            else:
                more = " (stuck? .reveal() prints a worked solution)" if self._solution is not None else ""
                print(f"Exercise {self.key} not answered yet: {self.prompt}{more}")
                self.solved = None
                return None
        problem = self.problem(answer)
        self.solved = problem is None
        if problem is not None:
            raise AssertionError(f"exercise {self.key}: not right yet: {problem}")
        print(f"Exercise {self.key}: correct.")
        return True

    def reveal(self) -> None:
        """Print the source of the worked solution in :mod:`alkit.lessons.solutions`."""
        if self._solution is None:
            raise LookupError(f"exercise {self.key} has no worked solution")
        import inspect
        import textwrap

        text = textwrap.dedent(inspect.getsource(inspect.unwrap(self._solution)))
        print(text)
