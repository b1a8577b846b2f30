"""What a phone camera does to a mark on paper: the lab's one copy of the photo effects.

Every picture is dark ink on tinted paper under an uneven lighting gradient, with gaussian noise and a JPEG round
trip, so the preprocessing must undo what a phone camera does. Shared by the real-world data sets (letters, symbols,
digit photos), the tests (``tests/synthetic.py`` re-exports these) and the benchmarks. All randomness comes from the
``rng`` passed in; the same generator state gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image


def encode(rgb: np.ndarray, fmt: str = "PNG", **options) -> bytes:
    """Array -> file bytes in the given Pillow format."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, **options)
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    """File bytes -> (H, W, 3) uint8 RGB."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def make_photo(digit28: np.ndarray, rng: np.random.Generator, size: tuple[int, int] = (480, 640), ruled: bool = False) -> np.ndarray:
    """One MNIST digit written on a photographed page -> (H, W, 3) uint8 RGB.

    The digit's height is 20-60 % of the page; it sits at a random place.
    """
    return decode(_photograph(lambda height, width: digit_alpha(digit28, height, max_width=width), rng, size, ruled))


def photo_jpeg(alpha: np.ndarray, rng: np.random.Generator, size: tuple[int, int] = (480, 640), ruled: bool = False) -> bytes:
    """A dark mark of opacity ``alpha`` (any size, rescaled to 20-60 % of the page height) photographed -> JPEG bytes."""
    return _photograph(lambda height, width: fit_alpha(alpha, height, max_width=width), rng, size, ruled)


def _photograph(mark: Callable[[int, int], np.ndarray], rng: np.random.Generator, size: tuple[int, int], ruled: bool) -> bytes:
    """Paper, the mark ``mark(height, max_width)`` at a random place, camera finish -> JPEG bytes."""
    h, w = size
    page = paper((h, w), rng)
    if ruled:
        rule(page, rng)
    alpha = mark(int(rng.uniform(0.2, 0.6) * h), w)
    y = int(rng.integers(0, h - alpha.shape[0] + 1))
    x = int(rng.integers(0, w - alpha.shape[1] + 1))
    ink(page, alpha, y, x, rng)
    return finish_jpeg(page, rng)


def make_blank(rng: np.random.Generator, size: tuple[int, int] = (480, 640), ruled: bool = False) -> np.ndarray:
    """A photographed page with no digit (optionally ruled) -> (H, W, 3) uint8 RGB."""
    page = paper(size, rng)
    if ruled:
        rule(page, rng)
    return finish(page, rng)


def make_strip(digits: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Several digits written left to right with gaps -> (H, W, 3) uint8 RGB."""
    return make_page([digits], rng)


def make_page(lines: list[list[np.ndarray]], rng: np.random.Generator, line_height: int = 160) -> np.ndarray:
    """Lines of digits, top to bottom, each left to right -> (H, W, 3) uint8 RGB."""
    placed, width = [], 0
    for row, digits in enumerate(lines):
        x = int(rng.integers(15, 40))
        for d in digits:
            alpha = digit_alpha(d, int(rng.uniform(0.55, 0.75) * line_height))
            y = row * line_height + int(rng.integers(10, line_height - alpha.shape[0] - 10))
            placed.append((alpha, y, x))
            x += alpha.shape[1] + int(rng.integers(15, 40))  # the gap between digits
        width = max(width, x + 20)
    page = paper((line_height * len(lines), width), rng)
    for alpha, y, x in placed:
        ink(page, alpha, y, x, rng)
    return finish(page, rng)


def digit_alpha(digit28: np.ndarray, height: int, max_width: int | None = None) -> np.ndarray:
    """MNIST digit (light on black) cropped to its ink and resized -> ink opacity in [0, 1]."""
    d = digit28.astype(np.float32) / (255 if digit28.dtype == np.uint8 else 1)
    return fit_alpha(d, height, max_width)


