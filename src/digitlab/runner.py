"""Recorded runs: a never-reused folder per run, its files, its database rows, and the one entry point that trains.

``runs/<name>/`` (see :class:`~digitlab.records.RunFolder`): ``config.yaml`` (resolved config + evidence),
``train.log``, ``metrics.csv``, ``weights/best.pt`` + ``weights/last.pt``, ``plots/``, ``run.json``.
What happens after training (calibrating "not a digit", plots) is given to the run as ``after`` steps: this module
neither calibrates nor plots. (It does load the real non-digits a config's outlier exposure asks for, which are made
with the recognizer's preprocessing: ``recognize.negatives``.)
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import itertools
import json
import logging
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch
import yaml

from .accel import resolved_precision
from .catalog import resolve
from .checkpoint import generator_from_checkpoint, load_checkpoint, model_from_checkpoint
from .config import GenConfig, TrainConfig, make_config
from .data import DigitData, load_digits
from .errors import ConfigError, DigitlabError, RunError, RunFailed
from .evidence import git_commit, host, versions
from .fsio import numbered, write_atomic
from .inference import evaluate, layout
from .models.grow import parse_grow
from .models.registry import check_model_args
from .records import CSV_FIELDS, FINAL_STATUSES, AfterRun, RunFolder, TrainResult
from .run_lock import RunLock
from .store import RunStore
from .trainer import BatchProgress, EpochHook, train

log = logging.getLogger("digitlab")
T = TypeVar("T")
C = TypeVar("C", TrainConfig, GenConfig)


def new_run_dir(root: Path, name: str | None, model: str) -> RunFolder:
    """Create ``root/<name>``; an explicit name must be new, an empty one becomes ``model``, ``model-2``, ..."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        if name:
            try:
                (root / name).mkdir()
            except FileExistsError:
                raise RunError(f"Run {name!r} already exists in {root}; choose another name or leave name empty for a fresh one.") from None
            return RunFolder(root / name)
        for cand in (root / n for n in itertools.islice(numbered(model), 99_999)):
            try:
                cand.mkdir()  # atomic: two processes never get the same folder
                return RunFolder(cand)
            except FileExistsError:
                continue
    except PermissionError as err:
        raise RunError(f"Cannot write to the runs folder {root}: permission denied; choose another with --runs-dir.") from err
    except OSError as err:
        raise RunError(f"Cannot create a run folder in {root}: {err.strerror}.") from err
    raise RunError(f"No free run name left for {model!r} in {root}.")


class Recorder:
    """The ``on_epoch`` hook that writes the database row, then ``metrics.csv`` from the database, and the log line.

    The database is the source of truth: a resumed run whose ``metrics.csv`` was deleted gets it back whole.
    """

    def __init__(self, store: RunStore, run_id: int, folder: RunFolder):
        self.store, self.run_id, self.folder = store, run_id, folder

    def __call__(self, m: dict[str, Any]) -> None:
        self.store.add_epoch(self.run_id, m)
        write_metrics_csv(self.folder, self.store.epochs(self.run_id))
        test = f"{100 * m['test_acc']:.2f}%" if m["test_acc"] == m["test_acc"] else "at the end"  # NaN: test_every_epoch=false
        log.info(
            "epoch %d: train loss %.4f acc %.2f%% | val loss %.4f acc %.2f%% | test acc %s | %.1fs (+%.1fs eval)",
            m["epoch"], m["train_loss"], 100 * m["train_acc"], m["val_loss"], 100 * m["val_acc"], test,
            m["train_seconds"], m["eval_seconds"],
        )  # fmt: skip


