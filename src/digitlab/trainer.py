"""The training loop (one place): set-up, epochs of batched steps, evaluation, checkpoints, resume.

Everything a run records flows through ``on_epoch(metrics)`` hooks (run store,
progress display, tuning pruner); the loop itself prints nothing.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from .accel import autocast, compiled, step_dtype
from .attacks import attack
from .checkpoint import save_checkpoint
from .config import TrainConfig
from .data import DigitData
from .data.augment import augment_batch
from .data.outliers import synthetic_outliers
from .errors import TrainingError
from .evidence import versions
from .inference import evaluate, layout
from .models import DigitNet, count_params, create_model
from .models.grow import GrowStep, grow, parse_grow
from .records import RunFolder, TrainResult

log = logging.getLogger("digitlab")

EpochHook = Callable[[dict[str, Any]], None]


class StopTraining(Exception):
    """Raised by an ``on_epoch`` hook to end training after this epoch with ``status`` (e.g. ``pruned`` by a tuner).

    The epoch's checkpoints and records are kept; the run finishes normally with that status.
    """

    def __init__(self, status: str, reason: str = ""):
        super().__init__(reason or status)
        self.status = status


class HeldInterrupts:
    """``with HeldInterrupts():`` Ctrl-C / SIGTERM wait until the block ends, then act as usual.

    An epoch's checkpoints and records (metrics.csv, database row) are written
    together: a signal in between would leave ``last.pt`` ahead of the records,
    and the resumed run would never record that epoch. Main thread only.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self) -> HeldInterrupts:
        self.old: dict[int, Any] = {}
        self.pending: list[tuple[int, Any]] = []
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self.old[sig] = signal.signal(sig, lambda signum, frame: self.pending.append((signum, frame)))
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        for signum, frame in self.pending:  # deliver what arrived, to the handler that was in place
            handler = self.old[signum]
            if callable(handler):
                handler(signum, frame)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)


class BatchProgress(Protocol):
    """Receives live per-batch numbers (for a progress bar); optional."""

    def batch(self, epoch: int, done: int, total: int, loss: float, acc: float) -> None: ...


