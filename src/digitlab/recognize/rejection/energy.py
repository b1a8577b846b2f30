"""Energy score (Liu et al. 2020, "Energy-based out-of-distribution detection"): logsumexp of the logits."""

from __future__ import annotations

import torch

from .base import Detector, ModelView, register_detector


@register_detector
class Energy(Detector):
    name = "energy"
    temperature = 1.0

    def score(self, view: ModelView) -> torch.Tensor:
        t = self.temperature
        return t * torch.logsumexp(view.logits.float() / t, dim=1)  # = -energy
