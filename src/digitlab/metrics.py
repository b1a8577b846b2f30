"""Classification metrics as pure functions of labels and predictions (no plotting, no models)."""

from __future__ import annotations

import numpy as np
import torch


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, n: int = 10) -> np.ndarray:
    """``(n, n)`` counts: rows are true classes, columns predictions."""
    return np.bincount(y_true.numpy() * n + y_pred.numpy(), minlength=n * n).reshape(n, n)


def per_class_accuracy(cm: np.ndarray) -> list[float]:
    """Share of each true class predicted correctly (0 for a class with no examples)."""
    return (cm.diagonal() / np.maximum(cm.sum(1), 1)).tolist()
