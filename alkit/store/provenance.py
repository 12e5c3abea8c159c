"""What a run records about where it ran: package versions and the git revision."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sqlite3
import subprocess
import sys

import numpy as np


def _package_versions() -> dict[str, str | None]:
    """Versions of python, numpy, torch, alkit and sqlite (torch is never imported here)."""
    versions: dict[str, str | None] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sqlite": sqlite3.sqlite_version,
    }
    for pkg in ("torch", "alkit"):
        mod = sys.modules.get(pkg)
        v = getattr(mod, "__version__", None) if mod is not None else None
        if v is None:
            try:
                v = importlib.metadata.version(pkg)
            except Exception:
                v = None
        versions[pkg] = None if v is None else str(v)
    return versions


def _git_revision(cwd: str | os.PathLike | None = None) -> str | None:
    """``git rev-parse HEAD`` of the current directory, or None (no git, no repo, timeout)."""
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=2.0,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    rev = res.stdout.strip()
    if res.returncode != 0 or not rev:
        return None
    return rev
