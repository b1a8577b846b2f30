"""Structure search: a searcher proposes structures, each child trains as a recorded run, its reward goes back.

A search is an Optuna study (SQLite ``<runs>/nas.db`` by default, any SQLAlchemy URL to share it between machines,
as tuning does) marked ``kind: nas``, holding its space, controller and seed; each child is one of its trials and the
recorded run ``<search>-c<number>`` (``extra`` links it to the search, with its structure, decisions and reward).
The searcher is rebuilt from the finished children in order (see nas_searchers.py), and the k-th proposal is drawn
with a seed of (search seed, finished children, children running elsewhere): a search stopped by Ctrl-C or a crash
continues with exactly the structures it would have tried. A child that fails to train (NaN loss, ...) is a finished
child with reward 0: the searcher learns to avoid it. Choices use validation accuracy only; the test split is
reported for the top structures retrained with the space's full recipe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch

from .config import MACHINE_KEYS, make_config
from .data import DigitData, data_for
from .errors import ConfigError, DigitlabError, RunError
from .models import count_params
from .nas_records import KIND, Child, best_children, children, load_search, search_space
from .nas_searchers import Proposal, Searcher, list_searchers, make_searcher
from .nas_space import Space
from .records import AfterRun
from .runner import run_training
from .store import RunStore
from .timing import p50_ms
from .tune_storage import STUDY_NAME, first_free, quiet_optuna, study_names

log = logging.getLogger("digitlab")


def open_search(
    name: str | None, space: Space | None, controller: str | None, seed: int, storage: optuna.storages.BaseStorage, prefix: str = "nas"
) -> optuna.Study:
    """Create a search (``space`` and ``controller`` given) or continue one by name (a different space is refused)."""
    if name is not None and not STUDY_NAME.match(name):
        raise ConfigError(f"Search name {name!r} must be 1-48 letters, digits, '_', '.' or '-', starting with a letter or digit.")
    if controller is not None and controller not in list_searchers():
        raise ConfigError(f"Unknown controller {controller!r}; choose from {', '.join(list_searchers())}.")
    taken = set(study_names(storage, None))
    if name is None:
        if space is None:
            raise ConfigError("Give --space to start a search, or --search NAME to continue one.")
        name = first_free(prefix, taken)
    if name in taken:
        study = load_search(name, storage)
        _check_same(study, space, controller)
        return study
    if space is None or controller is None:
        raise RunError(f"No search named {name!r} yet; give --space and --controller to start it.")
    with quiet_optuna():
        study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    for key, value in {"kind": KIND, "space": space.to_json(), "space_hash": space.hash(), "controller": controller, "seed": seed}.items():
        study.set_user_attr(key, value)
    return study


def _check_same(study: optuna.Study, space: Space | None, controller: str | None) -> None:
    attrs = study.user_attrs
    if space is not None and attrs["space_hash"] != space.hash():
        raise ConfigError(
            f"Search {study.study_name!r} was started with another structure space (hash {attrs['space_hash']}, now {space.hash()}); "
            "leave --space out to continue it, or choose another --search name."
        )
    if controller is not None and controller != attrs["controller"]:
        raise ConfigError(
            f"Search {study.study_name!r} uses the {attrs['controller']} controller, not {controller}; leave --controller out."
        )


class SearchState:
    """The search's searcher, kept up to date with the finished children (its own and other workers'), in order."""

    def __init__(self, study: optuna.Study, space: Space):
        self.study, self.space = study, space
        self.seed = int(study.user_attrs["seed"])
        self.searcher: Searcher = make_searcher(study.user_attrs["controller"], space, self.seed)
        self.seen: set[int] = set()

    def catch_up(self) -> list[Child]:
        done = children(self.study)
        for c in done:
            if c.number not in self.seen:
                self.searcher.observe(c.choices, c.reward)
                self.seen.add(c.number)
        return done

    def next_proposal(self) -> Proposal:
        """The next structure: a seed from (search seed, finished children, children running elsewhere)."""
        done = self.catch_up()
        running = len(self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)))
        return self.searcher.propose(self.seed * 1_000_003 + len(done) * 1_009 + running)


def latency_ms(model: torch.nn.Module, reps: int = 30) -> float:
    """Median milliseconds of one picture through the model (eval mode, no gradients)."""
    x = torch.zeros(1, 1, 28, 28)
    model.eval()
    with torch.inference_mode():
        return p50_ms(lambda: model(x), reps)


@dataclass
class ChildTrainer:
    """Trains one proposal with the space's proxy config as the recorded run ``<search>-c<number>``."""

    search: str
    space: Space
    store: RunStore
    runs_dir: Path
    data: DigitData

    def __call__(self, number: int, p: Proposal) -> Child:
        name = f"{self.search}-c{number}"
        cfg = make_config(
            {**self.space.proxy, "name": name, "model": "nas", "model_kwargs": {"structure": p.structure}, "test_every_epoch": False}
        )  # the test split once, when the child ends: it never chooses
        extra = {"search": self.search, "child": number, "structure": p.structure, "choices": p.choices}
        try:
            _, result = run_training(cfg, runs_dir=self.runs_dir, store=self.store, data=self.data, extra=extra)
        except DigitlabError as err:  # recorded as a failed run: a finished child worth nothing
            log.warning("child %s failed: %s", name, err)
            return Child(number, name, p.structure, p.choices, 0.0, 0.0, 0, None, 0.0, str(err)[:300])
        if result.status == "interrupted":
            raise KeyboardInterrupt
        params, lat = count_params(result.model), latency_ms(result.model)
        acc = float(result.best["val_acc"])
        return Child(number, name, p.structure, p.choices, self.space.reward(acc, params, lat), acc, params, lat, result.train_seconds)


