"""Generate endpoints (issue 14): the generative runs with their sample grid after each epoch, and new digits from one.

A new grid is drawn by ``generate.generate_grid``, as ``digitlab generate`` draws it (same layout, same digits for the
same seed), in the thread pool and through the same gate as recognition: sampling is model work like reading a picture.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import torch
from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from ..catalog import SHIPPED
from ..errors import ModelError
from ..generate import Generated, generate_grid
from ..records import RunRecord
from ..run_lock import live_status
from .errors import BadInput, Conflict, NotFound
from .jsonable import clean
from .lab import Lab, get_lab
from .runs_api import find_run, safe_file
from .static_files import FILE_HEADERS

router = APIRouter(prefix="/api", tags=["generate"])
SCALE = 4  # screen pixels per digit pixel of a grid drawn for the browser: 28 -> 112 px tiles
MS_HEADER, COUNT_HEADER = "X-Generate-Ms", "X-Generate-Count"
EPOCH_FIGURES = ("g_loss", "d_loss", "d_acc", "fid", "class_acc", "precision", "recall")
Digit = Annotated[int, Field(ge=0, le=9)]
# gen_trainer.failure_modes' sentences, read back into a code and its numbers so the web app can say them in any language.
WARNINGS = {
    "mode_collapse": re.compile(r"^mode collapse: the samples of digit\(s\) (?P<digits>\d+(?:, \d+)*) look alike"),
    "discriminator_wins": re.compile(r"^the discriminator wins outright \((?P<acc>\d+(?:\.\d+)?) %"),
}


class GenerateIn(BaseModel):
    """What to draw: ``n`` digits of one kind, or ``n`` of every kind in turn, or walks from one digit to another."""

    run: str = Field(min_length=1, max_length=200, description="a generative run's name (GET /api/generators lists them)")
    digit: Digit | None = Field(None, description="0-9, or null for every digit in turn")
    n: int = Field(16, ge=1, le=256, description="digits of that kind (in all for null); with interpolate, every 8 make a walk")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="the same seed draws the same digits")
    interpolate: tuple[Digit, Digit] | None = Field(None, description="[a, b]: rows that walk from digit a to digit b in 8 steps")


class WarningOut(BaseModel):
    """A failure mode of the run's last epoch: its English sentence, and a code with its numbers when it is a known one."""

    code: str | None = Field(description="mode_collapse, discriminator_wins, or null (say the English text)")
    text: str
    digits: str | None = Field(None, description="mode_collapse: the digits whose samples look alike, e.g. '3, 7'")
    acc: str | None = Field(None, description="discriminator_wins: its percentage of real and fake sorted right")


class EpochOut(BaseModel):
    """One epoch's losses and quality on validation, and the URL of its fixed-noise sample grid (null when missing)."""

    epoch: int
    g_loss: float | None
    d_loss: float | None
    d_acc: float | None
    fid: float | None
    class_acc: float | None
    precision: float | None
    recall: float | None
    grid: str | None


class GeneratorOut(BaseModel):
    """A generative run: what it is, how far it got, its final figures on the test split, warnings and epochs."""

    name: str
    model: str
    status: str
    created_at: str | None
    epochs_done: int
    best_epoch: int | None
    train_seconds: float | None
    key_params: str
    judge: str | None = Field(description="the classifier whose features and accuracy measure the digits")
    weights: bool = Field(description="whether the run has best weights to generate with")
    quality: dict[str, Any] | None = Field(description="fid, fid_floor, fid_ratio, class_acc, precision, recall, classes, collapsed")
    warnings: list[WarningOut]
    epochs: list[EpochOut]


def grid_rel(epoch: int) -> str:
    """The sample grid after ``epoch`` in a run folder (where gen_trainer.grid_path writes it), relative to the folder."""
    return f"samples/epoch-{epoch:03d}.png"


def grid_file(rec: RunRecord, epoch: int) -> Path | None:
    """The grid after ``epoch`` when it is a file inside the run's folder (a link out of it is not followed), else None."""
    try:
        return safe_file(rec.run_dir, grid_rel(epoch))
    except NotFound:
        return None


def grid_url(name: str, epoch: int) -> str:
    return f"/api/generators/{quote(name, safe='')}/samples/{epoch}.png"


def warning(text: str) -> dict[str, Any]:
    """One failure-mode sentence with its code and numbers (code None: a sentence this server has no code for)."""
    for code, pattern in WARNINGS.items():
        if m := pattern.match(text):
            return {"code": code, "text": text, **m.groupdict()}
    return {"code": None, "text": text}


def epoch_row(rec: RunRecord, row: dict[str, Any]) -> dict[str, Any]:
    """One epoch's figures (the store's row) and its grid's URL when the grid can be served."""
    epoch = row["epoch"]
    grid = grid_url(rec.name, epoch) if grid_file(rec, epoch) else None
    return {"epoch": epoch, **{k: row.get(k) for k in EPOCH_FIGURES}, "grid": grid}


