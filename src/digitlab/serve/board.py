"""What every worker process of one server shares, kept in the run database: the training jobs and the model choice.

``digitlab serve --workers N`` starts N processes; a request may reach any of them. So the queue and the model
Recognise uses cannot live in one process's memory: each server start gets an ``instance`` id, and its jobs and its
current model are rows keyed by it. Claiming a job is one conditional UPDATE of the server's row (``running_job IS
NULL``), atomic in SQLite and PostgreSQL alike, so one job trains at a time across all workers.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ..store import RunStore

meta = sa.MetaData()
servers = sa.Table(
    "serve_instances",
    meta,
    sa.Column("instance", sa.String(40), primary_key=True),
    sa.Column("model_ref", sa.Text),  # what Recognise uses: run name, promoted model or checkpoint path
    sa.Column("model_version", sa.Integer, nullable=False, default=0),  # bumped on every switch
    sa.Column("running_job", sa.Integer),  # the job training now (NULL: none); one at a time per server
    sa.Column("created", sa.Float),
)
jobs = sa.Table(
    "serve_jobs",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance", sa.String(40), nullable=False, index=True),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("run", sa.String(64)),
    sa.Column("message", sa.Text),
    sa.Column("created", sa.Float),
    sa.Column("started", sa.Float),
    sa.Column("finished", sa.Float),
    sa.Column("progress", sa.Text),  # JSON
    sa.Column("history", sa.Text),  # JSON list of per-epoch metrics
    sa.Column("version", sa.Integer, nullable=False, default=0),
    sa.Column("cancel", sa.Boolean, nullable=False, default=False),  # asked to stop (the training worker polls it)
)
FIELDS = ("status", "run", "message", "started", "finished", "progress", "history")  # what the training worker writes


@dataclass(frozen=True)
class JobRow:
    """One job as the database holds it."""

    id: str
    config: dict[str, Any]
    status: str
    run: str | None
    message: str | None
    created: float
    started: float | None
    finished: float | None
    progress: dict[str, Any]
    history: list[dict[str, Any]]
    version: int
    cancel: bool


def job_id(n: int) -> str:
    return f"job-{n}"


def job_number(jid: str) -> int | None:
    """``job-12`` -> 12; anything else -> None (an unknown job)."""
    head, _, n = jid.partition("-")
    return int(n) if head == "job" and n.isdigit() and len(n) < 12 else None


def _row(r: Any) -> JobRow:
    return JobRow(
        job_id(r.id), json.loads(r.config), r.status, r.run, r.message, r.created, r.started, r.finished,
        json.loads(r.progress or "{}"), json.loads(r.history or "[]"), r.version, bool(r.cancel),
    )  # fmt: skip


class Board:
    """The shared state of one server instance in a database (the run database, or a private in-memory one)."""

    def __init__(self, engine: sa.Engine, instance: str | None = None):
        self.engine, self.instance = engine, instance or uuid.uuid4().hex
        self.folder: tempfile.TemporaryDirectory[str] | None = None  # a private board's folder
        meta.create_all(engine)
        with engine.begin() as c:
            if c.execute(sa.select(servers.c.instance).where(servers.c.instance == self.instance)).first() is None:
                c.execute(servers.insert().values(instance=self.instance, model_version=0, created=time.time()))

    @classmethod
    def of(cls, store: RunStore, instance: str | None = None) -> Board:
        return cls(store.engine, instance)

    @classmethod
    def private(cls) -> Board:
        """A board of its own in a temporary SQLite file, removed with the board (a queue without a server, tests)."""
        folder = tempfile.TemporaryDirectory(prefix="digitlab-board-")
        board = cls(sa.create_engine(f"sqlite:///{Path(folder.name) / 'board.db'}", poolclass=NullPool))
        board.folder = folder
        return board

    # -- the model choice
    def set_model(self, ref: str) -> int:
        """Make ``ref`` this server's model; returns the new choice's version."""
        with self.engine.begin() as c:
            s = servers.c
            c.execute(servers.update().where(s.instance == self.instance).values(model_ref=ref, model_version=s.model_version + 1))
            return int(c.execute(sa.select(s.model_version).where(s.instance == self.instance)).scalar_one())

    def model(self) -> tuple[str | None, int]:
        """This server's model choice and its version."""
        with self.engine.connect() as c:
            r = c.execute(sa.select(servers.c.model_ref, servers.c.model_version).where(servers.c.instance == self.instance)).one()
        return r.model_ref, int(r.model_version)

    # -- jobs
    def add(self, config: dict[str, Any], max_queued: int) -> JobRow | None:
        """Queue ``config``; None when ``max_queued`` jobs wait already."""
        with self.engine.begin() as c:
            if self._count(c, "queued") >= max_queued:
                return None
            values = {"instance": self.instance, "config": json.dumps(config), "status": "queued", "created": time.time(), "version": 0}
            key = c.execute(jobs.insert().values(**values, cancel=False)).inserted_primary_key
            assert key is not None
            n = key[0]
            return _row(c.execute(jobs.select().where(jobs.c.id == n)).one())

    def waiting(self) -> int:
        with self.engine.connect() as c:
            return self._count(c, "queued")

    def _count(self, c: sa.Connection, status: str) -> int:
        q = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.instance == self.instance, jobs.c.status == status)
        return int(c.execute(q).scalar_one())

    def get(self, jid: str) -> JobRow | None:
        n = job_number(jid)
        if n is None:
            return None
        with self.engine.connect() as c:
            r = c.execute(jobs.select().where(jobs.c.id == n, jobs.c.instance == self.instance)).first()
        return _row(r) if r is not None else None

    def listing(self, limit: int) -> list[JobRow]:
        """The newest ``limit`` jobs, newest first."""
        q = jobs.select().where(jobs.c.instance == self.instance).order_by(jobs.c.id.desc()).limit(limit)
        with self.engine.connect() as c:
            return [_row(r) for r in c.execute(q)]

    def queue(self) -> list[str]:
        """Ids of the waiting jobs in the order they will run."""
        q = sa.select(jobs.c.id).where(jobs.c.instance == self.instance, jobs.c.status == "queued").order_by(jobs.c.id)
        with self.engine.connect() as c:
            return [job_id(n) for n in c.execute(q).scalars()]

    def claim(self) -> JobRow | None:
        """Take the oldest waiting job to train it here, unless one trains already somewhere (None)."""
        with self.engine.begin() as c:
            q = sa.select(jobs.c.id).where(jobs.c.instance == self.instance, jobs.c.status == "queued").order_by(jobs.c.id).limit(1)
            n = c.execute(q).scalar()
            if n is None:
                return None
            s = servers.c
            took = c.execute(servers.update().where(s.instance == self.instance, s.running_job.is_(None)).values(running_job=n))
            if took.rowcount != 1:
                return None
            got = c.execute(
                jobs.update()
                .where(jobs.c.id == n, jobs.c.status == "queued")
                .values(status="running", started=time.time(), version=jobs.c.version + 1)
            )
            if got.rowcount != 1:  # cancelled between the two statements: free the server again
                c.execute(servers.update().where(s.instance == self.instance).values(running_job=None))
                return None
            return _row(c.execute(jobs.select().where(jobs.c.id == n)).one())

    def save(self, jid: str, values: dict[str, Any]) -> bool:
        """Write a job's fields (JSON ones encoded) as a new version; returns whether it has been asked to stop."""
        n = job_number(jid)
        enc = {k: json.dumps(v) if k in ("progress", "history") else v for k, v in values.items() if k in FIELDS}
        with self.engine.begin() as c:
            c.execute(jobs.update().where(jobs.c.id == n).values(**enc, version=jobs.c.version + 1))
            return bool(c.execute(sa.select(jobs.c.cancel).where(jobs.c.id == n)).scalar())

    def release(self, jid: str) -> None:
        """The job has ended: the server may train the next one."""
        with self.engine.begin() as c:
            c.execute(
                servers.update()
                .where(servers.c.instance == self.instance, servers.c.running_job == job_number(jid))
                .values(running_job=None)
            )

    def cancel_waiting(self, jid: str, message: str) -> bool:
        """Take a waiting job out of the queue (False when it is no longer waiting)."""
        values = {"status": "cancelled", "finished": time.time(), "message": message, "version": jobs.c.version + 1}
        with self.engine.begin() as c:
            return c.execute(jobs.update().where(jobs.c.id == job_number(jid), jobs.c.status == "queued").values(**values)).rowcount == 1

    def ask_to_stop(self, jid: str, message: str) -> None:
        """Ask the running job to stop (whichever worker trains it sees the flag)."""
        values = {"cancel": True, "message": message, "version": jobs.c.version + 1}
        with self.engine.begin() as c:
            c.execute(jobs.update().where(jobs.c.id == job_number(jid)).values(**values))