def fit_alpha(alpha: np.ndarray, height: int, max_width: int | None = None) -> np.ndarray:
    """Opacity in [0, 1] cropped to its ink and resized (bicubic) to ``height`` px, at most ``max_width`` wide."""
    ys, xs = np.nonzero(alpha > 0)
    d = np.ascontiguousarray(alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1], np.float32)
    width = max(1, round(d.shape[1] * height / d.shape[0]))
    if max_width is not None and width > max_width:
        height, width = round(height * max_width / width), max_width
    out = Image.fromarray(d).resize((width, max(1, height)), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(out), 0, 1)


def paper(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Tinted paper under a linear lighting gradient in a random direction -> (H, W, 3) float."""
    h, w = shape
    tint = rng.uniform(0.75, 0.95) * (1 + rng.uniform(-0.08, 0.08, 3))
    angle = rng.uniform(0, 2 * np.pi)
    side = np.float32(max(h, w))  # float32 throughout: a 4000x3000 page stays ~150 MB
    ramp = (
        np.float32(np.cos(angle)) * np.arange(w, dtype=np.float32)[None, :] / side
        + np.float32(np.sin(angle)) * np.arange(h, dtype=np.float32)[:, None] / side
    )
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-9)
    light = 1 - np.float32(rng.uniform(0.1, 0.4)) * ramp  # up to 40 % darker on one side
    return np.clip(tint, 0, 1).astype(np.float32)[None, None, :] * light[..., None]


def rule(page: np.ndarray, rng: np.random.Generator) -> None:
    """Faint blue ruled lines across the page, 1-2 px thick, in place."""
    h = page.shape[0]
    gap = int(rng.integers(max(8, h // 10), max(9, h // 5)))
    colour = np.array([0.55, 0.65, 0.9], np.float32)
    strength = np.float32(rng.uniform(0.25, 0.45))
    for y in range(int(rng.integers(gap // 2, gap)), h, gap):
        band = page[y : y + int(rng.integers(1, 3))]
        band[:] = band * (1 - strength) + band * colour * strength


def ink(page: np.ndarray, alpha: np.ndarray, y: int, x: int, rng: np.random.Generator) -> None:
    """Write dark pen ink of opacity ``alpha`` at (y, x), in place."""
    pen = rng.uniform(0.05, 0.25, 3).astype(np.float32)  # dark, slightly coloured pen
    a = alpha[..., None] * np.float32(rng.uniform(0.8, 1.0))
    region = page[y : y + alpha.shape[0], x : x + alpha.shape[1]]
    region[:] = region * (1 - a) + pen * region.mean(axis=2, keepdims=True) * a


def finish(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera noise and a JPEG round trip at quality 70-90 -> uint8 RGB."""
    return decode(finish_jpeg(page, rng))


def finish_jpeg(page: np.ndarray, rng: np.random.Generator) -> bytes:
    """Camera noise and JPEG compression at quality 70-90 -> the JPEG file's bytes (``page`` gets the noise)."""
    noise = rng.standard_normal(page.shape, dtype=np.float32)
    page += noise * np.float32(rng.uniform(0.01, 0.03))
    rgb = (np.clip(page, 0, 1) * 255 + 0.5).astype(np.uint8)
    return encode(rgb, "JPEG", quality=int(rng.integers(70, 91)))


def phone_jpeg(digit: np.ndarray, seed: int = 0) -> bytes:
    """A 4000x3000 'phone photo' for timing: tinted paper, lighting gradient, noise, a dark digit ~1000 px tall, JPEG q=92.

    ``digit`` is an MNIST digit, 28x28 uint8, light ink on black: its brightness is how much ink darkens the paper.
    """
    rng = np.random.default_rng(seed)
    h, w = 3000, 4000
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    page = 0.85 - 0.15 * (xx / w) - 0.1 * (yy / h)
    ink = np.asarray(Image.fromarray(digit).resize((1000, 1000), Image.Resampling.BILINEAR), np.float32) / 255
    page[1000:2000, 1500:2500] *= 1 - 0.8 * ink
    gray = np.clip(page + rng.normal(0, 0.02, page.shape), 0, 1)
    rgb = np.stack([gray * 0.98, gray * 0.95, gray * 0.88], -1)
    return encode((rgb * 255).astype(np.uint8), "JPEG", quality=92)
