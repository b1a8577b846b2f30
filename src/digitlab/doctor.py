"""The run doctor: reads a run's curves and config and names what it sees, each finding with its evidence and a
concrete suggestion, in English and Simplified Chinese.

Every rule is one small function from a typed :class:`Evidence` to a :class:`Finding` or None. The thresholds err on
the side of saying nothing: the lab's presets and zoo recipes, trained normally, raise no finding. The texts of
every code live in :data:`TEMPLATES` (both languages, the same placeholders), and nowhere else.

Losses are in nats. The validation loss is the plain cross-entropy; the training loss is the epoch's mean on the
(augmented, label-smoothed) training batches, so it is compared only with itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .config import TrainConfig
from .errors import RunError
from .models import create_model, get_spec, summarize
from .records import RunRecord
from .store import RunStore

CHANCE_LOSS = math.log(10)  # 2.303 nats: the cross-entropy of a uniform guess over 10 classes
CHANCE_BAND = 0.1  # nats: a validation loss within this of ln 10 has not moved off a uniform guess
NEAR_CHANCE_ACC = 0.2  # twice chance: below it a 10-class model has learned next to nothing
PLATEAU_LOSS = 0.35  # validation loss above it: the right class gets on average under e^-0.35 = 70 % (the zoo cnn: 0.11, label smoothing 0.1 caps it near 0.09)
RISE_NATS = 0.5  # a loss this far above its own lowest value rose, it did not wobble (epoch-to-epoch noise is ~0.05)
BASE_BATCH = 128  # the batch size the recipes' learning rates were tuned for
RECIPE_LR = {"adam": 0.004, "adamw": 0.004, "sgd": 0.1}  # the presets' peak lr per optimiser, at BASE_BATCH
LOW_LR_FACTOR = 0.5  # lr per image under half the recipe's: the linear scaling rule was not applied
HIGH_LR_FACTOR = 10.0  # lr per image 10x the recipe's or more: past what the recipes' models train at
MIN_STEPS_PER_EPOCH = 50  # the onecycle warm-up and annealing each need room: under 50 steps an epoch...
MIN_TOTAL_STEPS = 500  # ...and under 500 in all, the schedule is over before Adam has settled
OVERFIT_RISE = 1.2  # validation loss 20 % above its lowest, with the best epoch 2 or more epochs back; or...
MEMORISED_ERR = 0.005  # ...every training image right but 1 in 200 (without augmentation: train_acc is clean)...
MEMORISED_GAP = 0.02  # ...while 2 % or more of the validation images are wrong (a regularised cnn misses under 1 %)
UNDERFIT_ACC = 0.9  # even the training images: under 90 % right at the end (healthy MNIST runs: > 95 %)
STEEP_GAP = 0.10  # one epoch: the end's validation accuracy 10 points above the epoch's mean training accuracy
STILL_IMPROVING = 0.25  # the last epoch cut the validation error by a quarter or more...
STILL_IMPROVING_POINTS = 0.005  # ...and by half a point or more (a 99.5 % run's last 0.1 point is not "still improving")
MEMORISING_RISE = 0.05  # training accuracy 5 points above its first epoch's: it is climbing, not noise
HEAD_SHARE = 0.8  # the fully connected head holds over 80 % of the parameters...
HEAD_PER_IMAGE = 10  # ...and 10 or more of them per training image (the fast speedrun net: 4 per image, silent)
TRAIN_SPLIT = 60_000  # images in the MNIST / Fashion-MNIST training file, before the validation split


class Code(StrEnum):
    """Stable finding codes (part of the API: never rename one)."""

    DIVERGED = "diverged"
    NOT_LEARNING = "not_learning"
    LABELS_MISMATCH = "labels_mismatch"
    LR_TOO_LOW = "lr_too_low"
    LR_TOO_HIGH = "lr_too_high"
    OVERFITTING = "overfitting"
    UNDERFITTING = "underfitting"
    TOO_FEW_STEPS = "too_few_steps"
    MORE_EPOCHS = "more_epochs"
    TOP_HEAVY = "top_heavy"


SEVERITIES = ("problem", "advice")  # problem: the run went wrong; advice: it could go better

#: (evidence, suggestion) per code and language; ``{name}`` placeholders are the finding's numbers.
TEMPLATES: dict[str, dict[Code, tuple[str, str]]] = {
    "en": {
        Code.DIVERGED: (
            "the training loss {what}: {last} at epoch {epoch}, its lowest was {low}",
            "lower lr to ~{lr} (a tenth), or set grad_clip=1",
        ),
        Code.NOT_LEARNING: (
            "validation loss {loss} after {epochs} epoch(s); ln 10 = 2.303 is a uniform guess; validation accuracy {acc} (chance 10 %)",
            "check the data, then try lr={lr} with {optimizer} (the recipe's rate)",
        ),
        Code.LABELS_MISMATCH: (
            "training accuracy rose from {first} to {last} while validation accuracy stayed at {val} (chance 10 %): memorised, not learned",
            "check that the labels belong to the images (same order, same split)",
        ),
        Code.LR_TOO_LOW: (
            "validation loss {loss} after {epochs} epoch(s) (converged runs end under 0.35); lr {lr} for batch {batch} is {share} of the recipe's rate per image",
            "set lr={suggested} (linear scaling rule: lr x batch/128 from {base} at batch 128)",
        ),
        Code.LR_TOO_HIGH: (
            "even the training images are only {train} right at the end, with lr {lr} at batch {batch}: {times}x the recipe's rate per image",
            "set lr={suggested} (the recipe's {base} at batch 128, scaled to batch {batch}), or lower it step by step with digitlab lr-find",
        ),
        Code.OVERFITTING: (
            "validation loss {low} at epoch {best}, {last} at epoch {epoch}, while training accuracy reached {train} and validation accuracy stayed at {val}",
            "set early_stop=3, augment=true, or more images (train_subset=0); or epochs={best}",
        ),
        Code.UNDERFITTING: (
            "even the training images are only {train} right at the end ({params} parameters)",
            "use a wider model (more channels or units per layer; the lab's cnn has 131,050 parameters) or train longer",
        ),
        Code.TOO_FEW_STEPS: (
            "{per_epoch} optimiser steps per epoch, {total} in all ({images} images at batch {batch})",
            "set batch_size={batch_suggested} for >= 50 steps per epoch, or epochs={epochs_suggested} for >= 500 steps",
        ),
        Code.MORE_EPOCHS: (
            "validation accuracy {acc} after {epochs} epoch(s), still rising by {gain} points in the last one (no early stop)",
            "set epochs to ~{suggested}, or epochs={suggested} with early_stop=3",
        ),
        Code.TOP_HEAVY: (
            "the fully connected head holds {share} of the {params} parameters ({head} weights, {per_image} per training image)",
            "make the head smaller (e.g. model_kwargs.hidden={hidden}) and let the convolutions do the work",
        ),
    },
    "zh": {
        Code.DIVERGED: (
            "训练损失{what}：第 {epoch} 轮为 {last}，最低曾为 {low}",
            "把 lr 降到约 {lr}（十分之一），或设置 grad_clip=1",
        ),
        Code.NOT_LEARNING: (
            "{epochs} 轮后验证损失为 {loss}；ln 10 = 2.303 即均匀猜测；验证准确率 {acc}（随机水平 10 %）",
            "先检查数据，再用 {optimizer} 试 lr={lr}（配方的学习率）",
        ),
        Code.LABELS_MISMATCH: (
            "训练准确率从 {first} 升到 {last}，验证准确率却停在 {val}（随机水平 10 %）：是死记，不是学会",
            "检查标签是否与图片对应（顺序相同、划分相同）",
        ),
        Code.LR_TOO_LOW: (
            "{epochs} 轮后验证损失为 {loss}（收敛的训练低于 0.35）；批量 {batch} 下 lr {lr} 的每张图片学习率只有配方的 {share}",
            "设置 lr={suggested}（线性缩放规则：lr × 批量/128，批量 128 时为 {base}）",
        ),
        Code.LR_TOO_HIGH: (
            "到最后连训练图片也只对了 {train}，批量 {batch} 下 lr 为 {lr}：每张图片的学习率是配方的 {times} 倍",
            "设置 lr={suggested}（配方在批量 128 时为 {base}，按批量 {batch} 缩放），或用 digitlab lr-find 逐步调低",
        ),
        Code.OVERFITTING: (
            "验证损失第 {best} 轮为 {low}、第 {epoch} 轮为 {last}，而训练准确率达到 {train}，验证准确率停在 {val}",
            "设置 early_stop=3、augment=true，或使用更多图片（train_subset=0）；或 epochs={best}",
        ),
        Code.UNDERFITTING: (
            "到最后连训练图片也只对了 {train}（{params} 个参数）",
            "换更宽的模型（每层更多通道或单元；实验室的 cnn 有 131,050 个参数）或训练更久",
        ),
        Code.TOO_FEW_STEPS: (
            "每轮只有 {per_epoch} 次优化步，共 {total} 次（{images} 张图片，批量 {batch}）",
            "设置 batch_size={batch_suggested} 使每轮至少 50 步，或 epochs={epochs_suggested} 使总步数至少 500",
        ),
        Code.MORE_EPOCHS: (
            "{epochs} 轮后验证准确率为 {acc}，最后一轮仍提高了 {gain} 个百分点（未启用提前停止）",
            "把 epochs 设为约 {suggested}，或 epochs={suggested} 并设 early_stop=3",
        ),
        Code.TOP_HEAVY: (
            "全连接的分类头占了 {params} 个参数中的 {share}（{head} 个权重，每张训练图片 {per_image} 个）",
            "缩小分类头（例如 model_kwargs.hidden={hidden}），让卷积层承担主要工作",
        ),
    },
}
LANGS = tuple(TEMPLATES)
# Words that fill a placeholder, per language (the numbers themselves are the same in both).
WORDS: dict[str, dict[str, str]] = {
    "en": {"nonfinite": "became NaN or infinite", "rose": "rose far above its lowest"},
    "zh": {"nonfinite": "变成了 NaN 或无穷大", "rose": "升到远高于其最低值"},
}
NOTHING = {"en": "nothing to worry about", "zh": "没有需要担心的问题"}
SEVERITY_WORDS = {"en": {"problem": "problem", "advice": "advice"}, "zh": {"problem": "问题", "advice": "建议"}}


@dataclass(frozen=True)
class Epoch:
    """One epoch's figures (NaN where not measured); losses in nats, accuracies in [0, 1]."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float


