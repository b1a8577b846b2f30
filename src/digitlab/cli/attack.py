"""``digitlab attack``: accuracy of a model on adversarial pictures (FGSM, PGD) and how many its detector refuses."""

from __future__ import annotations

from typing import Any

import typer

from ..console import console, pct, secs, table
from .base import Ctx, app

DEFAULT_EPS = [0.05, 0.1, 0.2, 0.3]


@app.command("attack")
def attack_cmd(
    ref: str = typer.Argument(..., help="Run name, checkpoint or promoted model."),
    method: str = typer.Option("pgd", "--method", help="pgd (Madry et al. 2018) | fgsm (Goodfellow et al. 2015)."),
    eps: list[float] = typer.Option(
        DEFAULT_EPS, "--eps", help="L-inf budget in pixel intensity (0.1 = 10 % of full ink); repeat for several: --eps 0.1 --eps 0.3."
    ),
    steps: int = typer.Option(40, "--steps", help="PGD steps (step size 2.5 * eps / steps)."),
    n: int = typer.Option(1000, "-n", help="Attack the first N test images."),
    seed: int = typer.Option(0, "--seed", help="Seed of PGD's random start."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Attack the first N test images at each eps: robust accuracy, and the share the "not a digit" detector refuses."""
    from ..robustness import attack_run

    report = attack_run(
        ref, method=method, eps_list=eps, steps=steps, n=n, store=Ctx.store(), models_dir=Ctx.models_dir, data_dir=Ctx.data_dir, seed=seed
    )
    if as_json:
        console.print_json(report.to_json())
        return
    _show(report)


def _show(report: Any) -> None:
    how = f"PGD, {report.steps} steps" if report.method == "pgd" else report.method.upper()
    rows = [
        [f"{r.eps:g}", pct(r.clean_acc), pct(r.robust_acc), pct(r.refused), pct(r.clean_refused), pct(r.caught_acc), secs(r.seconds)]
        for r in report.rows
    ]
    columns = ["eps", "clean acc", "robust acc", "refused (adversarial)", "refused (clean)", "correct or refused", "time"]
    console.print(table(f"{report.ref} ({report.model}) under {how}: first {report.n} {report.dataset} test images", columns, rows))
    console.print(_summary(report, how))


def _summary(report: Any, how: str) -> str:
    """One sentence on the strongest eps."""
    r = max(report.rows, key=lambda row: row.eps)
    said = f"At eps {r.eps:g} ({how}), {pct(r.robust_acc)} of the adversarial pictures are still read correctly (clean {pct(r.clean_acc)})"
    if r.refused is None:
        return said + "; this checkpoint has no calibrated 'not a digit' detector, so none is refused."
    return (
        f"{said}; the 'not a digit' detector refuses {pct(r.refused)} of them ({pct(r.clean_refused)} of clean ones),"
        f" so {pct(r.caught_acc)} are read correctly or refused."
    )
