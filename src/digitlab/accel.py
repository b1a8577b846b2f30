"""Faster training steps on a CPU (issue 16): bfloat16 matrix products where the CPU computes them natively, and
``torch.compile`` of the model with an eager fallback that says once why it is not used.

Only the training step changes: weights, optimiser state and every evaluation stay float32, so the figures a run
records are those ``digitlab eval`` and the predictor reproduce.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import torch

log = logging.getLogger("digitlab")
_SAID: set[str] = set()  # fallbacks already explained in this process


def bf16_native() -> bool:
    """Whether oneDNN runs bfloat16 natively here (AVX-512 BF16 or AMX); elsewhere it is emulated and slower."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def step_dtype(precision: str) -> torch.dtype | None:
    """The autocast type of the training step for a config's ``precision``; None: plain float32."""
    if precision == "bfloat16" or (precision == "auto" and bf16_native()):
        return torch.bfloat16
    return None


def resolved_precision(precision: str) -> str:
    """``auto`` resolved on this machine (recorded with the run's evidence)."""
    return "float32" if step_dtype(precision) is None else "bfloat16"


@contextlib.contextmanager
def autocast(dtype: torch.dtype | None) -> Iterator[None]:
    """Matrix products (convolutions, linear layers) in ``dtype`` inside; a no-op for None."""
    with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        yield


def cpp_compiler() -> str | None:
    """The C++ compiler torch.compile's Inductor would use on this machine, or None."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        return get_cpp_compiler()
    except Exception:  # Inductor raises its own error types when no compiler is found
        return None


def compiled(model: torch.nn.Module, enabled: bool) -> Callable[..., torch.Tensor]:
    """``model`` compiled by torch.compile when ``enabled`` and a C++ compiler exists; else ``model`` itself, with one
    log line per process saying why. The compiled callable shares the model's parameters (checkpoints stay plain)."""
    if not enabled:
        return model
    if cpp_compiler() is None:
        say_once("no-compiler", "compile=true but no C++ compiler was found for torch.compile (set CXX or install g++): training eagerly")
        return model
    return torch.compile(model)


def say_once(key: str, message: str) -> None:
    if key not in _SAID:
        _SAID.add(key)
        log.warning(message)
