"""How a trained model stands up to adversarial pictures, and how many of them its "not a digit" detector refuses.

``attack_run`` resolves a run, promoted model or checkpoint, takes the first ``n`` test images of its data set, and for
each eps attacks them (``attacks.py``: FGSM or PGD, L-inf in pixel space) and reports accuracy on the adversarial
pictures, the share the checkpoint's deployed detector refuses (its calibrated threshold, as the predictor applies it),
and accuracy when a refusal counts as not fooled. The test split is only reported on: nothing is chosen here.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .attacks import attack, get_attack
from .catalog import resolve
from .checkpoint import load_checkpoint, model_from_checkpoint
from .data.dataset import load_raw
from .errors import ConfigError
from .inference import model_view
from .models import DigitNet
from .recognize.rejection import Rejector
from .store import RunStore


@dataclass(frozen=True)
class RobustnessRow:
    """One eps: shares of the ``n`` images (refusal shares are None when the checkpoint has no detector)."""

    eps: float
    clean_acc: float
    robust_acc: float  # adversarial pictures classified correctly
    refused: float | None  # adversarial pictures the detector refuses as "not a digit"
    clean_refused: float | None  # clean pictures refused, for reference (about 1 - the calibrated acceptance rate)
    caught_acc: float  # correct or refused: the attack did not get a wrong digit through
    seconds: float  # attack and scoring of this eps


@dataclass(frozen=True)
class RobustnessReport:
    """What ``attack_run`` measured: the model, the attack, the detector's threshold, one row per eps."""

    ref: str
    checkpoint: str
    model: str
    dataset: str
    method: str
    steps: int  # PGD's (FGSM is one step)
    n: int
    seed: int
    threshold: float | None  # the deployed "not a digit" threshold on the combined score (None: no detector)
    rows: tuple[RobustnessRow, ...]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)


@dataclass(frozen=True)
class _Judged:
    """Per image: classified correctly, refused as not a digit (all False without a detector)."""

    correct: torch.Tensor  # (N,) bool
    refused: torch.Tensor  # (N,) bool


@dataclass(frozen=True)
class _Target:
    """The deployed model under attack, its detector, the images and what it makes of them clean."""

    model: DigitNet
    rej: Rejector | None
    x: torch.Tensor  # (N, 1, 28, 28) float in [0, 1]
    y: torch.Tensor  # (N,) int64
    mean: float
    std: float

    def judge(self, x: torch.Tensor) -> _Judged:
        """What the model makes of images ``x (N, 1, 28, 28)``: its answer, and its detector's at the deployed threshold."""
        view = model_view(self.model, x.squeeze(1), self.mean, self.std)
        correct = view.logits.argmax(1) == self.y
        refused = self.rej.combined(view) < self.rej.threshold if self.rej is not None else torch.zeros_like(correct)
        return _Judged(correct, refused)


def _share(mask: torch.Tensor) -> float:
    return mask.double().mean().item()


def attack_run(
    ref: str,
    *,
    method: str = "pgd",
    eps_list: list[float] | tuple[float, ...] = (0.05, 0.1, 0.2, 0.3),
    steps: int = 40,
    n: int = 1000,
    store: RunStore | None = None,
    models_dir: Path = Path("models"),
    data_dir: str | None = None,
    seed: int = 0,
) -> RobustnessReport:
    """Attack the first ``n`` test images of ``ref``'s data set at each eps (see module doc); returns the report."""
    get_attack(method)  # an unknown method is refused before any loading
    if not eps_list:
        raise ConfigError("Give at least one eps to attack at, e.g. --eps 0.1.")
    if n < 1:
        raise ConfigError(f"The attack needs at least one test image; got n={n}.")
    path = resolve(ref, store, models_dir)
    ckpt = load_checkpoint(path)
    rej = Rejector.from_state(ckpt["rejection"]) if "rejection" in ckpt else None
    dataset = str(ckpt["config"].get("dataset", "mnist"))
    x_u8, y_np = load_raw(dataset, "t10k", data_dir)
    x = torch.from_numpy(x_u8[:n].copy()).float().div_(255).unsqueeze(1)  # (n, 1, 28, 28) in [0, 1]
    y = torch.from_numpy(y_np[:n].copy()).long()
    target = _Target(model_from_checkpoint(ckpt), rej, x, y, float(ckpt["norm"]["mean"]), float(ckpt["norm"]["std"]))
    clean = target.judge(x)
    rows = tuple(_row(target, clean, method, float(eps), steps, seed) for eps in eps_list)
    threshold = rej.threshold if rej is not None else None
    return RobustnessReport(ref, str(path), str(ckpt["model"]), dataset, method, steps, len(y), seed, threshold, rows)


def _row(t: _Target, clean: _Judged, method: str, eps: float, steps: int, seed: int) -> RobustnessRow:
    """Attack at one eps (the start drawn from ``seed``) and judge the adversarial pictures."""
    t0 = time.perf_counter()
    x_adv = attack(method, t.model, t.x, t.y, eps, t.mean, t.std, steps=steps, gen=torch.Generator().manual_seed(seed))
    adv = t.judge(x_adv)
    has_detector = t.rej is not None
    return RobustnessRow(
        eps=eps,
        clean_acc=_share(clean.correct),
        robust_acc=_share(adv.correct),
        refused=_share(adv.refused) if has_detector else None,
        clean_refused=_share(clean.refused) if has_detector else None,
        caught_acc=_share(adv.correct | adv.refused),
        seconds=time.perf_counter() - t0,
    )
