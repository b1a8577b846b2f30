"""``digitlab export``: a trained model as one ONNX file that reproduces ``predict`` (or INT8 ONNX, or an ExecuTorch .pte), checked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..console import console, pct, table
from .base import Ctx, app

if TYPE_CHECKING:
    from ..export import Parity


@app.command("export")
def export_cmd(
    ref: str = typer.Argument(..., help="Run name, promoted model (gen1, gen1:v2), checkpoint file, or ship (the shipped model)."),
    fmt: str = typer.Option("onnx", "--format", help="onnx, or pte (ExecuTorch with XNNPACK, for native apps; needs the pte extra)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder to write model.onnx (or model.pte) into (default exports/<name>/)."),
    check: bool = typer.Option(True, "--check/--no-check", help="Compare with the checkpoint on the whole test split."),
    int8: bool = typer.Option(
        False, "--int8", help="Also write model.int8.onnx: statically quantised (calibrated on training images), checked against float32."
    ),
    web: Path | None = typer.Option(
        None, "--web", help="Write the web app into this folder as static files that recognise on the device (no server needed)."
    ),
) -> None:
    """Export a model to ONNX (dynamic batch, opset 18) with its normalisation, classes, detectors and threshold."""
    from ..catalog import resolve
    from ..export import ExportError, check_parity, export_onnx

    if fmt not in ("onnx", "pte"):
        raise ExportError(f"--format {fmt!r} is not available; use --format onnx or pte.")
    if fmt == "pte" and int8:
        raise ExportError("--int8 goes with --format onnx (ONNX Runtime quantises it).")
    if fmt == "onnx":
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
            import onnxscript  # noqa: F401
        except ImportError as err:
            raise ExportError(f"Exporting needs {err.name}: pip install 'digitlab[export]' (onnx, onnxscript, onnxruntime).") from None
    source = resolve(ref, Ctx.store(), Ctx.models_dir)
    if web is not None:
        return _web(source, web, check)
    folder = out or Path("exports") / (Path(ref).stem if Path(ref).suffix in (".pt", ".ckpt") else ref.replace(":", "-"))
    if fmt == "pte":
        return _pte(source, folder / "model.pte", check)
    dest = export_onnx(source, folder / "model.onnx")
    console.print(f"exported {source} -> {dest} ({dest.stat().st_size / 1e6:.1f} MB)")
    if check:
        _show(check_parity(dest, source, Ctx.data_dir), "ONNX Runtime", dest)
    if int8:
        _int8(dest, source, check)


def _web(source: Path, folder: Path, check: bool) -> None:
    """The static web app with ``source``'s model, and the model file's parity check."""
    from ..export import check_parity
    from ..serve.site import write_site

    site = write_site(source, folder)
    console.print(f"wrote the web app with {source} -> {folder}/ ({site.files} files, {site.bytes / 1e6:.1f} MB; model {site.model_id})")
    console.print(f"serve it over HTTPS (try: python -m http.server -d {folder} 8080); see {folder / 'README.txt'}")
    if check:
        _show(check_parity(folder / "model" / "model.onnx", source, Ctx.data_dir), "ONNX Runtime", folder / "model" / "model.onnx")


def _pte(source: Path, dest: Path, check: bool) -> None:
    """model.pte and model.pte.json with ExecuTorch, and the ONNX export's parity check."""
    from ..export_pte import check_pte_parity, export_pte

    export_pte(source, dest)
    console.print(f"exported {source} -> {dest} ({dest.stat().st_size / 1e6:.2f} MB; metadata in {dest.name}.json)")
    if check:
        _show(check_pte_parity(dest, source, Ctx.data_dir), "ExecuTorch (XNNPACK)", dest)


