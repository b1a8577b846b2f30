"""``digitlab export``: a trained model as one ONNX file that reproduces ``predict``, checked against torch."""

from __future__ import annotations

from pathlib import Path

import typer

from ..console import console, pct, table
from .base import Ctx, app


@app.command("export")
def export_cmd(
    ref: str = typer.Argument(..., help="Run name, promoted model (gen1, gen1:v2), checkpoint file, or ship (the shipped model)."),
    fmt: str = typer.Option("onnx", "--format", help="onnx (the only format so far)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder to write model.onnx into (default exports/<name>/)."),
    check: bool = typer.Option(True, "--check/--no-check", help="Compare with the checkpoint on the whole test split."),
) -> None:
    """Export a model to ONNX (dynamic batch, opset 18) with its normalisation, classes, detectors and threshold."""
    from ..catalog import resolve
    from ..export import PARITY, ExportError, check_parity, export_onnx

    if fmt != "onnx":
        raise ExportError(f"--format {fmt!r} is not available; use --format onnx.")
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise ExportError(f"Exporting needs {err.name}: pip install 'digitlab[export]' (onnx, onnxscript, onnxruntime).") from None
    source = resolve(ref, Ctx.store(), Ctx.models_dir)
    name = Path(ref).stem if Path(ref).suffix in (".pt", ".ckpt") else ref.replace(":", "-")
    dest = export_onnx(source, (out or Path("exports") / name) / "model.onnx")
    console.print(f"exported {source} -> {dest} ({dest.stat().st_size / 1e6:.1f} MB)")
    if not check:
        return
    p = check_parity(dest, source, Ctx.data_dir)
    rows = [
        ["same top class", pct(p.argmax), f">= {pct(PARITY['argmax'])}"],
        ["max |logit difference|", f"{p.max_logit_diff:.2e}", f"<= {PARITY['max_logit_diff']:.0e}"],
        ["same accept / refuse decision", pct(p.decision), f">= {pct(PARITY['decision'])}"],
    ]
    console.print(table(f"ONNX Runtime vs torch on the {p.n:,} test images", ["check", "measured", "required"], rows))
    if not p.ok:
        raise ExportError(f"The export does not match its checkpoint (see the table); {dest} should not be used.")
