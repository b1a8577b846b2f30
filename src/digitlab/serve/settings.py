"""What one server instance is allowed to do and where it keeps its things."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Folders, the model to start with, exposure and request limits of one server."""

    runs_dir: Path = Path("runs")
    db: str | None = None  # run database URL (default: SQLite in runs_dir)
    study_storage: str | None = None  # Optuna storage of the tuning studies (default: SQLite in runs_dir, as `digitlab tune`)
    models_dir: Path = Path("models")
    model: str | None = None  # run name, checkpoint or promoted model; None = shipped model, else newest completed run
    data_dir: str | None = None
    exposed: bool = False  # bound beyond localhost: training and model changes need ``token``
    token: str | None = None  # required in X-Digitlab-Token for training and model changes when set
    max_upload_bytes: int = 10 * MB  # per picture
    max_files: int = 20  # pictures per request
    max_pixels: int = 40_000_000  # per picture, checked from the header before decoding
    max_queued: int = 20  # training jobs waiting at once
    torch_threads: int = 1  # torch threads per prediction request (0 = leave torch's setting)
    predict_slots: int = 1  # predictions running at once, the others queue in arrival order (0 = no limit); 1 measured best on 2 cores

    @property
    def body_limit(self) -> int:
        """Largest request body accepted: every file at its limit plus room for the multipart framing."""
        return self.max_files * self.max_upload_bytes + MB


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this computer."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
