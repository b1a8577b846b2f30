"""CLI commands of recognition: ``predict`` and ``ood-eval`` (registered on the main Typer app)."""

from __future__ import annotations

import csv
import glob
import json
import sys
from pathlib import Path

import typer

from ..console import console, err_console, pct, table
from .base import Ctx, app

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}


def expand_sources(items: list[str]) -> list[tuple[str, str | bytes | None, str | None]]:
    """(label, source, error) per picture: files, folders (their images), quoted globs, ``-`` for stdin bytes."""
    out: list[tuple[str, str | bytes | None, str | None]] = []
    for item in items:
        if item == "-":
            from ..recognize.image_io import MAX_BYTES, read_limited  # here: PIL is not loaded for other commands

            out.append(("<stdin>", read_limited(sys.stdin.buffer, MAX_BYTES, "The picture on stdin"), None))
        elif Path(item).is_dir():
            files = sorted(p for p in Path(item).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            out += [(str(p), str(p), None) for p in files] or [(item, None, f"folder {item} holds no images")]
        elif any(c in item for c in "*?["):
            matches = sorted(glob.glob(item, recursive=True))
            out += [(m, m, None) for m in matches] or [(item, None, f"no file matches {item}")]
        else:
            out.append((item, item, None))
    return out


def _line(a: dict) -> str:
    if a["error"]:
        return f"{a['source']}: error: {a['error']}"
    parts = []
    for d in a["digits"]:
        if d["accepted"]:
            top = ", ".join(f"{c} {p:.1%}" for c, p in d["top3"])
            parts.append(f"{d['label']} ({d['confidence']:.1%}; top-3 {top})")
        else:
            parts.append(f"not a digit: {d['reason']}")
    shown = f'"{a["text"]}" ' if len(a["digits"]) > 1 else ""
    return f"{a['source']}: {shown}{' | '.join(parts)}  => {_verdict(a['verdict'])}  [{a['ms']:.0f} ms]"


def _verdict(v: dict) -> str:
    """The whole picture's verdict in words: 'digits "4071"', 'partly "4?71": mark 2: ...', 'not digits: ...'."""
    if v["kind"] == "not digits":
        return f"not digits: {v['reason']}"
    return f'{v["kind"]} "{v["text"]}"' + (f": {v['reason']}" if v["reason"] else "")


@app.command()
def predict(
    sources: list[str] = typer.Argument(..., help="Image files, folders, quoted globs, or - for stdin."),
    model: str | None = typer.Option(None, "--model", "-m", help="Run name, checkpoint or promoted model (default: the shipped model)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    as_csv: bool = typer.Option(
        False,
        "--csv",
        help="CSV: source, text, digit index, label, confidence, accepted, reason, score, error, reason code, verdict, its reason.",
    ),
    explain: Path | None = typer.Option(None, "--explain", help="Folder for what the model saw (28x28 inputs, boxes, scores)."),
    reject_tpr: float | None = typer.Option(
        None, "--reject-tpr", min=0.5, max=0.9999, help="Accept this share of real digits (default: as calibrated)."
    ),
    engine: str = typer.Option(
        "auto", "--engine", help="auto (ONNX Runtime where installed, else torch), torch or onnx; the same answers, onnx is faster."
    ),
) -> None:
    """Read the digit(s) in pictures, or say "not a digit"; one line per picture. Exit 1 if any picture failed."""
    from ..catalog import resolve
    from ..export import engine_file
    from ..recognize.explain import write_explanation
    from ..recognize.predictor import Answer, Predictor

    path = resolve(model, Ctx.store(), Ctx.models_dir)
    predictor = Predictor(path, reject_tpr, onnx=engine_file(path, engine))
    writer = csv.writer(sys.stdout) if as_csv else None
    if writer:
        head = ["source", "text", "index", "label", "confidence", "accepted", "reason", "score", "error"]
        writer.writerow([*head, "reason_code", "verdict", "verdict_reason"])
    failed = 0
    for label, src, error in expand_sources(sources):
        answer = Answer(label, "", [], error) if error or src is None else predictor.predict(src, name=label)
        failed += not answer.ok
        d = answer.to_dict()
        if as_json:
            sys.stdout.write(json.dumps(d) + "\n")
        elif writer:
            for i, dg in list(enumerate(d["digits"])) or [(0, None)]:  # a picture with no digit still gets its line
                writer.writerow(
                    [
                        label,
                        d["text"],
                        i,
                        dg and dg["label"],
                        dg and round(dg["confidence"], 5),
                        dg and dg["accepted"],
                        dg and dg["reason"],
                        dg and dg["score"],
                        d["error"],
                        dg and dg["why"] and dg["why"]["code"],
                        d["verdict"] and d["verdict"]["kind"],
                        d["verdict"] and d["verdict"]["reason"],
                    ]
                )
        else:
            (err_console if answer.error else console).print(_line(d), markup=False)
        if explain and answer.ok and src is not None:
            write_explanation(answer, src, explain)
    if failed:
        raise typer.Exit(1)


@app.command("ood-eval")
def ood_eval_cmd(
    ref: str = typer.Argument(..., help="Run name, checkpoint or promoted model."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """AUROC / FPR@95 / AUPR per out-of-distribution set and detector, and the accept/reject table."""
    from ..catalog import resolve, save_ood_results
    from ..recognize.ood_eval import ood_eval

    store = Ctx.store()
    path = resolve(ref, store, Ctx.models_dir)
    r = ood_eval(path, Ctx.data_dir)
    save_ood_results(store, ref, r)
    if as_json:
        sys.stdout.write(json.dumps(r) + "\n")
        return
    print_ood(r)


def print_ood(r: dict) -> None:
    """The per-set, per-detector table and the accept/reject table."""
    rows = []
    for name, s in r["sets"].items():
        for det, m in s["detectors"].items():
            rows.append([name, det, pct(m["auroc"]), pct(m["fpr95"]), pct(m["aupr_in"]), pct(m["aupr_out"])])
    console.print(
        table(
            "Out-of-distribution detection (MNIST test = in-distribution)",
            ["set", "detector", "AUROC", "FPR@95", "AUPR-in", "AUPR-out"],
            rows,
        )
    )
    console.print(r["definition"])
    acc_rows = [
        [
            "MNIST test",
            pct(1 - r["wrongly_rejected"]),
            pct(r["input_checks_reject"]),
            f"accuracy {pct(r['test_acc'])}, on accepted {pct(r['accepted_acc'])}",
        ]
    ]
    acc_rows += [[n, pct(s["accepted_at_threshold"]), pct(s["input_checks_reject"]), f"{s['n']} images"] for n, s in r["sets"].items()]
    console.print(
        table(
            f"Accepted at the deployed threshold {r['threshold']:.3f} (calibrated to accept {pct(r['calibrated_tpr'])} of validation digits)",
            ["set", "accepted by the model scores", "refused by the input checks alone", "note"],
            acc_rows,
        )
    )
