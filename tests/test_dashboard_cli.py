"""`alkit dashboard`: streamlit on 127.0.0.1 unless asked otherwise, headless, no usage statistics."""

import pytest

from alkit.cli import build_parser, dashboard_command


def _argv(*args):
    return dashboard_command(build_parser().parse_args(["dashboard", *args]))


def test_defaults_bind_loopback_headless_without_usage_stats():
    argv, env = _argv()
    assert argv[1:4] == ["-m", "streamlit", "run"] and argv[4].endswith("dashboard/app.py")
    opts = dict(zip(argv[5::2], argv[6::2]))
    assert opts == {"--server.address": "127.0.0.1", "--server.port": "8501", "--server.headless": "true",
                    "--browser.gatherUsageStats": "false"}


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
