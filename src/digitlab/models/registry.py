"""Model registry: ``@register_model`` names a factory, ``create_model`` builds it.

Every factory returns a :class:`DigitNet`: input ``(N, 1, 28, 28)`` normalised
pixels, output ``(N, num_classes)`` logits, and ``forward_features`` giving the
penultimate features ``(N, D)`` that rejection detectors use.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import ModelError


class DigitNet(nn.Module):
    """Base class: ``forward(x) = head(forward_features(x))``."""

    head: nn.Module

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # (N,1,28,28) -> (N,D)
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N,1,28,28) -> (N,C)
        return self.head(self.forward_features(x))


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model family."""

    name: str
    factory: Callable[..., DigitNet]
    paper: str
    summary: str
    num_params: int | None = None  # documented count at default kwargs (checked by tests)
    kwargs: dict[str, Any] = field(default_factory=dict)  # defaults, from the signature


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(name: str, *, paper: str, num_params: int | None = None):
    """Register ``factory`` under ``name``; its docstring's first line is the summary."""

    def wrap(factory: Callable[..., DigitNet]) -> Callable[..., DigitNet]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        sig = inspect.signature(factory)
        defaults = {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}
        summary = (inspect.getdoc(factory) or "").split("\n")[0]
        _REGISTRY[name] = ModelSpec(name, factory, paper, summary, num_params, defaults)
        return factory

    return wrap


def _ensure_loaded() -> None:
    from . import _families  # noqa: F401  (imports every family module once)


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    _ensure_loaded()
    return sorted(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    """The spec of ``name``; an unknown name raises with the closest valid names."""
    _ensure_loaded()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ModelError(f"Unknown model {name!r}.{hint} Known models: {', '.join(sorted(_REGISTRY))}.")
    return _REGISTRY[name]


def check_model_args(name: str, kwargs: dict[str, Any]) -> ModelSpec:
    """The spec of ``name`` after checking that it takes every keyword in ``kwargs``."""
    spec = get_spec(name)
    unknown = set(kwargs) - set(spec.kwargs)
    if unknown:
        raise ModelError(
            f"Model {name!r} has no argument(s) {', '.join(sorted(unknown))}; it takes: {', '.join(sorted(spec.kwargs)) or 'nothing'}."
        )
    return spec


def create_model(name: str, **kwargs: Any) -> DigitNet:
    """Build model ``name``; unknown names or keyword arguments fail loudly."""
    spec = check_model_args(name, kwargs)
    try:
        return spec.factory(**kwargs)
    except (TypeError, ValueError) as err:
        raise ModelError(f"Model {name!r} cannot be built with {kwargs}: {err}") from err


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
