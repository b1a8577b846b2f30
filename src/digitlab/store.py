"""The run database (SQLAlchemy Core): runs, their per-epoch metrics and promoted models.

SQLite at ``runs/digitlab.db`` by default (WAL mode, waits for locks); any
SQLAlchemy URL (``--db`` / ``$DIGITLAB_DB``), e.g. PostgreSQL for a team.
Every write is one transaction, so a crash never leaves half a record.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

from .config import GenConfig, TrainConfig, make_config, make_gen_config
from .errors import RunError, StoreError
from .records import EPOCH_METRICS, GEN_EPOCH_METRICS, RunRecord

EPOCH_COLUMNS = (*EPOCH_METRICS, *(c for c in GEN_EPOCH_METRICS if c not in EPOCH_METRICS))  # one table for both tasks

meta = sa.MetaData()
BUSY_TIMEOUT_S = 30.0  # how long a SQLite writer waits for another process's lock before "locked"
EMPTY_GRACE_S = 5.0  # a 0-byte SQLite file younger than this is being created by another process right now

runs = sa.Table(
    "runs",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),  # running | completed | early-stopped | interrupted | failed
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("dataset", sa.String(32), nullable=False),
    sa.Column("config", sa.Text, nullable=False),  # resolved TrainConfig as JSON
    sa.Column("generation", sa.Integer),
    sa.Column("parent", sa.String(64)),
    sa.Column("seed", sa.Integer),
    sa.Column("git_commit", sa.String(64)),
    sa.Column("host", sa.String(128)),
    sa.Column("pid", sa.Integer),  # the training process, with host: who holds the run
    sa.Column("heartbeat_at", sa.DateTime),  # refreshed while training; an old one means the trainer died
    sa.Column("versions", sa.Text),
    sa.Column("run_dir", sa.Text),
    sa.Column("created_at", sa.DateTime),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("epochs_done", sa.Integer, default=0),
    sa.Column("train_seconds", sa.Float),
    sa.Column("eval_seconds", sa.Float),
    sa.Column("best_epoch", sa.Integer),
    sa.Column("best_val_acc", sa.Float),
    sa.Column("best_val_loss", sa.Float),
    sa.Column("test_acc", sa.Float),
    sa.Column("test_loss", sa.Float),  # at the best validation epoch
    sa.Column("message", sa.Text),
    sa.Column("extra", sa.Text),  # JSON: study/trial links, ood results, ...
    sa.Column("task", sa.String(16)),  # classify | generate (NULL in databases made before: classify)
)
epochs = sa.Table(
    "epochs",
    meta,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("epoch", sa.Integer, primary_key=True),
    *[sa.Column(c, sa.Float) for c in EPOCH_COLUMNS],
)
promoted = sa.Table(
    "promoted",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime),
    sa.UniqueConstraint("name", "version"),
)


def default_url(runs_dir: str | Path = "runs") -> str:
    """``$DIGITLAB_DB`` or SQLite inside the runs folder."""
    return os.environ.get("DIGITLAB_DB") or f"sqlite:///{Path(runs_dir) / 'digitlab.db'}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _row(r: Any) -> dict[str, Any]:
    return dict(r._mapping)


def _record(r: Any) -> RunRecord:
    """A database row decoded once: config, versions and extras parsed, the run folder a Path."""
    row = dict(r._mapping)
    row["task"] = row["task"] or "classify"
    row["config"] = (make_gen_config if row["task"] == "generate" else make_config)(json.loads(row["config"]))
    row["versions"] = json.loads(row["versions"] or "{}")
    row["extra"] = json.loads(row["extra"] or "{}")
    row["run_dir"] = Path(row["run_dir"] or "")
    row["epochs_done"] = row["epochs_done"] or 0
    return RunRecord(**row)


@dataclass(frozen=True)
class PromotedRecord:
    """One promoted model version."""

    name: str
    version: int
    run: str | None  # the run it came from
    path: Path
    created_at: dt.datetime | None


class RunStore:
    """Typed access to the run database; every method is one transaction."""

    def __init__(self, url: str | None = None, runs_dir: str | Path = "runs"):
        self.url = url or default_url(runs_dir)
        try:
            if self.url.startswith("sqlite:///"):
                Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                _refuse_empty_file(Path(self.url.removeprefix("sqlite:///")))
            self.engine = sa.create_engine(
                self.url, **({"connect_args": {"timeout": BUSY_TIMEOUT_S}} if self.url.startswith("sqlite") else {"pool_pre_ping": True})
            )
            if self.url.startswith("sqlite"):
                event.listen(self.engine, "connect", _sqlite_pragmas)
            self._create_tables()
        except (ArgumentError, ImportError) as err:
            raise StoreError(f"Database URL {self.url!r} is not usable: {err}.") from err
        except OSError as err:
            raise StoreError(f"Cannot create the run database folder for {self.url}: {err.strerror}.") from err
        except DatabaseError as err:  # SQLITE_NOTADB: garbage, another format, an encrypted file
            if "not a database" not in str(err):
                raise _store_error(self.url, err) from err
            raise StoreError(f"The run database {self.url} is not a SQLite database; move that file away or point --db elsewhere.") from err

    def _tx(self) -> Any:
        return _Tx(self)

    def _create_tables(self) -> None:
        """Create the missing tables; another process creating them at the same moment is not an error."""
        for attempt in range(len(meta.tables) + 2):
            try:
                with self.engine.begin() as c:
                    meta.create_all(c)
                    _add_new_columns(c)
                return
            except (OperationalError, IntegrityError, ProgrammingError) as err:  # create_all checks, then creates: not atomic
                raced = any(
                    w in str(err) for w in ("already exists", "duplicate key", "duplicate column")
                )  # SQLite / PostgreSQL wording of the race
                if not raced or attempt == len(meta.tables) + 1:
                    raise _store_error(self.url, err) from err

    # -- runs
    def create_run(self, name: str, config: TrainConfig | GenConfig, run_dir: str, evidence: dict[str, Any]) -> int:
        """Insert a ``running`` run (a generative one for a GenConfig); the name must be new."""
        values = dict(
            name=name,
            task="generate" if isinstance(config, GenConfig) else "classify",
            status="running",
            model=config.model,
            dataset=config.dataset,
            config=config.model_dump_json(),
            generation=config.generation,
            parent=config.parent,
            seed=config.seed,
            git_commit=evidence.get("git_commit"),
            host=evidence.get("host"),
            versions=json.dumps(evidence.get("versions", {})),
            run_dir=run_dir,
            created_at=_now(),
            epochs_done=0,
        )
        try:
            with self._tx() as c:
                return c.execute(runs.insert().values(**values)).inserted_primary_key[0]
        except IntegrityError as err:
            raise RunError(f"A run named {name!r} is already recorded; choose another name.") from err

    def update_run(self, run_id: int, **values: Any) -> None:
        """Set columns of one run (``extra`` may be a dict; it is merged into the stored JSON)."""
        with self._tx() as c:
            if isinstance(values.get("extra"), dict):
                old = c.execute(sa.select(runs.c.extra).where(runs.c.id == run_id)).scalar()
                values["extra"] = json.dumps({**json.loads(old or "{}"), **values["extra"]})
            if values.get("status") not in (None, "running"):
                values.setdefault("finished_at", _now())
            c.execute(runs.update().where(runs.c.id == run_id).values(**values))

    def add_epoch(self, run_id: int, m: dict[str, Any]) -> None:
        """Record one epoch's metrics (replacing a row of the same epoch, as a resumed run rewrites it)."""
        with self._tx() as c:
            c.execute(epochs.delete().where(epochs.c.run_id == run_id, epochs.c.epoch >= m["epoch"]))
            c.execute(epochs.insert().values(run_id=run_id, epoch=m["epoch"], **{k: _num(m.get(k)) for k in EPOCH_COLUMNS}))
            c.execute(runs.update().where(runs.c.id == run_id).values(epochs_done=m["epoch"]))

    def beat(self, run_id: int, pid: int | None = None) -> None:
        """Refresh a run's heartbeat (and, when given, record the process that trains it)."""
        values: dict[str, Any] = {"heartbeat_at": _now()}
        if pid is not None:
            values["pid"] = pid
        with self._tx() as c:
            c.execute(runs.update().where(runs.c.id == run_id).values(**values))

    def list_runs(
        self, generation: int | None = None, model: str | None = None, status: str | None = None, task: str | None = None
    ) -> list[RunRecord]:
        """Runs, oldest first, optionally filtered (``task``: classify or generate)."""
        q = sa.select(runs).order_by(runs.c.id)
        for col, val in (("generation", generation), ("model", model), ("status", status)):
            if val is not None:
                q = q.where(runs.c[col] == val)
        if task is not None:
            q = q.where(sa.func.coalesce(runs.c.task, "classify") == task)
        with self._tx() as c:
            return [_record(r) for r in c.execute(q)]

    def get_run(self, name: str) -> RunRecord:
        """One run by name; an unknown name gets the closest known ones."""
        with self._tx() as c:
            r = c.execute(sa.select(runs).where(runs.c.name == name)).first()
            if r is None:
                names = [n for (n,) in c.execute(sa.select(runs.c.name))]
        if r is None:
            close = difflib.get_close_matches(name, names, n=3)
            raise RunError(f"No run named {name!r}" + (f"; did you mean {', '.join(close)}?" if close else "; `digitlab runs` lists them."))
        return _record(r)

    def has_run(self, name: str) -> bool:
        with self._tx() as c:
            return c.execute(sa.select(runs.c.id).where(runs.c.name == name)).first() is not None

    def epochs(self, run_id: int) -> list[dict[str, Any]]:
        """Per-epoch metrics of one run, in order (a column of the other task's figures only when it holds a value)."""
        with self._tx() as c:
            rows = [_row(r) for r in c.execute(sa.select(epochs).where(epochs.c.run_id == run_id).order_by(epochs.c.epoch))]
        return [{k: v for k, v in r.items() if v is not None or k in EPOCH_METRICS} for r in rows]

    # -- promoted models
    def add_promoted(self, name: str, version: int, run_id: int, path: str) -> None:
        try:
            with self._tx() as c:
                c.execute(promoted.insert().values(name=name, version=version, run_id=run_id, path=path, created_at=_now()))
        except IntegrityError as err:
            raise RunError(f"Model {name!r} version {version} is already promoted.") from err

    def list_promoted(self) -> list[PromotedRecord]:
        """Every promoted model version, by name then version."""
        cols = (promoted.c.name, promoted.c.version, runs.c.name.label("run"), promoted.c.path, promoted.c.created_at)
        q = sa.select(*cols).join(runs, promoted.c.run_id == runs.c.id, isouter=True)
        with self._tx() as c:
            return [
                PromotedRecord(r.name, r.version, r.run, Path(r.path), r.created_at)
                for r in c.execute(q.order_by(promoted.c.name, promoted.c.version))
            ]


