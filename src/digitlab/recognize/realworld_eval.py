"""How a predictor does on the real-world sets (issue 11): pictures of things, letters, digit photos and strips.

Pure figures of ``(predictor, samples)``; the recognition benchmark reports them on the eval split, the choice of a
rejection recipe reads them on the val split (``benchmarks/rejection_candidates.py``), never the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..data.realworld import Sample
from .predictor import Answer, Predictor
from .verdict import Kind


def holds_digit(answer: Answer) -> bool:
    """True when the answer reads at least one digit (a refused mark reads "?")."""
    return any(ch.isdigit() for ch in answer.text)


@dataclass(frozen=True)
class SetFigures:
    """One set: how many pictures, and the shares that matter for it."""

    n: int
    no_digit: float  # answered with no accepted digit at all (the right answer for non-digits)
    exact: float  # read exactly as labelled (digits) or as the allowed digit (digit-like letters)
    not_digits: float  # the whole-picture verdict was "not digits"


def set_figures(predictor: Predictor, samples: Sequence[Sample]) -> SetFigures:
    """Answer every picture of one set once and count."""
    answers = [predictor.predict(s.image, name=f"{s.kind}:{s.item}") for s in samples]
    n = max(len(samples), 1)
    no_digit = sum(not holds_digit(a) for a in answers) / n
    exact = sum(a.text == (s.label or s.accept) and bool(a.text) for a, s in zip(answers, samples)) / n
    not_digits = sum(a.verdict is not None and a.verdict.kind is Kind.NOT_DIGITS for a in answers) / n
    return SetFigures(len(samples), no_digit, exact, not_digits)


def realworld_figures(predictor: Predictor, sets: dict[str, list[Sample]]) -> dict[str, SetFigures]:
    """:class:`SetFigures` of every set given (e.g. ``realworld.sets("val")`` or ``realworld.eval_sets()``)."""
    return {name: set_figures(predictor, samples) for name, samples in sets.items()}
