"""One worker's view of the server: settings, run store, the Recognise model and the training queue (both on the board)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request

from ..config import make_config
from ..errors import DigitlabError, RunFailed
from ..store import RunStore
from ..version import __version__
from .board import Board
from .jobs import Job, JobProgress, JobQueue
from .model_slot import ModelSlot, default_ref
from .settings import Settings


@dataclass
class Lab:
    """Everything the endpoints share (``request.app.state.lab``)."""

    settings: Settings
    store: RunStore
    slot: ModelSlot
    board: Board
    jobs: JobQueue = field(init=False)
    predict_gate: AbstractAsyncContextManager = field(init=False)

    def __post_init__(self) -> None:
        self.jobs = JobQueue(self.train, self.settings.max_queued, self.board)
        slots = self.settings.predict_slots  # asyncio.Semaphore wakes waiters first come, first served: a fair queue
        self.predict_gate = asyncio.Semaphore(slots) if slots > 0 else nullcontext()

    @classmethod
    def open(cls, settings: Settings) -> Lab:
        """Open the store and load the start-up model (an unknown ``settings.model`` raises its sentence)."""
        store = RunStore(settings.db, runs_dir=settings.runs_dir)
        board = Board.of(store, settings.instance)
        slot = ModelSlot(store, settings.models_dir, settings.torch_threads, board, settings.engine)
        chosen, _ = board.model()  # a worker of a started server takes the server's choice
        ref = chosen or settings.model or default_ref(store)
        if ref is not None and chosen is None:
            slot.load(ref)
        elif chosen is not None:
            slot.follow()
        return cls(settings, store, slot, board)

    def train(self, job: Job) -> None:
        """Train ``job`` as a recorded run; cancellation ends it as ``cancelled`` (the run as ``interrupted``).

        The training stack (loop, augmentation, plotting) is imported here, when a job starts, so that serving
        pictures never loads it.
        """
        from .. import api

        cfg = make_config(job.config)
        progress = JobProgress(job, cfg.epochs)
        lab = api.Lab(self.settings.runs_dir, self.settings.db, self.settings.models_dir, self.settings.data_dir)
        try:
            run = api.train(cfg, lab=lab, progress=progress, hooks=[progress.on_epoch], extra={"job": job.id})
        except RunFailed as err:
            job.update(status="failed", message=err.reason, run=err.run)
            return
        except DigitlabError as err:
            job.update(status="failed", message=str(err))
            return
        status = run.record.status
        cancelled = job.cancel.is_set() and status == "interrupted"
        job.update(
            status="cancelled" if cancelled else status,
            run=run.name,
            message="stopped on request; the run is recorded as interrupted" if cancelled else None,
        )

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        """On shutdown, interrupt a running job so its run is recorded as such."""
        yield
        self.jobs.close()


def get_lab(request: Request) -> Lab:
    """FastAPI dependency: the app's :class:`Lab`."""
    return request.app.state.lab


def public_info(lab: Lab) -> dict[str, Any]:
    """What the web app needs to know about this server."""
    s = lab.settings
    control = "token" if s.token else ("off" if s.exposed else "open")
    return {
        "version": __version__,
        "model": lab.slot.info(),
        "workers": s.workers,
        "worker": os.getpid(),  # which process answered (requests spread over the workers)
        "control": control,
        "limits": {
            "max_files": s.max_files,
            "max_upload_bytes": s.max_upload_bytes,
            "max_pixels": s.max_pixels,
            "max_request_bytes": s.max_request_bytes,
            "max_request_pixels": s.max_request_pixels,
        },
    }
