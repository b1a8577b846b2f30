"""Classification metrics as pure functions of labels and predictions (no plotting, no models)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, n: int = 10) -> np.ndarray:
    """``(n, n)`` counts: rows are true classes, columns predictions."""
    return np.bincount(y_true.numpy() * n + y_pred.numpy(), minlength=n * n).reshape(n, n)


def per_class_accuracy(cm: np.ndarray) -> list[float]:
    """Share of each true class predicted correctly (0 for a class with no examples)."""
    return (cm.diagonal() / np.maximum(cm.sum(1), 1)).tolist()


def wilson_interval(correct: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of an accuracy ``correct / n`` (95 % by default): better than +-z*sqrt(p(1-p)/n) near 100 %."""
    if n <= 0:
        return (0.0, 1.0)
    p, z2 = correct / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class McNemar:
    """Paired comparison of two classifiers on the same images: ``only_a`` right only by A, ``only_b`` only by B."""

    only_a: int
    only_b: int
    p_value: float  # exact two-sided: could a fair coin split the disagreements this unevenly?


def mcnemar(correct_a: torch.Tensor, correct_b: torch.Tensor) -> McNemar:
    """McNemar's exact test on two boolean ``(N,)`` correctness vectors over the same images (the binomial test of the
    discordant pairs, as statsmodels' ``mcnemar(exact=True)``), computed in exact integers."""
    b = int((correct_a & ~correct_b).sum())
    c = int((~correct_a & correct_b).sum())
    n = b + c
    if n == 0:
        return McNemar(b, c, 1.0)
    tail = Fraction(sum(math.comb(n, k) for k in range(min(b, c) + 1)), 2**n)
    return McNemar(b, c, float(min(Fraction(1), 2 * tail)))
