"""Handwritten digits photographed: single MNIST digits on paper, and strips of 3-6 digits written as a number.

Which MNIST digits each split draws from: eval the official test set (t10k), val the lab's validation split of the
training set (``stratified_split(labels, 5000, 0)``, the default of every run), train the rest of the training set.
"""

from __future__ import annotations

import numpy as np

from ..dataset import load_raw, stratified_split
from .fonts import rng_for
from .packages import check_split
from .photo import digit_alpha, finish_jpeg, ink, paper, photo_jpeg
from .sample import Sample

PAGE = (240, 320)  # photo size (H, W): the letters' size, so a reader cannot tell digits from letters by it
RULED = 0.2  # share of single-digit photos on ruled paper
STRIP_HEIGHT = (48, 96)  # px: typical digit height in a strip
SOURCE = "mnist"


def pool(split: str) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images (N, 28, 28) uint8 and labels of ``split`` (see the module docstring)."""
    if check_split(split) == "eval":
        return load_raw("mnist", "t10k")
    x, y = load_raw("mnist", "train")
    train, val = stratified_split(y, 5000, 0)
    keep = val if split == "val" else train
    return x[keep], y[keep]


def digit_photos(split: str, n: int = 500, seed: int = 0) -> list[Sample]:
    """``n`` MNIST digits of ``split``, each photographed alone on paper (20 % ruled), labelled."""
    x, y = pool(split)
    order = np.random.default_rng([seed, 1]).permutation(len(x))[:n]
    out = []
    for i in order:
        rng = rng_for(seed, "digit-photo", split, str(i))
        data = photo_jpeg(x[i].astype(np.float32) / 255, rng, PAGE, ruled=bool(rng.random() < RULED))
        out.append(Sample(data, str(y[i]), SOURCE, f"{SOURCE}-{split}", "digit-photo", f"#{i}"))
    return out


def strip_jpeg(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """Digits written left to right as one number: similar heights (+-10 %), the baseline wandering by +-6 % of the height,
    gaps of 10-45 % of the height, on paper with the camera finish -> JPEG bytes."""
    height = int(rng.integers(*STRIP_HEIGHT))
    alphas = [digit_alpha(d, int(height * rng.uniform(0.9, 1.1))) for d in digits]
    gaps = [int(height * rng.uniform(0.1, 0.45)) for _ in alphas[1:]]
    margin = (int(height * rng.uniform(0.4, 1.2)), int(height * rng.uniform(0.4, 1.0)))  # (x, y)
    width = 2 * margin[0] + sum(a.shape[1] for a in alphas) + sum(gaps)
    page = paper((2 * margin[1] + int(height * 1.3), width), rng)
    baseline, x = margin[1] + int(height * 1.15), margin[0]
    for a, gap in zip(alphas, [*gaps, 0]):
        y = baseline - a.shape[0] + int(height * rng.uniform(-0.06, 0.06))
        ink(page, a, max(0, y), x, rng)
        x += a.shape[1] + gap
    return finish_jpeg(page, rng)


def digit_strips(split: str, n: int = 200, seed: int = 0) -> list[Sample]:
    """``n`` strips of 3-6 MNIST digits of ``split``, labelled with the number ("40712")."""
    x, y = pool(split)
    out = []
    for k in range(n):
        rng = rng_for(seed, "digit-strip", split, str(k))
        idx = rng.choice(len(x), int(rng.integers(3, 7)), replace=False)
        label = "".join(str(v) for v in y[idx])
        out.append(Sample(strip_jpeg(list(x[idx]), rng), label, SOURCE, f"{SOURCE}-{split}", "digit-strip", ",".join(f"#{i}" for i in idx)))
    return out
