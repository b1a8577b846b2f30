"""Quality of generated digits measured in the lab's own feature space (pure functions on tensors).

Inception features mean little on 28x28 digits, so a frozen lab classifier (the "judge") supplies them:
its penultimate features for the Fréchet distance, precision/recall and per-class collapse, and its logits for
the class accuracy of class-conditional samples. Nothing here trains, reads files or prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from .errors import ModelError
from .inference import model_view
from .models import DigitNet

SIDE = 28  # pixels per image side
CHUNK = 1024  # rows per block of pairwise distances: (1024, 10_000) float32 is 40 MB
# A sample this close to another is a near-copy: by definition half of the real samples have their nearest
# neighbour nearer than the median spacing (the scale), but real digits seldom come within a quarter of it.
DUPLICATE_FRACTION = 0.25
COLLAPSE_RATIO = 0.8  # issue 14: no class's share of distinct fakes below 80 % of the real data's


@dataclass(frozen=True)
class ClassDiversity:
    """Share of distinct samples (nearest other sample farther than the class's duplicate radius), real vs fake."""

    digit: int
    real_share: float
    fake_share: float
    ratio: float  # fake_share / real_share (1.0 when the real class has no distinct samples: it sets no bar)
    collapsed: bool  # fake_share < COLLAPSE_RATIO * real_share


@dataclass(frozen=True)
class GenQuality:
    """All quality numbers of one set of generated digits against the real test split."""

    fid: float  # Fréchet distance, generated vs real test features
    fid_floor: float  # the same distance between two real splits (train vs test): the best a generator can hope for
    fid_ratio: float  # fid / fid_floor
    class_acc: float  # the judge's accuracy on the generated digits for their requested class
    precision: float
    recall: float
    classes: list[ClassDiversity]
    collapsed: list[int]  # digits whose generated samples collapsed

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: numbers, lists and one mapping per class."""
        return asdict(self)


def lab_view(judge: DigitNet, mean: float, std: float, images: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate features ``(N, D)`` and logits ``(N, C)`` of ``judge`` on uint8 ``(N, 28, 28)`` or float [0, 1] images.

    Float images may be ``(N, 1, 28, 28)`` (a generator's output) or ``(N, 28, 28)``; ``mean``/``std`` are the judge's
    training normalisation in [0, 1] units, so ``u8`` and ``u8 / 255`` give the same features.
    """
    if len(images) == 0:
        raise ModelError("The judge got no images; generate or load at least one digit.")
    if images.dtype != torch.uint8 and images.dim() == 4 and images.shape[1] == 1:
        images = images[:, 0]  # model_view adds the channel axis itself: (N, 1, 28, 28) -> (N, 28, 28)
    if images.shape[1:] != (SIDE, SIDE):
        raise ModelError(f"The judge takes (N, {SIDE}, {SIDE}) or float (N, 1, {SIDE}, {SIDE}) images, got shape {tuple(images.shape)}.")
    if images.is_floating_point() and (images.min() < 0 or images.max() > 1):
        raise ModelError("Float images must hold pixels in [0, 1]; rescale a generator's [-1, 1] output with (x + 1) / 2.")
    view = model_view(judge, images, mean, std, batch=batch)
    return view.features, view.logits


def _check_pair(a: torch.Tensor, b: torch.Tensor, least: int, what: str) -> None:
    """Both sets are (N, D) with the same D and at least ``least`` rows."""
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ModelError(f"{what} needs two (N, D) feature sets of one width D, got shapes {tuple(a.shape)} and {tuple(b.shape)}.")
    if min(len(a), len(b)) < least:
        raise ModelError(f"{what} needs at least {least} samples in each set, got {len(a)} and {len(b)}.")


def _gaussian(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` of ``x (N, D)`` in float64."""
    x = x.double()
    return x.mean(0), torch.cov(x.T).reshape(x.shape[1], x.shape[1])  # reshape: D = 1 gives a 0-d tensor


def _psd_sqrt(s: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix; rounding's tiny negative eigenvalues become 0."""
    w, v = torch.linalg.eigh((s + s.T) / 2)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to features ``a (N, D)`` and ``b (M, D)`` (FID in the lab's space).

    ``d = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2)`` (Dowson and Landau 1982), in
    float64. ``S_a^1/2 S_b S_a^1/2`` is symmetric PSD and similar to ``S_a S_b``, so its trace root comes from a
    symmetric eigendecomposition instead of scipy's general (and sometimes complex) ``sqrtm``.
    """
    _check_pair(a, b, 2, "The Fréchet distance")
    mu_a, s_a = _gaussian(a)
    mu_b, s_b = _gaussian(b)
    root_a = _psd_sqrt(s_a)
    middle = root_a @ s_b @ root_a
    tr_root = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    d = (mu_a - mu_b).square().sum() + s_a.trace() + s_b.trace() - 2 * tr_root
    return max(d.item(), 0.0)  # rounding can leave -1e-12 for identical sets


def _kth_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance ``(N,)`` from each row of ``x`` to its k-th nearest OTHER row (blocks of CHUNK rows)."""
    out = []
    for i in range(0, len(x), CHUNK):
        d = torch.cdist(x[i : i + CHUNK], x)  # (B, N)
        d[torch.arange(len(d)), torch.arange(i, i + len(d))] = torch.inf  # a sample is not its own neighbour
        out.append(d.topk(k, dim=1, largest=False).values[:, -1])
    return torch.cat(out)


def _covered(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """Share of ``points`` within ``radii[j]`` of some ``centres[j]``: inside the union of the k-NN balls."""
    inside = [(torch.cdist(points[i : i + CHUNK], centres) <= radii).any(1) for i in range(0, len(points), CHUNK)]
    return torch.cat(inside).float().mean()


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for Assessing
    Generative Models", NeurIPS): each set's manifold is the union of balls reaching every sample's k-th neighbour.

    Precision is the share of fake samples inside the real manifold (fidelity); recall the share of real samples
    inside the fake manifold (coverage). Distances are computed in blocks, so 10,000 x 10,000 fits in memory.
    """
    _check_pair(real, fake, k + 1, "Precision and recall")
    real, fake = real.float(), fake.float()
    precision = _covered(fake, real, _kth_radius(real, k))
    recall = _covered(real, fake, _kth_radius(fake, k))
    return precision.item(), recall.item()


def class_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of generated digits that the judge (``logits (N, C)``) reads as their requested class ``labels (N,)``."""
    if len(logits) == 0 or len(logits) != len(labels):
        raise ModelError(f"Class accuracy needs one requested label per logit row, got {len(logits)} rows and {len(labels)} labels.")
    return (logits.argmax(1) == labels).float().mean().item()


def per_class_accuracy(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> list[float]:
    """The judge's accuracy per requested class (0 for a class that was never requested)."""
    if len(logits) != len(labels):
        raise ModelError(f"Class accuracy needs one requested label per logit row, got {len(logits)} rows and {len(labels)} labels.")
    right = torch.bincount(labels[logits.argmax(1) == labels], minlength=num_classes).double()
    asked = torch.bincount(labels, minlength=num_classes).clamp(min=1).double()
    return (right / asked).tolist()


def distinct_share(feats: torch.Tensor, scale: float) -> float:
    """Share of samples whose nearest OTHER sample is farther than ``DUPLICATE_FRACTION * scale``."""
    if feats.dim() != 2 or len(feats) < 2:
        raise ModelError(f"Counting distinct samples needs an (N, D) set of at least 2 samples, got shape {tuple(feats.shape)}.")
    return (_kth_radius(feats.float(), 1) > DUPLICATE_FRACTION * scale).float().mean().item()


def _class_diversity(digit: int, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator) -> ClassDiversity:
    """Distinct shares of one class, on equal numbers of real and fake samples (the larger set subsampled)."""
    n = min(len(real), len(fake))
    if n < 2:
        raise ModelError(f"Digit {digit} has {len(real)} real and {len(fake)} generated samples; collapse needs at least 2 of each.")
    real = real[torch.randperm(len(real), generator=gen)[:n]]
    fake = fake[torch.randperm(len(fake), generator=gen)[:n]]
    scale = _kth_radius(real.float(), 1).median().item()
    real_share, fake_share = distinct_share(real, scale), distinct_share(fake, scale)
    ratio = fake_share / real_share if real_share > 0 else 1.0
    return ClassDiversity(digit, real_share, fake_share, ratio, fake_share < COLLAPSE_RATIO * real_share)


def collapse_report(
    real_feats: torch.Tensor,
    real_labels: torch.Tensor,
    fake_feats: torch.Tensor,
    fake_labels: torch.Tensor,
    num_classes: int,
    seed: int = 0,
) -> list[ClassDiversity]:
    """Per-class mode collapse: the share of distinct generated samples against the real class's.

    Each class's duplicate radius is ``DUPLICATE_FRACTION`` times the median nearest-neighbour distance among its real
    samples. Nearest-neighbour distances shrink as a set grows, so real and fake are compared at the same count: the
    larger of the two is subsampled (seeded by ``seed``) to the smaller's size.
    """
    _check_pair(real_feats, fake_feats, 2, "The collapse report")
    gen = torch.Generator().manual_seed(seed)
    return [_class_diversity(c, real_feats[real_labels == c], fake_feats[fake_labels == c], gen) for c in range(num_classes)]


def quality(
    real_feats: torch.Tensor,
    real_labels: torch.Tensor,
    fake_feats: torch.Tensor,
    fake_logits: torch.Tensor,
    fake_labels: torch.Tensor,
    floor_feats: torch.Tensor,
) -> GenQuality:
    """Every number of :class:`GenQuality`; ``real_*`` is the test split, ``floor_feats`` another real split (train).

    Collapse is judged for each of the judge's ``C`` classes (``fake_logits (N, C)``), so each needs 2+ real and fake samples.
    """
    fid, floor = frechet_distance(fake_feats, real_feats), frechet_distance(floor_feats, real_feats)
    if floor == 0 or torch.equal(floor_feats, real_feats):
        raise ModelError("The FID floor is 0, so floor_feats and real_feats are one set; give two real splits (e.g. train and test).")
    precision, recall = precision_recall(real_feats, fake_feats)
    classes = collapse_report(real_feats, real_labels, fake_feats, fake_labels, fake_logits.shape[1])
    collapsed = [c.digit for c in classes if c.collapsed]
    return GenQuality(fid, floor, fid / floor, class_accuracy(fake_logits, fake_labels), precision, recall, classes, collapsed)
