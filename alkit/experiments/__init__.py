"""Experiment drivers over the core: strategy comparisons, timings, paper reproductions, ranking studies.

* :mod:`alkit.experiments.compare` — :func:`run_comparison`: strategies x seeds on one dataset, into the store;
* :mod:`alkit.experiments.timing` — what ``alkit bench`` measures (selection-only and inference timings);
* :mod:`alkit.experiments.reproduce` — ``alkit reproduce``: published numbers re-run (WAAL on Fashion-MNIST);
* :mod:`alkit.experiments.ranking` — how differently strategies order one pool (Spearman matrices).

The core (loop, learner, strategies, store) never imports this package; sweeps belong here too.
"""
