"""Every command the READMEs document is run (or, for long-running ones, parsed), so the docs cannot drift from the CLI.

The fenced shell blocks (```` ```bash ````, or a bare ```` ``` ````) of README.md, alkit/app/dashboard/README.md and
notebooks/README.md are read line by line; ``# comments`` are dropped. Then

* every ``alkit ...`` line must parse with the real parser (``alkit.cli.parse_args``: an unknown or
  misspelt option fails the test), ``RUN_ID`` standing for the id of a run this test stores;
* the cheap commands are executed through ``alkit.cli.main`` in smoke size: the smoke options below are
  appended (argparse keeps the last value: 20 initial labels, 10 per round, 1 round, 2 epochs, 1 seed,
  1 worker, the CPU) and a dataset that needs a download is swapped for the embedded ``digits``;
* the long-running commands are parsed only (``PARSE_ONLY`` says why); ``alkit dashboard`` also builds its
  ``streamlit run`` command line (:func:`alkit.cli.dashboard_command`, no server is started);
* every ``make TARGET`` line must name a target of the Makefile, and the other lines (pytest, jupytext,
  benchmark modules) must name test files, folders and modules that exist;
* inline ``alkit ...`` code spans in the prose must name an existing command and only its options, and inline
  ``make TARGET`` spans an existing target.
"""

from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

import pytest

import alkit
from alkit.cli import build_parser, dashboard_command, main, parse_args

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "alkit/app/dashboard/README.md", "notebooks/README.md"]
SHELL_FENCES = {"", "bash", "sh", "shell", "console"}

SMOKE = {
    "run": ["--initial", "20", "--query", "10", "--rounds", "1", "--train-epochs", "2", "--train-min-steps", "5",
            "--device", "cpu", "--quiet"],
    "compare": ["--seeds", "0", "--workers", "1", "--initial", "20", "--query", "10", "--rounds", "1",
                "--train-epochs", "2", "--train-min-steps", "5", "--device", "cpu", "--quiet"],
    "demo": ["--seeds", "0", "--workers", "1", "--rounds", "1", "--train-epochs", "2", "--train-min-steps", "5",
             "--device", "cpu", "--quiet"],
    "resume": ["--quiet"],
    "list": [],
    "show": [],
    "datasets": [],
    "strategies": [],
    "sweeps": [],
    "bench": ["--n", "300", "--dim", "8", "--budget", "5", "--repeats", "1", "--threads", "1"],
}
PARSE_ONLY = {
    "sweep": "a grid of runs (minutes); tests/test_sweep.py and tests/test_sweep_ray.py run it on every engine",
    "report": "needs a stored sweep; tests/test_report.py checks the report and the command",
    "dashboard": "starts a server that runs until Ctrl+C; its streamlit command line is built instead",
    "reproduce": "a paper's protocol on Fashion-MNIST: minutes per seed and a dataset download",
}
TOOLS = {"make", "python", "python3", "pytest", "jupytext"}
EMBEDDED = {"digits", "blobs", "moons", "sampling_bias"}  # datasets that need no files


