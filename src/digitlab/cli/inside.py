"""``digitlab inside``: what a trained network does with one digit: each layer's output shape, its filters, saliency."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..console import console, table
from .base import Ctx, app

if TYPE_CHECKING:
    from ..inside import Inside


@app.command()
def inside(
    model: str = typer.Argument(..., help="Run name, checkpoint, promoted model (name or name:vK), or ship for the shipped model."),
    picture: Path = typer.Argument(..., help="A picture of one digit or more (photo, scan, drawing)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for the PNGs (new or empty). Default: inside-<picture name>, numbered if it exists."
    ),
    digit: int = typer.Option(1, "--digit", "-k", min=1, help="Which digit of the picture: 1 = the first in reading order."),
) -> None:
    """Look inside the network: each layer's output and its shape, the first layer's filters, and which pixels drove the
    answer (integrated gradients; Grad-CAM where there is a convolution), printed and written as PNGs."""
    from ..catalog import resolve
    from ..inside import digits_in, open_subject
    from ..inside.picture import pick
    from ..inside.render import free_folder, write_pngs
    from ..recognize.explain import safe_stem

    subject = open_subject(resolve(model, Ctx.store(), Ctx.models_dir))
    digits = digits_in(str(picture))
    seen = subject.inside(pick(digits, digit))
    folder = out or free_folder(safe_stem(str(picture)))
    written = write_pngs(seen, folder)
    _print(seen, subject.name, len(digits), digit)
    console.print(f"{len(written)} files written to {folder}/ (saliency.png, filters.png, layer-NN-<name>.png, inside.json)")


def _print(seen: Inside, architecture: str, found: int, k: int) -> None:
    """The layer table, the answer, the filters' layer, the integrated gradients' check and Grad-CAM's map, in words."""
    rows = [
        [str(i), v.name, v.type, v.shape_text, ", ".join(map(str, v.channels[:4])) + (" ..." if len(v.channels) > 4 else "")]
        for i, v in enumerate(seen.layers, 1)
    ]
    console.print(
        table(f"Inside {architecture}: the layers in forward order", ["#", "layer", "type", "output shape", "most active channels"], rows)
    )
    f, ig, cam = seen.filters, seen.integrated, seen.gradcam
    console.print(f"{found} digit{'s' if found > 1 else ''} found in the picture; looking inside digit {k}.")
    console.print(f"Answer: {seen.label} ({seen.probs[seen.predicted]:.1%}).")
    console.print(
        f"First-layer filters: {f.layer} ({f.type}), weights {list(f.shape)}."
        if f
        else f"First-layer filters: none to show ({architecture}'s first layer does not read the picture as an image)."
    )
    console.print(
        f"Integrated gradients ({ig.steps} steps from the blank picture): the attributions sum to {ig.total:.3f};"
        f" the logit of {seen.label} went from {ig.baseline_logit:.3f} to {ig.logit:.3f} ({ig.change:+.3f})."
    )
    console.print(
        f"Grad-CAM on the {cam.side[0]}x{cam.side[1]} map {'entering' if cam.entering else 'out of'} {cam.layer}."
        if cam
        else f"Grad-CAM: none ({architecture} has no convolution)."
    )
