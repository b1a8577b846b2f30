"""Calibrate the whole-picture verdict (``recognize/verdict.py``): each evidence's range per kind of picture.

Until the real-world data sets of issue 11 exist, the pictures are self-built
with the makers of ``tests/synthetic.py`` (writing) and ``tests/scenes.py``
(scenes), from seeds 1000 and up, which the tests never use. Prints, per kind,
the min / 5th / median / 95th percentile / max of the plain-surface share and
the verdicts at the thresholds in ``verdict.py``. ``--realworld`` reads the
``val`` split of ``digitlab.data.realworld`` instead (never its eval split). Usage:
python benchmarks/verdict_calibration.py [--n 40] [--realworld]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import scenes
from digitlab.recognize.predictor import Predictor
from digitlab.recognize.verdict import MIN_PLAIN
from synthetic import encode, load_mnist_test, make_page, make_photo, make_strip


def pictures(n: int, seed: int = 1000) -> dict[str, list[np.ndarray]]:
    """n pictures of each kind, all from MNIST test digits 1000 and up (the tests use the first few hundred)."""
    x, _ = load_mnist_test(2000)
    d = x[1000:]
    rng = np.random.default_rng(seed)
    pick = lambda k: list(d[rng.integers(0, len(d), k)])  # noqa: E731
    return {
        "writing: one digit": [make_photo(pick(1)[0], rng, (360, 480), ruled=bool(i % 3 == 0)) for i in range(n)],
        "writing: strip": [make_strip(pick(int(rng.integers(2, 7))), rng) for _ in range(n)],
        "writing: page": [make_page([pick(3), pick(2)], rng) for _ in range(n)],
        "writing: sheet on a desk": [scenes.sheet_on_desk(pick(int(rng.integers(1, 5))), rng) for _ in range(n)],
        "scene: textured": [np.asarray(scenes.scene(rng) * 255, np.uint8) for _ in range(n)],
        "scene: frame and pole": [scenes.rectangle_and_pole(rng) for _ in range(n)],
        "scene: ring": [scenes.ring_scene(rng) for _ in range(n)],
        "scene: mark on texture": [scenes.textured_with_mark(pick(1)[0], rng) for _ in range(n)],
    }


def realworld_val() -> dict[str, list[tuple[bytes, str | None]]]:
    """(picture, label) per set of the real-world ``val`` split (issue 11): digits are "writing", the rest "scene"."""
    from digitlab.data.realworld import sets

    names = {"digit_photos": "writing: digit photos", "digit_strips": "writing: digit strips"}
    names |= {"nondigit_photos": "scene: non-digit photos", "nondigit_documents": "scene: documents"}
    return {names[k]: [(s.image, s.label) for s in v] for k, v in sets("val", names=list(names)).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--realworld", action="store_true", help="the real-world val split instead of self-built pictures")
    args = ap.parse_args()
    pred = Predictor()
    plains: dict[str, np.ndarray] = {}
    kinds = (
        realworld_val() if args.realworld else {k: [(encode(p, "JPEG", quality=85), None) for p in v] for k, v in pictures(args.n).items()}
    )
    for kind, pics in kinds.items():
        answers = [pred.predict(data) for data, _ in pics]
        right = sum(a.text == label for a, (_, label) in zip(answers, pics) if label is not None)
        plain = np.array([a.verdict.evidence.plain for a in answers if a.verdict.evidence.plain is not None])
        plains[kind] = plain
        q = np.percentile(plain, [0, 5, 50, 95, 100]).round(3).tolist() if len(plain) else []
        verdicts = Counter(str(a.verdict.kind) for a in answers)
        with_digit = sum(any(c.isdigit() for c in a.text) for a in answers)
        print(
            f"{kind:24s} plain min/p5/p50/p95/max {q} (judged {len(plain)}/{len(pics)})  verdicts {dict(verdicts)}  "
            f"text with a digit {with_digit}  read exactly {right}"
        )

    writing = np.concatenate([p for k, p in plains.items() if k.startswith("writing")])
    scene = np.concatenate([p for k, p in plains.items() if k.startswith("scene")])
    print(f"MIN_PLAIN candidates (now {MIN_PLAIN}): writing judged a scene / scenes judged a scene")
    for t in (0.8, 0.85, 0.88, 0.9, 0.92, 0.95):
        print(f"  {t:.2f}: {(writing < t).mean():6.1%} / {(scene < t).mean():6.1%}")


if __name__ == "__main__":
    main()