def fenced_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, command)`` of every non-empty line of the shell code blocks, comments removed."""
    out, fence = [], None
    for no, line in enumerate(path.read_text().splitlines(), 1):
        m = re.match(r"^\s*```\s*([\w+-]*)\s*$", line)
        if m:
            fence = None if fence is not None else m.group(1).lower()
            continue
        if fence in SHELL_FENCES:
            words = shlex.split(line, comments=True)
            if words:
                out.append((no, shlex.join(words)))
    return out


def doc_commands() -> list[tuple[str, int, str]]:
    return [(doc, no, cmd) for doc in DOCS for no, cmd in fenced_lines(ROOT / doc)]


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, flags=re.M))


def test_the_docs_have_commands_in_every_file():
    cmds = doc_commands()
    for doc in DOCS:
        assert any(d == doc for d, _, _ in cmds), f"no shell block found in {doc}"
    alkit_cmds = {shlex.split(c)[1] for _, _, c in cmds if c.startswith("alkit ")}
    assert {"run", "compare", "demo", "resume", "list", "show", "datasets", "strategies", "dashboard"} <= alkit_cmds


@pytest.fixture
def interrupted_run(tmp_path, monkeypatch):
    """A stored run stopped after round 0 (what Ctrl+C leaves): the RUN_ID of `alkit resume` / `alkit show`."""
    from alkit.learner import TrainConfig
    from alkit.loop import ALConfig, ALRun
    from alkit.store import RunStore

    monkeypatch.chdir(tmp_path)  # relative --workspace values of documented commands land here
    with RunStore() as store:
        cfg = ALConfig(dataset="digits", strategy="margin", initial=20, query=10, rounds=2, device="cpu",
                       train=TrainConfig(epochs=2, min_steps=5))
        run = ALRun(cfg, store=store)
        run.step()
        store.set_status(run.run_id, "interrupted", message="KeyboardInterrupt")
        return run.run_id


def smoke_argv(argv: list[str]) -> list[str]:
    """The documented argv with the smoke options appended and a downloaded dataset swapped for digits."""
    argv = list(argv)
    if "--dataset" in argv:
        i = argv.index("--dataset") + 1
        if argv[i] not in EMBEDDED:
            argv[i] = "digits"
    return argv + SMOKE[argv[0]]


def test_every_documented_alkit_command_parses_and_the_cheap_ones_run(interrupted_run, capsys):
    parser = build_parser()
    cmds = [(doc, no, shlex.split(c.replace("RUN_ID", interrupted_run))[1:]) for doc, no, c in doc_commands()
            if c.startswith("alkit ")]
    # `resume` first: the documented `show RUN_ID` then shows the finished run, `list` lists every run made here
    cmds.sort(key=lambda c: c[2][:1] != ["resume"])
    ran, parsed = [], []
    for doc, no, argv in cmds:
        where = f"{doc}:{no}: alkit {shlex.join(argv)}"
        try:
            args = parse_args(parser, argv)
        except SystemExit:
            pytest.fail(f"{where} does not parse: {capsys.readouterr().err.strip()}")
        if args.command in PARSE_ONLY:
            if args.command == "dashboard":
                cmdline, _ = dashboard_command(args)
                i = cmdline.index("--server.address")
                assert cmdline[i + 1] == args.host, where
            parsed.append(args.command)
            continue
        assert args.command in SMOKE, f"{where}: add the command to SMOKE or PARSE_ONLY of this test"
        rc = main(smoke_argv(argv))
        out = capsys.readouterr()
        assert rc == 0, f"{where} (smoke: {smoke_argv(argv)}) exited {rc}: {out.err.strip()[-500:]}"
        ran.append(args.command)
    assert {"run", "compare", "demo", "resume", "list", "show", "datasets", "strategies"} <= set(ran)
    assert "dashboard" in parsed
    rc = main(["show", interrupted_run, "--json"])
    assert rc == 0 and '"status": "finished"' in capsys.readouterr().out  # the documented resume finished it


def test_make_targets_and_paths_in_the_docs_exist():
    targets = makefile_targets()
    for doc, no, cmd in doc_commands():
        words = shlex.split(cmd)
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # VAR=value prefixes
            words = words[1:]
        where = f"{doc}:{no}: {cmd}"
        if words[0] == "alkit" or not (words[0] in TOOLS or words[0].startswith(".venv/bin/")):
            continue  # alkit lines: the test above; bare blocks also hold sample output and file trees
        if words[0] == "make":
            for t in words[1:]:
                assert t.startswith("-") or t in targets, f"{where}: no `{t}` target in the Makefile"
            continue
        # .venv/bin/* exist after `make setup`; not required here
        assert words[0] in TOOLS or words[0].startswith(".venv/") or (ROOT / words[0]).exists(), where
        for i, w in enumerate(words[1:], 1):
            if words[i - 1] == "-m" and w != "pytest":
                assert (ROOT / (w.replace(".", "/") + ".py")).is_file(), f"{where}: no module {w}"
            elif not w.startswith("-") and ("/" in w or w.endswith(".py")) and words[i - 1] != "-m":
                assert glob.glob(str(ROOT / w)), f"{where}: {w} matches nothing"


def test_inline_commands_in_the_prose_name_real_commands_and_options():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    valued = {o for a in parser._actions if a.nargs is None and a.option_strings for o in a.option_strings}
    targets = makefile_targets()
    seen = 0
    for doc in DOCS:
        text = (ROOT / doc).read_text()
        for span in re.findall(r"`(alkit [^`]+|make [^`]+)`", text):
            words = span.replace("[", " ").replace("]", " ").split()
            if words[0] == "make":
                assert words[1] in targets, f"{doc}: `{span}`: no `{words[1]}` target in the Makefile"
                continue
            rest = words[1:]
            while rest and rest[0] in valued:  # global options before the command, e.g. --workspace DIR
                rest = rest[2:]
            opts = [w.split("=", 1)[0] for w in rest if w.startswith("--")]
            name = next((w for w in rest if not w.startswith("-")), None)
            if name is None:  # only global options, e.g. `alkit --help`
                continue
            assert name in commands, f"{doc}: `{span}`: there is no `alkit {name}`"
            known = {o for a in commands[name]._actions for o in a.option_strings}
            for o in opts:
                assert o in known, f"{doc}: `{span}`: `alkit {name}` has no option {o}"
            seen += 1
    assert seen >= 10


def test_liveness_numbers_in_the_readme_are_the_code_constants():
    from alkit import store

    text = " ".join((ROOT / "README.md").read_text().split())
    assert f"every round and every {store.HEARTBEAT_SECONDS:g} s" in text
    assert f"after {store.STALE_SECONDS / 60:g} minutes without a heartbeat" in text


_ = alkit  # the registries are filled on import
