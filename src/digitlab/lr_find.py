"""The learning-rate range test (Smith 2017, "Cyclical learning rates for training neural networks", section 3.3).

One short run of the config's own training step (model, optimiser, augmentation, precision) while the learning rate
rises exponentially from ``lr_min`` to ``lr_max``, one value per step. The loss, smoothed by a centred moving mean,
falls once the rate is large enough to learn and shoots up once it is too large. The suggested peak ``lr``
depends on the schedule: one that warms up (onecycle, or warmup_epochs > 0) can peak at the rate of the lowest
smoothed loss (Smith & Topin 2019, "Super-convergence": the largest rate at which the loss still falls), because it
spends its start below that peak and anneals after it; a schedule that starts at its peak gets a tenth of that rate
(fastai's ``lr_min``), the margin a whole run at that rate needs. The rule was chosen on the ``fast`` model (2 epochs,
10,000 images, validation accuracy of a 7-point lr grid: best at 0.01-0.03, the lowest loss at 0.008); the steepest
descent is reported too. Nothing is recorded as a run: the model is thrown away.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from .config import TrainConfig
from .data import DigitData
from .errors import ConfigError
from .inference import layout
from .runner import run_data
from .trainer import forward_loss, setup

SMOOTHING = 0.9  # EMA weight of the past (about 10 steps of memory) for the stopping rule, which must not wait long
DIVERGED = 4.0  # stop once the EMA loss is 4x its lowest: the rate is past any useful value
RULES = {
    True: "the learning rate at the lowest smoothed loss, as the peak of a schedule that warms up (Smith & Topin 2019)",
    False: "a tenth of the learning rate at the lowest smoothed loss, for a schedule that starts at its peak (fastai's lr_min)",
}


@dataclass(frozen=True)
class LrFind:
    """The test's curve and its reading; ``lrs`` and the losses are per step (the run may stop early)."""

    lrs: list[float]
    losses: list[float]  # raw training loss of each step's batch
    smoothed: list[float]  # centred moving mean of the loss (no lag: the curve is read after the run)
    suggestion: float  # the suggested peak lr (rule)
    lr_at_min: float  # where the smoothed loss was lowest
    steepest: float  # where the smoothed loss fell fastest per decade of lr, before the minimum
    seconds: float
    rule: str


def lr_schedule(lr_min: float, lr_max: float, steps: int) -> np.ndarray:
    """``steps`` rates rising by the same factor each step from ``lr_min`` to ``lr_max``."""
    if not 0 < lr_min < lr_max:
        raise ConfigError(f"lr-find needs 0 < lr_min < lr_max (got {lr_min:g} and {lr_max:g}).")
    if steps < 10:
        raise ConfigError(f"lr-find needs at least 10 steps to draw a curve (got {steps}).")
    return np.geomspace(lr_min, lr_max, steps)


def lr_find(cfg: TrainConfig, data: DigitData, steps: int = 200, lr_min: float = 1e-6, lr_max: float = 1.0) -> LrFind:
    """Run the range test with ``cfg``'s training step on ``data``'s training split (``steps`` batches at most)."""
    rates = lr_schedule(lr_min, lr_max, steps)
    data = run_data(cfg, data, None)  # normalisation switch, outliers or generated digits as a run would have them
    st = setup(cfg)
    st.model.train()
    fmt, n, t0 = layout(st.model), len(data.train_x), time.perf_counter()
    order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed))
    losses: list[float] = []
    ema, lowest = 0.0, math.inf
    for i, lr in enumerate(rates):
        start = (i * cfg.batch_size) % max(n - cfg.batch_size + 1, 1)  # wraps around a small split
        for g in st.opt.param_groups:
            g["lr"] = float(lr)
        _, loss, _ = forward_loss(cfg, st, data, order[start : start + cfg.batch_size], fmt)
        value = loss.item()
        if not math.isfinite(value):
            break
        st.opt.zero_grad(set_to_none=True)
        loss.backward()
        st.opt.step()
        losses.append(value)
        ema = SMOOTHING * ema + (1 - SMOOTHING) * value
        debiased = ema / (1 - SMOOTHING ** (i + 1))
        lowest = min(lowest, debiased)
        if debiased > DIVERGED * lowest and i > 10:
            break
    warms_up = cfg.schedule == "onecycle" or cfg.warmup_epochs > 0
    return read_curve(list(map(float, rates[: len(losses)])), losses, warms_up, time.perf_counter() - t0)


def centred_mean(xs: list[float], half: int) -> list[float]:
    """Mean of each value and its ``half`` neighbours on each side (fewer at the ends)."""
    a = np.asarray(xs, dtype=float)
    return [float(a[max(0, i - half) : i + half + 1].mean()) for i in range(len(a))]


def read_curve(lrs: list[float], losses: list[float], warms_up: bool, seconds: float = 0.0) -> LrFind:
    """The suggestion (RULES[warms_up]) and the steepest descent of a finished curve (smoothed over 1/20 of the steps each side)."""
    if len(losses) < 5:
        raise ConfigError(
            f"The loss became infinite after {len(losses)} steps, at lr {lrs[-1] if lrs else 0:g}: lower lr_min (lr-find --lr-min)."
        )
    smoothed = centred_mean(losses, max(2, len(losses) // 20))
    lo = int(np.argmin(smoothed))
    slope = np.gradient(np.asarray(smoothed[: lo + 1]), np.log10(lrs[: lo + 1])) if lo >= 2 else np.zeros(1)
    steep = int(np.argmin(slope)) if lo >= 2 else lo
    return LrFind(lrs, losses, smoothed, lrs[lo] if warms_up else lrs[lo] / 10, lrs[lo], lrs[steep], seconds, RULES[warms_up])
