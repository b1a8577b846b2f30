"""Fitting the rejection detectors of a trained model and storing them, calibrated, in its checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from ..data import DigitData
from ..errors import CheckpointError
from ..models import DigitNet
from ..train import layout, normalise
from .rejection import ModelView, Rejector

TRAIN_FIT_IMAGES = 20_000  # training images whose features fit the detectors: enough for a 128-D covariance


@torch.no_grad()
def model_view(
    model: DigitNet, x: torch.Tensor, mean: float, std: float, labels: torch.Tensor | None = None, batch: int = 1000
) -> ModelView:
    """Features and logits of images ``x``: uint8 ``(N, 28, 28)`` or float in [0, 1]."""
    model.eval()
    fmt = layout(model)
    feats, logits = [], []
    for i in range(0, len(x), batch):
        xb = x[i : i + batch]
        xb = normalise(xb, mean, std) if xb.dtype == torch.uint8 else ((xb.float() - mean) / std).unsqueeze(1)
        f = model.forward_features(xb.contiguous(memory_format=fmt))
        feats.append(f)
        logits.append(model.head(f))
    return ModelView(torch.cat(feats), torch.cat(logits), labels)


def fit_rejection(path: Path, data: DigitData, tpr: float = 0.99) -> dict[str, Any]:
    """Fit the detectors on training features, calibrate on validation, and write them into checkpoint ``path``."""
    if len(data.val_y) < 100:
        raise CheckpointError("Calibrating 'not a digit' needs a validation split of at least 100 images (val_size).")
    ckpt = load_checkpoint(path)
    model = model_from_checkpoint(ckpt)
    mean, std = ckpt["norm"]["mean"], ckpt["norm"]["std"]
    pick = torch.randperm(len(data.train_y), generator=torch.Generator().manual_seed(0))[:TRAIN_FIT_IMAGES]
    train_view = model_view(model, data.train_x[pick], mean, std, data.train_y[pick])
    val_view = model_view(model, data.val_x, mean, std, data.val_y)
    rejector = Rejector()
    rejector.fit(train_view, val_view, tpr)
    ckpt["rejection"] = rejector.state_dict()
    save_checkpoint(path, {k: v for k, v in ckpt.items() if k != "format"})
    return {"threshold": rejector.threshold, "tpr": tpr}
