"""The ``alkit`` command line: run, compare, sweep, sweeps, report, demo, resume, list, show, bench, reproduce,
dashboard, datasets, strategies.

Options are generated from the typed config dataclasses (:class:`~alkit.loop.ALConfig`,
:class:`~alkit.learner.TrainConfig`), so ``--help`` always matches the code. The global options
(``--workspace``) are accepted before the command and after it (``alkit --workspace W list`` and
``alkit list --workspace W`` are the same). Bad input exits with status 2 and a one-line reason.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
import sys
import textwrap
import time
import typing
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]


# ----------------------------------------------------------------------------- helpers
def _field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings (the string literal under each dataclass field)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):  # pragma: no cover - source unavailable
        return {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for a, b in zip(body, body[1:]):
        if isinstance(a, ast.AnnAssign) and isinstance(a.target, ast.Name):
            if isinstance(b, ast.Expr) and isinstance(getattr(b, "value", None), ast.Constant):
                docs[a.target.id] = " ".join(str(b.value.value).split())
    return docs


def _scalar_type(tp: Any) -> Any:
    """The argparse type of a field annotation (int / float / str / bool), or None to skip."""
    if isinstance(tp, str):
        tp = {"int": int, "float": float, "str": str, "bool": bool, "int | None": int, "str | None": str}.get(tp, tp)
    origin = typing.get_origin(tp)
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _scalar_type(args[0]) if len(args) == 1 else None
    return tp if tp in (int, float, str, bool) else None


def _add_dataclass_options(parser: argparse.ArgumentParser, cls: type, skip: set[str], prefix: str = "") -> None:
    docs = _field_docs(cls)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        tp = _scalar_type(hints.get(f.name))
        if tp is None:
            continue
        flag = "--" + (prefix + f.name).replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else None
        help_ = docs.get(f.name, "")
        if tp is bool:
            parser.add_argument(flag, dest=prefix + f.name, action=argparse.BooleanOptionalAction, default=None,
                                help=f"{help_} (default: {default})")
        else:
            parser.add_argument(flag, dest=prefix + f.name, type=tp, default=None, metavar=tp.__name__.upper(),
                                help=f"{help_} (default: {'dataset preset' if default is None else default})")


def _parse_kv(items: list[str] | None, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"{what} must look like key=value, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k.replace("-", "_")] = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            out[k.replace("-", "_")] = v
    return out


def _csv(text: str | None, cast: Any = str) -> list[Any]:
    if not text:
        return []
    try:
        return [cast(t.strip()) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ValueError(f"expected a comma-separated list of {cast.__name__}, got {text!r}") from None


def _config_from_args(args: argparse.Namespace) -> Any:
    from alkit.learner import TrainConfig
    from alkit.loop import ALConfig
    from alkit.presets import get_preset

    kw = {f.name: getattr(args, f.name) for f in dataclasses.fields(ALConfig)
          if getattr(args, f.name, None) is not None and f.name not in ("train", "strategy_params", "model_params",
                                                                         "dataset_params")}
    kw["strategy_params"] = _parse_kv(getattr(args, "strategy_param", None), "--strategy-param")
    kw["model_params"] = _parse_kv(getattr(args, "model_param", None), "--model-param")
    kw["dataset_params"] = _parse_kv(getattr(args, "dataset_param", None), "--dataset-param")
    if getattr(args, "data_root", None):
        kw["dataset_params"]["root"] = args.data_root
    if getattr(args, "download", False):
        kw["dataset_params"]["download"] = True
    dataset = kw.get("dataset", "digits")
    train = get_preset(dataset).train.to_dict()
    for f in dataclasses.fields(TrainConfig):
        v = getattr(args, "train_" + f.name, None)
        if v is not None:
            train[f.name] = v
    kw["train"] = TrainConfig.from_dict(train)
    return ALConfig(**kw)


def _add_run_options(p: argparse.ArgumentParser, *, with_strategy: bool = True) -> None:
    from alkit.learner import TrainConfig
    from alkit.loop import ALConfig

    skip = {"train", "strategy_params", "model_params", "dataset_params"} | (set() if with_strategy else {"strategy",
                                                                                                          "seed"})
    _add_dataclass_options(p, ALConfig, skip)
    p.add_argument("--strategy-param", action="append", metavar="KEY=VALUE", help="strategy hyperparameter (repeatable)")
    p.add_argument("--model-param", action="append", metavar="KEY=VALUE", help="model builder argument (repeatable)")
    p.add_argument("--dataset-param", action="append", metavar="KEY=VALUE", help="dataset loader argument (repeatable)")
    p.add_argument("--data-root", help="folder holding the dataset files (file-backed datasets)")
    p.add_argument("--download", action="store_true",
                   help="let torchvision download MNIST / CIFAR-10 / SVHN into --data-root (needs the internet)")
    g = p.add_argument_group("training (defaults: the dataset preset)")
    _add_dataclass_options(g, TrainConfig, {"lr_milestones"}, prefix="train_")


def _print_table(rows: list[dict[str, Any]]) -> None:
    print()
    print(f"{'strategy':<16} {'seeds':>5} {'AUBC (mean ± std)':>20} {'final acc (mean ± std)':>24} {'labels':>7} {'s/run':>7}")
    print("-" * 84)
    for r in rows:
        # one seed has no spread to show: "± n/a", not a std of 0 that reads as "no variance"
        a_std, f_std = ((f"{r['aubc_std']:<6.4f}", f"{r['final_std']:<6.4f}") if r["seeds"] > 1 else ("n/a   ", "n/a   "))
        print(f"{r['strategy']:<16} {r['seeds']:>5} {r['aubc_mean']:>11.4f} ± {a_std} "
              f"{r['final_mean']:>15.4f} ± {f_std} {r['final_n_labeled']:>7} {r['seconds_per_run']:>7.1f}")


def _print_rows(rows: list[dict[str, Any]]) -> None:
    """A plain left-aligned table of dicts (the keys of the first row are the columns)."""
    cols = list(rows[0])
    width = {c: max(len(str(c)), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    print("  ".join(f"{c:<{width[c]}}" for c in cols))
    print("  ".join("-" * width[c] for c in cols))
    for r in rows:
        print("  ".join(f"{str(r.get(c, '')):<{width[c]}}" for c in cols))


# ----------------------------------------------------------------------------- commands
def resume_hint(run_id: str) -> str:
    """The command that continues an interrupted run."""
    return f"alkit resume {run_id}"


def cmd_run(args: argparse.Namespace) -> int:
    import torch

    from alkit.loop import ALRun
    from alkit.store import RunStore

    if args.threads:
        torch.set_num_threads(args.threads)
    config = _config_from_args(args)
    t0 = time.perf_counter()

    def announce(ev: Any) -> None:
        if ev.kind == "run_start":  # the id is known once the store has the run; say it before the first round
            print(f"run id: {ev.run_id}  (if it is interrupted: {resume_hint(str(ev.run_id))})", flush=True)

    with RunStore(args.workspace) as store:
        run = ALRun(config, store=store, callbacks=[announce])
        print(f"run {run.config.strategy} on {run.dataset!r}, seed {run.config.seed}, device {run.device}", flush=True)
        run.run(progress=not args.quiet)
        print(f"\nrun id: {run.run_id}  (store: {store.path})")
        print(f"{'round':>5} {'labeled':>8} {'accuracy':>9} {'train s':>8} {'query s':>8}")
        for h in run.history:
            print(f"{h.round:>5} {h.n_labeled:>8} {h.accuracy:>9.4f} {h.timings.get('train', 0):>8.2f} "
                  f"{h.timings.get('infer', 0) + h.timings.get('query', 0):>8.2f}")
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


def _compare(args: argparse.Namespace, strategies: list[str], seeds: list[int], title: str,
             record: dict | None = None) -> int:
    from alkit.experiments.compare import run_comparison
    from alkit.store import resolve_workspace
    from alkit.viz import learning_curve_figure, write_report

    config = _config_from_args(args)
    t0 = time.perf_counter()
    result = run_comparison(config, strategies, seeds, workspace=args.workspace, workers=args.workers,
                            progress=not args.quiet, record=record)
    rows = result.table()
    _print_table(rows)
    resolved = config.resolved()
    fig = learning_curve_figure(result.curves, title=f"{title}: {resolved.dataset}, {len(seeds)} seeds")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report = write_report(resolve_workspace(args.workspace) / "reports" / f"{args.command}-{resolved.dataset}-{stamp}.html",
                          f"alkit {args.command}: {resolved.dataset}", [fig], rows,
                          notes=f"initial {resolved.initial}, +{resolved.query} per round, {resolved.rounds} rounds, "
                                f"model {resolved.model or 'dataset default'}; AUBC = normalised trapezoid.")
    print(f"\n{len(result.run_ids)} runs stored in {resolve_workspace(args.workspace) / 'alkit.sqlite'}")
    print(f"report: {report}")
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from alkit.strategies import get_strategy_class

    strategies = _csv(args.strategies)
    if not strategies:
        raise ValueError("--strategies needs at least one name")
    for s in strategies:
        get_strategy_class(s)
    seeds = _csv(args.seeds, int) or [0]
    return _compare(args, strategies, seeds, "Strategy comparison")


def demo_strategies() -> list[str]:
    """Every registered strategy cheap enough for the demo, Random first."""
    from alkit.strategies import get_strategy_class, list_strategies

    names = [n for n in list_strategies() if get_strategy_class(n).in_demo]
    return sorted(names, key=lambda n: (n != "random", n))


def _sweep_spec_from_args(args: argparse.Namespace) -> Any:
    from alkit.experiments.sweep import SweepError, SweepSpec

    grid = {k: getattr(args, k) for k in ("datasets", "strategies", "seeds", "initial", "query", "rounds", "name")
            if getattr(args, k) is not None}
    if args.spec:
        spec = SweepSpec.from_toml(args.spec)
        if not grid:
            return spec
        d = spec.to_dict()
        d.update(grid)  # flags override the file
        return SweepSpec.from_dict(d)
    missing = [f"--{k}" for k in ("datasets", "strategies") if k not in grid]
    if missing:
        raise SweepError(f"give a spec file (alkit sweep SPEC.toml) or the grid as flags; missing {', '.join(missing)}")
    grid.setdefault("seeds", "0-2")
    return SweepSpec.from_dict(grid)


def default_engine() -> str:
    """``ray`` when Ray is installed, else ``serial``."""
    from alkit.experiments.engines import ray_available

    return "ray" if ray_available() else "serial"


def cmd_sweep(args: argparse.Namespace) -> int:
    from alkit.experiments.engines import check_engine_options
    from alkit.experiments.sweep import sweep
    from alkit.store import resolve_workspace

    spec = _sweep_spec_from_args(args)
    engine = args.engine or default_engine()
    check_engine_options(engine, workers=args.workers, address=args.address, num_cpus=args.num_cpus,
                         gpus_per_cell=args.gpus_per_cell)
    cells = spec.cells()
    print(f"sweep {spec.sweep_id}{f' ({spec.name})' if spec.name else ''}: {len(spec.datasets)} datasets x "
          f"{len(spec.strategies)} strategies x {len(spec.seeds)} seeds = {len(cells)} cells, engine {engine}",
          flush=True)
    res = sweep(spec, workspace=args.workspace, engine=engine, workers=args.workers, address=args.address,
                num_cpus=args.num_cpus, gpus_per_cell=args.gpus_per_cell, progress=not args.quiet,
                max_retries=args.max_retries)
    counts = res.counts()
    print(f"{res.engine}: {', '.join(f'{v} {k}' for k, v in sorted(counts.items()))} in {res.seconds:.1f} s; "
          f"store {resolve_workspace(args.workspace) / 'alkit.sqlite'}")
    if res.failed:
        print(f"{len(res.failed)} cells failed (stored as failed; run the same spec again to retry them):",
              file=sys.stderr)
        for c in res.failed:
            print(f"  {c['dataset']}/{c['strategy']}/seed {c['seed']} ({c['run_id']}): {c['error']}", file=sys.stderr)
        return 1
    print(f"report: alkit report {res.sweep_id}")
    return 0


def cmd_sweeps(args: argparse.Namespace) -> int:
    from alkit.store import RunStore

    with RunStore(args.workspace, readonly=True) as store:
        rows = store.list_sweeps()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no sweeps in the store yet (`alkit sweep --help` says how to start one)")
        return 0
    _print_rows([{"sweep": r["sweep_id"], "name": r["name"] or "", "cells": f"{r['n_runs']}/{r['n_cells']}",
                   **{k: v for k, v in r["status_counts"].items()}, "created": r["created_at"][:19]} for r in rows])
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from alkit.experiments.report import report_text, sweep_report, write_report_html
    from alkit.store import RunStore

    with RunStore(args.workspace, readonly=True) as store:
        rep = sweep_report(store, args.sweep_id, baseline=args.baseline, alpha=args.alpha, target=args.target)
    if args.html:
        path = write_report_html(rep, args.html)
        print(f"report: {path}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        print(report_text(rep))
    return 0


#: The demo's runs that record embeddings and the bound's terms (seed 0 of each): what the dashboard's
#: Embeddings, Selected batch and Theory pages show on a fresh clone.
DEMO_SHOWCASE = ("random", "margin", "kcenter", "badge")
#: The demo's second dataset: margin and Random on the 4,000-image mnist5k pool (its preset's sizes).
DEMO_SECOND = ("mnist5k", ("random", "margin"))


def cmd_demo(args: argparse.Namespace) -> int:
    strategies = demo_strategies()
    seeds = _csv(args.seeds, int) or [0, 1, 2]
    print(f"alkit demo: {len(strategies)} strategies x {len(seeds)} seeds on {args.dataset or 'digits'}: "
          f"{', '.join(strategies)}", flush=True)
    showcase = {(s, seeds[0]): {"store_embeddings": 10_000, "theory_terms": True}
                for s in DEMO_SHOWCASE if s in strategies}
    rc = _compare(args, strategies, seeds, "alkit demo", record=showcase)
    if rc or args.no_mnist5k or (args.dataset or "digits") == DEMO_SECOND[0]:
        return rc
    ds, pair = DEMO_SECOND
    print(f"\nalkit demo: {' and '.join(pair)} on {ds} (seed {seeds[0]}; embeddings of every pool item and the "
          "bound's terms each round, for the dashboard)", flush=True)
    second = argparse.Namespace(**{**vars(args), "dataset": ds, "initial": None, "query": None,
                                   "model": None, "model_param": None, "dataset_param": None})
    return _compare(second, list(pair), seeds[:1], f"alkit demo ({ds})",
                    record={(s, seeds[0]): {"store_embeddings": 10_000, "theory_terms": True} for s in pair})


def cmd_resume(args: argparse.Namespace) -> int:
    from alkit.loop import ALRun
    from alkit.store import RunStore

    with RunStore(args.workspace) as store:
        info = store.get_run(args.run_id)
        rid = info["run_id"]
        if info["status"] == "running":
            owner = info.get("owner") or {}
            where = f" (pid {owner['pid']} on {owner['host']}, last heartbeat {owner['heartbeat_at']})" if owner else ""
            raise RuntimeError(f"run {rid} is still running{where}; resuming it would make two processes write "
                               "its rounds: stop it first, or wait until `alkit list` shows it interrupted")
        if info["status"] == "finished":
            print(f"run {rid} is finished ({store.last_complete_round(rid) + 1} rounds); nothing to resume")
            return 0
        run = ALRun.resume(store, rid)
        print(f"resuming {run.run_id} after round {run.round}", flush=True)
        run.run(progress=not args.quiet)
        print(f"finished {run.run_id}: {len(run.history)} rounds, final accuracy {run.history[-1].accuracy:.4f}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from alkit.store import RunStore

    with RunStore(args.workspace, readonly=True) as store:
        runs = store.list_runs()
    if args.json:
        print(json.dumps(runs, indent=2, default=str))
        return 0
    if not runs:
        print("no runs yet: try `alkit demo` or `alkit run --dataset digits --strategy entropy`")
        return 0
    print(f"{'run id':<26} {'strategy':<14} {'dataset':<14} {'seed':>4} {'status':<11} {'rounds':>6} {'labels':>7} {'acc':>7}")
    for r in runs:
        acc = r.get("last_accuracy")
        print(f"{r['run_id']:<26} {r['strategy']:<14} {r['dataset']:<14} {r['seed']:>4} {r['status']:<11} "
              f"{r['n_rounds']:>6} {r.get('last_n_labeled') or 0:>7} {acc if acc is None else f'{acc:.4f}':>7}")
    stopped = [r["run_id"] for r in runs if r["status"] == "interrupted"]
    if stopped:
        print(f"\n{len(stopped)} interrupted run(s); continue one from its last complete round with:")
        for rid in stopped:
            print(f"  {resume_hint(rid)}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from alkit.store import RunStore

    with RunStore(args.workspace, readonly=True) as store:
        data = store.to_json(args.run_id)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    run = data["run"]
    print(f"run {run['run_id']}: {run['strategy']} on {run['dataset']}, seed {run['seed']}, status {run['status']}")
    owner = run.get("owner")
    if owner:
        print(f"  process: pid {owner['pid']} on {owner['host']}, started {owner['started_at']}, "
              f"last heartbeat {owner['heartbeat_at']}")
    if run.get("message"):
        print(f"  message: {run['message']}")
    for r in data["rounds"]:
        print(f"  round {r['round']:>3}: {r['n_labeled']:>6} labeled, accuracy {r['metrics'].get('accuracy', float('nan')):.4f}")
    if run["status"] == "interrupted":
        print(f"interrupted: continue it from round {len(data['rounds'])} with `{resume_hint(run['run_id'])}`")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from alkit.data import list_datasets

    print("\n".join(list_datasets()))
    return 0


def cmd_strategies(args: argparse.Namespace) -> int:
    from alkit.strategies import get_strategy_class, list_strategies

    for name in list_strategies():
        cls = get_strategy_class(name)
        doc = (inspect.getdoc(cls) or "").splitlines()[0]
        print(f"{name:<20} {doc}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import torch

    from alkit.experiments.timing import bench_inference, bench_select

    torch.set_num_threads(args.threads)
    if args.what == "select":
        if not args.strategy:
            raise ValueError("bench select needs --strategy NAME")
        res = bench_select(args.strategy, n=args.n, dim=args.dim, classes=args.classes, budget=args.budget,
                           labeled=args.labeled, mc_samples=args.mc_samples, seed=args.seed, repeats=args.repeats,
                           device=args.device, params=_parse_kv(args.strategy_param, "--strategy-param"))
    else:
        res = bench_inference(model=args.model, n=args.n, mc_samples=args.mc_samples, seed=args.seed,
                              repeats=args.repeats, device=args.device)
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:>24}: {v}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    import torch

    from alkit.experiments.reproduce import print_waal_fmnist, reproduce_waal_fmnist, results_path

    if args.threads:
        torch.set_num_threads(args.threads)
    seeds = _csv(args.seeds, int) or [0]
    t0 = time.perf_counter()
    workspace = getattr(args, "workspace", None) or None
    results = reproduce_waal_fmnist(args.strategy, seeds, epochs=args.epochs, momentum=args.momentum,
                                    progress=not args.quiet, workspace=workspace, results_dir=args.results)
    print_waal_fmnist(results)
    print(f"total {time.perf_counter() - t0:.1f} s; results in {results_path(args.results, workspace)}")
    return 0


def dashboard_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The ``streamlit run`` command line and environment of ``alkit dashboard`` (no side effects)."""
    from alkit.app.launch import dashboard_command as command

    return command(host=args.host, port=args.port, workspace=getattr(args, "workspace", None) or None)


