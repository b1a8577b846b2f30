"""Synthetic phone-like pictures of real MNIST digits, shared by tests and benchmarks.

The photo effects live in the library (``digitlab.data.realworld.photo``, also used by the real-world data sets);
this module re-exports them beside a reader of the repository's MNIST test files.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from digitlab.data.realworld.photo import encode, make_blank, make_page, make_photo, make_strip

__all__ = ["encode", "load_mnist_test", "make_blank", "make_page", "make_photo", "make_strip"]

MNIST_DIR = Path(__file__).resolve().parents[1] / "data" / "mnist"


def load_mnist_test(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """First n MNIST test digits as ((n, 28, 28) uint8, (n,) uint8 labels)."""
    with gzip.open(MNIST_DIR / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(MNIST_DIR / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images[:n], labels[:n]
