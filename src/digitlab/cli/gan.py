"""``digitlab gan`` (train, resume, list the generator families) and ``digitlab generate`` (new digits from a run)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import typer

from ..console import console, pct, secs, table
from .base import Ctx, app, raise_interrupt

gan_app = typer.Typer(no_args_is_help=True, help="Generative models of digits: train them as recorded runs, list the families.")
app.add_typer(gan_app, name="gan")


@gan_app.command("train", context_settings={"allow_extra_args": True})
def train(
    overrides: list[str] = typer.Argument(None, help="key=value overrides, e.g. model=wgan-gp epochs=20 lr=1e-4"),
    config: str | None = typer.Option(None, "--config", "-c", help="YAML file, or a shipped GAN config by name: cdcgan, wgan-gp, cvae."),
) -> None:
    """Train a generator as a recorded run: losses, quality in the lab's feature space and a sample grid every epoch."""
    from ..config import load_gen_config
    from ..gen_runner import run_generator

    signal.signal(signal.SIGTERM, raise_interrupt)
    cfg = load_gen_config(config, overrides or [])
    name, _ = run_generator(
        cfg, runs_dir=Ctx.runs_dir, store=Ctx.store(), data_dir=Ctx.data_dir, models_dir=Ctx.models_dir, hooks=[_epoch_line(cfg.epochs)]
    )
    _report(name)


@gan_app.command("resume")
def resume(name: str = typer.Argument(..., help="The interrupted generative run.")) -> None:
    """Continue an interrupted generative run exactly where its last full epoch ended."""
    from ..gen_runner import resume_generator

    signal.signal(signal.SIGTERM, raise_interrupt)
    rec = Ctx.store().get_run(name)
    resume_generator(
        name,
        runs_dir=Ctx.runs_dir,
        store=Ctx.store(),
        data_dir=Ctx.data_dir,
        models_dir=Ctx.models_dir,
        hooks=[_epoch_line(rec.config.epochs)],
    )
    _report(name)


@gan_app.command("list")
def list_families() -> None:
    """The registered generator families, their papers and default arguments."""
    from ..generators import generator_spec, list_generators

    rows = []
    for name in list_generators():
        s = generator_spec(name)
        rows.append(
            [
                name,
                "adversarial" if s.adversarial else "not adversarial",
                s.summary,
                s.paper,
                ", ".join(f"{k}={v}" for k, v in s.kwargs.items()),
            ]
        )
    console.print(table("Generator families", ["name", "training", "summary", "paper", "arguments"], rows))


def _epoch_line(epochs: int) -> Any:
    """A hook printing one line per epoch (GAN epochs are long; a line says more than a bar)."""

    def said(m: dict[str, Any]) -> None:
        losses = ", ".join(f"{k} {m[k]:.3f}" for k in ("g_loss", "d_loss", "d_acc") if k in m)
        console.print(
            f"epoch {m['epoch']}/{epochs}: {losses}; Fréchet {m['fid']:.2f} (floor {m['fid_floor']:.2f}), judge {pct(m['class_acc'])},"
            f" precision {m['precision']:.2f}, recall {m['recall']:.2f} ({secs(m['train_seconds'])} + {secs(m['eval_seconds'])})"
        )
        for w in m["warnings"]:
            console.print(f"[yellow]warning:[/] {w}")

    return said


def _report(name: str) -> None:
    rec = Ctx.store().get_run(name)
    q = rec.extra.get("quality")
    if rec.status == "interrupted":
        console.print(f"[yellow]interrupted[/]: continue with `digitlab gan resume {name}`")
        raise typer.Exit(130)
    if q:
        console.print(
            f"{name} ({rec.model}, {secs(rec.train_seconds)}): on the test split, Fréchet {q['fid']:.2f} = {q['fid_ratio']:.1f}x the real-vs-real"
            f" floor {q['fid_floor']:.2f}; the judge reads {pct(q['class_acc'])} of its digits as the digit asked for;"
            f" precision {q['precision']:.2f}, recall {q['recall']:.2f}"
        )
    for w in rec.extra.get("warnings", []):
        console.print(f"[yellow]warning:[/] {w}")
    console.print(f"samples per epoch: {rec.folder.path / 'samples'}; weights: {rec.folder.best}")


@app.command("generate")
def generate(
    ref: str = typer.Argument(..., help="A generative run (or its checkpoint file)."),
    digit: list[int] = typer.Option(None, "--digit", "-d", help="The digit(s) to write (default: every digit, one row each)."),
    n: int = typer.Option(64, "-n", min=1, max=4096, help="How many digits (per --digit, or in all)."),
    out: Path = typer.Option(Path("generated.png"), "--out", "-o", help="PNG file of the grid."),
    interpolate: tuple[int, int] | None = typer.Option(None, "--interpolate", help="Walk from one digit to another: --interpolate 3 8."),
    seed: int = typer.Option(0, "--seed", help="Seed of the noise: the same seed, the same digits."),
    scale: int = typer.Option(2, "--scale", min=1, max=8, help="Pixels per digit pixel in the PNG."),
) -> None:
    """New digits from a trained generator, as a PNG grid (or a walk between two digits)."""
    from ..generate import generate_grid

    result = generate_grid(ref, digits=digit or None, n=n, interpolate=interpolate, seed=seed, store=Ctx.store(), out=out, scale=scale)
    console.print(f"{result.count} digits by {result.model} ({result.run}) in {result.ms:.1f} ms -> {result.path}")
