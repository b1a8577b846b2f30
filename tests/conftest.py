"""Shared fixtures: a private lab folder, small training configs, and CLI runners (in-process and subprocess).

The machine is small and shared: every training run here uses one thread, a
few hundred to two thousand images and one to three epochs.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO / "data" / "mnist"
MNIST_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]

# Small, quick, single-threaded training (the defaults would train 8 epochs on 55k images with every core).
SMALL = ["epochs=1", "train_subset=1000", "val_size=500", "threads=1", "model=fast", "batch_size=64"]

torch.set_num_threads(1)  # evaluation in this process (eval, plots) stays on one core too


def small(*extra: str) -> list[str]:
    """``key=value`` overrides of a tiny run; later items win (``small("epochs=2")``)."""
    return [*SMALL, *extra]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    """No test reads the user's cache, database or mirrors; subprocesses stay on one thread."""
    for var in ("DIGITLAB_DB", "DIGITLAB_DATA", "DIGITLAB_MIRRORS", "DIGITLAB_RUNS", "DIGITLAB_MODELS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DIGITLAB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")


@dataclass
class Result:
    """Outcome of one CLI call."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def call_main(argv: list[str]) -> Result:
    """Run ``digitlab.cli.main(argv)`` in this process, capturing its output (usable in any fixture scope)."""
    from digitlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = signal.getsignal(signal.SIGTERM)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        signal.signal(signal.SIGTERM, old)
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def lab(tmp_path, monkeypatch) -> Path:
    """An empty working folder (the current directory) for runs/ and models/."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(lab, capsys):
    """``cli("train", "epochs=1", ...)`` -> Result: in-process ``digitlab --runs-dir runs --models-dir models ...`` via capsys."""
    from digitlab.cli import main

    def run(*args: str, runs_dir: Path | str = lab / "runs", models_dir: Path | str = lab / "models") -> Result:
        capsys.readouterr()
        old = signal.getsignal(signal.SIGTERM)
        try:
            code = main(["--runs-dir", str(runs_dir), "--models-dir", str(models_dir), *args])
        finally:
            signal.signal(signal.SIGTERM, old)
        cap = capsys.readouterr()
        return Result(code, cap.out, cap.err)

    return run


def run_subprocess(args: list[str], cwd: Path, timeout: float = 180, env: dict[str, str] | None = None) -> Result:
    """``python -m digitlab.cli ARGS`` as a real process."""
    p = subprocess.run(
        [sys.executable, "-m", "digitlab.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return Result(p.returncode, p.stdout, p.stderr)


def error_line(res: Result) -> str:
    """The one line the CLI printed for a user error (asserting there is exactly one and no traceback)."""
    assert "Traceback" not in res.text, res.text
    lines = [ln for ln in res.err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one error line, got: {res.err!r}"
    return lines[0]
