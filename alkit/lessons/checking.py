"""What an exercise checker says when an answer is wrong: a hint that names what is off, never the answer.

:func:`diagnose` compares a student's answer with a reference computed inside the package and returns
``None`` when they agree, else one sentence: the wrong type, shape or length, a transposed array, a
flipped sign, a factor of two, an off-by-one, right values in the wrong order, how many picks of a set
are right, which part of a tuple is off, or only the direction ("too large") when nothing more specific
fits. The sentence never contains the reference value.

>>> diagnose(-0.5, 0.5)
'the sign is flipped'
>>> diagnose(3, 4)
'off by one (too small)'
>>> diagnose({1, 2, 5}, {1, 2, 3})
'2 of the 3 picks are right; 1 is not in the reference set'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["diagnose"]


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool) or (
        hasattr(x, "shape") and tuple(getattr(x, "shape", ())) == () and hasattr(x, "item"))


def _as_float(x: Any) -> float:
    return float(x.item() if hasattr(x, "item") else x)


def _is_array(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype") and tuple(x.shape) != ()


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)


def _number(answer: Any, ref: float, rtol: float, atol: float, integer: bool) -> str | None:
    if not _is_number(answer):
        return f"expected a single number, got {_describe(answer)}"
    a = _as_float(answer)
    if math.isnan(ref):  # the quantity is undefined for these inputs (a metric's nan): only nan is right
        return None if math.isnan(a) else "the quantity is undefined here (no finite value exists for these inputs)"
    if not math.isfinite(a):
        return f"the answer is {a}, not a finite number"
    if _close(a, ref, rtol, atol):
        return None
    side = "too large" if a > ref else "too small"
    if ref != 0 and _close(a, -ref, rtol, atol):
        return "the sign is flipped"
    if integer and abs(a - ref) == 1:
        return f"off by one ({side})"
    if ref != 0:
        for factor, words in ((2.0, "twice the right value: a factor 2 too many?"),
                              (0.5, "half the right value: a factor 2 missing?")):
            if _close(a, factor * ref, rtol, atol):
                return words
        if ref > 0 and a > 0 and _close(a, ref * ref, rtol, atol):
            return "this is the square of the right value (a square root missing?)"
        if ref > 0 and _close(a, math.sqrt(ref), rtol, atol):
            return "this is the square root of the right value (squared where a root is wanted?)"
        if _close(a, 1.0 - ref, rtol, atol):
            return "this is one minus the right value (the complement)"
    return f"{side}"


def _describe(x: Any) -> str:
    if _is_array(x):
        return f"an array of shape {tuple(x.shape)}"
    if isinstance(x, (set, frozenset)):
        return f"a set of {len(x)}"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of length {len(x)}"
    return f"a {type(x).__name__} ({x!r})" if isinstance(x, (str, bool)) else f"a {type(x).__name__}"


def _array(answer: Any, ref: Any, rtol: float, atol: float) -> str | None:
    if not (_is_array(answer) or isinstance(answer, (list, tuple))):
        return f"expected an array of shape {tuple(np.shape(ref))}, got {_describe(answer)}"
    a, r = _to_numpy(answer).astype(float), _to_numpy(ref).astype(float)
    if a.shape != r.shape:
        if a.shape == r.shape[::-1] and a.ndim > 1:
            return f"shape {a.shape} is the transpose of the expected {r.shape} (wrong axis order?)"
        if a.size == r.size:
            return f"shape {a.shape}, expected {r.shape} (the right number of entries, arranged differently)"
        if a.ndim == r.ndim + 1:
            return f"shape {a.shape}, expected {r.shape}: one axis too many (a mean or sum over an axis missing?)"
        if a.ndim + 1 == r.ndim or (a.ndim == r.ndim and a.ndim == 1):
            return f"shape {a.shape}, expected {r.shape} (reduced over the wrong axis?)"
        return f"shape {a.shape}, expected {r.shape}"
    if not np.all(np.isfinite(a)):
        return f"{int((~np.isfinite(a)).sum())} entries are NaN or infinite"
    ok = np.isclose(a, r, rtol=rtol, atol=atol)
    if ok.all():
        return None
    if np.allclose(a, -r, rtol=rtol, atol=atol):
        return "every sign is flipped"
    if np.allclose(np.sort(a, axis=None), np.sort(r, axis=None), rtol=rtol, atol=atol):
        return "the right values in the wrong order"
    if np.any(r != 0) and np.allclose(a, 2 * r, rtol=rtol, atol=atol):
        return "every entry is twice the right value"
    if np.any(r != 0) and np.allclose(a, 0.5 * r, rtol=rtol, atol=atol):
        return "every entry is half the right value"
    bad = np.flatnonzero(~ok.reshape(-1))
    where = np.unravel_index(int(bad[0]), a.shape)
    first = where[0] if len(where) == 1 else tuple(int(i) for i in where)
    return f"{bad.size} of {a.size} entries are off (the first at index {first})"


def _item(x: Any) -> Any:
    return x.item() if hasattr(x, "item") else x


def _collection(answer: Any, ref: set[Any] | frozenset[Any]) -> str | None:
    if isinstance(answer, (str, bytes)) or _is_number(answer):
        return f"expected a collection of {len(ref)} items, got {_describe(answer)}"
    try:
        items = _to_numpy(answer).reshape(-1).tolist() if _is_array(answer) else [_item(x) for x in answer]
    except TypeError:
        return f"expected a collection of {len(ref)} items, got {_describe(answer)}"
    got, want = set(items), {_item(x) for x in ref}
    if len(items) != len(got):
        return f"{len(items) - len(got)} duplicate items (an item can be picked once)"
    if got == want:
        return None
    if len(got) != len(want):
        return f"{len(got)} items, expected {len(want)}"
    miss = len(want - got)
    return f"{len(want) - miss} of the {len(want)} picks are right; {miss} {'is' if miss == 1 else 'are'} " \
           "not in the reference set"


def diagnose(answer: Any, reference: Any, *, rtol: float = 1e-6, atol: float = 1e-9,
             names: Sequence[str] | None = None, options: Sequence[Any] | None = None) -> str | None:
    """``None`` when ``answer`` matches ``reference``, else a hint naming what is off (never the reference).

    Parameters
    ----------
    answer, reference
        A number (an ``int`` reference makes the comparison exact and enables the off-by-one hint), an
        array or tensor (compared entrywise, shape first), a ``set`` (compared as a set of picks), a
        ``tuple`` (compared part by part, each part by these rules), or anything else (``==``).
    rtol, atol : float
        Tolerances of every numeric comparison.
    names : sequence of str, optional
        What the parts of a tuple answer are called (used in the hint).
    options : sequence, optional
        The valid answers of a choice (a name): an answer outside them gets the list.
    """
    if isinstance(reference, tuple):
        if not isinstance(answer, (tuple, list)) or len(answer) != len(reference):
            what = f" ({', '.join(names)})" if names else ""
            return f"expected a tuple of {len(reference)}{what}, got {_describe(answer)}"
        labels = list(names) if names else [f"part {i + 1}" for i in range(len(reference))]
        for label, a, r in zip(labels, answer, reference):
            problem = diagnose(a, r, rtol=rtol, atol=atol)
            if problem is not None:
                return f"{label}: {problem}"
        return None
    if isinstance(reference, (set, frozenset)):
        return _collection(answer, reference)
    if isinstance(reference, bool) or isinstance(reference, str) or options is not None:
        if options is not None and answer not in options:
            return f"{answer!r} is not one of the choices {list(options)}"
        return None if answer == reference else f"{answer!r} is not the one"
    if _is_array(reference):
        return _array(answer, reference, rtol, atol)
    if _is_number(reference):
        integer = isinstance(reference, numbers.Integral)
        return _number(answer, _as_float(reference), 0.0 if integer else rtol, 0.0 if integer else atol, integer)
    return None if answer == reference else "not right"
