"""Reproduce WAAL's Fashion-MNIST experiment (Shui et al. 2020, App. G; reference §6.3) through the AL loop.

Protocol: ``fashion_mnist`` with ``waal_split=True`` (40K pool + 20K validation, the official 10K
test set), 1,000 random initial labels, +500 per round, 10 rounds (6,000 labels), WAAL's LeNet with
the paper's dropout (0.5 / 0.5), SGD lr 0.01, batch 64 (+64 unlabeled for WAAL), lr ×0.1 at 50 % and
75 % of the epochs, early stopping on the validation split.

Schedule (sized so that one seed runs on a CPU; the README gives the measured time per seed): the
official code runs 80 epochs over the whole unlabeled pool per round. Here a WAAL round runs ``epochs``
(default 20) passes over the ~39K-34K unlabeled items with the paper's decay (lr ×0.1 after 50 % and
75 % of them) and keeps the weights of the best validation epoch. There is no patience-based early
stop: with a stepped schedule it fired before the first decay (3 flat epochs at lr 0.01) and left
every round under-trained and noisy (the earlier 12-epoch, patience-3 schedule: 84.2 % at 6K, rounds
moving by ±1 point). To fit the paper's training into these ~4× fewer steps the momentum is 0.9
instead of the paper's 0.5: SGD's effective step ``lr / (1 - momentum)`` becomes 0.1 instead of 0.02.

Single fits on 6,000 random labels (paper LeNet, test accuracy; their times: README, *Measured costs*):

==========================================================  ==========
training                                                    accuracy
==========================================================  ==========
plain cross-entropy, 7,500 steps, momentum 0.5              81.9 %
plain cross-entropy, 7,500 steps, momentum 0.9              86.4 %
WAAL min-max, 8 pool epochs, full schedule, momentum 0.9    84.5 %
WAAL min-max, 20 pool epochs, full schedule, momentum 0.9   86.5 %
==========================================================  ==========

``momentum=0.5`` restores the paper's optimiser. The random baseline trains the same LeNet with the
same optimiser and lr schedule and the same number of labeled mini-batch steps as a WAAL round
(``min_steps``), validated every ``eval_every`` epochs, so it is not under-trained.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alkit.learner import TrainConfig

__all__ = ["PAPER_WAAL_FMNIST", "waal_fmnist_config", "reproduce_waal_fmnist", "merge_seeds", "format_waal_fmnist",
           "print_waal_fmnist", "RESULTS_FILE", "results_path"]

#: The paper's Fashion-MNIST rows (App. G.4), test accuracy in % at 1K, 1.5K, ..., 6K labels.
PAPER_WAAL_FMNIST: dict[str, list[float]] = {
    "waal": [72.29, 76.99, 79.85, 81.08, 82.04, 82.74, 83.25, 83.96, 84.45, 85.20, 85.99],
    "random": [58.03, 66.81, 71.21, 73.12, 75.80, 77.34, 78.68, 79.58, 80.02, 80.93, 81.30],
}
PAPER_N_LABELED = [1000 + 500 * i for i in range(11)]

#: Name of the results file, in ``results_dir`` (default ``<workspace>/results``; the source tree keeps its
#: committed copy in ``benchmarks/results/``: ``alkit reproduce waal-fmnist --results benchmarks/results``).
RESULTS_FILE = "waal_fmnist.json"


def results_path(results_dir: str | Path | None = None, workspace: str | Path | None = None) -> Path:
    """``<results_dir>/waal_fmnist.json``; without ``results_dir``, ``<workspace>/results/waal_fmnist.json``
    (the workspace as :func:`alkit.store.resolve_workspace` finds it: argument, ``$ALKIT_WORKSPACE``,
    ``./alkit-workspace``)."""
    from alkit.store import resolve_workspace

    folder = Path(results_dir) if results_dir is not None else resolve_workspace(workspace) / "results"
    return folder / RESULTS_FILE

DEFAULT_EPOCHS = 20
DEFAULT_MOMENTUM = 0.9  # the paper's 0.5 with 6.5x fewer steps plateaus near 82 % (module docstring)
_STEPS_PER_POOL_EPOCH = 625  # ceil(40_000 / 64): a WAAL epoch over the pool, for the baseline's step budget
_PAPER_LENET = {"dropout": 0.5, "conv_dropout": 0.5}


def waal_fmnist_config(strategy: str = "waal", seed: int = 0, epochs: int | None = None,
                       momentum: float = DEFAULT_MOMENTUM) -> Any:
    """The :class:`~alkit.loop.ALConfig` of one run of the protocol (see the module docstring)."""
    from alkit.loop import ALConfig

    epochs = DEFAULT_EPOCHS if epochs is None else int(epochs)
    if epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if not 0.0 <= float(momentum) < 1.0:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
    common = dict(batch_size=64, optimizer="sgd", lr=0.01, momentum=float(momentum), lr_milestones=(0.5, 0.75),
                  validation="dataset", select_best=True)
    if strategy == "waal":
        train = TrainConfig(epochs=epochs, patience=0, **common)
        params: dict[str, Any] = {"mu": 1e-2, "eta": 5.0, "mix": 0.5}
    else:
        # Same LeNet, optimiser and schedule; as many labeled mini-batch steps as a WAAL round.
        train = TrainConfig(epochs=1, min_steps=epochs * _STEPS_PER_POOL_EPOCH, eval_every=10, patience=0,
                            **common)
        params = {}
    return ALConfig(dataset="fashion_mnist", dataset_params={"waal_split": True}, strategy=strategy,
                    strategy_params=params, model="lenet", model_params=dict(_PAPER_LENET), initial=1000,
                    initial_mode="random", query=500, rounds=10, seed=int(seed), device="auto", train=train)


def _load_results(path: Path) -> dict[str, Any]:
    if path.exists():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
    return {}


def _entry(seeds: list[int], per_seed: list[list[dict]], seconds: list[float], epochs: int,
           momentum: float) -> dict[str, Any]:
    n_points = min(len(c) for c in per_seed)
    curve = [{"n_labeled": per_seed[0][i]["n_labeled"],
              "accuracy": sum(c[i]["accuracy"] for c in per_seed) / len(per_seed)} for i in range(n_points)]
    return {"curve": curve, "seconds": sum(seconds) / len(seconds), "seeds": list(seeds), "per_seed": per_seed,
            "seconds_per_seed": [round(t, 1) for t in seconds], "epochs": epochs, "momentum": momentum}


def _seed_runs(entry: dict[str, Any]) -> dict[int, tuple[list[dict], float | None]]:
    """``{seed: (curve, seconds)}`` from whatever per-seed data an entry holds (older formats included).

    An entry from before ``seconds_per_seed`` gives each of its seeds its stored mean ``seconds``; one
    without ``per_seed`` but with a single seed and a ``curve`` is that seed's curve.
    """
    seeds = [int(x) for x in entry.get("seeds", [])]
    per_seed = entry.get("per_seed")
    if per_seed is None and len(seeds) == 1 and entry.get("curve"):
        per_seed = [entry["curve"]]
    if not seeds or per_seed is None or len(per_seed) != len(seeds):
        return {}
    secs = entry.get("seconds_per_seed")
    if secs is None or len(secs) != len(seeds):
        secs = [entry.get("seconds")] * len(seeds)
    return {seed: (list(curve), None if t is None else float(t)) for seed, curve, t in zip(seeds, per_seed, secs)}


def merge_seeds(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Add ``new``'s seeds to ``old``'s when both ran the same schedule (epochs, momentum); drop nothing.

    The curve becomes the mean over all seeds and ``seconds`` the mean wall time per seed, so seeds can
    be run one at a time (``--seeds 1`` after ``--seeds 0``). Every stored seed is kept: a seed run
    again replaces only that seed's run; an entry from before ``seconds_per_seed`` counts each of its
    seeds at its stored mean time. An old entry that cannot be averaged in (another schedule, or no
    per-seed data) is kept whole under the new entry's ``"superseded"`` list, with a ``UserWarning``.
    """
    if not old:
        return new
    superseded = list(old.get("superseded", []))
    runs = _seed_runs(old)
    same_schedule = (old.get("epochs"), old.get("momentum")) == (new["epochs"], new["momentum"])
    if not runs or not same_schedule:
        kept = {k: v for k, v in old.items() if k != "superseded"}
        why = "another schedule" if runs else "no per-seed data"
        warnings.warn(f"the stored entry (seeds {old.get('seeds', '?')}, epochs {old.get('epochs')}, momentum "
                      f"{old.get('momentum')}) cannot be averaged with the new one ({why}); it is kept under "
                      "'superseded'", UserWarning, stacklevel=2)
        out = dict(new)
        out["superseded"] = superseded + [kept]
        return out
    new_runs = _seed_runs(new)
    redone = sorted(set(runs) & set(new_runs))
    if redone:
        warnings.warn(f"seeds {redone} were run again: their new runs replace the stored ones", UserWarning,
                      stacklevel=2)
    runs.update(new_runs)
    seeds = list(runs)
    secs = [runs[x][1] for x in seeds]
    known = [t for t in secs if t is not None]
    out = _entry(seeds, [runs[x][0] for x in seeds], known or [0.0], new["epochs"], new["momentum"])
    out["seconds_per_seed"] = [None if t is None else round(t, 1) for t in secs]
    if superseded:
        out["superseded"] = superseded
    return out


