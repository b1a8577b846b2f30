"""Recorded runs: a never-reused folder per run, its files, its database rows, and the one entry point that trains.

``runs/<name>/``: ``config.yaml`` (resolved config + evidence), ``train.log``,
``metrics.csv``, ``weights/best.pt`` + ``weights/last.pt``, ``plots/``, ``run.json``.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .checkpoint import load_checkpoint
from .config import TrainConfig, make_config
from .data import DigitData, load_digits
from .errors import DigitlabError, RunError
from .evidence import git_commit, host, versions
from .models.registry import check_model_args
from .store import RunStore
from .train import BatchProgress, EpochHook, TrainResult, train

log = logging.getLogger("digitlab")
METRIC_FIELDS = [
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "test_loss",
    "test_acc",
    "lr",
    "train_seconds",
    "eval_seconds",
    "images_per_s",
]


def new_run_dir(root: Path, name: str | None, model: str) -> Path:
    """Create ``root/<name>``; an explicit name must be new, an empty one becomes ``model``, ``model-2``, ..."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        if name:
            try:
                (root / name).mkdir()
            except FileExistsError:
                raise RunError(f"Run {name!r} already exists in {root}; choose another name or leave name empty for a fresh one.") from None
            return root / name
        for i in range(1, 100_000):
            cand = root / (model if i == 1 else f"{model}-{i}")
            try:
                cand.mkdir()  # atomic: two processes never get the same folder
                return cand
            except FileExistsError:
                continue
    except PermissionError as err:
        raise RunError(f"Cannot write to the runs folder {root}: permission denied; choose another with --runs-dir.") from err
    except OSError as err:
        raise RunError(f"Cannot create a run folder in {root}: {err.strerror}.") from err
    raise RunError(f"No free run name left for {model!r} in {root}.")


