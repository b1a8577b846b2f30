"""The predictor's combined score, the same numbers as :meth:`Rejector.combined` at a fraction of its cost.

A picture holds a few marks, so ``Rejector.log_p`` is all fixed cost: about a dozen torch calls per detector on
tensors of one to twenty-four values. Here the detectors' raw scores still come from the detectors (torch, so they
are bit for bit the reference's), and each log p-value is a table lookup: ``log((rank + 1) / (n + 1))`` for every
possible rank is computed once, with the same torch expression. ``Rejector`` stays the reference that training and
calibration use; ``tests/test_predict_speedpath.py`` checks that the two agree.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import ModelView
from .combine import Rejector


class _Reference:
    """One detector's sorted validation scores and what ``log_p`` derives from them, precomputed."""

    def __init__(self, ref: torch.Tensor):
        n = len(ref)
        self.sorted = ref.float().numpy()  # (n,) ascending
        self.log_rank = torch.log((torch.arange(n + 1).double() + 1) / (n + 1)).numpy()  # (n + 1,) by rank
        self.lowest = self.sorted[0]
        self.spread = (ref[max(n // 10, 1)] - ref[0]).clamp_min(1e-6).numpy()  # float32, scale of the lower tail
        self.floor = float(torch.log(torch.tensor(1.0 / (n + 1))))  # float32 in the reference, widened like it

    def log_p(self, scores: np.ndarray) -> np.ndarray:  # (N,) float32 -> (N,) float32
        logp = self.log_rank[np.searchsorted(self.sorted, scores, side="right")]  # reference scores <= s
        below = scores < self.lowest
        if below.any():  # beyond the lowest reference score: an exponential tail
            logp[below] = self.floor - ((self.lowest - scores[below]) / self.spread).astype(np.float64)
        return logp.astype(np.float32)


class FastCombined:
    """``Rejector.combined(view)`` for a predictor: mean log p-value over the detectors (N,), higher = more digit-like."""

    def __init__(self, rejector: Rejector):
        self.rejector = rejector
        self.references = {n: _Reference(ref) for n, ref in rejector.reference.items()}

    def __call__(self, view: ModelView) -> torch.Tensor:
        raw = self.rejector.scores(view)
        logp = np.stack([self.references[n].log_p(s.float().numpy()) for n, s in raw.items()])  # (detectors, N)
        return torch.from_numpy(logp).mean(0)  # torch's mean, as the reference takes it
