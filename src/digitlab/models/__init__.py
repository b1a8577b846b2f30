"""Model zoo: a registry of digit classifiers, one file per family."""
from .registry import DigitNet, count_params, create_model, get_spec, list_models, register_model

__all__ = ["DigitNet", "count_params", "create_model", "get_spec", "list_models", "register_model"]
