"""Adversarial pictures: L-inf attacks in pixel space against any classifier (a leaf: no data, no runs).

Images ``x`` are float ``(N, 1, 28, 28)`` in [0, 1]; the model's own normalisation (``mean``, ``std``) is applied
inside the loss, so ``eps`` is in pixel intensity (0.1 = 10 % of full ink; Madry et al. 2018 use 0.3 on MNIST).
Every result is clamped to [0, 1] and lies within ``eps`` of ``x`` in every pixel.

- FGSM: one signed-gradient step of size ``eps`` (Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing
  Adversarial Examples", arXiv:1412.6572).
- PGD: ``steps`` signed-gradient steps, each projected back onto the eps ball, from a random start in it (Madry,
  Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks",
  arXiv:1706.06083).

The model is attacked in eval mode (BatchNorm on its running statistics, no dropout) and given back as it came: its
training mode and its parameters' ``requires_grad`` are restored, and no gradient is left on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from .errors import ConfigError, ModelError
from .inference import layout

BATCH = 500  # images per forward/backward pass: bounds memory on large requests


@contextmanager
def _frozen(model: torch.nn.Module) -> Iterator[None]:
    """The model in eval mode with frozen parameters (gradients go to the images only); restored on the way out."""
    was_training = model.training
    wanted = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, w in zip(model.parameters(), wanted):
            p.requires_grad_(w)
        model.train(was_training)


def _check(x: torch.Tensor, y: torch.Tensor, eps: float) -> None:
    if not 0.0 <= eps <= 1.0:  # also refuses NaN
        raise ConfigError(f"eps {eps} is outside [0, 1]; it is a pixel intensity (0.1 = 10 % of full ink).")
    if x.dim() != 4 or x.shape[1:] != (1, 28, 28) or len(y) != len(x):
        raise ModelError(f"Attacks take images (N, 1, 28, 28) and N labels; got images {tuple(x.shape)} and {len(y)} labels.")


def _grad_sign(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """sign of d(cross-entropy)/d(pixels) at ``x (n, 1, 28, 28)``: the direction that raises the loss fastest in L-inf."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():  # callers may hold torch.no_grad()
        logits = model(((x - mean) / std).contiguous(memory_format=layout(model)))
        loss = F.cross_entropy(logits, y, reduction="sum")  # a sum: each image's gradient is its own
        (grad,) = torch.autograd.grad(loss, x)
    return grad.sign()


def _project(x_adv: torch.Tensor, x: torch.Tensor, eps: float) -> torch.Tensor:
    """Back into the eps ball around ``x`` and into [0, 1]."""
    return torch.min(torch.max(x_adv, x - eps), x + eps).clamp_(0.0, 1.0)


def fgsm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, mean: float, std: float) -> torch.Tensor:
    """Fast gradient sign method: ``x + eps * sign(grad)``, clamped to [0, 1]; same shape as ``x``, detached.

    It is PGD's first step taken whole from ``x`` itself: one step of size ``eps``, no random start.
    """
    return pgd(model, x, y, eps, mean, std, steps=1, step_size=eps, random_start=False)


def pgd(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    mean: float,
    std: float,
    steps: int = 40,
    step_size: float | None = None,
    random_start: bool = True,
    gen: torch.Generator | None = None,
) -> torch.Tensor:
    """Projected gradient descent on the loss (ascent): ``steps`` signed steps of ``step_size`` (default
    2.5 * eps / steps, as Madry et al.), from a uniform start in the eps ball (drawn from ``gen``); detached."""
    _check(x, y, eps)
    if steps < 1:
        raise ConfigError(f"PGD needs at least one step; got steps={steps}.")
    alpha = 2.5 * eps / steps if step_size is None else step_size
    out = []
    with _frozen(model):
        for i in range(0, len(x), BATCH):
            xb, yb = x[i : i + BATCH].detach(), y[i : i + BATCH]
            x_adv = xb.clone()
            if random_start:  # drawn on the CPU: one generator gives the same start on any device
                x_adv = _project(xb + (torch.rand(xb.shape, generator=gen) * 2 - 1).to(xb) * eps, xb, eps)
            for _ in range(steps):
                x_adv = _project(x_adv + alpha * _grad_sign(model, x_adv, yb, mean, std), xb, eps)
            out.append(x_adv)
    return torch.cat(out) if out else x.detach().clone()


Attack = Callable[..., torch.Tensor]
ATTACKS: dict[str, Attack] = {"fgsm": fgsm, "pgd": pgd}


def get_attack(method: str) -> Attack:
    """The attack named ``method``; an unknown name is refused in one sentence listing the choices."""
    if method not in ATTACKS:
        raise ModelError(f"Unknown attack {method!r}; use one of {', '.join(ATTACKS)}.")
    return ATTACKS[method]


def attack(
    method: str,
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    mean: float,
    std: float,
    *,
    steps: int = 40,
    gen: torch.Generator | None = None,
) -> torch.Tensor:
    """Adversarial images by ``method``; ``steps`` and ``gen`` matter to PGD only (FGSM is one step from ``x``)."""
    fn = get_attack(method)
    return fn(model, x, y, eps, mean, std, steps=steps, gen=gen) if fn is pgd else fn(model, x, y, eps, mean, std)
