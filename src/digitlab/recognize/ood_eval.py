"""``digitlab ood-eval``: how well a model says "not a digit", per out-of-distribution set and per detector.

In-distribution: MNIST test. Outliers: Fashion-MNIST test, Gaussian and uniform
noise, constant and near-blank images, and inverted digits (dark ink on white,
fed without the polarity step). Images go to the model as 28x28 arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import load_checkpoint, model_from_checkpoint
from ..data.dataset import load_raw
from ..errors import CheckpointError
from ..inference import model_view
from .checks import input_reasons
from .ood_metrics import FPR95_DEFINITION, ood_metrics
from .rejection import Rejector
from .segment import segment_digits


def outlier_sets(mnist_test: np.ndarray, data_dir: str | None = None, n: int = 2000, seed: int = 0) -> dict[str, np.ndarray]:
    """Named uint8 ``(N, 28, 28)`` outlier sets."""
    rng = np.random.default_rng(seed)
    fashion, _ = load_raw("fashion-mnist", "t10k", data_dir)
    blank = np.zeros((n, 28, 28), np.uint8)
    for img in blank:  # a few faint specks on an empty page
        k = rng.integers(1, 4)
        img[rng.integers(0, 28, k), rng.integers(0, 28, k)] = rng.integers(30, 256, k)
    u8 = lambda a: np.clip(a * 255, 0, 255).astype(np.uint8)  # noqa: E731
    return {
        "fashion-mnist": fashion,
        "gaussian-noise": u8(rng.normal(0.5, 0.25, (n, 28, 28))),
        "uniform-noise": u8(rng.uniform(0, 1, (n, 28, 28))),
        "constant": np.repeat(rng.integers(0, 256, n, dtype=np.uint8)[:, None, None], 28 * 28, 1).reshape(n, 28, 28),
        "near-blank": blank,
        "inverted-digits": 255 - mnist_test[rng.permutation(len(mnist_test))[:n]],
    }


def input_check_share(images: np.ndarray, n: int = 500) -> float:
    """Share of the first ``n`` images that the input checks alone refuse (no ink, blob, not strokes, too many marks).

    The checks read the ink of a picture, so each 28x28 image goes through segmentation as a picture would.
    """
    refused = 0
    for img in images[:n]:
        boxes = segment_digits(img)
        refused += all(reason is not None for reason in input_reasons(boxes)) if boxes else True
    return refused / max(min(n, len(images)), 1)


def ood_eval(path: Path, data_dir: str | None = None) -> dict[str, Any]:
    """Metrics per set and detector, plus accuracy on accepted digits and the wrongly-rejected share."""
    ckpt = load_checkpoint(path)
    if "rejection" not in ckpt:
        raise CheckpointError(f"{path} has no fitted rejection detectors; it was trained without a validation split.")
    model, rej = model_from_checkpoint(ckpt), Rejector.from_state(ckpt["rejection"])
    mean, std = ckpt["norm"]["mean"], ckpt["norm"]["std"]
    x, y = load_raw("mnist", "t10k", data_dir)
    view_in = model_view(model, torch.from_numpy(x.copy()), mean, std)
    raw_in = rej.scores(view_in)
    comb_in = rej.combined(view_in, raw_in)
    accepted = comb_in >= rej.threshold
    pred = view_in.logits.argmax(1)
    correct = pred == torch.from_numpy(y)
    result: dict[str, Any] = {
        "definition": FPR95_DEFINITION,
        "threshold": rej.threshold,
        "calibrated_tpr": rej.tpr,
        "test_acc": correct.float().mean().item(),
        "accepted_acc": correct[accepted].float().mean().item(),
        "wrongly_rejected": 1 - accepted.float().mean().item(),
        "input_checks_reject": input_check_share(x),
        "sets": {},
    }
    for name, imgs in outlier_sets(x, data_dir).items():
        view = model_view(model, torch.from_numpy(imgs.copy()), mean, std)
        raw = rej.scores(view)
        comb = rej.combined(view, raw)
        per = {d: ood_metrics(raw_in[d].numpy(), raw[d].numpy()) for d in raw}
        per["combined"] = ood_metrics(comb_in.numpy(), comb.numpy())
        result["sets"][name] = {
            "n": len(imgs),
            "accepted_at_threshold": (comb >= rej.threshold).float().mean().item(),
            "input_checks_reject": input_check_share(imgs),
            "detectors": per,
        }
    return result
