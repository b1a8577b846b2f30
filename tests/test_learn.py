"""Issue 17: the normalisation switch, one-factor experiments (ablate) and the learning-rate range test (lr-find).

Runs are tiny: the ``fast`` model, one thread, a few hundred images, one epoch.
"""

from __future__ import annotations

import dataclasses
import math

import optuna
import pytest
import torch
from scipy import stats

from conftest import error_line
from digitlab import ablate as A
from digitlab import ablate_report as R
from digitlab.checkpoint import load_checkpoint
from digitlab.config import load_config
from digitlab.data import load_digits
from digitlab.errors import ConfigError, DigitlabError, RunError
from digitlab.lr_find import lr_find, lr_schedule, read_curve
from digitlab.store import RunStore
from digitlab.tune_storage import default_storage, open_storage

TINY = ["model=fast", "threads=1", "train_subset=300", "val_size=500", "epochs=1"]


@pytest.fixture(scope="module")
def tiny_data():
    d = load_digits("mnist", 500, 0, 300)
    return dataclasses.replace(d, test_x=d.test_x[:500], test_y=d.test_y[:500])


# ---------------------------------------------------------------- normalize
def test_normalize_off_trains_on_raw_pixels_and_saves_the_identity(tmp_path, tiny_data):
    from digitlab.runner import run_training

    cfg = load_config(None, [*TINY, "normalize=false", "calibrate=false"])
    name, _ = run_training(cfg, runs_dir=tmp_path / "runs", data=tiny_data)
    ckpt = load_checkpoint(tmp_path / "runs" / name / "weights" / "best.pt")
    assert ckpt["norm"] == {"mean": 0.0, "std": 1.0}
    assert "no normalisation" in (tmp_path / "runs" / name / "train.log").read_text()
    on, _ = run_training(load_config(None, [*TINY, "calibrate=false"]), runs_dir=tmp_path / "runs", data=tiny_data)
    norm = load_checkpoint(tmp_path / "runs" / on / "weights" / "best.pt")["norm"]
    assert norm == {"mean": tiny_data.mean, "std": tiny_data.std} and 0.1 < norm["mean"] < 0.2


# ---------------------------------------------------------------- the grid
def test_grid_product_fixed_overrides_and_scaled_lr():
    g = A.parse_grid(["normalize=true,false", "batch_size=64,256", "lr=scaled", "epochs=2", "lr=0.002"], seeds=2, first_seed=5)
    assert g.cells == [
        {"normalize": True, "batch_size": 64},
        {"normalize": True, "batch_size": 256},
        {"normalize": False, "batch_size": 64},
        {"normalize": False, "batch_size": 256},
    ]
    assert g.seeds == [5, 6] and g.base["epochs"] == 2
    assert g.config(0, 5).lr == pytest.approx(0.002 * 64 / 128) and g.config(3, 6).lr == pytest.approx(0.002 * 256 / 128)
    assert g.config(3, 6).seed == 6 and g.config(3, 6).normalize is False
    assert A.parse_grid(["batch_size=64,256"]).config(1, 0).lr == 0.004  # without lr=scaled the lr stays
    assert len(g.pairs()) == 8 and g.pairs()[:4] == [(0, 5), (1, 5), (2, 5), (3, 5)]  # seed by seed: a stopped run is balanced


def test_values_with_commas_inside_brackets_stay_one_value():
    assert A.split_values("64,128,[1,2],{a: 1, b: 2}") == ["64", "128", "[1,2]", "{a: 1, b: 2}"]
    g = A.parse_grid(["model_kwargs={c1: 8},{c1: 16}", "model=fast"])
    assert [c["model_kwargs"] for c in g.cells] == [{"c1": 8}, {"c1": 16}]


@pytest.mark.parametrize(
    "items, words",
    [
        (["normalise=true,false"], ["Unknown parameter 'normalise'", "Did you mean normalize"]),
        (["batch_size=0,64"], ["batch_size=0 is invalid"]),
        (["model=cnn,cnnn"], ["Unknown model 'cnnn'", "Did you mean cnn"]),
        (["epochs=2"], ["at least one factor"]),
        (["seed=1,2"], ["seed cannot be a factor", "--seeds"]),
        (["threads=1,2"], ["threads cannot be a factor"]),
        (["augment=true,true"], ["lists a value twice"]),
        (["lr=scaled", "normalize=true,false"], ["needs a batch_size factor"]),
        (["lr=scaled", "batch_size=64,128", "lr=0.1,0.01"], ["no lr factor"]),
        (["augment=true,false", "augment=false,true"], ["given twice"]),
        (["normalize"], ["not of the form key=value"]),
    ],
)
def test_bad_grids_are_one_sentence(items, words):
    with pytest.raises(DigitlabError) as err:
        A.parse_grid(items)
    for w in words:
        assert w in str(err.value)


def test_a_grid_needs_a_seed():
    with pytest.raises(ConfigError, match="at least one seed"):
        A.parse_grid(["augment=true,false"], seeds=0)


