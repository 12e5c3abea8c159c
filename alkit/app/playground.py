""""You are the strategy": pick points on a 2-D toy and compare your pick with Random's and the strategies'.

Every candidate pick starts from the same state (the same labeled set, the same trained model)
and is judged the same way: add the picked points with their true labels, retrain the model
from the same seed, measure test accuracy. The difference to the state's accuracy is the pick's
**gain**. Because the retraining seed is fixed, two picks that add the same points get exactly
the same accuracy, so differences come from the points alone.

>>> pg = Playground("moons", initial=6, seed=0)                      # doctest: +SKIP
>>> rows = pg.compare([12, 40, 77], strategies=["entropy", "kcenter"])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from alkit.data import load_dataset
from alkit.learner import Learner, TrainConfig
from alkit.loop import build_view
from alkit.presets import get_preset
from alkit.seeding import make_generator, seed_for
from alkit.strategies import get_strategy

__all__ = ["PLAY_STRATEGIES", "Playground", "playable_strategies"]

#: Strategies compared by default: cheap, no training hook, meaningful on 2-D data. ``typiclust`` and
#: ``probcover`` (the low-budget strategies of lesson 11) work on the toy's own 2-D coordinates (their PCA
#: of inputs with 2 features is the centred inputs), so they answer without the model.
PLAY_STRATEGIES = ("entropy", "margin", "kcenter", "kmeans", "badge", "typiclust", "probcover")


def playable_strategies() -> list[str]:
    """Registered strategies that can answer from a state without changing training (no training hook),
    need no generative model, and are cheap on a toy pool."""
    from alkit.strategies import list_strategies

    out = []
    for name in list_strategies():
        s = get_strategy(name)
        if s.training_hook() is not None or not type(s).in_demo or name == "random":
            continue
        out.append(name)
    return out


class Playground:
    """The state of one game: a 2-D toy pool, a labeled set and the model trained on it.

    Parameters
    ----------
    dataset : str
        A 2-D dataset (``moons``, ``blobs``, ``sampling_bias``).
    initial : int
        Size of the seeded initial labeled set (drawn class-balanced where possible).
    seed : int
        Seeds the initial set, every retraining and the Random baseline.
    train : TrainConfig, optional
        Default: the dataset's preset.
    dataset_params : dict, optional
        Passed to the loader (``n_samples``, ``noise``, ...).
    """

    def __init__(self, dataset: str = "moons", *, initial: int = 6, seed: int = 0, train: TrainConfig | None = None,
                 dataset_params: dict[str, Any] | None = None, hidden: Sequence[int] = (32, 32)) -> None:
        self.ds = load_dataset(dataset, **(dataset_params or {}))
        if self.ds.input_shape != (2,):
            raise ValueError(f"the Play game needs a 2-D dataset (moons, blobs, sampling_bias); "
                             f"{dataset} has inputs of shape {self.ds.input_shape}")
        n = len(self.ds.x_train)
        if isinstance(initial, bool) or not isinstance(initial, int) or not 1 <= initial < n:
            raise ValueError(f"initial must be an integer in [1, {n - 1}], got {initial!r}")
        self.dataset = dataset
        self.seed = int(seed)
        self.train = train or get_preset(dataset).train
        self.hidden = tuple(int(h) for h in hidden)
        self.device = torch.device("cpu")
        self.round = 0
        self.labeled: list[int] = self._initial(initial)
        self._cache: dict[tuple[int, ...], float] = {}
        self.learner, self.accuracy = self._fit(self.labeled)
        self.history: list[tuple[int, float]] = [(len(self.labeled), self.accuracy)]

    # ------------------------------------------------------------------ state
    def _initial(self, k: int) -> list[int]:
        g = make_generator(seed_for(self.seed, 0, "initial"))
        y = self.ds.y_train
        per = max(1, k // self.ds.num_classes)
        picks: list[int] = []
        for c in range(self.ds.num_classes):
            members = torch.nonzero(y == c).flatten()
            picks += members[torch.randperm(len(members), generator=g)[:per]].tolist()
        picks = picks[:k]
        if len(picks) < k:
            rest = [i for i in torch.randperm(len(y), generator=g).tolist() if i not in set(picks)]
            picks += rest[: k - len(picks)]
        return sorted(picks)

    @property
    def num_classes(self) -> int:
        return self.ds.num_classes

    def unlabeled(self) -> list[int]:
        lab = set(self.labeled)
        return [i for i in range(len(self.ds.x_train)) if i not in lab]

    def _fit(self, labeled: Sequence[int]) -> tuple[Learner, float]:
        learner = Learner("mlp", (2,), self.num_classes, self.train, self.device, {"hidden": self.hidden})
        idx = torch.as_tensor(sorted(labeled), dtype=torch.long)
        learner.fit(self.ds.x_train[idx], self.ds.y_train[idx], seed=seed_for(self.seed, 0, "play_train"))
        acc = float((learner.predict(self.ds.x_test).cpu() == self.ds.y_test).float().mean())
        self._cache[tuple(sorted(int(i) for i in labeled))] = acc
        return learner, acc

    def accuracy_with(self, pick: Sequence[int]) -> float:
        """Test accuracy after adding ``pick`` (true labels) to the labeled set and retraining."""
        pick = self.check_pick(pick)
        key = tuple(sorted(self.labeled + pick))
        if key not in self._cache:
            self._fit(key)
        return self._cache[key]

    def check_pick(self, pick: Sequence[int]) -> list[int]:
        """Validate a pick: distinct, unlabeled pool indices; returns them as ints."""
        try:
            out = [int(i) for i in pick]
        except (TypeError, ValueError):
            raise ValueError(f"a pick is a list of pool indices, got {pick!r}") from None
        if not out:
            raise ValueError("pick at least one point")
        n = len(self.ds.x_train)
        bad = [i for i in out if not 0 <= i < n]
        if bad:
            raise ValueError(f"pool indices {bad[:5]} are outside [0, {n})")
        if len(set(out)) != len(out):
            raise ValueError("the pick contains the same point twice")
        lab = set(self.labeled)
        already = [i for i in out if i in lab]
        if already:
            raise ValueError(f"points {already[:5]} are already labeled; pick unlabeled (grey) points")
        return out

    # ------------------------------------------------------------------ other pickers
    def strategy_pick(self, name: str, k: int, **params: Any) -> list[int]:
        """The ``k`` points strategy ``name`` queries from the current state (same model, same pool)."""
        strategy = get_strategy(name, **params)
        if strategy.training_hook() is not None:
            raise ValueError(f"strategy {name!r} changes training (it has a training hook); it cannot answer from a "
                             "fixed state in the Play game")
        lab = torch.as_tensor(sorted(self.labeled), dtype=torch.long)
        unl = torch.as_tensor(self.unlabeled(), dtype=torch.long)
        labels = torch.full((len(self.ds.x_train),), -1, dtype=torch.long)
        labels[lab] = self.ds.y_train[lab]
        view = build_view(strategy.required(), self.learner, self.ds, lab, unl, labels,
                          mc_samples=strategy.mc_samples, seed=seed_for(self.seed, self.round + 1, "mc"),
                          round_idx=self.round + 1)
        gen = make_generator(seed_for(self.seed, self.round + 1, "query"), self.device)
        budget = min(int(k), len(unl))  # the strategy refuses more than the unlabeled pool holds
        return [int(i) for i in strategy.query(view, budget, gen).indices.cpu().tolist()]

    def random_pick(self, k: int, draw: int = 0) -> list[int]:
        """``k`` unlabeled points drawn uniformly (seeded by the state and ``draw``)."""
        unl = self.unlabeled()
        if not 1 <= k <= len(unl):
            raise ValueError(f"k must be in [1, {len(unl)}], got {k}")
        g = make_generator(seed_for(self.seed, self.round * 1000 + draw, "play_random"))
        return sorted(unl[i] for i in torch.randperm(len(unl), generator=g)[:k].tolist())

    def compare(self, user_pick: Sequence[int], *, strategies: Sequence[str] = PLAY_STRATEGIES,
                random_repeats: int = 3, progress: Callable[[str, int, int], None] | None = None) -> list[dict[str, Any]]:
        """Accuracy gain of the user's pick, of Random (mean over ``random_repeats`` draws) and of each strategy.

        Every picker adds as many points as the user picked. Rows (user first, then Random, then
        strategies) hold ``picker``, ``points``, ``accuracy``, ``gain`` and for Random ``gain_std``.
        """
        pick = self.check_pick(user_pick)
        if random_repeats < 1:
            raise ValueError(f"random_repeats must be >= 1, got {random_repeats}")
        k = len(pick)
        steps = 1 + random_repeats + len(strategies)
        done = 0

        def tick(what: str) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(what, done, steps)

        base = self.accuracy
        rows: list[dict[str, Any]] = []
        acc = self.accuracy_with(pick)
        rows.append({"picker": "you", "points": pick, "accuracy": acc, "gain": acc - base})
        tick("you")
        accs, draws = [], []
        for d in range(random_repeats):
            rp = self.random_pick(k, d)
            draws.append(rp)
            accs.append(self.accuracy_with(rp))
            tick(f"random draw {d + 1}")
        rows.append({"picker": "random", "points": draws[0], "accuracy": float(np.mean(accs)),
                     "gain": float(np.mean(accs)) - base,
                     "gain_std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0, "draws": len(accs)})
        for name in strategies:
            sp = self.strategy_pick(name, k)
            a = self.accuracy_with(sp)
            rows.append({"picker": name, "points": sp, "accuracy": a, "gain": a - base})
            tick(name)
        return rows

    def commit(self, pick: Sequence[int]) -> float:
        """Label ``pick`` for real: the state moves on (retrained model, next round); returns the new accuracy."""
        pick = self.check_pick(pick)
        self.labeled = sorted(self.labeled + pick)
        self.round += 1
        self.learner, self.accuracy = self._fit(self.labeled)
        self.history.append((len(self.labeled), self.accuracy))
        return self.accuracy

    # ------------------------------------------------------------------ for figures
    def bounds(self, pad: float = 0.5) -> tuple[float, float, float, float]:
        x = self.ds.x_train.numpy()
        return (float(x[:, 0].min()) - pad, float(x[:, 0].max()) + pad,
                float(x[:, 1].min()) - pad, float(x[:, 1].max()) + pad)

    def grid_probs(self, res: int = 70) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The current model's class probabilities on a ``res x res`` grid: ``(xs, ys, probs (res, res, K))``."""
        x0, x1, y0, y1 = self.bounds()
        xs = np.linspace(x0, x1, res, dtype=np.float32)
        ys = np.linspace(y0, y1, res, dtype=np.float32)
        gx, gy = np.meshgrid(xs, ys)
        pts = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1))
        probs = self.learner.predict_proba(pts).cpu().numpy().reshape(res, res, -1)
        return xs, ys, probs
