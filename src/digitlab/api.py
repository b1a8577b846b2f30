"""The lab as a Python API, for notebooks and scripts (the CLI and the web app's training jobs call the same functions).

import digitlab
run = digitlab.train("fast", epochs=1)          # a recorded run: run.history, run.best, run.test_acc, run.plot()
digitlab.runs()                                  # every recorded run
digitlab.load("ship").predict("photo.jpg")       # the same typed Answer that `digitlab predict` prints
digitlab.compare("cnn", "fast")                  # side by side, with one PNG of their curves
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import resolve
from .config import GenConfig, TrainConfig, load_config, make_config
from .errors import ConfigError
from .export import engine_file
from .recognize.predictor import Answer, Predictor
from .records import RunFolder, RunRecord
from .run_lock import live_status
from .runner import resume_training, run_training
from .steps import after_steps
from .store import RunStore
from .trainer import BatchProgress, EpochHook


@dataclass
class Lab:
    """Where runs, their database, promoted models and data live (defaults: ``runs/``, its SQLite file, ``models/``)."""

    runs_dir: Path = field(default_factory=lambda: Path(os.environ.get("DIGITLAB_RUNS", "runs")))
    db: str | None = None
    models_dir: Path = field(default_factory=lambda: Path(os.environ.get("DIGITLAB_MODELS", "models")))
    data_dir: str | None = None

    def __post_init__(self) -> None:
        self.runs_dir, self.models_dir = Path(self.runs_dir), Path(self.models_dir)  # a notebook passes strings

    def store(self) -> RunStore:
        return RunStore(self.db, runs_dir=self.runs_dir)


class Run:
    """A recorded run, read from the run database when asked (so a run still training shows its progress)."""

    def __init__(self, name: str, lab: Lab | None = None):
        self.lab = lab or Lab()
        self.name = self.lab.store().get_run(name).name  # an unknown name fails now, with the store's sentence

    @property
    def record(self) -> RunRecord:
        return self.lab.store().get_run(self.name)

    @property
    def folder(self) -> RunFolder:
        return self.record.folder

    @property
    def config(self) -> TrainConfig | GenConfig:
        return self.record.config

    @property
    def status(self) -> str:
        return live_status(self.record)

    @property
    def history(self) -> list[dict[str, Any]]:
        """Per-epoch figures: epoch, train/val/test loss and accuracy, lr, seconds."""
        rec = self.record
        return self.lab.store().epochs(rec.id)

    @property
    def best(self) -> Path:
        """The best validation epoch's weights."""
        return self.folder.best

    @property
    def val_acc(self) -> float | None:
        return self.record.best_val_acc

    @property
    def test_acc(self) -> float | None:
        """Test accuracy at the best validation epoch (reported, never used to choose)."""
        return self.record.test_acc

    def plot(self, path: str | Path | None = None) -> Path:
        """Loss and accuracy curves as a PNG (default: the run's ``plots/curves.png``)."""
        from .plots import plot_curves

        return plot_curves({self.name: self.history}, Path(path) if path else self.folder.plots / "curves.png")

    def load(self, reject_tpr: float | None = None) -> Predictor:
        """The run's best weights, ready to ``predict``."""
        return Predictor(self.best, reject_tpr)

    def __repr__(self) -> str:
        rec = self.record
        acc = f", val {rec.best_val_acc:.2%}, test {rec.test_acc:.2%}" if rec.best_val_acc is not None and rec.test_acc is not None else ""
        return f"Run({rec.name!r}, {rec.model}, {rec.shown_status}{acc})"


def _config(config: str | Path | TrainConfig | None = None, **overrides: Any) -> TrainConfig:
    """A config from a preset name, a YAML file or a TrainConfig, with keyword overrides (``epochs=1``) checked as strictly."""
    base = config if isinstance(config, TrainConfig) else load_config(config)
    return make_config({**base.model_dump(), **overrides}) if overrides else base


def train(
    config: str | Path | TrainConfig | None = None,
    *,
    lab: Lab | None = None,
    plots: bool = True,
    progress: BatchProgress | None = None,
    hooks: Sequence[EpochHook] = (),
    extra: dict[str, Any] | None = None,
    **overrides: Any,
) -> Run:
    """Train a config (preset name such as ``"fast"``, YAML path, or TrainConfig; ``**overrides`` win) as a recorded run.

    ``teacher="best5"`` (a run, promoted model, checkpoint or ensemble) distils that teacher into the config's model.
    """
    lab = lab or Lab()
    cfg = _config(config, **overrides)
    name, _ = run_training(
        cfg, runs_dir=lab.runs_dir, store=lab.store(), data_dir=lab.data_dir, progress=progress,
        hooks=hooks, after=after_steps(plots), extra=extra, models_dir=lab.models_dir,
    )  # fmt: skip
    return Run(name, lab)


def resume(
    name: str, *, lab: Lab | None = None, plots: bool = True, progress: BatchProgress | None = None, hooks: Sequence[EpochHook] = ()
) -> Run:
    """Continue an interrupted or killed run exactly where its last finished epoch left it."""
    lab = lab or Lab()
    store = lab.store()
    name, _ = resume_training(
        name,
        runs_dir=lab.runs_dir,
        store=store,
        data_dir=lab.data_dir,
        progress=progress,
        hooks=hooks,
        after=after_steps(plots),
        models_dir=lab.models_dir,
    )
    return Run(name, lab)


def runs(generation: int | None = None, model: str | None = None, status: str | None = None, *, lab: Lab | None = None) -> list[Run]:
    """Recorded runs, oldest first, optionally filtered."""
    lab = lab or Lab()
    return [Run(r.name, lab) for r in lab.store().list_runs(generation, model, status)]


def load(ref: str | Path | None = None, *, lab: Lab | None = None, reject_tpr: float | None = None, engine: str = "auto") -> Predictor:
    """A model ready to ``predict``: the shipped one (``None`` or ``"ship"``), a run, a promoted model or a checkpoint file.

    ``engine``: ``auto`` (ONNX Runtime where installed, else torch), ``torch`` or ``onnx``.
    """
    lab = lab or Lab()
    path = resolve(str(ref) if ref else None, lab.store(), lab.models_dir)
    return Predictor(path, reject_tpr, onnx=engine_file(path, engine))


def predict(source: str | Path | bytes, model: str | Path | None = None, *, lab: Lab | None = None) -> Answer:
    """Read the digits in one picture (file path or encoded bytes) with ``model`` (default: the shipped one)."""
    return load(model, lab=lab).predict(source)


@dataclass
class Comparison:
    """Runs side by side: their records, the parameters in which they differ, and one PNG of their curves."""

    runs: list[RunRecord]
    differing: list[str]
    curves: Path


def compare(*names: str, out: str | Path | None = None, lab: Lab | None = None) -> Comparison:
    """Compare two or more runs; ``out`` is the PNG (default ``<runs>/compare-<names>.png``)."""
    from .plots import plot_curves

    if len(names) < 2:
        raise ConfigError("compare needs two or more run names.")
    lab = lab or Lab()
    store = lab.store()
    recs = [store.get_run(n) for n in names]
    cfgs = [r.config.model_dump() for r in recs]
    differing = [k for k in cfgs[0] if k != "name" and len({repr(c.get(k)) for c in cfgs}) > 1]
    png = Path(out) if out else lab.runs_dir / f"compare-{'-vs-'.join(names)[:120]}.png"
    plot_curves({r.name: store.epochs(r.id) for r in recs}, png)
    return Comparison(recs, differing, png)
