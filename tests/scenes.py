"""Synthetic photos of things that are not written numbers, for the whole-picture verdict (issue 11).

Each maker returns an (H, W, 3) uint8 RGB "phone photo": a shaded, textured
scene (1/f noise in colour, as wood, fabric, foliage or a wall look from afar),
objects on it, camera noise and a JPEG round trip. All randomness comes from
the ``rng`` passed in, so tests and calibration use different seeds of the
same makers.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def _digit_alpha(digit28: np.ndarray, height: int) -> np.ndarray:
    """MNIST digit (light on black, uint8) cropped to its ink and resized to ``height`` -> ink opacity in [0, 1]."""
    d = digit28.astype(np.float32) / 255
    ys, xs = np.nonzero(d > 0)
    d = d[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    width = max(1, round(d.shape[1] * height / d.shape[0]))
    return np.clip(np.asarray(Image.fromarray(d).resize((width, height), Image.Resampling.BICUBIC)), 0, 1)


def _finish(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera noise and a JPEG round trip at quality 70-90 -> uint8 RGB."""
    page = page + rng.standard_normal(page.shape).astype(np.float32) * np.float32(rng.uniform(0.01, 0.03))
    buf = io.BytesIO()
    Image.fromarray((np.clip(page, 0, 1) * 255 + 0.5).astype(np.uint8)).save(buf, "JPEG", quality=int(rng.integers(70, 91)))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _paper(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Tinted paper under a linear lighting gradient (up to 40 % darker on one side) -> (H, W, 3) float32."""
    h, w = shape
    tint = np.clip(rng.uniform(0.75, 0.95) * (1 + rng.uniform(-0.08, 0.08, 3)), 0, 1).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * np.arange(w)[None, :] + np.sin(angle) * np.arange(h)[:, None]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-9)
    light = (1 - rng.uniform(0.1, 0.4) * ramp).astype(np.float32)
    return tint[None, None, :] * light[..., None]


def _ink(page: np.ndarray, alpha: np.ndarray, y: int, x: int, rng: np.random.Generator) -> None:
    """Write dark pen ink of opacity ``alpha`` at (y, x), in place."""
    ink = rng.uniform(0.05, 0.25, 3).astype(np.float32)
    a = alpha[..., None] * np.float32(rng.uniform(0.8, 1.0))
    region = page[y : y + alpha.shape[0], x : x + alpha.shape[1]]
    region[:] = region * (1 - a) + ink * region.mean(axis=2, keepdims=True) * a


def texture(shape: tuple[int, int], rng: np.random.Generator, strength: float = 0.25, coarsest: int = 4) -> np.ndarray:
    """(H, W) noise in about [-strength, strength]: octaves of upsampled random grids, each finer one 0.7-0.95x as strong.

    Natural pictures have about the same contrast in every octave (a 1/f
    spectrum: grass, gravel, fabric, foliage, wood), so the fine octaves are not
    much weaker than the coarse ones.
    """
    h, w = shape
    out = np.zeros(shape, np.float32)
    amp, cells, falloff = 1.0, coarsest, float(rng.uniform(0.7, 0.95))
    while cells < max(h, w) / 2:
        grid = rng.standard_normal((max(2, cells * h // max(h, w)), max(2, cells * w // max(h, w)))).astype(np.float32)
        out += amp * np.asarray(Image.fromarray(grid).resize((w, h), Image.Resampling.BICUBIC))
        amp, cells = amp * falloff, cells * 2
    return out / max(float(np.abs(out).max()), 1e-6) * np.float32(strength)


def scene(rng: np.random.Generator, size: tuple[int, int] = (480, 640), strength: float | None = None) -> np.ndarray:
    """A shaded, textured background in colour -> (H, W, 3) float32 in [0, 1] (not yet finished)."""
    h, w = size
    s = float(rng.uniform(0.15, 0.35) if strength is None else strength)
    base = rng.uniform(0.3, 0.7, 3).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    shade = 1 - 0.4 * ((np.cos(angle) * xx + np.sin(angle) * yy) / max(h, w) % 1)  # light falling off
    rgb = base[None, None, :] * shade[..., None] + np.stack([texture(size, rng, s) for _ in range(3)], -1)
    for _ in range(int(rng.integers(3, 9))):  # things in the scene: boxes and round shapes of their own colour
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.05, 0.3) * h, rng.uniform(0.05, 0.3) * w
        d = np.maximum(np.abs(yy - cy) / ry, np.abs(xx - cx) / rx) if rng.random() < 0.5 else np.hypot((yy - cy) / ry, (xx - cx) / rx)
        _paint(rgb, np.clip((1 - d) * min(ry, rx), 0, 1).astype(np.float32), rng.uniform(0.1, 0.9, 3).astype(np.float32), shade)
    return np.clip(rgb, 0, 1).astype(np.float32)


def _paint(page: np.ndarray, mask: np.ndarray, colour: np.ndarray, shading: np.ndarray | None = None) -> None:
    """Paint ``colour`` (3,) where ``mask`` (H, W, in [0, 1]) is set, times an optional (H, W) shading, in place."""
    c = colour[None, None, :] * (1 if shading is None else shading[..., None])
    page[:] = page * (1 - mask[..., None]) + c * mask[..., None]


def rectangle_and_pole(rng: np.random.Generator, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A picture frame's dark outline and a thin pole from top to bottom, on a shaded textured scene."""
    h, w = size
    page = scene(rng, size)
    mask = np.zeros(size, np.float32)
    x0, y0 = int(rng.uniform(0.1, 0.3) * w), int(rng.uniform(0.15, 0.3) * h)
    x1, y1 = int(rng.uniform(0.5, 0.65) * w), int(rng.uniform(0.6, 0.85) * h)
    t = max(3, h // 80)
    mask[y0:y1, x0 : x0 + t] = mask[y0:y1, x1 - t : x1] = mask[y0 : y0 + t, x0:x1] = mask[y1 - t : y1, x0:x1] = 1
    px = int(rng.uniform(0.75, 0.9) * w)
    mask[:, px : px + max(4, w // 70)] = 1
    _paint(page, mask, rng.uniform(0.05, 0.2, 3).astype(np.float32))
    return _finish(page, rng)


def ring_scene(rng: np.random.Generator, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A cup seen from above: a shaded ring (rim) around a darker disc (coffee), on a textured table."""
    h, w = size
    page = scene(rng, size)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx, r = h * rng.uniform(0.4, 0.6), w * rng.uniform(0.4, 0.6), h * rng.uniform(0.25, 0.35)
    d = np.hypot(yy - cy, xx - cx)
    rim = np.clip(r - d, 0, 1) * np.clip(d - 0.8 * r, 0, 1)  # anti-aliased annulus
    shading = 0.6 + 0.4 * np.clip((xx - cx + yy - cy) / (2 * r) + 0.5, 0, 1)  # light from one side
    _paint(page, rim, np.array([0.92, 0.9, 0.85], np.float32), shading)
    _paint(page, np.clip(0.8 * r - d, 0, 1), np.array([0.25, 0.15, 0.08], np.float32), shading)
    return _finish(page, rng)


def textured_with_mark(digit28: np.ndarray, rng: np.random.Generator, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A textured picture (fabric, foliage) with one dark digit-like mark on it."""
    h, w = size
    page = scene(rng, size, strength=float(rng.uniform(0.25, 0.4)))
    alpha = _digit_alpha(digit28, int(rng.uniform(0.25, 0.4) * h))
    y, x = int(rng.integers(0, h - alpha.shape[0])), int(rng.integers(0, w - alpha.shape[1]))
    mask = np.zeros(size, np.float32)
    mask[y : y + alpha.shape[0], x : x + alpha.shape[1]] = alpha
    _paint(page, mask, rng.uniform(0.02, 0.1, 3).astype(np.float32))
    return _finish(page, rng)


def digit_and_blob(digit28: np.ndarray, rng: np.random.Generator, size: tuple[int, int] = (360, 640)) -> np.ndarray:
    """Plain paper with one written digit on the left and a solid ink blot (an obvious non-digit) on the right."""
    h, w = size
    page = _paper(size, rng)
    alpha = _digit_alpha(digit28, int(0.5 * h))
    _ink(page, alpha, h // 4, w // 8, rng)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = ((yy - h / 2) / (0.12 * h)) ** 4 + ((xx - 0.7 * w) / (0.16 * h)) ** 4
    blot = np.clip((1 - r) * 0.1 * h, 0, 1)  # a filled rounded rectangle: ink fills ~90 % of its box
    _ink(page, blot, 0, 0, rng)
    return _finish(page, rng)


def sheet_on_desk(digits: list[np.ndarray], rng: np.random.Generator, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A number written on a sheet of paper lying on a darker desk that fills 15-40 % of the frame: writing, not a scene."""
    h, w = size
    page = scene(rng, size, strength=float(rng.uniform(0.03, 0.08)))[..., :] * np.float32(0.6)  # a plain, darker desk
    edge = rng.uniform(0.15, 0.4)  # the share of the frame's width the desk shows, on one side
    x_edge = int(w * edge) if rng.random() < 0.5 else int(w * (1 - edge))
    sheet = _paper(size, rng)
    paper = slice(x_edge, w) if x_edge < w / 2 else slice(0, x_edge)
    page[:, paper] = sheet[:, paper]
    x0, x1 = paper.start, paper.stop
    x = x0 + int(0.05 * (x1 - x0))
    for d in digits:
        alpha = _digit_alpha(d, int(0.25 * h))
        if x + alpha.shape[1] >= x1:
            break
        _ink(page, alpha, int(0.35 * h), x, rng)
        x += alpha.shape[1] + int(0.04 * w)
    return _finish(page, rng)
