"""What one server instance is allowed to do and where it keeps its things."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})  # names of this computer in a Host header (any port)


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
    allowed_hosts: frozenset[str] = LOCAL_HOSTS  # Host header names (any port) answered; others get 400 (DNS rebinding)
    any_ip_host: bool = False  # also answer to any IP address as Host (a wildcard bind; rebinding needs a DNS name)
    max_upload_bytes: int = 10 * MB  # per picture
    max_files: int = 20  # pictures per request
    max_pixels: int = 40_000_000  # per picture, checked from the header before decoding
    max_request_bytes: int = 40 * MB  # all pictures of one request together
    max_request_pixels: int = 100_000_000  # all pictures of one request together, from their headers (~8 phone photos)
    max_queued: int = 20  # training jobs waiting at once
    torch_threads: int = 1  # torch threads per prediction request (0 = leave torch's setting)
    predict_slots: int = (
        1  # predictions running at once per worker, the others queue in arrival order (0 = no limit); 1 measured best on 2 cores
    )
    engine: str = "auto"  # runs the network: torch, onnx (ONNX Runtime) or auto (ONNX Runtime where installed)
    workers: int = 1  # processes answering requests; they share jobs and the model choice through the run database
    instance: str | None = None  # this server's id on the board (one per start, shared by its workers); None = a new one

    @property
    def body_limit(self) -> int:
        """Largest request body accepted: the pictures' limit plus room for the multipart framing."""
        return min(self.max_files * self.max_upload_bytes, self.max_request_bytes) + MB


def is_wildcard(host: str) -> bool:
    """True for 0.0.0.0 and ::, which listen on every address of this computer."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def is_ip(host: str) -> bool:
    """True when ``host`` is an IPv4 or IPv6 address rather than a name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this computer."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
