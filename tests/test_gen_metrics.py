"""Quality metrics of generated digits in the lab's feature space: Fréchet distance, precision/recall, collapse, judge."""

from __future__ import annotations

import json
import math

import pytest
import torch

from digitlab.errors import ModelError
from digitlab.gen_metrics import (
    COLLAPSE_RATIO,
    GenQuality,
    class_accuracy,
    collapse_report,
    distinct_share,
    frechet_distance,
    lab_view,
    per_class_accuracy,
    precision_recall,
    quality,
)
from digitlab.models import create_model

torch.set_num_threads(1)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def correlated(n: int, d: int = 8, seed: int = 0) -> torch.Tensor:
    """``(n, d)`` draws of one fixed correlated Gaussian (the mixing matrix is the same for every seed)."""
    mixing = torch.randn(d, d, generator=gen(1234)) / math.sqrt(d)
    return torch.randn(n, d, generator=gen(seed)) @ mixing + 1.0


def with_moments(mu: torch.Tensor, std: torch.Tensor, n: int = 50) -> torch.Tensor:
    """``(n, D)`` samples whose sample mean is exactly ``mu`` and unbiased covariance exactly ``diag(std**2)``."""
    x = torch.randn(n, len(mu), generator=gen(7), dtype=torch.float64)
    x = x - x.mean(0)
    x = x @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(x.T))).T  # whitened: covariance I
    return x * std + mu