@dataclass(frozen=True)
class Evidence:
    """What the rules read: the config, the per-epoch curves, how the run ended and how the model's weights sit."""

    config: TrainConfig
    epochs: tuple[Epoch, ...]
    train_images: int  # images in one epoch (after train_subset)
    head_params: int  # the trailing fully connected layers (Linear after the last other weighted layer)
    body_params: int  # every other weight: convolutions, normalisation, recurrent or attention layers
    status: str = "completed"
    failure: str = ""  # the run's message when it failed (a NaN loss stops training before the epoch is recorded)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.train_images / self.config.batch_size)

    @property
    def last(self) -> Epoch:
        return self.epochs[-1]


@dataclass(frozen=True)
class Finding:
    """One thing the doctor sees: its code, how serious, and the numbers its two sentences are made of."""

    code: Code
    severity: str  # one of SEVERITIES
    numbers: dict[str, Any] = field(default_factory=dict)  # display strings and ints, the same in both languages

    def evidence(self, lang: str = "en") -> str:
        return TEMPLATES[check_lang(lang)][self.code][0].format(**self._numbers(lang))

    def suggestion(self, lang: str = "en") -> str:
        return TEMPLATES[check_lang(lang)][self.code][1].format(**self._numbers(lang))

    def _numbers(self, lang: str) -> dict[str, Any]:
        """The numbers, with ``what`` (a key of WORDS) put in words of ``lang``."""
        return self.numbers | ({"what": WORDS[lang][self.numbers["what"]]} if "what" in self.numbers else {})

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        return {"code": str(self.code), "severity": self.severity, "evidence": self.evidence(lang), "suggestion": self.suggestion(lang)}


