"""Training jobs: a queue that runs one job at a time in a background thread, with live progress.

A job is a validated config. The worker trains it through :func:`run_training`
(so it is a recorded run like any other); a :class:`JobProgress` records the
epoch, batch, loss, accuracy and ETA, and stops the run cooperatively when the
job is cancelled (the run is then marked ``interrupted``). A failing job is
marked ``failed`` with its reason; the server carries on.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..records import CSV_FIELDS
from .errors import Busy, Conflict, NotFound

log = logging.getLogger("digitlab")
FINAL = {"completed", "early-stopped", "interrupted", "cancelled", "failed"}
KEEP_FINISHED = 100  # finished jobs remembered for the queue view


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

    @property
    def done(self) -> bool:
        """True once the job has reached a final status."""
        return self.status in FINAL

    def update(self, **values: Any) -> None:
        """Set fields and mark the job changed."""
        for k, v in values.items():
            setattr(self, k, v)
        self.version += 1

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
    """Jobs by id; one worker thread trains them in order, started on the first submission."""

    def __init__(self, run_job: Callable[[Job], None], max_queued: int = 20):
        self.run_job, self.max_queued = run_job, max_queued
        self.jobs: dict[str, Job] = {}
        self.waiting: deque[Job] = deque()
        self.cond = threading.Condition()
        self.ids = itertools.count(1)
        self.worker: threading.Thread | None = None
        self.closed = False

    def submit(self, config: dict[str, Any]) -> Job:
        """Queue a validated config; 429 when too many jobs wait already."""
        with self.cond:
            if self.closed:
                raise Conflict("The server is shutting down and takes no new training jobs.")
            if len(self.waiting) >= self.max_queued:
                raise Busy(f"{len(self.waiting)} training jobs are already waiting; cancel one or wait for the queue to shrink.")
            job = Job(f"job-{next(self.ids)}", config)
            self.jobs[job.id] = job
            self.waiting.append(job)
            self._forget_old()
            if self.worker is None:
                self.worker = threading.Thread(target=self._work, name="digitlab-jobs", daemon=True)
                self.worker.start()
            self.cond.notify_all()
        return job

    def get(self, job_id: str) -> Job:
        """The job with this id, or 404."""
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"There is no training job {job_id!r}; GET /api/jobs lists them.")
        return job

    def position(self, job: Job) -> int | None:
        """0 for the running job, 1.. for waiting ones, None when finished."""
        with self.cond:
            if job in self.waiting:
                return self.waiting.index(job) + 1
        return 0 if job.status == "running" else None

    def listing(self) -> list[dict[str, Any]]:
        """All remembered jobs, newest first, with their queue positions."""
        return [{**j.to_dict(), "position": self.position(j)} for j in reversed(list(self.jobs.values()))]

    def cancel(self, job_id: str) -> Job:
        """A waiting job leaves the queue; a running one is asked to stop after its current batch."""
        job = self.get(job_id)
        with self.cond:
            if job in self.waiting:
                self.waiting.remove(job)
                job.update(status="cancelled", finished=time.time(), message="cancelled before it started")
                return job
        if job.done:
            raise Conflict(f"Job {job_id!r} has already finished ({job.status}).")
        job.cancel.set()
        job.update(message="stopping after the current batch")
        return job

    def close(self, timeout: float = 30.0) -> None:
        """Stop the worker: waiting jobs are cancelled, a running one is interrupted (its run recorded as such)."""
        with self.cond:
            self.closed = True
            for job in self.waiting:
                job.update(status="cancelled", finished=time.time(), message="the server stopped")
            self.waiting.clear()
            for job in self.jobs.values():
                job.cancel.set()
            self.cond.notify_all()
        if self.worker is not None:
            self.worker.join(timeout)
        for job in self.jobs.values():  # a run that did not stop in time is left to the run lock (it shows as killed)
            if job.status == "running":
                job.update(status="cancelled", finished=time.time(), message="the server stopped before the job ended")

    def _work(self) -> None:
        while True:
            with self.cond:
                while not self.waiting and not self.closed:
                    self.cond.wait()
                if self.closed:
                    return
                job = self.waiting.popleft()
                job.update(status="running", started=time.time())
            self._run(job)

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

    def _forget_old(self) -> None:
        finished = [j for j in self.jobs.values() if j.done]
        for job in finished[: max(len(finished) - KEEP_FINISHED, 0)]:
            del self.jobs[job.id]
