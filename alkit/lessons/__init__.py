"""What only the lesson notebooks use: smoke/full switches, widgets with a static fallback, exercises,
and the small toy set-ups several lessons share.

>>> from alkit.lessons import exercise, interact, pick  # doctest: +SKIP
"""

from alkit.lessons.exercises import exercise
from alkit.lessons.helpers import gen, pool_view, toy_configs
from alkit.lessons.widgets import (
    SMOKE,
    SOLUTIONS,
    STATIC,
    Exercise,
    frontend_is_interactive,
    interact,
    pick,
    step_button,
    widgets_available,
)

__all__ = ["SMOKE", "SOLUTIONS", "STATIC", "Exercise", "exercise", "frontend_is_interactive", "gen", "interact",
           "pick", "pool_view", "step_button", "toy_configs", "widgets_available"]
