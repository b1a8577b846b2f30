"""Members' disagreement for an ensemble (as in deep ensembles, Lakshminarayanan et al. 2017): minus the mutual
information between the members' predictions, ``H(weighted mean of p_m) - sum_m w_m H(p_m)`` (a weighted
Jensen-Shannon divergence; 0 when all members agree). It reads the members' probabilities ``(M * C)`` that an
ensemble puts at the end of its features (``models/ensemble.py``); ``M`` is the length of its weights."""

from __future__ import annotations

from typing import Any

import torch

from .base import Detector, ModelView, register_detector


def entropy(p: torch.Tensor) -> torch.Tensor:  # (..., C) -> (...), nats
    return -(p * p.clamp_min(1e-12).log()).sum(-1)


@register_detector
class Disagreement(Detector):
    name = "disagreement"

    def __init__(self, weights: torch.Tensor | None = None) -> None:
        self.weights = torch.empty(0) if weights is None else weights.float()  # (M,) the ensemble's member weights

    def score(self, view: ModelView) -> torch.Tensor:
        m, c = len(self.weights), view.logits.shape[1]
        if m == 0:
            raise ValueError("the disagreement detector needs the ensemble's member weights (Disagreement(weights))")
        p = view.features[:, -m * c :].float().reshape(-1, m, c)  # (N, M, C)
        mix = (self.weights[None, :, None] * p).sum(1)  # (N, C)
        return -(entropy(mix) - (self.weights[None] * entropy(p)).sum(1))

    def state_dict(self) -> dict[str, Any]:
        return {"weights": self.weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weights = state["weights"]
