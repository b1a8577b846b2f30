"""Find several digits in one picture, in reading order.

Same polarity / lighting / threshold / component pipeline as ``preprocess``
(``ink_page``); then the components of one digit are merged (a broken 4 or 5
comes as two pieces stacked over each other), specks dropped, the digits
grouped into lines top to bottom and ordered left to right within a line.
Each digit's 28x28 image is made by the same ``digit_crop`` -> ``render_mnist``
code as ``to_mnist``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .preprocess import InkPage, digit_crop, ink_page, render_mnist, stroke_width, union_box

MAX_PARTS = 400  # components considered; a page with more is texture, not digits
OVERLAP = 0.5  # parts of one digit share >= half the narrower part's columns,
TOUCH_GAP = 0.1  # and either nearly touch (gap <= 10 % of the taller part's height)
MAX_GAP = 0.25  # or are at most this many typical digit heights apart vertically
MAX_HEIGHT = 1.4  # and together no taller than this (else: two lines)
MIN_RELATIVE_AREA = 0.1  # digits under 10 % of the median digit's ink are specks


@dataclass(frozen=True)
class DigitBox:
    """One digit found on the page, with the shape stats the rejection layer reads."""

    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) input pixels, x1/y1 exclusive
    line: int  # text line, 0 = top
    image: np.ndarray  # (28, 28) float32 MNIST-form crop
    ink_fraction: float  # ink pixels / box pixels (1.0 = a solid blob)
    aspect: float  # box height / width
    stroke_width: float  # in 28x28 pixels
    n_parts: int  # connected components merged into this digit


def segment_digits(gray: np.ndarray) -> list[DigitBox]:
    """All digits in a picture, top line first, left to right; [] when there is no ink."""
    return find_digits(ink_page(gray))


def find_digits(page: InkPage) -> list[DigitBox]:
    """:func:`segment_digits` on a page already found (the predictor keeps the page for its verdict)."""
    groups = _drop_small(page, _merge_parts(page))
    boxes = [union_box(page, g) for g in groups]
    found = []
    for line, members in enumerate(_lines(boxes)):
        for i in sorted(members, key=lambda j: boxes[j][0]):
            crop, box = digit_crop(page, groups[i])
            image = render_mnist(crop)
            h, w = box[3] - box[1], box[2] - box[0]
            ink = float(page.areas[groups[i]].sum())
            found.append(DigitBox(page.input_box(box), line, image, ink / (h * w), h / w, stroke_width(image), len(groups[i])))
    return found


def _merge_parts(page: InkPage) -> list[list[int]]:
    """Group component ids whose columns overlap strongly and that are stacked close.

    Two digits in the same column of consecutive lines also overlap in
    columns; the height limit (relative to the median part height, i.e. the
    typical digit) keeps them apart.
    """
    n = min(page.n_components, MAX_PARTS)
    if n == 0:
        return []
    ids = np.argsort(-page.areas[1:])[:n] + 1
    b = page.boxes[ids].astype(np.float64)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    cols = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
    vgap = np.maximum(b[:, None, 1], b[None, :, 1]) - np.minimum(b[:, None, 3], b[None, :, 3])
    ref = float(np.median(h))  # typical digit height: most digits are one component
    tall = np.maximum(b[:, None, 3], b[None, :, 3]) - np.minimum(b[:, None, 1], b[None, :, 1])
    touching = vgap <= TOUCH_GAP * np.maximum(h[:, None], h[None, :])  # a stroke broken apart
    stacked = (vgap <= MAX_GAP * ref) & (tall <= MAX_HEIGHT * ref)  # e.g. the bar of a 5
    near = (cols >= OVERLAP * np.minimum(w[:, None], w[None, :])) & (touching | stacked)
    group = np.arange(n)
    while True:  # min-label propagation over the (small) adjacency matrix
        nxt = np.where(near, group[None, :], n).min(axis=1)
        nxt = np.minimum(nxt, group)[np.minimum(nxt, group)]
        if np.array_equal(nxt, group):
            break
        group = nxt
    return [[int(i) for i in ids[group == g]] for g in np.unique(group)]


def _drop_small(page: InkPage, groups: list[list[int]]) -> list[list[int]]:
    """Drop groups with much less ink than the typical digit (dots, dust, dashes)."""
    if not groups:
        return groups
    ink = np.array([page.areas[g].sum() for g in groups])
    return [g for g, a in zip(groups, ink) if a >= MIN_RELATIVE_AREA * np.median(ink)]


def _lines(boxes: list[np.ndarray]) -> list[list[int]]:
    """Indices of boxes per text line, lines top to bottom.

    Boxes are taken in order of their vertical centre; a box joins the current
    line when its centre lies within half the line's median height of the
    line's median centre, else it starts a new line.
    """
    if not boxes:
        return []
    cy = [(b[1] + b[3]) / 2 for b in boxes]
    lines: list[list[int]] = []
    for i in np.argsort(cy, kind="stable"):
        if lines:
            centre = np.median([cy[j] for j in lines[-1]])
            height = np.median([boxes[j][3] - boxes[j][1] for j in lines[-1]])
            if abs(cy[i] - centre) <= 0.5 * height:
                lines[-1].append(int(i))
                continue
        lines.append([int(i)])
    return lines
