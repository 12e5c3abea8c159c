"""Helpers for tests of strategies (used by alkit's own suite; handy for plug-in authors too)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from alkit.models import get_model
from alkit.strategies import PoolView

__all__ = ["HostTransferError", "forbid_host_transfers", "synthetic_view"]


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