def cmd_dashboard(args: argparse.Namespace) -> int:
    import os

    argv, env = dashboard_command(args)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"alkit: warning: the dashboard listens on {args.host}:{args.port}; anyone who can reach it can start "
              "runs and read the run store", file=sys.stderr)
    print(f"alkit dashboard: http://{args.host}:{args.port}  (run store: "
          f"{env.get('ALKIT_WORKSPACE') or 'alkit-workspace'}; Ctrl+C stops)", flush=True)
    os.execve(argv[0], argv, env)
    return 0  # pragma: no cover - execve does not return


# ----------------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2) that point at ``--help`` instead of a long usage."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (`{self.prog} --help` lists the options)\n")


def _add_global_options(p: argparse.ArgumentParser, *, default: Any) -> None:
    """The options every command takes, before or after its name (``default``: None on the top level,
    ``argparse.SUPPRESS`` on the commands, so a value given before the command is not overwritten)."""
    p.add_argument("--workspace", default=default,
                   help="workspace folder holding the run store (default: $ALKIT_WORKSPACE or ./alkit-workspace)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="alkit", description="alkit — an interactive teaching kit for deep active learning.",
                epilog="Global options (--workspace) may also follow the command: `alkit run --workspace W ...`. "
                       "`alkit COMMAND --help` lists a command's options.")
    _add_global_options(p, default=None)
    common = _Parser(add_help=False)
    _add_global_options(common, default=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kw)

    r = command("run", help="run one active-learning experiment")
    _add_run_options(r)
    r.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)

    c = command("compare", help="compare strategies over seeds; prints AUBC and writes an HTML report")
    c.add_argument("--strategies", required=True, help="comma-separated strategy names")
    c.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    c.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU cores)")
    c.add_argument("--quiet", action="store_true")
    _add_run_options(c, with_strategy=False)
    c.set_defaults(func=cmd_compare)

    sw = command("sweep", help="datasets x strategies x seeds, every cell a stored run, on serial / process / ray",
                 description="Run a sweep from a TOML spec (see alkit.experiments.sweep) or from flags. The sweep id "
                             "is derived from the spec: running the same spec again skips finished cells and resumes "
                             "interrupted ones. Exit status 1 when a cell failed.")
    sw.add_argument("spec", nargs="?", default=None, help="a sweep spec (TOML); flags below override its grid")
    sw.add_argument("--datasets", help="comma-separated dataset names")
    sw.add_argument("--strategies", help="comma-separated strategy names")
    sw.add_argument("--seeds", help="seeds: '0-9', '0,1,2' or '0-4,9' (default 0-2)")
    sw.add_argument("--initial", type=int, help="initial labeled set (default: each dataset's preset)")
    sw.add_argument("--query", type=int, help="labels queried per round (default: preset)")
    sw.add_argument("--rounds", type=int, help="query rounds (default: preset)")
    sw.add_argument("--name", help="a label for `alkit sweeps` and the dashboard")
    sw.add_argument("--engine", choices=["serial", "process", "ray"], default=None,
                    help="where cells run (default: ray when installed, else serial)")
    sw.add_argument("--workers", type=int, default=None, help="process engine: worker processes (default: CPU cores)")
    sw.add_argument("--num-cpus", type=int, default=None, help="ray engine: start a local Ray with this many CPUs")
    sw.add_argument("--address", default=None, metavar="HOST:PORT", help="ray engine: join a running cluster")
    sw.add_argument("--gpus-per-cell", type=float, default=None, metavar="F", help="ray engine: GPUs per cell")
    sw.add_argument("--max-retries", type=int, default=2, help="resubmissions of a cell whose worker died (default 2)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.set_defaults(func=cmd_sweep)

    sws = command("sweeps", help="list the sweeps in the store")
    sws.add_argument("--json", action="store_true")
    sws.set_defaults(func=cmd_sweeps)

    rep = command("report", help="a sweep's statistics: AUBC with bootstrap CIs, penalty matrix, verdicts vs Random")
    rep.add_argument("sweep_id", help="sweep id or a unique prefix (`alkit sweeps` lists them)")
    rep.add_argument("--json", action="store_true", help="print the report as JSON")
    rep.add_argument("--html", default=None, metavar="FILE", help="also write a self-contained HTML report")
    rep.add_argument("--baseline", default="random", help="the strategy verdicts compare against (default random)")
    rep.add_argument("--alpha", type=float, default=0.05, help="significance level of the tests (default 0.05)")
    rep.add_argument("--target", type=float, default=None,
                     help="accuracy for 'labels saved' (default: the baseline's mean final accuracy)")
    rep.set_defaults(func=cmd_report)

    d = command("demo", help="every cheap strategy on the embedded digits data, 3 seeds, with a report")
    d.add_argument("--seeds", default="0,1,2")
    d.add_argument("--workers", type=int, default=None)
    d.add_argument("--quiet", action="store_true")
    d.add_argument("--no-mnist5k", action="store_true",
                   help=f"skip the second part: {' and '.join(DEMO_SECOND[1])} on {DEMO_SECOND[0]}, one seed")
    _add_run_options(d, with_strategy=False)
    d.set_defaults(func=cmd_demo)

    rs = command("resume", help="continue an interrupted run from its last complete round")
    rs.add_argument("run_id", help="run id or a unique prefix (`alkit list` shows the interrupted ones)")
    rs.add_argument("--quiet", action="store_true")
    rs.set_defaults(func=cmd_resume)

    ls = command("list", help="list the runs in the store")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)

    sh = command("show", help="one run: config, per-round metrics, selected indices")
    sh.add_argument("run_id", help="run id or a unique prefix (`alkit list` shows them)")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_show)

    b = command("bench", help="time selection on a seeded synthetic pool, or inference passes")
    b.add_argument("what", choices=["select", "inference"])
    b.add_argument("--strategy", help="strategy to time (select)")
    b.add_argument("--strategy-param", action="append", metavar="KEY=VALUE")
    b.add_argument("--n", type=int, default=20_000, help="unlabeled pool size")
    b.add_argument("--dim", type=int, default=512, help="embedding width")
    b.add_argument("--classes", type=int, default=10)
    b.add_argument("--budget", type=int, default=100)
    b.add_argument("--labeled", type=int, default=1000, help="labeled set size")
    b.add_argument("--mc-samples", type=int, default=10)
    b.add_argument("--model", default="lenet", help="model of the inference benchmark")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--repeats", type=int, default=3)
    b.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    b.add_argument("--device", default="cpu")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=cmd_bench)

    rp = command("reproduce", help="a paper's protocol, printed beside the paper's numbers")
    rp.add_argument("experiment", choices=["waal-fmnist"], help="waal-fmnist: WAAL's Fashion-MNIST table (App. G.4)")
    rp.add_argument("--strategy", default="waal", help="waal (default), or random / any strategy for the baseline row")
    rp.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    rp.add_argument("--epochs", type=int, default=None, help="per-round training length (see alkit.experiments.reproduce)")
    rp.add_argument("--momentum", type=float, default=0.9,
                    help="SGD momentum (default 0.9 compresses the paper's 80 epochs; 0.5 = the paper's optimiser)")
    rp.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    rp.add_argument("--results", default=None, metavar="DIR",
                    help="folder of waal_fmnist.json (default: <workspace>/results; the checkout's copy: benchmarks/results)")
    rp.add_argument("--quiet", action="store_true")
    rp.set_defaults(func=cmd_reproduce)

    db = command("dashboard", help="open the Streamlit dashboard (binds 127.0.0.1 unless --host says otherwise)")
    db.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    db.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    db.set_defaults(func=cmd_dashboard)

    command("datasets", help="list dataset names").set_defaults(func=cmd_datasets)
    command("strategies", help="list strategy names").set_defaults(func=cmd_strategies)
    p.set_defaults(_commands=dict(sub.choices))
    return p


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """``parser.parse_args`` whose unknown-option error names the command's own ``--help`` and the closest option."""
    import difflib

    args, extra = parser.parse_known_args(argv)
    commands = vars(args).pop("_commands", {})
    if extra:
        sub = commands.get(args.command, parser)
        known = [o for a in sub._actions for o in a.option_strings]
        guess = difflib.get_close_matches(extra[0].split("=", 1)[0], known, n=1)
        sub.error(f"unrecognized arguments: {' '.join(extra)}" + (f"; did you mean {guess[0]}?" if guess else ""))
    return args


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
    try:
        import alkit  # noqa: F401  (registers datasets, models, strategies)

        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("alkit: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, LookupError, RuntimeError, OSError, ImportError) as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"alkit: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


_ = Path  # keep the import for type readers
