"""Training jobs: a queue that runs one job at a time in a background thread, with live progress.

A job is a validated config. The worker trains it through :func:`run_training`
(so it is a recorded run like any other); a :class:`JobProgress` records the
epoch, batch, loss, accuracy and ETA, and stops the run cooperatively when the
job is cancelled (the run is then marked ``interrupted``). A failing job is
marked ``failed`` with its reason; the server carries on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..records import CSV_FIELDS
from .board import FIELDS, Board, JobRow
from .errors import Busy, Conflict, NotFound

log = logging.getLogger("digitlab")
FINAL = {"completed", "early-stopped", "interrupted", "cancelled", "failed"}
KEEP_FINISHED = 100  # jobs shown in the queue view
POLL_S = 0.5  # s: how often an idle worker looks for a queued job (a submission here wakes it at once)
SAVE_S = 0.5  # s: the training worker writes progress at most this often
STOPPING = "stopping after the current batch"


@dataclass
class Job:
    """One training request and what became of it."""

    id: str
    config: dict[str, Any]
    status: str = "queued"  # queued | running | completed | early-stopped | interrupted | cancelled | failed
    run: str | None = None
    message: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0  # bumped on every change (the event stream sends a message per change)
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    sink: Callable[[Job], None] | None = field(default=None, repr=False)  # told of every change (the queue saves it)
    saved_at: float = field(default=0.0, repr=False)  # monotonic time of the last save to the board
    saved_status: str = field(default="", repr=False)
    saved_epochs: int = field(default=0, repr=False)

    @classmethod
    def from_row(cls, row: JobRow) -> Job:
        """The job as the board holds it (a stop request shows as a set ``cancel``)."""
        job = cls(
            row.id,
            row.config,
            row.status,
            row.run,
            row.message,
            row.created,
            row.started,
            row.finished,
            row.progress,
            row.history,
            row.version,
        )
        job.saved_status, job.saved_epochs = row.status, len(row.history)
        if row.cancel:
            job.cancel.set()
        return job

    @property
    def done(self) -> bool:
        """True once the job has reached a final status."""
        return self.status in FINAL

    def update(self, **values: Any) -> None:
        """Set fields and mark the job changed."""
        for k, v in values.items():
            setattr(self, k, v)
        self.version += 1
        if self.sink is not None:
            self.sink(self)

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON-ready data (without its cancel event)."""
        keys = ("id", "config", "status", "run", "message", "created", "started", "finished", "progress", "history")
        return {k: getattr(self, k) for k in keys}


class JobProgress:
    """``BatchProgress`` and ``on_epoch`` hook of one job; raises KeyboardInterrupt once the job is cancelled."""

    def __init__(self, job: Job, epochs: int):
        self.job, self.epochs = job, epochs
        self.t0: float | None = None

    def batch(self, epoch: int, done: int, total: int, loss: float, acc: float) -> None:
        """Record the running loss, accuracy, share done and ETA (from the time of the first batch)."""
        self._check()
        now = time.monotonic()
        self.t0 = self.t0 or now
        share = ((epoch - 1) * total + done) / (self.epochs * total)
        elapsed = now - self.t0
        eta = elapsed * (1 - share) / share if share > 0 and elapsed > 0 else None
        self.job.update(
            progress={
                "epoch": epoch,
                "epochs": self.epochs,
                "batch": done,
                "batches": total,
                "loss": loss,
                "acc": acc,
                "share": share,
                "elapsed_s": elapsed,
                "eta_s": eta,
            }
        )

    def on_epoch(self, m: dict[str, Any]) -> None:
        """Append the epoch's metrics to the job's history."""
        self.job.update(history=[*self.job.history, {k: m.get(k) for k in CSV_FIELDS}])
        self._check()

    def _check(self) -> None:
        if self.job.cancel.is_set():
            raise KeyboardInterrupt  # the training loop stops and records the run as interrupted


