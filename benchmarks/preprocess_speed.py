"""Time the picture -> 28x28 preprocessing on a phone-sized JPEG and on an MNIST digit.

    python benchmarks/preprocess_speed.py [--reps 20]

Prints p50 / p95 milliseconds beside the targets: 150 ms for a whole answer
on a 4000x3000 photo (the model's own time comes on top of what is measured
here) and 5 ms for an already 28x28 input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import times_ms
from digitlab.recognize import analyse, load_image
from synthetic import encode, load_mnist_test, make_photo

PHOTO_TARGET_MS = 150.0  # whole answer, model included
MNIST_TARGET_MS = 5.0


def _times(fn, reps: int) -> np.ndarray:
    return np.array(times_ms(fn, reps))  # one warm-up call: imports, first allocations


def _report(name: str, ms: np.ndarray, target: float) -> None:
    p50, p95 = np.percentile(ms, [50, 95])
    print(f"{name:<38} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   target {target:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    digits, _ = load_mnist_test(1)
    rng = np.random.default_rng(0)
    photo = make_photo(digits[0], rng, size=(3000, 4000))
    jpeg = encode(photo, "JPEG", quality=90)
    print(f"4000x3000 JPEG: {len(jpeg) / 1e6:.1f} MB; MNIST digit: 28x28 uint8")
    _report("load_image (JPEG 4000x3000)", _times(lambda: load_image(jpeg), args.reps), PHOTO_TARGET_MS)
    _report("load_image + analyse (4000x3000)", _times(lambda: analyse(load_image(jpeg)), args.reps), PHOTO_TARGET_MS)
    _report("analyse (28x28 uint8)", _times(lambda: analyse(digits[0]), args.reps * 10), MNIST_TARGET_MS)


if __name__ == "__main__":
    main()
