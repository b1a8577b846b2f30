"""Imports each family module so its ``@register_model`` calls run."""
from . import cnn, fast  # noqa: F401
