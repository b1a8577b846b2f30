"""Recognise digits in pictures people give: load any image, find the digit(s), make them MNIST-like.

``load_image`` reads a file or bytes as float grey; ``analyse`` / ``to_mnist``
turn a picture of one digit into a 28x28 MNIST-style array plus an ink
report; ``segment_digits`` finds several digits, in reading order.
"""

from .image_io import load_image
from .preprocess import Preprocessed, analyse, to_mnist
from .segment import DigitBox, segment_digits

__all__ = ["DigitBox", "Preprocessed", "analyse", "load_image", "segment_digits", "to_mnist"]
