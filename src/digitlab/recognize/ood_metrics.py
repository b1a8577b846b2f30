"""Out-of-distribution metrics as pure functions ``(scores_in, scores_out) -> numbers`` (higher score = in-distribution)."""

from __future__ import annotations

import numpy as np

FPR95_DEFINITION = (
    "FPR@95: the share of out-of-distribution images accepted when the threshold accepts 95% of "
    "in-distribution (MNIST test) images; lower is better."
)


def auroc(s_in: np.ndarray, s_out: np.ndarray) -> float:
    """Probability that a random in-distribution image scores above a random outlier (ties count half)."""
    s = np.concatenate([s_in, s_out])
    order = s.argsort(kind="mergesort")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    _, inv, counts = np.unique(s, return_inverse=True, return_counts=True)  # average ranks over ties
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / counts)[inv]
    n_in, n_out = len(s_in), len(s_out)
    return float((ranks[:n_in].sum() - n_in * (n_in + 1) / 2) / (n_in * n_out))


def fpr_at_tpr(s_in: np.ndarray, s_out: np.ndarray, tpr: float = 0.95) -> float:
    """Share of outliers accepted at the threshold that accepts ``tpr`` of in-distribution images."""
    thr = np.quantile(s_in, 1 - tpr)
    return float((s_out >= thr).mean())


def aupr(s_pos: np.ndarray, s_neg: np.ndarray) -> float:
    """Area under the precision-recall curve with ``s_pos`` as the positive class (average precision)."""
    s = np.concatenate([s_pos, s_neg])
    y = np.concatenate([np.ones(len(s_pos)), np.zeros(len(s_neg))])
    order = np.argsort(-s, kind="mergesort")
    y = y[order]
    tp = np.cumsum(y)
    precision = tp / np.arange(1, len(y) + 1)
    return float((precision * y).sum() / max(y.sum(), 1))


def ood_metrics(s_in: np.ndarray, s_out: np.ndarray) -> dict[str, float]:
    """AUROC, FPR@95%TPR, AUPR-in (digits positive) and AUPR-out (outliers positive)."""
    s_in, s_out = np.asarray(s_in, float), np.asarray(s_out, float)
    return {"auroc": auroc(s_in, s_out), "fpr95": fpr_at_tpr(s_in, s_out), "aupr_in": aupr(s_in, s_out), "aupr_out": aupr(-s_out, -s_in)}
