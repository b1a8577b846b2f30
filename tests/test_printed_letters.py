"""Printed letters on paper are refused (issue 11: P, H, F and X were read as 8, 4, 8 and 8 with high confidence)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from digitlab.data.realworld.photo import photo_jpeg
from digitlab.recognize.predictor import Predictor
from digitlab.recognize.realworld_eval import holds_digit

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # fonts-dejavu-core, on nearly every Debian


def letter_alpha(char: str) -> np.ndarray:
    """The letter's ink opacity in [0, 1], cropped to its box."""
    font = ImageFont.truetype(str(FONT), 160)
    im = Image.new("L", (220, 220), 0)
    ImageDraw.Draw(im).text((30, 10), char, fill=255, font=font)
    a = np.asarray(im, np.float32) / 255
    ys, xs = np.nonzero(a > 0.05)
    return a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


@pytest.mark.skipif(not FONT.is_file(), reason="fonts-dejavu-core is not installed")
@pytest.mark.parametrize("char", ["P", "H", "F", "X"])
def test_a_printed_letter_photographed_on_paper_is_not_read_as_a_digit(char):
    pred = Predictor()
    for seed in range(3):
        answer = pred.predict(photo_jpeg(letter_alpha(char), np.random.default_rng(seed)))
        assert not holds_digit(answer), (char, seed, answer.text, [d.label for d in answer.digits])
