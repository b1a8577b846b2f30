"""Using trained models: resolve a reference to a checkpoint, promote runs to named models, evaluate a checkpoint.

A reference is a checkpoint path, a run name (its ``best.pt``), or a promoted
model name (``gen1`` = its newest version, ``gen1:v2`` = a given one).
Promoted models live in ``models/<name>/v<k>.pt`` and are never overwritten.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import torch

from .checkpoint import SUFFIXES, load_checkpoint, model_from_checkpoint
from .data.dataset import load_raw
from .errors import CheckpointError, RunError
from .plots import confusion_matrix
from .store import RunStore
from .train import evaluate

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def promoted_versions(models_dir: Path, name: str) -> list[int]:
    """Existing version numbers of promoted model ``name``."""
    return sorted(int(p.stem[1:]) for p in (models_dir / name).glob("v*.pt") if p.stem[1:].isdigit())


def resolve(ref: str, store: RunStore | None = None, models_dir: Path = Path("models")) -> Path:
    """The checkpoint file that ``ref`` names (path, promoted name[:vK], or run name)."""
    path = Path(ref)
    if path.suffix in SUFFIXES:
        if not path.is_file():
            raise CheckpointError(f"Checkpoint {path} does not exist.")
        return path
    name, _, ver = ref.partition(":")
    if NAME.match(name) and (models_dir / name).is_dir():
        versions = promoted_versions(models_dir, name)
        want = int(ver.lstrip("v")) if ver else (versions[-1] if versions else 0)
        if want in versions:
            return models_dir / name / f"v{want}.pt"
        raise RunError(f"Promoted model {name!r} has no version {want}; it has {', '.join(f'v{v}' for v in versions) or 'none'}.")
    if path.is_dir() and (path / "weights" / "best.pt").is_file():
        return path / "weights" / "best.pt"
    if store is None:
        raise RunError(f"{ref!r} is neither a checkpoint file nor a promoted model.")
    rec = store.get_run(ref)
    best = Path(rec["run_dir"]) / "weights" / "best.pt"
    if not best.is_file():
        raise RunError(f"Run {ref!r} has no weights/best.pt yet (status {rec['status']}).")
    return best


def promote(store: RunStore, run: str, as_name: str, new_version: bool = False, models_dir: Path = Path("models")) -> Path:
    """Copy run ``run``'s best weights to ``models/<as_name>/v<k>.pt``; an existing name needs ``new_version``."""
    if not NAME.match(as_name):
        raise RunError(f"Model name {as_name!r} is not allowed: use letters, digits, '.', '_' and '-' (at most 64).")
    rec = store.get_run(run)
    src = Path(rec["run_dir"]) / "weights" / "best.pt"  # the run's own file, whatever its name looks like (e.g. 'cnn-lr0.01')
    if not src.is_file():
        raise RunError(f"Run {rec['name']!r} has no weights/best.pt yet (status {rec['status']}).")
    load_checkpoint(src)  # refuse to promote a damaged file
    versions = promoted_versions(models_dir, as_name)
    if versions and not new_version:
        raise RunError(f"Model {as_name!r} already exists (v{versions[-1]}); use --new-version to add a version beside it.")
    version = (versions[-1] if versions else 0) + 1
    dest = models_dir / as_name / f"v{version}.pt"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(src, tmp)
    tmp.rename(dest)  # the version number was free; rename never replaces a promoted file here
    meta = {
        "name": as_name,
        "version": version,
        "run": rec["name"],
        "generation": rec["generation"],
        "best_val_acc": rec["best_val_acc"],
        "test_acc": rec["test_acc"],
        "source": str(src),
    }
    (dest.with_suffix(".json")).write_text(json.dumps(meta, indent=2))
    store.add_promoted(as_name, version, rec["id"], str(dest.resolve()))
    return dest


def evaluate_checkpoint(path: Path, data_dir: str | None = None) -> dict[str, Any]:
    """Test-split loss, accuracy, per-class accuracy and confusion matrix of a checkpoint."""
    ckpt = load_checkpoint(path)
    cfg = ckpt["config"]
    x, y = (torch.from_numpy(a.copy()) for a in load_raw(cfg.get("dataset", "mnist"), "t10k", data_dir))
    mean, std = ckpt["norm"]["mean"], ckpt["norm"]["std"]  # the statistics the model was trained with
    r = evaluate(model_from_checkpoint(ckpt), x, y, mean, std)
    cm = confusion_matrix(y, r["pred"], len(ckpt["classes"]))
    per_class = (torch.from_numpy(cm.diagonal()) / torch.from_numpy(cm.sum(1)).clamp_min(1)).tolist()
    return {
        "checkpoint": str(path),
        "model": ckpt["model"],
        "loss": r["loss"],
        "acc": r["acc"],
        "per_class_acc": per_class,
        "confusion": cm.tolist(),
        "classes": ckpt["classes"],
        "n": len(y),
    }
