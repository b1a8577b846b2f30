"""8-connected components of a binary mask, in pure numpy: labels, areas and boxes (used by preprocess and segment)."""

from __future__ import annotations

import numpy as np


def label_components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8-connected labelling via horizontal runs and a vectorised union-find.

    Returns (labels (h, w) int32 with 0 = background, areas (n + 1,),
    boxes (n + 1, 4) as x0, y0, x1, y1 exclusive).  Cost is linear in the
    number of runs, not pixels, so a 640-px page takes ~1 ms.
    """
    h, w = mask.shape
    d = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, starts = np.nonzero(d == 1)
    ends = np.nonzero(d == -1)[1]  # exclusive; same row-major order as starts
    if len(starts) == 0:
        return np.zeros((h, w), np.int32), np.zeros(1), np.zeros((1, 4), np.int64)
    root = _union_runs(rows, starts, ends, w + 2)
    _, comp = np.unique(root, return_inverse=True)
    comp = comp.ravel() + 1
    lengths = ends - starts
    labels = np.zeros(h * w, np.int32)
    first = np.cumsum(lengths) - lengths
    flat = np.repeat(rows * w + starts - first, lengths) + np.arange(lengths.sum())
    labels[flat] = np.repeat(comp, lengths)
    n = int(comp.max())
    areas = np.bincount(comp, weights=lengths, minlength=n + 1)
    boxes = np.zeros((n + 1, 4), np.int64)
    boxes[1:, :2] = np.iinfo(np.int64).max
    np.minimum.at(boxes[:, 0], comp, starts)
    np.minimum.at(boxes[:, 1], comp, rows)
    np.maximum.at(boxes[:, 2], comp, ends)
    np.maximum.at(boxes[:, 3], comp, rows + 1)
    return labels.reshape(h, w), areas, boxes


def _union_runs(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, m: int) -> np.ndarray:
    """Root run index for each run; runs touch if 8-adjacent in consecutive rows."""
    key_s, key_e = rows * m + starts, rows * m + ends  # both sorted (row-major)
    lo = np.searchsorted(key_e, (rows + 1) * m + starts, "left")  # next row, end >= start
    hi = np.searchsorted(key_s, (rows + 1) * m + ends, "right")  # next row, start <= end
    count = np.maximum(hi - lo, 0)
    a = np.repeat(np.arange(len(rows)), count)
    b = np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(count.sum())
    parent = np.arange(len(rows))
    while True:
        ra, rb = parent[a], parent[b]
        differ = ra != rb
        if not differ.any():
            return parent
        np.minimum.at(parent, np.maximum(ra, rb)[differ], np.minimum(ra, rb)[differ])
        while True:  # pointer jumping until every run points at a root
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt


def box_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Chebyshev gap in pixels between two x0, y0, x1, y1 boxes (0 if they touch)."""
    return float(max(a[0] - b[2], b[0] - a[2], a[1] - b[3], b[1] - a[3], 0))
