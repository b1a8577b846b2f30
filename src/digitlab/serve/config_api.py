"""The parameter schema for the Train form: one entry per parameter with its meaning (English and Simplified Chinese),
default and bounds, and the model families to choose from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..config import FIELDS, TrainConfig
from ..config_docs import param_rows
from ..models import default_param_count, get_spec, list_models

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


def model_choices() -> list[dict[str, Any]]:
    """Every registered classifier family: name, one-line description in English and Chinese, parameters at defaults."""
    out = []
    for name in list_models():
        spec = get_spec(name)
        out.append({"name": name, "summary": spec.summary, "summary_zh": spec.summary_zh, "params": default_param_count(name)})
    return out


def param_schema() -> list[dict[str, Any]]:
    """``param_rows()`` joined with the pydantic JSON schema, in the order of ``digitlab params``; the meaning, unit
    and range words also in Chinese (``meaning_zh``, ``unit_zh``, ``range_zh``)."""
    props = TrainConfig.model_json_schema()["properties"]
    zh = {row["name"]: row for row in param_rows(lang="zh")}
    out = []
    for row in param_rows():
        name = row["name"]
        words = {f"{k}_zh": zh[name][k] for k in ("meaning", "unit", "range")}
        extra = {"choices": model_choices()} if name == "model" else {}
        default = FIELDS[name].default
        out.append({**row, **words, "tunable": row["tunable"] == "yes", "default": default, **field_bounds(props[name]), **extra})
    return out


@router.get("/schema", summary="Every training parameter: name, type, default, range, unit, meaning (English and Chinese), min/max")
def schema() -> dict[str, Any]:
    """One entry per parameter, in the order of `digitlab params`, with JSON-schema bounds; the `model` entry lists the
    registered families (`choices`: name, summary, summary_zh, params)."""
    return {"params": param_schema()}
