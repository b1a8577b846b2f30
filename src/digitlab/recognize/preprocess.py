"""Turn any grey picture of a handwritten digit into an MNIST-style 28x28 array.

Pure numpy in, numpy out (Pillow is used only to resample).  The pipeline:

1. ``as_unit_gray``: validate, scale to [0, 1], colour -> 601 luma.
2. big pictures are box-averaged so the longer side is <= ``WORK_SIDE``.
3. polarity: ink is the heavier tail of the picture around its local median.
4. uneven lighting: a robust quadratic surface plus a grey opening on a
   coarse grid estimate the paper under the ink; ink strength =
   (x - paper) / (1 - paper), i.e. a division by the local paper brightness
   for dark ink on light paper.
5. Otsu threshold (never below 4 noise sigmas), ruled lines and specks removed,
   8-connected components.
6. the digit (largest component plus nearby fragments) is cropped, fitted into
   20x20 with anti-aliasing and placed in 28x28 by its centre of mass: what
   LeCun et al. did to build MNIST.

``ink_page``, ``digit_crop`` and ``render_mnist`` are shared with ``segment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from ..errors import ImageError
from .components import box_gap, label_components
from .image_io import flatten_alpha, luma, scale_to_unit
from .order_stats import median, quantile, quantiles  # numpy's numbers, less overhead

MNIST_SIDE = 28  # px: output field
FIT_SIDE = 20  # px: the digit's longer side inside the field, as in MNIST
WORK_SIDE = 640  # px: longer side of the working copy of big pictures
DECODE_SIDE = 2 * WORK_SIDE  # px: the predictor decodes big pictures to at most this; preprocessing averages them to WORK_SIDE anyway
GRID_SIDE = 64  # cells: coarse grid for the paper-brightness estimate
MIN_CONTRAST = 0.02  # ink must differ from paper by 2 % of full scale ...
NOISE_SIGMAS = 4.0  # ... and by this many noise standard deviations
RULE_FILL = 0.5  # a ruled line inks >= half of its row ...
RULE_SPAN = 0.9  # ... and runs across >= 90 % of the picture's width
SPECK_AREA = 5e-4  # components under this fraction of the page are specks


@dataclass(frozen=True)
class Preprocessed:
    """The 28x28 digit plus the ink report the rejection layer reads."""

    image: np.ndarray  # (28, 28) float32 in [0, 1], light ink (1) on black (0)
    ink_fraction: float  # kept ink pixels / page pixels (after specks and rules)
    n_components: int  # ink components on the page after speck removal
    box: tuple[int, int, int, int]  # digit (x0, y0, x1, y1), input pixels, x1/y1 exclusive
    inverted: bool  # True when the picture was dark ink on light paper
    stroke_width: float  # mean stroke width in 28x28 pixels (0 when blank)
    blank: bool  # no ink found: ``image`` is all zeros


@dataclass(frozen=True)
class InkPage:
    """The shared first half of the pipeline, at the working resolution."""

    ink: np.ndarray  # (h, w) float32 grey ink strength: paper 0, solid ink 1
    labels: np.ndarray  # (h, w) int32 component id, 0 = paper (specks/rules removed)
    areas: np.ndarray  # (n + 1,) pixels per id; index 0 unused
    boxes: np.ndarray  # (n + 1, 4) x0, y0, x1, y1 (exclusive) per id, working pixels
    scale: int  # input pixels per working pixel
    shape: tuple[int, int]  # input (H, W)
    inverted: bool

    @property
    def n_components(self) -> int:
        return len(self.areas) - 1

    def input_box(self, box: np.ndarray) -> tuple[int, int, int, int]:
        """Working-pixel box -> input-pixel box, clipped to the picture."""
        h, w = self.shape
        x0, y0, x1, y1 = (int(v) * self.scale for v in box)
        return x0, y0, min(x1, w), min(y1, h)


def to_mnist(gray: np.ndarray) -> np.ndarray:
    """Any 2-D grey or (H, W, 3/4) colour array -> (28, 28) float32 MNIST digit."""
    return analyse(gray).image


def analyse(gray: np.ndarray) -> Preprocessed:
    """Find the one digit in a picture and report on its ink; never raises on a blank page."""
    page = ink_page(gray)
    ids = main_digit(page)
    ink_fraction = float(page.areas[1:].sum()) / page.labels.size
    if not ids:
        return Preprocessed(np.zeros((MNIST_SIDE,) * 2, np.float32), ink_fraction, 0, (0, 0, 0, 0), page.inverted, 0.0, True)
    crop, box = digit_crop(page, ids)
    image = render_mnist(crop)
    return Preprocessed(image, ink_fraction, page.n_components, page.input_box(box), page.inverted, stroke_width(image), not image.any())


# --------------------------------------------------------------- input checks
def as_unit_gray(arr: np.ndarray) -> np.ndarray:
    """Validate an array and return it as (H, W) float32 grey in [0, 1]."""
    a = np.asarray(arr)
    if a.dtype.kind not in "biuf":
        raise ImageError(f"The picture array has dtype {a.dtype}; expected numbers or booleans.")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (2, 3, 4))):
        raise ImageError(f"The picture array has shape {a.shape}; expected (H, W) or (H, W, 3 or 4).")
    if a.size == 0:
        raise ImageError(f"The picture array has shape {a.shape}, which holds no pixels.")
    bounds = (a.min(), a.max())  # NaN and inf propagate into min / max
    if a.dtype.kind == "f" and not np.isfinite(bounds).all():
        raise ImageError("The picture array contains NaN or infinite values.")
    a = scale_to_unit(a, bounds)  # one scale for all channels, so alpha and colour agree
    if a.ndim == 2:
        return a
    gray = a[..., 0] if a.shape[2] == 2 else luma(a[..., :3])
    return flatten_alpha(gray, a[..., -1]) if a.shape[2] in (2, 4) else gray


def _downscale(unit: np.ndarray) -> tuple[np.ndarray, int]:
    """Box-average by an integer factor so the longer side is <= WORK_SIDE."""
    factor = -(-max(unit.shape) // WORK_SIDE)
    if factor <= 1:
        return np.ascontiguousarray(unit, np.float32), 1
    small = Image.fromarray(np.ascontiguousarray(unit, np.float32)).reduce(factor)
    return np.asarray(small, np.float32), factor


# ------------------------------------------------ polarity and lighting
def _grid(x: np.ndarray, side: int) -> np.ndarray:
    """Block means so the longer side is at most ``side`` cells (noise averages out)."""
    f = max(x.shape) / side
    if f <= 1:
        return x
    size = (max(1, round(x.shape[1] / f)), max(1, round(x.shape[0] / f)))
    return np.asarray(Image.fromarray(x).resize(size, Image.Resampling.BOX), np.float32)


def _axis(n: int) -> np.ndarray:
    """Pixel or cell centres of an axis of n samples mapped onto [-1, 1]."""
    return ((np.arange(n, dtype=np.float32) + 0.5) / n * 2 - 1).astype(np.float32)


@lru_cache(maxsize=64)
def _surface_terms(shape: tuple[int, int]) -> np.ndarray:
    """The quadratic surface's terms 1, u, v, u^2, uv, v^2 at each cell of a grid of ``shape`` (cells, 6), read-only.

    Cached: every picture of the same size has the same grid, and building it cost as much as a fit.
    """
    v, u = np.meshgrid(_axis(shape[0]), _axis(shape[1]), indexing="ij")
    terms = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], -1).reshape(-1, 6)
    terms.flags.writeable = False
    return terms


def _surface(g: np.ndarray, q_lo: float, q_hi: float) -> np.ndarray:
    """Coefficients of a quadratic surface fitted to the paper cells of grid g.

    Lighting (gradients, vignetting) is smooth, ink is not: after each
    least-squares fit only cells whose residual lies between the q_lo and q_hi
    quantiles are kept, which drops ink cells on either side.
    """
    terms = _surface_terms(g.shape)
    values, sel = g.ravel().astype(np.float64), np.ones(g.size, bool)
    for _ in range(3):
        t = terms[sel]  # normal equations: a 6x6 solve, far cheaper than an SVD of t
        coef = np.linalg.lstsq(t.T @ t, t.T @ values[sel], rcond=None)[0]
        resid = values - terms @ coef
        lo, hi = quantiles(resid, [q_lo, q_hi])
        sel = (resid >= lo) & (resid <= hi)
    return coef.astype(np.float32)


def _eval_surface(coef: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Quadratic surface at every pixel of an image of ``shape`` (same [-1, 1] frame)."""
    v, u = _axis(shape[0])[:, None], _axis(shape[1])[None, :]
    return coef[0] + coef[1] * u + coef[3] * u * u + v * (coef[2] + coef[4] * u + coef[5] * v)


