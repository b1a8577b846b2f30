"""Synthetic non-digits for outlier exposure (Hendrycks et al. 2019), generated as batched tensor ops.

Kinds: pixel noise, filled blobs and solid shapes, random pen strokes, and
digits cut into quadrants and shuffled across images. No external data set is
used, so Fashion-MNIST stays a clean test of rejection.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SIDE = 28


def _coords() -> tuple[torch.Tensor, torch.Tensor]:
    ax = (torch.arange(SIDE, dtype=torch.float32) + 0.5) / SIDE  # pixel centres in [0, 1]
    return torch.meshgrid(ax, ax, indexing="ij")


def noise(n: int, gen: torch.Generator) -> torch.Tensor:
    """Uniform or Gaussian pixel noise of random brightness, sometimes blurred."""
    level = torch.rand(n, 1, 1, 1, generator=gen)
    x = (
        torch.where(
            torch.rand(n, 1, 1, 1, generator=gen) < 0.5,
            torch.rand(n, 1, SIDE, SIDE, generator=gen),
            (torch.randn(n, 1, SIDE, SIDE, generator=gen) * 0.3 + 0.5),
        ).clamp(0, 1)
        * level
    )
    blurred = F.avg_pool2d(x, 3, 1, 1)
    return torch.where(torch.rand(n, 1, 1, 1, generator=gen) < 0.3, blurred, x)


def blobs(n: int, gen: torch.Generator) -> torch.Tensor:
    """Filled ellipses and rectangles of random size and brightness (solid objects such as clothes and shoes)."""
    yy, xx = _coords()
    c = torch.rand(n, 2, 1, 1, generator=gen) * 0.6 + 0.2
    r = torch.rand(n, 2, 1, 1, generator=gen) * 0.35 + 0.12
    dy, dx = (yy - c[:, 0]) / r[:, 0], (xx - c[:, 1]) / r[:, 1]
    ellipse = (dy**2 + dx**2 <= 1).float()
    rect = ((dy.abs() <= 1) & (dx.abs() <= 1)).float()
    shape = torch.where(torch.rand(n, 1, 1, generator=gen) < 0.5, ellipse, rect)
    texture = 0.6 + 0.4 * torch.rand(n, SIDE, SIDE, generator=gen) * (torch.rand(n, 1, 1, generator=gen) < 0.5)
    return (shape * texture * (0.4 + 0.6 * torch.rand(n, 1, 1, generator=gen))).unsqueeze(1)


def strokes(n: int, gen: torch.Generator, segments: int = 4) -> torch.Tensor:
    """Random pen scribbles: a polyline of ``segments`` straight strokes, anti-aliased."""
    yy, xx = _coords()
    p = torch.rand(n, segments + 1, 2, generator=gen) * 0.8 + 0.1
    a, b = p[:, :-1].reshape(n, segments, 1, 1, 2), p[:, 1:].reshape(n, segments, 1, 1, 2)
    q = torch.stack([yy, xx], -1)  # (28, 28, 2)
    ab = b - a
    t = (((q - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-6)).clamp(0, 1)
    dist = (q - (a + t.unsqueeze(-1) * ab)).norm(dim=-1).amin(1) * SIDE  # pixels to the nearest stroke (n, 28, 28)
    width = 1.0 + 1.5 * torch.rand(n, 1, 1, generator=gen)
    return (width - dist).clamp(0, 1).unsqueeze(1)


def shuffled_pieces(digits: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Digit quadrants shuffled across the batch: digit-like strokes that form no digit."""
    n = len(digits)
    h = SIDE // 2
    quads = [digits[..., :h, :h], digits[..., :h, h:], digits[..., h:, :h], digits[..., h:, h:]]
    picks = [q[torch.randperm(n, generator=gen)].flip(-1 if i % 2 else -2) for i, q in enumerate(quads)]
    top = torch.cat([picks[0], picks[1]], -1)
    return torch.cat([top, torch.cat([picks[2], picks[3]], -1)], -2)


def synthetic_outliers(digits: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """As many outliers as ``digits`` ``(N, 1, 28, 28)`` in [0, 1], an even mix of the four kinds."""
    n = len(digits)
    k = torch.randint(0, 4, (n,), generator=gen)
    out = torch.empty_like(digits)
    makers = [lambda m: noise(m, gen), lambda m: blobs(m, gen), lambda m: strokes(m, gen), lambda m: shuffled_pieces(digits[:m], gen)]
    for kind, make in enumerate(makers):
        idx = torch.nonzero(k == kind).flatten()
        if len(idx):
            out[idx] = make(len(idx))
    return out
