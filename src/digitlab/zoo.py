"""The model-zoo comparison: every registered model trained with its recipe, measured, tabled and plotted.

Each model's recipe is the preset ``digitlab/presets/zoo/<model>.yaml`` (a normal config file whose
comments give the published reference and the expected time). ``run_zoo``
trains each one as a recorded run (so ``digitlab show <run>`` opens it) and
measures it; ``write_zoo_table`` writes the Markdown table and a PNG of test
accuracy against training time. Quick mode (CI) trains every recipe for one
epoch on 2,000 images: a smoke test of the whole pipeline, not a comparison.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .checkpoint import load_checkpoint, model_from_checkpoint
from .config import TrainConfig, load_config
from .data import DigitData, load_digits
from .errors import ConfigError, RunFailed
from .evidence import git_commit, machine
from .inference import layout, normalise
from .models import count_flops, count_params, create_model, get_spec, list_models
from .presets import preset_dir
from .records import RunFolder
from .runner import run_training
from .steps import after_steps
from .store import RunStore

log = logging.getLogger("digitlab")
RECIPES = preset_dir("zoo")
QUICK = ["train_subset=2000", "val_size=1000", "epochs=1"]  # CI: all ten models in a few minutes
INFER_IMAGES, INFER_BATCH = 2000, 500  # test images timed for the inference rate, images per forward pass
DEFAULT_OUT = Path("docs/model-zoo.md")


@dataclass(frozen=True)
class Reference:
    """What a model's full recipe must reach on MNIST test, and the published figure it is compared with."""

    target: float | None  # test accuracy (fraction); None = no target
    published: str = "—"  # accuracy on MNIST test and its source, or "—"


REFERENCES: dict[str, Reference] = {
    "cnn": Reference(0.995),  # issue 2: the default recipe (benchmarks/train_speed.py)
    "fast": Reference(0.990),  # issue 2: mean over 5 seeds (benchmarks/train_speed.py)
    "mlp": Reference(0.984, "98.4% (1.6% error, 800 hidden units; Simard et al. 2003)"),
    "lenet5": Reference(0.990, "99.05% (0.95% error; LeCun et al. 1998)"),
    "alexnet": Reference(None),
    "vgg16": Reference(0.995),
    "resnet": Reference(0.996),
    "regnet": Reference(0.995),
    "rnn": Reference(0.988, "≈98.6–99% (row-by-row LSTM; common baseline, no single paper)"),
    "vit": Reference(0.985, "≈99.5% (small ViTs, 100+ epochs; no single paper)"),
    "nas": Reference(None),
}
COLUMNS = [
    "model",
    "run",
    "params",
    "MMACs/img",
    "epochs",
    "s/epoch",
    "training",
    "inference img/s",
    "best val",
    "test",
    "target",
    "met",
    "published",
]


def recipe_path(model: str) -> Path:
    """The shipped recipe ``presets/zoo/<model>.yaml`` of a registered model."""
    return RECIPES / f"{get_spec(model).name}.yaml"


def load_recipe(model: str, quick: bool = False, overrides: list[str] | None = None) -> TrainConfig:
    """The model's recipe; quick mode shrinks it to one epoch on 2,000 images; ``overrides`` come last."""
    cfg = load_config(recipe_path(model), [*(QUICK if quick else []), *(overrides or [])])
    if cfg.model != model:
        raise ConfigError(f"Recipe {recipe_path(model)} trains model {cfg.model!r}, not {model!r}.")
    return cfg


ProgressFactory = Callable[[TrainConfig], Any]
"""Makes a context manager per run with ``batch(...)`` (BatchProgress) and optionally ``on_epoch(m)``, e.g. TrainProgress."""


def run_zoo(
    models: list[str] | None,
    quick: bool,
    runs_dir: Path,
    store: RunStore,
    data_dir: str | None = None,
    progress_factory: ProgressFactory | None = None,
    *,
    overrides: list[str] | None = None,
    plots: bool | None = None,
) -> list[dict[str, Any]]:
    """Train and measure each model (all registered ones by default); one row per model.

    Every recipe is loaded before anything trains, so a bad name or recipe fails
    at once. A diverging model gets a ``failed`` row and the zoo goes on; Ctrl-C
    ends the zoo after the interrupted run's row. Plots default to full mode only.
    """
    names = list(dict.fromkeys(models or list_models()))  # keep order, drop repeats
    cfgs = [load_recipe(m, quick, overrides) for m in names]
    plots = not quick if plots is None else plots
    rows: list[dict[str, Any]] = []
    cache: dict[tuple[Any, ...], DigitData] = {}
    for i, cfg in enumerate(cfgs, 1):
        log.info("zoo %d/%d: %s, %d epoch(s), recipe %s", i, len(cfgs), cfg.model, cfg.epochs, recipe_path(cfg.model))
        key = (cfg.dataset, cfg.val_size, cfg.split_seed, cfg.train_subset)
        if key not in cache:  # every full recipe shares one split: load it once
            cache[key] = load_digits(*key, data_dir=data_dir)
        rows.append(_zoo_run(cfg, quick, runs_dir, store, cache[key], progress_factory, plots))
        if rows[-1]["status"] == "interrupted":
            break
    return rows


