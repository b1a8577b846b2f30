"""Matplotlib figures of runs: curves, confusion matrix, misclassified digits, and comparisons across runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt
import numpy as np
import torch

from .checkpoint import load_checkpoint, model_from_checkpoint
from .config import TrainConfig
from .data import DigitData
from .fsio import atomic_path
from .inference import evaluate
from .metrics import confusion_matrix
from .records import RunFolder, TrainResult

SPLIT_STYLE = {"train": "-", "val": "--", "test": ":"}


def save_figure(fig: plt.Figure, path: Path) -> Path:
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)
    return path


def plot_curves(histories: dict[str, Sequence[dict[str, Any]]], path: Path, splits: Sequence[str] = ("train", "val", "test")) -> Path:
    """Loss and accuracy per epoch, one colour per run, one line style per split."""
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(11, 4))
    for i, (name, hist) in enumerate(histories.items()):
        ep = [h["epoch"] for h in hist]
        for s in splits:
            label = f"{name} {s}" if len(histories) > 1 else s
            kw = {"color": f"C{i}", "linestyle": SPLIT_STYLE[s], "marker": "." if len(ep) < 30 else None}
            ax_l.plot(ep, [h.get(f"{s}_loss") for h in hist], label=label, **kw)
            ax_a.plot(ep, [100 * (h.get(f"{s}_acc") or np.nan) for h in hist], label=label, **kw)
    ax_l.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss", yscale="log")
    ax_a.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (ax_l, ax_a):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_confusion(cm: np.ndarray, classes: Sequence[str], path: Path, title: str = "Test confusion matrix") -> Path:
    fig, ax = plt.subplots(figsize=(6, 5.4))
    ax.imshow(np.log1p(cm), cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v > cm.max() / 3 else "black")
    ax.set(
        xticks=range(len(classes)),
        yticks=range(len(classes)),
        xticklabels=classes,
        yticklabels=classes,
        xlabel="predicted",
        ylabel="true",
        title=title,
    )
    return save_figure(fig, path)


def plot_misclassified(x: torch.Tensor, y: torch.Tensor, pred: torch.Tensor, path: Path, limit: int = 64) -> Path:
    """A grid of wrongly classified images, titled ``true -> predicted``."""
    wrong = torch.nonzero(pred != y).flatten()[:limit]
    cols = 8
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.25), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong.tolist()):
        ax.imshow(x[i].numpy(), cmap="gray")
        ax.set_title(f"{int(y[i])}→{int(pred[i])}", fontsize=8, color="crimson")
    fig.suptitle(f"Misclassified test images (true→predicted), {int((pred != y).sum())} in all", fontsize=9)
    return save_figure(fig, path)


def plot_run(folder: RunFolder, cfg: TrainConfig, data: DigitData, result: TrainResult) -> list[Path]:
    """After-training step: curves, and from ``best.pt`` on the test split the confusion matrix and misclassified digits."""
    if not result.history:
        return []
    out = [plot_curves({folder.name: result.history}, folder.plots / "curves.png")]
    if folder.best.is_file():
        ckpt = load_checkpoint(folder.best)
        r = evaluate(model_from_checkpoint(ckpt), data.test_x, data.test_y, data.mean, data.std)
        cm = confusion_matrix(data.test_y, r.pred, len(data.classes))
        out.append(plot_confusion(cm, data.classes, folder.plots / "confusion.png"))
        out.append(plot_misclassified(data.test_x, data.test_y, r.pred, folder.plots / "misclassified.png"))
    return out
