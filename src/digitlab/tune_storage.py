"""Where tuning studies live: Optuna RDB storages (SQLite beside the runs, or a shared server), finding and loading
studies, and the search space a study was started with. No training here: the server reads studies through this.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import re
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import optuna

from .errors import RunError, StoreError
from .tune_space import Param, Space

STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
TOLERANCE = 0.001  # "within 0.1 percentage point" of the best validation accuracy


def default_storage(runs_dir: str | Path = "runs") -> str:
    """SQLite beside the run database: ``<runs>/optuna.db`` (one machine; several local workers are fine)."""
    return f"sqlite:///{Path(runs_dir) / 'optuna.db'}"


def shown_url(url: str) -> str:
    """The URL with any password hidden."""
    try:
        import sqlalchemy

        return sqlalchemy.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def open_storage(
    url: str, heartbeat: int | None = 30, on_stale: Callable[[optuna.Study, Any], None] | None = None
) -> optuna.storages.RDBStorage:
    """An Optuna RDB storage with heartbeats (a trial silent for 2 x ``heartbeat`` s is failed by the next worker).

    Connecting fails within seconds (connect timeout) with one StoreError sentence.
    """
    import sqlalchemy

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs: dict[str, Any] = {"connect_args": {"timeout": 30}}
    elif url.startswith(("postgresql", "mysql")):
        engine_kwargs = {"connect_args": {"connect_timeout": 5}, "pool_pre_ping": True}
    else:
        engine_kwargs = {}
    cb = "heartbeat_stale_trial_callback"  # Optuna >= 4.9; failed_trial_callback before
    cb = cb if cb in inspect.signature(optuna.storages.RDBStorage).parameters else "failed_trial_callback"
    beats = {"heartbeat_interval": heartbeat, "grace_period": 2 * heartbeat, cb: on_stale} if heartbeat else {}
    for attempt in range(5):  # workers starting together race to create the tables: the loser tries again
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **beats)
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError, RuntimeError) as err:
            first = re.sub(r"^\([\w.]+\) ", "", str(err).strip().splitlines()[0]) if str(err).strip() else type(err).__name__
            if attempt < 4 and any(w in first.lower() for w in ("already exists", "duplicate key", "unique constraint", "locked")):
                time.sleep(0.2 * (attempt + 1))
                continue
            raise StoreError(f"Cannot open the study storage {shown_url(url)}: {first[:200]}; check --storage.") from err
    raise AssertionError("unreachable")


def first_free(prefix: str, taken: set[str] | list[str]) -> str:
    """``<prefix>-1``, or the first ``<prefix>-N`` not in ``taken``: a new study, search or experiment's default name."""
    return next(f"{prefix}-{i}" for i in range(1, 10_000) if f"{prefix}-{i}" not in taken)


def study_names(storage: optuna.storages.BaseStorage, kind: str | None = "tune") -> list[str]:
    """Names of the studies of ``kind``: ``tune`` (tuning studies carry no kind), ``nas`` (structure searches), None: all."""
    summaries = optuna.study.get_all_study_summaries(storage, include_best_trial=False)
    return [s.study_name for s in summaries if kind is None or s.user_attrs.get("kind", "tune") == kind]


KIND_WORDS = {  # kind -> (noun, lister)
    "tune": ("study", "`digitlab studies`"),
    "nas": ("structure search", "`digitlab nas list`"),
    "ablate": ("experiment", "`digitlab experiments`"),
}


def load_study(name: str, storage: optuna.storages.BaseStorage, kind: str = "tune") -> optuna.Study:
    """An existing study of ``kind`` (tuning study or structure search); an unknown name gets the closest ones of that kind."""
    names = study_names(storage, kind)
    if name not in names:
        noun, lister = KIND_WORDS[kind]
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; {lister} lists them."
        raise RunError(f"No {noun} named {name!r} in {shown_url(storage.url)}{hint}")
    return optuna.load_study(study_name=name, storage=storage)


def stored_space(study: optuna.Study) -> Space:
    """The space a study was started with (kept in its user attributes)."""
    d = study.user_attrs.get("space")
    if not d:
        raise RunError(f"Study {study.study_name!r} was not started by digitlab tune (it has no search space); give --space.")
    params = [
        Param(
            p["name"],
            p["type"],
            p.get("low"),
            p.get("high"),
            p.get("step"),
            tuple(p.get("choices", ())),
            {k: tuple(v) for k, v in p.get("when", {}).items()},
        )
        for p in d["params"]
    ]
    return Space(d["base"], params, d["objectives"])


def claimed_hash(study: optuna.Study, key: str, value: dict[str, Any], digest: str, kind: str | None = None) -> str | None:
    """Record ``value`` and its ``digest`` (and ``kind``) on a new study; on an existing one, the digest it was started
    with when that differs from ``digest`` (the caller refuses to mix two setups), else None."""
    old = study.user_attrs.get(f"{key}_hash")
    if old is None:
        if kind is not None:
            study.set_user_attr("kind", kind)
        study.set_user_attr(key, value)
        study.set_user_attr(f"{key}_hash", digest)
    return old if old is not None and old != digest else None


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's own log lines (study created, trial finished or failed) silenced: the lab prints its own."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)
