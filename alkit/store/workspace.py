"""Where alkit writes: the workspace folder (``$ALKIT_WORKSPACE`` or ``./alkit-workspace``)."""

from __future__ import annotations

import os
import pathlib

__all__ = ["DEFAULT_WORKSPACE", "WORKSPACE_ENV", "resolve_workspace", "cache_dir"]

DEFAULT_WORKSPACE = "alkit-workspace"
WORKSPACE_ENV = "ALKIT_WORKSPACE"


def resolve_workspace(workspace: str | os.PathLike | None = None) -> pathlib.Path:
    """Return the workspace folder (not created here).

    Parameters
    ----------
    workspace : str or path-like, optional
        Explicit folder. Takes precedence over ``$ALKIT_WORKSPACE``, which
        takes precedence over ``./alkit-workspace``.

    Returns
    -------
    pathlib.Path
        Absolute path of the workspace folder.
    """
    if workspace is None or str(workspace) == "":
        workspace = os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE
    return pathlib.Path(workspace).expanduser().absolute()


def cache_dir(workspace: str | os.PathLike | None = None) -> pathlib.Path:
    """``<workspace>/cache``: where one-off work (ASAL's GAN and autoencoder) is cached (not created here).

    The loop hands this folder to strategies as :attr:`alkit.strategies.PoolView.cache_dir`, so no
    strategy needs to know where the workspace is.
    """
    return resolve_workspace(workspace) / "cache"
