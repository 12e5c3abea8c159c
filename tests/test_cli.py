"""The command line: typed options, identical reruns, JSON output, one-line errors with exit code 2."""

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from alkit.cli import build_parser, main

FAST = ["--dataset", "digits", "--initial", "20", "--query", "10", "--rounds", "2", "--train-epochs", "3",
        "--train-min-steps", "20", "--device", "cpu", "--quiet"]


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_run_twice_gives_identical_selections(capsys, tmp_path):
    ws = str(tmp_path)
    rc, out, _ = run_cli(capsys, "--workspace", ws, "run", "--strategy", "margin", *FAST)
    assert rc == 0 and "run id:" in out
    rc, _, _ = run_cli(capsys, "--workspace", ws, "run", "--strategy", "margin", *FAST)
    assert rc == 0
    rc, out, _ = run_cli(capsys, "--workspace", ws, "list", "--json")
    runs = json.loads(out)
    assert len(runs) == 2 and all(r["status"] == "finished" for r in runs)
    shows = []
    for r in runs:
        rc, out, _ = run_cli(capsys, "--workspace", ws, "show", r["run_id"], "--json")
        shows.append(json.loads(out))
    sel = [[rd["selected"] for rd in s["rounds"]] for s in shows]
    assert sel[0] == sel[1] and len(sel[0]) == 3 and len(sel[0][1]) == 10
    assert shows[0]["run"]["config"]["strategy"] == "margin"
    assert [rd["metrics"]["accuracy"] for rd in shows[0]["rounds"]] == [
        rd["metrics"]["accuracy"] for rd in shows[1]["rounds"]]


def test_compare_prints_table_and_writes_report(capsys, tmp_path):
    rc, out, _ = run_cli(capsys, "--workspace", str(tmp_path), "compare", "--strategies", "random,entropy",
                         "--seeds", "0,1", "--workers", "1", *FAST)
    assert rc == 0
    assert "AUBC" in out and "random" in out and "entropy" in out
    reports = list((tmp_path / "reports").glob("compare-*.html"))
    assert len(reports) == 1
    html = reports[0].read_text()
    assert "plotly" in html.lower() and "entropy" in html


@pytest.mark.parametrize("argv, match", [
    (["run", "--strategy", "entropyy"], "unknown strategy 'entropyy'"),
    (["run", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    (["run", "--model", "alexnet"], "unknown model 'alexnet'"),
    (["run", "--query", "0"], "query budget"),
    (["run", "--initial", "100000"], "larger than the pool"),
    (["show", "nope"], "no run 'nope'"),
    (["compare", "--strategies", "random,bogus"], "unknown strategy 'bogus'"),
    (["run", "--strategy-param", "oops"], "key=value"),
])
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, argv, match):
    rc, _, err = run_cli(capsys, "--workspace", str(tmp_path), *argv)
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("alkit: error:")
    assert match in lines[0]


def test_non_integer_budget_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--query", "1.5"])
    assert exc.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


def test_help_comes_from_the_config_docstrings():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices["run"]
    text = sub.format_help()
    assert "Items queried per round" in text and "--train-lr" in text and "--strategy-param" in text


def test_list_on_empty_store_explains_how_to_start(capsys, tmp_path):
    rc, out, _ = run_cli(capsys, "--workspace", str(tmp_path / "empty"), "list")
    assert rc == 0 and "alkit demo" in out
    assert not (tmp_path / "empty").exists()  # reading never creates a store


def test_locked_or_corrupt_store_is_a_one_line_error(capsys, tmp_path):
    (tmp_path / "alkit.sqlite").write_text("not a database")
    rc, _, err = run_cli(capsys, "--workspace", str(tmp_path), "list")
    assert rc == 2 and "alkit.sqlite" in err


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory):
    """``alkit demo`` with tiny rounds, once for the tests that read what it stored."""
    import contextlib
    import io

    ws = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["--workspace", str(ws), "demo", "--seeds", "0", "--workers", "1", "--rounds", "1",
                   "--train-epochs", "2", "--train-min-steps", "5", "--quiet"])
    return rc, out.getvalue(), ws