def check_lang(lang: str) -> str:
    """``lang`` if the doctor speaks it, else one sentence naming the languages it does."""
    if lang not in TEMPLATES:
        raise RunError(f"{lang!r} is not a language of the doctor; it speaks {' and '.join(LANGS)}.")
    return lang


def _f(v: float) -> str:
    return f"{v:.3f}"


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _finite(vals: list[float]) -> list[float]:
    return [v for v in vals if math.isfinite(v)]


# -- the rules: each reads the evidence and returns a finding, or None when it sees nothing


def diverged(ev: Evidence) -> Finding | None:
    """A loss that became NaN/inf (the trainer stops the run and says so; it measures every epoch's training loss, so a
    missing one is a NaN), or a training loss that rose far above its lowest."""
    losses = [e.train_loss for e in ev.epochs]
    seen = _finite(losses)
    low = _f(min(seen)) if seen else "-"
    lr = f"{ev.config.lr / 10:.2g}"
    if "loss became" in ev.failure or len(seen) < len(losses):
        return Finding(Code.DIVERGED, "problem", {"what": "nonfinite", "last": "NaN", "epoch": len(seen) + 1, "low": low, "lr": lr})
    if seen and losses[-1] > min(seen) + RISE_NATS:
        return Finding(Code.DIVERGED, "problem", {"what": "rose", "last": _f(losses[-1]), "epoch": ev.last.epoch, "low": low, "lr": lr})
    return None


