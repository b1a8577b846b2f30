"""Data: IDX reading, locating the files, splits, normalisation and batched augmentation."""

from .dataset import DigitData, load_digits
from .idx import read_idx

__all__ = ["DigitData", "load_digits", "read_idx"]
