"""A real, tiny structure search (three children of a small space, trained on a few hundred digits) for the tests of
the places that show searches."""

from __future__ import annotations

from pathlib import Path

TINY_SPACE = {
    "blocks": {"min": 1, "max": 3},
    "ops": ["c3", "s3", "id"],
    "widths": [4, 8],
    "max_pools": 2,
    "proxy": {"config": "fast", "epochs": 1, "train_subset": 400, "val_size": 300, "threads": 1, "calibrate": False},
}


def tiny_search(runs: Path, name: str = "tiny", children: int = 3, controller: str = "random") -> None:
    """Train ``children`` children of the tiny space as search ``name`` in ``runs`` and write its plots."""
    from digitlab import nas as N
    from digitlab.nas_plots import write_plots
    from digitlab.nas_records import children as finished
    from digitlab.nas_records import default_storage
    from digitlab.nas_space import parse_space
    from digitlab.store import RunStore
    from digitlab.tune import quiet_runs
    from digitlab.tune_storage import open_storage

    store = RunStore(runs_dir=runs)
    study = N.open_search(name, parse_space(TINY_SPACE), controller, 0, open_storage(default_storage(runs), None))
    with quiet_runs():
        N.run_search(study, store, runs, children)
    write_plots(finished(study), runs / "searches" / name)
