"""Synthetic outliers for outlier exposure: shapes, ranges, determinism, that they are not digits' copies, and that the
shipped model refuses them at its calibrated threshold; the input checks' thresholds, each just below and just above.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from digitlab.data.outliers import blobs, noise, shuffled_pieces, strokes, synthetic_outliers
from digitlab.recognize.checks import check_digit, check_page, input_reasons
from digitlab.recognize.predictor import Predictor
from digitlab.recognize.segment import DigitBox
from synthetic import load_mnist_test


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


def mnist_digits(n: int, offset: int = 0) -> torch.Tensor:
    """Real MNIST test digits ``(n, 1, 28, 28)`` in [0, 1]."""
    x, _ = load_mnist_test(offset + n)
    return torch.from_numpy(x[offset:].astype(np.float32) / 255).unsqueeze(1)


def test_shuffled_pieces_copy_no_digit():
    real = mnist_digits(64)
    out = shuffled_pieces(real, torch.Generator().manual_seed(3))
    distance = (out.flatten(1)[:, None] - real.flatten(1)[None]).abs().mean(2)  # (outputs, digits) mean pixel difference
    assert distance.amin(1).min() > 0.02  # no output is (nearly) one of the digits
    assert out.sum().item() == pytest.approx(real.sum().item(), rel=1e-5)  # ... yet it is made of their ink, moved


@pytest.fixture(scope="module")
def shipped() -> Predictor:
    torch.set_num_threads(1)
    return Predictor()  # src/digitlab/assets/default.pt at its calibrated threshold


def refused(predictor: Predictor, images: torch.Tensor) -> float:
    """Share of ``images`` ``(N, 1, 28, 28)`` the predictor calls not a digit."""
    answers = predictor.classify(images.squeeze(1).numpy())
    assert all(a.threshold == predictor.rejector.threshold for a in answers)
    return float(np.mean([not a.accepted for a in answers]))


@pytest.mark.parametrize(
    ("kind", "at_least"),
    [("noise", 0.98), ("blobs", 0.98), ("strokes", 0.9), ("pieces", 0.98), ("mix", 0.95)],  # measured: 100, 100, 96.5, 100, 99 %
)
def test_the_shipped_model_refuses_synthetic_outliers_at_its_calibrated_threshold(shipped, kind, at_least):
    g = torch.Generator().manual_seed(0)
    digits = mnist_digits(200, offset=200)
    make = {
        "noise": lambda: noise(200, g),
        "blobs": lambda: blobs(200, g),
        "strokes": lambda: strokes(200, g),
        "pieces": lambda: shuffled_pieces(digits, g),
        "mix": lambda: synthetic_outliers(digits, g),
    }[kind]
    assert shipped.rejector is not None and shipped.rejector.tpr == pytest.approx(0.99)
    assert refused(shipped, make()) >= at_least


def test_the_shipped_model_accepts_real_digits_at_the_same_threshold(shipped):
    assert refused(shipped, mnist_digits(200)) <= 0.03  # calibrated to accept 99 % of validation digits


def box(ink_fraction: float = 0.35, aspect: float = 1.4, stroke_width: float = 2.5) -> DigitBox:
    """A digit box with MNIST-typical shape statistics unless told otherwise."""
    return DigitBox((0, 0, 20, 28), 0, np.zeros((28, 28), np.float32), ink_fraction, aspect, stroke_width, 1)


def test_a_typical_digit_passes_every_check():
    assert check_digit(box()) is None


def test_ink_filling_over_three_quarters_of_a_squat_box_is_a_blob():
    assert check_digit(box(ink_fraction=0.74)) is None
    assert "solid blob" in check_digit(box(ink_fraction=0.76)).text
    assert "solid blob" in check_digit(box(ink_fraction=0.9, aspect=2.4)).text
    assert check_digit(box(ink_fraction=0.9, aspect=2.6)) is None  # a thin "1" fills its narrow box


def test_strokes_wider_than_seven_pixels_are_not_pen_strokes():
    assert check_digit(box(stroke_width=6.9)) is None
    assert "not stroke-like" in check_digit(box(stroke_width=7.1)).text


def test_boxes_over_six_point_seven_times_wider_than_tall_are_dashes():
    assert check_digit(box(aspect=0.16)) is None
    assert "line or a dash" in check_digit(box(aspect=0.14)).text


def test_more_than_twenty_four_marks_are_noise_and_refuse_every_box():
    assert check_page([box()] * 24) is None
    assert "too many separate marks (25)" in check_page([box()] * 25).text
    assert input_reasons([box()] * 24) == [None] * 24
    reasons = input_reasons([box(), box(ink_fraction=0.9)] * 13)  # 26 marks: the page's reason wins for every box
    assert all(r == reasons[0] for r in reasons) and "too many separate marks" in reasons[0].text
    assert reasons[0].to_dict() == {"code": "too_many_marks", "marks": 26, "threshold": 24}  # the code and numbers the web app translates
    assert input_reasons([box(), box(stroke_width=8)]) == [None, check_digit(box(stroke_width=8))]


def test_real_outliers_take_their_share_of_the_outlier_batch():
    """``real_outliers`` of the outlier images come from the real bank (here all-white marks), the rest are synthetic."""
    from digitlab.config import make_config
    from digitlab.data import DigitData
    from digitlab.trainer import outlier_batch

    empty = torch.zeros(0, 28, 28, dtype=torch.uint8), torch.zeros(0, dtype=torch.long)
    data = DigitData(*empty, *empty, *empty, 0.13, 0.31, [str(d) for d in range(10)], torch.full((5, 28, 28), 255, dtype=torch.uint8))
    digits = torch.rand(8, 1, 28, 28)
    cfg = make_config({"outlier_exposure": 0.5, "real_outliers": 0.5})
    out = outlier_batch(cfg, data, digits, torch.Generator().manual_seed(0))
    assert out.shape == (8, 1, 28, 28)
    assert [bool((o == 1).all()) for o in out] == [True] * 4 + [False] * 4
    none = outlier_batch(cfg.model_copy(update={"real_outliers": 0.0}), data, digits, torch.Generator().manual_seed(0))
    assert not any(bool((o == 1).all()) for o in none)
