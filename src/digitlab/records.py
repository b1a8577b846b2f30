"""Typed records of the lab: one run's folder and its files, one run's database record, the per-epoch metric names.

Everything that names a run's files (``weights/best.pt``, ``metrics.csv``, ...) goes through :class:`RunFolder`;
everything that reads a run from the database gets a :class:`RunRecord`, its config decoded once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import GenConfig, TrainConfig
from .data import DigitData
from .models import DigitNet

# The per-epoch figures, in this order in metrics.csv, the database and the API (the epoch number comes first).
EPOCH_METRICS = (
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
    "params",  # trainable parameters at the epoch's end (a growing network's change)
)
CSV_FIELDS = ("epoch", *EPOCH_METRICS)
# A generative run's per-epoch figures (``digitlab gan train``): losses, the discriminator's share of right calls, and
# the quality of the epoch's samples against the validation split in the judge's feature space (gen_metrics.py).
GEN_EPOCH_METRICS = (
    "g_loss",
    "d_loss",
    "d_acc",
    "fid",
    "class_acc",
    "precision",
    "recall",
    "lr",
    "train_seconds",
    "eval_seconds",
    "images_per_s",
)
GEN_CSV_FIELDS = ("epoch", *GEN_EPOCH_METRICS)
TASKS = ("classify", "generate")  # what a run trains: a classifier (TrainConfig) or a generator (GenConfig)
FINAL_STATUSES = ("completed", "early-stopped", "pruned")  # nothing left to resume
STALE_AFTER_S = 90.0  # a "running" run whose heartbeat is older than this was killed (heartbeats come every 15 s)


@dataclass(frozen=True)
class RunFolder:
    """``runs/<name>/``: the files of one run and where each lives."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def weights(self) -> Path:
        return self.path / "weights"

    @property
    def best(self) -> Path:
        """Weights of the best validation epoch (the EMA copy when on)."""
        return self.weights / "best.pt"

    @property
    def last(self) -> Path:
        """Weights and loop state after the last finished epoch, for resuming."""
        return self.weights / "last.pt"

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def log(self) -> Path:
        return self.path / "train.log"

    @property
    def summary(self) -> Path:
        return self.path / "run.json"

    @property
    def plots(self) -> Path:
        return self.path / "plots"

    @property
    def samples(self) -> Path:
        """A generative run's sample grids, one per epoch (``epoch-003.png``): the same noise each time."""
        return self.path / "samples"

    @property
    def ood(self) -> Path:
        """Results of ``digitlab ood-eval`` on this run."""
        return self.path / "ood.json"

    @property
    def lock(self) -> Path:
        """Held (``flock``) by the process training this run; the kernel releases it when that process dies."""
        return self.path / ".lock"

    def files(self) -> list[str]:
        """Relative paths of the run's files, hidden ones (locks, temporaries) left out."""
        rel = (p.relative_to(self.path) for p in self.path.rglob("*") if p.is_file())
        return sorted(str(r) for r in rel if not any(part.startswith(".") for part in r.parts))


@dataclass
class TrainResult:
    """What a finished (or stopped) training produced."""

    status: str  # completed | interrupted | early-stopped | a StopTraining status (pruned)
    history: list[dict[str, Any]]  # one dict per epoch: "epoch" and the EPOCH_METRICS
    best: dict[str, Any]  # the best validation epoch: epoch, val_acc, val_loss, test_acc, test_loss
    model: DigitNet  # the deployed weights (the EMA copy when on)
    train_seconds: float


# A step after training (calibrating "not a digit", plots), given to the run by its caller:
# (the run's folder, its config, its data, what training produced) -> None. Runs of status "interrupted" skip them.
AfterRun = Callable[[RunFolder, TrainConfig, DigitData, TrainResult], object]


def key_params(cfg: TrainConfig | GenConfig) -> str:
    """The few parameters that tell runs apart at a glance (runs table, web app)."""
    if isinstance(cfg, GenConfig):
        return f"adam lr={cfg.lr:g}/{cfg.lr_d:g} bs={cfg.batch_size} ep={cfg.epochs}"
    return f"{cfg.optimizer} lr={cfg.lr:g} bs={cfg.batch_size} ep={cfg.epochs}"


@dataclass(frozen=True)
class RunRecord:
    """One run as the database holds it, decoded: ``config`` is a TrainConfig (a GenConfig for a generative run),
    ``versions`` and ``extra`` are dicts."""

    id: int
    name: str
    status: str  # running | completed | early-stopped | interrupted | failed | pruned
    model: str
    dataset: str
    config: TrainConfig | GenConfig
    run_dir: Path
    generation: int | None = None
    parent: str | None = None
    seed: int | None = None
    git_commit: str | None = None
    host: str | None = None
    pid: int | None = None
    versions: dict[str, str] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    heartbeat_at: dt.datetime | None = None
    epochs_done: int = 0
    train_seconds: float | None = None
    eval_seconds: float | None = None
    best_epoch: int | None = None
    best_val_acc: float | None = None
    best_val_loss: float | None = None
    test_acc: float | None = None  # at the best validation epoch
    test_loss: float | None = None
    message: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    task: str = "classify"  # one of TASKS

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.run_dir)

    @property
    def key_params(self) -> str:
        """An ensemble's method and members (its config's training parameters are the defaults, never used)."""
        ens = self.extra.get("ensemble")
        if self.model == "ensemble" and isinstance(ens, dict):
            used = sum(1 for m in ens.get("members", []) if m.get("weight", 0) > 0)
            return f"{ens.get('method')}, {used} of {len(ens.get('members', []))} members" + (", tta" if ens.get("tta") else "")
        return key_params(self.config)

    @property
    def stale(self) -> bool:
        """Recorded as running, but its trainer stopped sending heartbeats (killed, or its machine went away)."""
        if self.status != "running" or self.heartbeat_at is None:
            return False
        return (_utcnow() - self.heartbeat_at).total_seconds() > STALE_AFTER_S

    @property
    def shown_status(self) -> str:
        """The status a person should see: ``killed`` for a run that says running but has no live trainer."""
        return "killed" if self.stale else self.status

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for the API: the fields, the config as a mapping, the shown status and the key parameters."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out |= {"config": self.config.model_dump(), "run_dir": str(self.run_dir), "status": self.shown_status}
        out["key_params"] = self.key_params
        for k in ("created_at", "finished_at", "heartbeat_at"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
