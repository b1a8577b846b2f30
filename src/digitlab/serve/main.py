"""``digitlab serve``: check the settings, say where the lab is (and what is exposed), run uvicorn."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import socket
import uuid
from pathlib import Path
from typing import Any

from ..console import console, err_console
from .settings import LOCAL_HOSTS, Settings, is_loopback, is_wildcard


def make_settings(
    host: str,
    model: str | None,
    allow_train: bool,
    runs_dir: Path,
    db: str | None,
    models_dir: Path,
    data_dir: str | None,
    studies: str | None = None,
    engine: str = "auto",
    workers: int = 1,
) -> Settings:
    """Settings for a server bound to ``host``: beyond localhost, training needs ``allow_train`` and a fresh token.

    It answers to localhost's names and ``host``; bound to every address (0.0.0.0, ::), also to this
    computer's name and any IP address, as clients on the network know it by those.
    """
    exposed = not is_loopback(host)
    token = secrets.token_urlsafe(24) if exposed and allow_train else None
    hosts = {host.strip("[]").lower()}
    if is_wildcard(host):
        hosts.add(socket.gethostname().lower())
    return Settings(
        runs_dir=runs_dir,
        db=db,
        study_storage=studies,
        models_dir=models_dir,
        model=model,
        data_dir=data_dir,
        exposed=exposed,
        token=token,
        allowed_hosts=LOCAL_HOSTS | hosts,
        any_ip_host=is_wildcard(host),
        engine=engine,
        workers=workers,
        instance=uuid.uuid4().hex,
    )


def announce(settings: Settings, host: str, port: int, model_info: dict) -> None:
    """Print the address, the model in use and, when bound beyond localhost, the warning and the token."""
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    url = f"http://{shown}:{port}/"
    if settings.exposed:
        err_console.print(
            f"[bold yellow]warning:[/] listening on {host}: anyone who can reach this computer can use the lab "
            "(pictures, runs, logs). Bind to 127.0.0.1 unless you mean it."
        )
        if settings.token is None:
            err_console.print("[yellow]Training and model changes are off[/] (add --allow-train to enable them behind a token).")
        else:
            console.print(f"token for training and model changes (header X-Digitlab-Token): [bold]{settings.token}[/]")
            url += f"#token={settings.token}"
    model = model_info.get("ref") or "none yet (train one in the Train tab)"
    console.print(f"digitlab is at [bold]{url}[/]  (model: {model}; API docs at /docs; Ctrl-C stops)")


SETTINGS_ENV = "DIGITLAB_SERVE_SETTINGS"  # how the parent hands its settings (token and instance included) to its workers


def settings_to_env(settings: Settings) -> str:
    return json.dumps(
        {
            k: sorted(v) if isinstance(v, frozenset) else str(v) if isinstance(v, Path) else v
            for k, v in dataclasses.asdict(settings).items()
        }
    )


def settings_from_env() -> Settings:
    raw: dict[str, Any] = json.loads(os.environ[SETTINGS_ENV])
    for f in dataclasses.fields(Settings):
        if f.name in raw and "frozenset" in str(f.type):
            raw[f.name] = frozenset(raw[f.name])
        elif f.name in raw and str(f.type) == "Path":
            raw[f.name] = Path(raw[f.name])
    return Settings(**raw)


def worker_app() -> Any:
    """The app of one worker process of ``digitlab serve --workers N`` (uvicorn calls this factory in each)."""
    from .app import create_app

    return create_app(settings_from_env())


def serve(host: str, port: int, settings: Settings) -> None:
    """Build the app (loading the model first, so a bad --model fails before listening) and run it on ``settings.workers`` processes.

    With more than one worker, this process checks the settings and writes the model choice on the board, then uvicorn
    starts the workers, each building its own app from the same settings (same instance: same jobs and model choice).
    """
    import uvicorn

    from .app import create_app

    app = create_app(settings)
    announce(settings, host, port, app.state.lab.slot.info())
    if settings.workers <= 1:
        uvicorn.run(app, host=host, port=port, workers=1, log_level="warning", timeout_graceful_shutdown=10)
        return
    os.environ[SETTINGS_ENV] = settings_to_env(settings)
    uvicorn.run(
        "digitlab.serve.main:worker_app", factory=True, host=host, port=port, workers=settings.workers,
        log_level="warning", timeout_graceful_shutdown=10,
    )  # fmt: skip
