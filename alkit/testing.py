"""Helpers for tests of strategies (used by alkit's own suite; handy for plug-in authors too)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from alkit.models import get_model
from alkit.strategies import PoolView

__all__ = ["HostTransferError", "dashboard_server", "forbid_host_transfers", "synthetic_view"]


class HostTransferError(AssertionError):
    """A tensor was moved to the host inside a region that must stay on the device."""


@contextlib.contextmanager
def forbid_host_transfers() -> Iterator[None]:
    """Make ``.cpu()``, ``.numpy()``, ``.tolist()`` and multi-element ``.item()`` raise.

    Wrap a strategy's ``query`` in it: a host round-trip inside scoring or selection then fails
    the test, even on a CPU-only machine where the transfer would be free.
    """
    originals = {name: getattr(torch.Tensor, name) for name in ("cpu", "numpy", "tolist", "item")}

    def banned(name: str):
        def fn(self, *args, **kwargs):
            raise HostTransferError(f"Tensor.{name}() called inside a device-only region (shape {tuple(self.shape)})")

        return fn

    def item(self, *args, **kwargs):
        if self.numel() != 1:
            raise HostTransferError(f"multi-element Tensor.item() inside a device-only region (shape {tuple(self.shape)})")
        return originals["item"](self, *args, **kwargs)

    try:
        torch.Tensor.cpu = banned("cpu")  # type: ignore[method-assign]
        torch.Tensor.numpy = banned("numpy")  # type: ignore[method-assign]
        torch.Tensor.tolist = banned("tolist")  # type: ignore[method-assign]
        torch.Tensor.item = item  # type: ignore[method-assign]
        yield
    finally:
        for name, fn in originals.items():
            setattr(torch.Tensor, name, fn)


def synthetic_view(
    needs: frozenset[str] | set[str],
    *,
    n_pool: int = 60,
    n_labeled: int = 10,
    num_classes: int = 4,
    dim: int = 8,
    mc_samples: int = 5,
    input_dim: int = 6,
    probs: torch.Tensor | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> PoolView:
    """A seeded random pool view holding every field in ``needs``.

    Labeled items are the first ``n_labeled`` pool indices in a seeded permutation; the rest are
    unlabeled (ascending, as the loop builds them). ``probs`` overrides the probabilities.
    """
    g = torch.Generator().manual_seed(seed)
    dev = torch.device(device)
    perm = torch.randperm(n_pool, generator=g)
    labeled = perm[:n_labeled].sort().values
    unlabeled = perm[n_labeled:].sort().values
    n_u, k = len(unlabeled), num_classes
    if probs is None:
        probs = (2.0 * torch.randn(n_u, k, generator=g)).softmax(-1)
    fields: dict = {}
    if "probs" in needs:
        fields["probs"] = probs.to(dev)
    if "mc_probs" in needs:
        logits = torch.randn(mc_samples, n_u, k, generator=g) + probs.clamp_min(1e-6).log()
        fields["mc_probs"] = logits.softmax(-1).to(dev)
    if "embeddings" in needs:
        fields["embeddings"] = torch.randn(n_u, dim, generator=g).to(dev)
    if "labeled_embeddings" in needs:
        fields["labeled_embeddings"] = torch.randn(n_labeled, dim, generator=g).to(dev)
    if "grad_factors" in needs:
        onehot = torch.nn.functional.one_hot(probs.argmax(-1), k).float() if n_u else torch.empty(0, k)
        fields["grad_factors"] = ((probs - onehot).to(dev), torch.randn(n_u, dim, generator=g).to(dev))
    if "inputs" in needs:
        fields["inputs"] = torch.randn(n_u, input_dim, generator=g).to(dev)
    if "labeled_inputs" in needs:
        fields["labeled_inputs"] = torch.randn(n_labeled, input_dim, generator=g).to(dev)
    if "labeled_targets" in needs:
        fields["labeled_targets"] = torch.randint(0, k, (n_labeled,), generator=g).to(dev)
    if "model" in needs:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            fields["model"] = get_model("mlp", (input_dim,), k).to(dev).eval()
    return PoolView(unlabeled=unlabeled.to(dev), labeled=labeled.to(dev), num_classes=k, device=dev, _fields=fields)


@contextlib.contextmanager
def dashboard_server(workspace, *, log_path=None, timeout: float = 90.0) -> Iterator[str]:
    """Run ``alkit dashboard`` headless on a free 127.0.0.1 port over ``workspace``; yields its URL.

    Waits for Streamlit's health endpoint; raises ``RuntimeError`` (with the end of the server's log
    when ``log_path`` is given) if the server exits or is not up within ``timeout`` seconds. The server
    uses one torch thread and is terminated on exit. Used by the browser test and the dashboard benchmark.
    """
    import os

    from alkit.cli import build_parser, dashboard_command

    def command(port: int) -> tuple[list[str], dict[str, str]]:
        argv, env = dashboard_command(build_parser().parse_args(
            ["dashboard", "--port", str(port), "--workspace", os.fspath(workspace)]))
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
