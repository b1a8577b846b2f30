"""One digit through a network: every layer's output (with its shape), the first layer's filters, the saliency maps.

Layers are the model's units (``models.summary.units``: leaf modules, and modules holding parameters of their own
such as an LSTM), in the order the forward pass calls them, captured with forward hooks. Each hook hands the next
layer a copy of the output, so an in-place ReLU later on cannot change what was captured (nor the tensor Grad-CAM
differentiates). The network is copied first: the caller's model (shared by the server's threads) never carries a hook.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..models import DigitNet
from ..models.summary import first_tensor, units
from .saliency import STEPS, GradCam, IntegratedGradients, grad_cam, integrated_gradients

MAPS = 8  # channel maps kept per layer: the most active ones
MAX_FILTERS = 64  # first-layer filters kept
PIXELS = 28 * 28


@dataclass(frozen=True)
class LayerView:
    """One layer's output: its name, type and shape; for a spatial output, its most active channels."""

    name: str  # dotted module name, e.g. "features.4"
    type: str  # class name, e.g. "Flatten"
    shape: tuple[int, ...]  # e.g. (1, 32, 13, 13), or (1, 576) before the fully connected layer
    channels: tuple[int, ...] = ()  # indices of the channels in ``maps``, most active first
    maps: np.ndarray | None = None  # (k, H, W) float32: those channels' outputs

    @property
    def shape_text(self) -> str:
        return "[" + ", ".join(map(str, self.shape)) + "]"


@dataclass(frozen=True)
class Filters:
    """The weights of the first layer that reads the picture, one image per output unit."""

    layer: str
    type: str  # "Conv2d" or "Linear"
    shape: tuple[int, ...]  # the weight's shape, e.g. (32, 1, 3, 3) or (800, 784)
    images: np.ndarray  # (K, kh, kw) float32, signed; a Linear's rows as (K, 28, 28); K <= MAX_FILTERS


@dataclass(frozen=True)
class Inside:
    """What the network did with one digit."""

    digit: np.ndarray  # (28, 28) float32 in [0, 1], ink = 1: the picture the network saw
    classes: list[str]
    probs: np.ndarray  # (C,) float32 softmax
    predicted: int
    layers: list[LayerView]
    filters: Filters | None  # None when no conv/linear layer reads the picture directly (e.g. an LSTM reads rows)
    integrated: IntegratedGradients
    gradcam: GradCam | None  # None without a convolution with a spatial output

    @property
    def label(self) -> str:
        return self.classes[self.predicted]


def look_inside(model: DigitNet, x: torch.Tensor, blank: float, classes: list[str], digit: np.ndarray, steps: int = STEPS) -> Inside:
    """Look inside ``model`` on ``x`` ``(1, 1, 28, 28)``, normalised; ``blank``: a pixel without ink, normalised."""
    net = copy.deepcopy(model).eval().requires_grad_(False)  # gradients flow to the picture only
    x = x.detach().float().contiguous()
    run = _forward(net, x)
    probs = run.logits.detach().softmax(1)[0]
    k = int(probs.argmax())
    return Inside(
        np.asarray(digit, np.float32),
        list(classes),
        probs.numpy().astype(np.float32),
        k,
        [_view(name, mod, out) for name, mod, out in run.captured],
        _filters(run.captured),
        integrated_gradients(net, x.detach(), blank, k, steps),
        _cam(run, run.logits[0, k]),
    )


Captured = list[tuple[str, nn.Module, torch.Tensor]]


@dataclass
class Pass:
    """One forward pass: each unit's output in call order, the last feature map (entering the layer that ends the
    spatial part: a global pool, a flatten), and the logits."""

    captured: Captured
    last_map: tuple[str, torch.Tensor] | None  # (the layer it enters, the map)
    logits: torch.Tensor


def _spatial(t: Any) -> bool:
    return isinstance(t, torch.Tensor) and t.dim() == 4 and t.shape[2] * t.shape[3] > 1


def _forward(net: nn.Module, x: torch.Tensor) -> Pass:
    """One forward pass with grad (Transformer layers then take their hookable path), recorded by hooks."""
    captured: Captured = []
    last_map: list[tuple[str, torch.Tensor]] = []

    def hook(name: str, mod: nn.Module, inputs: Any, out: Any) -> Any:
        t = first_tensor(out)
        if t is not None:
            captured.append((name, mod, t))
        if not last_map and inputs and _spatial(inputs[0]) and not _spatial(t):
            last_map.append((name, inputs[0]))  # the map entering the layer that collapses it
        return out.clone() if isinstance(out, torch.Tensor) else None  # the next layer works on a copy

    handles = [m.register_forward_hook(lambda mod, i, o, n=n: hook(n, mod, i, o)) for n, m in units(net)]
    try:
        with torch.enable_grad():
            logits = net(x.requires_grad_(True))  # grad w.r.t. the picture: the graph Grad-CAM needs
    finally:
        for h in handles:
            h.remove()
    return Pass(captured, last_map[0] if last_map else None, logits)


def _view(name: str, mod: nn.Module, out: torch.Tensor) -> LayerView:
    """The layer's record; for (1, C, H, W) outputs larger than one pixel, its MAPS most active channels."""
    shape = tuple(out.shape)
    if not _spatial(out):
        return LayerView(name, type(mod).__name__, shape)
    a = out.detach()[0].float()  # (C, H, W)
    top = a.mean(dim=(1, 2)).argsort(descending=True)[:MAPS]
    return LayerView(name, type(mod).__name__, shape, tuple(top.tolist()), a[top].numpy().astype(np.float32))


def _filters(captured: Captured) -> Filters | None:
    """The first conv/linear layer called, if it reads the picture: a 1-channel conv, or a linear layer on 784 pixels."""
    first = next(((n, m) for n, m, _ in captured if isinstance(m, (nn.Conv2d, nn.Linear))), None)
    if first is None:
        return None
    name, mod = first
    w = mod.weight.detach().float()
    if isinstance(mod, nn.Conv2d) and mod.in_channels == 1:
        images = w[:, 0]  # (out, kh, kw)
    elif isinstance(mod, nn.Linear) and mod.in_features == PIXELS:
        images = w.reshape(-1, 28, 28)  # each hidden unit's weights on the picture
    else:
        return None
    return Filters(name, type(mod).__name__, tuple(w.shape), images[:MAX_FILTERS].numpy().astype(np.float32))


def _cam(run: Pass, logit: torch.Tensor) -> GradCam | None:
    """Grad-CAM on the last feature map (else the last spatial output), for models with a convolution; else None."""
    if not any(isinstance(m, nn.Conv2d) for _, m, _ in run.captured):
        return None
    if run.last_map is not None:
        name, out, entering = *run.last_map, True
    else:
        name, out, entering = *next((n, o) for n, _, o in reversed(run.captured) if _spatial(o)), False
    return grad_cam(out, logit, name, entering) if out.requires_grad else None
