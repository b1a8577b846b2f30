"""Synthetic recorded runs for the run doctor's tests: a run row and its per-epoch figures, written straight into a
run database (no training), with the curves of a healthy run or of one broken in a known way."""

from __future__ import annotations

from pathlib import Path

from digitlab.config import make_config
from digitlab.store import RunStore

# (train_loss, train_acc, val_loss, val_acc) per epoch; the training loss is label-smoothed, as the trainer's is.
HEALTHY = [(1.05, 0.80, 0.16, 0.955), (0.70, 0.95, 0.10, 0.975), (0.64, 0.97, 0.07, 0.985), (0.62, 0.975, 0.06, 0.987)]
DIVERGED = [(1.63, 0.56, 2.37, 0.26), (2.34, 0.11, 2.306, 0.11), (2.307, 0.10, 2.303, 0.10)]


def record_run(runs_dir: Path, name: str, curves: list[tuple[float, float, float, float]], status: str = "completed", **cfg: object) -> str:
    """A recorded run named ``name`` of a cnn config (``cfg`` overrides) with these per-epoch figures."""
    store = RunStore(runs_dir=runs_dir)
    folder = runs_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    config = make_config({"model": "cnn", "name": name, "epochs": len(curves), **cfg})
    run_id = store.create_run(name, config, str(folder), {})
    for i, (tl, ta, vl, va) in enumerate(curves, 1):
        store.add_epoch(run_id, {"epoch": i, "train_loss": tl, "train_acc": ta, "val_loss": vl, "val_acc": va, "lr": 0.004})
    store.update_run(run_id, status=status, best_epoch=len(curves), best_val_acc=max(c[3] for c in curves))
    return name
