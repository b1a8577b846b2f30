"""``digitlab serve``: the lab in a browser (the FastAPI app is imported only when the command runs)."""

from __future__ import annotations

import typer

from .base import Ctx, app


@app.command()
def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 opens the lab to the network (a warning is printed)."
    ),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Run name, checkpoint or promoted model for Recognise (default: the shipped model, else the newest completed run).",
    ),
    allow_train: bool = typer.Option(
        False, "--allow-train", help="Beyond localhost, allow training and model changes behind a token printed at start-up."
    ),
    studies: str | None = typer.Option(
        None,
        "--studies",
        help="Storage URL of the tuning studies and structure searches to show (default sqlite:///<runs>/optuna.db and nas.db).",
    ),
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, help="Processes answering requests (one per core); they share jobs and the model choice."
    ),
    engine: str = typer.Option("auto", "--engine", help="Runs the network: auto (ONNX Runtime where installed), torch or onnx."),
) -> None:
    """Open the lab in a browser: recognise pictures and drawings, compare runs, train and choose models."""
    from ..serve.main import make_settings
    from ..serve.main import serve as run_server

    run_server(
        host, port, make_settings(host, model, allow_train, Ctx.runs_dir, Ctx.db, Ctx.models_dir, Ctx.data_dir, studies, engine, workers)
    )
