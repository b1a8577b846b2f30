"""Networks that grow while they learn: function-preserving widening and deepening (Net2Net, Chen, Goodfellow & Shlens
2016, "Net2Net: accelerating learning via knowledge transfer").

``widen*F``: every convolution gets F times its channels. Each new channel copies an old one (which one: drawn from a
seeded generator); the layer that reads the copies gets the old channel's outgoing weight split between them in
random positive shares that add up to one. The copies compute the same value, so the sum is unchanged (the function
is preserved), but their outgoing weights differ, so their gradients differ and the copies drift apart (Net2Net adds
noise instead, which changes the function a little). ``deepen``: one more 3x3 convolution after the last one, the
identity at first: its kernel passes each channel through, its BatchNorm undoes its own normalisation and the ReLU
sees the previous ReLU's non-negative output. In training mode a fresh BatchNorm normalises with the batch's own
statistics, so the function is preserved exactly in evaluation mode.

A growth step returns the new model and its model arguments (``cnn`` with a larger ``width`` or ``extra``), so a
checkpoint written after it loads through the registry like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import ModelError
from .registry import DigitNet, create_model

GROWABLE = ("cnn",)
_STEP = re.compile(r"(\d+):(widen\*(\d)|deepen)")


@dataclass(frozen=True)
class GrowStep:
    """After ``epoch`` epochs: ``widen`` by ``factor`` or ``deepen``."""

    epoch: int
    op: str
    factor: int = 1

    def text(self) -> str:
        return f"{self.epoch}:" + (f"widen*{self.factor}" if self.op == "widen" else "deepen")


def parse_grow(text: str, epochs: int, model: str = "cnn") -> list[GrowStep]:
    """``"4:widen*2,8:deepen"`` -> steps in epoch order; each epoch from 1 to ``epochs - 1``, widening by 2 or more,
    one step per epoch, for a family that can grow."""
    if text and model not in GROWABLE:
        raise ModelError(f"Model {model!r} cannot grow; grow works with {', '.join(GROWABLE)}.")
    steps: list[GrowStep] = []
    for part in filter(None, text.split(",")):
        m = _STEP.fullmatch(part.strip())
        if m is None:
            raise ModelError(f"grow step {part!r} is not E:widen*F or E:deepen (e.g. grow=4:widen*2,8:deepen).")
        step = GrowStep(int(m[1]), "widen" if m[3] else "deepen", int(m[3] or 1))
        if not 1 <= step.epoch < epochs:
            raise ModelError(f"grow step {part!r}: a network grows after an epoch from 1 to {epochs - 1} (epochs={epochs}).")
        if step.op == "widen" and step.factor < 2:
            raise ModelError(f"grow step {part!r}: widen by 2 or more.")
        if any(s.epoch == step.epoch for s in steps):
            raise ModelError(f"grow has two steps after epoch {step.epoch}; give one (widen*4 rather than widen*2 twice).")
        steps.append(step)
    return sorted(steps, key=lambda s: s.epoch)


@dataclass(frozen=True)
class ChannelMap:
    """How the channels of a wider layer come from the old one: ``index`` (new,) old channel of each new one;
    ``share`` (new,) the part of that old channel's outgoing weight each copy takes (the copies of one add up to 1)."""

    index: torch.Tensor
    share: torch.Tensor

    @staticmethod
    def identity(n: int) -> ChannelMap:
        return ChannelMap(torch.arange(n), torch.ones(n))

    @staticmethod
    def wider(old: int, new: int, gen: torch.Generator) -> ChannelMap:
        extra = torch.randint(old, (new - old,), generator=gen)  # which old channel each new one copies
        index = torch.cat([torch.arange(old), extra])
        weight = torch.rand(new, generator=gen) + 0.5  # positive shares, no copy starts near zero
        total = torch.zeros(old).index_add_(0, index, weight)
        return ChannelMap(index, weight / total[index])


def _out(t: torch.Tensor, m: ChannelMap) -> torch.Tensor:
    """Rows (output channels) of a parameter or buffer, copied for the new channels."""
    return t[m.index].clone()


def _in(w: torch.Tensor, m: ChannelMap, per_channel: int = 1) -> torch.Tensor:
    """Columns (input channels) of a weight, copied and scaled by their share; ``per_channel`` inputs per channel
    (a flattened ``C x H x W`` map feeds a linear layer with ``H * W`` columns per channel)."""
    w = w.reshape(w.shape[0], -1, per_channel, *w.shape[2:])  # (out, C, per_channel, ...)
    shape = (1, -1, 1) + (1,) * (w.ndim - 3)
    return (w[:, m.index] * m.share.view(shape)).reshape(w.shape[0], -1, *w.shape[3:])


