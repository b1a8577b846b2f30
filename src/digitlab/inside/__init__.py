"""Look inside a trained network: each layer's output and its shape, the first layer's filters, and saliency maps.

``look_inside`` takes a loaded classifier and one 28x28 digit and returns an :class:`Inside` record; ``render``
turns that record into PNGs (Pillow + numpy, no plotting library) for the CLI (``digitlab inside``) and the web
app's "why?" panel. Using a trained network only: no training code, no matplotlib.
"""

from .picture import Subject, digits_in, open_subject
from .probe import Filters, Inside, LayerView, look_inside
from .saliency import GradCam, IntegratedGradients

__all__ = [
    "Filters",
    "GradCam",
    "Inside",
    "IntegratedGradients",
    "LayerView",
    "Subject",
    "digits_in",
    "look_inside",
    "open_subject",
]
