"""Reader for the IDX format of MNIST-style files (optionally gzipped), vectorised with numpy.

Format (LeCun): magic = 0x00 0x00 <dtype code> <ndim>, then ndim big-endian
uint32 sizes, then the data. Only unsigned bytes (0x08) are used by MNIST.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_bytes(path: str | Path) -> bytes:
    """Uncompressed bytes of ``path`` (gunzipped when it ends in .gz)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Data file {path} does not exist.")
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"Data file {path} is corrupt or truncated ({err}); delete it and fetch it again.") from err


def parse_idx(raw: bytes, name: str = "data") -> np.ndarray:
    """Parse IDX bytes into an array, validating magic number, shape and length."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES or not 1 <= raw[3] <= 4:
        raise DataError(f"{name} is not an IDX file (bad magic number {raw[:4].hex() or 'empty'}).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name} is truncated inside its header.")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"{name} has {len(raw)} bytes but its header {shape} needs {expected}; the file is truncated or foreign.")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def read_idx(path: str | Path, md5: str | None = None) -> np.ndarray:
    """Read an IDX file; when ``md5`` is given, the uncompressed content must match it."""
    raw = read_bytes(path)
    if md5 is not None:
        got = hashlib.md5(raw).hexdigest()
        if got != md5:
            raise DataError(
                f"Data file {path} has checksum {got}, expected {md5}: it is corrupt or not the official file; delete it and fetch it again."
            )
    return parse_idx(raw, str(path))
