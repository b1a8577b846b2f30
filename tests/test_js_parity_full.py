"""Recognition on the device reads as the server does: the whole pipeline in JavaScript with the real model.

``js/parity_full.mjs`` reads every picture of the fixed parity set (``parity_set.py``: real-world eval pictures and
MNIST test digits, >= 200, decoded by Python) with predictor.js, the shipped model (``device_model``: the exported
model.onnx and model.json the page fetches) run by the vendored onnxruntime-web in Node, as in the browser. Python's
Predictor reads the same grey pictures with the same steps as ``predict`` (``_read``, then the verdict), once with
ONNX Runtime (the same graph) and once with torch. Targets (issue 12): the same text on >= 99 % of the pictures
against the ONNX predictor, and the same accepted / refused per mark; the torch figures are printed beside them.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from digitlab.recognize.predictor import DEFAULT_MODEL, Answer, Predictor
from digitlab.recognize.verdict import Kind, Mark, judge
from parity_set import parity_set_in

NODE = shutil.which("node")
SCRIPT = Path(__file__).resolve().parent / "js" / "parity_full.mjs"
TARGET = 0.99  # share of pictures with the same text (issue 12), and of marks with the same decision

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="Node.js is not installed"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
pytest.importorskip("onnxruntime", reason="the export extra (onnx, onnxscript, onnxruntime) is not installed")


def answer_gray(pred: Predictor, gray: np.ndarray, name: str) -> dict:
    """``pred.predict``'s answer for an already decoded grey picture (boxes in its pixels), as a dict."""
    t0 = time.perf_counter()
    page, boxes, digits = pred._read(gray)
    marks = [Mark(b.box, b.line, d.label, d.why) for b, d in zip(boxes, digits)]
    verdict = judge(gray, page, marks, digits[0].why if not boxes else None)
    text = verdict.text if verdict.kind is not Kind.NOT_DIGITS else ""
    return Answer(name, text, digits, None, (time.perf_counter() - t0) * 1000, verdict).to_dict()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """The parity set's names, Python's answers (onnx, torch) and the JS run; skipped (failed in CI) without the
    real-world packages."""
    from digitlab.export import device_model

    folder = tmp_path_factory.mktemp("parity_full")
    items = parity_set_in(folder / "set")
    onnx, meta = device_model(DEFAULT_MODEL)
    (folder / "model").mkdir()
    shutil.copyfile(onnx, folder / "model" / "model.onnx")
    (folder / "model" / "model.json").write_text(json.dumps(meta))
    out = folder / "js.json"
    subprocess.run([NODE, str(SCRIPT), str(folder / "set"), str(folder / "model"), str(out)], check=True, timeout=600)
    python = {}
    for engine, pred in (("onnx", Predictor(DEFAULT_MODEL, onnx=onnx)), ("torch", Predictor(DEFAULT_MODEL))):
        python[engine] = [answer_gray(pred, gray, name) for name, _, gray in items]
    return {"names": [name for name, _, _ in items], "python": python, "js": json.loads(out.read_text())}


def boxes(answer: dict) -> list:
    """The marks' boxes as lists (Python's are tuples)."""
    return [list(d["box"]) if d["box"] is not None else None for d in answer["digits"]]


def agreement(python: list[dict], js: list[dict]) -> dict:
    """Shares of pictures with the same text, verdict kind and marks (boxes), and of marks with the same decision."""
    n = len(python)
    same_boxes = [boxes(p) == boxes(j) for p, j in zip(python, js)]
    pairs = [(a, b) for p, j, same in zip(python, js, same_boxes) if same for a, b in zip(p["digits"], j["digits"])]
    n_marks = sum(len(p["digits"]) for p in python)
    scores = [abs(a["score"] - b["score"]) for a, b in pairs if not math.isinf(a["score"])]
    return {
        "text": sum(p["text"] == j["text"] for p, j in zip(python, js)) / n,
        "kind": sum(p["verdict"]["kind"] == j["verdict"]["kind"] for p, j in zip(python, js)) / n,
        "boxes": sum(same_boxes) / n,
        "decisions": sum(a["accepted"] == b["accepted"] for a, b in pairs) / max(n_marks, 1),  # unpaired marks differ
        "labels": sum(a["label"] == b["label"] for a, b in pairs) / max(n_marks, 1),
        "n_marks": n_marks,
        "max_score_diff": max(scores or [0.0]),
    }


def test_the_device_reads_as_the_server_does(runs):
    names, js = runs["names"], [p["answer"] for p in runs["js"]["pictures"]]
    assert len(names) >= 200 and [a["source"] for a in js] == names
    lines, shares = [], {}
    for engine, python in runs["python"].items():
        a = shares[engine] = agreement(python, js)
        lines.append(
            f"JS vs Python ({engine}): {len(names)} pictures, {a['n_marks']} marks: same text {a['text']:.2%}, "
            f"verdict kind {a['kind']:.2%}, marks (boxes) {a['boxes']:.2%}; per mark: same decision {a['decisions']:.2%}, "
            f"same label {a['labels']:.2%}, max score diff {a['max_score_diff']:.2e}"
        )
        differing = [(n, p["text"], j["text"]) for n, p, j in zip(names, python, js) if p["text"] != j["text"]]
        lines += [f"  differs: {n}: {p!r} / {j!r}" for n, p, j in differing[:10]]
    print("\n" + "\n".join(lines + [speed(runs)]))
    onnx = shares["onnx"]
    assert onnx["n_marks"] > 200, lines  # the set really holds marks to read
    assert onnx["text"] >= TARGET and onnx["decisions"] >= TARGET, lines


def speed(runs: dict) -> str:
    """Node's time per picture beside Python's (the same machine, one thread each for the model)."""
    pictures = runs["js"]["pictures"]
    js_ms = statistics.median(p["ms"] for p in pictures)
    model_ms = statistics.median(p["model_ms"] for p in pictures if p["model_ms"] > 0)
    py = {e: statistics.median(a["ms"] for a in answers) for e, answers in runs["python"].items()}
    return (
        f"Node: session ready in {runs['js']['session_ms']:.0f} ms; per picture median {js_ms:.1f} ms "
        f"(p90 {np.percentile([p['ms'] for p in pictures], 90):.1f} ms; the model call {model_ms:.2f} ms); "
        f"Python per picture median: onnx {py['onnx']:.1f} ms, torch {py['torch']:.1f} ms"
    )
