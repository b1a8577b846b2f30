"""Recorded generative runs (``digitlab gan train``): the same run folder, database rows, log, checkpoints and exact
resume as classifier runs (``runner.py``), with a generator's figures.

``runs/<name>/``: ``config.yaml`` (resolved GenConfig + evidence), ``train.log``, ``metrics.csv`` (losses and quality
per epoch), ``samples/epoch-NNN.png`` (the fixed-noise grid after each epoch), ``weights/best.pt`` (lowest Fréchet
distance on validation) and ``last.pt``, ``run.json``. When training ends the best epoch's generator is measured once
against the test split with ``final_samples`` digits: those are the figures a run reports (``extra["quality"]``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .catalog import resolve
from .checkpoint import generator_from_checkpoint, load_checkpoint, model_from_checkpoint
from .config import GenConfig, make_gen_config
from .data import DigitData, load_digits
from .errors import ConfigError, RunError
from .fsio import write_atomic
from .gen_metrics import GenQuality
from .gen_trainer import EpochHook, GenResult, Judge, make_judge, measure, train_generator
from .generators import generator_spec
from .records import FINAL_STATUSES, GEN_CSV_FIELDS, RunFolder
from .run_lock import RunLock
from .runner import cannot_use, evidence, open_run, recording, write_metrics_csv
from .store import RunStore

log = logging.getLogger("digitlab")


class GenRecorder:
    """The ``on_epoch`` hook of a generative run: database row, ``metrics.csv`` from the database, the log line."""

    def __init__(self, store: RunStore, run_id: int, folder: RunFolder):
        self.store, self.run_id, self.folder = store, run_id, folder

    def __call__(self, m: dict[str, Any]) -> None:
        self.store.add_epoch(self.run_id, m)
        write_metrics_csv(self.folder, self.store.epochs(self.run_id), GEN_CSV_FIELDS)
        losses = " ".join(f"{k} {m[k]:.4f}" for k in ("g_loss", "d_loss", "d_acc") if k in m)
        log.info(
            "epoch %d: %s | Fréchet %.2f (floor %.2f) | judge acc %.2f%% | precision %.3f recall %.3f | %.1fs (+%.1fs eval)",
            m["epoch"], losses, m["fid"], m["fid_floor"], 100 * m["class_acc"], m["precision"], m["recall"],
            m["train_seconds"], m["eval_seconds"],
        )  # fmt: skip
        for w in m["warnings"]:
            log.warning("epoch %d: %s", m["epoch"], w)


def load_judge(ref: str, store: RunStore, models_dir: Path, data: DigitData, split: str) -> Judge:
    """The frozen classifier ``ref`` (a run, promoted model, checkpoint or ``ship``) as a judge of ``split``."""
    ckpt = cannot_use(f"Judge {ref!r}", lambda: load_checkpoint(resolve(ref, store, models_dir)))
    net = cannot_use(f"Judge {ref!r}", model_from_checkpoint, ckpt)
    if list(ckpt["classes"]) != list(data.classes):
        raise ConfigError(
            f"Judge {ref!r} reads the classes {ckpt['classes']}, not the {len(data.classes)} classes of the data being generated."
        )
    return make_judge(net, ckpt["norm"]["mean"], ckpt["norm"]["std"], ref, data, split)


def run_generator(
    cfg: GenConfig,
    *,
    runs_dir: Path = Path("runs"),
    store: RunStore | None = None,
    data: DigitData | None = None,
    data_dir: str | None = None,
    models_dir: Path = Path("models"),
    hooks: Sequence[EpochHook] = (),
) -> tuple[str, GenResult]:
    """Train ``cfg`` as a recorded run; nothing is recorded until the family, the data and the judge are known good."""
    generator_spec(cfg.model)  # an unknown family fails here, in one sentence, before any folder exists
    store = store or RunStore(runs_dir=runs_dir)
    data = data or load_digits(cfg.dataset, cfg.val_size, cfg.split_seed, cfg.train_subset, data_dir)
    judge = load_judge(cfg.judge, store, models_dir, data, "val")
    folder, cfg, run_id = open_run(runs_dir, cfg, store, evidence())
    with RunLock(folder, store, run_id):
        return folder.name, _execute(cfg, store, run_id, folder, data, judge, models_dir, hooks, None)


def resume_generator(
    name: str,
    *,
    runs_dir: Path = Path("runs"),
    store: RunStore | None = None,
    data_dir: str | None = None,
    models_dir: Path = Path("models"),
    hooks: Sequence[EpochHook] = (),
) -> tuple[str, GenResult]:
    """Continue an interrupted or killed generative run from its ``weights/last.pt`` in the same folder."""
    store = store or RunStore(runs_dir=runs_dir)
    rec = store.get_run(Path(name).name)
    if rec.task != "generate":
        raise RunError(f"Run {rec.name!r} trains a classifier; resume it with `digitlab train --resume {rec.name}`.")
    if rec.status in FINAL_STATUSES:
        raise RunError(f"Run {rec.name!r} is already {rec.status}; nothing to resume.")
    folder = rec.folder
    with RunLock(folder, store, rec.id, resuming=rec):
        if not folder.last.is_file():
            raise RunError(f"Run {rec.name!r} has no weights/last.pt (it stopped before its first epoch ended); start it again instead.")
        ckpt = load_checkpoint(folder.last)
        cfg = make_gen_config(ckpt["config"])
        data = load_digits(cfg.dataset, cfg.val_size, cfg.split_seed, cfg.train_subset, data_dir)
        judge = load_judge(cfg.judge, store, models_dir, data, "val")
        store.update_run(rec.id, status="running", message=None)
        return rec.name, _execute(cfg, store, rec.id, folder, data, judge, models_dir, hooks, ckpt)


def _execute(
    cfg: GenConfig,
    store: RunStore,
    run_id: int,
    folder: RunFolder,
    data: DigitData,
    judge: Judge,
    models_dir: Path,
    hooks: Sequence[EpochHook],
    resume: dict[str, Any] | None,
) -> GenResult:
    """The loop with recording; a failure marks the run ``failed`` with its reason and raises RunFailed."""
    with recording(store, run_id, folder):
        log.info("run %s: generator %s, %d epochs, seed %d%s", folder.name, cfg.model, cfg.epochs, cfg.seed, " (resumed)" if resume else "")
        log.info("judge %s: quality in its feature space, %d samples per epoch against the validation split", judge.ref, cfg.eval_samples)
        result = train_generator(cfg, data, judge, folder=folder, on_epoch=[GenRecorder(store, run_id, folder), *hooks], resume=resume)
        final = final_quality(cfg, folder, data, judge, store, models_dir) if result.status != "interrupted" and result.history else None
        finish(store, run_id, folder, result, final)
        return result


def final_quality(cfg: GenConfig, folder: RunFolder, data: DigitData, judge: Judge, store: RunStore, models_dir: Path) -> GenQuality:
    """The best epoch's generator, ``final_samples`` digits against the test split (reported; nothing is chosen on it)."""
    test_judge = load_judge(judge.ref, store, models_dir, data, "test")
    model = generator_from_checkpoint(load_checkpoint(folder.best))
    with torch.no_grad():
        return measure(model, test_judge, cfg.final_samples, cfg.seed + 104_729)


