"""Values in and out of the store: JSON that round-trips exactly, index and score lists, timestamps."""

from __future__ import annotations

import json
import math
import operator
import pathlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np

from alkit.store.schema import StoreError


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="microseconds")


def _jsonable(obj: Any, where: str, depth: int = 0) -> Any:
    """Convert ``obj`` to plain JSON types (numpy scalars/arrays included; NaN/inf -> None)."""
    if depth > 64:
        raise StoreError(f"{where} is nested too deeply (a reference cycle?)")
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if isinstance(k, (np.integer, np.bool_)):
                k = k.item()
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise StoreError(f"{where} has a key {k!r} of type {type(k).__name__}; JSON keys must be str or int")
            out[str(k)] = _jsonable(v, f"{where}[{k!r}]", depth + 1)
        return out
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise StoreError(f"{where} is a numpy array of dtype {obj.dtype}; only numeric arrays can be stored")
        return _jsonable(obj.tolist(), where, depth + 1)
    if isinstance(obj, pathlib.PurePath):
        return str(obj)
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # torch tensors and the like
        return _jsonable(obj.tolist(), where, depth + 1)
    raise StoreError(
        f"{where} of type {type(obj).__name__} is not JSON-serialisable; store a number, string, list or dict"
    )


def _dumps(obj: Any, where: str) -> str:
    if not isinstance(obj, Mapping):
        raise StoreError(f"{where} must be a dict, got {type(obj).__name__}")
    return json.dumps(_jsonable(obj, where), allow_nan=False, sort_keys=False)


def _int_list(values: Any, where: str, *, allow_none: bool = False, nonneg: bool = False) -> list:
    """Validate a 1-D sequence of integers (numpy/torch accepted); floats are rejected."""
    if hasattr(values, "detach"):  # torch tensor without importing torch
        values = values.detach().cpu().numpy()
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise StoreError(f"{where} must be one-dimensional, got shape {values.shape}")
        if values.size and values.dtype.kind not in "iu" and not (allow_none and values.dtype == object):
            raise StoreError(f"{where} must hold integers, got dtype {values.dtype}")
        values = values.tolist()
    elif isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, range)):
        raise StoreError(f"{where} must be a sequence of integers, got {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        if v is None and allow_none:
            out.append(None)
            continue
        try:
            if isinstance(v, (bool, np.bool_)):
                raise TypeError
            iv = operator.index(v)
        except TypeError:
            raise StoreError(f"{where}[{i}] = {v!r} is not an integer") from None
        if nonneg and iv < 0:
            raise StoreError(f"{where}[{i}] = {iv} is negative; pool indices start at 0")
        out.append(iv)
    return out


def _float_list(values: Any, where: str) -> list:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise StoreError(f"{where} must be one-dimensional, got shape {values.shape}")
        values = values.tolist()
    elif isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise StoreError(f"{where} must be a sequence of numbers, got {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        if isinstance(v, (str, bytes)):
            raise StoreError(f"{where}[{i}] = {v!r} is not a number")
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise StoreError(f"{where}[{i}] = {v!r} is not a number") from None
        out.append(None if math.isnan(f) else f)
    return out