def _filter2d(a: np.ndarray, k: int, reduce) -> np.ndarray:
    """Separable sliding-window ``reduce`` (np.min / np.max / np.mean), odd width k, edges replicated."""
    for axis in (0, 1):
        if reduce in _PAIRWISE:  # the same values, without padding and a strided reduction's fixed cost
            a = _shifted_reduce(a, k, axis, _PAIRWISE[reduce])
            continue
        pad = [(0, 0), (0, 0)]
        pad[axis] = (k // 2, k // 2)
        a = reduce(sliding_window_view(np.pad(a, pad, mode="edge"), k, axis=axis), axis=-1)
    return a


_PAIRWISE = {np.min: np.minimum, np.max: np.maximum}


def _shifted_reduce(a: np.ndarray, k: int, axis: int, pairwise) -> np.ndarray:
    """``pairwise`` (np.minimum / np.maximum) over k shifted copies of ``a`` along ``axis``, edges replicated (C order)."""
    b = np.moveaxis(a, axis, 0)
    n, h = b.shape[0], k // 2
    padded = np.concatenate([np.repeat(b[:1], h, 0), b, np.repeat(b[-1:], h, 0)])
    out = padded[:n].copy()
    for i in range(1, k):
        pairwise(out, padded[i : i + n], out=out)
    return np.ascontiguousarray(np.moveaxis(out, 0, axis))


def _is_dark_ink(work: np.ndarray) -> bool:
    """True when the ink is darker than the paper (so the picture must be inverted).

    Around the paper (a robust quadratic surface) noise and lighting are
    symmetric while ink is a one-sided tail: the side with more mass beyond
    4 noise sigmas is the ink.  With no clear tail (a blank page) a light page
    is taken as paper with dark ink.
    """
    flat = work - _eval_surface(_surface(_grid(work, GRID_SIDE), 0.25, 0.75), work.shape)
    sample = flat[::2, ::2]
    sigma = 1.4826 * float(median(np.abs(sample - median(sample))))
    thr = NOISE_SIGMAS * sigma + MIN_CONTRAST / 2
    dark = float(np.clip(-flat - thr, 0, None).sum())
    light = float(np.clip(flat - thr, 0, None).sum())
    if max(dark, light) < 0.001 * flat.size or max(dark, light) < 1.5 * min(dark, light):
        return bool(median(work) > 0.5)  # no decisive ink tail
    return dark > light


def _flatten_lighting(x: np.ndarray) -> np.ndarray:
    """Ink strength of a light-ink image x: (x - paper) / (1 - paper); paper ~ 0, may be < 0.

    Paper = quadratic surface (smooth lighting, exact up to the borders) plus a
    grey opening of what is left, on the coarse grid, with a window wider
    than any stroke so it sees paper only (local shading).  Dividing by
    1 - paper is dividing dark-ink pictures by the local paper brightness.
    """
    g = _grid(x, GRID_SIDE)
    coef = _surface(g, 0.0, 0.6)  # ink is high in x: fit the lower cells
    rest = g - _eval_surface(coef, g.shape)
    k = int(max(3, round(0.2 * min(g.shape))) // 2 * 2 + 1)
    rest = _filter2d(_filter2d(_filter2d(rest, k, np.min), k, np.max), k, np.mean)
    paper = _eval_surface(coef, x.shape)
    if rest.shape != x.shape:
        rest = np.asarray(Image.fromarray(rest.astype(np.float32)).resize(x.shape[::-1], Image.Resampling.BILINEAR))
    paper = paper + rest
    return ((x - paper) / np.maximum(1 - paper, 0.05)).astype(np.float32)


# --------------------------------------------------------------- threshold
def otsu(values: np.ndarray) -> float:
    """Otsu's threshold of a 1-D sample (256 bins); a constant sample returns its value."""
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-9:
        return lo
    idx = np.minimum(((values - lo) * (256 / (hi - lo))).astype(np.int64), 255)
    hist = np.bincount(idx.ravel(), minlength=256).astype(np.float64)
    w0 = np.cumsum(hist)
    m0 = np.cumsum(hist * np.arange(256))
    w1 = w0[-1] - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (m0[-1] * w0 - m0 * w0[-1]) ** 2 / (w0 * w1)
    k = int(np.nanargmax(np.where(w1 > 0, between, np.nan)))
    return lo + (k + 1) * (hi - lo) / 256


def _threshold(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ink map -> (binary ink mask, grey ink in [0, 1] with paper at 0)."""
    sample = ink[::2, ::2].ravel() if ink.size > 4096 else ink.ravel()
    paper = float(median(sample))
    sigma = 1.4826 * float(median(np.abs(sample - paper)))
    floor = paper + max(NOISE_SIGMAS * sigma, MIN_CONTRAST)
    if float(ink.max()) <= floor:
        return np.zeros(ink.shape, bool), np.zeros(ink.shape, np.float32)
    t = max(otsu(sample[sample > paper]) if (sample > paper).any() else floor, floor)
    mask = ink >= t  # >=: in a pure black-and-white picture every ink pixel equals t
    if not mask.any():
        return mask, np.zeros(ink.shape, np.float32)
    lo = min(paper + 2 * sigma, (paper + t) / 2)  # faint edge pixels keep some grey
    hi = max(float(quantile(ink[mask], 0.75)), t)  # stroke centres saturate, like MNIST
    grey = np.clip((ink - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)
    return mask, grey


def _remove_rules(mask: np.ndarray) -> None:
    """Erase thin ruled lines (horizontal and vertical) in place, keeping strokes that cross them.

    A rule row is at least RULE_FILL inked (a faint line breaks up in noise)
    and its ink runs from edge to edge (>= RULE_SPAN of the width), which a
    digit's bar does not, e.g. the bar of an MNIST 7 spans at most 20 of 28.
    """
    for m in (mask, mask.T):  # the transpose is a view: edits reach ``mask``
        h, w = m.shape
        if w < 8 or h < 3:
            continue
        first = np.argmax(m, axis=1)
        extent = w - np.argmax(m[:, ::-1], axis=1) - first
        rule = (m.sum(axis=1) >= RULE_FILL * w) & (extent >= RULE_SPAN * w)
        edges = np.diff(np.concatenate([[0], rule.astype(np.int8), [0]]))
        for r0, r1 in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]):
            if r1 - r0 > max(3, 0.012 * h):
                continue  # too thick for a ruled line: a stroke
            _erase_band(m, max(int(r0) - 1, 0), min(int(r1) + 1, h))  # +-1 row: the line's faint edges


def _erase_band(m: np.ndarray, r0: int, r1: int) -> None:
    """Clear rows r0:r1 except where a stroke continues above or below the band."""
    w, k = m.shape[1], r1 - r0
    above = m[r0 - 1] if r0 > 0 else np.zeros(w, bool)
    below = m[r1] if r1 < m.shape[0] else np.zeros(w, bool)
    # ink above or below within k columns: a window sum from a running total, clipped at the edges (a strip
    # narrower than the window is fine; np.convolve "same" returned the window's length there)
    total = np.concatenate([[0], np.cumsum(above | below)])
    x = np.arange(w)
    crossing = total[np.minimum(x + k + 1, w)] > total[np.maximum(x - k, 0)]
    m[r0:r1, ~crossing] = False


# -------------------------------------------------------------- components
def _drop_specks(labels: np.ndarray, areas: np.ndarray, boxes: np.ndarray):
    """Remove components too small to be strokes; renumber the rest 1..k."""
    min_area = max(3.0, SPECK_AREA * labels.size, 0.02 * float(areas.max()))
    keep = areas >= min_area
    keep[0] = False
    lut = np.zeros(len(areas), np.int32)
    lut[keep] = np.arange(1, keep.sum() + 1)
    idx = np.concatenate([[0], np.nonzero(keep)[0]])
    return lut[labels], areas[idx], boxes[idx]


def ink_page(gray: np.ndarray) -> InkPage:
    """Steps 1-5 of the pipeline: validated picture -> labelled ink at working size."""
    unit = as_unit_gray(gray)
    work, scale = _downscale(unit)
    inverted = _is_dark_ink(work)
    ink = _flatten_lighting(1 - work if inverted else work)
    mask, grey = _threshold(ink)
    _remove_rules(mask)
    labels, areas, boxes = _drop_specks(*label_components(mask))
    return InkPage(grey, labels, areas, boxes, scale, unit.shape, inverted)


# ------------------------------------------------------------ the digit
def union_box(page: InkPage, ids: list[int]) -> np.ndarray:
    """Box (x0, y0, x1, y1 exclusive, working pixels) around the given components."""
    sel = page.boxes[ids]
    return np.concatenate([sel[:, :2].min(0), sel[:, 2:].max(0)])


def main_digit(page: InkPage, join: float = 0.25) -> list[int]:
    """Ids of the largest component plus fragments within ``join`` x its box size."""
    if page.n_components == 0:
        return []
    order = list(np.argsort(-page.areas[1:]) + 1)
    chosen = [order.pop(0)]
    box = page.boxes[chosen[0]].copy()
    grown = True
    while grown and order:
        grown = False
        tol = join * max(box[2] - box[0], box[3] - box[1])
        for i in list(order):
            if box_gap(box, page.boxes[i]) <= tol:
                chosen.append(i)
                order.remove(i)
                box[:2] = np.minimum(box[:2], page.boxes[i][:2])
                box[2:] = np.maximum(box[2:], page.boxes[i][2:])
                grown = True
    return [int(i) for i in chosen]


def digit_crop(page: InkPage, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Grey ink of the given components only, cropped; plus their box (working pixels).

    The component mask is dilated by one pixel so the anti-aliased edge of each
    stroke (below the threshold) keeps its grey, while other digits' ink in the
    same rectangle is left out.
    """
    box = union_box(page, ids)
    h, w = page.labels.shape
    x0, y0 = max(box[0] - 1, 0), max(box[1] - 1, 0)
    x1, y1 = min(box[2] + 1, w), min(box[3] + 1, h)
    lut = np.zeros(len(page.areas), bool)
    lut[ids] = True
    mine = np.pad(lut[page.labels[y0:y1, x0:x1]], 1)
    grown = np.zeros_like(mine[1:-1, 1:-1])
    for dy in range(3):
        for dx in range(3):
            grown |= mine[dy : dy + y1 - y0, dx : dx + x1 - x0]
    return page.ink[y0:y1, x0:x1] * grown, box


def render_mnist(crop: np.ndarray) -> np.ndarray:
    """Grey ink crop (paper 0) -> 28x28: fit in 20x20, centre of mass at (14, 14)."""
    out = np.zeros((MNIST_SIDE, MNIST_SIDE), np.float32)
    ys, xs = np.nonzero(crop > 0)
    if len(ys) == 0:
        return out
    crop = np.ascontiguousarray(crop[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1], np.float32)
    h, w = crop.shape
    s = FIT_SIDE / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    resample = Image.Resampling.BOX if s < 1 else Image.Resampling.LANCZOS  # area-average down, sharp up
    patch = np.clip(np.asarray(Image.fromarray(crop).resize(size, resample)), 0, 1)
    if patch.max() <= 0:
        return out
    patch = patch / patch.max()  # thin strokes averaged to grey come back to full ink
    mass = patch.sum()
    cy = (patch.sum(1) * np.arange(patch.shape[0])).sum() / mass
    cx = (patch.sum(0) * np.arange(patch.shape[1])).sum() / mass
    oy = int(np.clip(round(MNIST_SIDE / 2 - cy), 0, MNIST_SIDE - patch.shape[0]))
    ox = int(np.clip(round(MNIST_SIDE / 2 - cx), 0, MNIST_SIDE - patch.shape[1]))
    out[oy : oy + patch.shape[0], ox : ox + patch.shape[1]] = patch
    return out


def stroke_width(image: np.ndarray) -> float:
    """Mean stroke width in pixels: ink area over half the outline length.

    A stroke of length L and width w has area L*w and outline ~2L; the
    outline is the total variation of the grey image, so grey edges count.
    """
    area = float(image.sum())
    outline = float(np.abs(np.diff(image, axis=0)).sum() + np.abs(np.diff(image, axis=1)).sum())
    return 2 * area / outline if outline > 0 else 0.0