def write_metrics_csv(folder: RunFolder, rows: Sequence[dict[str, Any]], fields: Sequence[str] = CSV_FIELDS) -> None:
    """``metrics.csv``: one line per epoch, the columns ``fields`` (:data:`~digitlab.records.CSV_FIELDS` for classifiers)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_atomic(folder.metrics, buf.getvalue())


def evidence() -> dict[str, Any]:
    return {"git_commit": git_commit(), "host": host(), "versions": versions()}


def attach_log(folder: RunFolder) -> logging.Handler:
    """Send the ``digitlab`` logger, debug detail included, to the run's ``train.log``."""
    handler = logging.FileHandler(folder.log)
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
    hooks: Sequence[EpochHook] = (),
    after: Sequence[AfterRun] = (),
    extra: dict[str, Any] | None = None,
    models_dir: Path = Path("models"),
) -> tuple[str, TrainResult]:
    """Train ``cfg`` as a recorded run (folder, log, database rows, checkpoints), then run the ``after`` steps.

    Nothing is recorded until the model name, the data and the teacher (``cfg.teacher``, looked up among runs, promoted
    models in ``models_dir`` and checkpoint files) are known to be good: a wrong name, missing data files or an unusable
    teacher leave no run behind. A failure during training raises :class:`RunFailed` naming the run, recorded as failed.
    """
    check_model_args(cfg.model, cfg.model_kwargs)
    parse_grow(cfg.grow, cfg.epochs, cfg.model)  # a bad growth schedule is refused before a run exists
    store = store or RunStore(runs_dir=runs_dir)
    data, taught = with_teacher(cfg, run_data(cfg, data, data_dir, store, models_dir), store, models_dir)
    ev = evidence()
    if taught:  # the teacher is part of the evidence: its reference, the file it resolved to and that file's hash
        ev["teacher"] = taught
        extra = {**(extra or {}), "teacher": taught}
    folder, cfg, run_id = open_run(runs_dir, cfg, store, ev)
    if extra:
        store.update_run(run_id, extra=extra)
    with RunLock(folder, store, run_id):
        return folder.name, _execute(cfg, store, run_id, folder, data, progress, hooks, after, None)


def open_run(runs_dir: Path, cfg: C, store: RunStore, ev: dict[str, Any]) -> tuple[RunFolder, C, int]:
    """A new run folder with ``config.yaml`` (the resolved config and evidence ``ev``) and its ``running`` database row;
    the config comes back named after the folder. A refused row leaves no folder behind."""
    folder = new_run_dir(runs_dir, cfg.name, cfg.model)
    cfg = cfg.model_copy(update={"name": folder.name})
    write_atomic(folder.config, yaml.safe_dump({**cfg.model_dump(), "_evidence": ev}, sort_keys=False))
    try:
        run_id = store.create_run(folder.name, cfg, str(folder.path.resolve()), ev)
    except DigitlabError:
        shutil.rmtree(folder.path)  # just made by us and holding only config.yaml: leave no orphan folder
        raise
    return folder, cfg, run_id


def resume_training(
    name: str,
    *,
    runs_dir: Path = Path("runs"),
    store: RunStore | None = None,
    data_dir: str | None = None,
    progress: BatchProgress | None = None,
    hooks: Sequence[EpochHook] = (),
    after: Sequence[AfterRun] = (),
    models_dir: Path = Path("models"),
) -> tuple[str, TrainResult]:
    """Continue an interrupted or killed run from its ``weights/last.pt`` in the same folder.

    A run that another process is still training is refused: its folder lock is held (same machine) or its
    heartbeat is fresh (another machine sharing the database). A distilled run recomputes its teacher's outputs
    from the very checkpoint it recorded (same hash), or is refused.
    """
    store = store or RunStore(runs_dir=runs_dir)
    rec = store.get_run(Path(name).name)
    if rec.task == "generate":
        raise RunError(f"Run {rec.name!r} trains a generator; resume it with `digitlab gan resume {rec.name}`.")
    if rec.status in FINAL_STATUSES:
        raise RunError(f"Run {rec.name!r} is already {rec.status}; nothing to resume.")
    folder = rec.folder
    with RunLock(folder, store, rec.id, resuming=rec):
        if not folder.last.is_file():
            raise RunError(f"Run {rec.name!r} has no weights/last.pt (it stopped before its first epoch ended); start it again instead.")
        ckpt = load_checkpoint(folder.last)
        cfg = make_config(ckpt["config"])
        data, _ = with_teacher(cfg, run_data(cfg, None, data_dir, store, models_dir), store, models_dir, rec.extra.get("teacher"))
        store.update_run(rec.id, status="running", message=None)
        return rec.name, _execute(cfg, store, rec.id, folder, data, progress, hooks, after, ckpt)


