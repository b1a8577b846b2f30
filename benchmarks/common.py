"""Shared helpers of the benchmark scripts: machine description and result files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from digitlab.evidence import machine
from digitlab.timing import times_ms  # noqa: F401  (the benchmarks' timing loop)

RESULTS = Path(__file__).resolve().parent / "results"
REPO = RESULTS.parents[1]


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_results(name: str, payload: dict[str, Any], rows: list[list[Any]], header: list[str]) -> None:
    """``results/<name>.json`` and ``results/<name>.md`` (a table with the machine and commit)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), "commit": git_commit(), **payload}
    # committed results hold no absolute paths of the machine: paths inside the checkout become relative to it
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2).replace(f"{REPO}/", ""))
    lines = [f"Machine: {payload['machine']}; commit {payload['commit']}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