def not_learning(ev: Evidence) -> Finding | None:
    """Validation loss still at ln 10 and both accuracies near chance: the network predicts a uniform guess (a
    validation loss not measured, NaN, says nothing)."""
    e = ev.last
    if not abs(e.val_loss - CHANCE_LOSS) <= CHANCE_BAND or e.val_acc >= NEAR_CHANCE_ACC or e.train_acc >= NEAR_CHANCE_ACC:
        return None
    opt = ev.config.optimizer
    return Finding(
        Code.NOT_LEARNING,
        "problem",
        {"loss": _f(e.val_loss), "epochs": e.epoch, "acc": _pct(e.val_acc), "lr": RECIPE_LR[opt], "optimizer": opt},
    )


def labels_mismatch(ev: Evidence) -> Finding | None:
    """Training accuracy climbing by memorisation while validation stays at chance: the labels do not fit the images."""
    first, e = ev.epochs[0], ev.last
    if not (e.val_acc < NEAR_CHANCE_ACC and e.train_acc >= NEAR_CHANCE_ACC and e.train_acc > first.train_acc + MEMORISING_RISE):
        return None
    return Finding(Code.LABELS_MISMATCH, "problem", {"first": _pct(first.train_acc), "last": _pct(e.train_acc), "val": _pct(e.val_acc)})


def lr_too_low(ev: Evidence) -> Finding | None:
    """A loss plateau well above a converged run's, with a learning rate per image far under the recipe's (a small lr,
    or a large batch whose lr was not scaled up with it: the linear scaling rule, Goyal et al. 2017)."""
    cfg, e = ev.config, ev.last
    base = RECIPE_LR[cfg.optimizer]
    share = (cfg.lr / cfg.batch_size) / (base / BASE_BATCH)
    if not (e.val_loss > PLATEAU_LOSS and e.val_acc >= NEAR_CHANCE_ACC and share < LOW_LR_FACTOR):
        return None
    numbers = {"loss": _f(e.val_loss), "epochs": e.epoch, "lr": f"{cfg.lr:g}", "batch": cfg.batch_size, "share": _pct(share)}
    return Finding(Code.LR_TOO_LOW, "problem", numbers | {"suggested": f"{base * cfg.batch_size / BASE_BATCH:.2g}", "base": base})


