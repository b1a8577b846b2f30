"""One-factor experiments (ablations): a grid of config values x seeds, every cell a recorded run, one verdict each.

``digitlab ablate normalize=true,false --seeds 3`` trains every value of every factor (the grid is their product)
with each seed, on the same data split, as runs named ``<experiment>-t<number>`` whose ``extra`` links them to the
experiment. The experiment lives in an Optuna storage like a tuning study (SQLite beside the runs, or PostgreSQL
shared by several workers: each takes the next cell nobody has done), so Ctrl-C and a later
``digitlab ablate --experiment NAME`` go on where it stopped. ``lr=scaled`` keeps the learning rate per training image
constant when the batch size changes: lr = base lr x batch_size / base batch_size (the linear scaling rule,
Goyal et al. 2017, "Accurate, large minibatch SGD"). The verdict uses validation accuracy; test accuracy is shown apart.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from .config import FIELDS, MACHINE_KEYS, TrainConfig, config_identity, load_config, make_config, parse_overrides
from .data import DigitData, data_for
from .errors import ConfigError, DigitlabError, RunError
from .models.registry import check_model_args
from .runner import run_training
from .store import RunStore
from .tune_storage import STUDY_NAME, claimed_hash, first_free, load_study, quiet_optuna, study_names

KIND = "ablate"
NOT_FACTORS = ("name", "seed", *MACHINE_KEYS)  # seeds come from --seeds; machine keys change speed, not results


@dataclass(frozen=True)
class Factor:
    """One parameter and the values the experiment compares (the first is the reference)."""

    key: str
    values: tuple[Any, ...]


@dataclass
class Grid:
    """The experiment: the resolved base config, the factors, the seeds and how lr follows batch_size."""

    base: dict[str, Any]
    factors: list[Factor]
    seeds: list[int]
    lr_scaled: bool = False
    cells: list[dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.cells = [dict(zip([f.key for f in self.factors], vals)) for vals in itertools.product(*(f.values for f in self.factors))]

    def config(self, cell: int, seed: int) -> TrainConfig:
        """The full config of one cell and seed (lr scaled with the batch size under ``lr=scaled``)."""
        values = dict(self.cells[cell])
        if self.lr_scaled:
            values["lr"] = self.base["lr"] * values["batch_size"] / self.base["batch_size"]
        return make_config({**self.base, **values, "seed": seed})  # a bad value: the schema's sentence naming it

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "factors": [{"key": f.key, "values": list(f.values)} for f in self.factors],
            "seeds": self.seeds,
            "lr_scaled": self.lr_scaled,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Grid:
        return cls(d["base"], [Factor(f["key"], tuple(f["values"])) for f in d["factors"]], list(d["seeds"]), d["lr_scaled"])

    def hash(self) -> str:
        """Hash of what the experiment trains (machine keys and schema defaults of the base left out)."""
        d = {**self.to_json(), "base": config_identity(self.base)}
        return hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]

    def pairs(self) -> list[tuple[int, int]]:
        """Every (cell, seed) in the order they are trained: seed by seed, so a stopped experiment is balanced."""
        return [(c, s) for s in self.seeds for c in range(len(self.cells))]


def split_values(raw: str) -> list[str]:
    """``"64,128,[1,2]"`` -> ``["64", "128", "[1,2]"]``: commas inside brackets or braces belong to the value."""
    parts, depth, cur = [], 0, ""
    for ch in raw:
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [*parts, cur]


def parse_grid(items: Sequence[str], config: str | None = None, seeds: int = 3, first_seed: int = 0) -> Grid:
    """``["normalize=true,false", "epochs=3", "lr=scaled"]`` -> a validated Grid (one ConfigError sentence per mistake).

    An item with several comma-separated values is a factor; one value is a fixed override of the base.
    """
    if seeds < 1:
        raise ConfigError(f"--seeds {seeds}: an experiment needs at least one seed (3 or more give an uncertainty).")
    fixed, factors, lr_scaled = [], [], False
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{item!r} is not of the form key=value or key=value1,value2,...")
        if key == "lr" and raw == "scaled":
            lr_scaled = True
        elif len(values := split_values(raw)) > 1:
            factors.append(_factor(key, values))
        else:
            fixed.append(item)
    base = load_config(config, fixed).model_dump()
    grid = Grid(base, factors, list(range(first_seed, first_seed + seeds)), lr_scaled)
    _check(grid)
    return grid


def _factor(key: str, raw_values: list[str]) -> Factor:
    if key not in FIELDS:
        load_config(None, [f"{key}=0"])  # raises the schema's "Unknown parameter ... Did you mean ...?" sentence
    if key in NOT_FACTORS:
        raise ConfigError(
            f"{key} cannot be a factor of an experiment ({'use --seeds' if key == 'seed' else 'it does not change results'})."
        )
    values = tuple(parse_overrides([f"{key}={v}"])[key] for v in raw_values)
    if any(v is None for v in values) and FIELDS[key].default is not None:
        raise ConfigError(f"{key}={','.join(raw_values)} has an empty value; write each value out.")
    if len(set(map(repr, values))) < len(values):
        raise ConfigError(f"{key}={','.join(raw_values)} lists a value twice; each value once.")
    return Factor(key, values)


def _check(grid: Grid) -> None:
    """Refuse what cannot be compared: no factor, a key given twice, lr=scaled without a batch-size factor, a bad cell."""
    keys = [f.key for f in grid.factors]
    if not keys:
        raise ConfigError("Name at least one factor with two or more values, e.g. normalize=true,false or batch_size=64,128,800.")
    if len(set(keys)) < len(keys):
        raise ConfigError(f"Factor {next(k for k in keys if keys.count(k) > 1)!r} is given twice; list its values once, comma-separated.")
    if grid.lr_scaled and ("batch_size" not in keys or "lr" in keys):
        raise ConfigError(
            "lr=scaled keeps lr per image constant as batch_size changes: it needs a batch_size factor (e.g. batch_size=64,128,800) and no lr factor."
        )
    for i in range(len(grid.cells)):
        cfg = grid.config(i, grid.seeds[0])
        check_model_args(cfg.model, cfg.model_kwargs)


# ---------------------------------------------------------------- the experiment in a study storage
def open_experiment(
    name: str | None, grid: Grid | None, storage: optuna.storages.BaseStorage, store: RunStore
) -> tuple[optuna.Study, Grid]:
    """Create or continue an experiment; a name already used for another grid (or by other runs) is refused."""
    if name is not None and not STUDY_NAME.match(name):
        raise ConfigError(f"Experiment name {name!r} must be 1-48 letters, digits, '_', '.' or '-', starting with a letter or digit.")
    if grid is None:
        if name is None:
            raise ConfigError("Name factors to start an experiment (e.g. normalize=true,false), or --experiment NAME to continue one.")
        study = load_study(name, storage, KIND)
        return study, Grid.from_json(study.user_attrs["grid"])
    taken = study_names(storage, None)
    name = name or first_free("ablate", taken)
    if name in taken and name not in study_names(storage, KIND):
        raise ConfigError(f"{name!r} names a tuning study or structure search in this storage; choose another --experiment name.")
    if name not in taken and store.has_run(f"{name}-t0"):
        raise RunError(f"The run database already has runs named {name}-t...; choose another --experiment name.")
    with quiet_optuna():
        study = optuna.create_study(study_name=name, storage=storage, direction="maximize", load_if_exists=True)
    old = claimed_hash(study, "grid", grid.to_json(), grid.hash(), KIND)
    if old is not None:
        raise ConfigError(
            f"Experiment {name!r} was started with another grid (hash {old}, now {grid.hash()}); choose another --experiment "
            "name, or give only --experiment to continue it as it was."
        )
    return study, grid


def pending(study: optuna.Study, grid: Grid) -> list[tuple[int, int]]:
    """(cell, seed) pairs nobody has finished, is running or has queued (failed and interrupted ones run again)."""
    S = optuna.trial.TrialState
    busy = {
        (t.params["cell"], t.params["seed"])
        for t in study.get_trials(deepcopy=False, states=(S.COMPLETE, S.RUNNING, S.WAITING))
        if "cell" in t.params
    }
    return [p for p in grid.pairs() if p not in busy]


@dataclass
class CellRun:
    """Optuna objective: trains the trial's (cell, seed) as the recorded run ``<experiment>-t<number>``."""

    grid: Grid
    store: RunStore
    runs_dir: Path
    data_dir: str | None = None
    cache: dict[tuple[Any, ...], DigitData] = field(default_factory=dict)

    def __call__(self, trial: optuna.Trial) -> float:
        cell = trial.suggest_categorical("cell", list(range(len(self.grid.cells))))
        seed = trial.suggest_categorical("seed", self.grid.seeds)
        name = f"{trial.study.study_name}-t{trial.number}"
        trial.set_user_attr("run", name)
        cfg = self.grid.config(cell, seed).model_copy(update={"name": name, "calibrate": False, "test_every_epoch": False})
        _, result = run_training(
            cfg,
            runs_dir=self.runs_dir,
            store=self.store,
            data=self._data(cfg),
            extra={"experiment": trial.study.study_name, "cell": cell, "seed": seed},
        )
        if result.status == "interrupted":  # the trial is failed and runs again when the experiment continues
            raise KeyboardInterrupt
        rec = self.store.get_run(name)
        trial.set_user_attr("test_acc", rec.test_acc)
        trial.set_user_attr("train_seconds", result.train_seconds)
        return float(result.best["val_acc"])

    def _data(self, cfg: TrainConfig) -> DigitData:
        """Loaded once per split and subset: the data is the same for every cell unless a factor changes it."""
        key = (cfg.dataset, cfg.val_size, cfg.split_seed, cfg.train_subset)
        if key not in self.cache:
            self.cache[key] = data_for(cfg.model_dump(), self.data_dir)
        return self.cache[key]


