"""Rejection ("not a digit"): detectors that score how digit-like a model's view of an input is.

Convention, stated once: every detector's ``score`` is HIGHER for inputs that
look MORE like the training digits. Detectors are small registered classes
(``fit(view)`` on training outputs, ``score(view)``); nothing elsewhere branches
on their names. ``Rejector`` combines them and holds the calibrated threshold.
"""

from . import disagreement, energy, knn, mahalanobis, msp  # noqa: F401  (register the detectors)
from .base import DETECTORS, Detector, ModelView, create_detector, register_detector
from .combine import Rejector

__all__ = ["DETECTORS", "Detector", "ModelView", "Rejector", "create_detector", "register_detector"]
