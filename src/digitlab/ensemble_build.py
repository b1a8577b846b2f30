"""``digitlab ensemble build NAME --budget 30m``: train a diverse pool of members within a time budget.

The pool's recipes are the shipped preset ``presets/ensemble/pool.yaml`` (or another file), trained round after
round with a new seed each round until the budget is spent. Each member is an ordinary recorded run, tagged
``extra={"ensemble_build": NAME}`` so that a build stopped by Ctrl-C resumes where it stopped: the members already
recorded count against the budget and are not trained again. The ensemble is chosen from the pool on validation
(``digitlab.ensemble``); building does not read the test split.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .checkpoint import model_from_checkpoint
from .config import TrainConfig, load_config, read_yaml
from .data import DigitData, load_digits
from .ensemble import load_members, member_probs
from .errors import ConfigError
from .presets import resolve_preset
from .records import RunRecord
from .runner import run_training
from .store import RunStore

TAG = "ensemble_build"
ESTIMATE_MARGIN = 1.1  # a member expected (its recipe's last time, else the members' mean) to overrun by > 10 % is not started


@dataclass(frozen=True)
class Recipe:
    """One entry of the pool: a preset and its overrides."""

    preset: str
    kind: str  # "config" or "zoo"
    overrides: tuple[str, ...]

    def config(self, name: str, seed: int, threads: int) -> TrainConfig:
        base = load_config(resolve_preset(self.preset, self.kind), list(self.overrides))
        return base.model_copy(update={"name": name, "seed": seed, "threads": threads, "calibrate": False})


@dataclass(frozen=True)
class BuildProgress:
    """What ``on_member`` is told after each member: members trained, seconds spent and left, the last member."""

    members: int
    spent_s: float
    left_s: float
    last: str
    last_val_acc: float | None


def read_pool(path: str | Path = "pool") -> list[Recipe]:
    """The recipes of a pool file (a path, or a shipped pool by name)."""
    data = read_yaml(resolve_preset(path, "ensemble", label="Ensemble pool"))
    entries = data.get("members") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"Ensemble pool {path} has no members: a list of {{config: NAME}} or {{zoo: NAME}} with overrides.")
    return [_recipe(e, i) for i, e in enumerate(entries)]


def _recipe(entry: Any, i: int) -> Recipe:
    if not isinstance(entry, dict) or len({"config", "zoo"} & set(entry)) != 1:
        raise ConfigError(f"Ensemble pool member {i + 1} needs exactly one of config: NAME or zoo: NAME.")
    kind = "config" if "config" in entry else "zoo"
    overrides = entry.get("overrides") or []
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise ConfigError(f"Ensemble pool member {i + 1}: overrides must be a list of key=value texts.")
    return Recipe(str(entry[kind]), kind, tuple(overrides))


def pool_members(store: RunStore, build: str) -> list[RunRecord]:
    """The completed members a build has recorded so far, oldest first."""
    return [r for r in store.list_runs(status="completed") if r.extra.get(TAG, {}).get("name") == build]


def build_pool(
    build: str,
    budget_s: float,
    *,
    store: RunStore,
    runs_dir: Path,
    pool: list[Recipe],
    seed: int = 0,
    threads: int = 2,
    data_dir: str | None = None,
    on_member: Callable[[BuildProgress], None] | None = None,
) -> list[RunRecord]:
    """Train members round after round until ``budget_s`` seconds (wall clock, member by member) are spent."""
    done = pool_members(store, build)
    spent = sum(r.extra[TAG]["seconds"] for r in done)
    last_time: dict[int, float] = {r.extra[TAG]["recipe"]: r.extra[TAG]["seconds"] for r in done}
    i = len(done) + sum(1 for r in store.list_runs() if r.extra.get(TAG, {}).get("name") == build and r.status != "completed")
    while spent < budget_s:
        k = i % len(pool)
        expected = last_time.get(k, sum(last_time.values()) / len(last_time) if last_time else 0.0)  # its recipe's last time
        if spent + expected > budget_s * ESTIMATE_MARGIN:
            break  # the next member would overrun the budget
        cfg = pool[k].config(f"{build}-m{i + 1}", seed + i, threads)
        t0 = time.monotonic()
        extra = {TAG: {"name": build, "recipe": k, "round": i // len(pool), "seconds": 0.0}}
        name, result = run_training(cfg, runs_dir=runs_dir, store=store, data_dir=data_dir, extra=extra)
        seconds = time.monotonic() - t0
        store.update_run(store.get_run(name).id, extra={TAG: {**extra[TAG], "seconds": round(seconds, 1)}})
        spent += seconds
        last_time[k] = seconds
        i += 1
        if on_member is not None:
            on_member(BuildProgress(len(pool_members(store, build)), spent, max(budget_s - spent, 0.0), name, result.best.get("val_acc")))
    return pool_members(store, build)


class PoolScore:
    """The build's progress figure: the validation accuracy of the plain mean of the members so far.

    Each new member is evaluated once on the members' shared validation split (no test data is read).
    """

    def __init__(self, store: RunStore, models_dir: Path = Path("models"), data_dir: str | None = None):
        self.store, self.models_dir, self.data_dir = store, models_dir, data_dir
        self.probs: list[torch.Tensor] = []  # (N_val, C) per member
        self.data: DigitData | None = None

    def add(self, run: str) -> float:
        """Add member ``run``; the mean of all members' validation accuracy now."""
        member = load_members([run], self.store, self.models_dir)[0]
        if self.data is None:
            dataset, val_size, split_seed = member.split
            self.data = load_digits(dataset, val_size, split_seed, 0, self.data_dir)
        net = model_from_checkpoint(member.ckpt)
        self.probs.append(member_probs([net], [dict(member.ckpt["norm"])], self.data.val_x, False)[0])
        mean = torch.stack(self.probs).mean(0)
        return (mean.argmax(1) == self.data.val_y).double().mean().item()
