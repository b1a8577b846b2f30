"""Ensembles of recorded runs: chosen on the members' shared validation split, recorded as a run of their own.

``create_ensemble`` resolves the members (runs, promoted models or checkpoint files), checks that they share classes
and a validation split, computes their probabilities on validation (with and without test-time views), lets the
method (``ensemble_methods``) choose the weights there, and keeps test-time augmentation only if it raises validation
accuracy. The ensemble is then a run like any other (model ``ensemble``): a never-reused folder whose
``weights/best.pt`` is the whole ensemble as one network (``models/ensemble.py``), evaluated on validation and test,
its "not a digit" detectors (the usual ones but energy, plus the members' disagreement) calibrated on validation. The test split
is read only after every choice is made, and only to report.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from .catalog import resolve
from .checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from .config import TrainConfig, make_config
from .data import DigitData, load_digits
from .ensemble_methods import WEIGHTS, pick_method, score
from .errors import DigitlabError, ModelError, RunError
from .evidence import versions
from .fsio import write_atomic
from .inference import evaluate, layout, normalise
from .metrics import confusion_matrix, per_class_accuracy
from .models import DigitNet
from .models.ensemble import METHODS, EnsembleNet
from .recognize.calibrate import fit_rejection
from .recognize.rejection import Rejector
from .recognize.rejection.combine import DEFAULT_DETECTORS
from .recognize.rejection.disagreement import Disagreement
from .records import RunRecord
from .runner import evidence, new_run_dir
from .store import RunStore

TTA_CHOICES = ("auto", "off")
CHOICES = (*METHODS, "auto")  # auto: the method with the best held-out validation accuracy (ensemble_methods.pick_method)
MODEL = "ensemble"


@dataclass(frozen=True)
class Member:
    """One candidate: what the user named, the run it came from, its checkpoint file and contents."""

    ref: str
    name: str
    path: Path
    ckpt: dict[str, Any] = field(repr=False)

    @property
    def split(self) -> tuple[str, int, int]:
        """What decides the validation split: data set, val_size, split_seed."""
        c = self.ckpt["config"]
        return c.get("dataset", "mnist"), int(c.get("val_size", 0)), int(c.get("split_seed", 0))


@dataclass
class Choice:
    """What validation decided: the method, weights over the pool (M,), test-time views, and the figures behind it."""

    method: str
    weights: torch.Tensor
    tta: bool
    val_acc: float
    val_nll: float
    member_val_acc: list[float]
    without: list[float | None]  # validation accuracy of the ensemble without each member (None: unused, or alone)
    tta_val_acc: dict[str, float | None]
    held_out: dict[str, float]  # auto: each candidate method's held-out validation accuracy (empty otherwise)


def load_members(refs: list[str], store: RunStore, models_dir: Path = Path("models")) -> list[Member]:
    """Resolve and load the members; refuse an empty pool, repeats, nested ensembles, other classes or other splits."""
    if not refs:
        raise ModelError("An ensemble needs one or more members (--members RUN RUN ...); the pool is empty.")
    members: list[Member] = []
    for ref in refs:
        path = resolve(ref, store, models_dir)
        ckpt = load_checkpoint(path)
        if ckpt["model"] == MODEL:
            raise ModelError(f"Member {ref!r} is itself an ensemble; list its members instead.")
        if any(m.path.resolve() == path.resolve() for m in members):
            raise ModelError(f"Member {ref!r} is listed twice; each model joins an ensemble once (weights say how much it counts).")
        members.append(Member(ref, str(ckpt["config"].get("name") or path.stem), path, ckpt))
    _check_compatible(members)
    return members


def _check_compatible(members: list[Member]) -> None:
    first = members[0]
    for m in members:
        if list(m.ckpt["classes"]) != list(first.ckpt["classes"]):
            raise ModelError(
                f"Members {first.ref!r} and {m.ref!r} predict different classes; an ensemble combines models of the same classes."
            )
        if m.split != first.split:
            show = lambda s: f"{s[0]} val_size={s[1]} split_seed={s[2]}"  # noqa: E731
            raise ModelError(
                f"Members {first.ref!r} ({show(first.split)}) and {m.ref!r} ({show(m.split)}) were validated on different splits;"
                " an ensemble is chosen on one validation split that all its members held out."
            )
        if m.split[1] == 0:
            raise ModelError(f"Member {m.ref!r} was trained without a validation split (val_size=0); an ensemble is chosen on validation.")


@torch.no_grad()
def member_probs(nets: list[DigitNet], norms: list[dict[str, float]], images: torch.Tensor, tta: bool, batch: int = 500) -> torch.Tensor:
    """Each member's probabilities ``(M, N, C)`` on uint8 images ``(N, 28, 28)``, averaged over test-time views when on."""
    out = []
    for net, norm in zip(nets, norms):
        single = EnsembleNet([net], [norm], [1.0], "mean", 0, tta).eval()  # its head is not used here
        fmt = layout(single)
        chunks = [
            single.member_outputs(normalise(images[i : i + batch], 0.0, 1.0).contiguous(memory_format=fmt))[1][0]
            for i in range(0, len(images), batch)
        ]
        out.append(torch.cat(chunks))
    return torch.stack(out)


