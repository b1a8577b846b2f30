"""Hyper-parameter tuning: search spaces over the config schema, run as recorded Optuna studies.

A search space (``presets/search/*.yaml``, or any file) fixes a ``base`` config and names the
``params`` to search, each checked against the schema (config.py). The study
runs in Optuna (Akiba et al. 2019, "Optuna: a next-generation hyperparameter
optimization framework"): TPE by default (Bergstra et al. 2011, "Algorithms for
hyper-parameter optimization"), NSGA-II for several objectives, with median or
Hyperband pruning (Li et al. 2018, "Hyperband: a novel bandit-based approach to
hyperparameter optimization") on each epoch's validation accuracy. Every trial is
a normal recorded run named ``<study>-t<number>`` whose ``extra`` links it to
its study. Studies live in any SQLAlchemy database (SQLite beside the runs by
default, PostgreSQL for several machines); heartbeats turn the trials of killed
workers into failures. Selection uses validation accuracy only, never test.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import yaml

from .config import MACHINE_KEYS, make_config
from .data import DigitData, data_for
from .errors import ConfigError, DigitlabError, RunError
from .fsio import numbered
from .models import count_params
from .records import AfterRun
from .runner import run_training
from .store import RunStore
from .trainer import StopTraining
from .tune_space import OBJECTIVES, TYPES, Param, Space, load_space, parse_objectives, parse_space, suggest  # noqa: F401  (the tuning API)
from .tune_storage import (  # noqa: F401  (the tuning API)
    STUDY_NAME,
    TOLERANCE,
    claimed_hash,
    default_storage,
    first_free,
    load_study,
    open_storage,
    quiet_optuna,
    shown_url,
    stored_space,
    study_names,
)

log = logging.getLogger("digitlab")
SAMPLERS = ("tpe", "random", "cmaes", "nsga2")
PRUNERS = ("median", "hyperband", "none")


def make_sampler(name: str | optuna.samplers.BaseSampler | None, objectives: int, seed: int | None) -> optuna.samplers.BaseSampler:
    """tpe (default; nsga2 for several objectives), random, cmaes or nsga2, seeded."""
    if isinstance(name, optuna.samplers.BaseSampler):
        return name
    name = name or ("nsga2" if objectives > 1 else "tpe")
    if name not in SAMPLERS:
        raise ConfigError(f"Unknown sampler {name!r}; choose from {', '.join(SAMPLERS)}.")
    if name == "cmaes" and objectives > 1:
        raise ConfigError("The cmaes sampler optimises one objective; use nsga2, tpe or random for several.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            cls = {
                "tpe": optuna.samplers.TPESampler,
                "random": optuna.samplers.RandomSampler,
                "cmaes": optuna.samplers.CmaEsSampler,
                "nsga2": optuna.samplers.NSGAIISampler,
            }[name]
            return cls(seed=seed)
    except ImportError as err:
        raise ConfigError(f"The {name} sampler needs an extra package ({err}); install it with pip install cmaes.") from err


def make_pruner(name: str | optuna.pruners.BasePruner, objectives: int = 1) -> optuna.pruners.BasePruner:
    """median (from epoch 2, after 4 trials), hyperband (Li et al. 2018) or none; Optuna prunes one objective only."""
    if isinstance(name, optuna.pruners.BasePruner):
        return name
    if name not in PRUNERS:
        raise ConfigError(f"Unknown pruner {name!r}; choose from {', '.join(PRUNERS)}.")
    if name == "none" or objectives > 1:
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=2)
    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource="auto", reduction_factor=3)


def open_study(
    name: str | None,
    space: Space | None,
    storage: optuna.storages.BaseStorage,
    store: RunStore,
    sampler: optuna.samplers.BaseSampler | str | None = None,
    pruner: optuna.pruners.BasePruner | str = "median",
    seed: int | None = 0,
    overrides: list[str] | None = None,
    objectives: str | None = None,
    prefix: str = "study",
) -> tuple[optuna.Study, Space]:
    """Create or resume a study; a name already used for a different space (or by other runs) is refused."""
    if name is not None and not STUDY_NAME.match(name):
        raise ConfigError(f"Study name {name!r} must be 1-48 letters, digits, '_', '.' or '-', starting with a letter or digit.")
    names = study_names(storage)
    if name is None:
        if space is None:
            raise ConfigError("Give --space to start a study, or --study NAME to continue one.")
        name = first_free(prefix, names)
    if store.has_run(f"{name}-t0") and name not in study_names(storage):
        raise RunError(
            f"The run database already has runs of a study named {name!r} (from another study storage); choose another --study name."
        )
    if space is None:
        space = stored_space(load_study(name, storage))
    space = space.with_overrides(overrides)
    if objectives:
        space = Space(space.base, space.params, parse_objectives(objectives))
    n = len(space.objectives)
    with quiet_optuna():
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            directions=space.directions,
            load_if_exists=True,
            sampler=make_sampler(sampler, n, seed),
            pruner=make_pruner(pruner, n),
        )
    _claim_space(study, space)
    if seed is not None and study.trials and not isinstance(sampler, optuna.samplers.BaseSampler):  # a resumed or joined study: fresh draws
        study.sampler = make_sampler(sampler, n, seed + len(study.trials))
    return study, space


def _claim_space(study: optuna.Study, space: Space) -> None:
    """Record the space on a new study; refuse to mix a different space into an existing one."""
    old = claimed_hash(study, "space", space.to_json(), space.hash())
    if old is not None:
        raise ConfigError(
            f"Study {study.study_name!r} was started with a different search space (hash {old}, now {space.hash()}); "
            "choose another --study name or leave --space out to continue it as it was."
        )


# ---------------------------------------------------------------- trials
@dataclass
class _Pruning:
    """``on_epoch`` hook: report validation accuracy to Optuna; stop the run as ``pruned`` when told to
    (never after the last epoch: a finished run has nothing left to save)."""

    trial: optuna.Trial
    epochs: int

    def __call__(self, m: dict[str, Any]) -> None:
        self.trial.report(m["val_acc"], m["epoch"])
        if m["epoch"] < self.epochs and self.trial.should_prune():
            raise StopTraining("pruned", f"pruned by Optuna after epoch {m['epoch']}")


@dataclass
class Objective:
    """Trains one trial as the recorded run ``<study>-t<number>`` and returns its objective values."""

    study: str
    space: Space
    store: RunStore
    runs_dir: Path
    data: DigitData
    prune: bool = True

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        name = f"{self.study}-t{trial.number}"
        trial.set_user_attr("run", name)
        cfg = suggest(trial, self.space).model_copy(update={"name": name})
        trial.set_user_attr("config", cfg.model_dump(exclude={"name"}))
        hooks = [_Pruning(trial, cfg.epochs)] if self.prune else []
        try:  # a trial skips the 'not a digit' calibration (seconds each; the final run of the chosen config does it)
            # and evaluates the test split once, when it ends: it never chooses
            _, result = run_training(
                cfg.model_copy(update={"calibrate": False, "test_every_epoch": False}),
                runs_dir=self.runs_dir,
                store=self.store,
                data=self.data,
                hooks=hooks,
                extra={"study": self.study, "trial": trial.number, "state": "running"},
            )
        except DigitlabError as err:  # recorded as failed by run_training; Optuna marks the trial FAIL and goes on
            trial.set_user_attr("error", str(err)[:500])
            self._settle(trial, name, "failed")
            raise
        except BaseException:  # Ctrl-C outside the epoch loop: run already marked failed
            self._settle(trial, name, "failed")
            raise
        self._settle(trial, name, {"interrupted": "failed", "pruned": "pruned"}.get(result.status, "complete"))
        if result.status == "interrupted":  # Optuna marks the trial FAIL and re-raises: the study stops, resumable
            raise KeyboardInterrupt
        if result.status == "pruned":
            raise optuna.TrialPruned(f"pruned after epoch {len(result.history)}")
        values = {"val_acc": result.best["val_acc"], "train_seconds": result.train_seconds, "params": count_params(result.model)}
        trial.set_user_attr("n_params", values["params"])
        return values["val_acc"] if len(self.space.objectives) == 1 else [values[o] for o in self.space.objectives]

    def _settle(self, trial: optuna.Trial, name: str, state: str) -> None:
        """Copy the run's numbers to the trial and the trial's state to the run's ``extra``."""
        try:
            rec = self.store.get_run(name)
        except RunError:  # the config was refused before the run existed
            return
        seconds = rec.train_seconds
        if seconds is None:
            seconds = sum(e["train_seconds"] or 0 for e in self.store.epochs(rec.id))
        trial.set_user_attr("train_seconds", seconds)
        trial.set_user_attr("epochs_done", rec.epochs_done)
        if rec.best_val_acc is not None:
            trial.set_user_attr("val_acc", rec.best_val_acc)
        self.store.update_run(rec.id, extra={"state": state})