def finish(store: RunStore, run_id: int, folder: RunFolder, result: GenResult, final: GenQuality | None) -> None:
    """Write the summary (run.json, database row): status, times, the best epoch and the final figures with warnings."""
    h, best = result.history, result.best
    said = sorted({w for m in h[-1:] for w in m["warnings"]})  # the last epoch's failure modes: what the model is now
    summary = {
        "status": result.status,
        "epochs_done": len(h),
        "train_seconds": result.train_seconds,
        "eval_seconds": sum(m["eval_seconds"] for m in h),
        "best": best,
        "quality": final.to_json() if final else None,
        "warnings": said,
    }
    write_atomic(folder.summary, json.dumps(summary, indent=2, default=float))
    store.update_run(
        run_id, status=result.status, train_seconds=summary["train_seconds"], eval_seconds=summary["eval_seconds"],
        best_epoch=best.get("epoch"), extra={"quality": summary["quality"], "warnings": said}, message="; ".join(said)[:1000] or None,
    )  # fmt: skip
    if final is not None:
        log.info(
            "run %s %s after %d epochs: best epoch %s; test: Fréchet %.2f (%.1fx the real-vs-real floor %.2f), judge acc %.2f%%,"
            " precision %.3f, recall %.3f%s",
            folder.name, result.status, len(h), best.get("epoch"), final.fid, final.fid_ratio, final.fid_floor, 100 * final.class_acc,
            final.precision, final.recall, f"; collapsed digits {final.collapsed}" if final.collapsed else "",
        )  # fmt: skip
