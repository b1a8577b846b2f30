"""Importing the predictor, the server or the CLI loads no training code (the import contracts themselves are
checked by `lint-imports` in `make test`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = "import {m}, sys; print(sorted(n for n in sys.modules if n.startswith(('digitlab.train', 'digitlab.runner', 'matplotlib'))))"


@pytest.mark.parametrize("module", ["digitlab.recognize.predictor", "digitlab.inside", "digitlab.serve", "digitlab.cli", "digitlab"])
def test_importing_loads_no_training_code(module):
    out = subprocess.run([sys.executable, "-c", PROBE.format(m=module)], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"{module} pulled in {out.strip()}"
