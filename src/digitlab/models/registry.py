"""Model registry: ``@register_model`` names a factory, ``create_model`` builds it.

Every factory returns a :class:`DigitNet`: input ``(N, 1, 28, 28)`` normalised
pixels, output ``(N, num_classes)`` logits, and ``forward_features`` giving the
penultimate features ``(N, D)`` that rejection detectors use.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import json
import math
import re
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
    summary: str  # one line, English
    summary_zh: str  # the same line in Simplified Chinese (the web app's model list)
    num_params: int | None = None  # documented count at default kwargs (checked by tests)
    kwargs: dict[str, Any] = field(default_factory=dict)  # defaults, from the signature
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)  # (lowest, highest) allowed value per numeric kwarg


_REGISTRY: dict[str, ModelSpec] = {}
CLASSES = (2, 1000)  # bounds of every family's num_classes
MAX_LIST_ITEMS = 16  # a model argument is a scalar or a short list of them
MAX_TEXT = 128  # characters of a text argument (a preset or variant name, a searched structure)
MAX_KWARGS_JSON = 4096  # bytes of all model_kwargs as JSON: a few numbers and names
_NUMERIC = re.compile(r"\b(int|float)\b")  # in a (string) annotation: the argument needs bounds


def register_model(
    name: str, *, paper: str, summary_zh: str, num_params: int | None = None, bounds: dict[str, tuple[float, float]] | None = None
):
    """Register ``factory`` under ``name``; its docstring's first paragraph is the summary, ``summary_zh`` says it in
    Simplified Chinese.

    ``bounds`` gives the (lowest, highest) value of every numeric keyword, checked before a run or job exists, so a
    typo like ``width=10**9`` is refused in a sentence instead of exhausting memory.
    """

    def wrap(factory: Callable[..., DigitNet]) -> Callable[..., DigitNet]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        sig = inspect.signature(factory)
        defaults = {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}
        summary = " ".join((inspect.getdoc(factory) or "").split("\n\n")[0].split())  # a docstring may wrap its first line
        ranges = {"num_classes": CLASSES, **(bounds or {})}
        unbounded = [k for k, p in sig.parameters.items() if _NUMERIC.search(str(p.annotation)) and k not in ranges]
        if unbounded:
            raise ValueError(f"model {name!r} declares no bounds for its numeric argument(s) {unbounded}")
        _REGISTRY[name] = ModelSpec(name, factory, paper, summary, summary_zh, num_params=num_params, kwargs=defaults, bounds=ranges)
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
    """The spec of ``name`` after checking that it takes every keyword in ``kwargs``, each of a sane type, size and range."""
    spec = get_spec(name)
    unknown = set(kwargs) - set(spec.kwargs)
    if unknown:
        raise ModelError(
            f"Model {name!r} has no argument(s) {', '.join(sorted(unknown))}; it takes: {', '.join(sorted(spec.kwargs)) or 'nothing'}."
        )
    for key, value in kwargs.items():
        _check_value(spec, key, value)
    if len(json.dumps(kwargs)) > MAX_KWARGS_JSON:  # cheap now: every value is a scalar or a short list
        raise ModelError(f"The model_kwargs of {name!r} are more than {MAX_KWARGS_JSON:,} bytes as JSON; give a few numbers and names.")
    return spec


def _check_value(spec: ModelSpec, key: str, value: Any) -> None:
    """One model argument: a number in its family's bounds, true/false, short text, or a short list of those."""
    where = f"model_kwargs.{key}"
    if isinstance(value, (list, tuple)) and len(value) > MAX_LIST_ITEMS:
        raise ModelError(f"{where} is a list of {len(value):,} items; a model argument takes at most {MAX_LIST_ITEMS}.")
    for v in value if isinstance(value, (list, tuple)) else [value]:
        if v is not None and not isinstance(v, (bool, int, float, str)):
            raise ModelError(
                f"{where} holds a {type(v).__name__}; a model argument is a number, true/false, a name or a short list of them."
            )
        if isinstance(v, str) and len(v) > MAX_TEXT:
            raise ModelError(f"{where} is a text of {len(v):,} characters; a model argument takes at most {MAX_TEXT}.")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            lo, hi = spec.bounds.get(key, (-math.inf, math.inf))
            if not lo <= v <= hi:  # also False for NaN; compared as Python numbers, so 10**400 cannot overflow
                raise ModelError(f"{where}={_shown(v)} is out of range: model {spec.name!r} takes {key} from {lo} to {hi}.")


def _shown(v: float) -> str:
    """A number for a message; a huge int is not printed in full (Python refuses str() past 4300 digits)."""
    return repr(v) if v != v or abs(v) < 1e12 else ("-1e12 or less" if v < 0 else "1e12 or more")


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


@functools.cache
def default_param_count(name: str) -> int:
    """Trainable parameters of ``name`` at its default arguments: the documented count (tests check it against the
    built model), else counted once on a built model and remembered."""
    spec = get_spec(name)
    return spec.num_params if spec.num_params is not None else count_params(create_model(name))