def reproduce_waal_fmnist(strategy: str = "waal", seeds: Sequence[int] = (0,), epochs: int | None = None,
                          momentum: float = DEFAULT_MOMENTUM, progress: bool = True, workspace: str | Path | None = None,
                          results_dir: str | Path | None = None) -> dict[str, Any]:
    """Run the protocol for each seed; write and return ``{strategy: {"curve": [...], "seconds": ...}}``.

    Parameters
    ----------
    strategy : str
        ``"waal"`` or any registered strategy (``"random"`` for the paper's baseline).
    seeds : sequence of int
        One run per seed; the curve is the mean accuracy over seeds (``per_seed`` keeps each). Seeds
        already in the results file with the same schedule are kept and averaged in (:func:`merge_seeds`).
    epochs : int, optional
        WAAL: passes over the unlabeled pool per round (default 20); others: the step budget
        is ``epochs × 625`` labeled mini-batches.
    momentum : float
        SGD momentum (default 0.9, see the module docstring; the paper's is 0.5).
    progress : bool
        Show a progress bar per run.
    workspace : str or Path, optional
        Workspace whose run store keeps the runs (default: runs are not stored); its ``results/``
        folder is the default ``results_dir``.
    results_dir : str or Path, optional
        Folder of the results file ``waal_fmnist.json`` (see :func:`results_path`; default
        ``<workspace>/results``, with the default workspace when none is given).

    Returns
    -------
    dict
        The whole results file after merging this strategy's entry: ``curve`` = list of
        ``{"n_labeled", "accuracy"}`` (accuracy in [0, 1]), ``seconds`` = mean wall time per seed.
    """
    from alkit.data import load_dataset
    from alkit.loop import ALRun
    from alkit.store import RunStore

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("give at least one seed")
    store = RunStore(workspace) if workspace is not None else None
    path = results_path(results_dir, workspace)
    dataset = load_dataset("fashion_mnist", waal_split=True)
    per_seed, seconds = [], []
    for seed in seeds:
        t0 = time.perf_counter()
        run = ALRun(waal_fmnist_config(strategy, seed, epochs, momentum), store=store, dataset=dataset)
        history = run.run(progress=progress)
        seconds.append(time.perf_counter() - t0)
        per_seed.append([{"n_labeled": r.n_labeled, "accuracy": r.accuracy} for r in history])
    results = _load_results(path)
    entry = _entry(seeds, per_seed, seconds, DEFAULT_EPOCHS if epochs is None else int(epochs), float(momentum))
    results[strategy] = merge_seeds(results.get(strategy), entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    return results


def format_waal_fmnist(results: dict[str, Any]) -> str:
    """A table: labeled size, then for each strategy our accuracy (%) beside the paper's."""
    names = sorted(results)
    head = f"{'labeled':>8}" + "".join(f" {n + ' (ours)':>16} {n + ' (paper)':>16}" for n in names)
    lines = [head]
    for i, n_lab in enumerate(PAPER_N_LABELED):
        row = f"{n_lab:>8}"
        for name in names:
            ours = {p["n_labeled"]: p["accuracy"] for p in results[name].get("curve", [])}.get(n_lab)
            paper = PAPER_WAAL_FMNIST.get(name)
            row += f" {'-' if ours is None else f'{100 * ours:.2f}':>16}"
            row += f" {'-' if paper is None else f'{paper[i]:.2f}':>16}"
        lines.append(row)
    for name in names:
        if "seconds" in results[name]:
            lines.append(f"{name}: {results[name]['seconds'] / 60:.1f} min per seed")
    return "\n".join(lines)


def print_waal_fmnist(results: dict[str, Any] | None = None, path: str | Path | None = None) -> None:
    """Print our curve(s) beside the paper's rows (default: read the file :func:`results_path` names)."""
    if results is None:
        results = _load_results(Path(path) if path is not None else results_path())
    print(format_waal_fmnist(results))