def _zoo_run(
    cfg: TrainConfig, quick: bool, runs_dir: Path, store: RunStore, data: DigitData, progress_factory: ProgressFactory | None, plots: bool
) -> dict[str, Any]:
    """One recorded run and its row."""
    bar = progress_factory(cfg) if progress_factory else None
    hooks = [bar.on_epoch] if bar is not None and hasattr(bar, "on_epoch") else []
    t0 = time.perf_counter()
    try:
        with bar if bar is not None else contextlib.nullcontext():
            name, result = run_training(
                cfg,
                runs_dir=runs_dir,
                store=store,
                data=data,
                progress=bar,
                hooks=hooks,
                after=after_steps(plots),
                extra={"zoo": True, "quick": quick},
            )
    except RunFailed as err:  # e.g. divergence: the run is recorded as failed; the other models still train
        log.error("zoo: %s", err)
        return {**_static(cfg), "run": err.run, "status": "failed", "message": err.reason}
    row = {
        **_static(cfg),
        "run": name,
        "status": result.status,
        "epochs": len(result.history),
        "sec_per_epoch": _mean([h["train_seconds"] for h in result.history]),
        "train_seconds": result.train_seconds,
        "val_acc": result.best.get("val_acc"),
        "test_acc": result.best.get("test_acc"),
        "best_epoch": result.best.get("epoch"),
    }
    best = RunFolder(runs_dir / name).best
    if best.is_file() and result.status != "interrupted":
        row["infer_img_s"] = inference_rate(model_from_checkpoint(load_checkpoint(best)), data, cfg.threads)
    row["wall_seconds"] = time.perf_counter() - t0  # training, evaluation, checkpoints, plots, inference timing
    row["met"] = _met(row)
    return row


def _static(cfg: TrainConfig) -> dict[str, Any]:
    """What is known before training: size, compute, recipe, references."""
    model = create_model(cfg.model, **cfg.model_kwargs)
    ref = REFERENCES.get(cfg.model, Reference(None))
    return {
        "model": cfg.model,
        "params": count_params(model),
        "mmacs": count_flops(model) / 1e6,
        "epochs_planned": cfg.epochs,
        "threads": cfg.threads or os.cpu_count() or 1,
        "train_images": cfg.train_subset or None,
        "recipe": str(recipe_path(cfg.model)),
        "target": ref.target,
        "published": ref.published,
        "met": None,
        "epochs": 0,
        "wall_seconds": 0.0,
    }


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def best_on_validation(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The row with the best validation accuracy (the zoo's choice for the ``best.yaml`` preset); test accuracy never decides."""
    return max((r for r in rows if r.get("val_acc") is not None), key=lambda r: r["val_acc"], default=None)


def _met(row: dict[str, Any]) -> bool | None:
    """Whether the test accuracy reached the target (None when there is no target or no result)."""
    if row.get("target") is None or row.get("test_acc") is None:
        return None
    return row["test_acc"] >= row["target"]


@torch.no_grad()
def inference_rate(
    model: torch.nn.Module, data: DigitData, threads: int = 0, images: int = INFER_IMAGES, batch: int = INFER_BATCH
) -> float:
    """Test images per second through ``model``'s forward pass: eval mode, no grad, after a warm-up batch.

    Normalisation happens before the clock starts, so this is the network alone.
    """
    torch.set_num_threads(threads or os.cpu_count() or 1)
    fmt = layout(model)
    model = model.eval().to(memory_format=fmt)
    x = data.test_x[:images]
    batches = [normalise(x[i : i + batch], data.mean, data.std).contiguous(memory_format=fmt) for i in range(0, len(x), batch)]
    model(batches[0])  # warm-up: oneDNN picks and caches its kernels on the first call
    t0 = time.perf_counter()
    for xb in batches:
        model(xb)
    return len(x) / max(time.perf_counter() - t0, 1e-9)


def output_paths(quick: bool, runs_dir: Path, out: Path | None = None) -> tuple[Path, Path]:
    """(Markdown, PNG): ``out`` if given, else docs/model-zoo.md (full) or <runs_dir>/zoo-quick.md (quick, so CI
    never overwrites the committed table); the PNG sits beside the Markdown with the same stem."""
    md = out or (runs_dir / "zoo-quick.md" if quick else DEFAULT_OUT)
    return md, md.with_suffix(".png")


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.2f}%"


def _dur(seconds: float | None) -> str:
    """``4.2s``, ``53s`` or ``7.1 min``."""
    if seconds is None:
        return "—"
    return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f} min"


