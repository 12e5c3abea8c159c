"""Figure builders shared by notebooks, the dashboard and reports."""

from alkit.viz.curves import learning_curve_figure, write_report
from alkit.viz.sweep import penalty_heatmap_figure, sweep_curve_figure

__all__ = ["learning_curve_figure", "write_report", "sweep_curve_figure", "penalty_heatmap_figure"]
