"""Helpers the lessons in ``notebooks/`` share: smoke mode, exercises, widgets with a static fallback.

The notebooks teach; this module only removes boilerplate from them, so that every lesson handles
the three ways it is run in the same way:

* **interactively** in JupyterLab (``make lab``): sliders and buttons are live ipywidgets;
* **headless** under nbmake in CI with ``ALKIT_SMOKE=1``: tiny pools, one seed, widgets still
  render once with their default values (the figure is produced by the first call);
* **without ipywidgets** (or with ``ALKIT_STATIC=1``): the same function is called once with the
  default values, so every figure still appears.

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
from collections.abc import Callable
from typing import Any

__all__ = [
    "SMOKE",
    "SOLUTIONS",
    "STATIC",
    "Exercise",
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


def widgets_available() -> bool:
    """Whether live ipywidgets can be shown (ipywidgets importable, an IPython kernel, not ``ALKIT_STATIC``)."""
    if STATIC:
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


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
    """An exercise whose answer is checked by an assert, with the solution hidden behind a flag.

    In the notebook::

        ex = Exercise("1.1", "W1 of instance B's Q2", check=lambda ans: abs(ans - 0.15) < 1e-6)
        answer = None          # your code here
        if SOLUTIONS:          # the solution cell, collapsed in the lesson
            answer = toy.w1_closed_form(...)
        ex.check(answer)

    ``check(None)`` prints a reminder instead of failing, so the lesson runs before it is solved;
    under ``ALKIT_SOLUTIONS=1`` a missing answer is an error, so CI checks every checker.
    """

    def __init__(self, key: str, prompt: str, check: Callable[[Any], bool]) -> None:
        if not callable(check):
            raise TypeError(f"exercise {key}: check must be callable, got {type(check).__name__}")
        self.key = key
        self.prompt = prompt
        self._check = check
        self.solved: bool | None = None

    def __repr__(self) -> str:
        return f"Exercise({self.key!r}, solved={self.solved})"

    def check(self, answer: Any) -> bool | None:
        """True when the answer is right; AssertionError when wrong; None (and a hint) when not answered."""
        if answer is None:
            if SOLUTIONS:
                raise AssertionError(f"exercise {self.key}: no answer although ALKIT_SOLUTIONS=1 fills in solutions")
            print(f"Exercise {self.key} not answered yet: {self.prompt}")
            self.solved = None
            return None
        ok = bool(self._check(answer))
        self.solved = ok
        assert ok, f"exercise {self.key}: {answer!r} is not right yet ({self.prompt})"
        print(f"Exercise {self.key}: correct.")
        return True