def choose(probs: torch.Tensor, labels: torch.Tensor, method: str, probs_tta: torch.Tensor | None = None) -> Choice:
    """Weights by ``method`` on validation ``probs (M, N, C)``; test-time views (``probs_tta``) only if they raise accuracy."""
    _check_method(method)
    held_out: dict[str, float] = {}
    if method == "auto":
        method, held_out = pick_method(probs, labels)
    weights = WEIGHTS[method](probs, labels)
    acc, nll = score(probs, weights, labels, method)
    tta_val: dict[str, float | None] = {"off": acc, "on": None}
    use_tta = False
    if probs_tta is not None:
        weights_tta = WEIGHTS[method](probs_tta, labels)
        acc_tta, nll_tta = score(probs_tta, weights_tta, labels, method)
        tta_val["on"] = acc_tta
        if acc_tta > acc:  # strictly better on validation: the views cost one forward pass each
            use_tta, probs, weights, acc, nll = True, probs_tta, weights_tta, acc_tta, nll_tta
    member_acc = [(p.argmax(1) == labels).double().mean().item() for p in probs]
    without = [_without(probs, weights, labels, method, i) for i in range(len(weights))]
    return Choice(method, weights, use_tta, acc, nll, member_acc, without, tta_val, held_out)


def _check_method(method: str) -> None:
    if method not in CHOICES:
        raise ModelError(f"Unknown ensemble method {method!r}; use one of {', '.join(CHOICES)}.")


def _without(probs: torch.Tensor, weights: torch.Tensor, labels: torch.Tensor, method: str, i: int) -> float | None:
    """Validation accuracy with member ``i`` left out and the other weights scaled to sum to one."""
    rest = weights.clone()
    rest[i] = 0
    if weights[i] == 0 or rest.sum() == 0:
        return None
    return score(probs, rest / rest.sum(), labels, method)[0]


def create_ensemble(
    name: str | None,
    refs: list[str],
    method: str = "mean",
    tta: str = "auto",
    *,
    store: RunStore,
    runs_dir: Path = Path("runs"),
    models_dir: Path = Path("models"),
    data_dir: str | None = None,
    data: DigitData | None = None,
) -> RunRecord:
    """Choose an ensemble of ``refs`` on validation and record it as run ``name`` (see module doc); returns its record."""
    _check_method(method)
    if tta not in TTA_CHOICES:
        raise ModelError(f"--tta {tta!r} is not a choice; use auto (kept only if it wins on validation) or off.")
    t0 = time.perf_counter()
    members = load_members(refs, store, models_dir)
    cfg = ensemble_config(name, members)
    if cfg.name and ((runs_dir / cfg.name).exists() or cfg.name in {r.name for r in store.list_runs()}):
        raise RunError(f"Run {cfg.name!r} already exists; choose another name for the ensemble.")  # before minutes of work
    data = data or load_digits(cfg.dataset, cfg.val_size, cfg.split_seed, cfg.train_subset, data_dir)
    nets = [model_from_checkpoint(m.ckpt) for m in members]
    norms = [dict(m.ckpt["norm"]) for m in members]
    probs = member_probs(nets, norms, data.val_x, False)
    probs_tta = member_probs(nets, norms, data.val_x, True) if tta == "auto" else None
    choice = choose(probs, data.val_y, method, probs_tta)
    method = choice.method  # auto: the method it picked
    keep = [i for i in range(len(members)) if choice.weights[i] > 0]
    weights = [float(choice.weights[i]) for i in keep]
    net = EnsembleNet([nets[i] for i in keep], [norms[i] for i in keep], weights, method, len(members[0].ckpt["classes"]), choice.tta)
    payload = _checkpoint(cfg, net, [members[i] for i in keep], [norms[i] for i in keep], weights, method, choice.tta)
    return _record(store, runs_dir, cfg, payload, data, members, choice, method, t0)


def ensemble_config(name: str | None, members: list[Member]) -> TrainConfig:
    """The run's config: model ``ensemble`` on the members' data and split (their training subset when they share one)."""
    dataset, val_size, split_seed = members[0].split
    subsets = {int(m.ckpt["config"].get("train_subset", 0)) for m in members}
    data = {"name": name, "model": MODEL, "dataset": dataset, "val_size": val_size, "split_seed": split_seed}
    return make_config({**data, "train_subset": subsets.pop() if len(subsets) == 1 else 0})


