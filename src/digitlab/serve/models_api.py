"""Models endpoints: the promoted models (by generation) and the model Recognise uses."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ..catalog import promoted_models
from ..errors import RunError
from ..recognize.predictor import DEFAULT_MODEL
from .errors import NotFound
from .jsonable import clean
from .lab import Lab, get_lab
from .security import require_control

router = APIRouter(prefix="/api/models", tags=["models"])


class ModelChoice(BaseModel):
    """Which model Recognise should use."""

    ref: str = Field(description="run name, promoted model (gen1 or gen1:v2) or checkpoint path", min_length=1, max_length=500)


def promoted(lab: Lab) -> list[dict[str, Any]]:
    """Promoted models with their run's generation and accuracies."""
    return [{**asdict(p), "path": str(p.path), "ref": p.ref} for p in promoted_models(lab.store)]


@router.get("", summary="Promoted models, completed runs and the model Recognise uses")
def list_models(lab: Lab = Depends(get_lab)) -> dict[str, Any]:
    """`current` is what Recognise uses; `runs` are completed runs that can be chosen by name."""
    runs = [
        {"name": r.name, "model": r.model, "generation": r.generation, "test_acc": r.test_acc}
        for r in lab.store.list_runs(status="completed", task="classify")  # generators write digits; they cannot read them
    ]
    return clean(
        {
            "current": lab.slot.info(),
            "promoted": promoted(lab),
            "runs": runs,
            "shipped": str(DEFAULT_MODEL) if DEFAULT_MODEL.is_file() else None,
        }
    )


@router.put("/current", dependencies=[Depends(require_control)], summary="Switch the model Recognise uses")
async def set_current(choice: ModelChoice, lab: Lab = Depends(get_lab)) -> dict[str, Any]:
    """Loads the model first; the old one keeps answering until the new one is ready."""
    try:
        return clean(await run_in_threadpool(lab.slot.load, choice.ref))
    except RunError as err:
        raise NotFound(str(err)) from err
