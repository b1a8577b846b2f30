"""Committed files hold no absolute paths of the machine they were made on (results, docs, presets)."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHECKED = ("benchmarks/results/", "docs/", "src/digitlab/presets/", "README.md", "data/README.md")


def test_no_absolute_machine_paths_in_committed_files():
    tracked = subprocess.run(["git", "ls-files", *CHECKED], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for rel in tracked:
        path = REPO / rel
        if path.suffix.lower() in {".png", ".jpg", ".pt", ".gz", ".ipynb"} or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        offenders += [f"{rel}: {marker}" for marker in (str(REPO), "/root/", "/tmp/pytest-") if marker in text]
    assert not offenders, offenders
