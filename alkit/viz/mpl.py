"""The one matplotlib helper every lesson and figure module shares."""

from __future__ import annotations

from typing import Any

__all__ = ["show"]


def show(fig: Any = None) -> None:
    """Display a matplotlib figure once (inline, or inside a widget's output) and close it.

    ``fig=None`` takes the current figure. Outside IPython (scripts, tests) the figure is only
    closed, so figures never pile up under a non-GUI backend. Returns None, so a cell ending in
    ``show(fig)`` does not display the figure a second time.
    """
    import matplotlib.pyplot as plt

    fig = plt.gcf() if fig is None else fig
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with the notebook extra
        get_ipython = None  # type: ignore[assignment]
    if get_ipython is not None and get_ipython() is not None:
        display(fig)
    plt.close(fig)