def write_atomic(path: Path, text: str) -> None:
    """Write a text file through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@dataclass
class Recorder:
    """The ``on_epoch`` hook that writes ``metrics.csv``, the log line and the database row."""

    store: RunStore
    run_id: int
    folder: Path

    def __call__(self, m: dict[str, Any]) -> None:
        path = self.folder / "metrics.csv"
        rows = [r for r in _read_csv(path) if int(r["epoch"]) < m["epoch"]] + [{k: m.get(k) for k in METRIC_FIELDS}]
        with open(path.with_name(".metrics.csv.tmp"), "w", newline="") as f:
            w = csv.DictWriter(f, METRIC_FIELDS)
            w.writeheader()
            w.writerows(rows)
        os.replace(path.with_name(".metrics.csv.tmp"), path)
        self.store.add_epoch(self.run_id, m)
        log.info(
            "epoch %d: train loss %.4f acc %.2f%% | val loss %.4f acc %.2f%% | test acc %.2f%% | %.1fs (+%.1fs eval)",
            m["epoch"],
            m["train_loss"],
            100 * m["train_acc"],
            m["val_loss"],
            100 * m["val_acc"],
            100 * m["test_acc"],
            m["train_seconds"],
            m["eval_seconds"],
        )


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def evidence() -> dict[str, Any]:
    return {"git_commit": git_commit(), "host": host(), "versions": versions()}


def attach_log(folder: Path) -> logging.Handler:
    """Send the ``digitlab`` logger, debug detail included, to ``folder/train.log``."""
    handler = logging.FileHandler(folder / "train.log")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    return handler


def run_training(
    cfg: TrainConfig,
    *,
    runs_dir: Path = Path("runs"),
    store: RunStore | None = None,
    data: DigitData | None = None,
    data_dir: str | None = None,
    progress: BatchProgress | None = None,
    hooks: list[EpochHook] = (),
    plots: bool = True,
    extra: dict[str, Any] | None = None,
) -> tuple[str, TrainResult]:
    """Train ``cfg`` as a recorded run: folder, log, database rows, checkpoints, plots. Returns (name, result)."""
    check_model_args(cfg.model, cfg.model_kwargs)  # a wrong model name must not leave a run folder behind
    store = store or RunStore(runs_dir=runs_dir)
    folder = new_run_dir(runs_dir, cfg.name, cfg.model)
    cfg = cfg.model_copy(update={"name": folder.name})
    ev = evidence()
    write_atomic(folder / "config.yaml", yaml.safe_dump({**cfg.model_dump(), "_evidence": ev}, sort_keys=False))
    try:
        run_id = store.create_run(folder.name, cfg.model_dump(), str(folder.resolve()), ev)
    except DigitlabError:
        shutil.rmtree(folder)  # just made by us and holding only config.yaml: leave no orphan folder
        raise
    if extra:
        store.update_run(run_id, extra=extra)
    return folder.name, _execute(cfg, store, run_id, folder, data, data_dir, progress, hooks, plots, None)


def resume_training(
    name_or_dir: str,
    *,
    runs_dir: Path = Path("runs"),
    store: RunStore | None = None,
    data_dir: str | None = None,
    progress: BatchProgress | None = None,
    plots: bool = True,
) -> tuple[str, TrainResult]:
    """Continue an interrupted run from its ``weights/last.pt`` in the same folder."""
    store = store or RunStore(runs_dir=runs_dir)
    rec = store.get_run(Path(name_or_dir).name)
    folder = Path(rec["run_dir"])
    if rec["status"] in ("completed", "early-stopped", "pruned"):
        raise RunError(f"Run {rec['name']!r} is already {rec['status']}; nothing to resume.")
    last = folder / "weights" / "last.pt"
    if not last.is_file():
        raise RunError(f"Run {rec['name']!r} has no weights/last.pt (it stopped before its first epoch ended); start it again instead.")
    ckpt = load_checkpoint(last)
    cfg = make_config(ckpt["config"])
    store.update_run(rec["id"], status="running", message=None)
    return rec["name"], _execute(cfg, store, rec["id"], folder, None, data_dir, progress, (), plots, ckpt)


def _execute(
    cfg: TrainConfig,
    store: RunStore,
    run_id: int,
    folder: Path,
    data: DigitData | None,
    data_dir: str | None,
    progress: BatchProgress | None,
    hooks: list[EpochHook],
    plots: bool,
    resume: dict[str, Any] | None,
) -> TrainResult:
    """Run the loop with recording; any failure marks the run ``failed`` with its reason, then re-raises."""
    handler = attach_log(folder)
    try:
        log.info("run %s: model %s, %d epochs, seed %d%s", folder.name, cfg.model, cfg.epochs, cfg.seed, " (resumed)" if resume else "")
        data = data or load_digits(cfg.dataset, cfg.val_size, cfg.split_seed, cfg.train_subset, data_dir)
        log.info(
            "data: %d train / %d val / %d test images; normalisation mean %.4f std %.4f (from the training split)",
            len(data.train_y),
            len(data.val_y),
            len(data.test_y),
            data.mean,
            data.std,
        )
        result = train(
            cfg, data, weights_dir=folder / "weights", on_epoch=[Recorder(store, run_id, folder), *hooks], progress=progress, resume=resume
        )
        finish(store, run_id, folder, cfg, data, result, plots)
        return result
    except BaseException as err:
        reason = str(err) if isinstance(err, DigitlabError) else f"{type(err).__name__}: {err}"
        log.error("run %s failed: %s", folder.name, reason)
        store.update_run(run_id, status="failed", message=reason[:1000])
        raise
    finally:
        log.removeHandler(handler)
        handler.close()


def finish(store: RunStore, run_id: int, folder: Path, cfg: TrainConfig, data: DigitData, result: TrainResult, plots: bool) -> None:
    """Write the summary (run.json, database row) and, for finished runs, the plots."""
    h, best = result.history, result.best
    summary = {
        "status": result.status,
        "epochs_done": len(h),
        "train_seconds": result.train_seconds,
        "eval_seconds": sum(m["eval_seconds"] for m in h),
        "best": best,
    }
    write_atomic(folder / "run.json", json.dumps(summary, indent=2))
    store.update_run(
        run_id,
        status=result.status,
        train_seconds=summary["train_seconds"],
        eval_seconds=summary["eval_seconds"],
        best_epoch=best.get("epoch"),
        best_val_acc=_finite(best.get("val_acc")),
        best_val_loss=_finite(best.get("val_loss")),
        test_acc=best.get("test_acc"),
        test_loss=best.get("test_loss"),
    )
    log.info(
        "run %s %s after %d epochs: best val acc %.2f%% at epoch %s, test acc %.2f%%, %.1fs training",
        folder.name,
        result.status,
        len(h),
        100 * (best.get("val_acc") or 0),
        best.get("epoch"),
        100 * (best.get("test_acc") or 0),
        result.train_seconds,
    )
    best_pt = folder / "weights" / "best.pt"
    if cfg.calibrate and result.status != "interrupted" and best_pt.is_file() and len(data.val_y) >= 100:
        from .recognize.calibrate import fit_rejection

        cal = fit_rejection(best_pt, data, cfg.reject_tpr)
        log.info("'not a digit' threshold %.3f calibrated to accept %.1f%% of validation digits", cal["threshold"], 100 * cal["tpr"])
    if plots and h and result.status != "interrupted":
        from .plots import plot_run  # matplotlib is imported only when plotting

        plot_run(folder, data, h)


def _finite(v: Any) -> float | None:
    return v if isinstance(v, (int, float)) and v == v and v >= 0 else None


ProgressFactory = Callable[[TrainConfig], BatchProgress]
