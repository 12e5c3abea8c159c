"""Moved to :mod:`alkit.lessons`; this name stays so that notebooks written against it keep working."""

from alkit.lessons.widgets import *  # noqa: F401, F403
from alkit.lessons.widgets import __all__  # noqa: F401
