"""Plain JSON from the lab's records: no NaN or infinity (JSON has none), dates as ISO text."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any


def clean(obj: Any) -> Any:
    """``obj`` with non-finite floats as None, tuples as lists, dates as ISO strings and paths as text."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, (dt.datetime, dt.date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    return obj