def lr_factor(cfg: TrainConfig, step: int, total: int, per_epoch: int) -> float:
    """Learning-rate multiplier (of ``cfg.lr``) at optimiser step ``step`` of ``total``."""
    warm = int(cfg.warmup_epochs * per_epoch)
    if cfg.schedule == "onecycle":  # linear rise to the peak, then cosine down to ~0 (Smith & Topin 2017)
        peak = max(int(cfg.onecycle_pct * total), 1)
        if step < peak:
            return 0.04 + 0.96 * step / peak
        return 0.5 * (1 + math.cos(math.pi * (step - peak) / max(total - peak, 1))) * (1 - 4e-5) + 4e-5
    if step < warm:
        return 0.04 + 0.96 * step / warm
    if cfg.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(total - warm, 1)))
    if cfg.schedule == "step":
        return cfg.step_gamma ** (step // (cfg.step_every * per_epoch))
    return 1.0


def build_optimizer(cfg: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The configured optimiser; no weight decay on biases and norm parameters."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov and cfg.momentum > 0)
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return cls(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=True)  # one fused kernel per step, not a loop per tensor


@dataclass
class LoopState:
    """Everything that must survive an interruption to continue exactly."""

    model: DigitNet
    opt: torch.optim.Optimizer
    ema: DigitNet | None
    aug_gen: torch.Generator
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # the model's arguments now (a grown net's differ from the config's)
    epoch: int = 0  # epochs completed
    step: int = 0  # optimiser steps taken
    best: dict[str, Any] = field(default_factory=lambda: {"val_acc": -1.0, "epoch": 0})
    stale: int = 0  # epochs since the best validation accuracy
    history: list[dict[str, Any]] = field(default_factory=list)
    best_weights: tuple[dict[str, Any], dict[str, torch.Tensor]] | None = None  # (model kwargs, state) of the best epoch
    fwd: Callable[..., torch.Tensor] | None = None  # the training step's forward: the model, or it compiled
    dtype: torch.dtype | None = None  # the training step's autocast type (None: float32)

    @property
    def deployed(self) -> DigitNet:
        """The weights that are evaluated and shipped: the EMA copy when on."""
        return self.ema if self.ema is not None else self.model

    def train_state(self) -> dict[str, Any]:
        return {
            "optimizer": self.opt.state_dict(),
            "ema": self.ema.state_dict() if self.ema else None,
            "aug_rng": self.aug_gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "epoch": self.epoch,
            "step": self.step,
            "best": self.best,
            "stale": self.stale,
            "history": self.history,
        }

    def load_train_state(self, ts: dict[str, Any]) -> None:
        self.opt.load_state_dict(ts["optimizer"])
        if self.ema is not None and ts["ema"] is not None:
            self.ema.load_state_dict(ts["ema"])
        self.aug_gen.set_state(ts["aug_rng"])
        torch.set_rng_state(ts["torch_rng"])
        self.epoch, self.step, self.best, self.stale, self.history = ts["epoch"], ts["step"], ts["best"], ts["stale"], ts["history"]


def setup(cfg: TrainConfig, resume: dict[str, Any] | None = None) -> LoopState:
    """Seed, threads, model, optimiser, EMA copy; restore all of it from a ``last.pt`` when resuming."""
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    torch.manual_seed(cfg.seed)
    kwargs = dict(resume["model_kwargs"] if resume is not None else cfg.model_kwargs)  # a resumed net may have grown
    model = create_model(cfg.model, **kwargs)
    model = model.to(memory_format=layout(model))
    ema = copy.deepcopy(model).eval() if cfg.ema > 0 else None
    state = LoopState(model, build_optimizer(cfg, model), ema, torch.Generator().manual_seed(cfg.seed + 1), kwargs)
    state.fwd, state.dtype = compiled(model, cfg.compile), step_dtype(cfg.precision)
    if resume is not None:
        model.load_state_dict(resume["state_dict"])
        state.load_train_state(resume["train_state"])
    return state


def grow_now(cfg: TrainConfig, st: LoopState, step: GrowStep) -> str:
    """Grow the model (and its EMA copy, alike) by ``step``, function-preserving; a fresh optimiser for the new
    parameters (the schedule's step count goes on: carrying Adam's moments through the growth measured worse, 99.24 %
    against 99.37 % test in benchmarks/nas.py). Returns the log line."""
    before = count_params(st.model)
    old_kwargs = st.model_kwargs
    st.model, st.model_kwargs = grow(st.model, cfg.model, old_kwargs, step, cfg.seed)
    st.model = st.model.to(memory_format=layout(st.model))
    if st.ema is not None:
        st.ema = grow(st.ema, cfg.model, old_kwargs, step, cfg.seed)[0].eval()
    st.opt, st.fwd = build_optimizer(cfg, st.model), compiled(st.model, cfg.compile)
    return f"grow after epoch {step.epoch}: {step.text().split(':')[1]} -> {cfg.model} {st.model_kwargs}, {before:,} -> {count_params(st.model):,} parameters"


def train_epoch(cfg: TrainConfig, st: LoopState, data: DigitData, progress: BatchProgress | None) -> dict[str, float]:
    """One pass over the shuffled training split; returns mean loss/acc (on augmented batches) and seconds."""
    n, bs = len(data.train_x), cfg.batch_size
    per_epoch = math.ceil(n / bs)
    total = per_epoch * cfg.epochs
    order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 100_003 + st.epoch))  # reproducible per epoch
    st.model.train()
    fmt = layout(st.model)
    loss_sum, correct, t0 = torch.zeros(()), torch.zeros((), dtype=torch.long), time.perf_counter()
    for b in range(per_epoch):
        idx = order[b * bs : (b + 1) * bs]
        for g in st.opt.param_groups:
            g["lr"] = cfg.lr * lr_factor(cfg, st.step, total, per_epoch)
        logits, loss, y = forward_loss(cfg, st, data, idx, fmt)
        if not torch.isfinite(loss):
            raise TrainingError(
                f"The loss became {loss.item()} at epoch {st.epoch + 1}, step {b + 1}; lower lr (now {cfg.lr}) or enable grad_clip. The last good checkpoint is kept."
            )
        st.opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(st.model.parameters(), cfg.grad_clip)
        st.opt.step()
        st.step += 1
        if st.ema is not None:
            ema_update(st.ema, st.model, cfg.ema)
        loss_sum += loss.detach() * len(idx)
        correct += (logits.detach().argmax(1) == y).sum()
        if progress is not None and (b % 10 == 9 or b == per_epoch - 1):  # throttled: .item() and redraws cost time
            done = min((b + 1) * bs, n)
            progress.batch(st.epoch + 1, b + 1, per_epoch, loss_sum.item() / done, correct.item() / done)
    return {"train_loss": loss_sum.item() / n, "train_acc": correct.item() / n, "train_seconds": time.perf_counter() - t0}