def run_experiment(
    study: optuna.Study,
    grid: Grid,
    objective: CellRun,
    limit: int | None = None,
    on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
) -> int:
    """Train pending cells (at most ``limit``) until none is left; returns how many this process trained.

    A cell that fails (e.g. its loss diverged) is failed and left for a later call. Each is queued with its (cell, seed) and run by Optuna (heartbeats: a killed worker's cell becomes failed and is
    taken again); several workers on one storage each take the next pending cell.
    """
    S, done, tried = optuna.trial.TrialState, 0, set()
    while limit is None or done < limit:
        todo = [p for p in pending(study, grid) if p not in tried]  # a cell that failed here (diverged) is not retried here
        if not todo and not study.get_trials(deepcopy=False, states=(S.WAITING,)):
            break
        if todo:  # else: a queued cell whose worker stopped before taking it
            study.enqueue_trial({"cell": todo[0][0], "seed": todo[0][1]})
            tried.add(todo[0])
        with quiet_optuna():
            study.optimize(objective, n_trials=1, catch=(DigitlabError,), callbacks=[on_trial] if on_trial else [])
        done += 1
    return done


def experiment_names(storage: optuna.storages.BaseStorage) -> list[str]:
    return study_names(storage, KIND)


def cell_label(cell: dict[str, Any]) -> str:
    """``{"normalize": False, "epochs": 3}`` -> ``normalize=false epochs=3``."""
    return " ".join(f"{k}={value_text(v)}" for k, v in cell.items())


def value_text(v: Any) -> str:
    return json.dumps(v) if not isinstance(v, str) else (v if re.fullmatch(r"[\w.+-]+", v) else json.dumps(v))