def clusters(per_class: int, num_classes: int = 3, d: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of ``num_classes`` well-separated Gaussian clusters, ``per_class`` samples each, and their labels."""
    centres = 10 * torch.randn(num_classes, d, generator=gen(99))
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    return centres[labels] + torch.randn(len(labels), d, generator=gen(seed)), labels


# Fréchet distance


def test_frechet_of_a_set_with_itself_is_zero():
    x = correlated(500)
    assert frechet_distance(x, x) < 1e-6 * torch.cov(x.T.double()).trace().item()


def test_frechet_is_small_for_two_draws_and_large_for_noise_against_structure():
    same = frechet_distance(correlated(2000, seed=1), correlated(2000, seed=2))
    noise = torch.randn(2000, 8, generator=gen(3))
    structured = torch.randn(2000, 2, generator=gen(4)) @ torch.randn(2, 8, generator=gen(5)) + 3  # rank 2, shifted
    far = frechet_distance(noise, structured)
    assert same < 0.1
    assert far > 50 * same and far > 20


def test_frechet_matches_the_closed_form_in_one_dimension():
    a = torch.tensor([[0.0], [2.0]])  # mean 1, variance 2
    b = torch.tensor([[0.0], [6.0]])  # mean 3, variance 18
    assert frechet_distance(a, b) == pytest.approx(2**2 + (math.sqrt(2) - math.sqrt(18)) ** 2, rel=1e-9)  # 12


def test_frechet_matches_the_closed_form_for_diagonal_gaussians():
    mu_a, std_a = torch.tensor([0.0, 1.0, -2.0, 0.5], dtype=torch.float64), torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
    mu_b, std_b = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=torch.float64), torch.tensor([2.0, 1.0, 0.5, 1.0], dtype=torch.float64)
    expected = (mu_a - mu_b).square().sum() + (std_a - std_b).square().sum()  # |dmu|^2 + sum (s_a - s_b)^2
    assert frechet_distance(with_moments(mu_a, std_a), with_moments(mu_b, std_b)) == pytest.approx(expected.item(), rel=1e-9)


# Precision and recall


def test_identical_sets_have_full_precision_and_recall():
    x = correlated(600)
    assert precision_recall(x, x.clone()) == (1.0, 1.0)


def test_far_apart_sets_have_no_precision_or_recall():
    x = correlated(400)
    assert precision_recall(x, correlated(400, seed=1) + 100) == (0.0, 0.0)


def test_a_tight_subset_of_real_has_high_precision_and_low_recall():
    real = correlated(1000)
    fake = real[(real - real.mean(0)).norm(dim=1).argsort()[:150]]  # the 15 % nearest the centre
    precision, recall = precision_recall(real, fake)
    assert precision > 0.95
    assert recall < 0.5


def test_precision_drops_when_half_the_fakes_are_off_the_manifold():
    real, fake = correlated(1000), correlated(1000, seed=1)
    fake[:500] += 50
    precision, recall = precision_recall(real, fake)
    assert 0.4 < precision < 0.55
    assert recall > 0.8


# Collapse


def test_a_generator_of_one_image_is_collapsed_in_every_class():
    real, labels = clusters(100)
    fake = real[:1].expand(len(real), -1).clone()  # the same features for every requested digit
    report = collapse_report(real, labels, fake, labels, 3)
    assert [c.digit for c in report] == [0, 1, 2]
    assert all(c.collapsed and c.fake_share == 0.0 for c in report)
    assert all(c.real_share > 0.9 for c in report)


def test_a_fresh_draw_of_the_real_distribution_is_not_collapsed_even_when_larger():
    real, labels = clusters(100)
    fake, fake_labels = clusters(300, seed=1)  # subsampled to 100 per class before comparing
    report = collapse_report(real, labels, fake, fake_labels, 3)
    assert not any(c.collapsed for c in report)
    assert all(0.9 < c.ratio < 1.1 for c in report)


def test_a_class_half_made_of_copies_is_collapsed_and_the_others_are_not():
    real, labels = clusters(100)
    fake, fake_labels = clusters(100, seed=1)
    fake[100:150] = fake[100]  # digit 1: 50 copies of one sample
    report = collapse_report(real, labels, fake, fake_labels, 3)
    assert [c.collapsed for c in report] == [False, True, False]
    assert report[1].fake_share < COLLAPSE_RATIO * report[1].real_share


def test_distinct_share_counts_samples_with_no_near_copy():
    feats = torch.tensor([[0.0, 0.0], [0.01, 0.0], [5.0, 0.0], [10.0, 0.0]])  # one pair of near-copies
    assert distinct_share(feats, scale=1.0) == 0.5
    assert distinct_share(feats, scale=0.01) == 1.0


# The judge


def test_class_accuracy_on_known_logits():
    logits = torch.tensor([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0]])
    labels = torch.tensor([0, 1, 2, 2])
    assert class_accuracy(logits, labels) == 0.75
    assert per_class_accuracy(logits, labels, 4) == [1.0, 1.0, 0.5, 0.0]


def test_lab_view_gives_the_same_features_for_uint8_and_float_pixels():
    torch.manual_seed(0)
    judge = create_model("lenet5").eval()
    u8 = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8, generator=gen(0))
    feats, logits = lab_view(judge, 0.1307, 0.3081, u8, batch=2)
    assert feats.shape == (5, 84) and logits.shape == (5, 10)
    for floats in (u8.float() / 255, (u8.float() / 255).unsqueeze(1)):
        f, lg = lab_view(judge, 0.1307, 0.3081, floats)
        torch.testing.assert_close(f, feats, rtol=0, atol=1e-5)
        torch.testing.assert_close(lg, logits, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "images",
    [torch.zeros(0, 28, 28, dtype=torch.uint8), torch.zeros(2, 3, 28, 28), torch.zeros(2, 32, 32), torch.full((2, 1, 28, 28), -1.0)],
    ids=["empty", "three-channels", "wrong-size", "minus-one-to-one"],
)
def test_lab_view_refuses_bad_images(images):
    with pytest.raises(ModelError, match="images|pixels"):
        lab_view(create_model("lenet5"), 0.1307, 0.3081, images)


# Bad input and the record


@pytest.mark.parametrize(
    "call",
    [
        lambda: frechet_distance(torch.zeros(0, 4), torch.zeros(5, 4)),
        lambda: frechet_distance(torch.zeros(5, 4), torch.zeros(5, 3)),
        lambda: precision_recall(torch.zeros(5, 4), torch.zeros(0, 4)),
        lambda: precision_recall(torch.zeros(5, 4), torch.zeros(5, 3)),
        lambda: class_accuracy(torch.zeros(0, 10), torch.zeros(0, dtype=torch.long)),
        lambda: class_accuracy(torch.zeros(3, 10), torch.zeros(2, dtype=torch.long)),
        lambda: distinct_share(torch.zeros(1, 4), 1.0),
        lambda: collapse_report(*clusters(5), torch.zeros(4, 16), torch.zeros(4, dtype=torch.long), 3),  # no fakes of 1 and 2
    ],
    ids=["fid-empty", "fid-widths", "pr-empty", "pr-widths", "acc-empty", "acc-lengths", "distinct-one", "collapse-missing-class"],
)
def test_bad_inputs_raise_one_sentence(call):
    with pytest.raises(ModelError) as err:
        call()
    assert str(err.value).count(". ") == 0 and str(err.value).endswith(".")


def test_quality_gathers_every_number_into_a_json_record():
    real, labels = clusters(60)
    floor, _ = clusters(60, seed=1)
    fake = real[:1].expand(len(real), -1).clone()
    logits = torch.nn.functional.one_hot(labels, 3).float()  # the judge reads every fake as its requested digit
    q = quality(real, labels, fake, logits, labels, floor)
    assert isinstance(q, GenQuality)
    assert q.fid > 10 * q.fid_floor > 0 and q.fid_ratio == pytest.approx(q.fid / q.fid_floor)
    assert q.class_acc == 1.0 and q.precision > 0.9 and q.recall < 0.1
    assert q.collapsed == [0, 1, 2]
    out = json.loads(json.dumps(q.to_json()))
    assert out["classes"][1]["digit"] == 1 and out["collapsed"] == [0, 1, 2]
    with pytest.raises(ModelError, match="FID floor"):
        quality(real, labels, fake, logits, labels, real)
