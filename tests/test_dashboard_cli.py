"""`alkit dashboard`: streamlit on 127.0.0.1 unless asked otherwise, headless, no usage statistics."""

import pytest

from alkit.cli import build_parser, dashboard_command


def _argv(*args):
    return dashboard_command(build_parser().parse_args(["dashboard", *args]))


def test_defaults_bind_loopback_headless_without_usage_stats():
    argv, env = _argv()
    assert argv[1:4] == ["-m", "alkit.app.boot", "run"] and argv[4].endswith("dashboard/app.py")
    opts = dict(zip(argv[5::2], argv[6::2]))
    assert opts == {"--server.address": "127.0.0.1", "--server.port": "8501", "--server.headless": "true",
                    "--browser.gatherUsageStats": "false", "--client.toolbarMode": "viewer"}


def test_host_port_and_workspace(tmp_path):
    argv, env = _argv("--host", "0.0.0.0", "--port", "8600", "--workspace", str(tmp_path / "ws"))
    opts = dict(zip(argv[5::2], argv[6::2]))
    assert opts["--server.address"] == "0.0.0.0" and opts["--server.port"] == "8600"
    assert env["ALKIT_WORKSPACE"] == str(tmp_path / "ws")
    # the global option works too
    _, env2 = dashboard_command(build_parser().parse_args(["--workspace", str(tmp_path / "g"), "dashboard"]))
    assert env2["ALKIT_WORKSPACE"] == str(tmp_path / "g")


def test_bad_port_is_named():
    with pytest.raises(ValueError, match="--port"):
        _argv("--port", "70000")


def test_boot_module_warms_up_then_is_streamlits_cli():
    """``alkit dashboard`` runs ``python -m alkit.app.boot``: the first optimiser's torch._dynamo import
    happens before any page, then Streamlit's own CLI takes the arguments unchanged."""
    import subprocess
    import sys

    code = ("import sys; from alkit.app.boot import warm_up; assert 'torch._dynamo' not in sys.modules; "
            "warm_up(); assert 'torch._dynamo' in sys.modules and 'pandas' in sys.modules; print('warm')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "warm", out.stderr[-2000:]
    out = subprocess.run([sys.executable, "-m", "alkit.app.boot", "version"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and "Streamlit, version" in out.stdout, out.stderr[-2000:]
