"""The predictor: picture -> digit boxes -> input checks -> model -> calibrated "not a digit" decision.

One object serves the CLI, the API and the web app. Rejection combines
(a) input checks on the ink (``checks.py``), (b) output scores and
(c) feature distances (``rejection/``), calibrated on validation digits.
Every refusal carries a stable code and its numbers (``reasons.py``); the
picture as a whole gets a verdict (``verdict.py``): digits, partly, not digits.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import DEFAULT_MODEL, load_checkpoint, model_from_checkpoint
from ..errors import DigitlabError
from .checks import input_reasons
from .context import CONTEXT_TPR, in_context
from .engine import Engine, OnnxEngine, TorchEngine
from .image_io import MAX_PIXELS, read_picture
from .preprocess import DECODE_SIDE, InkPage, ink_page
from .reasons import Code, Reason
from .rejection import Rejector
from .rejection.fast import FastCombined
from .segment import DigitBox, find_digits
from .verdict import Kind, Mark, Verdict, judge

NOT_A_DIGIT = "not a digit"


@dataclass
class DigitAnswer:
    """The verdict on one digit box."""

    label: str  # "0".."9" or "not a digit"
    digit: int | None  # None when rejected
    confidence: float  # softmax probability of the top class
    top3: list[tuple[str, float]]
    probs: list[float]
    accepted: bool
    reason: str | None  # why it was rejected
    score: float  # combined in-distribution score (higher = more digit-like)
    threshold: float
    box: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1) in the picture
    image: np.ndarray | None = field(default=None, repr=False)  # (28, 28) what the model saw
    why: Reason | None = None  # the refusal's code and numbers (``reason`` is its English sentence)
    in_context: bool = False  # accepted only because it stands in a written number (context.py)

    def to_dict(self, with_image: bool = False) -> dict[str, Any]:
        d = asdict(self)
        d["image"] = self.image.round(3).tolist() if with_image and self.image is not None else None
        d["why"] = self.why.to_dict() if self.why else None
        return d


@dataclass
class Answer:
    """The verdict on one picture: its digits read left to right, top line first."""

    source: str
    text: str  # e.g. "4071"; a rejected box reads "?"; "" when nothing was accepted or the verdict is "not digits"
    digits: list[DigitAnswer]
    error: str | None = None
    ms: float = 0.0
    verdict: Verdict | None = None  # the whole picture (None when it could not be read)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self, with_image: bool = False) -> dict[str, Any]:
        return {
            "source": self.source,
            "text": self.text,
            "error": self.error,
            "ms": round(self.ms, 2),
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "digits": [d.to_dict(with_image) for d in self.digits],
        }


class Predictor:
    """A loaded model with its calibrated rejection; ``predict`` answers for one picture."""

    def __init__(self, checkpoint: str | Path = DEFAULT_MODEL, reject_tpr: float | None = None, onnx: Path | None = None):
        """``onnx``: the checkpoint's exported file (``digitlab.export.cached_export``) to run with ONNX Runtime."""
        ckpt = load_checkpoint(Path(checkpoint))
        self.path = Path(checkpoint)
        self.model = model_from_checkpoint(ckpt)
        self.classes = list(ckpt["classes"])
        self.mean, self.std = ckpt["norm"]["mean"], ckpt["norm"]["std"]
        self.engine: Engine = OnnxEngine(onnx) if onnx is not None else TorchEngine(self.model, self.mean, self.std)
        self.rejector = Rejector.from_state(ckpt["rejection"]) if "rejection" in ckpt else None
        self.combined = FastCombined(self.rejector) if self.rejector is not None else None  # its numbers, less overhead
        self.meta = {"model": ckpt["model"], "metrics": ckpt.get("metrics", {}), "config": ckpt["config"], "ensemble": _members(ckpt)}
        if reject_tpr is not None and self.rejector is not None:
            self.rejector.tpr = reject_tpr
            self.rejector.threshold = self.rejector.threshold_at(reject_tpr)
        # a mark inside a written number is judged at this looser threshold (context.py); never above the threshold
        self.context_threshold = (
            min(self.rejector.threshold_at(CONTEXT_TPR), self.rejector.threshold) if self.rejector is not None else None
        )

    @torch.no_grad()
    def classify(self, images: np.ndarray, reasons: list[Reason | None] | None = None) -> list[DigitAnswer]:
        """Classify MNIST-form images ``(N, 28, 28)`` in [0, 1]; ``reasons`` are input-check failures."""
        reasons = reasons or [None] * len(images)
        view = self.engine.view(images)  # all marks of a picture in one call
        probs = view.logits.softmax(1)
        if self.rejector is not None and self.combined is not None:
            score, thr = self.combined(view).tolist(), self.rejector.threshold
        else:
            score, thr = probs.amax(1).tolist(), 0.0
        out = []
        for i, p in enumerate(probs):
            top = p.topk(3)
            values, indices = top.values.tolist(), top.indices.tolist()  # Python numbers: no tensor per element
            reason = reasons[i] or (None if score[i] >= thr else Reason(Code.UNLIKE_DIGITS, {"score": score[i], "threshold": thr}))
            k = indices[0]
            out.append(
                DigitAnswer(
                    self.classes[k] if reason is None else NOT_A_DIGIT,
                    None if reason else k,
                    values[0],
                    [(self.classes[j], v) for v, j in zip(values, indices)],
                    [round(v, 5) for v in p.tolist()],
                    reason is None,
                    reason.text if reason else None,
                    float(score[i]),
                    float(thr),
                    image=np.asarray(images[i], np.float32),
                    why=reason,
                )
            )
        return out

    def read(self, gray: np.ndarray) -> list[DigitAnswer]:
        """All digits of a grey picture, in reading order; one rejected answer when it holds none."""
        return self._read(gray)[2]

    def _read(self, gray: np.ndarray) -> tuple[InkPage, list[DigitBox], list[DigitAnswer]]:
        """The ink page, its digit boxes and their answers (one rejected answer when there are no boxes)."""
        page = ink_page(gray)
        boxes = find_digits(page)
        if not boxes:
            return page, boxes, [self._empty(Reason(Code.NO_INK))]
        answers = self.classify(np.stack([b.image for b in boxes]), input_reasons(boxes))
        for a, b in zip(answers, boxes):
            a.box = b.box
        if self.context_threshold is not None:
            for i in in_context(boxes, answers, self.context_threshold):
                answers[i] = self.accept(answers[i])
        return page, boxes, answers

    def accept(self, d: DigitAnswer) -> DigitAnswer:
        """``d`` accepted as its top class (a refused mark that context showed to be a digit)."""
        k = max(range(len(d.probs)), key=d.probs.__getitem__)
        return replace(d, label=self.classes[k], digit=k, accepted=True, reason=None, why=None, in_context=True)

    def predict(self, source: str | Path | bytes, name: str | None = None, max_pixels: int = MAX_PIXELS) -> Answer:
        """Answer for one file or encoded image; a bad input gives an Answer with ``error`` (never raises).

        The picture is decoded no larger than DECODE_SIDE (time and memory stay
        bounded up to ``max_pixels``); the boxes are given in the file's pixels.
        """
        label = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
        t0 = time.perf_counter()
        try:
            picture = read_picture(source, max_pixels, max_side=DECODE_SIDE)
            page, boxes, digits = self._read(picture.gray)
        except DigitlabError as err:
            return Answer(label, "", [], str(err), (time.perf_counter() - t0) * 1000)
        marks = [Mark(b.box, b.line, d.label, d.why) for b, d in zip(boxes, digits)]
        verdict = judge(picture.gray, page, marks, digits[0].why if not boxes else None)
        for d in digits:
            d.box = picture.to_input(d.box) if d.box is not None else None
        text = verdict.text if verdict.kind is not Kind.NOT_DIGITS else ""
        return Answer(label, text, digits, None, (time.perf_counter() - t0) * 1000, verdict)

    def _empty(self, reason: Reason) -> DigitAnswer:
        n = len(self.classes)
        return DigitAnswer(
            NOT_A_DIGIT,
            None,
            0.0,
            [],
            [0.0] * n,
            False,
            reason.text,
            float("-inf"),
            self.rejector.threshold if self.rejector else 0.0,
            None,
            np.zeros((28, 28), np.float32),
            reason,
        )


def _members(ckpt: dict[str, Any]) -> dict[str, Any] | None:
    """An ensemble's method, test-time views, and members (run, architecture, weight); None for a single model."""
    spec = ckpt.get("ensemble")
    if ckpt["model"] != "ensemble" or not isinstance(spec, dict):
        return None
    members = [{"run": m.get("run"), "model": m["model"], "weight": w} for m, w in zip(spec["members"], spec["weights"])]
    return {"method": spec["method"], "tta": spec.get("tta", False), "members": members}
