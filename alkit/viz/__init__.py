"""Figure builders shared by notebooks, the dashboard and reports."""

from alkit.viz.curves import learning_curve_figure, write_report

__all__ = ["learning_curve_figure", "write_report"]