def _copy_block(old: nn.Sequential, new: nn.Sequential, inp: ChannelMap, out: ChannelMap) -> None:
    """conv [-> BN] of a cnn block, its input channels mapped by ``inp`` and its outputs by ``out``."""
    conv_o, conv_n = old[0], new[0]
    conv_n.weight.copy_(_out(_in(conv_o.weight, inp), out))
    if conv_o.bias is not None:
        conv_n.bias.copy_(_out(conv_o.bias, out))
    bn_old = [m for m in old if isinstance(m, nn.BatchNorm2d)]  # after the conv, or after its pool (pool_first)
    bn_new = [m for m in new if isinstance(m, nn.BatchNorm2d)]
    for bo, bn in zip(bn_old, bn_new, strict=True):
        for key in ("weight", "bias", "running_mean", "running_var"):
            getattr(bn, key).copy_(_out(getattr(bo, key), out))
        bn.num_batches_tracked.copy_(bo.num_batches_tracked)


def _conv_blocks(model: DigitNet) -> list[nn.Sequential]:
    return [b for b in model.features if isinstance(b, nn.Sequential)]


@torch.no_grad()
def widen(model: DigitNet, kwargs: dict[str, Any], factor: int, gen: torch.Generator) -> tuple[DigitNet, dict[str, Any]]:
    """A ``cnn`` ``factor`` times wider that computes the same function (see the module's docstring)."""
    new_kwargs = {**kwargs, "width": int(kwargs.get("width", 32)) * factor}
    new = create_model("cnn", **new_kwargs)
    old_blocks, new_blocks = _conv_blocks(model), _conv_blocks(new)
    inp = ChannelMap.identity(1)
    for ob, nb in zip(old_blocks, new_blocks, strict=True):
        out = ChannelMap.wider(ob[0].out_channels, nb[0].out_channels, gen)
        _copy_block(ob, nb, inp, out)
        inp = out
    lin_o, lin_n = model.features[-2], new.features[-2]  # Linear(18w, hidden), after Flatten and Dropout
    lin_n.weight.copy_(_in(lin_o.weight, inp, per_channel=9))  # 3x3 positions per channel
    lin_n.bias.copy_(lin_o.bias)
    new.head.load_state_dict(model.head.state_dict())
    return new.train(model.training), new_kwargs


@torch.no_grad()
def deepen(model: DigitNet, kwargs: dict[str, Any]) -> tuple[DigitNet, dict[str, Any]]:
    """A ``cnn`` with one more 3x3 convolution after its last, the identity at first (in evaluation mode)."""
    new_kwargs = {**kwargs, "extra": int(kwargs.get("extra", 0)) + 1}
    new = create_model("cnn", **new_kwargs)
    missing = new.load_state_dict(_shifted(model.state_dict(), new), strict=False).missing_keys
    block = _conv_blocks(new)[-1]  # the new one
    conv = block[0]
    conv.weight.zero_()
    c, k = conv.out_channels, conv.kernel_size[0] // 2
    conv.weight[torch.arange(c), torch.arange(c), k, k] = 1.0  # each channel passes through its centre tap
    if conv.bias is not None:
        conv.bias.zero_()
    if isinstance(block[1], nn.BatchNorm2d):  # (x - 0) / sqrt(1 + eps) * sqrt(1 + eps) + 0 = x with fresh statistics
        block[1].weight.fill_(float(torch.sqrt(torch.tensor(1.0 + block[1].eps))))
        block[1].bias.zero_()
    assert all(key.startswith(_prefix(new)) for key in missing), missing
    return new.train(model.training), new_kwargs


def _prefix(new: DigitNet) -> str:
    return f"features.{len(_conv_blocks(new)) - 1}."


def _shifted(state: dict[str, torch.Tensor], new: DigitNet) -> dict[str, torch.Tensor]:
    """The old state with the layers after the convolutions moved one index on (the new block takes their place)."""
    last = len(_conv_blocks(new)) - 1  # index of the new block in ``features``
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "features" and int(parts[1]) >= last:
            parts[1] = str(int(parts[1]) + 1)
        out[".".join(parts)] = value
    return out


def grow(model: DigitNet, name: str, kwargs: dict[str, Any], step: GrowStep, seed: int) -> tuple[DigitNet, dict[str, Any]]:
    """Apply ``step`` to ``model`` (registered as ``name`` with ``kwargs``); seeded, so a resumed run grows alike."""
    if step.op == "deepen":
        return deepen(model, kwargs)
    return widen(model, kwargs, step.factor, torch.Generator().manual_seed(seed * 7_919 + step.epoch))
