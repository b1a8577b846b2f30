"""Using a trained network (a leaf: no training code): input layout, normalisation, batched evaluation, the features view.

The training loop and the predictor both import this module, so the numbers a run reports and the answers the
predictor gives come from the same preprocessing of the same tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import FIELDS
from .models import DigitNet

EVAL_BATCH: int = FIELDS["eval_batch_size"].default  # images per evaluation step, the config's default (its meaning is there)


@dataclass
class ModelView:
    """What a detector sees of a batch: penultimate ``features (N, D)`` and ``logits (N, C)``; labels when fitting."""

    features: torch.Tensor
    logits: torch.Tensor
    labels: torch.Tensor | None = None


@dataclass
class Evaluation:
    """Mean cross-entropy, accuracy and the predicted class of every image."""

    loss: float
    acc: float
    pred: torch.Tensor  # (N,) int64


def normalise(x_u8: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 ``(N, 28, 28)`` -> float ``(N, 1, 28, 28)`` with the training split's mean/std."""
    return x_u8.unsqueeze(1).float().mul_(1 / (255 * std)).sub_(mean / std)


def layout(model: torch.nn.Module) -> torch.memory_format:
    """channels_last for convolutional nets: oneDNN's CPU convolutions run about 2x faster in it."""
    has_conv = any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    return torch.channels_last if has_conv else torch.contiguous_format


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, x_u8: torch.Tensor, y: torch.Tensor, mean: float, std: float, batch_size: int = EVAL_BATCH
) -> Evaluation:
    """Loss, accuracy and predictions of ``model`` on uint8 images; returns numbers, prints nothing."""
    was_training = model.training
    model.eval()
    loss_sum, preds, fmt = 0.0, [], layout(model)
    for i in range(0, len(x_u8), batch_size):
        logits = model(normalise(x_u8[i : i + batch_size], mean, std).contiguous(memory_format=fmt))
        loss_sum += F.cross_entropy(logits, y[i : i + batch_size], reduction="sum").item()
        preds.append(logits.argmax(1))
    model.train(was_training)
    pred = torch.cat(preds) if preds else torch.empty(0, dtype=torch.long)
    n = max(len(y), 1)
    return Evaluation(loss_sum / n, (pred == y).float().sum().item() / n, pred)


@torch.no_grad()
def model_view(
    model: DigitNet, x: torch.Tensor, mean: float, std: float, labels: torch.Tensor | None = None, batch: int = EVAL_BATCH
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
