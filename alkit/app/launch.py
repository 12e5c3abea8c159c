"""Starting the dashboard: where its Streamlit script lives, its command line, and a server for tests.

The script ``alkit/app/dashboard/app.py`` (with ``dashui.py`` and ``views/``) is package data: it is found
with :mod:`importlib.resources` inside the installed package, so ``alkit dashboard`` works from a wheel as
well as from a source checkout.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

__all__ = ["dashboard_app", "dashboard_command", "dashboard_server", "streamlit_server"]


def dashboard_app() -> Path:
    """The dashboard's Streamlit script, ``app.py`` of the package data folder ``alkit/app/dashboard``."""
    app = Path(str(resources.files("alkit.app") / "dashboard" / "app.py"))
    if not app.is_file():
        raise FileNotFoundError(f"the dashboard app is missing from the installed package (looked at {app}); "
                                "reinstall alkit")
    return app


def dashboard_command(*, host: str = "127.0.0.1", port: int = 8501,
                      workspace: str | os.PathLike | None = None) -> tuple[list[str], dict[str, str]]:
    """The ``streamlit run`` command line and environment of ``alkit dashboard`` (no side effects).

    ``workspace`` (when given) is resolved and passed as ``$ALKIT_WORKSPACE``; the server runs through
    :mod:`alkit.app.boot` (Streamlit's CLI after importing the pages' heavy modules once).
    """
    if not 0 < int(port) < 65536:
        raise ValueError(f"--port must be in 1..65535, got {port}")
    env = dict(os.environ)
    if workspace:
        from alkit.store import resolve_workspace

        env["ALKIT_WORKSPACE"] = str(resolve_workspace(workspace))
    argv = [sys.executable, "-m", "alkit.app.boot", "run", str(dashboard_app()),
            "--server.address", host, "--server.port", str(int(port)),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            # a lecture's dashboard: no Deploy / Rerun / Clear-cache developer menu
            "--client.toolbarMode", "viewer"]
    return argv, env


@contextlib.contextmanager
def dashboard_server(workspace, *, log_path=None, timeout: float = 90.0) -> Iterator[str]:
    """Run ``alkit dashboard`` headless on a free 127.0.0.1 port over ``workspace``; yields its URL.

    Waits for Streamlit's health endpoint; raises ``RuntimeError`` (with the end of the server's log
    when ``log_path`` is given) if the server exits or is not up within ``timeout`` seconds. The server
    uses one torch thread and is terminated on exit. Used by the browser test and the dashboard benchmark.
    """
    def command(port: int) -> tuple[list[str], dict[str, str]]:
        argv, env = dashboard_command(port=port, workspace=workspace)
        env.setdefault("OMP_NUM_THREADS", "1")
        return argv, env

    with streamlit_server(command, log_path=log_path, timeout=timeout) as url:
        yield url


@contextlib.contextmanager
def streamlit_server(command, *, log_path=None, timeout: float = 90.0) -> Iterator[str]:
    """Start ``command(port) -> (argv, env)`` on a free 127.0.0.1 port, wait until Streamlit's health
    endpoint answers, yield the URL, terminate it on exit (see :func:`dashboard_server`)."""
    import socket
    import subprocess
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv, env = command(port)
    log = open(log_path, "w") if log_path is not None else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        t_end = time.monotonic() + timeout
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read().strip() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > t_end:
                tail = ""
                if log_path is not None:
                    log.flush()
                    with open(log_path) as fh:
                        tail = fh.read()[-2000:]
                raise RuntimeError(f"streamlit did not start on {url}: {tail}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log_path is not None:
            log.close()
