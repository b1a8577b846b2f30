"""Sample grids: generated digits ``(N, 1, 28, 28)`` in [0, 1] as one PNG, ink dark on white like a page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

GAP = 2  # white pixels between tiles


def grid_image(images: torch.Tensor, columns: int, scale: int = 1) -> Image.Image:
    """Tiles in rows of ``columns`` (row-major), ``scale`` times larger (nearest neighbour: pixels stay pixels)."""
    n = len(images)
    rows = -(-n // columns)
    side = 28 + GAP
    canvas = np.full((rows * side + GAP, columns * side + GAP), 255, np.uint8)
    tiles = (255 - images[:, 0].clamp(0, 1).mul(255).round()).to(torch.uint8).numpy()  # ink 1 -> black
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        canvas[GAP + r * side : GAP + r * side + 28, GAP + c * side : GAP + c * side + 28] = tile
    img = Image.fromarray(canvas, mode="L")
    return img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST) if scale > 1 else img


def save_grid(images: torch.Tensor, columns: int, path: Path, scale: int = 1) -> Path:
    """Write the grid as PNG (its folder made when missing); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    grid_image(images, columns, scale).save(tmp, format="PNG")
    tmp.replace(path)  # atomic: a reader never sees half a grid
    return path
