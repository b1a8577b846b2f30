"""Using a trained generator (``digitlab generate``): new digits of the classes asked for, or a walk between two.

Like ``catalog`` for classifiers, this never imports the training loop: a generative run's ``best.pt`` is rebuilt by
``checkpoint.generator_from_checkpoint`` and sampled in eval mode.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .catalog import resolve
from .checkpoint import generator_from_checkpoint, load_checkpoint
from .errors import ModelError
from .generators import Generative
from .generators.grid import save_grid
from .store import RunStore

WALK_STEPS = 8  # images per row of a walk between two digits (the two ends included)


@dataclass(frozen=True)
class Generated:
    """What ``generate_grid`` wrote: the grid's file, how many digits, by which run's model, in how many ms."""

    path: Path
    count: int
    run: str
    model: str
    ms: float  # sampling time of all the digits (not the PNG writing)


def load_generator(ref: str, store: RunStore, models_dir: Path = Path("models")) -> tuple[Generative, str, str]:
    """The generator of a generative run (or checkpoint file) ``ref``, its run's name and its family."""
    ckpt = load_checkpoint(resolve(ref, store, models_dir))
    return generator_from_checkpoint(ckpt), str(ckpt["config"].get("name") or ref), str(ckpt["model"])


def digits_and_labels(model: Generative, digits: list[int] | None, n: int) -> torch.Tensor:
    """Labels ``(N,)``: ``n`` of each digit asked for (in order), else every class in turn, ``n`` in all."""
    bad = [d for d in digits or [] if not 0 <= d < model.num_classes]
    if bad:
        raise ModelError(f"Digit {bad[0]} is not one this generator writes; it writes 0 to {model.num_classes - 1}.")
    if digits:
        return torch.tensor(digits).repeat_interleave(n)
    return torch.arange(n) % model.num_classes


def walk(model: Generative, pair: tuple[int, int], rows: int, gen: torch.Generator) -> torch.Tensor:
    """``rows`` walks of ``WALK_STEPS`` images ``(rows * WALK_STEPS, 1, 28, 28)`` from digit ``pair[0]`` to ``pair[1]``,
    each row one noise vector with the class code moving in equal steps."""
    digits_and_labels(model, list(pair), 1)  # both must be digits it writes
    z = model.noise(rows, gen).repeat_interleave(WALK_STEPS, dim=0)
    t = torch.linspace(0, 1, WALK_STEPS).repeat(rows)
    a, b = (torch.full((len(t),), d, dtype=torch.long) for d in pair)
    return model.sample_between(z, a, b, t)


def generate_grid(
    ref: str,
    *,
    digits: list[int] | None,
    n: int,
    interpolate: tuple[int, int] | None,
    seed: int,
    store: RunStore,
    out: Path,
    scale: int = 2,
    models_dir: Path = Path("models"),
) -> Generated:
    """Sample and write the PNG grid: one row per digit asked for (``n`` each), or ``n`` digits of every class in
    turn, or (``interpolate``) ``n // 8`` walks between two digits (at least one)."""
    model, run, family = load_generator(ref, store, models_dir)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    if interpolate is not None:
        images, columns = walk(model, interpolate, max(n // WALK_STEPS, 1), gen), WALK_STEPS
    else:
        labels = digits_and_labels(model, digits, n)
        images = model.sample(model.noise(len(labels), gen), labels)
        columns = n if digits and n <= 32 else min(len(labels), 10 if not digits else 16)
    ms = (time.perf_counter() - t0) * 1000
    return Generated(save_grid(images, columns, out, scale), len(images), run, family, ms)