def summary(lab: Lab, rec: RunRecord) -> dict[str, Any]:
    """The list entry of one generative run, JSON-ready."""
    epochs = [epoch_row(rec, row) for row in lab.store.epochs(rec.id)]
    return clean(
        {
            "name": rec.name, "model": rec.model, "status": live_status(rec), "created_at": rec.created_at,
            "epochs_done": rec.epochs_done, "best_epoch": rec.best_epoch, "train_seconds": rec.train_seconds,
            "key_params": rec.key_params, "judge": getattr(rec.config, "judge", None), "weights": rec.folder.best.is_file(),
            "quality": rec.extra.get("quality"), "warnings": [warning(w) for w in rec.extra.get("warnings") or []],
            "epochs": epochs,
        }
    )  # fmt: skip


def find_generator(lab: Lab, name: str) -> RunRecord:
    """A generative run by name: 404 for an unknown name (with the store's suggestion), 422 for a classifier."""
    try:
        rec = find_run(lab, name)
    except NotFound:
        if name == SHIPPED:
            raise BadInput(f"{SHIPPED!r} is the shipped classifier, not a generator; GET /api/generators lists the generators.") from None
        raise
    if rec.task != "generate":
        raise BadInput(f"Run {rec.name!r} trained a classifier ({rec.model}), not a generator; GET /api/generators lists the generators.")
    return rec


@router.get("/generators", response_model=list[GeneratorOut], summary="Generative runs: figures, warnings and each epoch's grid")
def list_generators(lab: Lab = Depends(get_lab)) -> list[dict[str, Any]]:
    """Oldest first, like /api/runs; each epoch's ``grid`` is the URL of the sample grid drawn after it."""
    return [summary(lab, rec) for rec in lab.store.list_runs(task="generate")]


@router.get(
    "/generators/{run}/samples/{epoch}.png",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}}}},
    summary="The sample grid a generative run drew after one epoch",
)
def epoch_grid(run: str, epoch: int = PathParam(ge=1, le=1_000_000), lab: Lab = Depends(get_lab)) -> FileResponse:
    """The same noise after every epoch, so the grids side by side show how the digits formed."""
    rec = find_generator(lab, run)
    target = grid_file(rec, epoch)
    if target is None:
        raise NotFound(f"Run {rec.name!r} has no sample grid of epoch {epoch}; it has done {rec.epochs_done} epoch(s).")
    return FileResponse(target, media_type="image/png", headers=FILE_HEADERS)


def usable_generator(lab: Lab, name: str) -> RunRecord:
    """A generative run with best weights; 409 while it has none."""
    rec = find_generator(lab, name)
    if not rec.folder.best.is_file():
        raise Conflict(f"Run {rec.name!r} has no weights yet (status {live_status(rec)}); they are written after its first epoch.")
    return rec


def draw(lab: Lab, rec: RunRecord, body: GenerateIn) -> tuple[bytes, Generated]:
    """The grid as PNG bytes: ``generate_grid`` writes it to a temporary file, as it writes the CLI's."""
    threads = lab.settings.torch_threads
    if threads and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)  # per worker thread, as for recognition: the cores are not oversubscribed
    with tempfile.TemporaryDirectory(prefix="digitlab-generate-") as tmp:
        made = generate_grid(
            str(rec.folder.best),  # the run's own file: a run name could also read as a path or a promoted model
            digits=None if body.digit is None else [body.digit],
            n=body.n,
            interpolate=body.interpolate,
            seed=body.seed,
            store=lab.store,
            out=Path(tmp) / "grid.png",
            scale=SCALE,
            models_dir=lab.settings.models_dir,
        )
        return made.path.read_bytes(), made


@router.post(
    "/generate",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": f"the grid; {MS_HEADER}: sampling time, {COUNT_HEADER}: digits"}},
    summary="Draw new digits with a generative run: a grid of one digit or all, or walks from one digit to another",
)
async def generate(body: GenerateIn, lab: Lab = Depends(get_lab)) -> Response:
    """A PNG grid (4x enlarged): one row per kind of digit, or one walk of 8 steps per row for ``interpolate``."""
    rec = await run_in_threadpool(usable_generator, lab, body.run)
    try:
        async with lab.predict_gate:
            png, made = await run_in_threadpool(draw, lab, rec, body)
    except ModelError as err:  # e.g. a family that cannot walk between digits: what the request asks, not what exists
        raise BadInput(str(err)) from err
    headers = {MS_HEADER: f"{made.ms:.1f}", COUNT_HEADER: str(made.count), "Cache-Control": "no-store"}
    return Response(png, media_type="image/png", headers=headers)