def lr_too_high(ev: Evidence) -> Finding | None:
    """A run that underfits (even its training images mostly wrong) with a learning rate per image 10x the recipe's or
    more: the steps overshoot without the loss blowing up (BatchNorm keeps it finite), so nothing settles."""
    cfg, e = ev.config, ev.last
    base = RECIPE_LR[cfg.optimizer]
    times = (cfg.lr / cfg.batch_size) / (base / BASE_BATCH)
    limit = UNDERFIT_ACC if cfg.dataset == "mnist" else UNDERFIT_ACC - 0.1
    if not (times >= HIGH_LR_FACTOR and e.train_acc < limit):
        return None
    numbers = {"train": _pct(e.train_acc), "lr": f"{cfg.lr:g}", "batch": cfg.batch_size, "times": f"{times:.0f}", "base": base}
    return Finding(Code.LR_TOO_HIGH, "problem", numbers | {"suggested": f"{base * cfg.batch_size / BASE_BATCH:.2g}"})


def overfitting(ev: Evidence) -> Finding | None:
    """Validation loss rising over the last epochs from its lowest while the train/validation gap grows; or, without
    augmentation, every training image memorised while the validation images are missed far more often."""
    val = [e.val_loss for e in ev.epochs]
    if len(val) < 4 or not all(math.isfinite(v) for v in val):
        return None
    i = min(range(len(val)), key=val.__getitem__)
    best, e = ev.epochs[i], ev.last
    gap_grew = (e.train_acc - e.val_acc) > (best.train_acc - best.val_acc)
    # a rising validation loss alone is not overfitting: a model growing more confident on the digits it gets right
    # raises it too (the zoo cnn: 0.091 -> 0.113 while validation accuracy rose to its best at the last epoch); the
    # training images must be fitted better than the validation ones, and validation accuracy must have stopped rising
    worse = e.train_acc > e.val_acc and e.val_acc < max(x.val_acc for x in ev.epochs)
    rose = i <= len(val) - 3 and val[-1] >= OVERFIT_RISE * val[i] and gap_grew and worse
    memorised = not ev.config.augment and 1 - e.train_acc <= MEMORISED_ERR and e.train_acc - e.val_acc >= MEMORISED_GAP
    if not (rose or memorised):
        return None
    numbers = {"low": _f(val[i]), "best": best.epoch, "last": _f(val[-1]), "epoch": e.epoch}
    return Finding(Code.OVERFITTING, "problem", numbers | {"train": _pct(e.train_acc), "val": _pct(e.val_acc)})


def underfitting(ev: Evidence) -> Finding | None:
    """Even the training images mostly wrong at the end (yet above chance): the model or its training is too weak."""
    e = ev.last
    limit = UNDERFIT_ACC if ev.config.dataset == "mnist" else UNDERFIT_ACC - 0.1  # Fashion-MNIST: ~90 % is good
    if not (NEAR_CHANCE_ACC <= e.train_acc < limit and e.val_acc < limit):
        return None
    return Finding(Code.UNDERFITTING, "problem", {"train": _pct(e.train_acc), "params": f"{ev.head_params + ev.body_params:,}"})


