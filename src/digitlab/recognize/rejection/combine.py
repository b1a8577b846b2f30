"""Combining detectors into one calibrated accept/reject decision.

Each detector's score is turned into an in-distribution p-value against held-out
validation digits (the share of real digits scoring lower; the tail beyond the
lowest reference score decays exponentially, so far-out inputs keep ordering).
The combined score is the mean log p-value (Fisher's method up to a constant);
the threshold is the combined score that accepts ``tpr`` of a second, disjoint
half of the validation digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .base import ModelView, create_detector

DEFAULT_DETECTORS = ("msp", "energy", "mahalanobis", "knn")


class Rejector:
    """Fitted detectors + reference score distributions + the calibrated threshold."""

    def __init__(self, detectors: Sequence[str] = DEFAULT_DETECTORS):
        self.detectors = {n: create_detector(n) for n in detectors}
        self.reference: dict[str, torch.Tensor] = {}  # sorted validation scores per detector (n,)
        self.threshold = float("-inf")
        self.tpr = 0.99

    def fit(self, train: ModelView, val: ModelView, tpr: float = 0.99) -> None:
        """Fit on training outputs, build references on one half of ``val``, calibrate on the other half."""
        for d in self.detectors.values():
            d.fit(train)
        half = torch.randperm(len(val.logits), generator=torch.Generator().manual_seed(0))
        ref, cal = _subset(val, half[::2]), _subset(val, half[1::2])
        self.reference = {n: d.score(ref).sort().values for n, d in self.detectors.items()}
        self.calibrate(cal, tpr)

    def calibrate(self, view: ModelView, tpr: float) -> None:
        """Threshold that accepts ``tpr`` of ``view`` (real digits)."""
        self.tpr = tpr
        self.threshold = torch.quantile(self.combined(view).double(), 1 - tpr).item()

    def threshold_at(self, tpr: float) -> float:
        """The threshold accepting ``tpr`` of the stored validation reference (another acceptance rate, no data needed)."""
        return torch.quantile(self.combined(None, self.reference).double(), 1 - tpr).item()

    def log_p(self, name: str, scores: torch.Tensor) -> torch.Tensor:
        """log of the in-distribution p-value of ``scores`` under detector ``name``'s reference (N,)."""
        ref = self.reference[name]
        n = len(ref)
        rank = torch.searchsorted(ref, scores.float().contiguous(), right=True)  # reference scores <= s
        logp = torch.log((rank.double() + 1) / (n + 1))
        spread = (ref[max(n // 10, 1)] - ref[0]).clamp_min(1e-6)  # scale of the lower tail
        below = scores < ref[0]
        logp[below] = torch.log(torch.tensor(1.0 / (n + 1))) - ((ref[0] - scores[below]) / spread).double()
        return logp.float()

    def scores(self, view: ModelView) -> dict[str, torch.Tensor]:
        """Each detector's raw score (higher = more digit-like), (N,) each."""
        return {n: d.score(view) for n, d in self.detectors.items()}

    def combined(self, view: ModelView | None, raw: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Mean log p-value over detectors (N,); higher = more digit-like."""
        if raw is None:
            assert view is not None, "combined() needs a view or raw scores"
            raw = self.scores(view)
        return torch.stack([self.log_p(n, s) for n, s in raw.items()]).mean(0)

    def state_dict(self) -> dict[str, Any]:
        return {
            "detectors": {n: d.state_dict() for n, d in self.detectors.items()},
            "reference": self.reference,
            "threshold": self.threshold,
            "tpr": self.tpr,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Rejector:
        r = cls(list(state["detectors"]))
        for n, d in r.detectors.items():
            d.load_state_dict(state["detectors"][n])
        r.reference, r.threshold, r.tpr = state["reference"], state["threshold"], state["tpr"]
        return r


def _subset(view: ModelView, idx: torch.Tensor) -> ModelView:
    return ModelView(view.features[idx], view.logits[idx], None if view.labels is None else view.labels[idx])