@pytest.mark.xdist_group("demo")
def test_demo_runs_every_cheap_strategy(capsys, demo_ws, tmp_path):
    from alkit.cli import demo_strategies

    names = demo_strategies()
    assert names[0] == "random" and {"entropy", "margin", "least_conf", "var_ratio"} <= set(names)
    rc, out, ws = demo_ws
    assert rc == 0
    for name in names:
        assert name in out
    assert list((ws / "reports").glob("demo-digits-*.html")) and list((ws / "reports").glob("demo-mnist5k-*.html"))
    # what the dashboard's Embeddings, Selected batch and Theory pages need is in the store
    from alkit.cli import DEMO_SHOWCASE
    from alkit.store import RunStore

    store = RunStore(ws, readonly=True)
    runs = store.list_runs()
    digits = {r["strategy"]: r for r in runs if r["dataset"] == "digits"}
    assert set(digits) == set(names)
    for name, info in digits.items():
        rounds = store.get_rounds(info["run_id"])
        showcase = name in DEMO_SHOWCASE
        assert all(r["has_embeddings"] == showcase and ("theory" in r["extras"]) == showcase for r in rounds), name
        assert store.get_selections(info["run_id"])[1]["indices"]  # every run keeps its picks
    second = {r["strategy"]: r for r in runs if r["dataset"] == "mnist5k"}
    assert set(second) == {"random", "margin"}
    pool_index, emb = store.get_embeddings(second["margin"]["run_id"], 1)
    assert len(pool_index) == 4000 == emb.shape[0]  # every pool item of mnist5k
    assert store.get_rounds(second["margin"]["run_id"])[1]["extras"]["theory"]["test_error"] is not None
    # recording does not change a run: the same settings without it pick and score the same
    rc, _, _ = run_cli(capsys, "--workspace", str(tmp_path / "plain"), "run", "--strategy", "margin", "--seed", "0",
                       "--rounds", "1", "--train-epochs", "2", "--train-min-steps", "5", "--quiet")
    plain = RunStore(tmp_path / "plain", readonly=True)
    (p,) = plain.list_runs()
    assert [r["metrics"]["accuracy"] for r in plain.get_rounds(p["run_id"])] == \
        [r["metrics"]["accuracy"] for r in store.get_rounds(digits["margin"]["run_id"])]
    assert plain.get_selections(p["run_id"])[1]["indices"] == store.get_selections(digits["margin"]["run_id"])[1]["indices"]



@pytest.mark.xdist_group("demo")
def test_after_the_demo_every_dashboard_page_has_content(demo_ws, monkeypatch):
    """`make demo` then `make dashboard`: each page opens on a run that has what it draws."""
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    from alkit.app.launch import dashboard_app

    monkeypatch.setenv("ALKIT_WORKSPACE", str(demo_ws[2]))
    at = AppTest.from_file(str(dashboard_app()), default_timeout=240).run()
    for page in ("curves", "embeddings", "batch", "theory", "replay"):
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        infos = [i.value for i in at.info]
        assert not any("stored no" in i or "store is empty" in i for i in infos), (page, infos)
        drawn = len(at.get("plotly_chart")) + len(at.get("bidi_component")) + len(at.get("imgs"))
        assert drawn > 0, f"the {page} page drew nothing after the demo"


def test_demo_records_only_what_does_not_change_a_run():
    from alkit.experiments.compare import run_comparison
    from alkit.loop import ALConfig

    with pytest.raises(ValueError, match="query would change the run"):
        run_comparison(ALConfig(dataset="digits"), ["random"], [0], record={("random", 0): {"query": 5}})
    with pytest.raises(ValueError, match="not a \\(strategy, seed\\) of this comparison"):
        run_comparison(ALConfig(dataset="digits"), ["random"], [0], record={("margin", 0): {"theory_terms": True}})


def test_bench_select_prints_one_json_object(capsys):
    rc, out, _ = run_cli(capsys, "bench", "select", "--strategy", "margin", "--n", "500", "--dim", "8",
                         "--budget", "7", "--repeats", "2", "--threads", "1", "--json")
    assert rc == 0
    res = json.loads(out)
    assert res["strategy"] == "margin" and res["n_selected"] == 7 and res["seconds"] > 0
    assert {"peak_rss_mb", "indices_sha256", "peak_above_view_mb"} <= set(res)
    rc, out2, _ = run_cli(capsys, "bench", "select", "--strategy", "margin", "--n", "500", "--dim", "8",
                          "--budget", "7", "--repeats", "1", "--threads", "1", "--json")
    assert json.loads(out2)["indices_sha256"] == res["indices_sha256"]  # seeded pool, same picks
    rc, _, err = run_cli(capsys, "bench", "select", "--strategy", "margin", "--n", "0", "--threads", "1", "--json")
    assert rc == 2 and "--n must be a positive integer" in err


# ------------------------------------------------------------------ one grammar: global options anywhere

REQUIRED = {"resume": ["RUN"], "show": ["RUN"], "bench": ["select"], "reproduce": ["waal-fmnist"],
            "compare": ["--strategies", "random"], "report": ["sw-0"]}


def commands():
    return build_parser()._subparsers._group_actions[0].choices


def test_global_options_before_and_after_every_command():
    assert set(REQUIRED) <= set(commands())
    parser = build_parser()
    for name in commands():
        req = REQUIRED.get(name, [])
        before = parser.parse_args(["--workspace", "W", name, *req])
        after = parser.parse_args([name, *req, "--workspace", "W"])
        neither = parser.parse_args([name, *req])
        assert before.workspace == after.workspace == "W", name
        assert neither.workspace is None, name  # the default stays $ALKIT_WORKSPACE / ./alkit-workspace
        assert {k: v for k, v in vars(before).items() if k != "_commands"} == {
            k: v for k, v in vars(after).items() if k != "_commands"}, name
        assert "--workspace" in commands()[name].format_help(), name