def forward_loss(
    cfg: TrainConfig, st: LoopState, data: DigitData, idx: torch.Tensor, fmt: torch.memory_format
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits of the (augmented) digits ``idx``, the loss and the labels ``(B,)``; with generated digits, outlier
    exposure and adversarial pictures when on."""
    x = data.train_x[idx].unsqueeze(1).float().div_(255)  # (B, 1, 28, 28) in [0, 1], background 0
    y = data.train_y[idx]
    n = len(idx)
    if data.generated is not None and cfg.gen_share > 0:  # the last share of the batch: new digits, augmented like real ones
        k = round(n * cfg.gen_share)
        fake, fake_y = data.generated(k, st.aug_gen)
        x, y = torch.cat([x[: n - k], fake]), torch.cat([y[: n - k], fake_y])
    if cfg.outlier_exposure > 0:  # half a batch of non-digits rides along (Hendrycks et al. 2019)
        x = torch.cat([x, outlier_batch(cfg, data, x[: max(n // 2, 1)], st.aug_gen)])
    if cfg.augment:  # outliers are warped too: else resampling blur alone would tell digits from outliers
        x = augment_batch(x, st.aug_gen, cfg.rotate, cfg.scale, cfg.shear, cfg.translate, cfg.elastic)
    if cfg.adv_train != "off":  # the first share of the digits becomes adversarial (the model's own weights, this step)
        a = max(round(n * cfg.adv_share), 1)
        x[:a] = attack(
            cfg.adv_train, st.model, x[:a].clamp_(0, 1), y[:a], cfg.adv_eps, data.mean, data.std, steps=cfg.adv_steps, gen=st.aug_gen
        )
    soft = teacher_targets(cfg, data, x[:n], idx)  # before x is normalised in place
    with autocast(st.dtype):
        fwd = st.fwd if st.fwd is not None else st.model
        logits_all = fwd(x.sub_(data.mean).div_(data.std).contiguous(memory_format=fmt)).float()
    logits = logits_all[:n]
    loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
    if soft is not None:  # distillation: the hard loss keeps 1 - alpha (alpha = 0 is exactly plain training)
        alpha = cfg.distill_alpha
        loss = (1 - alpha) * loss + alpha * distill_loss(logits, soft, cfg.distill_temperature)
    if cfg.outlier_exposure > 0:
        out = logits_all[n:]
        loss = loss + cfg.outlier_exposure * (out.logsumexp(1) - out.mean(1)).mean()  # cross-entropy to uniform
    return logits, loss, y


@torch.no_grad()
def teacher_targets(cfg: TrainConfig, data: DigitData, digits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor | None:
    """The teacher's logits ``(B, C)`` for a batch: of the augmented ``digits`` (B, 1, 28, 28) in [0, 1] when
    ``distill_online``, else those computed once on the unaugmented images ``idx``; None without a teacher."""
    if data.teacher_logits is None:
        return None
    if cfg.distill_online and data.teacher is not None:
        return data.teacher(digits)
    return data.teacher_logits[idx]


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Soft-target loss of Hinton, Vinyals & Dean 2015: KL(softmax(teacher/T) || softmax(student/T)) * T^2, batch mean.

    Logits ``(B, C)``. The soft gradients shrink as 1/T^2; the factor T^2 keeps their scale when T changes, so the
    mixing weight means the same at any temperature. The teacher's logits come from the unaugmented image while the
    student sees the augmented one unless ``distill_online`` (then the teacher runs on every augmented batch).
    """
    t = temperature
    soft = F.kl_div(F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1), reduction="batchmean", log_target=True)
    return soft * (t * t)


