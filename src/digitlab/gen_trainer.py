"""The generative training loop (one place, like ``trainer.py`` for classifiers): set-up, epochs of train steps,
the quality of each epoch's samples, checkpoints, resume.

Quality is measured in the lab's own feature space (Inception features mean little on 28x28 digits): a frozen lab
classifier, the *judge*, gives features and answers for generated and real digits (``gen_metrics``). After each epoch
``eval_samples`` digits (every class alike) are compared with the validation split; the epoch with the lowest Fréchet
distance is kept as ``best.pt``. The test split is read only by the final report (``gen_runner``). Each epoch also
saves a grid of samples from fixed noise (one row per digit), so a run can be replayed as its digits formed.
Everything a run records flows through ``on_epoch(metrics)`` hooks; the loop prints nothing.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .checkpoint import save_checkpoint
from .config import GenConfig
from .data import DigitData
from .errors import TrainingError
from .evidence import versions
from .gen_metrics import GenQuality, lab_view, quality
from .generators import Generative, create_generator, generator_spec
from .generators.grid import save_grid
from .models import DigitNet
from .records import RunFolder
from .trainer import HeldInterrupts

EpochHook = Callable[[dict[str, Any]], None]
WINS_OUTRIGHT = 0.99  # a discriminator sorting > 99 % of real and fake right for a whole epoch gives G no gradient to learn from
FLOOR_IMAGES = 10_000  # training images behind the real-vs-real floor (enough for a stable covariance of the judge's features)


@dataclass(frozen=True)
class Judge:
    """The frozen lab classifier that measures quality, with its real reference features (computed once)."""

    net: DigitNet
    mean: float
    std: float
    ref: str
    real_feats: torch.Tensor  # (N, D) the reference split (validation while training, test at the end)
    real_labels: torch.Tensor  # (N,)
    floor_feats: torch.Tensor  # (M, D) another real split (training images): the real-vs-real floor

    def view(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features ``(N, D)`` and logits ``(N, C)`` of images ``(N, 1, 28, 28)`` in [0, 1] or uint8 ``(N, 28, 28)``."""
        return lab_view(self.net, self.mean, self.std, images)


def make_judge(net: DigitNet, mean: float, std: float, ref: str, data: DigitData, split: str) -> Judge:
    """A judge whose reference is ``split`` (``val`` or ``test``) of ``data``; the floor is up to 10,000 training images."""
    x, y = (data.val_x, data.val_y) if split == "val" else (data.test_x, data.test_y)
    if len(y) < 2:
        raise TrainingError(
            f"Measuring generated digits needs a real {split} split to compare with; it holds {len(y)} images (val_size=0?)."
        )
    real_feats = lab_view(net, mean, std, x)[0]
    floor_feats = lab_view(net, mean, std, data.train_x[:FLOOR_IMAGES])[0]
    return Judge(net, mean, std, ref, real_feats, y, floor_feats)


@dataclass
class GenState:
    """Everything that must survive an interruption to continue exactly."""

    model: Generative
    opts: dict[str, torch.optim.Optimizer]
    grid_noise: torch.Tensor  # (classes * grid_columns, latent_dim): the same noise every epoch
    epoch: int = 0
    step: int = 0
    best: dict[str, Any] = field(default_factory=lambda: {"fid": math.inf, "epoch": 0})
    history: list[dict[str, Any]] = field(default_factory=list)

    def train_state(self) -> dict[str, Any]:
        return {
            "optimizers": {k: o.state_dict() for k, o in self.opts.items()},
            "torch_rng": torch.get_rng_state(),
            "grid_noise": self.grid_noise,
            "epoch": self.epoch,
            "step": self.step,
            "best": self.best,
            "history": self.history,
        }

    def load_train_state(self, ts: dict[str, Any]) -> None:
        for k, o in self.opts.items():
            o.load_state_dict(ts["optimizers"][k])
        torch.set_rng_state(ts["torch_rng"])
        self.grid_noise, self.epoch, self.step, self.best, self.history = (
            ts["grid_noise"],
            ts["epoch"],
            ts["step"],
            ts["best"],
            ts["history"],
        )


