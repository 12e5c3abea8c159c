"""One training loop: ``Learner.fit`` with a :class:`~alkit.learner.FitPlan` (issue #13).

* the default plan is plain supervised training, bit for bit (against a hand-written loop);
* every registered strategy that changes training trains through ``Learner.fit`` and obeys its shared
  validation / early-stopping / best-state / ``min_steps`` rules (parametrised over the registry, so a new
  training-changing strategy is covered automatically);
* no module outside ``learner.py`` touches a learner's private attributes.
"""

import ast
import dataclasses
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import alkit
from alkit.data import load_dataset
from alkit.learner import Batch, FitPlan, FitReport, Learner, TrainConfig, fit_phases
from alkit.loop import ALConfig, ALRun
from alkit.seeding import seeded
from alkit.strategies import get_strategy, list_strategies


def blobs(n=90, k=3, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(k, d, generator=g) * 2
    y = torch.arange(n) % k
    return centers[y] + torch.randn(n, d, generator=g), y


def _params(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _report(r: FitReport):
    return {f.name: getattr(r, f.name) for f in dataclasses.fields(r) if f.name not in ("seconds", "modules")}


# ------------------------------------------------------------------------------ the default plan
def _reference_fit(learner, x, y, seed, w=None):
    """Plain supervised training written out: Adam, seeded shuffles, weighted mean CE, min_steps, lr milestones."""
    c = learner.config
    gen = torch.Generator().manual_seed(seed)
    model = learner.new_model(seed)
    opt = torch.optim.Adam(model.parameters(), lr=c.lr)
    per_epoch = math.ceil(len(x) / c.batch_size)
    epochs = max(c.epochs, math.ceil(c.min_steps / per_epoch))
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [round(m * epochs) for m in c.lr_milestones], c.lr_gamma)
    losses = []
    with seeded(seed + 1, torch.device("cpu")):
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(x), generator=gen)
            total = 0.0
            for s in range(0, len(x), c.batch_size):
                i = order[s : s + c.batch_size]
                logits = model(x[i])
                per = F.cross_entropy(logits, y[i], reduction="none")
                loss = F.cross_entropy(logits, y[i]) if w is None else (per * w[i]).sum() / w[i].sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(i)
            sched.step()
            losses.append(total / len(x))
    return model, losses, epochs * per_epoch


@pytest.mark.parametrize("weighted", [False, True])
def test_default_plan_is_a_plain_supervised_loop_bit_for_bit(weighted):
    x, y = blobs()
    w = torch.linspace(0.5, 2.0, len(x)) if weighted else None
    cfg = TrainConfig(epochs=3, batch_size=16, min_steps=25, lr=3e-3, lr_milestones=(0.5,))
    ref, losses, steps = _reference_fit(Learner("mlp", (5,), 3, cfg, "cpu"), x, y, 4, w)
    for plan in (None, FitPlan()):
        lr = Learner("mlp", (5,), 3, cfg, "cpu")
        rep = lr.fit(x, y, seed=4, sample_weight=w, plan=plan)
        assert _same(_params(lr.model), _params(ref))
        assert rep.steps == steps >= 25 and rep.modules == {}
        assert rep.train_loss == pytest.approx(losses, rel=1e-6)


