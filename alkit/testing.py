"""Helpers for tests of strategies (used by alkit's own suite; handy for plug-in authors too)."""

from __future__ import annotations

import collections
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import torch

from alkit.models import get_model
from alkit.seeding import seeded
from alkit.strategies import PoolView

__all__ = [
    "HostSyncCount",
    "HostTransferError",
    "count_host_syncs",
    "forbid_host_transfers",
    "synthetic_view",
]


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


#: Operators that make the host wait for the device on CUDA, as a dispatch mode sees them on any device.
#: ``_local_scalar_dense`` is every scalar read: ``.item()``, ``bool``/``int``/``float`` of a tensor,
#: Python control flow on a tensor, a 0-d tensor used as an index (``x[t]``, ``x[t] = v``). The others
#: size their output from the data (``nonzero``, ``unique``, boolean-mask indexing, ``masked_select``,
#: ``repeat_interleave`` without ``output_size``), read a maximum back (``bincount``), return a Python
#: bool (``equal``) or check a solver's status on the host (``linalg.eigh``).
SYNC_OPS = frozenset(
    {
        "_local_scalar_dense",
        "nonzero",
        "masked_select",
        "_unique2",
        "unique_dim",
        "unique_consecutive",
        "bincount",
        "repeat_interleave",
        "equal",
        "_linalg_eigh",
        "linalg_eigh",
    }
)
#: Tensor methods that copy to host memory (free on a CPU tensor, a transfer from an accelerator).
_HOST_METHODS = ("cpu", "numpy", "tolist")


class HostSyncCount:
    """What :func:`count_host_syncs` saw: ``total``, ``ops`` (per operator) and ``sites`` (per alkit line)."""

    def __init__(self) -> None:
        self.ops: collections.Counter[str] = collections.Counter()
        self.sites: collections.Counter[str] = collections.Counter()
        #: Scalar reads of host-resident tensors inside ``torch.optim`` (the step counter of a
        #: non-capturable optimizer lives on the CPU whatever the parameters' device): not syncs.
        self.optimizer_host_reads = 0

    @property
    def total(self) -> int:
        return sum(self.ops.values())

    def add(self, op: str) -> None:
        self.ops[op] += 1
        self.sites[_alkit_site()] += 1

    def __repr__(self) -> str:
        return f"HostSyncCount(total={self.total}, ops={dict(self.ops)}, sites={dict(self.sites.most_common(8))})"


def _alkit_site() -> str:
    """``file:line`` of the innermost alkit frame outside this module (where the sync was asked for)."""
    f = sys._getframe(2)
    while f is not None:
        name = f.f_code.co_filename
        if f"{os.sep}alkit{os.sep}" in name and not name.endswith("testing.py"):
            return f"{os.path.relpath(name, os.path.dirname(os.path.dirname(__file__)))}:{f.f_lineno}"
        f = f.f_back
    return "?"


def _in_torch_optim() -> bool:
    f = sys._getframe(2)
    while f is not None:
        name = f.f_code.co_filename
        if f"{os.sep}torch{os.sep}optim{os.sep}" in name:
            return True
        if f"{os.sep}torch{os.sep}" not in name:
            return False
        f = f.f_back
    return False


def _is_sync(func: Any, args: tuple, kwargs: dict) -> str | None:
    name = func._schema.name.split("::")[-1]
    overload = func._overloadname
    if name in SYNC_OPS:
        if name == "repeat_interleave" and (kwargs.get("output_size") is not None or len(args) > 3 and args[3] is not None):
            return None
        return name
    if name in ("index", "index_put", "index_put_", "_index_put_impl_"):
        idx = args[1] if len(args) > 1 else kwargs.get("indices", ())
        if any(isinstance(t, torch.Tensor) and t.dtype in (torch.bool, torch.uint8) for t in idx):
            return f"{name} (boolean mask)"
    if name in ("_to_copy", "copy_") and overload == "default":
        src = args[1] if name == "copy_" else args[0]
        dst_dev = args[0].device if name == "copy_" else kwargs.get("device")
        if isinstance(src, torch.Tensor) and dst_dev is not None and torch.device(dst_dev).type == "cpu" \
                and src.device.type != "cpu":
            return f"{name} to host"
    return None


@contextlib.contextmanager
def count_host_syncs() -> Iterator[HostSyncCount]:
    """Count every device → host synchronisation requested inside the block, even on a CPU-only machine.

    A :class:`~torch.utils._python_dispatch.TorchDispatchMode` sees each operator in :data:`SYNC_OPS`
    (scalar reads, data-dependent output sizes, boolean-mask indexing), and ``Tensor.cpu``,
    ``Tensor.numpy`` and ``Tensor.tolist`` are counted as they are called (on a CPU tensor they are free,
    on an accelerator they are transfers). Kernels that sync only inside their CUDA implementation
    (not visible as an operator) are not seen on a CPU run.

    Yields
    ------
    HostSyncCount
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    count = HostSyncCount()
    inside = [0]  # > 0 while a counted Tensor method runs (its own copy is not counted twice)

    class _Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            op = None if inside[0] else _is_sync(func, args, kwargs)
            if op == "_local_scalar_dense" and args[0].device.type == "cpu" and _in_torch_optim():
                count.optimizer_host_reads += 1
            elif op is not None:
                count.add(op)
            return func(*args, **kwargs)

    originals = {name: getattr(torch.Tensor, name) for name in _HOST_METHODS}

    def counted(name: str):
        orig = originals[name]

        def fn(self, *args, **kwargs):
            if not inside[0]:
                count.add(f"Tensor.{name}")
            inside[0] += 1
            try:
                return orig(self, *args, **kwargs)
            finally:
                inside[0] -= 1

        return fn

    try:
        for name in _HOST_METHODS:
            setattr(torch.Tensor, name, counted(name))
        with _Mode():
            yield count
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
    cache_dir: Any = None,
) -> PoolView:
    """A seeded random pool view holding every field in ``needs``.

    Labeled items are the first ``n_labeled`` pool indices in a seeded permutation; the rest are
    unlabeled (ascending, as the loop builds them). ``probs`` overrides the probabilities;
    ``cache_dir`` becomes the view's cache folder (None: strategies cache nothing on disk).
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
        with seeded(seed):
            fields["model"] = get_model("mlp", (input_dim,), k).to(dev).eval()
    return PoolView(unlabeled=unlabeled.to(dev), labeled=labeled.to(dev), num_classes=k, device=dev, _fields=fields,
                    cache_dir=cache_dir)
