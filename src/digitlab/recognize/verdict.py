"""The verdict on a whole picture: ``digits``, ``partly`` (some marks refused: which and why) or ``not digits``.

The predictor answers per mark; this module looks at the picture as a whole,
from what the predictor already has (the decoded grey picture before any
threshold, the ink it found, the boxes, the answers per mark), so nothing is
decoded twice. Each piece of evidence is a small pure function; ``decide``
turns the evidence into a :class:`Verdict`:

* **a plain surface?** (``plain_share``) Writing is ink on paper, a board or a
  screen: away from the ink, nearly all of the picture is one smooth surface
  (smooth lighting allowed). A photo of a scene is not: textures everywhere,
  many grey levels (walls, sky, furniture, shadows). Tiles of the picture away
  from the ink that are flat (no texture) *and* lie on a smooth lighting
  surface count as plain; under ``MIN_PLAIN`` of them, it is a scene.
* **the share of refused marks** (``refused_share``): more than
  ``MAX_REFUSED_SHARE`` refused and it is not a number with a stray mark, it
  is something else (the night sky read as ``????9???``).
* **do the accepted marks line up like a written number?** similar heights
  (``height_ratio``), a row or a few lines (``line_count``), sensible gaps
  within a line (``widest_gap``). Before that, ``set_apart`` refuses the
  accepted marks that are no pen strokes or do not belong with the others:
  an edge between two different surfaces (``step_ratio``: a pen stroke has
  the same paper on both sides, the edge of a table or a horizon does not),
  one running from edge to edge of the picture (a pole cut by the frame), or
  one over ``MAX_HEIGHT_RATIO`` times the others' height; so a number on a
  sheet lying on a desk reads ``partly`` "?381", not "1381".

Calibration (thresholds), on data that is not evaluation data:
``benchmarks/verdict_calibration.py``. (1) The ``val`` split of the real-world
sets (``digitlab.data.realworld``; ``--realworld``): 500 digit photos, 200
digit strips, 100 real non-digit photos and crops, 40 documents. Digit photos
and strips keep a plain share >= 0.992; the non-digit photos spread from 0.14
to 1.0 (median 0.99: many real photos have large smooth areas, sky, walls),
documents 0.30-1.0. Writing judged a scene / scenes judged a scene, by the
plain share alone: 0.0 % / 31 % at 0.80, 0.0 % / 37 % at 0.88, 0.0 % / 44 %
at 0.95. Without the step evidence, 5 of the 100 non-digit photos still held
a digit, each a lone "1" on a straight edge in a smooth picture (plain share
0.96-1.0); their ``step_ratio`` is 0.26-0.67 (one 0.19), that of every
accepted mark of the digit photos <= 0.21 (p99 0.18) and of the strips
<= 0.17: ``STEP_RATIO`` = 0.25. With both, at 0.88 and 0.25: digit photos 494
digits, 1 partly, 5 not digits (their marks refused one by one), 493/500 read
exactly; strips 190 digits, 10 partly, 188/200 exactly; non-digit photos 99
not digits, 1 partly (1 of 100 holds a digit); documents 40 not digits.
(2) Self-built pictures, for what
the val split lacks (a sheet on a desk: writing with a second surface):
``--n 40`` builds 40 of each kind
(generator seed 1000, MNIST test digits 1000-1999; the tests use other seeds
and the first digits) and prints each evidence's range. Its figures (JPEG
quality 85, shipped model, MIN_PLAIN = 0.88):

========================  =====================================  ===================================
kind (40 each)            plain share min / p5 / p50 / p95 / max  verdicts
========================  =====================================  ===================================
writing: one digit        1.00 / 1.00 / 1.00 / 1.00 / 1.00          39 digits, 1 not digits (mark refused)
writing: strip of 2-6     1.00 (22 judged; 18 too little paper)     38 digits, 2 partly
writing: page, 2 lines    1.00 / 1.00 / 1.00 / 1.00 / 1.00          37 digits, 3 partly
writing: sheet on a desk  0.89 / 0.91 / 0.99 / 1.00 / 1.00          39 partly (the sheet's edge), 1 not
scene: textured           0.69 / 0.78 / 0.90 / 0.99 / 1.00          38 not digits, 2 digits
scene: frame and pole     0.60 / 0.62 / 0.80 / 0.96 / 0.99          36 not digits, 3 partly, 1 digits
scene: ring (cup)         0.54 / 0.66 / 0.79 / 0.93 / 0.99          34 not digits, 1 partly, 5 digits
scene: mark on texture    0.60 / 0.61 / 0.78 / 0.89 / 0.90          40 not digits
========================  =====================================  ===================================

Writing judged a scene / scenes judged a scene, by the plain share alone:
0.80: 0 % / 43 %; 0.85: 0 % / 56 %; **0.88: 0 % / 72 %**; 0.90: 1.4 % / 79 %;
0.92: 2.8 % / 86 %; 0.95: 4.9 % / 93 %. ``MIN_PLAIN`` = 0.88 is the largest
that judges no writing a scene on either data; the per-mark rejection and the
share of refused marks catch most of the other scenes (92 % of all 160
self-built scenes answer ``not digits``, 7.5 % still hold a digit).
Colour is not used: a colour JPEG is decoded as its Y plane only
(``image_io``), and decoding the colour planes too would cost ~10 ms of the
150 ms budget of a 12-megapixel photo. The alignment thresholds (heights,
lines, gaps) are loose limits from what written numbers look like, not
fitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from PIL import Image

from .order_stats import median, quantile  # numpy's numbers, less overhead
from .preprocess import InkPage
from .reasons import Code, Reason

SCENE_SIDE = 512  # px: the ink page (<= 640 px) is box-averaged by an integer factor to at most this for the scene evidence
TILE = 16  # px of that picture per tile (20 x 15 tiles on a 640 x 480 photo): a tile sees texture, not a whole object
MIN_TILES = 24  # background tiles needed to judge the surface; fewer (a 28x28 digit is 3x3 tiles): no opinion
TEXTURE = 0.05  # grey std within a tile above this (full scale 1) is texture; camera noise on the reduced picture is ~0.01-0.03
PAPER_DELTA = 0.08  # a tile whose mean grey is further than this off the fitted lighting surface is another surface
MIN_PLAIN = 0.88  # fewer plain background tiles than this share: a scene (the largest judging no writing a scene: docstring)
STEP_RATIO = 0.25  # sides of a mark differing by more than this share of its ink contrast: an edge (val: writing <= 0.21, edges >= 0.26)
MAX_REFUSED_SHARE = 0.5  # more than half the marks refused: not a number with a stray mark (1 digit + 1 blob = partly)
MAX_HEIGHT_RATIO = 2.5  # digits of one number: the tallest at most 2.5x the shortest
MAX_LINES = 4  # a number is a row or a few lines
MAX_GAP = 4.0  # widest gap between neighbouring digits of a line, in typical digit heights


class Kind(StrEnum):
    DIGITS = "digits"
    PARTLY = "partly"
    NOT_DIGITS = "not digits"


@dataclass(frozen=True)
class Mark:
    """What the verdict needs of one mark: where it is, its line, what it was read as, and why it was refused."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (any one pixel frame for all marks)
    line: int
    label: str
    reason: Reason | None  # None: accepted


