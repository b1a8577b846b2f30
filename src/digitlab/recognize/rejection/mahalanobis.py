"""Class-conditional Mahalanobis distance with a shared covariance (Lee et al. 2018, "A simple unified framework
for detecting out-of-distribution samples and adversarial attacks"), on penultimate features."""

from __future__ import annotations

from typing import Any

import torch

from .base import Detector, ModelView, register_detector


@register_detector
class Mahalanobis(Detector):
    name = "mahalanobis"

    def __init__(self) -> None:
        self.means = torch.empty(0)  # (C, D)
        self.precision = torch.empty(0)  # (D, D)

    def fit(self, view: ModelView) -> None:
        f, y = view.features.double(), view.labels
        if y is None:
            raise ValueError("Mahalanobis needs labelled training features")
        classes = int(y.max()) + 1
        self.means = torch.stack([f[y == c].mean(0) for c in range(classes)])
        centred = f - self.means[y]
        cov = centred.T @ centred / len(f)
        cov += torch.eye(cov.shape[0], dtype=cov.dtype) * 1e-6 * cov.diagonal().mean()  # ridge: ReLU features are rank-deficient
        self.precision = torch.linalg.inv(cov)
        self.means, self.precision = self.means.float(), self.precision.float()

    def score(self, view: ModelView) -> torch.Tensor:
        d = view.features.float().unsqueeze(1) - self.means.unsqueeze(0)  # (N, C, D)
        dist = torch.einsum("ncd,de,nce->nc", d, self.precision, d)  # squared distances (N, C)
        return -dist.amin(1)

    def state_dict(self) -> dict[str, Any]:
        return {"means": self.means, "precision": self.precision}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.means, self.precision = state["means"], state["precision"]
