"""Reader for the IDX format of MNIST-style files (optionally gzipped), vectorised with numpy.

Format (LeCun): magic = 0x00 0x00 <dtype code> <ndim>, then ndim big-endian
uint32 sizes, then the data. Only unsigned bytes (0x08) are used by MNIST.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import DataError

_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_IDX_BYTES = 256 * 2**20  # largest content accepted; the biggest official file (train images) has 47,040,016 bytes
SLACK = 64 * 1024  # bytes read past the header's size (to report a too-long file) and allowed for gzip's framing


def read_bytes(path: str | Path) -> bytes:
    """Uncompressed bytes of ``path`` (gunzipped when it ends in .gz), never more than its IDX header's size + SLACK.

    The header (magic + dims) gives the size, so a gzip bomb, a huge file or an endless source (a pipe,
    /dev/zero) is refused after reading about that many bytes; a file without a valid header is returned as
    its first bytes for :func:`parse_idx` to name the problem.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"Data file {path} does not exist.")
    if path.is_dir():
        raise DataError(f"Data file {path} is a folder, not a file.")
    try:
        with path.open("rb") as f:
            if path.suffix != ".gz":
                return _read_sized(f, path)
            with gzip.GzipFile(fileobj=f) as gz:
                return _read_sized(gz, path)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"Data file {path} is corrupt or truncated ({err}); delete it and fetch it again.") from err


def _read_sized(src: IO[bytes] | gzip.GzipFile, path: Path) -> bytes:
    """Header, then at most the size it announces + SLACK + 1 bytes; refuses more with a DataError."""
    head = src.read(4)
    if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _DTYPES or not 1 <= head[3] <= 4:
        return head  # parse_idx explains what is wrong with it
    head += src.read(4 * head[3])
    if len(head) < 4 + 4 * head[3]:
        return head
    shape = tuple(int(d) for d in np.frombuffer(head, dtype=">u4", offset=4))
    expected = len(head) + int(np.prod(shape, dtype=object)) * np.dtype(_DTYPES[head[2]]).itemsize  # object: no int64 overflow
    if expected > MAX_IDX_BYTES:
        raise DataError(f"Data file {path} claims a shape {shape} of {expected:,} bytes, more than the limit of {MAX_IDX_BYTES:,}.")
    if path.suffix == ".gz" and path.is_file() and path.stat().st_size > expected + expected // 1000 + SLACK:
        raise DataError(
            f"Data file {path} is larger compressed than its header {shape} allows ({expected:,} bytes); it is foreign or damaged."
        )
    raw = head + src.read(expected - len(head) + SLACK + 1)
    if len(raw) > expected + SLACK:
        what = "foreign or a decompression bomb" if path.suffix == ".gz" else "foreign or an endless source"
        raise DataError(
            f"Data file {path} has more than {expected + SLACK:,} bytes but its header {shape} needs {expected:,}; it is {what}."
        )
    return raw


def parse_idx(raw: bytes, name: str = "data") -> np.ndarray:
    """Parse IDX bytes into an array, validating magic number, shape and length."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES or not 1 <= raw[3] <= 4:
        blank = ": it starts with zero bytes, like a blank or never-written file" if raw[:4] == bytes(4) else ""
        raise DataError(f"{name} is not an IDX file (bad magic number {raw[:4].hex() or 'empty'}{blank}).")
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
    arr = parse_idx(raw, str(path))  # first: a file cut short by read_bytes gets its own sentence, not a checksum of its start
    if md5 is not None:
        got = hashlib.md5(raw).hexdigest()
        if got != md5:
            raise DataError(
                f"Data file {path} has checksum {got}, expected {md5}: it is corrupt or not the official file; delete it and fetch it again."
            )
    return arr