def format_row(row: dict[str, Any]) -> list[str]:
    """One table row (strings, in COLUMNS order), shared by the Markdown file and the terminal."""
    met = {True: "met", False: "missed", None: "—"}[row.get("met")]
    status = "" if row.get("status") in ("completed", "early-stopped") else f" ({row.get('status')})"
    return [
        row["model"] + status,
        row.get("run") or "—",
        f"{row['params']:,}",
        f"{row['mmacs']:.2f}",
        str(row.get("epochs", 0)),
        _dur(row.get("sec_per_epoch")),
        _dur(row.get("train_seconds")),
        f"{row['infer_img_s']:,.0f}" if row.get("infer_img_s") else "—",
        _pct(row.get("val_acc")),
        _pct(row.get("test_acc")),
        "—" if row.get("target") is None else f"≥ {100 * row['target']:.1f}%",
        met,
        row.get("published", "—"),
    ]


def zoo_markdown(rows: list[dict[str, Any]], quick: bool, png_name: str | None = None) -> str:
    """The whole Markdown document: provenance header, table, column meanings."""
    total, training = sum(r.get("wall_seconds") or 0 for r in rows), sum(r.get("train_seconds") or 0 for r in rows)
    targets = [r for r in rows if r.get("target") is not None]
    threads = sorted({r["threads"] for r in rows})
    mode = (
        "quick: one epoch on 2,000 training images per model, a smoke test of the pipeline; the targets are "
        "for the full recipes and are not expected to be met"
        if quick
        else "full recipes (`src/digitlab/presets/zoo/<model>.yaml`)"
    )
    lines = [
        "# Model zoo",
        "",
        "Every registered model trained on MNIST with its recipe as a recorded run (`digitlab show <run>` opens it).",
        f"Generated by `digitlab zoo{' --quick' if quick else ''}`; do not edit by hand.",
        "",
        f"- Machine: {machine()}; torch threads per run: {', '.join(map(str, threads))}",
        f"- Mode: {mode}",
        f"- Date: {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}; commit {git_commit() or 'unknown'}",
        f"- Total time: {total / 60:.1f} min (training {training / 60:.1f} min; the rest is evaluation, checkpoints, plots, calibration)",
        f"- Targets met: {sum(r['met'] is True for r in targets)} of {len(targets)}",
        f"- Best on validation (the best.yaml preset): {best['model']}, {_pct(best['val_acc'])} val, {_pct(best.get('test_acc'))} test"
        if (best := best_on_validation(rows))
        else "- Best on validation: none finished",
        "",
    ]
    if png_name:
        lines += [f"![test accuracy against training time]({png_name})", ""]
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in format_row(r)) + " |" for r in rows]
    lines += [
        "",
        "params: trainable parameters. MMACs/img: million multiply-accumulates per image (`digitlab summary`). "
        "s/epoch: mean training seconds per epoch (evaluation excluded). training: total training seconds. "
        "inference img/s: the best checkpoint's forward pass on 2,000 test images in batches of 500 (eval mode, no grad, "
        "after a warm-up). best val: best validation accuracy; test: test accuracy at that epoch (selection never sees "
        "the test set). published: the reference figure on MNIST test and its source.",
    ]
    return "\n".join(lines) + "\n"


def plot_zoo(rows: list[dict[str, Any]], path: Path, quick: bool) -> Path:
    """Test accuracy against total training seconds (log x), one labelled point per model."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    from .plots import plt  # matplotlib (Agg backend) only when plotting

    done = [r for r in rows if r.get("test_acc") is not None and r.get("train_seconds")]
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in done:
        colour = {True: "C2", False: "C3", None: "C0"}[r.get("met")]
        ax.scatter(r["train_seconds"], 100 * r["test_acc"], color=colour, s=40, zorder=3)
        ax.annotate(r["model"], (r["train_seconds"], 100 * r["test_acc"]), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set(
        xscale="log",
        xlabel="training time (s, log scale)",
        ylabel="test accuracy (%)",
        title=f"Model zoo ({'quick' if quick else 'full recipes'}): green met target, red missed, blue no target",
    )
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 1, 10, 100 rather than 10^0 ...
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(alpha=0.3, which="both")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def write_zoo_table(rows: list[dict[str, Any]], path_md: Path, path_png: Path, quick: bool) -> None:
    """Write the Markdown table (linking the PNG by a relative path) and the PNG."""
    plot_zoo(rows, path_png, quick)
    path_md.parent.mkdir(parents=True, exist_ok=True)
    path_md.write_text(zoo_markdown(rows, quick, os.path.relpath(path_png, path_md.parent)))