def outlier_batch(cfg: TrainConfig, data: DigitData, digits: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """``len(digits)`` non-digits (B, 1, 28, 28) in [0, 1]: a ``real_outliers`` share drawn from the real ones, the rest synthetic."""
    bank = data.outliers
    k = round(len(digits) * cfg.real_outliers) if bank is not None and len(bank) else 0
    parts = [synthetic_outliers(digits[k:], gen)] if k < len(digits) else []
    if bank is not None and k:
        pick = torch.randint(len(bank), (k,), generator=gen)
        parts.insert(0, bank[pick].unsqueeze(1).float().div_(255))
    return torch.cat(parts)


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, for the weights and the BatchNorm statistics alike.

    Averaging the statistics too (as timm's ModelEmaV2 does) keeps them matched to the averaged weights: copying the
    live model's statistics made a BatchNorm net's EMA accuracy swing by a quarter point between epochs.
    Integer buffers (BatchNorm's batch counter) are copied.
    """
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        if e.dtype.is_floating_point:
            e.lerp_(b, 1 - decay)
        else:
            e.copy_(b)


def checkpoint_payload(
    cfg: TrainConfig, data: DigitData, model: torch.nn.Module, metrics: dict[str, Any], model_kwargs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The common part of ``best.pt`` and ``last.pt``; ``model_kwargs``: the model's arguments now (default the config's)."""
    return {
        "model": cfg.model,
        "model_kwargs": dict(cfg.model_kwargs if model_kwargs is None else model_kwargs),
        "state_dict": model.state_dict(),
        "config": cfg.model_dump(),
        "norm": {"mean": data.mean, "std": data.std},
        "classes": list(data.classes),
        "metrics": metrics,
        "versions": versions(),
    }


def evaluate_epoch(cfg: TrainConfig, model: torch.nn.Module, data: DigitData) -> dict[str, float]:
    """Validation (and, with ``test_every_epoch``, test) loss/accuracy of ``model``, timed; a split not evaluated is NaN."""
    t0 = time.perf_counter()
    out: dict[str, float] = {}
    for split, x, y in (("val", data.val_x, data.val_y), ("test", data.test_x, data.test_y)):
        if len(y) and (split == "val" or cfg.test_every_epoch):
            r = evaluate(model, x, y, data.mean, data.std, cfg.eval_batch_size)
            out[f"{split}_loss"], out[f"{split}_acc"] = r.loss, r.acc
        else:  # no validation split (val_size=0: the last epoch is kept), or the test split left to the end
            out[f"{split}_loss"], out[f"{split}_acc"] = float("nan"), float("nan")
    out["eval_seconds"] = time.perf_counter() - t0
    return out


def test_best(cfg: TrainConfig, st: LoopState, data: DigitData) -> None:
    """``test_every_epoch=false``: the test split once, on the best epoch's deployed weights, into ``st.best`` and that
    epoch's history row. A run resumed after its best epoch has those weights in ``best.pt`` only: its test stays NaN."""
    if st.best_weights is None or not len(data.test_y):
        return
    kwargs, state = st.best_weights
    model = create_model(cfg.model, **kwargs)
    model.load_state_dict(state)
    t0 = time.perf_counter()
    r = evaluate(model.to(memory_format=layout(model)), data.test_x, data.test_y, data.mean, data.std, cfg.eval_batch_size)
    row = next(h for h in st.history if h["epoch"] == st.best["epoch"])
    row.update(test_acc=r.acc, test_loss=r.loss, eval_seconds=row["eval_seconds"] + time.perf_counter() - t0)
    st.best.update(test_acc=r.acc, test_loss=r.loss)


def train(
    cfg: TrainConfig,
    data: DigitData,
    *,
    folder: RunFolder | None = None,
    on_epoch: Sequence[EpochHook] = (),
    progress: BatchProgress | None = None,
    resume: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``cfg`` on ``data``; with a run ``folder``, keep its ``best.pt`` and ``last.pt``.

    Selection and early stopping use validation accuracy only (or the last epoch
    when there is no validation split). Ctrl-C / SIGTERM (KeyboardInterrupt)
    returns status ``interrupted``; ``last.pt`` then holds the last full epoch. A hook
    raising StopTraining(status) ends the run after that epoch with ``status``.
    """
    # -- set-up: seeds, model, optimiser; or everything from last.pt
    if cfg.teacher is not None and (data.teacher_logits is None or (cfg.distill_online and data.teacher is None)):
        raise TrainingError(
            f"The config names teacher {cfg.teacher!r} but the data holds no teacher outputs; train it as a recorded run (digitlab distill)."
        )
    st = setup(cfg, resume)
    growth = {s.epoch: s for s in parse_grow(cfg.grow, cfg.epochs, cfg.model)}
    status = "completed"
    try:
        while st.epoch < cfg.epochs:
            # -- a scheduled change of structure, between epochs (a run resumed at this epoch grows here alike)
            if st.epoch in growth:
                log.info(grow_now(cfg, st, growth[st.epoch]))
            # -- one epoch of optimisation, then evaluation (timed apart)
            m = train_epoch(cfg, st, data, progress)
            m.update(evaluate_epoch(cfg, st.deployed, data))
            st.epoch += 1
            m = {
                "epoch": st.epoch,
                "lr": st.opt.param_groups[0]["lr"],
                **m,
                "images_per_s": len(data.train_x) / max(m["train_seconds"], 1e-9),
                "params": count_params(st.model),
            }
            st.history.append(m)
            # -- selection on validation; checkpoints written atomically
            improved = len(data.val_y) == 0 or m["val_acc"] >= st.best["val_acc"]  # ties: the later, more annealed epoch
            st.stale = 0 if improved else st.stale + 1
            if improved:
                st.best = {k: m[k] for k in ("epoch", "val_acc", "val_loss", "test_acc", "test_loss")}
                if not cfg.test_every_epoch:  # kept for the one test evaluation at the end
                    st.best_weights = (dict(st.model_kwargs), copy.deepcopy(st.deployed.state_dict()))
            with HeldInterrupts():  # checkpoints and records of an epoch: all or nothing
                if folder is not None:
                    save_weights(cfg, data, st, folder, improved, m)
                for hook in on_epoch:
                    hook(m)
            # -- early stopping on validation
            if cfg.early_stop and st.stale >= cfg.early_stop and st.epoch < cfg.epochs:
                status = "early-stopped"
                break
    except KeyboardInterrupt:
        status = "interrupted"
    except StopTraining as stop:  # a hook ended the run (e.g. a tuner pruned it)
        status = stop.status
    if not cfg.test_every_epoch and status != "interrupted":
        test_best(cfg, st, data)
    train_seconds = sum(h["train_seconds"] for h in st.history)
    return TrainResult(status, st.history, st.best, st.deployed, train_seconds)


def save_weights(cfg: TrainConfig, data: DigitData, st: LoopState, folder: RunFolder, improved: bool, m: dict[str, Any]) -> None:
    """``best.pt`` (deployed weights: the EMA when on) when validation improved; ``last.pt`` always, with resume state."""
    deployed = st.deployed
    if improved:
        save_checkpoint(folder.best, checkpoint_payload(cfg, data, deployed, m, st.model_kwargs))
    last = checkpoint_payload(cfg, data, st.model, m, st.model_kwargs)
    last["train_state"] = st.train_state()
    save_checkpoint(folder.last, last)
