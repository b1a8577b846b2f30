"""28x28 non-digits for outlier exposure, made from the real-world sets the way the predictor sees real pictures.

It lives in ``recognize/`` (not ``data/realworld/``) because it runs the recognizer's preprocessing, and ``data/`` sits
below ``recognize/`` in the layers (docs/architecture.md).

Every negative goes through the lab's own preprocessing (``recognize.preprocess.analyse`` for a picture of one mark,
``recognize.segment.segment_digits`` for the marks of a photo), so training meets exactly the inputs that reach the
classifier: letters and symbols photographed on paper, the marks the segmenter cuts out of real photos and crops
(edges, poles, round things, texture), the photo seen as one mark, and the photo's edge map. Letters and symbols that
may fairly be read as a digit (``accept``: O, l, S, ..., /, |) are left out. Only train and val: the eval sets stay unseen.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from ..data.realworld.fonts import letters, rng_for, symbols
from ..data.realworld.photos import photos
from ..data.realworld.sample import Sample, source_hash
from ..data.sources import cache_dir
from ..errors import DataError
from .preprocess import analyse
from .segment import segment_digits

MARKS_PER_PHOTO = 6  # at most this many segmented marks from one photo or crop (chosen at random)
PREPROCESSING = ("negatives.py", "preprocess.py", "segment.py", "components.py", "image_io.py")
KINDS = ("letters", "symbols", "photo-marks", "photo-whole", "photo-edges")


def _own_hash() -> str:
    """Hash of this module and the preprocessing it runs: changing how marks are cut out remakes the negatives."""
    here = Path(__file__).resolve().parent
    return hashlib.sha256(b"".join((here / f).read_bytes() for f in PREPROCESSING)).hexdigest()[:16]


def _u8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


def edge_map(rgb: np.ndarray) -> np.ndarray:
    """Gradient magnitude of the grey picture, scaled to [0, 1] by its 99th percentile: bright edges on black."""
    g = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    gy, gx = np.gradient(g)
    mag = np.hypot(gx, gy)
    return np.clip(mag / max(float(np.percentile(mag, 99)), 1e-6), 0, 1)


def glyph_negatives(samples: list[Sample]) -> list[np.ndarray]:
    """Each photographed glyph that must be refused -> its 28x28 (as ``analyse`` makes it)."""
    return [_u8(analyse(s.array()).image) for s in samples if not s.accept]


def photo_negatives(samples: list[Sample], seed: int, kinds: tuple[str, ...]) -> list[np.ndarray]:
    """Marks segmented from each photo, the photo as one mark, and its edge map as one mark -> 28x28 each."""
    out = []
    for k, s in enumerate(samples):
        rgb = s.array()
        if "photo-marks" in kinds:
            marks = segment_digits(rgb)
            rng = rng_for(seed, "marks", s.item, str(k))
            for i in rng.permutation(len(marks))[:MARKS_PER_PHOTO]:
                out.append(_u8(marks[i].image))
        if "photo-whole" in kinds:
            out.append(_u8(analyse(rgb).image))
        if "photo-edges" in kinds:
            out.append(_u8(analyse(edge_map(rgb)).image))
    return out


def negatives28(split: str = "train", seed: int = 0, kinds: tuple[str, ...] = KINDS, limit: int | None = None) -> torch.Tensor:
    """Non-digit 28x28 images (N, 28, 28) uint8, light ink on black like MNIST, of the train or val split.

    ``limit`` keeps only the first faces / photos of each package (tests); blank results are dropped. Cached.
    """
    if split not in ("train", "val"):
        raise DataError(f"Outlier-exposure negatives are made for the train and val splits only, not {split!r}: eval stays unseen.")
    if unknown := set(kinds) - set(KINDS):
        raise DataError(f"Unknown negative kinds {sorted(unknown)}; use some of {', '.join(KINDS)}.")
    key = hashlib.sha256(json.dumps([source_hash(), _own_hash(), split, seed, sorted(kinds), limit]).encode()).hexdigest()[:16]
    path = cache_dir() / "realworld" / f"negatives28-{split}-{key}.npy"
    if path.is_file():
        return torch.from_numpy(np.load(path, allow_pickle=False))
    images = []
    if "letters" in kinds:
        images += glyph_negatives(letters(split, seed, limit))
    if "symbols" in kinds:
        images += glyph_negatives(symbols(split, seed, limit))
    if set(kinds) & {"photo-marks", "photo-whole", "photo-edges"}:
        images += photo_negatives(photos(split, seed, limit), seed, kinds)
    arr = np.stack([im for im in images if im.any()]) if images else np.zeros((0, 28, 28), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npy")
    np.save(tmp, arr, allow_pickle=False)
    tmp.replace(path)
    return torch.from_numpy(arr)