# ---------------------------------------------------------------- experiments: recorded, resumable
@pytest.fixture()
def store_lab(tmp_path):
    runs = tmp_path / "runs"
    return runs, RunStore(runs_dir=runs), open_storage(default_storage(runs), heartbeat=None)


def test_experiment_runs_every_cell_as_linked_runs_and_resumes(store_lab, tiny_data):
    runs, store, storage = store_lab
    grid = A.parse_grid(["augment=true,false", *TINY], seeds=2)
    study, grid = A.open_experiment("abl", grid, storage, store)
    objective = A.CellRun(grid, store, runs, cache={("mnist", 500, 0, 300): tiny_data})
    assert A.run_experiment(study, grid, objective, limit=1) == 1  # "stopped" after one run
    assert len(A.pending(study, grid)) == 3
    study, grid2 = A.open_experiment("abl", None, open_storage(default_storage(runs), heartbeat=None), store)  # continued by name
    assert grid2.hash() == grid.hash()
    assert A.run_experiment(study, grid2, A.CellRun(grid2, store, runs, cache=objective.cache)) == 3
    done = R.outcomes(study)
    assert {(o.cell, o.seed) for o in done} == {(0, 0), (1, 0), (0, 1), (1, 1)}
    for o in done:
        rec = store.get_run(o.run)
        assert rec.extra["experiment"] == "abl" and rec.extra["cell"] == o.cell and rec.extra["seed"] == o.seed
        assert rec.config.augment is (o.cell == 0) and rec.config.seed == o.seed and rec.config.calibrate is False
        assert rec.best_val_acc == pytest.approx(o.val_acc) and o.test_acc == pytest.approx(rec.test_acc)
    assert A.run_experiment(study, grid2, objective) == 0  # nothing left


def test_a_failed_cell_runs_again_when_the_experiment_continues(store_lab, tiny_data):
    runs, store, storage = store_lab
    grid = A.parse_grid(["augment=true,false", *TINY], seeds=1)
    study, _ = A.open_experiment(None, grid, storage, store)
    assert study.study_name == "ablate-1"
    real = A.CellRun(grid, store, runs, cache={("mnist", 500, 0, 300): tiny_data})

    def broken(trial: optuna.Trial) -> float:
        trial.suggest_categorical("cell", [0, 1])
        trial.suggest_categorical("seed", [0])
        raise RunError("the worker's disk is full")

    assert A.run_experiment(study, grid, broken) == 2  # type: ignore[arg-type]  # each failed once, not retried in this call
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2
    assert A.pending(study, grid) == [(0, 0), (1, 0)]
    A.run_experiment(study, grid, real)
    assert {(o.cell, o.seed) for o in R.outcomes(study)} == {(0, 0), (1, 0)}


def test_an_experiment_name_keeps_its_grid(store_lab):
    runs, store, storage = store_lab
    A.open_experiment("same", A.parse_grid(["augment=true,false", *TINY]), storage, store)
    with pytest.raises(ConfigError, match="another grid"):
        A.open_experiment("same", A.parse_grid(["normalize=true,false", *TINY]), storage, store)
    with pytest.raises(RunError, match="did you mean same"):
        A.open_experiment("sam", None, storage, store)
    optuna.create_study(study_name="a-study", storage=storage)
    with pytest.raises(ConfigError, match="tuning study"):
        A.open_experiment("a-study", A.parse_grid(["augment=true,false"]), storage, store)


# ---------------------------------------------------------------- the numbers and the verdict
def test_student_t_table_matches_scipy():
    for df in range(1, 31):
        assert R.t975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=1e-3)


def _outcomes(grid: A.Grid, accs: dict[tuple[int, int], float]) -> list[R.Outcome]:
    return [R.Outcome(c, s, f"r{c}{s}", a, a - 0.001, 1.0) for (c, s), a in accs.items()]


def test_paired_effect_interval_and_verdict():
    grid = A.parse_grid(["normalize=true,false"], seeds=3)  # cell 0: true, cell 1: false
    accs = {(0, 0): 0.990, (1, 0): 0.987, (0, 1): 0.992, (1, 1): 0.990, (0, 2): 0.991, (1, 2): 0.989}
    (e,) = R.effects(grid, _outcomes(grid, accs))
    diffs = [0.3, 0.2, 0.2]  # pp, true - false per seed
    half = stats.t.ppf(0.975, 2) * stats.tstd(diffs) / math.sqrt(3)
    assert (e.key, e.value, e.reference, e.pairs) == ("normalize", True, False, 3)
    assert e.diff_pp == pytest.approx(sum(diffs) / 3) and e.half_pp == pytest.approx(half, rel=1e-3)
    assert e.clear and "clear, better" in R.verdict(e) and "+0.23 ± 0.14 pp" in R.verdict(e)
    noisy = {**accs, (1, 1): 0.995}  # one seed the other way: the interval includes zero
    (e2,) = R.effects(grid, _outcomes(grid, noisy))
    assert not e2.clear and "no clear difference" in R.verdict(e2)


