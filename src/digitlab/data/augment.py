"""Batched on-the-fly augmentation: one random affine (and optional elastic) warp per image, as tensor ops."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(n: int, rotate: float, scale: float, shear: float, translate: float, gen: torch.Generator) -> torch.Tensor:
    """``(n, 2, 3)`` affine matrices in the normalised coordinates of ``affine_grid``."""
    u = torch.rand(n, 5, generator=gen) * 2 - 1  # uniform in [-1, 1]
    ang = u[:, 0] * math.radians(rotate)
    s = 1 + u[:, 1] * scale
    sh = u[:, 2] * shear
    cos, sin = torch.cos(ang) / s, torch.sin(ang) / s  # the grid maps output -> input, so zoom is 1/s
    theta = torch.empty(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin + sh * cos
    theta[:, 1, 0], theta[:, 1, 1] = sin, cos + sh * sin
    theta[:, :, 2] = u[:, 3:5] * translate * 2  # normalised coords span 2 per image side
    return theta


def elastic_offsets(n: int, alpha: float, gen: torch.Generator, size: int = 28, sigma: float = 4.0) -> torch.Tensor:
    """``(n, size, size, 2)`` smooth random displacements of about ``alpha`` pixels (Simard et al. 2003)."""
    field = torch.rand(n, 2, size, size, generator=gen) * 2 - 1
    k = int(4 * sigma) | 1
    x = torch.arange(k, dtype=torch.float32) - k // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = (g / g.sum()).view(1, 1, 1, k)
    field = field.view(n * 2, 1, size, size)
    field = F.conv2d(F.conv2d(field, g, padding=(0, k // 2)), g.transpose(2, 3), padding=(k // 2, 0))
    field = field / field.abs().amax(dim=(2, 3), keepdim=True).clamp_min(1e-6)  # peak displacement = alpha
    return field.view(n, 2, size, size).permute(0, 2, 3, 1) * (alpha * 2 / size)


def augment_batch(
    x: torch.Tensor,
    gen: torch.Generator,
    rotate: float = 10,
    scale: float = 0.1,
    shear: float = 0.1,
    translate: float = 0.1,
    elastic: float = 0.0,
) -> torch.Tensor:
    """Warp a float batch ``(N, 1, 28, 28)`` (background 0) by one random transform per image."""
    n, _, h, w = x.shape
    theta = random_affine(n, rotate, scale, shear, translate, gen)
    grid = F.affine_grid(theta, [n, 1, h, w], align_corners=False)  # (N, H, W, 2)
    if elastic > 0:
        grid = grid + elastic_offsets(n, elastic, gen, h)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
