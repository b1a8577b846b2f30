"""Using trained models: resolve a reference to a checkpoint, promote runs to named models, evaluate a checkpoint.

A reference is a checkpoint path, a run name (its ``best.pt``), or a promoted
model name (``gen1`` = its newest version, ``gen1:v2`` = a given one).
Promoted models live in ``models/<name>/v<k>.pt`` and are never overwritten.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .checkpoint import DEFAULT_MODEL, SUFFIXES, load_checkpoint, model_from_checkpoint
from .data.dataset import load_raw
from .errors import CheckpointError, RunError
from .fsio import atomic_path, write_atomic
from .inference import Evaluation, evaluate
from .metrics import confusion_matrix, per_class_accuracy
from .records import RunFolder
from .store import RunStore

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def promoted_versions(models_dir: Path, name: str) -> list[int]:
    """Existing version numbers of promoted model ``name``."""
    return sorted(int(p.stem[1:]) for p in (models_dir / name).glob("v*.pt") if p.stem[1:].isdigit())


SHIPPED = "ship"  # the name of the model shipped with the package, when no run or promoted model takes it


def resolve(ref: str | None, store: RunStore | None = None, models_dir: Path = Path("models")) -> Path:
    """The checkpoint file that ``ref`` names (path, promoted name[:vK], run name, or None / "ship" for the shipped model)."""
    if ref is None:
        return DEFAULT_MODEL
    try:
        return _resolve(ref, store, models_dir)
    except RunError:
        if ref == SHIPPED:
            return DEFAULT_MODEL
        raise


def _resolve(ref: str, store: RunStore | None, models_dir: Path) -> Path:
    path = Path(ref)
    if path.suffix in SUFFIXES:
        if not path.is_file():
            raise CheckpointError(f"Checkpoint {path} does not exist.")
        return path
    name, _, ver = ref.partition(":")
    if NAME.match(name) and (models_dir / name).is_dir():
        versions = promoted_versions(models_dir, name)
        digits = ver.removeprefix("v")
        if ver and not digits.isdigit():
            raise RunError(f"{ref!r}: a version is written v<number>, e.g. {name}:v1.")
        want = int(digits) if ver else (versions[-1] if versions else 0)
        if want in versions:
            return models_dir / name / f"v{want}.pt"
        raise RunError(f"Promoted model {name!r} has no version {want}; it has {', '.join(f'v{v}' for v in versions) or 'none'}.")
    if path.is_dir() and RunFolder(path).best.is_file():
        return RunFolder(path).best
    if store is None:
        raise RunError(f"{ref!r} is neither a checkpoint file nor a promoted model.")
    rec = store.get_run(ref)
    if not rec.folder.best.is_file():
        raise RunError(f"Run {ref!r} has no weights/best.pt yet (status {rec.status}).")
    return rec.folder.best


def promote(store: RunStore, run: str, as_name: str, new_version: bool = False, models_dir: Path = Path("models")) -> Path:
    """Copy run ``run``'s best weights to ``models/<as_name>/v<k>.pt``; an existing name needs ``new_version``."""
    if not NAME.match(as_name):
        raise RunError(f"Model name {as_name!r} is not allowed: use letters, digits, '.', '_' and '-' (at most 64).")
    rec = store.get_run(run)
    src = rec.folder.best  # the run's own file, whatever its name looks like (e.g. 'cnn-lr0.01')
    if not src.is_file():
        raise RunError(f"Run {rec.name!r} has no weights/best.pt yet (status {rec.status}).")
    load_checkpoint(src)  # refuse to promote a damaged file
    versions = promoted_versions(models_dir, as_name)
    if versions and not new_version:
        raise RunError(f"Model {as_name!r} already exists (v{versions[-1]}); use --new-version to add a version beside it.")
    version = (versions[-1] if versions else 0) + 1
    dest = models_dir / as_name / f"v{version}.pt"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:  # the version number was free: this never replaces a promoted file
        shutil.copyfile(src, tmp)
    meta = {
        "name": as_name,
        "version": version,
        "run": rec.name,
        "generation": rec.generation,
        "best_val_acc": rec.best_val_acc,
        "test_acc": rec.test_acc,
        "source": str(src),
    }
    write_atomic(dest.with_suffix(".json"), json.dumps(meta, indent=2))
    store.add_promoted(as_name, version, rec.id, str(dest.resolve()))
    return dest


def _on_test(ckpt: dict[str, Any], data_dir: str | None) -> tuple[Evaluation, torch.Tensor]:
    """A loaded checkpoint evaluated on its dataset's test split, with the statistics it was trained with; and the labels."""
    x, y = (torch.from_numpy(a.copy()) for a in load_raw(ckpt["config"].get("dataset", "mnist"), "t10k", data_dir))
    return evaluate(model_from_checkpoint(ckpt), x, y, ckpt["norm"]["mean"], ckpt["norm"]["std"]), y


def evaluate_checkpoint(path: Path, data_dir: str | None = None) -> dict[str, Any]:
    """Test-split loss, accuracy, per-class accuracy and confusion matrix of a checkpoint."""
    ckpt = load_checkpoint(path)
    r, y = _on_test(ckpt, data_dir)
    cm = confusion_matrix(y, r.pred, len(ckpt["classes"]))
    per_class = per_class_accuracy(cm)
    return {
        "checkpoint": str(path),
        "model": ckpt["model"],
        "loss": r.loss,
        "acc": r.acc,
        "per_class_acc": per_class,
        "confusion": cm.tolist(),
        "classes": ckpt["classes"],
        "n": len(y),
    }


def test_correct(path: Path, data_dir: str | None = None) -> torch.Tensor:
    """Which test images a checkpoint gets right: a boolean ``(10000,)`` vector, for paired comparisons."""
    r, y = _on_test(load_checkpoint(path), data_dir)
    return r.pred == y


@dataclass(frozen=True)
class PromotedModel:
    """A promoted model version with what its sidecar JSON recorded about the run it came from."""

    name: str
    version: int
    run: str | None
    path: Path
    created_at: dt.datetime | None
    generation: int | None
    best_val_acc: float | None
    test_acc: float | None

    @property
    def ref(self) -> str:
        return f"{self.name}:v{self.version}"


def promoted_models(store: RunStore) -> list[PromotedModel]:
    """Every promoted model version, with the generation and accuracies of its run (from ``v<k>.json``)."""
    out = []
    for p in store.list_promoted():
        side = p.path.with_suffix(".json")
        try:
            meta = json.loads(side.read_text()) if side.is_file() else {}
        except (OSError, ValueError):
            meta = {}  # a damaged sidecar loses only the extra columns
        out.append(
            PromotedModel(
                p.name, p.version, p.run, p.path, p.created_at, meta.get("generation"), meta.get("best_val_acc"), meta.get("test_acc")
            )
        )
    return out


def save_ood_results(store: RunStore, ref: str, results: dict[str, Any]) -> bool:
    """Keep ``digitlab ood-eval`` results with the run they evaluate (``ood.json`` and the database); False if ``ref`` is no run."""
    try:
        rec = store.get_run(ref)
    except RunError:
        return False
    write_atomic(rec.folder.ood, json.dumps(results, indent=2))
    combined = {s: v["detectors"]["combined"] for s, v in results["sets"].items()}
    summary = {"accepted_acc": results["accepted_acc"], "wrongly_rejected": results["wrongly_rejected"], **combined}
    store.update_run(rec.id, extra={"ood": summary})
    return True