def test_help_names_only_existing_commands():
    names = set(commands())
    texts = {"alkit": build_parser().format_help()} | {n: p.format_help() for n, p in commands().items()}
    for where, text in texts.items():
        text = " ".join(text.split())
        for cmd in re.findall(r"\balkit ([a-z][a-z-]*)", text):
            assert cmd in names, f"`alkit {where} --help` mentions `alkit {cmd}`, which does not exist"


def test_unknown_option_is_one_line_that_names_the_command(capsys, tmp_path):
    for argv, want in ((["run", "--querry", "3", "--workspace", str(tmp_path)], "alkit run: error: unrecognized "
                        "arguments: --querry 3; did you mean --query?"),
                       (["compare", "--workspace", str(tmp_path)], "alkit compare: error: the following arguments "
                        "are required: --strategies"),
                       (["frobnicate"], "alkit: error: argument COMMAND: invalid choice: 'frobnicate'")):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith(want), lines


# ------------------------------------------------------------------ a killed run reads `interrupted`

SLOW_RUN = """
import sys, time
import alkit.loop as loop

train = loop.ALRun._train


def slow(self, r, timer):
    if r == 1:  # round 0 is stored; round 1 hangs in training until the test kills the process
        print("TRAINING ROUND 1", flush=True)
        time.sleep(600)
    return train(self, r, timer)


loop.ALRun._train = slow
from alkit.cli import main

sys.exit(main(sys.argv[1:]))
"""


def test_killed_run_is_interrupted_with_a_resume_hint_and_resumes(capsys, tmp_path):
    ws = str(tmp_path / "ws")
    proc = subprocess.Popen([sys.executable, "-c", SLOW_RUN, "run", "--workspace", ws, "--strategy", "margin", *FAST],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()
    try:
        seen = []
        while not seen or "TRAINING ROUND 1" not in seen[-1]:
            seen.append(lines.get(timeout=240))
            assert proc.poll() is None, "".join(seen)
        rid = next(ln.split()[2] for ln in seen if ln.startswith("run id:"))
        # alive: `running`, no hint, and resume refuses to start a second writer
        rc, out, _ = run_cli(capsys, "list", "--workspace", ws)
        assert rc == 0 and rid in out and "running" in out and "alkit resume" not in out
        rc, out, _ = run_cli(capsys, "show", rid, "--workspace", ws)
        assert "status running" in out and f"pid {proc.pid}" in out and "alkit resume" not in out
        rc, _, err = run_cli(capsys, "resume", rid, "--workspace", ws, "--quiet")
        assert rc == 2 and "still running" in err and f"pid {proc.pid}" in err
        proc.send_signal(signal.SIGKILL)
        if sys.platform.startswith("linux"):  # not yet reaped: a zombie is dead too
            from alkit.store.liveness import _proc_stat

            end = time.monotonic() + 60
            while (_proc_stat(proc.pid) or ("Z",))[0] != "Z" and time.monotonic() < end:
                time.sleep(0.01)
            rc, out, _ = run_cli(capsys, "list", "--json", "--workspace", ws)
            assert [r["status"] for r in json.loads(out)] == ["interrupted"]
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    rc, out, _ = run_cli(capsys, "list", "--workspace", ws)
    row = next(ln for ln in out.splitlines() if ln.startswith(rid))
    assert row.split()[4] == "interrupted" and f"alkit resume {rid}" in out
    rc, out, _ = run_cli(capsys, "--workspace", ws, "show", rid)
    assert "status interrupted" in out and f"`alkit resume {rid}`" in out and "round   0" in out
    run = json.loads(run_cli(capsys, "show", rid, "--json", "--workspace", ws)[1])["run"]
    assert run["status"] == "interrupted" and run["owner"]["pid"] == proc.pid
    # the hint works: the run continues from round 1 in this process and finishes
    rc, out, _ = run_cli(capsys, "resume", rid, "--workspace", ws, "--quiet")
    assert rc == 0 and "after round 0" in out
    (row,) = json.loads(run_cli(capsys, "list", "--json", "--workspace", ws)[1])
    assert row["status"] == "finished" and row["n_rounds"] == 3
    run = json.loads(run_cli(capsys, "show", rid, "--json", "--workspace", ws)[1])["run"]
    assert run["owner"]["pid"] == os.getpid()
    rc, out, _ = run_cli(capsys, "resume", rid, "--workspace", ws)
    assert rc == 0 and "is finished (3 rounds); nothing to resume" in out


def test_the_compare_table_shows_no_spread_for_a_single_seed(capsys):
    from alkit.cli import _print_table

    row = {"strategy": "margin", "aubc_mean": 0.9531, "aubc_std": 0.0, "final_mean": 0.971, "final_std": 0.0,
           "final_n_labeled": 1100, "seconds_per_run": 49.3}
    _print_table([{**row, "seeds": 1}, {**row, "strategy": "random", "seeds": 3, "aubc_std": 0.0094,
                                        "final_std": 0.0045}])
    one, three = capsys.readouterr().out.strip().splitlines()[-2:]
    assert "0.9531 ± n/a" in one and "0.9710 ± n/a" in one and "0.0000" not in one
    assert "0.9531 ± 0.0094" in three and "0.9710 ± 0.0045" in three
