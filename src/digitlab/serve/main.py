"""``digitlab serve``: check the settings, say where the lab is (and what is exposed), run uvicorn."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

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


def serve(host: str, port: int, settings: Settings) -> None:
    """Build the app (loading the model first, so a bad --model fails before listening) and run it, one worker."""
    import uvicorn

    from .app import create_app

    app = create_app(settings)
    announce(settings, host, port, app.state.lab.slot.info())
    uvicorn.run(app, host=host, port=port, workers=1, log_level="warning", timeout_graceful_shutdown=10)
