"""Shared test set-up: one torch thread (the CI machine has two shared cores), an isolated workspace."""

import os

import pytest
import torch

torch.set_num_threads(1)
os.environ.setdefault("ALKIT_DATA", "/nonexistent-alkit-data")  # tests never fall back to a user's data folder

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(autouse=True)
def _isolated_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("ALKIT_WORKSPACE", str(tmp_path / "workspace"))
    yield
    # A test that runs a command in-process may raise the thread count (`alkit bench` defaults to 2): on
    # two shared cores that makes every later test in this worker several times slower, so set it back.
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)