def test_several_values_compare_with_the_first_and_pair_over_the_other_factor():
    grid = A.parse_grid(["batch_size=64,128,800", "augment=true,false"], seeds=1)
    accs = {(i, 0): 0.99 - (0.02 if grid.cells[i]["batch_size"] == 800 else 0) for i in range(len(grid.cells))}
    found = {(e.key, e.value): e for e in R.effects(grid, _outcomes(grid, accs))}
    assert found[("batch_size", 800)].reference == 64 and found[("batch_size", 800)].pairs == 2
    assert found[("batch_size", 800)].diff_pp == pytest.approx(-2.0) and found[("batch_size", 128)].diff_pp == pytest.approx(0.0)
    assert found[("augment", True)].reference is False
    table = R.per_value(grid, _outcomes(grid, accs))
    assert [v for v, _, _ in table["batch_size"]] == [64, 128, 800] and table["batch_size"][2][1].mean == pytest.approx(0.97)
    assert "single pair" in R.verdict(
        R.effects(A.parse_grid(["augment=true,false"], seeds=1), _outcomes(grid, {(0, 0): 0.9, (1, 0): 0.8}))[0]
    )


def test_cli_ablate_reports_verdicts_plot_and_lists_experiments(cli, tmp_path):
    res = cli("ablate", "augment=true,false", *TINY, "train_subset=200", "--seeds", "2", "--experiment", "aug")
    assert res.code == 0, res.text
    assert "2 cell(s) x 2 seed(s) = 4 runs" in res.out and "[4/4]" in res.out
    assert "verdict: augment=true vs false:" in res.out and "(test:" in res.out
    assert (tmp_path / "runs" / "experiments" / "aug" / "ablation.png").stat().st_size > 10_000
    assert "aug" in cli("experiments").out and "augment=true,false" in cli("experiments").out
    assert "aug" not in cli("studies").out
    again = cli("ablate", "--experiment", "aug")
    assert again.code == 0 and "4 of 4 runs done" in again.out and "[1/4]" not in again.out
    assert "Did you mean normalize" in error_line(cli("ablate", "normalise=true,false"))


# ---------------------------------------------------------------- lr-find
def test_read_curve_suggests_by_the_schedule():
    lrs = [float(x) for x in lr_schedule(1e-5, 1.0, 60)]
    loss = [2.3 - 1.8 / (1 + math.exp(-3 * (math.log10(x) + 3))) + (5 if x > 0.1 else 0) * (math.log10(x) + 1) for x in lrs]
    warm = read_curve(lrs, loss, warms_up=True)
    at_min = lrs[min(range(len(loss)), key=lambda i: warm.smoothed[i])]
    assert 0.03 < warm.lr_at_min < 0.3 and warm.lr_at_min == at_min and warm.suggestion == at_min
    assert 3e-4 < warm.steepest < 3e-3  # the sigmoid's middle, at 1e-3
    flat = read_curve(lrs, loss, warms_up=False)
    assert flat.suggestion == pytest.approx(at_min / 10) and "tenth" in flat.rule and "warms up" in warm.rule
    with pytest.raises(ConfigError, match="lower lr_min"):
        read_curve(lrs[:3], loss[:3], warms_up=True)
    with pytest.raises(ConfigError, match="lr_min < lr_max"):
        lr_schedule(1.0, 0.1, 50)


def test_lr_find_on_a_tiny_model_learns_then_stops_when_it_diverges(tiny_data):
    cfg = load_config(None, [*TINY, "batch_size=32"])
    torch.manual_seed(0)
    res = lr_find(cfg, tiny_data, steps=60, lr_min=1e-5, lr_max=10.0)
    assert res.lrs[0] == pytest.approx(1e-5) and all(b > a for a, b in zip(res.lrs, res.lrs[1:]))
    assert len(res.lrs) == len(res.losses) == len(res.smoothed)
    assert min(res.smoothed) < res.smoothed[0] - 0.3  # it learned somewhere on the way
    assert len(res.lrs) < 60 or res.smoothed[-1] > min(res.smoothed)  # lr 10 is far too high for Adam: it stopped or rose
    assert 1e-4 < res.suggestion < 1.0


def test_cli_lr_find_prints_the_suggestion_and_never_overwrites_its_curve(cli, tmp_path):
    res = cli("lr-find", *TINY, "--steps", "30", "--lr-min", "1e-4")
    assert res.code == 0, res.text
    assert "suggested lr" in res.out and "Smith & Topin" in res.out  # the default schedule is onecycle
    cli("lr-find", *TINY, "--steps", "30", "--lr-min", "1e-4")
    assert sorted(p.name for p in (tmp_path / "runs" / "lr-find").iterdir()) == ["fast-b128-2.png", "fast-b128.png"]
    assert "at least 10 steps" in error_line(cli("lr-find", *TINY, "--steps", "3"))