class _WrittenOut(FitPlan):
    """Every hook of the default plan written out again: the loop must not depend on anything else."""

    def train_set(self, x, y, weight):
        return x.clone(), y.clone(), weight

    def modules(self, model, x):
        return {}

    def steps_per_epoch(self, n, batch_size):
        return -(-n // batch_size)

    def batches(self, n, batch_size, generator, device):
        order = torch.randperm(n, generator=generator)
        return [Batch(order[s : s + batch_size]) for s in range(0, n, batch_size)]

    def loss(self, fit, batch):
        i = batch.labeled
        if fit.weight is None:
            return F.cross_entropy(fit.model(fit.x[i]), fit.y[i], label_smoothing=fit.config.label_smoothing)
        per = F.cross_entropy(fit.model(fit.x[i]), fit.y[i], reduction="none",
                              label_smoothing=fit.config.label_smoothing)
        return (per * fit.weight[i]).sum() / fit.weight[i].sum().clamp_min(1e-12)


@pytest.mark.parametrize("cfg", [
    TrainConfig(epochs=30, batch_size=16, validation="holdout", patience=3, lr_milestones=(0.5, 0.75),
                optimizer="sgd", lr=0.05),
    TrainConfig(epochs=12, batch_size=32, validation="dataset", eval_every=2, label_smoothing=0.1, select_best=False),
])
def test_default_plan_with_validation_equals_no_plan_and_a_written_out_plan(cfg):
    x, y = blobs(120)
    xv, yv = blobs(60, seed=1)
    fits = []
    for plan in (None, FitPlan(), _WrittenOut()):
        lr = Learner("mlp", (5,), 3, cfg, "cpu")
        rep = lr.fit(x, y, seed=9, x_val=xv, y_val=yv, plan=plan)
        fits.append((_params(lr.model), _report(rep)))
    assert fits[0][1]["val_accuracy"]  # validation ran
    for params, rep in fits[1:]:
        assert _same(params, fits[0][0]) and rep == fits[0][1]


# ------------------------------------------------------------------------------ extra modules
class _TwoModules(FitPlan):
    """A joint module trained by the step's loss and a frozen one trained only by the extra step."""

    joint = ("joint",)

    def __init__(self, train_other=False):
        self.train_other = train_other
        self.other_grads_in_step = []

    def modules(self, model, x):
        return {"joint": nn.Linear(3, 1), "other": nn.Linear(3, 1)}

    def loss(self, fit, batch):
        logits = fit.model(fit.x[batch.labeled])
        extra = fit.modules["joint"](logits).mean() + fit.modules["other"](logits).mean()
        self.other_grads_in_step.append(any(p.requires_grad for p in fit.modules["other"].parameters()))
        return F.cross_entropy(logits, fit.y[batch.labeled]) + 0.1 * extra

    def extra_step(self, fit, batch):
        if self.train_other:
            with torch.no_grad():
                z = fit.model(fit.x[batch.labeled])
            loss = fit.modules["other"](z).pow(2).mean()
            fit.optimizers["other"].zero_grad()
            loss.backward()
            fit.optimizers["other"].step()


def test_extra_modules_joint_or_frozen_and_returned_in_the_report():
    x, y = blobs()
    with seeded(2, torch.device("cpu")):  # the learner builds a plan's modules under seed + 2
        fresh = _TwoModules().modules(None, None)
    for train_other in (False, True):
        plan = _TwoModules(train_other)
        lr = Learner("mlp", (5,), 3, TrainConfig(epochs=2, batch_size=30), "cpu")
        rep = lr.fit(x, y, seed=0, plan=plan)
        assert set(rep.modules) == {"joint", "other"} and not any(m.training for m in rep.modules.values())
        assert not any(plan.other_grads_in_step)  # a non-joint module is frozen during the step
        assert all(p.requires_grad for p in rep.modules["other"].parameters())  # ... and unfrozen after it
        assert not _same(rep.modules["joint"].state_dict(), fresh["joint"].state_dict())  # trained with the model
        assert _same(rep.modules["other"].state_dict(), fresh["other"].state_dict()) != train_other


def test_a_plan_that_names_an_unknown_joint_module_is_refused():
    class Bad(FitPlan):
        joint = ("critic",)

    x, y = blobs()
    with pytest.raises(ValueError, match=r"joint modules \['critic'\] are not among its modules \[\]"):
        Learner("mlp", (5,), 3, TrainConfig(epochs=1), "cpu").fit(x, y, seed=0, plan=Bad())


def test_best_state_restores_the_extra_modules_too():
    """select_best restores every module to the best epoch: re-running with epochs = best_epoch gives the same."""
    x, y = blobs(60)
    xv, yv = blobs(60, seed=3)
    cfg = TrainConfig(epochs=15, batch_size=20, validation="dataset", lr=1e-2)
    lr = Learner("mlp", (5,), 3, cfg, "cpu")
    rep = lr.fit(x, y, seed=1, x_val=xv, y_val=yv, plan=_TwoModules(True))
    assert rep.best_epoch < rep.epochs_run  # the snapshot is not simply the end state
    short = Learner("mlp", (5,), 3, dataclasses.replace(cfg, epochs=rep.best_epoch), "cpu")
    rep2 = short.fit(x, y, seed=1, x_val=xv, y_val=yv, plan=_TwoModules(True))
    assert _same(_params(lr.model), _params(short.model))
    for k in ("joint", "other"):
        assert _same(rep.modules[k].state_dict(), rep2.modules[k].state_dict())


# ------------------------------------------------------------------------------ every training-changing strategy
def _training_changing():
    return [n for n in list_strategies() if get_strategy(n).training_hook() is not None]


#: Cheap settings; a strategy missing here runs with its defaults.
_PARAMS = {"ceal": {"delta0": 2.0, "schedule": "constant"}, "ensemble_var_ratio": {"k": 2}}


def test_the_known_training_changing_strategies_are_covered():
    assert {"ceal", "lpl", "ensemble_var_ratio", "waal"} <= set(_training_changing())


@pytest.fixture(scope="module")
def small_digits():
    ds = load_dataset("digits")
    return dataclasses.replace(ds, x_train=ds.x_train[:160], y_train=ds.y_train[:160],
                               x_val=ds.x_test[:120], y_val=ds.y_test[:120])


@pytest.mark.parametrize("name", _training_changing())
def test_training_changing_strategy_follows_the_shared_rules(name, small_digits, monkeypatch):
    calls = []
    real_fit = Learner.fit

    def spy(self, *args, **kw):
        calls.append(real_fit(self, *args, **kw))
        return calls[-1]

    monkeypatch.setattr(Learner, "fit", spy)
    patience = 2
    cfg = TrainConfig(epochs=20, batch_size=16, lr=1e-2, validation="dataset", patience=patience)
    run = ALRun(ALConfig(dataset="digits", strategy=name, strategy_params=_PARAMS.get(name, {}), initial=30,
                         query=10, rounds=1, seed=0, train=cfg, device="cpu"), dataset=small_digits)
    ds = small_digits
    for _ in range(2):  # round 0 and one query round (CEAL's pseudo-labels, LPL's / WAAL's trained modules)
        calls.clear()
        run.step()
        rep = run.fit_report
        assert calls and rep is calls[-1] and run.learner.last_fit is rep  # trained by the one loop
        acc = rep.val_accuracy
        assert len(acc) == rep.epochs_run  # eval_every=1
        best = max(acc)
        assert rep.best_val_accuracy == best and rep.best_epoch == acc.index(best) + 1  # the first best epoch
        # early stopping: at most `patience` evaluations after the best, and stopped right at the rule
        assert rep.epochs_run - rep.best_epoch <= patience
        assert rep.epochs_run - rep.best_epoch == patience or rep.epochs_run == cfg.epochs
        # the returned model is the best-validation snapshot
        val = float((run.learner.predict(ds.x_val) == ds.y_val).float().mean())
        assert val == rep.best_val_accuracy
        assert not run.learner.model.training and not any(m.training for m in rep.modules.values())


@pytest.mark.parametrize("name", _training_changing())
def test_training_changing_strategy_honours_min_steps(name, small_digits):
    cfg = TrainConfig(epochs=1, batch_size=64, min_steps=7)
    run = ALRun(ALConfig(dataset="digits", strategy=name, strategy_params={**_PARAMS.get(name, {}), "epochs": 1}
                         if name == "waal" else _PARAMS.get(name, {}), initial=30, query=10, rounds=1, seed=0,
                         train=cfg, device="cpu"), dataset=small_digits)
    for _ in range(2):
        run.step()
        rep = run.fit_report
        assert rep.steps >= 7 and rep.val_accuracy == [] and rep.best_epoch is None
        assert rep.steps % rep.epochs_run == 0 and rep.steps - rep.steps // rep.epochs_run < 7  # no epoch too many


# ------------------------------------------------------------------------------ the small fit loop
def test_fit_phases_runs_phases_in_order_and_averages_the_last_window():
    order = []

    def a(k):
        order.append(("a", k))
        return {"x": torch.tensor(float(len(order)))}

    def b(k):
        order.append(("b", k))
        return {"y": torch.tensor(1.0)}

    means, ran = fit_phases(3, [(2, a), (1, b)], window=1)
    assert ran == 3 and order == [("a", 0), ("a", 1), ("b", 0)] * 3
    assert {k: float(v) for k, v in means.items()} == {"x": (7.0 + 8.0) / 2, "y": 1.0}  # the last iteration's steps
    seen = []
    means, ran = fit_phases(10, [(1, lambda k: {"x": torch.tensor(2.0)})],
                            stop=lambda sums: seen.append(float(sums["x"])) or len(seen) == 4)
    assert ran == 4 and seen == [2.0] * 4 and float(means["x"]) == 2.0
    assert fit_phases(0, [(1, a)]) == ({}, 0)
    with pytest.raises(ValueError, match="iterations"):
        fit_phases(-1, [])


# ------------------------------------------------------------------------------ no private access
def test_no_module_outside_the_learner_touches_its_private_attributes():
    src = Path(alkit.__file__).parent
    tree = ast.parse((src / "learner.py").read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Learner"]
    private = {t.attr for n in ast.walk(cls) for t in ([n] if isinstance(n, ast.Attribute) else [])
               if isinstance(t.value, ast.Name) and t.value.id == "self" and t.attr.startswith("_")
               and not t.attr.startswith("__")}
    assert {"_model", "_factory", "_optimizer", "_check_xy"} <= private
    offenders = []
    for path in sorted(src.rglob("*.py")):
        if path == src / "learner.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr in private
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                offenders.append(f"{path.relative_to(src)}:{node.lineno} .{node.attr}")
    assert offenders == []


def test_the_model_setter_checks_what_it_gets():
    lr = Learner("mlp", (5,), 3, TrainConfig(), "cpu")
    lr.model = lr.new_model(0).eval()
    assert lr.predict(torch.zeros(2, 5)).shape == (2,)
    with pytest.raises(alkit.models.ModelError, match="ALModel"):
        lr.model = nn.Linear(5, 3)
    with pytest.raises(alkit.models.ModelError, match="4 classes"):
        lr.model = Learner("mlp", (5,), 4, TrainConfig(), "cpu").new_model(0)