@dataclass(frozen=True)
class Evidence:
    """The figures the verdict rests on (None: not enough picture or marks to tell)."""

    marks: int
    refused: int
    plain: float | None  # share of background tiles that look like a plain surface
    height_ratio: float | None  # tallest / shortest accepted mark
    lines: int  # lines holding accepted marks
    widest_gap: float | None  # in typical digit heights


@dataclass(frozen=True)
class Verdict:
    """The whole picture: its kind, the number read ("" when not digits), the refused marks and why."""

    kind: Kind
    text: str
    refused: tuple[int, ...]  # indices of the refused marks, reading order
    reasons: tuple[Reason, ...]  # not digits: the picture's reasons; partly: one per refused mark
    evidence: Evidence

    @property
    def reason(self) -> str | None:
        """The reasons as one English sentence (None for ``digits``)."""
        return "; ".join(r.text for r in self.reasons) or None

    def to_dict(self) -> dict[str, Any]:
        ev = {k: round(v, 4) if isinstance(v, float) else v for k, v in vars(self.evidence).items()}
        return {
            "kind": str(self.kind),
            "text": self.text,
            "refused": list(self.refused),
            "reason": self.reason,
            "why": [r.to_dict() for r in self.reasons],
            "evidence": ev,
        }


# ------------------------------------------------------------ the surface
def scene_tiles(gray: np.ndarray, page: InkPage) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per tile of the picture reduced to <= SCENE_SIDE: (grey std, grey mean, near ink), each (rows, cols).

    ``gray`` is the picture ``page`` was found in (``page.scale`` times its
    working size); the ink mask is brought to the same reduced grid.
    """
    k = -(-max(page.labels.shape) // SCENE_SIDE)
    f = page.scale * k
    small = np.asarray(Image.fromarray(np.ascontiguousarray(gray, np.float32)).reduce(f), np.float32) if f > 1 else gray
    ink: np.ndarray = page.labels > 0
    if k > 1:
        h, w = ink.shape
        ink = np.asarray(np.pad(ink, ((0, -h % k), (0, -w % k))).reshape(-(-h // k), k, -(-w // k), k).any(axis=(1, 3)))
    rows, cols = min(small.shape[0], ink.shape[0]) // TILE, min(small.shape[1], ink.shape[1]) // TILE
    if rows * cols < MIN_TILES:  # too small a picture to judge its surface (a 28x28 digit is one tile): skip the work
        return np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0), bool)
    blocks = small[: rows * TILE, : cols * TILE].reshape(rows, TILE, cols, TILE)
    mean = blocks.mean(axis=(1, 3), dtype=np.float64)
    std = np.sqrt(np.maximum(np.square(blocks).mean(axis=(1, 3), dtype=np.float64) - mean * mean, 0))
    grown = np.pad(ink[: rows * TILE, : cols * TILE].reshape(rows, TILE, cols, TILE).any(axis=(1, 3)), 1)
    near = np.max([grown[dy : dy + rows, dx : dx + cols] for dy in range(3) for dx in range(3)], axis=0)  # + the ink's halo
    return std, mean, near


def plain_share(std: np.ndarray, level: np.ndarray, near_ink: np.ndarray) -> float | None:
    """Share of the tiles away from the ink that are flat and on a plain surface; None when too few to judge.

    The surface is the smooth lighting surface fitted to the flat tiles (the
    paper), plus one second level (the desk or wall beside the sheet).
    """
    away = ~near_ink
    if away.sum() < MIN_TILES:
        return None
    rows, cols = std.shape
    v, u = np.meshgrid(np.linspace(-1, 1, rows), np.linspace(-1, 1, cols), indexing="ij")
    terms = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], -1)[away]
    values = level[away].astype(np.float64)
    keep = std[away] < TEXTURE  # the surface is fitted to the flat tiles, trimmed of outliers twice
    if keep.sum() < 6:
        return 0.0
    for _ in range(2):
        coef = np.linalg.lstsq(terms[keep], values[keep], rcond=None)[0]
        signed = values - terms @ coef
        resid = np.abs(signed)
        keep &= resid <= max(float(quantile(resid[keep], 0.75)), 1e-3)
        if keep.sum() < 6:
            break
    flat = std[away] < TEXTURE
    plain = flat & (resid <= PAPER_DELTA)
    return float((plain | flat & _second_level(signed, flat & ~plain)).mean())


def _second_level(signed: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """The candidates within +-PAPER_DELTA of their densest level (the one other plain surface allowed)."""
    r = np.sort(signed[candidates])
    if len(r) == 0:
        return np.zeros_like(candidates)
    count = np.searchsorted(r, r + 2 * PAPER_DELTA, "right") - np.arange(len(r))  # tiles in [r_i, r_i + 2 delta]
    lo = r[int(np.argmax(count))]
    return candidates & (signed >= lo) & (signed <= lo + 2 * PAPER_DELTA)


# ------------------------------------------------------------ the marks
def refused_share(marks: list[Mark]) -> float:
    """Refused marks / marks (1.0 when there are none)."""
    return sum(m.reason is not None for m in marks) / len(marks) if marks else 1.0


def height_ratio(accepted: list[Mark]) -> float | None:
    """Tallest / shortest accepted mark; None for fewer than two."""
    heights = [m.box[3] - m.box[1] for m in accepted]
    return max(heights) / max(min(heights), 1) if len(heights) > 1 else None


def line_count(accepted: list[Mark]) -> int:
    """Text lines that hold accepted marks."""
    return len({m.line for m in accepted})


def widest_gap(accepted: list[Mark]) -> float | None:
    """Widest horizontal gap between neighbours on one line, in median mark heights; None without neighbours."""
    typical = float(np.median([m.box[3] - m.box[1] for m in accepted])) if accepted else 0.0
    gaps = []
    for line in {m.line for m in accepted}:
        row = sorted((m.box for m in accepted if m.line == line), key=lambda b: b[0])
        gaps += [(b[0] - a[2]) / max(typical, 1.0) for a, b in zip(row, row[1:])]
    return max(gaps) if gaps else None


# ------------------------------------------------------------ the verdict
def step_ratio(gray: np.ndarray, box: tuple[int, int, int, int], dark_ink: bool) -> float | None:
    """How much the picture differs on the two sides of a mark, as a share of the mark's ink contrast.

    A pen stroke has paper on both sides (a ridge); the edge of a thing (a
    table, a horizon, a crop of a building) has two different surfaces (a
    step). The sides are strips a quarter of the mark's length wide across its
    narrower dimension; None when one of them is outside the picture.
    """
    g = gray if dark_ink else 1 - gray
    x0, y0, x1, y1 = box
    m = max(2, round(0.25 * max(y1 - y0, x1 - x0)))
    if y1 - y0 >= x1 - x0:
        a, b = g[y0:y1, max(x0 - m, 0) : x0], g[y0:y1, x1 : x1 + m]
    else:
        a, b = g[max(y0 - m, 0) : y0, x0:x1], g[y1 : y1 + m, x0:x1]
    if a.size == 0 or b.size == 0:
        return None
    sa, sb = float(median(a)), float(median(b))
    ink = float(quantile(g[y0:y1, x0:x1], 0.05))  # np.percentile(.., 5)
    return abs(sa - sb) / max(max(sa, sb) - ink, 1e-3)


def set_apart(marks: list[Mark], gray: np.ndarray, dark_ink: bool = True) -> list[Mark]:
    """``marks`` with the accepted ones that are no pen strokes, or do not belong with the others, refused.

    Any accepted mark with two different surfaces on its sides
    (``step_ratio``) is an edge. Among two or more accepted: a mark that runs
    between two opposite edges of the picture is the edge of a thing cut by
    the frame (a pole, a table, a sheet of paper on a desk); one over
    MAX_HEIGHT_RATIO times the median height of the other accepted marks is
    no digit of the same number. Boxes are in ``gray``'s pixels.
    """
    out = list(marks)
    for i, m in enumerate(marks):
        step = step_ratio(gray, m.box, dark_ink) if m.reason is None else None
        if step is not None and step > STEP_RATIO:
            out[i] = Mark(m.box, m.line, m.label, Reason(Code.STEP_EDGE, {"difference": step, "threshold": STEP_RATIO}))
    marks = out
    accepted = [i for i, m in enumerate(marks) if m.reason is None]
    if len(accepted) < 2:
        return marks
    h, w = gray.shape[:2]
    out = list(marks)
    for i in accepted:
        x0, y0, x1, y1 = marks[i].box
        others = float(np.median([marks[j].box[3] - marks[j].box[1] for j in accepted if j != i]))
        ratio = (y1 - y0) / max(others, 1.0)
        if (y0 <= 0 and y1 >= h) or (x0 <= 0 and x1 >= w):
            out[i] = Mark(marks[i].box, marks[i].line, marks[i].label, Reason(Code.EDGE_TO_EDGE))
        elif ratio > MAX_HEIGHT_RATIO:
            out[i] = Mark(
                marks[i].box, marks[i].line, marks[i].label, Reason(Code.TOO_TALL, {"ratio": ratio, "threshold": MAX_HEIGHT_RATIO})
            )
    return out


def gather(gray: np.ndarray, page: InkPage, marks: list[Mark]) -> Evidence:
    """Every piece of evidence about one picture (``marks`` as :func:`set_apart` left them)."""
    accepted = [m for m in marks if m.reason is None]
    return Evidence(
        marks=len(marks),
        refused=len(marks) - len(accepted),
        plain=plain_share(*scene_tiles(gray, page)),
        height_ratio=height_ratio(accepted),
        lines=line_count(accepted),
        widest_gap=widest_gap(accepted),
    )


def against(ev: Evidence) -> list[Reason]:
    """The evidence that the picture as a whole is no written number (empty: none)."""
    out = []
    if ev.plain is not None and ev.plain < MIN_PLAIN:
        out.append(Reason(Code.SCENE, {"plain": ev.plain, "threshold": MIN_PLAIN}))
    if ev.marks > 1 and ev.refused / ev.marks > MAX_REFUSED_SHARE:
        out.append(Reason(Code.MOSTLY_REFUSED, {"refused": ev.refused, "marks": ev.marks, "threshold": MAX_REFUSED_SHARE}))
    if ev.height_ratio is not None and ev.height_ratio > MAX_HEIGHT_RATIO:
        out.append(Reason(Code.UNEVEN_HEIGHTS, {"ratio": ev.height_ratio, "threshold": MAX_HEIGHT_RATIO}))
    if ev.lines > MAX_LINES:
        out.append(Reason(Code.TOO_MANY_LINES, {"lines": ev.lines, "threshold": MAX_LINES}))
    if ev.widest_gap is not None and ev.widest_gap > MAX_GAP:
        out.append(Reason(Code.SCATTERED, {"gap": ev.widest_gap, "threshold": MAX_GAP}))
    return out


def decide(marks: list[Mark], ev: Evidence, empty: Reason | None = None) -> Verdict:
    """The verdict from the evidence; ``empty`` is the reason when no mark was found at all (no ink)."""
    refused = tuple(i for i, m in enumerate(marks) if m.reason is not None)
    text = "".join("?" if m.reason else m.label for m in marks)
    reasons = against(ev)
    if len(refused) == len(marks):  # nothing accepted: the picture's reasons, then why its marks were refused
        whole = [r for r in reasons if r.code is not Code.MOSTLY_REFUSED]
        if len(marks) > 1:
            return Verdict(Kind.NOT_DIGITS, "", refused, (*whole, *[r for r in reasons if r.code is Code.MOSTLY_REFUSED]), ev)
        only = marks[0].reason if marks else empty
        return Verdict(Kind.NOT_DIGITS, "", refused, (*whole, only or Reason(Code.NO_INK)), ev)
    if reasons:
        return Verdict(Kind.NOT_DIGITS, "", refused, tuple(reasons), ev)
    if refused:
        why = tuple(Reason(r.code, r.numbers, i) for i in refused if (r := marks[i].reason) is not None)
        return Verdict(Kind.PARTLY, text, refused, why, ev)
    return Verdict(Kind.DIGITS, text, (), (), ev)


def judge(gray: np.ndarray, page: InkPage, marks: list[Mark], empty: Reason | None = None) -> Verdict:
    """Set apart the marks that do not belong, gather the evidence on one picture and decide.

    ``marks`` have their boxes in ``gray``'s pixels.
    """
    marks = set_apart(marks, gray, page.inverted)
    return decide(marks, gather(gray, page, marks), empty)
