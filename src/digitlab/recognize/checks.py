"""Input checks after preprocessing: evidence (a) of "not a digit", read from the ink before the model runs.

Each check returns a :class:`~.reasons.Reason` (code, numbers, English sentence) or None. Limits are loose on purpose:
they only catch what is clearly no handwritten digit; the calibrated model
scores decide the rest.
"""

from __future__ import annotations

from .reasons import Code, Reason
from .segment import DigitBox

MAX_DIGITS = 24  # more marks than this on one picture: noise, texture or text, not a number
MAX_FILL = 0.75  # ink filling more of its box is a solid blob: MNIST's median is 0.35, its 99.9th percentile 0.70 ...
BLOB_ASPECT = 2.5  # ... counted only for boxes less than 2.5x taller than wide (a thin "1" fills its narrow box)
MAX_STROKE = 7.0  # strokes wider than this (in 28x28 pixels; MNIST is ~2-3) are not pen strokes
MIN_ASPECT = 0.15  # boxes over 6.7x wider than tall are lines or dashes (MNIST's widest is 0.19)


def check_page(boxes: list[DigitBox]) -> Reason | None:
    """A reason that applies to every box of the picture, or None."""
    if len(boxes) > MAX_DIGITS:
        return Reason(Code.TOO_MANY_MARKS, {"marks": len(boxes), "threshold": MAX_DIGITS})
    return None


def input_reasons(boxes: list[DigitBox]) -> list[Reason | None]:
    """For each box of one picture: the reason the input checks refuse it (the page's reason first), or None."""
    page = check_page(boxes)
    return [page or check_digit(b) for b in boxes]


def check_digit(box: DigitBox) -> Reason | None:
    """A reason why this box is not a handwritten digit, or None."""
    if box.ink_fraction > MAX_FILL and box.aspect < BLOB_ASPECT:
        return Reason(Code.SOLID_BLOB, {"fill": box.ink_fraction, "threshold": MAX_FILL})
    if box.stroke_width > MAX_STROKE:
        return Reason(Code.NOT_STROKES, {"width": box.stroke_width, "threshold": MAX_STROKE})
    if box.aspect < MIN_ASPECT:
        return Reason(Code.LINE_OR_DASH, {"aspect": box.aspect, "threshold": MIN_ASPECT})
    return None
