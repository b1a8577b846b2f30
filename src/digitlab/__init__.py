"""digitlab: a handwritten-digit lab — train, record, compare, tune and ship digit recognisers.

The Python API (``digitlab.train``, ``digitlab.load``, ``digitlab.runs``, ``digitlab.compare``, ...) lives in
:mod:`digitlab.api`; it is imported on first use, so ``import digitlab.recognize.predictor`` loads no training code.
"""

from __future__ import annotations

from typing import Any

from .version import __version__

API = ("Lab", "Run", "Comparison", "train", "resume", "runs", "load", "predict", "compare")
__all__ = ["__version__", *API]


def __getattr__(name: str) -> Any:
    if name in API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'digitlab' has no attribute {name!r}")