def _show(p: Parity, engine: str, dest: Path) -> None:
    """An export against its checkpoint on the test split, as a table; an error when it misses a bar."""
    from ..export import PARITY, ExportError

    rows = [
        ["same top class", pct(p.argmax), f">= {pct(PARITY['argmax'])}"],
        ["max |logit difference|", f"{p.max_logit_diff:.2e}", f"<= {PARITY['max_logit_diff']:.0e}"],
        ["same accept / refuse decision", pct(p.decision), f">= {pct(PARITY['decision'])}"],
    ]
    console.print(table(f"{engine} vs torch on the {p.n:,} test images", ["check", "measured", "required"], rows))
    if not p.ok:
        raise ExportError(f"The export does not match its checkpoint (see the table); {dest} should not be used.")


def _int8(float_path: Path, source: Path, check: bool) -> None:
    """model.int8.onnx beside ``float_path``, and its check against float32 on the test split."""
    from ..export import ExportError
    from ..export_int8 import INT8_BARS, check_int8, export_int8

    dest = export_int8(float_path, source, float_path.with_name("model.int8.onnx"), Ctx.data_dir)
    console.print(f"quantised -> {dest} ({dest.stat().st_size / 1e6:.2f} MB)")
    if not check:
        return
    c = check_int8(dest, float_path, source, Ctx.data_dir)
    mb = [f"{b / 1e6:.2f} MB" for b in (*c.size, *c.graph)]
    rows = [
        ["same top class as float32", pct(c.argmax), f">= {pct(INT8_BARS['argmax'])}"],
        ["test accuracy: float32 -> int8", f"{pct(c.accuracy[0])} -> {pct(c.accuracy[1])} ({c.accuracy_change_pp:+.2f} pp)", f">= {INT8_BARS['accuracy_change_pp']:+.2f} pp"],
        ["test digits refused: float32 -> int8", f"{pct(c.refusal[0])} -> {pct(c.refusal[1])} ({c.refusal_change_pp:+.2f} pp)", f"within {INT8_BARS['refusal_change_pp']:.1f} pp"],
        ["file size: float32 -> int8", f"{mb[0]} -> {mb[1]} ({c.size[1] / c.size[0]:.2f}x)", "<= 0.33x"],
        ["  network alone (no metadata)", f"{mb[2]} -> {mb[3]} ({c.graph[1] / c.graph[0]:.2f}x)", ""],
    ]  # fmt: skip
    console.print(table(f"INT8 vs float32 (ONNX Runtime) on the {c.n:,} test images", ["check", "measured", "required"], rows))
    if not c.ok:
        raise ExportError(f"The INT8 export misses its bars (see the table); {dest} should not be used.")


@app.command("bench-infer")
def bench_infer_cmd(
    ref: str = typer.Argument("ship", help="Run name, promoted model, checkpoint file, or ship (the shipped model)."),
    reps: int = typer.Option(2000, "--reps", min=20, max=1_000_000, help="Timed calls of a batch of one (batches of 256: a twentieth)."),
    int8: bool = typer.Option(
        False, "--int8", help="Also time the INT8 export (made in a temporary folder, calibrated on training images)."
    ),
) -> None:
    """Latency and throughput per engine (torch, ONNX Runtime, INT8), side by side, after the export's parity check."""
    import tempfile

    from ..bench_infer import bench_infer
    from ..catalog import resolve

    source = resolve(ref, Ctx.store(), Ctx.models_dir)
    with tempfile.TemporaryDirectory() as tmp:
        int8_path = None
        if int8:
            from ..export import cached_export
            from ..export_int8 import export_int8

            int8_path = export_int8(cached_export(source), source, Path(tmp) / "model.int8.onnx", Ctx.data_dir)
        bench = bench_infer(source, reps, int8_path, Ctx.data_dir)
    _show(bench.parity, "ONNX Runtime", source)
    rows = [
        [
            s.engine,
            f"{s.batch1_ms:.3f} ms",
            f"{s.batch256_img_s:,.0f} images/s",
            f"{s.predict_ms:.2f} ms" if s.predict_ms is not None else "-",
        ]
        for s in bench.speeds
    ]
    head = ["engine", "batch 1, p50 (model only)", "batch 256 (model only)", "predict 28x28 PNG, p50 (end to end)"]
    console.print(table(f"{source.name}: inference speed on this machine ({reps} calls)", head, rows))
