"""Synthetic outliers for outlier exposure: shapes, ranges, determinism, and that they are not digits' copies."""

from __future__ import annotations

import torch

from digitlab.data.outliers import blobs, noise, shuffled_pieces, strokes, synthetic_outliers


def digits(n: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 6:22, 12:16] = torch.rand(n, 1, 16, 4, generator=g)  # crude "1"s
    return x


def test_every_kind_has_the_right_shape_and_range():
    g = torch.Generator().manual_seed(1)
    for out in (noise(8, g), blobs(8, g), strokes(8, g), shuffled_pieces(digits(8), g), synthetic_outliers(digits(40), g)):
        assert out.shape[1:] == (1, 28, 28)
        assert out.min() >= 0 and out.max() <= 1
        assert torch.isfinite(out).all()


def test_outliers_are_deterministic_for_a_seeded_generator():
    a = synthetic_outliers(digits(), torch.Generator().manual_seed(7))
    b = synthetic_outliers(digits(), torch.Generator().manual_seed(7))
    c = synthetic_outliers(digits(), torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_strokes_and_blobs_have_ink():
    g = torch.Generator().manual_seed(2)
    assert (strokes(16, g).flatten(1).amax(1) > 0.5).all()
    assert (blobs(16, g).flatten(1).sum(1) > 10).all()
