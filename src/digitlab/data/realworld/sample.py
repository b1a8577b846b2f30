"""One picture of a real-world set, and the cache that keeps generated sets between runs.

A set is cached as one uncompressed zip in ``cache_dir()/realworld/``: ``manifest.json`` (the records' fields) plus one
file per picture. Its name holds a hash of the generator's source code and arguments, so changing either regenerates.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..sources import cache_dir
from .photo import decode

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Sample:
    """One picture with what a reader should make of it.

    ``label`` is the digit string a correct reader answers ("407"), or None when the picture holds no digit.
    ``accept`` is, for a digit-like letter (O, l, S, ...), the digit it may fairly be read as ("" otherwise: refuse).
    """

    image: bytes  # the picture file (JPEG as a phone takes it); ``array()`` decodes it
    label: str | None
    source: str  # the package it is made from (Debian, or the PyPI distribution), e.g. "tuxpaint-data"
    group: str  # the unit that never crosses splits: the package (a font's or photo's package)
    kind: str  # "photo", "crop", "document", "letter", "symbol", "printed-digit", "digit-photo", "digit-strip"
    item: str = ""  # which font face or photo file, e.g. "NimbusSans-Regular" or "templates/sheep.jpg"
    text: str = ""  # what was drawn: the letter or symbol ("P"), the digits of a printed digit
    accept: str = ""

    def array(self) -> np.ndarray:
        """The picture as (H, W, 3) uint8 RGB."""
        return decode(self.image)


def source_hash() -> str:
    """Hash of every module of this package: a change to any generator invalidates every cached set."""
    h = hashlib.sha256()
    for path in sorted(HERE.glob("*.py")):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


def cached(name: str, args: dict, make: Callable[[], list[Sample]]) -> list[Sample]:
    """``make()``, or the set cached under ``name`` for these ``args`` and this source code."""
    key = hashlib.sha256(json.dumps([source_hash(), args], sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / "realworld" / f"{name}-{key}.zip"
    if path.is_file():
        return load(path)
    samples = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save(samples, tmp)
    tmp.replace(path)  # atomic: a reader never sees half a set
    return samples


def save(samples: list[Sample], path: Path) -> None:
    """Write samples as a zip: manifest.json plus one stored (uncompressed: they are JPEG) file per picture."""
    manifest = [{k: v for k, v in asdict(s).items() if k != "image"} for s in samples]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("manifest.json", json.dumps(manifest))
        for i, s in enumerate(samples):
            z.writestr(f"{i:06d}", s.image)


def load(path: Path) -> list[Sample]:
    """Read a zip written by ``save``."""
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
        return [Sample(image=z.read(f"{i:06d}"), **m) for i, m in enumerate(manifest)]
