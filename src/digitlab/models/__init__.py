"""Model zoo: a registry of digit classifiers, one file per family."""

from .registry import DigitNet, count_params, create_model, get_spec, list_models, register_model
from .summary import LayerRow, count_flops, summarize

__all__ = [
    "DigitNet",
    "LayerRow",
    "count_flops",
    "count_params",
    "create_model",
    "get_spec",
    "list_models",
    "register_model",
    "summarize",
]
