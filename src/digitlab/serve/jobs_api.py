"""Train endpoints: queue a training job, follow it live (server-sent events), cancel it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import StreamingResponse

from ..config import make_config
from ..errors import ConfigError, ModelError
from ..models.registry import check_model_args
from .jobs import Job
from .jsonable import clean
from .lab import Lab, get_lab
from .security import require_control

router = APIRouter(prefix="/api/jobs", tags=["train"])
POLL_S = 0.25
HEARTBEAT_S = 15.0


def job_view(lab: Lab, job: Job) -> dict[str, Any]:
    """A job with its place in the queue, as JSON-ready data."""
    return clean({**job.to_dict(), "position": lab.jobs.position(job)})


@router.post("", status_code=201, dependencies=[Depends(require_control)], summary="Queue a training job")
def create_job(
    config: dict[str, Any] = Body(..., examples=[{"model": "fast", "epochs": 1, "train_subset": 500, "threads": 1}]),
    lab: Lab = Depends(get_lab),
) -> dict[str, Any]:
    """The body holds parameters (see /api/config/schema); the rest keep their defaults. 422 with the reason when invalid."""
    cfg = make_config(config)
    try:
        check_model_args(cfg.model, cfg.model_kwargs)  # refused now (unknown model, bad or huge arguments), not after the queue
    except ModelError as err:
        raise ConfigError(str(err)) from err
    return job_view(lab, lab.jobs.submit(cfg.model_dump(exclude_unset=True)))


@router.get("", summary="The queue: running, waiting and recently finished jobs")
def list_jobs(lab: Lab = Depends(get_lab)) -> list[dict[str, Any]]:
    """Newest first; ``position`` is 0 for the running job, 1.. for waiting ones."""
    return clean(lab.jobs.listing())


@router.get("/{job_id}", summary="One job: status, progress and per-epoch metrics")
def get_job(job_id: str, lab: Lab = Depends(get_lab)) -> dict[str, Any]:
    """Status, live progress (epoch, batch, loss, accuracy, ETA) and per-epoch metrics."""
    return job_view(lab, lab.jobs.get(job_id))


@router.delete("/{job_id}", dependencies=[Depends(require_control)], summary="Cancel a job")
def cancel_job(job_id: str, lab: Lab = Depends(get_lab)) -> dict[str, Any]:
    """A waiting job leaves the queue; a running one stops after its current batch and its run is marked interrupted."""
    return job_view(lab, lab.jobs.cancel(job_id))


async def event_stream(lab: Lab, job: Job) -> AsyncIterator[str]:
    """One ``progress`` event per change of the job, a comment as heartbeat, and a final ``end`` event.

    The job is read again on every poll: any worker may be training it.
    """
    seen, quiet_since = -1, time.monotonic()
    while True:
        job = lab.jobs.get(job.id)
        if job.version != seen:
            seen, quiet_since = job.version, time.monotonic()
            kind = "end" if job.done else "progress"
            yield f"event: {kind}\ndata: {json.dumps(job_view(lab, job))}\n\n"
            if job.done:
                return
        elif time.monotonic() - quiet_since > HEARTBEAT_S:
            quiet_since = time.monotonic()
            yield ": still running\n\n"
        await asyncio.sleep(POLL_S)


@router.get("/{job_id}/events", summary="Live progress as server-sent events (until the job ends)")
def job_events(job_id: str, lab: Lab = Depends(get_lab)) -> StreamingResponse:
    """`progress` events while the job changes, then one `end` event; for EventSource in the browser."""
    job = lab.jobs.get(job_id)
    return StreamingResponse(
        event_stream(lab, job), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