class JobQueue:
    """The server's jobs, kept on its :class:`Board` (shared by all worker processes); a thread here trains them in order.

    Any worker may accept a job; the first worker whose thread claims it trains it (one at a time per server).
    The training worker writes the job's progress back at most every ``SAVE_S`` (and at once on every status or
    epoch), and reads there whether it has been asked to stop.
    """

    def __init__(self, run_job: Callable[[Job], None], max_queued: int = 20, board: Board | None = None):
        self.run_job, self.max_queued = run_job, max_queued
        self.board = board or Board.private()
        self.cond = threading.Condition()
        self.worker: threading.Thread | None = None
        self.closed = False
        self.local: Job | None = None  # the job this process trains now

    def submit(self, config: dict[str, Any]) -> Job:
        """Queue a validated config; 429 when too many jobs wait already."""
        if self.closed:
            raise Conflict("The server is shutting down and takes no new training jobs.")
        row = self.board.add(config, self.max_queued)
        if row is None:
            raise Busy(f"{self.max_queued} training jobs are already waiting; cancel one or wait for the queue to shrink.")
        self._start()
        return Job.from_row(row)

    def _start(self) -> None:
        with self.cond:
            if self.worker is None:
                self.worker = threading.Thread(target=self._work, name="digitlab-jobs", daemon=True)
                self.worker.start()
            self.cond.notify_all()

    def get(self, job_id: str) -> Job:
        """The job with this id, or 404: as the board holds it (every worker answers the same), with the live progress
        of the worker training it while its status there is still the board's."""
        row = self.board.get(job_id)
        if row is None:
            raise NotFound(f"There is no training job {job_id!r}; GET /api/jobs lists them.")
        local = self.local
        if local is not None and local.id == job_id and local.status == row.status:
            return local
        return Job.from_row(row)

    def position(self, job: Job) -> int | None:
        """0 for the running job, 1.. for waiting ones, None when finished."""
        return _place(self.get(job.id), self.board.queue())  # as it is now

    def listing(self) -> list[dict[str, Any]]:
        """The newest jobs first, with their queue positions."""
        queue = self.board.queue()
        rows = [self.get(r.id) if r.status == "running" else Job.from_row(r) for r in self.board.listing(KEEP_FINISHED)]
        return [{**j.to_dict(), "position": _place(j, queue)} for j in rows]

    def cancel(self, job_id: str) -> Job:
        """A waiting job leaves the queue; a running one is asked to stop after its current batch."""
        job = self.get(job_id)
        if job.status == "queued" and self.board.cancel_waiting(job_id, "cancelled before it started"):
            return self.get(job_id)
        job = self.get(job_id)
        if job.done:
            raise Conflict(f"Job {job_id!r} has already finished ({job.status}).")
        self.board.ask_to_stop(job_id, STOPPING)
        local = self.local
        if local is not None and local.id == job_id:
            local.cancel.set()
            local.update(message=STOPPING)
        return self.get(job_id)

    def close(self, timeout: float = 30.0) -> None:
        """Stop here: waiting jobs are cancelled, the job training here is interrupted (its run recorded as such)."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        for jid in self.board.queue():
            self.board.cancel_waiting(jid, "the server stopped")
        local = self.local
        if local is not None:
            local.cancel.set()
        if self.worker is not None:
            self.worker.join(timeout)
        if local is not None and local.status == "running":  # did not stop in time: left to the run lock (it shows as killed)
            local.update(status="cancelled", finished=time.time(), message="the server stopped before the job ended")
            self._flush(local, force=True)
            self.board.release(local.id)

    def _work(self) -> None:
        while True:
            with self.cond:
                if self.closed:
                    return
            row = self.board.claim()
            if row is None:
                with self.cond:
                    if not self.closed:
                        self.cond.wait(POLL_S)  # another worker may queue a job, or free the server
                continue
            job = Job.from_row(row)
            job.sink = self._flush
            self.local = job
            try:
                self._run(job)
            finally:
                self._flush(job, force=True)
                self.board.release(job.id)
                self.local = None

    def _flush(self, job: Job, force: bool = False) -> None:
        """Write the job to the board (throttled, but at once on a status or epoch change); pick up a stop request."""
        now = time.monotonic()
        if not force and now - job.saved_at < SAVE_S and job.status == job.saved_status and len(job.history) == job.saved_epochs:
            return
        job.saved_at, job.saved_status, job.saved_epochs = now, job.status, len(job.history)
        if self.board.save(job.id, {k: getattr(job, k) for k in FIELDS}) and not job.cancel.is_set():
            job.cancel.set()

    def _run(self, job: Job) -> None:
        try:
            self.run_job(job)
        except BaseException as err:
            log.warning("training job %s failed: %s", job.id, err)
            job.update(status="failed", message=str(err) or type(err).__name__)
        finally:
            if not job.done:
                job.update(status="failed", message=job.message or "the job ended without a result")
            job.update(finished=time.time())


def _place(job: Job, queue: list[str]) -> int | None:
    """``job``'s place: 0 running, 1.. its place in ``queue`` (the waiting ids in order), None otherwise."""
    if job.id in queue:
        return queue.index(job.id) + 1
    return 0 if job.status == "running" else None
