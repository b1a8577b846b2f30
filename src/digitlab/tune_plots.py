"""PNG plots of a tuning study: history, parameter importances, parallel coordinates and the Pareto front."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna

from .tune_report import importances, trial_rows
from .tune_storage import TOLERANCE, stored_space

ZOOM_PP = 3.0  # history plots show the best 3 percentage points; lower trials sit on the bottom edge


def write_plots(study: optuna.Study, folder: Path) -> list[Path]:
    """History, importances, parallel coordinates and (several objectives) Pareto front as PNGs in ``folder``."""
    rows = trial_rows(study)
    if not any(r["state"] == "complete" for r in rows):
        return []
    paths = [plot_history(rows, folder / "history.png"), plot_parallel(study, rows, folder / "parallel.png")]
    imp = importances(study)
    if imp:
        paths.append(plot_importances(imp, folder / "importance.png"))
    if len(study.directions) > 1:
        paths.append(plot_pareto(study, folder / "pareto.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    from .plots import save_figure as save  # matplotlib (Agg) only when plotting

    return save(fig, path)


def plot_history(rows: list[dict[str, Any]], path: Path) -> Path:
    """Validation accuracy of each trial and the best so far, against trial number and cumulative training time."""
    from .plots import plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    cum, seconds, best, bests = [], 0.0, -math.inf, []
    for r in rows:
        seconds += r.get("train_seconds") or 0.0
        cum.append(seconds)
        if r["state"] == "complete" and r["val_acc"] is not None:
            best = max(best, r["val_acc"])
        bests.append(100 * best if best > -math.inf else math.nan)
    final = next((b for b in reversed(bests) if b == b), None)  # best val acc (%) of the study; None before a completed trial
    floor, below = _zoom(rows, final)
    for ax, xs, label in ((axes[0], [r["number"] for r in rows], "trial number"), (axes[1], cum, "cumulative training seconds")):
        for state, style in (
            ("complete", dict(color="C0", marker="o")),
            ("pruned", dict(color="0.6", marker="v")),
            ("failed", dict(color="C3", marker="x")),
        ):
            pts = [(x, max(100 * r["val_acc"], floor)) for x, r in zip(xs, rows) if r["state"] == state and r["val_acc"] is not None]
            if pts:
                ax.scatter(*zip(*pts), label=state, s=25, zorder=3, clip_on=False, **style)
        ax.step(xs, bests, where="post", color="C1", label="best so far")
        ax.set(xlabel=label, ylabel="validation accuracy (%)" + (f" ({below} below {floor:.1f} % drawn at the bottom)" if below else ""))
        ax.set_ylim(bottom=floor)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[0].set_title("Optimisation history")
    if final is not None:
        axes[1].axhline(final - 100 * TOLERANCE, color="C2", ls="--", lw=0.8)
        axes[1].set_title("Best - 0.1 pp (dashed): 'fewest trainings' threshold")
    return _save(fig, path)


def _zoom(rows: list[dict[str, Any]], final: float | None) -> tuple[float, int]:
    """Lower y limit (%) showing the last ``ZOOM_PP`` points under the best (``final``, %), so one diverged trial
    cannot flatten the rest; and how many trials fall below it."""
    vals = [100 * r["val_acc"] for r in rows if r["val_acc"] is not None]
    if not vals or final is None:
        return 0.0, 0
    lowest = min(vals)
    if lowest >= final - ZOOM_PP:  # every trial fits: a margin below the lowest, so no point sits on the bottom edge
        return lowest - max(0.05 * (final - lowest), 0.02), 0
    floor = final - ZOOM_PP
    return floor, sum(v < floor for v in vals)


def plot_importances(imp: dict[str, float], path: Path) -> Path:
    """Horizontal bars of fANOVA importance, most important on top."""
    from .plots import plt

    names = list(imp)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.2))
    ax.barh(names, [imp[n] for n in names], color="C0")
    ax.set(xlabel="importance for validation accuracy (fANOVA or PED-ANOVA)", title="Parameter importances")
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def plot_parallel(study: optuna.Study, rows: list[dict[str, Any]], path: Path) -> Path:
    """Parallel coordinates: one axis per parameter (scaled to [0, 1], log where searched on a log scale),
    one line per completed trial coloured by validation accuracy."""
    from .plots import plt

    try:
        params = stored_space(study).params
    except Exception:
        params = []
    kinds = {p.name: p for p in params}
    names = [p.name for p in params] or sorted({k for r in rows for k in r["params"]})
    done = [r for r in rows if r["state"] == "complete"]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(names) + 2), 4.5))
    scale = {n: _axis(n, kinds.get(n), [r["params"].get(n) for r in done]) for n in names}
    accs = [r["val_acc"] for r in done]
    lo, hi = min(accs), max(accs)
    cmap = plt.get_cmap("viridis")
    for r in sorted(done, key=lambda r: r["val_acc"]):
        ys = [scale[n][0](r["params"][n]) if n in r["params"] else math.nan for n in names]
        ax.plot(range(len(names)), ys, color=cmap((r["val_acc"] - lo) / (hi - lo) if hi > lo else 1.0), alpha=0.8, lw=1.2)
    for i, n in enumerate(names):
        ax.axvline(i, color="0.3", lw=0.6)
        for y, text in scale[n][1]:
            ax.annotate(text, (i, y), fontsize=7, xytext=(3, 0), textcoords="offset points", va="center")
    ax.set_xticks(range(len(names)), names, rotation=20, fontsize=8)
    ax.set(yticks=[], ylim=(-0.05, 1.05), title=f"Parallel coordinates (colour: val acc {100 * lo:.2f}% .. {100 * hi:.2f}%)")
    return _save(fig, path)


def _axis(name: str, p: Any, values: list[Any]) -> tuple[Any, list[tuple[float, str]]]:
    """(value -> [0, 1], [(position, label)]) for one parallel-coordinates axis."""
    if p is not None and p.type == "categorical" or any(isinstance(v, (str, bool)) for v in values if v is not None):
        choices = list(p.choices) if p is not None and p.choices else sorted({v for v in values if v is not None}, key=str)
        pos = {c: i / max(len(choices) - 1, 1) for i, c in enumerate(choices)}
        return (lambda v: pos.get(v, math.nan)), [(pos[c], str(c)) for c in choices]
    nums = [v for v in values if v is not None]
    lo, hi = (p.low, p.high) if p is not None else (min(nums, default=0), max(nums, default=1))
    log = p is not None and p.type == "logfloat"
    f = (lambda v: math.log(v)) if log else (lambda v: float(v))
    span = (f(hi) - f(lo)) or 1.0
    return (lambda v: (f(v) - f(lo)) / span), [(0.0, f"{lo:.3g}"), (1.0, f"{hi:.3g}")]


def plot_pareto(study: optuna.Study, path: Path) -> Path:
    """Validation accuracy against each other objective; Pareto-optimal trials joined in red."""
    from .plots import plt

    objectives = study.user_attrs.get("space", {}).get(
        "objectives", ["val_acc"] + [f"objective {i}" for i in range(1, len(study.directions))]
    )
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    front = {t.number for t in study.best_trials}
    fig, axes = plt.subplots(1, len(objectives) - 1, figsize=(6 * (len(objectives) - 1), 4.5), squeeze=False)
    for j, ax in enumerate(axes[0], 1):
        pts = sorted((t.values[j], 100 * t.values[0], t.number in front) for t in done)
        ax.scatter([p[0] for p in pts if not p[2]], [p[1] for p in pts if not p[2]], color="0.6", s=20, label="trials")
        best = [p for p in pts if p[2]]
        ax.plot([p[0] for p in best], [p[1] for p in best], "o-", color="C3", label="Pareto front")
        ax.set(xlabel=objectives[j], ylabel="validation accuracy (%)", title=f"Pareto front: val_acc vs {objectives[j]}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)
