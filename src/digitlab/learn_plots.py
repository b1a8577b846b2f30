"""PNG plots of the learner's experiments: an ablation's accuracy per value, and the learning-rate range test's curve."""

from __future__ import annotations

from pathlib import Path

from .ablate import Grid, value_text
from .ablate_report import Outcome, same, t975
from .lr_find import LrFind


def plot_ablation(grid: Grid, done: list[Outcome], path: Path) -> Path:
    """One panel per factor: every run's validation accuracy (dots), the mean with its 95 % interval, test beside it."""
    from .plots import plt, save_figure

    fig, axes = plt.subplots(1, len(grid.factors), figsize=(4.2 * len(grid.factors) + 1, 4.2), squeeze=False)
    for ax, f in zip(axes[0], grid.factors):
        for x, v in enumerate(f.values):
            mine = [o for o in done if same(grid.cells[o.cell][f.key], v)]
            val = [100 * o.val_acc for o in mine]
            test = [100 * o.test_acc for o in mine if o.test_acc is not None]
            ax.scatter([x - 0.08] * len(val), val, s=16, color="C0", alpha=0.6, label="validation (each run)" if x == 0 else None)
            ax.scatter([x + 0.08] * len(test), test, s=16, color="C1", marker="x", alpha=0.6, label="test (each run)" if x == 0 else None)
            if len(val) > 1:
                m = sum(val) / len(val)
                sd = (sum((a - m) ** 2 for a in val) / (len(val) - 1)) ** 0.5
                half = t975(len(val) - 1) * sd / len(val) ** 0.5
                ax.errorbar([x - 0.2], [m], yerr=[half], fmt="o", color="C0", capsize=4, label="mean, 95 % interval" if x == 0 else None)
        ax.set_xticks(range(len(f.values)), [value_text(v) for v in f.values])
        ax.set_xlim(-0.6, len(f.values) - 0.4)
        ax.set_xlabel(f.key)
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(loc="lower left", fontsize=8)
    lr = ", lr scaled with batch_size" if grid.lr_scaled else ""
    fig.suptitle(f"{len(grid.seeds)} seed(s) per cell{lr}; the verdict reads validation only")
    return save_figure(fig, path)


def plot_lr_find(res: LrFind, path: Path) -> Path:
    """Loss against learning rate (log axis): each step, the smoothed curve, the lowest point and the suggestion."""
    from .plots import plt, save_figure

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.plot(res.lrs, res.losses, color="0.75", lw=0.8, label="loss of each step")
    ax.plot(res.lrs, res.smoothed, color="C0", label="smoothed loss")
    ax.axvline(res.lr_at_min, color="0.4", ls=":", label=f"lowest smoothed loss at {res.lr_at_min:.2g}")
    ax.axvline(res.steepest, color="C2", ls="--", label=f"steepest descent at {res.steepest:.2g}")
    ax.axvline(res.suggestion, color="C1", lw=2, label=f"suggested lr {res.suggestion:.2g}")
    ax.set_xscale("log")
    top = min(max(res.smoothed[: max(len(res.smoothed) // 10, 1)]) * 1.3, max(res.losses))
    ax.set_ylim(min(res.smoothed) * 0.8, top)
    ax.set_xlabel("learning rate (rising exponentially, one value per step)")
    ax.set_ylabel("training loss")
    ax.set_title(f"learning-rate range test: {res.rule}", fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return save_figure(fig, path)
