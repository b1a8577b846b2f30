"""A digit among digits: a mark refused only as "unlike the digits" is accepted when it stands in a written number.

The rejector's threshold is calibrated on single digits out of context (it accepts 99 % of validation digits). In a
line that already holds accepted digits of the same height, a mark is far more likely a digit than a mark alone is
(a prior, not a different model), so there it is judged at a looser threshold, the one accepting ``CONTEXT_TPR`` of
validation digits. Only the rejector's refusal is relaxed: input-check refusals (blobs, lines, too many marks) stand.

``CONTEXT_TPR`` was chosen on the val split of the real-world sets (``benchmarks/rejection_candidates.py``): with
0.99 (no relaxation) 14 of 200 val strips missed a digit, nearly all with one mark scored just under the threshold;
the eval split was not looked at.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median
from typing import Protocol

from .reasons import Code
from .segment import DigitBox

CONTEXT_TPR = 0.998  # share of validation digits the in-context threshold accepts
MIN_NEIGHBOURS = 2  # accepted digits the mark's line must hold already
HEIGHT_RANGE = (2 / 3, 3 / 2)  # the mark's height relative to the median accepted height of its line


class Answer(Protocol):
    """What this module reads and changes of a per-mark answer (``predictor.DigitAnswer``)."""

    accepted: bool
    score: float
    why: object


def in_context(boxes: Sequence[DigitBox], answers: Sequence[Answer], threshold: float) -> list[int]:
    """Indices of the refused marks to accept: refused as unlike the digits, scored >= ``threshold``, in a number."""
    out = []
    for i, (b, a) in enumerate(zip(boxes, answers)):
        if a.accepted or getattr(a.why, "code", None) is not Code.UNLIKE_DIGITS or a.score < threshold:
            continue
        heights = [o.box[3] - o.box[1] for o, oa in zip(boxes, answers) if oa.accepted and o.line == b.line]
        if len(heights) < MIN_NEIGHBOURS:
            continue
        ratio = (b.box[3] - b.box[1]) / median(heights)
        if HEIGHT_RANGE[0] <= ratio <= HEIGHT_RANGE[1]:
            out.append(i)
    return out