def too_few_steps(ev: Evidence) -> Finding | None:
    """Few optimiser steps per epoch and in all: the onecycle schedule warms up and anneals before Adam has settled."""
    per, cfg = ev.steps_per_epoch, ev.config
    total = per * cfg.epochs
    if per >= MIN_STEPS_PER_EPOCH or total >= MIN_TOTAL_STEPS:
        return None
    batch = max(8, ev.train_images // MIN_STEPS_PER_EPOCH // 8 * 8)  # a multiple of 8 (faster) giving >= 50 steps
    numbers = {"per_epoch": per, "total": total, "images": ev.train_images, "batch": cfg.batch_size}
    return Finding(Code.TOO_FEW_STEPS, "advice", numbers | {"batch_suggested": batch, "epochs_suggested": math.ceil(MIN_TOTAL_STEPS / per)})


def top_heavy(ev: Evidence) -> Finding | None:
    """Most parameters in the fully connected head, many per training image (models with a ``hidden`` width only)."""
    total = ev.head_params + ev.body_params
    hidden = {**get_spec(ev.config.model).kwargs, **ev.config.model_kwargs}.get("hidden")
    if not isinstance(hidden, int) or ev.body_params == 0 or ev.head_params <= HEAD_SHARE * total:
        return None
    if ev.head_params < HEAD_PER_IMAGE * ev.train_images:
        return None
    numbers = {"share": _pct(ev.head_params / total), "params": f"{total:,}", "head": f"{ev.head_params:,}"}
    return Finding(
        Code.TOP_HEAVY, "advice", numbers | {"per_image": round(ev.head_params / ev.train_images), "hidden": max(16, hidden // 8)}
    )


def more_epochs(ev: Evidence) -> Finding | None:
    """Stopped while validation accuracy was still rising clearly, with no early stop to decide when to stop."""
    cfg, e = ev.config, ev.last
    if cfg.early_stop or ev.status != "completed" or not math.isfinite(e.val_acc):
        return None
    if len(ev.epochs) == 1:  # no curve: the epoch's mean training accuracy is where the epoch's model stood on average
        gain, steep = e.val_acc - e.train_acc, e.val_acc - e.train_acc >= STEEP_GAP
    else:
        before = ev.epochs[-2].val_acc
        gain = e.val_acc - before
        steep = gain >= STILL_IMPROVING_POINTS and (1 - e.val_acc) <= (1 - STILL_IMPROVING) * (1 - before)
    if not steep:
        return None
    return Finding(
        Code.MORE_EPOCHS,
        "advice",
        {"acc": _pct(e.val_acc), "epochs": e.epoch, "gain": f"{100 * gain:.1f}", "suggested": max(2 * cfg.epochs, cfg.epochs + 2)},
    )


# Most likely cause first: a rule earlier here explains more of what a later one also sees (a diverged run is also
# not learning, a too-low lr also underfits, few steps also leave a run short of its accuracy).
RULES: tuple[Callable[[Evidence], Finding | None], ...] = (
    diverged, labels_mismatch, not_learning, lr_too_low, lr_too_high, overfitting, too_few_steps, underfitting, top_heavy, more_epochs,
)  # fmt: skip


def diagnose(ev: Evidence) -> list[Finding]:
    """Every finding the rules see, the most likely cause first (none for a run without recorded epochs)."""
    if not ev.epochs and "loss became" not in ev.failure:
        return []
    if not ev.epochs:
        return [f for f in [diverged(ev)] if f]
    found = [rule(ev) for rule in RULES]
    return [f for f in found if f is not None]


# -- the evidence of a recorded run


def param_split(config: TrainConfig) -> tuple[int, int]:
    """(head, body) trainable parameters of the config's model as built (a growing network: its starting structure).
    The head is the run of Linear layers at the end of the forward pass; everything before it is the body."""
    rows = [r for r in summarize(create_model(config.model, **config.model_kwargs)) if r.params]  # in call order
    head = 0
    for r in reversed(rows):
        if r.type != "Linear":
            break
        head += r.params
    return head, sum(r.params for r in rows) - head


def train_images(config: TrainConfig) -> int:
    """Images in one training epoch: the training file less the validation split, or the subset."""
    rest = TRAIN_SPLIT - config.val_size
    return min(config.train_subset, rest) if config.train_subset else rest


def _epoch(m: dict[str, Any]) -> Epoch:
    def num(key: str) -> float:
        v = m.get(key)
        return math.nan if v is None else float(v)

    return Epoch(int(m["epoch"]), num("train_loss"), num("train_acc"), num("val_loss"), num("val_acc"))


def evidence_of(store: RunStore, rec: RunRecord) -> Evidence:
    """The doctor's evidence of a recorded classifier run; a generative run is refused in one sentence."""
    if not isinstance(rec.config, TrainConfig) or rec.model == "ensemble":
        raise RunError(
            f"The doctor reads the curves of a trained classifier; {rec.name!r} is a {'generator' if rec.task == 'generate' else 'ensemble'}."
        )
    cfg = rec.config
    head, body = param_split(cfg)
    curves = tuple(_epoch(m) for m in store.epochs(rec.id))
    return Evidence(cfg, curves, train_images(cfg), head, body, rec.status, rec.message or "")


def examine(store: RunStore, name: str) -> list[Finding]:
    """The findings on the recorded run ``name`` (an unknown name: RunError with the closest names)."""
    rec = store.get_run(name)
    return diagnose(evidence_of(store, rec))
