"""Write the web app's icons (192 and 512 px PNG) from a real MNIST test digit; run once, the PNGs are committed.

Usage: python scripts/make_icons.py
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "digitlab" / "serve" / "static" / "icons"
BACKGROUND = (29, 53, 87)  # the app's theme colour
INK = (255, 255, 255)


def first_test_digit() -> np.ndarray:
    """The first MNIST test image (a handwritten 7) as (28, 28) uint8."""
    with gzip.open(REPO / "data" / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
        return np.frombuffer(f.read(), np.uint8, offset=16)[: 28 * 28].reshape(28, 28)


def icon(size: int) -> Image.Image:
    """A rounded square in the theme colour with the digit, smoothly enlarged, in the maskable safe zone."""
    img = Image.new("RGB", (size, size), BACKGROUND)
    side = int(size * 0.72)
    alpha = Image.fromarray(first_test_digit()).resize((side, side), Image.Resampling.BICUBIC)
    ink = Image.new("RGB", (side, side), INK)
    offset = (size - side) // 2
    img.paste(ink, (offset, offset), alpha)
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 6, fill=255)
    out = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    out.paste(img, (0, 0), mask)
    return out


def main() -> None:
    """Write icon-192.png and icon-512.png."""
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size).save(OUT / f"icon-{size}.png", optimize=True)
        print(OUT / f"icon-{size}.png")


if __name__ == "__main__":
    main()
