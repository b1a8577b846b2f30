"""The one atomic file write: a temporary file beside the target, then a rename, so a crash never leaves half a file."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def numbered(name: str, suffix: str = "") -> Iterator[str]:
    """``name``, ``name-2``, ``name-3``, ... (each with ``suffix``): the names to try, in order, for one never overwritten."""
    yield f"{name}{suffix}"
    for i in itertools.count(2):
        yield f"{name}-{i}{suffix}"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """``with atomic_path(p) as tmp: write(tmp)``: ``tmp`` replaces ``p`` when the block succeeds, and is removed if it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")  # per process: two writers never share a temporary file
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    return path
