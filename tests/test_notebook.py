"""docs/quickstart.ipynb runs from top to bottom in a fresh process, in an empty folder (as a user would run it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "quickstart.ipynb"
RUNNER = """
import json, sys
ns = {"__name__": "__main__"}
for i, cell in enumerate(json.load(open(sys.argv[1]))["cells"]):
    if cell["cell_type"] == "code":
        exec(compile("".join(cell["source"]), f"<cell {i}>", "exec"), ns)
print("ran", i + 1, "cells")
"""


@pytest.mark.slow
def test_quickstart_notebook_runs_top_to_bottom(tmp_path):
    p = subprocess.run([sys.executable, "-c", RUNNER, str(NOTEBOOK)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-4000:]
    assert (tmp_path / "runs" / "nb-fast" / "plots" / "curves.png").is_file()
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    assert f"ran {len(cells)} cells" in p.stdout
