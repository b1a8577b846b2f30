"""Detector base class and registry."""

from __future__ import annotations

from typing import Any

import torch

from ...errors import ModelError
from ...inference import ModelView


class Detector:
    """Scores inputs; higher = more digit-like. Its fitted state is a dict of tensors (checkpoint-safe)."""

    name = "base"

    def fit(self, view: ModelView) -> None:
        """Learn statistics from in-distribution training outputs (nothing to learn by default)."""

    def score(self, view: ModelView) -> torch.Tensor:  # (N,)
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``fit`` learned."""


DETECTORS: dict[str, type[Detector]] = {}


def register_detector(cls: type[Detector]) -> type[Detector]:
    DETECTORS[cls.name] = cls
    return cls


def create_detector(name: str) -> Detector:
    if name not in DETECTORS:
        raise ModelError(f"Unknown rejection detector {name!r}; known: {', '.join(sorted(DETECTORS))}.")
    return DETECTORS[name]()
