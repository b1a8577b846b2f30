"""Reading structure searches (no training here: the server and the reports read searches through this).

A search is an Optuna study marked ``kind: nas`` (SQLite ``<runs>/nas.db`` by default); each finished trial is a
child with its structure, decisions, reward and the figures the reward was made of (see nas.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from .models.nas import parse_structure
from .nas_space import Space, decisions_hint, parse_space
from .tune_storage import TOLERANCE, load_study, study_names

KIND = "nas"


def default_storage(runs_dir: str | Path = "runs") -> str:
    """SQLite beside the run database: ``<runs>/nas.db``."""
    return f"sqlite:///{Path(runs_dir) / 'nas.db'}"


@dataclass(frozen=True)
class Child:
    """One finished child: its trial number, run, structure, decisions, reward and what the reward was made of."""

    number: int
    run: str
    structure: str
    choices: dict[str, Any]
    reward: float
    val_acc: float
    params: int
    latency_ms: float | None
    train_seconds: float
    error: str | None = None


def search_names(storage: optuna.storages.BaseStorage) -> list[str]:
    return study_names(storage, KIND)


def load_search(name: str, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """An existing search; an unknown name (or a tuning study's) gets the closest search names."""
    return load_study(name, storage, KIND)


def search_space(study: optuna.Study) -> Space:
    """The space a search was started with (its full proxy and final configs are stored, so files may change since)."""
    d = dict(study.user_attrs["space"])
    blocks = {"min": d.pop("min_blocks"), "max": d.pop("max_blocks")}
    proxy, final = ({k: v for k, v in d.pop(key).items() if k not in ("model", "model_kwargs")} for key in ("proxy", "final"))
    return parse_space({**d, "blocks": blocks, "proxy": proxy, "final": final}, f"of search {study.study_name!r}")


def children(study: optuna.Study) -> list[Child]:
    """The finished children, in trial order."""
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return [_child(t) for t in sorted(done, key=lambda t: t.number)]


def _child(t: optuna.trial.FrozenTrial) -> Child:
    a = t.user_attrs
    return Child(
        t.number, a["run"], a["structure"], a["choices"], float(t.value or 0.0), a.get("val_acc", 0.0),
        a.get("params", 0), a.get("latency_ms"), a.get("train_seconds", 0.0), a.get("error"),
    )  # fmt: skip


def best_children(found: list[Child], top: int = 1) -> list[Child]:
    """The ``top`` best distinct structures by reward (ties: the earlier child)."""
    out: dict[str, Child] = {}
    for c in sorted(found, key=lambda c: (-c.reward, c.number)):
        out.setdefault(c.structure, c)
    return list(out.values())[:top]


def quarter_means(found: list[Child]) -> list[float]:
    """Mean proxy validation accuracy of each quarter of the children, in order (empty below 4 children)."""
    n = len(found) // 4
    if n == 0:
        return []
    parts = [found[i * n : (i + 1) * n] if i < 3 else found[3 * n :] for i in range(4)]
    return [sum(c.val_acc for c in part) / len(part) for part in parts]


def trainings_to_reach(found: list[Child], target: float, tolerance: float = TOLERANCE) -> int | None:
    """How many children it took to first come within ``tolerance`` of ``target`` accuracy (None: never)."""
    for i, c in enumerate(found, start=1):
        if c.val_acc >= target - tolerance:
            return i
    return None


def search_report(study: optuna.Study, top: int = 5) -> dict[str, Any]:
    """What ``digitlab nas show`` prints and the web app draws: the children, quarters, best structures as blocks."""
    found = children(study)
    best = max((c.val_acc for c in found), default=None)
    return {
        "name": study.study_name,
        "controller": study.user_attrs["controller"],
        "seed": study.user_attrs["seed"],
        "space": decisions_hint(search_space(study)),
        "running": len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))),
        "children": [_row(c) for c in found],
        "quarters": quarter_means(found),
        "trainings_to_best": trainings_to_reach(found, best) if best is not None else None,
        "best": [{**_row(c), "blocks": [vars(b) for b in parse_structure(c.structure)]} for c in best_children(found, top)],
    }


def _row(c: Child) -> dict[str, Any]:
    keys = ("number", "run", "structure", "reward", "val_acc", "params", "latency_ms", "train_seconds", "error")
    return {k: getattr(c, k) for k in keys}


def search_list(storage: optuna.storages.BaseStorage) -> list[dict[str, Any]]:
    """One line per search: controller, finished children, best proxy validation accuracy and its structure."""
    out = []
    for name in search_names(storage):
        study = load_search(name, storage)
        found = children(study)
        top = best_children(found)
        out.append({
            "name": name, "controller": study.user_attrs["controller"], "children": len(found),
            "best_val_acc": top[0].val_acc if top else None, "best_structure": top[0].structure if top else None,
        })  # fmt: skip
    return out
