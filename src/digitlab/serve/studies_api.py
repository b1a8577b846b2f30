"""Tuning studies endpoints (issue 6): the studies of ``digitlab tune``, one study's report and its plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from ..errors import RunError
from .errors import NotFound
from .jsonable import clean
from .lab import Lab, get_lab
from .runs_api import safe_file
from .static_files import FILE_HEADERS

router = APIRouter(prefix="/api/studies", tags=["studies"])
PLOTS = ("history.png", "importance.png", "parallel.png", "pareto.png")  # written by `digitlab tune` / `digitlab study --plots`


def storage_url(lab: Lab) -> str:
    """The server's study storage: ``--studies URL``, else SQLite beside the runs (as ``digitlab tune`` uses)."""
    from ..tune_storage import default_storage

    return lab.settings.study_storage or default_storage(lab.settings.runs_dir)


def open_existing(url: str) -> Any:
    """The Optuna storage at ``url`` to read, or None for a SQLite file not made yet (looking does not create it)."""
    from ..tune_storage import open_storage

    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None
    return open_storage(url, heartbeat=None)


def open_studies(lab: Lab) -> Any:
    """The Optuna storage, or None while nothing has been tuned."""
    return open_existing(storage_url(lab))


def plots_folder(lab: Lab) -> Path:
    return Path(lab.settings.runs_dir) / "studies"


@router.get("", summary="The tuning studies: trials by state and best validation accuracy")
def list_studies(lab: Lab = Depends(get_lab)) -> list[dict[str, Any]]:
    """One summary per study, as `digitlab studies` prints; empty before the first `digitlab tune`."""
    from ..tune_report import study_list

    storage = open_studies(lab)
    return clean(study_list(storage)) if storage is not None else []


@router.get("/{name}", summary="One study: trials, best params, fewest trainings, importances, Pareto front, plots")
def get_study(name: str, lab: Lab = Depends(get_lab)) -> dict[str, Any]:
    """What `digitlab study NAME` shows, plus the names of its plot files (to fetch from ``/plots/``)."""
    from ..tune_report import study_report
    from ..tune_storage import load_study

    storage = open_studies(lab)
    if storage is None:
        raise NotFound(f"No study named {name!r}: nothing has been tuned yet (digitlab tune --space cnn).")
    try:
        report = study_report(load_study(name, storage))
    except RunError as err:
        raise NotFound(str(err)) from err
    folder = plots_folder(lab) / name
    return clean({**report, "plots": [p for p in PLOTS if (folder / p).is_file()]})


@router.get("/{name}/plots/{file}", summary="A plot of a study (PNG)")
def get_plot(name: str, file: str, lab: Lab = Depends(get_lab)) -> FileResponse:
    """Only the study's plot files are served; any other name, ``..`` or link out gives 404."""
    if file not in PLOTS:
        raise NotFound(f"A study has no plot {file!r}; its plots are {', '.join(PLOTS)}.")
    target = safe_file(plots_folder(lab), f"{name}/{file}", "studies folder")
    return FileResponse(target, media_type="image/png", headers=FILE_HEADERS)
