"""The parameter schema for the Train form: one entry per parameter with its meaning, default and bounds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..config import FIELDS, TrainConfig, param_rows
from ..models import list_models

router = APIRouter(prefix="/api/config", tags=["train"])
BOUNDS = {"minimum": ("min", False), "exclusiveMinimum": ("min", True), "maximum": ("max", False), "exclusiveMaximum": ("max", True)}


def field_bounds(prop: dict[str, Any]) -> dict[str, Any]:
    """JSON type, nullability, min/max (and whether exclusive), enum and pattern of one JSON-schema property."""
    options = prop.get("anyOf", [prop])
    main = next((o for o in options if o.get("type") != "null"), options[0])
    out: dict[str, Any] = {
        "json_type": main.get("type", "string"),
        "nullable": len(options) > 1,
        "min": None,
        "max": None,
        "min_exclusive": False,
        "max_exclusive": False,
        "enum": main.get("enum") or prop.get("enum"),
        "pattern": main.get("pattern"),
    }
    for key, (side, exclusive) in BOUNDS.items():
        if key in main:
            out[side], out[f"{side}_exclusive"] = main[key], exclusive
    return out


def param_schema() -> list[dict[str, Any]]:
    """``param_rows()`` joined with the pydantic JSON schema, in the order of ``digitlab params``."""
    props = TrainConfig.model_json_schema()["properties"]
    out = []
    for row in param_rows():
        name = row["name"]
        extra = {"suggestions": list_models()} if name == "model" else {}
        out.append({**row, "tunable": row["tunable"] == "yes", "default": FIELDS[name].default, **field_bounds(props[name]), **extra})
    return out


@router.get("/schema", summary="Every training parameter: name, type, default, range, unit, meaning, min/max")
def schema() -> dict[str, Any]:
    """One entry per parameter, in the order of `digitlab params`, with JSON-schema bounds and the known model names."""
    return {"params": param_schema()}
