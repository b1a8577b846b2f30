"""What every run records about where it came from: git commit, host, library versions, machine description."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from pathlib import Path


def checkout_root(module: str | Path = __file__) -> Path | None:
    """The source checkout a module of this package runs from (``<root>/src/digitlab/...``), or None for an installed wheel.

    An installed package sits in site-packages, which may lie inside some other git repository
    (a virtual environment in a project folder): that commit is not the lab's.
    """
    here = Path(module).resolve()
    root = here.parents[2]
    return root if here.parents[1].name == "src" and (root / "pyproject.toml").is_file() else None


REPO = checkout_root()


def git_commit() -> str | None:
    """The lab's git commit (with ``+dirty`` when the tree has changes), or None outside a checkout."""
    if REPO is None:
        return None
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str]:
    """Versions of Python and the libraries that decide a run's numbers."""
    import numpy
    import torch

    from .version import __version__

    return {
        "digitlab": __version__,
        "python": sys.version.split()[0],
        "torch": str(torch.__version__),
        "numpy": numpy.__version__,
        "platform": platform.platform(),
    }


def host() -> str:
    """This machine's name."""
    return socket.gethostname()


def machine() -> str:
    """CPU model and core count, e.g. 'Intel Xeon ... (2 cores), torch 2.13.0+cpu' (benchmark and zoo tables)."""
    import torch

    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu} ({os.cpu_count()} cores), torch {torch.__version__}"
