"""alkit works installed from a wheel, without the source tree: build the wheel, install it into a fresh venv
and run the CLI from a folder outside the checkout.

The fresh venv has no packages of its own; a ``.pth`` file puts this interpreter's site-packages (torch,
numpy, streamlit, ...) after its own, so the only alkit it can import is the installed wheel, never the
checkout (the editable install's finder lives in a ``.pth`` file that a plain path line does not run).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, alkit script, site-packages, workdir, env) of a venv holding only the freshly built wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a copy, so that the build leaves no build/ or egg-info behind in the checkout
    shutil.copytree(ROOT / "alkit", src / "alkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(src)], check=True, capture_output=True, text=True, timeout=120)
    (wheel,) = dist.glob("alkit-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    py = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    ours = [p for p in {*site.getsitepackages(), sysconfig.get_paths()["purelib"]} if Path(p).is_dir()]
    (purelib / "_alkit_test_deps.pth").write_text("".join(f"{p}\n" for p in ours))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, text=True, timeout=120)
    work = tmp / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(ALKIT_WORKSPACE=str(tmp / "workspace"), OMP_NUM_THREADS="1", PYTHONNOUSERSITE="1")
    return py, venv / "bin" / "alkit", purelib, work, env


def _run(argv, work, env, timeout=90):
    out = subprocess.run([str(a) for a in argv], cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_the_installed_package_is_imported_not_the_checkout(installed):
    py, _, purelib, work, env = installed
    where = _run([py, "-c", "import alkit, alkit.app.launch as l; print(alkit.__file__); print(l.dashboard_app())"],
                 work, env).split()
    assert Path(where[0]).is_relative_to(purelib) and not Path(where[0]).is_relative_to(ROOT)
    assert Path(where[1]) == purelib / "alkit" / "app" / "dashboard" / "app.py" and Path(where[1]).is_file()
    assert (purelib / "alkit" / "app" / "dashboard" / "views" / "run.py").is_file()
    assert (purelib / "alkit" / "app" / "web" / "lite_chart.js").is_file()


def test_cli_help_and_a_tiny_run_from_outside_the_checkout(installed):
    py, alkit_cmd, purelib, work, env = installed
    assert "demo" in _run([alkit_cmd, "demo", "--help"], work, env)
    assert "--port" in _run([alkit_cmd, "dashboard", "--help"], work, env)
    out = _run([alkit_cmd, "run", "--dataset", "digits", "--strategy", "random", "--initial", "10", "--query", "5",
                "--rounds", "1", "--train-epochs", "1", "--train-min-steps", "5", "--device", "cpu", "--quiet"],
               work, env)
    assert "random" in out
    listed = _run([alkit_cmd, "list", "--json"], work, env)
    assert '"strategy": "random"' in listed and '"status": "finished"' in listed
    assert (Path(env["ALKIT_WORKSPACE"]) / "alkit.sqlite").is_file() and not (work / "alkit-workspace").exists()
    cmd = _run([py, "-c", "import argparse; from alkit.cli import dashboard_command; "
                "print(dashboard_command(argparse.Namespace(host='127.0.0.1', port=8600, workspace=None))[0][4])"],
               work, env).strip()
    assert Path(cmd).is_relative_to(purelib)
