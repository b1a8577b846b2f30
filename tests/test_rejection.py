"""Rejection detectors, their combination and calibration, and the OOD metrics, on controlled synthetic features."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from digitlab.errors import ModelError
from digitlab.recognize.ood_metrics import aupr, auroc, fpr_at_tpr, ood_metrics
from digitlab.recognize.rejection import DETECTORS, ModelView, Rejector, create_detector


def clusters(n: int, shift: float = 0.0, seed: int = 0) -> ModelView:
    """Features of 10 well-separated classes (+ ``shift`` moves them away), logits from a matching linear head."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.eye(10, 32) * 6
    y = torch.randint(0, 10, (n,), generator=g)
    f = (centres[y] + torch.randn(n, 32, generator=g) + shift).relu()
    return ModelView(f, f @ centres.T / 6, y)


ANY_MODEL = sorted(set(DETECTORS) - {"disagreement"})  # disagreement reads an ensemble's members (tests/test_ensemble.py)


def noise_view(n: int, seed: int = 1) -> ModelView:
    g = torch.Generator().manual_seed(seed)
    f = (torch.randn(n, 32, generator=g) * 1.5).relu()  # no class direction, ordinary magnitude
    return ModelView(f, f @ (torch.eye(10, 32) * 6).T / 6)


@pytest.mark.parametrize("name", ANY_MODEL)
def test_each_detector_scores_digits_above_noise(name):
    det = create_detector(name)
    det.fit(clusters(2000))
    s_in, s_out = det.score(clusters(500, seed=3)), det.score(noise_view(500))
    assert s_in.shape == (500,) and torch.isfinite(s_in).all()
    assert auroc(s_in.numpy(), s_out.numpy()) > 0.9  # higher = more digit-like, stated once in the package


@pytest.mark.parametrize("name", ANY_MODEL)
def test_detector_state_survives_a_weights_only_checkpoint(name):
    det = create_detector(name)
    det.fit(clusters(1000))
    buf = io.BytesIO()
    torch.save(det.state_dict(), buf)
    buf.seek(0)
    again = create_detector(name)
    again.load_state_dict(torch.load(buf, weights_only=True))
    view = clusters(50, seed=9)
    assert torch.allclose(det.score(view), again.score(view))


def test_unknown_detector_is_a_clear_error():
    with pytest.raises(ModelError, match="mahalanobis"):
        create_detector("mahalanobi")


def test_rejector_accepts_the_calibrated_share_of_new_in_distribution_data():
    rej = Rejector()
    rej.fit(clusters(3000), clusters(4000, seed=5), tpr=0.95)
    fresh = clusters(4000, seed=11)
    accepted = (rej.combined(fresh) >= rej.threshold).float().mean().item()
    assert 0.92 <= accepted <= 0.98
    assert (rej.combined(noise_view(1000)) >= rej.threshold).float().mean().item() < 0.05


def test_rejector_round_trip_and_far_outliers_keep_their_order():
    rej = Rejector(["mahalanobis"])
    rej.fit(clusters(2000), clusters(2000, seed=2))
    buf = io.BytesIO()
    torch.save(rej.state_dict(), buf)
    buf.seek(0)
    again = Rejector.from_state(torch.load(buf, weights_only=True))
    near, far = clusters(100, shift=2.0, seed=4), clusters(100, shift=8.0, seed=4)
    c_near, c_far = again.combined(near), again.combined(far)
    assert torch.equal(c_near, rej.combined(near))
    assert (c_far < c_near).float().mean() > 0.95  # beyond the reference's minimum the p-value tail still ranks them


def test_metrics_known_values():
    a, b = np.arange(10.0, 20.0), np.arange(0.0, 10.0)
    assert auroc(a, b) == 1.0 and auroc(b, a) == 0.0
    assert auroc(np.ones(5), np.ones(7)) == 0.5  # ties count half
    assert fpr_at_tpr(a, b) == 0.0 and fpr_at_tpr(b, a) == 1.0
    assert aupr(a, b) == 1.0
    m = ood_metrics(np.array([3.0, 2.0, 1.0]), np.array([2.5, 0.0]))
    assert m["auroc"] == pytest.approx(4 / 6)
    assert set(m) == {"auroc", "fpr95", "aupr_in", "aupr_out"}


def test_auroc_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 1, 300).round(1), rng.normal(0, 1, 200).round(1)
    pairwise = ((a[:, None] > b[None]).sum() + 0.5 * (a[:, None] == b[None]).sum()) / (len(a) * len(b))
    assert auroc(a, b) == pytest.approx(pairwise)
