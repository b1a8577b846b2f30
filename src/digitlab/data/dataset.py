"""The whole data set in memory as uint8 tensors, split and normalised from the training split."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from ..fsio import write_atomic
from .idx import read_idx
from .sources import FILES, cache_dir, locate

CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}


@dataclass
class DigitData:
    """Train/val/test images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64, plus pixel statistics."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    mean: float  # of training pixels scaled to [0, 1]
    std: float
    classes: list[str]
    outliers: torch.Tensor | None = None  # (M, 28, 28) uint8 real non-digits for outlier exposure, when a run asks for them
    teacher_logits: torch.Tensor | None = None  # (N, C) float: a distillation teacher's outputs on train_x, when a run has one
    teacher: Callable[[torch.Tensor], torch.Tensor] | None = None  # that teacher: images (B, 1, 28, 28) in [0, 1] -> logits (B, C)
    generated: Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]] | None = (
        None  # (n, rng) -> new digits (n, 1, 28, 28) in [0, 1], labels (n,)
    )


def load_raw(dataset: str, split: str, data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 28, 28)`` uint8 and labels ``(N,)`` of the official ``train`` or ``t10k`` split."""
    names = {f"{kind}": f"{split}-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz" for kind in ("images", "labels")}
    arrays = {k: read_idx(locate(dataset, fn, data_dir), FILES[dataset][fn]) for k, fn in names.items()}
    x, y = arrays["images"], arrays["labels"]
    if x.ndim != 3 or x.shape[1:] != (28, 28) or y.ndim != 1 or len(x) != len(y):
        raise DataError(f"{dataset} {split} files have shapes {x.shape} and {y.shape}; expected (N, 28, 28) images and N labels.")
    return x, y.astype(np.int64)


def stratified_split(labels: np.ndarray, val_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): ``val_size`` images drawn per class in proportion, reproducibly."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.floor(counts / counts.sum() * val_size).astype(int)
    quota[np.argsort(-(counts / counts.sum() * val_size - quota))[: val_size - quota.sum()]] += 1  # largest remainders
    val = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:q] for c, q in zip(classes, quota)])
    mask = np.ones(len(labels), bool)
    mask[val] = False
    return np.flatnonzero(mask), np.sort(val)


def pixel_stats(images: np.ndarray, key: str) -> tuple[float, float]:
    """Mean and std of pixels in [0, 1], cached in the user cache under ``key``."""
    path = cache_dir() / "stats" / f"{key}.json"
    try:
        d = json.loads(path.read_text())
        return float(d["mean"]), float(d["std"])
    except (OSError, ValueError, KeyError):
        pass
    x = images.astype(np.float64) / 255.0
    mean, std = float(x.mean()), float(x.std())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps({"mean": mean, "std": std}))
    except OSError:
        pass  # a read-only cache only costs a recomputation
    return mean, std


def load_digits(
    dataset: str = "mnist", val_size: int = 5000, split_seed: int = 0, train_subset: int = 0, data_dir: str | Path | None = None
) -> DigitData:
    """Load, split and measure ``dataset``; ``train_subset`` > 0 keeps a stratified subset of training images."""
    x, y = load_raw(dataset, "train", data_dir)
    tx, ty = load_raw(dataset, "t10k", data_dir)
    tr, va = stratified_split(y, val_size, split_seed)
    if train_subset and train_subset < len(tr):
        _, keep = stratified_split(y[tr], train_subset, split_seed + 1)
        tr = tr[keep]
    mean, std = pixel_stats(x[tr], f"{dataset}-{hashlib.md5(tr.tobytes()).hexdigest()[:16]}")  # keyed by the exact split
    t = torch.from_numpy
    return DigitData(t(x[tr].copy()), t(y[tr]), t(x[va].copy()), t(y[va]), t(tx.copy()), t(ty), mean, std, CLASS_NAMES[dataset])


def data_for(cfg: Mapping[str, Any], data_dir: str | Path | None = None) -> DigitData:
    """The data a (resolved) config trains on: its dataset, validation split and training subset."""
    return load_digits(cfg["dataset"], cfg["val_size"], cfg["split_seed"], cfg["train_subset"], data_dir)