@dataclass(frozen=True)
class GenResult:
    """What a generative run produced: status, per-epoch history, the best epoch, the model (last weights)."""

    status: str
    history: list[dict[str, Any]]
    best: dict[str, Any]
    model: Generative
    train_seconds: float


def setup(cfg: GenConfig, num_classes: int, resume: dict[str, Any] | None = None) -> GenState:
    """Seed, threads, model, one Adam per part (the generator at ``lr``, the discriminator at ``lr_d``); or all from last.pt."""
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    torch.manual_seed(cfg.seed)
    model = create_generator(cfg.model, num_classes=num_classes, **cfg.model_kwargs)
    betas = (cfg.beta1, cfg.beta2)
    opts = {k: torch.optim.Adam(part.parameters(), lr=cfg.lr if k == "g" else cfg.lr_d, betas=betas) for k, part in model.parts().items()}
    noise = model.noise(num_classes * cfg.grid_columns, torch.Generator().manual_seed(cfg.seed + 1))
    st = GenState(model, opts, noise)
    if resume is not None:
        model.load_state_dict(resume["state_dict"])
        st.load_train_state(resume["train_state"])
    return st


def train_epoch(cfg: GenConfig, st: GenState, data: DigitData) -> dict[str, float]:
    """One pass over the shuffled training split; the mean of each figure the family reports, and seconds."""
    n, bs = len(data.train_x), cfg.batch_size
    order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 100_003 + st.epoch))  # reproducible per epoch
    st.model.train()
    sums: dict[str, torch.Tensor] = {}
    batches, t0 = 0, time.perf_counter()
    for b in range(max(n // bs, 1)):  # whole batches only: a GAN's discriminator sees real and fake batches of one size
        idx = order[b * bs : (b + 1) * bs]
        x = data.train_x[idx].unsqueeze(1).float().div_(255)  # (B, 1, 28, 28) in [0, 1], background 0
        out = st.model.train_step(x, data.train_y[idx], st.opts)
        for k, v in out.items():
            sums[k] = sums[k] + v if k in sums else v
        st.step += 1
        batches += 1
    means = {k: (v / max(batches, 1)).item() for k, v in sums.items()}
    bad = [k for k, v in means.items() if not math.isfinite(v)]
    if bad:
        raise TrainingError(
            f"The {bad[0]} became {means[bad[0]]} in epoch {st.epoch + 1}; lower lr (now {cfg.lr}) or lr_d (now {cfg.lr_d})."
            " The last good checkpoint is kept."
        )
    return {**means, "train_seconds": time.perf_counter() - t0}


@torch.no_grad()
def generate(model: Generative, n: int, num_classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` digits ``(n, 1, 28, 28)`` in [0, 1], every class alike (labels ``(n,)``), from their own seeded noise."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % num_classes
    model.eval()
    images = torch.cat([model.sample(model.noise(len(y), gen), y) for y in labels.split(1000)])
    return images, labels


def measure(model: Generative, judge: Judge, n: int, seed: int) -> GenQuality:
    """The quality of ``n`` fresh digits against the judge's reference split (``gen_metrics.quality``)."""
    images, labels = generate(model, n, model.num_classes, seed)
    feats, logits = judge.view(images)
    return quality(judge.real_feats, judge.real_labels, feats, logits, labels, judge.floor_feats)


def failure_modes(collapsed: list[int], d_acc: float | None) -> list[str]:
    """Failure modes in words: classes whose samples look alike (mode collapse), a discriminator that wins outright."""
    out = []
    if collapsed:
        digits = ", ".join(map(str, collapsed))
        out.append(f"mode collapse: the samples of digit(s) {digits} look alike (fewer distinct samples than 80 % of the real data's)")
    if d_acc is not None and d_acc > WINS_OUTRIGHT:
        out.append(
            f"the discriminator wins outright ({100 * d_acc:.1f} % of real and fake sorted right): the generator gets little"
            " to learn from; lower lr_d or raise lr"
        )
    return out


def evaluate_epoch(cfg: GenConfig, st: GenState, judge: Judge, folder: RunFolder | None) -> dict[str, Any]:
    """This epoch's quality against validation (timed) and its fixed-noise sample grid."""
    t0 = time.perf_counter()
    q = measure(st.model, judge, cfg.eval_samples, cfg.seed + 7919 * (st.epoch + 1))
    if folder is not None:
        labels = torch.arange(st.model.num_classes).repeat_interleave(cfg.grid_columns)
        st.model.eval()
        save_grid(st.model.sample(st.grid_noise, labels), cfg.grid_columns, grid_path(folder, st.epoch + 1))
    return {"fid": q.fid, "fid_floor": q.fid_floor, "class_acc": q.class_acc, "precision": q.precision, "recall": q.recall,
            "collapsed": q.collapsed, "eval_seconds": time.perf_counter() - t0}  # fmt: skip


def grid_path(folder: RunFolder, epoch: int) -> Path:
    """``runs/<name>/samples/epoch-003.png``: the fixed-noise grid after ``epoch``."""
    return folder.samples / f"epoch-{epoch:03d}.png"


def train_generator(
    cfg: GenConfig,
    data: DigitData,
    judge: Judge,
    *,
    folder: RunFolder | None = None,
    on_epoch: Sequence[EpochHook] = (),
    resume: dict[str, Any] | None = None,
) -> GenResult:
    """Train ``cfg`` on ``data``; keep ``best.pt`` (lowest Fréchet distance on validation) and ``last.pt`` in ``folder``.

    Ctrl-C / SIGTERM (KeyboardInterrupt) returns status ``interrupted``; ``last.pt`` then holds the last full epoch.
    """
    # -- set-up: seeds, model, optimisers; or everything from last.pt
    st = setup(cfg, len(data.classes), resume)
    status = "completed"
    try:
        while st.epoch < cfg.epochs:
            # -- one epoch of train steps, then the quality of fresh samples (timed apart)
            m: dict[str, Any] = train_epoch(cfg, st, data)
            m.update(evaluate_epoch(cfg, st, judge, folder))
            st.epoch += 1
            m = {"epoch": st.epoch, "lr": cfg.lr, **m, "images_per_s": len(data.train_x) / max(m["train_seconds"], 1e-9)}
            m["warnings"] = failure_modes(m["collapsed"], m.get("d_acc"))
            st.history.append(m)
            # -- selection on validation: the lowest Fréchet distance; checkpoints written atomically
            improved = m["fid"] <= st.best["fid"]
            if improved:
                st.best = {k: m[k] for k in ("epoch", "fid", "class_acc", "precision", "recall")}
            with HeldInterrupts():  # checkpoints and records of an epoch: all or nothing
                if folder is not None:
                    save_generator(cfg, data, st, folder, improved, m)
                for hook in on_epoch:
                    hook(m)
            # -- the time budget, when set: training and measuring both count (wall-clock a person waits)
            if cfg.budget_minutes and sum(h["train_seconds"] + h["eval_seconds"] for h in st.history) >= 60 * cfg.budget_minutes:
                break
    except KeyboardInterrupt:
        status = "interrupted"
    return GenResult(status, st.history, st.best, st.model, sum(h["train_seconds"] for h in st.history))


def checkpoint_payload(cfg: GenConfig, data: DigitData, model: Generative, metrics: dict[str, Any]) -> dict[str, Any]:
    """The common part of a generator's ``best.pt`` and ``last.pt`` (``task: generate``; its images are [0, 1] pixels)."""
    return {
        "task": "generate",
        "model": cfg.model,
        "model_kwargs": dict(cfg.model_kwargs),
        "adversarial": generator_spec(cfg.model).adversarial,
        "state_dict": model.state_dict(),
        "config": cfg.model_dump(),
        "norm": {"mean": 0.0, "std": 1.0},
        "classes": list(data.classes),
        "metrics": {k: v for k, v in metrics.items() if k != "warnings"},
        "versions": versions(),
    }


def save_generator(cfg: GenConfig, data: DigitData, st: GenState, folder: RunFolder, improved: bool, m: dict[str, Any]) -> None:
    """``best.pt`` when validation improved; ``last.pt`` always, with the state to resume exactly."""
    if improved:
        save_checkpoint(folder.best, checkpoint_payload(cfg, data, st.model, m))
    last = checkpoint_payload(cfg, data, st.model, m)
    last["train_state"] = st.train_state()
    save_checkpoint(folder.last, last)
