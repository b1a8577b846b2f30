"""Generator registry: ``@register_generator`` names a factory, ``create_generator`` builds it.

Every factory returns a :class:`Generative`: a class-conditional model of 28x28 digits that turns noise
``(N, latent_dim)`` and labels ``(N,)`` into images ``(N, 1, 28, 28)`` in [0, 1] (background 0, ink 1), and
trains itself one batch at a time with the optimisers the caller made for its :meth:`Generative.parts`.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import ModelError

MAX_CLASSES = 1000  # the classifier registry's upper bound on num_classes


class Generative(nn.Module):
    """A class-conditional model of 28x28 digits."""

    latent_dim: int
    num_classes: int

    def noise(self, n: int, gen: torch.Generator | None = None) -> torch.Tensor:
        """``(n, latent_dim)`` standard normal noise on the model's device; ``gen=None`` draws from the global RNG."""
        device = next(self.parameters()).device
        return torch.randn(n, self.latent_dim, generator=gen, device=device)

    def sample(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 1, 28, 28)`` in [0, 1] for noise ``z`` ``(N, latent_dim)`` and long labels ``y`` ``(N,)``, without a graph."""
        raise NotImplementedError

    def sample_between(self, z: torch.Tensor, y_from: torch.Tensor, y_to: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Images on a walk from digit ``y_from`` to ``y_to`` (long ``(N,)``): the class code ``t`` ``(N,)`` of the way."""
        raise ModelError(f"Generator {type(self).__name__} cannot walk between digits.")

    def parts(self) -> dict[str, nn.Module]:
        """The networks that each get their own optimiser: ``{"g", "d"}`` for a GAN, ``{"g": self}`` otherwise."""
        raise NotImplementedError

    def train_step(self, x: torch.Tensor, y: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        """One update of every part on real images ``x`` ``(B, 1, 28, 28)`` in [0, 1] with labels ``y`` ``(B,)``.

        Noise comes from the global torch RNG (the caller seeds it and saves its state to resume exactly). Returns
        detached 0-d tensors: ``g_loss`` always; GANs add ``d_loss`` and ``d_acc`` (share of real and fake images the
        discriminator sorts correctly), the VAE ``recon`` and ``kl``.
        """
        raise NotImplementedError


@dataclass(frozen=True)
class GeneratorSpec:
    """What the registry knows about one generator family."""

    name: str
    factory: Callable[..., Generative]
    paper: str
    summary: str
    adversarial: bool  # trained as a GAN: parts "g" and "d"
    kwargs: dict[str, Any] = field(default_factory=dict)  # defaults from the signature, num_classes aside
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)  # (lowest, highest) of every numeric argument


_REGISTRY: dict[str, GeneratorSpec] = {}


def register_generator(
    name: str, *, paper: str, adversarial: bool, bounds: dict[str, tuple[float, float]]
) -> Callable[[Callable[..., Generative]], Callable[..., Generative]]:
    """Register ``factory`` under ``name``; its docstring's first line is the summary. ``bounds`` gives the (lowest,
    highest) value of every numeric argument, checked before a run exists (``width=10**9`` is refused in a sentence)."""

    def wrap(factory: Callable[..., Generative]) -> Callable[..., Generative]:
        if name in _REGISTRY:
            raise ValueError(f"generator {name!r} is registered twice")
        params = inspect.signature(factory).parameters
        defaults = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty and k != "num_classes"}
        unbounded = [k for k, v in defaults.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in bounds]
        if unbounded:
            raise ValueError(f"generator {name!r} declares no bounds for its numeric argument(s) {unbounded}")
        summary = (inspect.getdoc(factory) or "").split("\n")[0]
        _REGISTRY[name] = GeneratorSpec(name, factory, paper, summary, adversarial, defaults, dict(bounds))
        return factory

    return wrap


def list_generators() -> list[str]:
    """Names of all registered generators, sorted."""
    return sorted(_REGISTRY)


def generator_spec(name: str) -> GeneratorSpec:
    """The spec of ``name``; an unknown name raises with the closest valid names."""
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise ModelError(f"Unknown generator {name!r}{hint}; the known generators are {', '.join(sorted(_REGISTRY))}.")
    return _REGISTRY[name]


def create_generator(name: str, num_classes: int = 10, **kwargs: Any) -> Generative:
    """Build generator ``name`` for ``num_classes`` labels; unknown names or keyword arguments fail loudly."""
    spec = generator_spec(name)
    unknown = set(kwargs) - set(spec.kwargs)
    if unknown:
        raise ModelError(f"Generator {name!r} has no argument(s) {', '.join(sorted(unknown))}; it takes {', '.join(sorted(spec.kwargs))}.")
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ModelError(f"Generator {name!r} takes num_classes from 1 to {MAX_CLASSES}, not {num_classes}.")
    for key, value in kwargs.items():
        lo, hi = spec.bounds.get(key, (-math.inf, math.inf))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:  # also refuses NaN
            raise ModelError(f"model_kwargs.{key}={value!r} is out of range: generator {name!r} takes {key} from {lo} to {hi}.")
    try:
        return spec.factory(num_classes=num_classes, **kwargs)
    except (TypeError, ValueError, RuntimeError) as err:
        reason = (str(err).splitlines() or [type(err).__name__])[0].rstrip(".")
        raise ModelError(f"Generator {name!r} cannot be built with {kwargs}: {reason}.") from err