def _add_new_columns(c: sa.Connection) -> None:
    """Columns added after a database was first made (``pid``, ``heartbeat_at``, ``task``, the generative figures)."""
    for table in (runs, epochs):
        have = {col["name"] for col in sa.inspect(c).get_columns(table.name)}
        for col in table.columns:
            if col.name not in have:
                c.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {col.name} {col.type.compile(c.dialect)}"))


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and v != v) else float(v)  # NaN -> NULL


def _refuse_empty_file(path: Path) -> None:
    """SQLite takes a 0-byte file for a new database: every recorded run would silently vanish from the listing."""
    try:
        st = path.stat()
    except OSError:
        return  # missing (created on connect) or unreadable (reported on connect)
    if path.is_file() and st.st_size == 0 and time.time() - st.st_mtime > EMPTY_GRACE_S:
        raise StoreError(
            f"The run database {path} is an empty file (0 bytes), so it holds no runs; restore it from a backup, or delete it to start a new one."
        )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")  # wait for another writer
    cur.execute("PRAGMA foreign_keys=ON")
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:  # readers never block the writer; switching a new file to WAL fails at once (no busy wait) while another process holds it
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    cur.close()


class _Tx:
    """``with store._tx() as conn``: one transaction; database failures become StoreError."""

    def __init__(self, store: RunStore):
        self.store = store

    def __enter__(self) -> sa.Connection:
        try:
            self.ctx = self.store.engine.begin()
            return self.ctx.__enter__()
        except OperationalError as err:
            raise _store_error(self.store.url, err) from err

    def __exit__(self, *exc: Any) -> None:
        try:
            self.ctx.__exit__(*exc)
        except OperationalError as err:
            raise _store_error(self.store.url, err) from err
        if exc[0] is not None and issubclass(exc[0], OperationalError):
            raise _store_error(self.store.url, exc[1]) from exc[1]
        if exc[0] is not None and issubclass(exc[0], SQLAlchemyError) and not issubclass(exc[0], IntegrityError):
            raise StoreError(f"The run database {self.store.url} failed: {str(exc[1]).splitlines()[0]}.") from exc[1]


def _store_error(url: str, err: Exception) -> StoreError:
    text = str(err).lower()
    if "locked" in text or "busy" in text:
        return StoreError(f"The run database {url} is locked by another process; wait for it to finish or point --db elsewhere.")
    return StoreError(f"Cannot use the run database {url}: {str(err).splitlines()[0][:200]}.")
