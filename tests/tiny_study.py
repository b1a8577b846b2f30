"""A real, tiny tuning study (three trials of the `fast` test space) for the tests of the places that show studies."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def tiny_study(runs: Path, name: str = "tiny", trials: int = 3) -> None:
    """Run ``trials`` random trials of the shipped search space fast as study ``name`` in ``runs`` and write its plots."""
    from digitlab import tune as T
    from digitlab.store import RunStore
    from digitlab.tune_plots import write_plots

    store = RunStore(runs_dir=runs)
    storage = T.open_storage(T.default_storage(runs), heartbeat=None)
    study, space = T.open_study(name, T.load_space("fast", []), storage, store, sampler="random", pruner="none", seed=0)
    with T.quiet_runs():
        T.optimize(study, space, store, runs, trials=trials)
    write_plots(study, runs / "studies" / name)
