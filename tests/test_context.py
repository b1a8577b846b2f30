"""A mark just under the rejector's threshold is accepted inside a written number, and only there (recognize/context.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitlab.recognize.context import in_context
from digitlab.recognize.reasons import Code, Reason
from digitlab.recognize.segment import DigitBox

THRESHOLD = -6.0  # the looser in-context threshold of these tests


@dataclass
class A:
    accepted: bool
    score: float
    why: Reason | None = None


def box(x: int, height: int = 40, line: int = 0) -> DigitBox:
    return DigitBox((x, 10, x + 25, 10 + height), line, np.zeros((28, 28), np.float32), 0.2, height / 25, 2.0, 1)


def unlike(score: float) -> A:
    return A(False, score, Reason(Code.UNLIKE_DIGITS, {"score": score, "threshold": -4.2}))


def test_a_near_miss_between_two_digits_is_accepted():
    boxes = [box(0), box(30), box(60)]
    assert in_context(boxes, [A(True, -1), unlike(-5.0), A(True, -2)], THRESHOLD) == [1]


def test_context_does_not_rescue_far_misses_lone_marks_other_lines_other_heights_or_input_checks():
    boxes = [box(0), box(30), box(60)]
    assert in_context(boxes, [A(True, -1), unlike(-7.0), A(True, -2)], THRESHOLD) == []  # too unlike
    assert in_context([box(0), box(30)], [A(True, -1), unlike(-5.0)], THRESHOLD) == []  # one neighbour is no number
    other_line = [box(0), box(30), box(60, line=1)]
    assert in_context(other_line, [A(True, -1), A(True, -1), unlike(-5.0)], THRESHOLD) == []
    tall = [box(0), box(30), box(60, height=100)]
    assert in_context(tall, [A(True, -1), A(True, -1), unlike(-5.0)], THRESHOLD) == []
    blob = A(False, -5.0, Reason(Code.SOLID_BLOB, {"share": 0.9}))
    assert in_context(boxes, [A(True, -1), blob, A(True, -2)], THRESHOLD) == []
