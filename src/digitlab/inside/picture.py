"""From a checkpoint and a picture to what ``look_inside`` takes: the network, its normalisation, the 28x28 digits.

The digits are found exactly as the predictor finds them (the same decoding, ink page and digit finder), so the
digit looked inside is the one Recognise answered for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_checkpoint, model_from_checkpoint
from ..errors import ImageError
from ..models import DigitNet
from ..recognize.image_io import MAX_PIXELS, read_picture
from ..recognize.preprocess import DECODE_SIDE, ink_page
from ..recognize.segment import find_digits
from .probe import Inside, look_inside


@dataclass(frozen=True)
class Subject:
    """A trained classifier as it reads digits: the network, the training split's mean/std, the class names."""

    model: DigitNet
    mean: float
    std: float
    classes: list[str]
    name: str  # the architecture, e.g. "cnn"

    def inside(self, digit: np.ndarray) -> Inside:
        """Look inside the network on ``digit`` ``(28, 28)`` in [0, 1], ink = 1 (normalised as in training)."""
        x = torch.from_numpy(self.normalised(digit))[None, None]  # (1, 1, 28, 28)
        blank = float(self.normalised(np.zeros(1))[0])  # the same float32 steps: x - blank is exactly 0 off the ink
        return look_inside(self.model, x, blank, self.classes, digit)

    def normalised(self, a: np.ndarray) -> np.ndarray:
        """Ink levels in [0, 1] -> the network's input values, float32 (as ``inference.normalise`` on uint8)."""
        return (np.asarray(a, np.float32) - np.float32(self.mean)) / np.float32(self.std)


def open_subject(path: str | Path) -> Subject:
    """The classifier in checkpoint ``path`` (loaded with ``weights_only=True``, as every checkpoint)."""
    ckpt = load_checkpoint(Path(path))
    return Subject(model_from_checkpoint(ckpt), ckpt["norm"]["mean"], ckpt["norm"]["std"], list(ckpt["classes"]), ckpt["model"])


def digits_in(source: str | Path | bytes, max_pixels: int = MAX_PIXELS) -> list[np.ndarray]:
    """The 28x28 digits ``(28, 28)`` in [0, 1] of a picture, in reading order; ImageError when it holds none."""
    picture = read_picture(source, max_pixels, max_side=DECODE_SIDE)
    boxes = find_digits(ink_page(picture.gray))
    if not boxes:
        raise ImageError("No digit was found in the picture: it holds no ink that stands out from the paper.")
    return [b.image for b in boxes]


def pick(digits: list[np.ndarray], k: int) -> np.ndarray:
    """The ``k``-th digit (1 = the first, in reading order), or one sentence saying how many there are."""
    if not 1 <= k <= len(digits):
        found = f"{len(digits)} digit" + ("s were" if len(digits) > 1 else " was")
        raise ImageError(f"{found} found in the picture; choose a digit from 1 to {len(digits)}, not {k}.")
    return digits[k - 1]
