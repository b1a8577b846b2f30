"""Layer table and compute estimate for any registered model.

``summarize`` runs one forward pass with hooks and lists the "units" of the
model: modules with no children, or modules that hold parameters of their own
(``nn.LSTM``, ``nn.MultiheadAttention``), which are listed whole because their
children (e.g. the attention's ``out_proj``) are not called as modules.
Every parameter belongs to exactly one unit, so the rows' params sum to
``count_params`` for any model whose modules all run in ``forward``.

``count_flops`` is an estimate: the multiply-accumulates (MACs) per image of
convolutions, linear layers, recurrent layers and attention. Normalisation,
activations, pooling and element-wise ops are not counted (they are a few
percent of the total for these nets).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

DIGIT_SHAPE = (1, 1, 28, 28)
GATES = {"LSTM": 4, "GRU": 3}  # weight blocks per recurrent cell; plain RNN has 1


@dataclass(frozen=True)
class LayerRow:
    """One unit of the model: dotted name, class name, output shape, trainable params."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int


def first_tensor(out: Any) -> torch.Tensor | None:
    """The first tensor in a module output (LSTM and attention return tuples)."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for item in out:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def units(module: nn.Module, prefix: str = "") -> Iterator[tuple[str, nn.Module]]:
    """Leaf modules and modules with direct parameters, not descending into the latter."""
    children = list(module.named_children())
    if not children or any(True for _ in module.parameters(recurse=False)):
        yield prefix or type(module).__name__, module
        return
    for name, child in children:
        yield from units(child, f"{prefix}.{name}" if prefix else name)


@contextmanager
def _hooked(model: nn.Module, targets: list[tuple[str, nn.Module]], hook: Callable) -> Iterator[None]:
    """Attach ``hook(name, module, inputs, output)`` to ``targets``; eval mode, grad on, restored after.

    Grad stays enabled so Transformer layers take their ordinary (hookable) path
    rather than the fused inference kernel, which bypasses their submodules.
    """
    handles = [m.register_forward_hook(lambda mod, i, o, n=n: hook(n, mod, i, o)) for n, m in targets]
    modes = {m: m.training for m in model.modules()}  # per module: a model may mix train and eval parts
    model.eval()  # BatchNorm cannot use batch statistics on a single image
    try:
        with torch.enable_grad():
            yield
    finally:
        for m, training in modes.items():
            m.training = training
        for h in handles:
            h.remove()


def _probe(model: nn.Module, input_shape: tuple[int, ...]) -> torch.Tensor:
    """A zero input batch on the model's device."""
    p = next(model.parameters(), None)
    return torch.zeros(input_shape, device=p.device if p is not None else "cpu")


def summarize(model: nn.Module, input_shape: tuple[int, ...] = DIGIT_SHAPE) -> list[LayerRow]:
    """Rows in execution order for each unit call in one forward pass."""
    rows: list[LayerRow] = []
    seen: set[nn.Module] = set()

    def hook(name: str, mod: nn.Module, _inputs: Any, out: Any) -> None:
        t = first_tensor(out)
        # a module called twice (weight sharing) gets its parameters counted once
        params = 0 if mod in seen else sum(p.numel() for p in mod.parameters() if p.requires_grad)
        seen.add(mod)
        rows.append(LayerRow(name, type(mod).__name__, tuple(t.shape) if t is not None else (), params))

    with _hooked(model, list(units(model)), hook):
        model(_probe(model, input_shape))
    return rows


CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _conv_macs(m: nn.Conv1d | nn.Conv2d | nn.Conv3d, out: torch.Tensor) -> int:
    """Each output value needs (C_in / groups) * prod(kernel) MACs."""
    return out.numel() * (m.in_channels // m.groups) * math.prod(m.kernel_size)


def _linear_macs(m: nn.Linear, out: torch.Tensor) -> int:
    return out.numel() * m.in_features  # each output value is one dot product


def _recurrent_macs(m: nn.RNNBase, out: torch.Tensor) -> int:
    """Per step, each layer and direction does gates * (input + hidden) * hidden MACs."""
    batch, steps = out.shape[:2] if m.batch_first else out.shape[1::-1]
    dirs = 2 if m.bidirectional else 1
    per_step = 0
    for layer in range(m.num_layers):
        inputs = m.input_size if layer == 0 else m.hidden_size * dirs
        per_step += dirs * GATES.get(m.mode, 1) * (inputs + m.hidden_size) * m.hidden_size
    return batch * steps * per_step


def _attention_macs(m: nn.MultiheadAttention, inputs: tuple[Any, ...]) -> int:
    """q/k/v and output projections plus the two (L_q x L_k x E) products QK^T and AV."""
    q, k = inputs[0], inputs[1]  # (N, L, E) if batch_first else (L, N, E)
    (batch, lq), lk = (q.shape[:2], k.shape[1]) if m.batch_first else (q.shape[1::-1], k.shape[0])
    e = m.embed_dim
    per_seq = lq * e * e + lk * e * (m.kdim + m.vdim) + 2 * lq * lk * e + lq * e * e
    return batch * per_seq


def count_flops(model: nn.Module, input_shape: tuple[int, ...] = DIGIT_SHAPE) -> int:
    """Estimated multiply-accumulates per image of conv, linear, recurrent and attention layers."""
    total = 0

    def hook(_name: str, mod: nn.Module, inputs: Any, out: Any) -> None:
        nonlocal total
        t = first_tensor(out)
        if isinstance(mod, CONVS):
            total += _conv_macs(mod, t)
        elif isinstance(mod, nn.Linear):
            total += _linear_macs(mod, t)
        elif isinstance(mod, nn.RNNBase):
            total += _recurrent_macs(mod, t)
        elif isinstance(mod, nn.MultiheadAttention):
            total += _attention_macs(mod, inputs)

    with _hooked(model, list(model.named_modules()), hook):
        model(_probe(model, input_shape))
    return total // input_shape[0]  # the hooks counted the whole batch
