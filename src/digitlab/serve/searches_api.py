"""Structure search endpoints (issue 15): the searches of ``digitlab nas``, one search's children, learning curve and
best structures (as blocks, for the block diagrams), and its plots."""

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
from .studies_api import open_existing

router = APIRouter(prefix="/api/searches", tags=["searches"])
PLOTS = ("learning.png", "pareto.png")  # written by `digitlab nas show NAME --plots`


def open_searches(lab: Lab) -> Any:
    """The search storage (``--studies URL`` when the server shares one, else ``<runs>/nas.db``), or None while
    nothing has been searched (a missing SQLite file is not created by looking)."""
    from ..nas_records import default_storage

    return open_existing(lab.settings.study_storage or default_storage(lab.settings.runs_dir))


@router.get("", summary="The structure searches: controller, children, best proxy validation accuracy and structure")
def list_searches(lab: Lab = Depends(get_lab)) -> list[dict[str, Any]]:
    """One line per search, as `digitlab nas list` prints; empty before the first `digitlab nas`."""
    from ..nas_records import search_list

    storage = open_searches(lab)
    return clean(search_list(storage)) if storage is not None else []


@router.get("/{name}", summary="One search: its children in order, quarters, best structures as blocks, plots")
def get_search(name: str, lab: Lab = Depends(get_lab)) -> dict[str, Any]:
    """What `digitlab nas show NAME` shows, plus the names of its plot files (to fetch from ``/plots/``)."""
    from ..nas_records import load_search, search_report

    storage = open_searches(lab)
    if storage is None:
        raise NotFound(f"No structure search named {name!r}: nothing has been searched yet (digitlab nas --space cnn).")
    try:
        report = search_report(load_search(name, storage))
    except RunError as err:
        raise NotFound(str(err)) from err
    folder = Path(lab.settings.runs_dir) / "searches" / name
    return clean({**report, "plots": [p for p in PLOTS if (folder / p).is_file()]})


@router.get("/{name}/plots/{file}", summary="A plot of a search (PNG)")
def get_plot(name: str, file: str, lab: Lab = Depends(get_lab)) -> FileResponse:
    """Only the search's plot files are served; any other name, ``..`` or link out gives 404."""
    if file not in PLOTS:
        raise NotFound(f"A search has no plot {file!r}; its plots are {', '.join(PLOTS)}.")
    target = safe_file(Path(lab.settings.runs_dir) / "searches", f"{name}/{file}", "searches folder")
    return FileResponse(target, media_type="image/png", headers=FILE_HEADERS)
