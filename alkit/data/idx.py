"""A strict reader for IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.

Layout: a 4-byte big-endian magic ``0x0000TTDD`` (``TT`` element type, ``DD`` number of
dimensions), ``DD`` big-endian uint32 sizes, then the elements in C order. The reader checks
the magic and that the file holds exactly as many bytes as the header promises, so a
truncated download fails loudly with the path instead of producing garbage.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from ._base import DatasetError

__all__ = ["IDX_IMAGES_MAGIC", "IDX_LABELS_MAGIC", "read_idx", "read_idx_images", "read_idx_labels", "find_idx_file"]

IDX_IMAGES_MAGIC = 0x00000803  # uint8, 3 dims (N, H, W)
IDX_LABELS_MAGIC = 0x00000801  # uint8, 1 dim (N,)

_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
          0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}  # fmt: skip


def _suffix(fix: str) -> str:
    return f" {fix}" if fix else ""


def read_idx(path: str | Path, expected_magic: int | None = None, fix: str = "") -> np.ndarray:
    """Read one IDX file into a numpy array (native byte order).

    Parameters
    ----------
    path : str or Path
        The file; gzip compression is detected from its first bytes.
    expected_magic : int, optional
        Required magic number, e.g. :data:`IDX_IMAGES_MAGIC`.
    fix : str
        Advice appended to every error message (how to obtain a good copy).

    Raises
    ------
    DatasetError
        Missing file, bad gzip stream, wrong magic, or a length that does not match the header.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"IDX file {path} not found.{_suffix(fix)}")
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetError(f"{path} is truncated or corrupt (cannot decompress: {e}).{_suffix(fix)}") from e
    if len(raw) < 4:
        raise DatasetError(
            f"{path} is truncated or corrupt: {len(raw)} bytes, too short for an IDX header.{_suffix(fix)}"
        )
    magic = int.from_bytes(raw[:4], "big")
    ndim, code = raw[3], raw[2]
    if raw[:2] != b"\x00\x00" or code not in _TYPES or ndim == 0:
        raise DatasetError(f"{path} is not an IDX file (magic number 0x{magic:08x}).{_suffix(fix)}")
    if expected_magic is not None and magic != expected_magic:
        raise DatasetError(
            f"{path} has magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"(wrong or corrupt file).{_suffix(fix)}"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path} is truncated or corrupt: the header is cut short.{_suffix(fix)}")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    dtype = _TYPES[code]
    expected = header + math.prod(dims) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "corrupt (trailing bytes)"
        raise DatasetError(
            f"{path} is {what}: its header promises shape {tuple(dims)} = {expected} bytes, "
            f"but it holds {len(raw)} bytes.{_suffix(fix)}"
        )
    arr = np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=False)


def read_idx_images(path: str | Path, fix: str = "") -> np.ndarray:
    """uint8 images ``(N, H, W)`` from an IDX file with magic 0x00000803."""
    return read_idx(path, IDX_IMAGES_MAGIC, fix)


def read_idx_labels(path: str | Path, fix: str = "") -> np.ndarray:
    """uint8 labels ``(N,)`` from an IDX file with magic 0x00000801."""
    return read_idx(path, IDX_LABELS_MAGIC, fix)


def find_idx_file(folder: Path, stem: str) -> Path | None:
    """``folder/stem`` if it exists, else ``folder/stem.gz``, else None."""
    for name in (stem, stem + ".gz"):
        p = folder / name
        if p.is_file():
            return p
    return None