def run_data(
    cfg: TrainConfig, data: DigitData | None, data_dir: str | None, store: RunStore | None = None, models_dir: Path = Path("models")
) -> DigitData:
    """The run's data (given, or loaded), with the real non-digits for outlier exposure and the generator of
    ``gen_source`` when its config asks for them."""
    data = data or load_digits(cfg.dataset, cfg.val_size, cfg.split_seed, cfg.train_subset, data_dir)
    if not cfg.normalize:  # the identity normalisation: every consumer of (mean, std), checkpoints included, sees raw [0, 1]
        data = dataclasses.replace(data, mean=0.0, std=1.0)
    if cfg.outlier_exposure > 0 and cfg.real_outliers > 0 and data.outliers is None:
        from .recognize.negatives import negatives28  # made once from installed packages, then cached

        data = dataclasses.replace(data, outliers=negatives28("train", seed=cfg.split_seed))
    if cfg.gen_share > 0 and data.generated is None:
        data = dataclasses.replace(data, generated=generated_source(cfg, data, store, models_dir))
    return data


def generated_source(
    cfg: TrainConfig, data: DigitData, store: RunStore | None, models_dir: Path
) -> Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]:
    """``gen_source``'s frozen generator as ``(n, rng) -> (digits (n, 1, 28, 28) in [0, 1], labels (n,))``, classes uniform."""
    if cfg.gen_source is None:
        raise ConfigError(
            f"gen_share={cfg.gen_share} asks for generated digits but gen_source names no generative run; set gen_source=RUN."
        )
    if cfg.teacher is not None and not cfg.distill_online:
        raise ConfigError("A teacher's outputs are computed once on the real training images; with gen_source set distill_online=true.")
    path = cannot_use(f"gen_source {cfg.gen_source!r}", resolve, cfg.gen_source, store, models_dir)
    model = cannot_use(f"gen_source {cfg.gen_source!r}", lambda: generator_from_checkpoint(load_checkpoint(path)))
    if model.num_classes != len(data.classes):
        raise ConfigError(
            f"gen_source {cfg.gen_source!r} writes {model.num_classes} classes, not the {len(data.classes)} of {cfg.dataset}."
        )

    @torch.no_grad()
    def draw(n: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(model.num_classes, (n,), generator=rng)
        return model.sample(model.noise(n, rng), labels), labels

    return draw


def with_teacher(
    cfg: TrainConfig, data: DigitData, store: RunStore, models_dir: Path, recorded: dict[str, Any] | None = None
) -> tuple[DigitData, dict[str, Any] | None]:
    """The data with ``cfg.teacher``'s logits on the training images, and the teacher's evidence; unchanged without one.

    Offline distillation by default: the teacher sees each unaugmented training image once (with its own checkpoint's
    normalisation), so a large teacher or an ensemble costs one pass over the split, not one per batch; the teacher
    itself rides along as ``data.teacher`` for ``distill_online`` (a forward pass per augmented batch).
    ``recorded``: the evidence of a resumed run, whose checkpoint must still be the same file (same sha256).
    """
    if cfg.teacher is None:
        return data, None
    path = Path(recorded["checkpoint"]) if recorded else cannot_use(f"Teacher {cfg.teacher!r}", resolve, cfg.teacher, store, models_dir)
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    if recorded and digest != recorded["sha256"]:
        raise RunError(
            f"The run was taught by {recorded['checkpoint']} (sha256 {recorded['sha256'][:12]}), which is now {'changed' if digest else 'gone'}; the run cannot go on with the same teacher."
        )
    ckpt = cannot_use(f"Teacher {cfg.teacher!r}", load_checkpoint, path)
    if list(ckpt["classes"]) != list(data.classes):
        raise ConfigError(f"Teacher {cfg.teacher!r} predicts the classes {ckpt['classes']}, not the {cfg.dataset} classes {data.classes}.")
    torch.set_num_threads(cfg.threads or torch.get_num_threads())
    model = cannot_use(f"Teacher {cfg.teacher!r}", model_from_checkpoint, ckpt)
    mean, std = ckpt["norm"]["mean"], ckpt["norm"]["std"]
    teach, b = teacher_fn(model, mean, std), cfg.eval_batch_size
    logits = torch.cat([teach(data.train_x[i : i + b].unsqueeze(1).float().div_(255)) for i in range(0, len(data.train_x), b)])  # (N, C)
    taught = {
        "ref": cfg.teacher,
        "checkpoint": str(path.resolve()),
        "sha256": digest,
        "model": ckpt["model"],
        "train_acc": (logits.argmax(1) == data.train_y).float().mean().item(),
        "val_acc": evaluate(model, data.val_x, data.val_y, mean, std, cfg.eval_batch_size).acc if len(data.val_y) else None,
    }
    return dataclasses.replace(data, teacher_logits=logits, teacher=teach), taught


def cannot_use(label: str, step: Callable[..., T], *args: Any) -> T:
    """``step(*args)`` (resolving, loading, rebuilding what ``label`` names: "Teacher 'x'", "Judge 'ship'", ...); its
    error becomes one sentence naming it."""
    try:
        return step(*args)
    except DigitlabError as err:
        msg = str(err)
        raise type(err)(f"{label} cannot be used: {msg[:1].lower()}{msg[1:]}") from err


def teacher_fn(model: torch.nn.Module, mean: float, std: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """The teacher as a function: images ``(B, 1, 28, 28)`` in [0, 1] -> logits ``(B, C)``, with its own normalisation."""
    fmt = layout(model)

    @torch.no_grad()
    def teach(x: torch.Tensor) -> torch.Tensor:
        return model(((x - mean) / std).contiguous(memory_format=fmt))

    return teach


def _execute(
    cfg: TrainConfig,
    store: RunStore,
    run_id: int,
    folder: RunFolder,
    data: DigitData,
    progress: BatchProgress | None,
    hooks: Sequence[EpochHook],
    after: Sequence[AfterRun],
    resume: dict[str, Any] | None,
) -> TrainResult:
    """Run the loop with recording; a failure marks the run ``failed`` with its reason and raises RunFailed."""
    with recording(store, run_id, folder):
        log.info("run %s: model %s, %d epochs, seed %d%s", folder.name, cfg.model, cfg.epochs, cfg.seed, " (resumed)" if resume else "")
        norm = f"normalisation mean {data.mean:.4f} std {data.std:.4f} (from the training split)" if cfg.normalize else "no normalisation"
        log.info("data: %d train / %d val / %d test images; %s", len(data.train_y), len(data.val_y), len(data.test_y), norm)
        if cfg.precision != "float32" or cfg.compile:
            log.info("training step: %s%s", resolved_precision(cfg.precision), ", torch.compile" if cfg.compile else "")
        if data.teacher_logits is not None:
            log.info(
                "distilling from teacher %s: temperature %g, soft-target weight %g, %s",
                cfg.teacher, cfg.distill_temperature, cfg.distill_alpha,
                "the teacher on every augmented batch" if cfg.distill_online else "the teacher's outputs on the unaugmented images",
            )  # fmt: skip
        recorder = Recorder(store, run_id, folder)
        result = train(cfg, data, folder=folder, on_epoch=[recorder, *hooks], progress=progress, resume=resume)
        finish(store, run_id, folder, result)
        if result.status != "interrupted":
            for step in after:
                step(folder, cfg, data, result)
        return result


@contextlib.contextmanager
def recording(store: RunStore, run_id: int, folder: RunFolder) -> Iterator[None]:
    """The run's ``train.log`` attached while its body runs; an error marks the run ``failed`` with its reason (one
    sentence for the lab's own errors) and raises RunFailed naming the run. Shared by classifier and generator runs."""
    handler = attach_log(folder)
    try:
        yield
    except Exception as err:
        reason = str(err) if isinstance(err, DigitlabError) else f"{type(err).__name__}: {err}"
        log.error("run %s failed: %s", folder.name, reason)
        store.update_run(run_id, status="failed", message=reason[:1000])
        raise RunFailed(folder.name, reason, err) from err
    finally:
        log.removeHandler(handler)
        handler.close()


def finish(store: RunStore, run_id: int, folder: RunFolder, result: TrainResult) -> None:
    """Write the summary (run.json, database row)."""
    h, best = result.history, result.best
    summary = {
        "status": result.status,
        "epochs_done": len(h),
        "train_seconds": result.train_seconds,
        "eval_seconds": sum(m["eval_seconds"] for m in h),
        "best": best,
    }
    write_atomic(folder.summary, json.dumps(summary, indent=2))
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
        folder.name, result.status, len(h), 100 * (best.get("val_acc") or 0), best.get("epoch"),
        100 * (best.get("test_acc") or 0), result.train_seconds,
    )  # fmt: skip


def _finite(v: Any) -> float | None:
    return v if isinstance(v, int | float) and v == v and v >= 0 else None


ProgressFactory = Callable[[TrainConfig], BatchProgress]
