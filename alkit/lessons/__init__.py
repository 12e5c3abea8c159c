"""What only the lesson notebooks use: smoke/full switches, widgets with a static fallback, exercises,
and the small toy set-ups several lessons share.

>>> from alkit.lessons import SOLUTIONS, Exercise, interact, pick  # doctest: +SKIP
"""

from alkit.lessons.helpers import gen, pool_view, toy_configs
from alkit.lessons.widgets import SMOKE, SOLUTIONS, STATIC, Exercise, interact, pick, step_button, widgets_available

__all__ = ["SMOKE", "SOLUTIONS", "STATIC", "Exercise", "gen", "interact", "pick", "pool_view", "step_button",
           "toy_configs", "widgets_available"]
