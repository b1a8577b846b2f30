"""Model zoo: a registry of digit classifiers, one file per family."""

from .registry import DigitNet, count_params, create_model, default_param_count, get_spec, list_models, register_model
from .summary import LayerRow, count_flops, summarize

__all__ = [
    "DigitNet",
    "LayerRow",
    "count_flops",
    "count_params",
    "create_model",
    "default_param_count",
    "get_spec",
    "list_models",
    "register_model",
    "summarize",
]
