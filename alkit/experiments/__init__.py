"""Experiment drivers over the core: strategy comparisons, timings, paper reproductions, ranking studies.

* :mod:`alkit.experiments.sweep` — ``alkit sweep``: :class:`SweepSpec` (datasets x strategies x seeds), the driver
  (the store's one writer), skip / resume of cells; :mod:`alkit.experiments.engines`: the serial, process and
  Ray engines behind one executor interface;
* :mod:`alkit.experiments.stats` and :mod:`alkit.experiments.report` — ``alkit report``: bootstrap intervals,
  paired tests, the penalty matrix, verdicts vs Random;
* :mod:`alkit.experiments.compare` — :func:`run_comparison`: strategies x seeds on one dataset, through the sweep
  driver;
* :mod:`alkit.experiments.timing` — what ``alkit bench`` measures (selection-only and inference timings);
* :mod:`alkit.experiments.reproduce` — ``alkit reproduce``: published numbers re-run (WAAL on Fashion-MNIST);
* :mod:`alkit.experiments.ranking` — how differently strategies order one pool (Spearman matrices).

The core (loop, learner, strategies, store) never imports this package.
"""
