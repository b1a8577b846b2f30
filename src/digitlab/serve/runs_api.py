"""Runs endpoints: the recorded runs, their per-epoch metrics and the files in their folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from ..doctor import LANGS, examine
from ..errors import RunError
from ..records import CSV_FIELDS, RunRecord
from ..run_lock import live_status
from .errors import NotFound
from .jsonable import clean
from .lab import Lab, get_lab
from .static_files import FILE_HEADERS

router = APIRouter(prefix="/api/runs", tags=["runs"])
SUMMARY = (
    "name", "status", "model", "dataset", "generation", "parent", "seed", "created_at", "finished_at", "epochs_done",
    "train_seconds", "eval_seconds", "best_epoch", "best_val_acc", "best_val_loss", "test_acc", "test_loss", "message", "key_params",
)  # fmt: skip
TEXT_SUFFIXES = {".log", ".csv", ".yaml", ".yml", ".json", ".txt"}


def summary(rec: RunRecord) -> dict[str, Any]:
    """The list view of one run: its columns (missing figures are null), its live status and its key parameters."""
    d = rec.to_json()
    return {k: d[k] for k in SUMMARY} | {"status": live_status(rec)}


def find_run(lab: Lab, name: str) -> RunRecord:
    """The run record, or 404 with the store's suggestion."""
    try:
        return lab.store.get_run(name)
    except RunError as err:
        raise NotFound(str(err)) from err


@router.get("", summary="All recorded runs with key parameters")
def list_runs(
    status: str | None = None,
    model: str | None = None,
    generation: int | None = Query(None, ge=0, le=2**31 - 1),  # the database's integer range; larger ones are 422, not an overflow
    lab: Lab = Depends(get_lab),
) -> list[dict[str, Any]]:
    """Oldest first; optional filters by status, model and generation."""
    return clean([summary(r) for r in lab.store.list_runs(generation, model, status)])


@router.get("/{name}", summary="One run: config, status, epochs and files")
def get_run(name: str, lab: Lab = Depends(get_lab)) -> dict[str, Any]:
    """The list columns plus the full config, per-epoch metrics and the files of the run folder."""
    rec = find_run(lab, name)
    return clean(
        {
            **summary(rec),
            "config": rec.config.model_dump(),
            "extra": rec.extra,
            "epochs": lab.store.epochs(rec.id),
            "files": rec.folder.files() if rec.run_dir.is_dir() else [],
        }
    )


@router.get("/{name}/doctor", summary="What the run doctor sees in one run, in English and Chinese")
def get_doctor(name: str, lang: str | None = Query(None, pattern="^(en|zh)$"), lab: Lab = Depends(get_lab)) -> dict[str, Any]:
    """Findings, the most likely cause first: code, severity, evidence and suggestion per language (``lang``: only that
    one); no findings means nothing to worry about. A generator or an ensemble is a 409 in one sentence."""
    find_run(lab, name)
    found = examine(lab.store, name)
    langs = [lang] if lang else list(LANGS)
    return {"name": name, "findings": [{"code": str(f.code), "severity": f.severity} | {k: f.to_json(k) for k in langs} for f in found]}


@router.get("/{name}/metrics", summary="Per-epoch loss and accuracy of one run")
def get_metrics(name: str, lab: Lab = Depends(get_lab)) -> dict[str, Any]:
    """Train, validation and test loss/accuracy, learning rate and timing per epoch."""
    rec = find_run(lab, name)
    return clean({"name": rec.name, "columns": list(CSV_FIELDS), "epochs": lab.store.epochs(rec.id)})


def safe_file(folder: Path, rel: str, what: str = "run folder") -> Path:
    """``folder/rel`` if it is a visible file inside ``folder`` (after resolving links); 404 for anything else."""
    parts = Path(rel).parts
    # NUL is in no file name (and the OS calls raise ValueError on it): checked before anything is resolved.
    bad = "\0" in rel or Path(rel).is_absolute() or ".." in parts or any(p.startswith(".") for p in parts)
    root = folder.resolve()
    target = root if bad else (root / rel).resolve()
    if bad or not target.is_relative_to(root) or not target.is_file():
        raise NotFound(f"The {what} has no file {rel!r}.")
    return target


@router.get("/{name}/files/{path:path}", summary="A file of a run folder (plots, train.log, metrics.csv, ...)")
def get_file(name: str, path: str, lab: Lab = Depends(get_lab)) -> FileResponse:
    """Only files inside the run's folder are served; ``..``, absolute paths and links out give 404."""
    target = safe_file(find_run(lab, name).run_dir, path)
    text = target.suffix.lower() in TEXT_SUFFIXES
    return FileResponse(target, media_type="text/plain; charset=utf-8" if text else None, headers=FILE_HEADERS)