def mark_lost(store: RunStore) -> Callable[[optuna.Study, Any], None]:
    """Heartbeat callback: the run of a trial whose worker died (no heartbeat) is recorded as failed too."""

    def callback(study: optuna.Study, trial: Any) -> None:
        name = trial.user_attrs.get("run")
        try:
            rec = store.get_run(name) if name else None
        except RunError:
            return
        if rec is not None and rec.status == "running":
            store.update_run(
                rec.id,
                status="failed",
                message=f"Its tuning worker stopped sending heartbeats; Optuna failed trial {trial.number}.",
                extra={"state": "failed"},
            )
        log.warning("trial %d of %s was left running by a stopped worker; marked failed", trial.number, study.study_name)

    return callback


def budget_callback(seconds: float) -> Callable[[optuna.Study, Any], None]:
    """Stop the study once its trials' training time adds up to ``seconds``."""

    def callback(study: optuna.Study, _trial: Any) -> None:
        if sum(t.user_attrs.get("train_seconds", 0.0) for t in study.get_trials(deepcopy=False)) >= seconds:
            study.stop()

    return callback


def study_data(space: Space, data_dir: str | None = None) -> DigitData:
    """The study's data, loaded once (the split and subset are fixed by the base: they are not tunable)."""
    return data_for(space.base, data_dir)


