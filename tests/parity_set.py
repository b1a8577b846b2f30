"""The fixed parity set of issue 12: pictures on which the browser's pipeline must agree with Python's.

Some pictures of each real-world eval set of the recognition benchmark (``digitlab.data.realworld.eval_sets``:
digit photos, digit strips, photos and documents without digits, letters, printed digits) plus MNIST test digits,
each decoded as the predictor decodes it (``read_picture(bytes, max_side=DECODE_SIDE).gray``), so JavaScript starts
from exactly the grey picture Python starts from. Pictures are taken evenly spaced through each set (every font,
photo package and writer has its share), always the same ones: the set is deterministic.

``parity_set()`` gives ``[(name, kind, gray)]``; ``write_parity_set(folder, items)`` dumps it for Node as one raw
float32 file per picture (row-major, little-endian) plus ``index.json`` (name, kind, file, width, height). The
real-world sets need the Debian packages of scripts/realworld-packages.sh: without them ``parity_set`` raises the
DataError naming that script.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from digitlab.data.dataset import load_raw
from digitlab.data.realworld import eval_sets
from digitlab.recognize.image_io import read_picture
from digitlab.recognize.preprocess import DECODE_SIDE

#: Pictures per set: 230 in all, ~2 s to build from the cached sets; the photos and strips (the pictures with the
#: most marks and lighting work) weigh most.
COUNTS = {
    "digit_photos": 40,
    "digit_strips": 40,
    "nondigit_photos": 40,
    "nondigit_documents": 10,
    "letters_refuse": 20,
    "letters_ambiguous": 10,
    "printed_digits": 10,
    "mnist": 60,
}


def _spaced(items: list, n: int) -> list:
    """n items evenly spaced through the list (all of them when it is shorter)."""
    if len(items) <= n:
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def _png(gray_u8: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(gray_u8).save(buf, "PNG")
    return buf.getvalue()


def parity_set(counts: dict[str, int] | None = None) -> list[tuple[str, str, np.ndarray]]:
    """``[(name, kind, gray)]``: gray is (H, W) float32 in [0, 1] as the predictor decodes the picture."""
    counts = {**COUNTS, **(counts or {})}
    real = eval_sets()  # DataError when the Debian packages are missing
    out = []
    for kind, n in counts.items():
        if kind == "mnist":
            x, _ = load_raw("mnist", "t10k")  # (10000, 28, 28) uint8
            pictures = [(f"mnist-{i}", _png(x[i])) for i in _spaced(list(range(len(x))), n)]
        else:
            pictures = [(f"{kind}-{s.item or i}-{i}".replace("/", "_"), s.image) for i, s in _spaced(list(enumerate(real[kind])), n)]
        out += [(name, kind, read_picture(data, max_side=DECODE_SIDE).gray) for name, data in pictures]
    return out


def write_parity_set(folder: Path, items: list[tuple[str, str, np.ndarray]]) -> Path:
    """Dump the set for Node: ``<k>.bin`` raw float32 (H, W) per picture and ``index.json``; returns the index path."""
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    for k, (name, kind, gray) in enumerate(items):
        file = f"{k:04d}.bin"
        np.ascontiguousarray(gray, "<f4").tofile(folder / file)
        index.append({"name": name, "kind": kind, "file": file, "width": int(gray.shape[1]), "height": int(gray.shape[0])})
    path = folder / "index.json"
    path.write_text(json.dumps(index, indent=1))
    return path


def parity_set_in(folder: Path) -> list[tuple[str, str, np.ndarray]]:
    """The parity set, written into ``folder``; the calling test is skipped without the real-world packages (in CI,
    where they are installed, that is a failure instead)."""
    import os

    import pytest

    from digitlab.errors import DataError

    try:
        items = parity_set()
    except DataError as err:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(err))
    write_parity_set(folder, items)
    return items
