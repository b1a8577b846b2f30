"""Data: IDX reading, locating the files, splits, normalisation and batched augmentation."""

from .dataset import DigitData, data_for, load_digits
from .idx import read_idx

__all__ = ["DigitData", "data_for", "load_digits", "read_idx"]