def optimize(
    study: optuna.Study,
    space: Space,
    store: RunStore,
    runs_dir: Path,
    *,
    trials: int | None = None,
    timeout: float | None = None,
    train_budget: float | None = None,
    data: DigitData | None = None,
    data_dir: str | None = None,
    callbacks: Sequence[Callable[[optuna.Study, Any], None]] = (),
) -> optuna.Study:
    """Run trials until ``trials`` more are done, ``timeout`` seconds of wall-clock time pass (no trial starts after
    it) or ``train_budget`` training seconds are spent by the study's trials in all.

    A trial that fails (e.g. NaN loss) is FAIL and the study goes on; Ctrl-C stops it after marking the running
    trial FAIL (its run ``interrupted``): continue with the same study name.
    """
    objective = Objective(
        study.study_name, space, store, Path(runs_dir), data or study_data(space, data_dir), prune=len(space.objectives) == 1
    )
    extra = [budget_callback(train_budget)] if train_budget else []
    with quiet_optuna():  # failed trials are reported by the lab, in one line, not with Optuna's traceback
        study.optimize(objective, n_trials=trials, timeout=timeout, catch=(DigitlabError,), callbacks=[*extra, *callbacks])
    return study


# ---------------------------------------------------------------- choosing, exporting, retraining
def chosen_trial(study: optuna.Study, pick: int | None = None) -> optuna.trial.FrozenTrial:
    """The best trial; with several objectives the Pareto point of best val_acc; ``pick`` names a trial instead."""
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not done:
        raise RunError(f"Study {study.study_name!r} has no completed trial yet.")
    if pick is not None:
        found = [t for t in done if t.number == pick]
        if not found:
            raise RunError(
                f"Trial {pick} of study {study.study_name!r} is not a completed trial; `digitlab study {study.study_name}` lists them."
            )
        return found[0]
    if len(study.directions) == 1:
        return study.best_trial
    return max(study.best_trials, key=lambda t: (t.values[0], -t.number))


def trial_config(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """The full config a trial trained (without its run name)."""
    return {k: v for k, v in trial.user_attrs["config"].items() if k != "name"}


def export_config(study: optuna.Study, path: str | Path, pick: int | None = None) -> Path:
    """Write the chosen trial's config as a normal config file (``digitlab train --config PATH``).

    Machine settings (threads, evaluation batch) are left out: the file trains with the defaults of whichever
    machine runs it.
    """
    t = chosen_trial(study, pick)
    path = Path(path)
    header = [
        f"# Tuned config: study {study.study_name!r}, trial {t.number}, best validation accuracy {100 * t.values[0]:.2f}%",
        f"# (objectives: {', '.join(study.user_attrs.get('space', {}).get('objectives', ['val_acc']))}). "
        f"Exported by `digitlab tune --study {study.study_name} --export {path}`.",
        f"# Train it with: digitlab train --config {path}",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = {k: v for k, v in trial_config(t).items() if k not in MACHINE_KEYS}
    path.write_text("\n".join(header) + "\n" + yaml.safe_dump(cfg, sort_keys=False))
    return path


def final_run(
    study: optuna.Study,
    store: RunStore,
    runs_dir: Path,
    *,
    pick: int | None = None,
    data: DigitData | None = None,
    data_dir: str | None = None,
    progress: Any = None,
    hooks: Sequence[Any] = (),
    after: Sequence[AfterRun] = (),
) -> tuple[str, Any]:
    """Retrain the chosen config once as ``<study>-final`` (test accuracy reported here, never used to choose)."""
    t = chosen_trial(study, pick)
    name = next(
        n
        for n in itertools.islice(numbered(f"{study.study_name}-final"), 999)
        if not (Path(runs_dir) / n).exists() and not store.has_run(n)
    )
    cfg = make_config({**trial_config(t), "name": name})
    return run_training(
        cfg,
        runs_dir=Path(runs_dir),
        store=store,
        data=data,
        data_dir=data_dir,
        progress=progress,
        hooks=list(hooks),
        after=list(after),
        extra={"study": study.study_name, "final": True, "trial": t.number},
    )


@contextlib.contextmanager
def quiet_runs(debug: bool = False) -> Iterator[None]:
    """During a study, the terminal shows one line per trial: the runs' own lines go to their train.log only."""
    handlers = [] if debug else [h for h in log.handlers if not isinstance(h, logging.FileHandler)]
    levels = [h.level for h in handlers]
    for h in handlers:
        h.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for h, level in zip(handlers, levels):
            h.setLevel(level)


def parse_duration(text: str | None) -> float | None:
    """``"30m"`` -> 1800.0; plain numbers are seconds; s, m, h suffixes."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(f"Duration {text!r} is not a positive number of seconds, or a number with s, m or h (e.g. 30m).")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
