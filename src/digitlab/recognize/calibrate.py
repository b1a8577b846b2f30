"""Fitting the rejection detectors of a trained model and storing them, calibrated, in its checkpoint."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from ..config import TrainConfig
from ..data import DigitData
from ..errors import CheckpointError
from ..inference import model_view
from ..records import RunFolder, TrainResult
from .rejection import Rejector

log = logging.getLogger("digitlab")
TRAIN_FIT_IMAGES = 20_000  # training images whose features fit the detectors: enough for a 128-D covariance


def fit_rejection(path: Path, data: DigitData, tpr: float = 0.99, rejector: Rejector | None = None) -> dict[str, Any]:
    """Fit the detectors (``rejector``'s, or the default ones) on training features, calibrate on validation, and
    write them into checkpoint ``path``."""
    if len(data.val_y) < 100:
        raise CheckpointError("Calibrating 'not a digit' needs a validation split of at least 100 images (val_size).")
    ckpt = load_checkpoint(path)
    model = model_from_checkpoint(ckpt)
    mean, std = ckpt["norm"]["mean"], ckpt["norm"]["std"]
    pick = torch.randperm(len(data.train_y), generator=torch.Generator().manual_seed(0))[:TRAIN_FIT_IMAGES]
    train_view = model_view(model, data.train_x[pick], mean, std, data.train_y[pick])
    val_view = model_view(model, data.val_x, mean, std, data.val_y)
    rejector = rejector or Rejector()
    rejector.fit(train_view, val_view, tpr)
    ckpt["rejection"] = rejector.state_dict()
    save_checkpoint(path, {k: v for k, v in ckpt.items() if k != "format"})
    return {"threshold": rejector.threshold, "tpr": tpr}


def calibrate_run(folder: RunFolder, cfg: TrainConfig, data: DigitData, result: TrainResult) -> None:
    """After-training step: calibrate the run's ``best.pt`` (when ``cfg.calibrate`` and a validation split allow it)."""
    if not cfg.calibrate or not folder.best.is_file() or len(data.val_y) < 100:
        return
    cal = fit_rejection(folder.best, data, cfg.reject_tpr)
    log.info("'not a digit' threshold %.3f calibrated to accept %.1f%% of validation digits", cal["threshold"], 100 * cal["tpr"])
