"""Why a mark or a picture is refused: one stable code per reason, its numbers, and the English sentence.

The code and the numbers travel to the API and the web app, which says the
reason in the reader's language (``i18n.js``: key ``why.<code>`` with the
same ``{placeholders}`` as the templates below); the CLI prints the English
sentence. Every code is defined here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Code(StrEnum):
    """Stable reason codes (part of the API: never rename one)."""

    NO_INK = "no_ink"
    TOO_MANY_MARKS = "too_many_marks"
    SOLID_BLOB = "solid_blob"
    NOT_STROKES = "not_strokes"
    LINE_OR_DASH = "line_or_dash"
    UNLIKE_DIGITS = "unlike_digits"
    # the verdict on the whole picture, and marks it sets apart from the others
    TOO_TALL = "too_tall"
    EDGE_TO_EDGE = "edge_to_edge"
    STEP_EDGE = "step_edge"
    SCENE = "scene"
    MOSTLY_REFUSED = "mostly_refused"
    UNEVEN_HEIGHTS = "uneven_heights"
    SCATTERED = "scattered"
    TOO_MANY_LINES = "too_many_lines"


#: English sentence per code; ``{name}`` placeholders are the reason's numbers (``:.0%``-style formats allowed).
TEMPLATES: dict[Code, str] = {
    Code.NO_INK: "no ink found",
    Code.TOO_MANY_MARKS: "too many separate marks ({marks}) for a number: noise or texture",
    Code.SOLID_BLOB: "a solid blob of ink ({fill:.0%} of its box), not pen strokes",
    Code.NOT_STROKES: "ink is not stroke-like (stroke width {width:.1f} px in 28x28)",
    Code.LINE_OR_DASH: "far wider than tall: a line or a dash, not a digit",
    Code.UNLIKE_DIGITS: "unlike the digits this model knows (score {score:.2f} < {threshold:.2f})",
    Code.TOO_TALL: "much taller than the other digits ({ratio:.1f}x their height > {threshold:.1f}x)",
    Code.EDGE_TO_EDGE: "runs from one edge of the picture to the other: an edge or a pole, not a digit",
    Code.STEP_EDGE: "the edge between two different surfaces, not a pen stroke (its sides differ by {difference:.0%} of its contrast > {threshold:.0%})",
    Code.SCENE: "a photo of a scene, not writing on a plain surface (plain background {plain:.0%} < {threshold:.0%})",
    Code.MOSTLY_REFUSED: "most marks are not digits ({refused} of {marks} refused)",
    Code.UNEVEN_HEIGHTS: "the digits are not of similar heights, as in a written number (tallest {ratio:.1f}x the shortest > {threshold:.1f}x)",
    Code.SCATTERED: "the digits are scattered, not written in a row (a gap of {gap:.1f} digit heights > {threshold:.1f})",
    Code.TOO_MANY_LINES: "the digits stand on too many lines for a number ({lines} > {threshold})",
}


@dataclass(frozen=True)
class Reason:
    """One refusal: its code, the numbers it rests on, and (for the verdict) the mark it is about."""

    code: Code
    numbers: dict[str, Any] = field(default_factory=dict)  # e.g. {"score": -5.1, "threshold": -4.46}
    mark: int | None = None  # 0-based index of the refused mark, in reading order

    @property
    def text(self) -> str:
        """The English sentence (what the CLI prints)."""
        sentence = TEMPLATES[self.code].format(**self.numbers)
        return f"mark {self.mark + 1}: {sentence}" if self.mark is not None else sentence

    def to_dict(self) -> dict[str, Any]:
        """``{"code": ..., **numbers}`` (plus ``"mark"``), numbers rounded for JSON."""
        d: dict[str, Any] = {"code": str(self.code)}
        d.update({k: round(v, 4) if isinstance(v, float) else v for k, v in self.numbers.items()})
        if self.mark is not None:
            d["mark"] = self.mark
        return d