def run_search(
    study: optuna.Study,
    store: RunStore,
    runs_dir: Path,
    budget: int,
    *,
    data: DigitData | None = None,
    data_dir: str | None = None,
    train: Callable[[int, Proposal], Child] | None = None,
    on_child: Callable[[Child], None] | None = None,
) -> list[Child]:
    """Train children until the search has ``budget`` finished ones; Ctrl-C leaves it resumable. Returns all children."""
    space = search_space(study)
    state = SearchState(study, space)
    if train is None:
        data = data or data_for(space.proxy, data_dir)
        train = ChildTrainer(study.study_name, space, store, Path(runs_dir), data)
    while len(state.catch_up()) < budget:
        proposal = state.next_proposal()
        trial = study.ask()
        for key, value in {
            "structure": proposal.structure,
            "choices": proposal.choices,
            "run": f"{study.study_name}-c{trial.number}",
        }.items():
            trial.set_user_attr(key, value)
        try:
            child = train(trial.number, proposal)
        except BaseException:  # Ctrl-C, SIGTERM, a crash: this child never finished, the search continues it later
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        _record(study, trial, child, store)
        if on_child:
            on_child(child)
    return state.catch_up()


def _record(study: optuna.Study, trial: optuna.Trial, child: Child, store: RunStore) -> None:
    numbers = {"val_acc": child.val_acc, "params": child.params, "latency_ms": child.latency_ms, "train_seconds": child.train_seconds}
    for key, value in {**numbers, "error": child.error}.items():
        if value is not None:
            trial.set_user_attr(key, value)
    study.tell(trial, child.reward)
    try:
        rec = store.get_run(child.run)
        store.update_run(rec.id, extra={**(rec.extra or {}), "reward": child.reward, **numbers})
    except RunError:  # refused before its run existed (a config error): nothing to annotate
        pass


def retrain(
    study: optuna.Study, store: RunStore, runs_dir: Path, top: int = 3, *, data_dir: str | None = None, after: list[AfterRun] | None = None
) -> list[tuple[Child, str, Any]]:
    """Retrain the ``top`` best structures with the space's full recipe as ``<search>-final<k>``: (child, run, result)."""
    space, out = search_space(study), []
    data = data_for(space.final, data_dir)
    for k, child in enumerate(best_children(children(study), top), start=1):
        cfg = make_config(
            {**space.final, "name": f"{study.study_name}-final{k}", "model": "nas", "model_kwargs": {"structure": child.structure}}
        )
        extra = {"search": study.study_name, "final": k, "structure": child.structure, "child": child.number}
        t0 = time.perf_counter()
        run, result = run_training(cfg, runs_dir=runs_dir, store=store, data=data, extra=extra, after=after or [])
        log.info("retrained %s (%s) in %.0f s", run, child.structure, time.perf_counter() - t0)
        out.append((child, run, result))
    return out


def export_config(study: optuna.Study, path: str | Path, pick: int | None = None) -> Path:
    """Write the best structure (or child ``pick``) with the space's full recipe as a config file for ``digitlab train``."""
    import yaml

    found = children(study)
    if not found:
        raise RunError(f"Search {study.study_name!r} has no finished child yet.")
    chosen = best_children(found)[0] if pick is None else next((c for c in found if c.number == pick), None)
    if chosen is None:
        raise RunError(f"Child {pick} of search {study.study_name!r} has not finished; `digitlab nas show {study.study_name}` lists them.")
    cfg = {k: v for k, v in search_space(study).final.items() if k not in MACHINE_KEYS}
    cfg.update(model="nas", model_kwargs={"structure": chosen.structure})
    header = (
        f"# Structure found by search {study.study_name!r} ({study.user_attrs['controller']}), child {chosen.number}: "
        f"proxy validation accuracy {100 * chosen.val_acc:.2f} %, {chosen.params:,} parameters.\n"
        f"# The search space's full recipe. Train it with: digitlab train --config {Path(path).name}\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(cfg, sort_keys=False))
    return path