def _checkpoint(
    cfg: TrainConfig, net: EnsembleNet, members: list[Member], norms: list[dict[str, float]], weights: list[float], method: str, tta: bool
) -> dict[str, Any]:
    """The ensemble's checkpoint payload: its own norm is 0 / 1 (each member normalises inside)."""
    spec = {
        "members": [
            {"model": m.ckpt["model"], "model_kwargs": dict(m.ckpt["model_kwargs"]), "norm": n, "run": m.name}
            for m, n in zip(members, norms)
        ],
        "weights": weights,
        "method": method,
        "tta": tta,
    }
    return {
        "model": MODEL,
        "model_kwargs": {},
        "state_dict": net.state_dict(),
        "config": cfg.model_dump(),
        "norm": {"mean": 0.0, "std": 1.0},
        "classes": list(members[0].ckpt["classes"]),
        "ensemble": spec,
        "versions": versions(),
    }


def _record(
    store: RunStore,
    runs_dir: Path,
    cfg: TrainConfig,
    payload: dict[str, Any],
    data: DigitData,
    members: list[Member],
    choice: Choice,
    method: str,
    t0: float,
) -> RunRecord:
    """A new run folder and database row; evaluate, calibrate, and mark it completed (or failed, with the reason)."""
    folder = new_run_dir(runs_dir, cfg.name, MODEL)
    cfg = cfg.model_copy(update={"name": folder.name})
    payload["config"] = cfg.model_dump()
    ev = evidence()
    picked = {"members": [m.ref for m in members], "method": method, "tta": choice.tta}
    write_atomic(folder.config, yaml.safe_dump({**cfg.model_dump(), "_ensemble": picked, "_evidence": ev}, sort_keys=False))
    run_id = store.create_run(folder.name, cfg, str(folder.path.resolve()), ev)
    try:
        summary = _evaluate_and_save(folder.best, payload, data, cfg.reject_tpr)
        extra = {"ensemble": _extra(members, choice, method, summary)}
        write_atomic(folder.summary, json.dumps({"status": "completed", **extra, "evaluation": summary}, indent=2))
        store.update_run(
            run_id, status="completed", train_seconds=time.perf_counter() - t0, best_val_acc=summary["val_acc"],
            best_val_loss=summary["val_loss"], test_acc=summary["test_acc"], test_loss=summary["test_loss"], extra=extra,
            message=f"ensemble of {len(payload['ensemble']['weights'])} by {method}" + (" with test-time views" if choice.tta else ""),
        )  # fmt: skip
    except Exception as err:
        reason = str(err) if isinstance(err, DigitlabError) else f"{type(err).__name__}: {err}"
        store.update_run(run_id, status="failed", message=reason[:1000])
        raise
    return store.get_run(folder.name)


def _evaluate_and_save(path: Path, payload: dict[str, Any], data: DigitData, tpr: float) -> dict[str, Any]:
    """Validation and test figures of the saved network, then its "not a digit" detectors calibrated on validation."""
    net = model_from_checkpoint(payload)  # rebuilt from the payload: what the file will load, nothing else
    val = evaluate(net, data.val_x, data.val_y, 0.0, 1.0)
    test = evaluate(net, data.test_x, data.test_y, 0.0, 1.0)  # reported only: every choice is already made
    cm = confusion_matrix(data.test_y, test.pred, len(payload["classes"]))
    summary = {"val_acc": val.acc, "val_loss": val.loss, "test_acc": test.acc, "test_loss": test.loss}
    save_checkpoint(path, {**payload, "metrics": summary})
    if len(data.val_y) >= 100:
        fit_rejection(path, data, tpr, ensemble_rejector(payload["ensemble"]["weights"]))
    return {**summary, "test_per_class_acc": per_class_accuracy(cm), "test_confusion": cm.tolist()}


def ensemble_rejector(weights: list[float]) -> Rejector:
    """The usual detectors but energy, plus the members' disagreement when there are two or more members.

    Energy (logsumexp of the logits) is left out: an ensemble's logits are log probabilities, so it is 0 for every
    input, and its p-values would be rounding noise (enough to flip 0.5 % of decisions between torch and ONNX).
    """
    names = [n for n in DEFAULT_DETECTORS if n != "energy"]
    if len(weights) < 2:
        return Rejector(names)
    rejector = Rejector([*names, "disagreement"])
    rejector.detectors["disagreement"] = Disagreement(torch.tensor(weights))
    return rejector


def _extra(members: list[Member], choice: Choice, method: str, summary: dict[str, Any]) -> dict[str, Any]:
    """What the run database keeps about the ensemble: the pool, each member's weight and worth, and the choice."""
    rows = [
        {"ref": m.ref, "run": m.name, "model": m.ckpt["model"], "weight": float(w), "val_acc": a, "val_acc_without": wo}
        for m, w, a, wo in zip(members, choice.weights.tolist(), choice.member_val_acc, choice.without)
    ]
    return {
        "method": method, "tta": choice.tta, "tta_val_acc": choice.tta_val_acc, "members": rows, "held_out": choice.held_out,
        "val_acc": summary["val_acc"], "test_acc": summary["test_acc"], "test_per_class_acc": summary["test_per_class_acc"],
    }  # fmt: skip
