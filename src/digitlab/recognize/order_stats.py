"""``np.median`` and ``np.quantile`` of a float sample: numpy's very numbers, without its generic machinery.

Preprocessing and the verdict take about a dozen medians and quantiles of small samples per picture (a 28x28 digit:
784 values); numpy's general functions (any axis, any method, weights, NaN handling) spend 10-25 us on each before
partitioning, several times the partition itself. These do what numpy does for a float array and its default
"linear" method: the same order statistics, combined by the same float operations in the array's dtype, so the
results are bit for bit numpy's (``tests/test_predict_speedpath.py`` checks it). Anything else goes to numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def median(a: np.ndarray) -> np.floating:
    """``np.median(a)`` (all values): the middle order statistic, or the mean of the two middle ones."""
    x = np.ravel(a)
    n = x.size
    if n == 0 or x.dtype.kind != "f":
        return np.median(x)
    h = n // 2
    part = np.partition(x, [h - 1, h, n - 1] if n % 2 == 0 else [h, n - 1])
    if np.isnan(part[-1]):  # NaN sorts last; numpy answers NaN
        return part[-1]
    return part[h] if n % 2 else (part[h - 1] + part[h]) / 2  # numpy's mean of two: their sum, then / 2, in the dtype


def quantiles(a: np.ndarray, qs: Sequence[float]) -> list[np.floating]:
    """``np.quantile(a, q)`` for each Python float ``q`` in [0, 1] (all values, the linear method)."""
    x = np.ravel(a)
    n = x.size
    if n == 0 or x.dtype.kind != "f":
        return [np.quantile(x, q) for q in qs]
    bounds = [_neighbours(n, q) for q in qs]
    part = np.partition(x, sorted({0, n - 1, *(i % n for lo, hi, _ in bounds for i in (lo, hi))}))
    if np.isnan(part[-1]):
        return [part[-1]] * len(qs)
    out = []
    for lo, hi, t in bounds:
        below, above = part[lo], part[hi]
        diff = above - below
        out.append(above - diff * (1 - t) if t >= 0.5 else below + diff * t)  # numpy's _lerp, from the nearer end
    return out


def quantile(a: np.ndarray, q: float) -> np.floating:
    """``np.quantile(a, q)``; ``np.percentile(a, p)`` is ``quantile(a, p / 100)``."""
    return quantiles(a, [q])[0]


def _neighbours(n: int, q: float) -> tuple[int, int, float]:
    """The order statistics around quantile ``q`` of n values and the weight of the upper one, as numpy takes them."""
    virtual = (n - 1) * q
    lo = math.floor(virtual)
    if virtual >= n - 1:
        return -1, -1, virtual + 1
    if virtual < 0:
        return 0, 0, virtual
    return lo, lo + 1, virtual - lo
