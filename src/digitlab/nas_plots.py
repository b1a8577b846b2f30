"""PNG plots of a structure search: the controller's learning curve with the best so far, and the Pareto front of
validation accuracy against parameters (colour: latency)."""

from __future__ import annotations

from pathlib import Path

from .nas_records import Child

WINDOW = 10  # children per point of the moving mean: the searcher's "learning curve"


def write_plots(found: list[Child], folder: Path) -> list[Path]:
    """``learning.png`` and ``pareto.png`` in ``folder`` (nothing before the first finished child)."""
    if not found:
        return []
    return [plot_learning(found, folder / "learning.png"), plot_pareto(found, folder / "pareto.png")]


def plot_learning(found: list[Child], path: Path) -> Path:
    """Each child's proxy validation accuracy, the moving mean of the last WINDOW and the best so far, against children."""
    from .plots import plt, save_figure

    xs = list(range(1, len(found) + 1))
    acc = [100 * c.val_acc for c in found]
    mean = [sum(acc[max(0, i - WINDOW + 1) : i + 1]) / len(acc[max(0, i - WINDOW + 1) : i + 1]) for i in range(len(acc))]
    best = [max(acc[: i + 1]) for i in range(len(acc))]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.scatter(xs, acc, s=14, color="0.6", label="child (proxy val acc)", zorder=2)
    ax.plot(xs, mean, color="C0", label=f"mean of the last {WINDOW}")
    ax.step(xs, best, where="post", color="C1", label="best so far")
    top = max(acc)
    ax.set_ylim(max(min(acc), top - 5), top + 0.3)  # the interesting top 5 points; failures sit below the edge
    ax.set_xlabel("child trainings")
    ax.set_ylabel("validation accuracy after the proxy training (%)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_pareto(found: list[Child], path: Path) -> Path:
    """Validation accuracy against parameters (log scale), coloured by latency; the Pareto-optimal children joined."""
    from .plots import plt, save_figure

    ok = [c for c in found if c.params > 0]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    pts = ax.scatter([c.params for c in ok], [100 * c.val_acc for c in ok], c=[c.latency_ms or 0 for c in ok], s=18, cmap="viridis")
    fig.colorbar(pts, ax=ax, label="latency, one picture (ms)")
    front = pareto(ok)
    ax.plot([c.params for c in front], [100 * c.val_acc for c in front], color="C3", marker="o", label="Pareto front")
    ax.set_xscale("log")
    top = max(100 * c.val_acc for c in ok) if ok else 100
    ax.set_ylim(top - 5, top + 0.3)
    ax.set_xlabel("parameters")
    ax.set_ylabel("proxy validation accuracy (%)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def pareto(found: list[Child]) -> list[Child]:
    """Children no other beats on both accuracy (higher) and parameters (fewer), by parameters."""
    front, best = [], -1.0
    for c in sorted(found, key=lambda c: (c.params, -c.val_acc)):
        if c.val_acc > best:
            front.append(c)
            best = c.val_acc
    return front
