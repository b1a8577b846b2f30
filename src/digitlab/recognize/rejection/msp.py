"""Maximum softmax probability (Hendrycks & Gimpel 2017, "A baseline for detecting misclassified and OOD examples")."""

from __future__ import annotations

import torch

from .base import Detector, ModelView, register_detector


@register_detector
class MaxSoftmax(Detector):
    name = "msp"

    def score(self, view: ModelView) -> torch.Tensor:
        return view.logits.float().softmax(1).amax(1)
