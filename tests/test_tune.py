"""Tuning (issue 6): search-space validation, Optuna studies recorded as runs, pruning, faults, export, reports.

Every trial is tiny: the ``fast`` model, one thread, 300 training and 500
validation images, one or two epochs; in-process studies also evaluate on only
500 test images (``tiny_data``), so a trial takes about a second.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import optuna
import pytest
import torch
import yaml

import digitlab.trainer as train_mod
from conftest import REPO, error_line
from digitlab import tune as T
from digitlab.config import load_config, make_config
from digitlab.data import load_digits
from digitlab.errors import ConfigError, RunError, StoreError
from digitlab.store import RunStore
from digitlab.tune_plots import write_plots
from digitlab.tune_report import fewest_trainings, reach, study_report, trial_rows

TINY_BASE = {"config": "fast", "threads": 1, "train_subset": 300, "val_size": 500, "epochs": 1}
TINY_PARAMS = {"lr": {"type": "logfloat", "low": 1e-3, "high": 3e-2}, "batch_size": {"type": "categorical", "choices": [32, 64]}}
State = optuna.trial.TrialState


@pytest.fixture(scope="module")
def tiny_data():
    d = load_digits("mnist", 500, 0, 300)
    return dataclasses.replace(d, test_x=d.test_x[:500], test_y=d.test_y[:500])


def space(params: dict | None = None, base: dict | None = None, **kw) -> T.Space:
    return T.parse_space({"base": {**TINY_BASE, **(base or {})}, "params": params or TINY_PARAMS}, "test space", REPO, **kw)


@dataclasses.dataclass
class Lab:
    """A private runs folder with its run database and Optuna storage (SQLite)."""

    root: Path
    data: object

    def __post_init__(self):
        self.runs = self.root / "runs"
        self.store = RunStore(runs_dir=self.runs)
        self.storage = T.open_storage(T.default_storage(self.runs), heartbeat=None)

    def study(self, name: str | None, sp: T.Space | None, trials: int = 3, **kw) -> optuna.Study:
        opts = {k: kw.pop(k) for k in ("sampler", "pruner", "seed", "overrides", "objectives") if k in kw}
        st, sp = T.open_study(name, sp, self.storage, self.store, **opts)
        return T.optimize(st, sp, self.store, self.runs, trials=trials, data=self.data, **kw)


@pytest.fixture
def tlab(tmp_path, tiny_data):
    return Lab(tmp_path, tiny_data)


# ---------------------------------------------------------------- search spaces
BAD_SPACES = [
    (
        {"weight_decy": {"type": "float", "low": 0.1, "high": 0.2}},
        "Unknown parameter 'weight_decy' in params.weight_decy. Did you mean weight_decay?",
    ),
    ({"lr": {"type": "logfloat", "low": 1e-3, "high": 20}}, "params.lr.high=20 is outside the allowed range of lr (> 0, <= 10)"),
    (
        {"momentum": {"type": "float", "low": 0.5, "high": 1.0}},
        "params.momentum.high=1.0 is outside the allowed range of momentum (>= 0, < 1)",
    ),
    ({"lr": {"type": "float", "low": 0.01, "high": 0.001}}, "params.lr has low=0.01 >= high=0.001; low must be below high"),
    ({"weight_decay": {"type": "logfloat", "low": 0, "high": 0.1}}, "params.weight_decay is logfloat, so low must be above 0"),
    ({"batch_size": {"type": "categorical", "choices": []}}, "params.batch_size is categorical and needs a non-empty list of choices"),
    ({"optimizer": {"type": "categorical", "choices": ["adamw", "lion"]}}, "params.optimizer.choices: optimizer='lion' is invalid"),
    ({"epochs": {"type": "float", "low": 1, "high": 3}}, "params.epochs has type float, but epochs is a int parameter"),
    ({"optimizer": {"type": "float", "low": 0, "high": 1}}, "params.optimizer has type float, but optimizer is a choice parameter"),
    ({"lr": {"type": "gaussian", "low": 0.1, "high": 0.2}}, "params.lr.type is 'gaussian'; use one of float, logfloat, int, categorical"),
    ({"lr": {"type": "float", "low": "a", "high": 0.2}}, "params.lr needs low and high numbers for type float"),
    (
        {"momentum": {"type": "float", "low": 0.8, "high": 0.9, "when": {"optimiser": "sgd"}}},
        "params.momentum.when names an unknown parameter 'optimiser'. Did you mean optimizer",
    ),
    (
        {"momentum": {"type": "float", "low": 0.8, "high": 0.9, "when": {"optimizer": "sgd"}}, "optimizer": {"choices": ["sgd", "adam"]}},
        "params.momentum.when names 'optimizer', which must come before momentum in params",
    ),
    ({"threads": {"type": "int", "low": 1, "high": 2}}, "Parameter 'threads' in params.threads is not tunable"),
    ({"model_kwargs.widht": {"type": "int", "low": 8, "high": 64}}, "model 'fast' has no argument 'widht'"),
    ({"lr": {"type": "float", "low": 0.1, "high": 0.2, "step": -1}}, "params.lr.step=-1 must be a positive number"),
    ({"lr": {"type": "float", "lo": 0.1, "high": 0.2}}, "params.lr has an unknown key 'lo'"),
    ({}, "needs a non-empty 'params' mapping"),
]


@pytest.mark.parametrize("params, message", BAD_SPACES, ids=[m[:40] for _, m in BAD_SPACES])
def test_bad_search_spaces_are_refused_with_one_sentence(params, message):
    with pytest.raises(ConfigError) as err:
        T.parse_space({"base": TINY_BASE, "params": params}, "test space", REPO)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_sections_objectives_and_base():
    with pytest.raises(ConfigError, match="unknown section 'parms'"):
        T.parse_space({"base": TINY_BASE, "parms": TINY_PARAMS})
    with pytest.raises(ConfigError, match="Unknown objective 'loss'"):
        space(objectives="val_acc,loss")
    with pytest.raises(ConfigError, match="must include val_acc"):
        space(objectives="train_seconds")
    with pytest.raises(ConfigError, match="base config file configs/nope.yaml does not exist"):
        T.parse_space({"base": "configs/nope.yaml", "params": TINY_PARAMS})
    with pytest.raises(ConfigError, match="needs val_size > 0"):
        space(base={"val_size": 0})


def test_spaces_and_their_base_by_preset_name():
    with pytest.raises(
        ConfigError, match=r"^Search space 'cnnn' is neither a file nor a shipped preset; the presets are cnn, fast \(closest: cnn\)\.$"
    ):
        T.load_space("cnnn")
    with pytest.raises(ConfigError, match=r"base config 'defualt' is neither a file nor a shipped preset; .* \(closest: default\)"):
        T.parse_space({"base": "defualt", "params": TINY_PARAMS}, "test space")
    assert T.parse_space({"base": "fast", "params": TINY_PARAMS}).base["model"] == "fast"


def test_shipped_spaces_load_and_sample_conditionally():
    cnn = T.load_space("cnn")
    names = [p.name for p in cnn.params]
    assert {
        "lr",
        "weight_decay",
        "batch_size",
        "optimizer",
        "momentum",
        "label_smoothing",
        "model_kwargs.dropout",
        "rotate",
        "epochs",
    } <= set(names)
    assert cnn.base == load_config("default").model_dump() and cnn.objectives == ["val_acc"]
    assert dict(next(p for p in cnn.params if p.name == "momentum").when) == {"optimizer": ("sgd",)}
    study = optuna.create_study(directions=cnn.directions, sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(12):  # momentum is sampled exactly when the optimizer is sgd; dotted names reach model_kwargs
        trial = study.ask()
        cfg = T.suggest(trial, cnn)
        assert ("momentum" in trial.params) == (cfg.optimizer == "sgd")
        assert cfg.model_kwargs["dropout"] == trial.params["model_kwargs.dropout"] and cfg.model_kwargs["width"] == 32
        assert 2 <= cfg.epochs <= 8 and 1e-4 <= cfg.lr <= 1e-2
        study.tell(trial, 0.5)
    fast = T.load_space("fast", ["epochs=2"])
    assert (fast.base["model"], fast.base["threads"], fast.base["epochs"]) == ("fast", 1, 2)
    assert fast.hash() == T.load_space("fast", ["epochs=2", "threads=2"]).hash()  # machine keys left out
    assert fast.hash() != T.load_space("fast").hash()


def test_sampler_and_pruner_choice():
    assert isinstance(T.make_sampler(None, 1, 0), optuna.samplers.TPESampler)
    assert isinstance(T.make_sampler(None, 2, 0), optuna.samplers.NSGAIISampler)
    assert isinstance(T.make_sampler("random", 1, 0), optuna.samplers.RandomSampler)
    assert isinstance(T.make_sampler("nsga2", 2, 0), optuna.samplers.NSGAIISampler)
    try:
        assert isinstance(T.make_sampler("cmaes", 1, 0), optuna.samplers.CmaEsSampler)
    except ConfigError as err:  # the optional cmaes package is missing: one clear sentence
        assert "pip install cmaes" in str(err)
    with pytest.raises(ConfigError, match="optimises one objective"):
        T.make_sampler("cmaes", 2, 0)
    with pytest.raises(ConfigError, match="Unknown sampler 'grid'; choose from tpe, random, cmaes, nsga2"):
        T.make_sampler("grid", 1, 0)
    assert isinstance(T.make_pruner("median"), optuna.pruners.MedianPruner)
    assert isinstance(T.make_pruner("hyperband"), optuna.pruners.HyperbandPruner)
    assert isinstance(T.make_pruner("none"), optuna.pruners.NopPruner)
    assert isinstance(T.make_pruner("median", objectives=2), optuna.pruners.NopPruner)  # Optuna prunes one objective only
    with pytest.raises(ConfigError, match="Unknown pruner 'asha'"):
        T.make_pruner("asha")
    assert T.parse_duration("30m") == 1800 and T.parse_duration("2h") == 7200 and T.parse_duration("45") == 45
    with pytest.raises(ConfigError, match="Duration 'soon'"):
        T.parse_duration("soon")


# ---------------------------------------------------------------- studies
def _linked_runs(lab: Lab, study: str) -> dict[int, dict]:
    runs = [r for r in lab.store.list_runs() if r.extra.get("study") == study]
    return {r.extra["trial"]: r for r in runs}


def test_a_study_records_every_trial_as_a_linked_run(tlab):
    st = tlab.study("s", space(base={"calibrate": True}), trials=3, sampler="random", seed=1)
    trials = st.get_trials()
    assert [t.state for t in trials] == [State.COMPLETE] * 3
    runs = _linked_runs(tlab, "s")
    assert sorted(runs) == [0, 1, 2]
    for t in trials:
        rec = runs[t.number]
        assert rec.name == t.user_attrs["run"] == f"s-t{t.number}"
        assert rec.status == "completed" and rec.extra == {"study": "s", "trial": t.number, "state": "complete"}
        assert rec.best_val_acc == pytest.approx(t.value) and t.user_attrs["train_seconds"] == pytest.approx(rec.train_seconds)
        cfg = rec.config.model_dump()
        assert cfg["lr"] == t.params["lr"] and cfg["batch_size"] == t.params["batch_size"]
        # trials skip the rejection calibration and test the best epoch once, at the end; the (exported) config keeps the base's
        assert cfg["calibrate"] is False and cfg["test_every_epoch"] is False
        assert {**cfg, "name": None, "calibrate": True, "test_every_epoch": True} == {**T.trial_config(t), "name": None}
        assert rec.test_acc is not None
        assert (tlab.runs / rec.name / "weights" / "best.pt").is_file()
    assert st.best_value == max(r.best_val_acc for r in runs.values())


def test_pruning_stops_trials_and_records_them_pruned(tlab):
    st = tlab.study("p", space(base={"epochs": 2}), trials=2, pruner=optuna.pruners.ThresholdPruner(lower=1.1))
    assert [t.state for t in st.get_trials()] == [State.PRUNED] * 2
    for rec in _linked_runs(tlab, "p").values():
        assert rec.status == "pruned" and rec.epochs_done == 1 and rec.extra["state"] == "pruned"
        assert rec.best_val_acc is not None
    assert all(t.intermediate_values and t.user_attrs["epochs_done"] == 1 for t in st.get_trials())


def test_a_diverging_trial_fails_and_the_study_goes_on(tlab, monkeypatch):
    real = train_mod.train_epoch

    def diverging(cfg, st, data, progress):
        if cfg.name == "f-t0":  # trial 0's weights blow up: the loss becomes NaN
            with torch.no_grad():
                for p in st.model.parameters():
                    p.fill_(float("nan"))
        return real(cfg, st, data, progress)

    monkeypatch.setattr(train_mod, "train_epoch", diverging)
    st = tlab.study("f", space(), trials=2)
    assert [t.state for t in st.get_trials()] == [State.FAIL, State.COMPLETE]
    assert "loss became nan" in st.trials[0].user_attrs["error"]
    rec = _linked_runs(tlab, "f")[0]
    assert rec.status == "failed" and rec.extra["state"] == "failed" and "loss became nan" in rec.message


def test_ctrl_c_stops_the_study_and_it_resumes(tlab, monkeypatch):
    real = train_mod.train_epoch

    def interrupted(cfg, st, data, progress):
        if cfg.name == "c-t1":
            raise KeyboardInterrupt
        return real(cfg, st, data, progress)

    monkeypatch.setattr(train_mod, "train_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tlab.study("c", space(), trials=3)
    st = T.load_study("c", tlab.storage)
    assert [t.state for t in st.get_trials()] == [State.COMPLETE, State.FAIL]  # no trial left half-written (RUNNING)
    rec = _linked_runs(tlab, "c")[1]
    assert rec.status == "interrupted" and rec.extra["state"] == "failed"
    monkeypatch.setattr(train_mod, "train_epoch", real)
    st = tlab.study("c", None, trials=1)  # continued by name: the stored space
    assert [t.state for t in st.get_trials()] == [State.COMPLETE, State.FAIL, State.COMPLETE]


def test_a_study_resumes_by_name_and_refuses_another_space(tlab, tmp_path, tiny_data):
    tlab.study("r", space(), trials=2)
    st = tlab.study("r", space(), trials=2)
    assert len(st.trials) == 4 and sorted(_linked_runs(tlab, "r")) == [0, 1, 2, 3]
    other = space({**TINY_PARAMS, "label_smoothing": {"type": "float", "low": 0.0, "high": 0.2}})
    with pytest.raises(ConfigError, match="Study 'r' was started with a different search space"):
        T.open_study("r", other, tlab.storage, tlab.store)
    with pytest.raises(ConfigError, match="different search space"):
        T.open_study("r", space(), tlab.storage, tlab.store, objectives="val_acc,train_seconds")
    elsewhere = T.open_storage(T.default_storage(tmp_path / "other"), heartbeat=None)  # same run database, another storage
    with pytest.raises(RunError, match="already has runs of a study named 'r'"):
        T.open_study("r", space(), elsewhere, tlab.store)
    with pytest.raises(RunError, match="No study named 'rr'.*did you mean r"):
        T.load_study("rr", tlab.storage)
    assert T.open_study(None, space(), tlab.storage, tlab.store, prefix="tiny")[0].study_name == "tiny-1"


def test_export_round_trip_and_final_run(tlab, tmp_path):
    st = tlab.study("e", space(), trials=2, sampler="random")
    path = T.export_config(st, tmp_path / "tuned.yaml")
    text = path.read_text()
    assert text.startswith("# Tuned config: study 'e', trial") and f"{100 * st.best_value:.2f}%" in text.splitlines()[0]
    assert "threads" not in yaml.safe_load(text)  # machine settings stay the training machine's own (the space set threads=1)
    assert load_config(path) == make_config({**T.trial_config(st.best_trial), "threads": 0})
    name, result = T.final_run(st, tlab.store, tlab.runs, data=tlab.data)
    rec = tlab.store.get_run(name)
    assert name == "e-final" and rec.extra == {"study": "e", "final": True, "trial": st.best_trial.number}
    assert rec.test_acc is not None and rec.config.model_dump()["lr"] == st.best_params["lr"]
    assert T.final_run(st, tlab.store, tlab.runs, data=tlab.data)[0] == "e-final-2"


def test_fewest_trainings_on_hand_made_trials():
    rows = [
        {"number": 0, "state": "complete", "val_acc": 0.90, "train_seconds": 10.0},
        {"number": 1, "state": "pruned", "val_acc": 0.50, "train_seconds": 2.0},
        {"number": 2, "state": "complete", "val_acc": 0.9795, "train_seconds": 20.0},
        {"number": 3, "state": "failed", "val_acc": None, "train_seconds": 1.0},
        {"number": 4, "state": "complete", "val_acc": 0.9800, "train_seconds": 30.0},
        {"number": 5, "state": "complete", "val_acc": 0.9801, "train_seconds": 40.0},
    ]
    f = fewest_trainings(rows)  # best 98.01%: 97.95% is within 0.1 pp (threshold 97.91%)
    assert (f["trials"], f["seconds"], f["trial"], f["best"]) == (3, 32.0, 2, 0.9801)
    assert f["of_trials"] == 6 and f["total_seconds"] == 103.0
    assert reach(rows, 0.98) == {"trials": 5, "seconds": 63.0, "trial": 4, "val_acc": 0.98}
    assert reach(rows, 0.99) is None and fewest_trainings(rows[1:2]) is None


def test_multi_objective_study_has_a_pareto_front(tlab):
    st = tlab.study("m", space(), trials=3, objectives="val_acc,train_seconds", seed=3)
    assert [d.name for d in st.directions] == ["MAXIMIZE", "MINIMIZE"] and isinstance(st.sampler, optuna.samplers.NSGAIISampler)
    done = st.get_trials(states=(State.COMPLETE,))
    assert len(done) == 3
    rep = study_report(st)
    front = {p["number"] for p in rep["pareto"]}
    assert front == {t.number for t in st.best_trials} and front
    for t in done:  # a trial is off the front exactly when another is at least as good in both and better in one
        dominated = any(o.values[0] >= t.values[0] and o.values[1] <= t.values[1] and o.values != t.values for o in done)
        assert dominated == (t.number not in front)
    chosen = T.chosen_trial(st)
    assert chosen.number in front and chosen.values[0] == max(t.values[0] for t in st.best_trials)
    assert {p.name for p in write_plots(st, tlab.runs / "studies" / "m")} >= {"history.png", "parallel.png", "pareto.png"}


def test_report_rows_and_importances(tlab):
    st = tlab.study("i", space(), trials=3, sampler="random")
    rep = study_report(st)
    assert [r["number"] for r in rep["trials"]] == [0, 1, 2] and rep["counts"]["complete"] == 3
    assert rep["best"]["number"] == st.best_trial.number and rep["fewest"]["best"] == st.best_value
    assert set(rep["importances"]) <= {"lr", "batch_size"} and rep["pareto"] == []
    assert trial_rows(st)[0]["run"] == "i-t0"


# ---------------------------------------------------------------- command line
def test_tune_studies_study_and_export_on_the_command_line(cli, lab):
    res = cli(
        "tune",
        "--space",
        "fast",
        "--study",
        "cli",
        "--trials",
        "2",
        "--no-final",
        "--no-plots",
        "--seed",
        "4",
    )
    assert res.code == 0, res.text
    assert "trial 0 complete: val acc" in res.out and "trial 1 complete" in res.out and "Fewest trainings: " in res.out
    res = cli("studies")
    assert res.code == 0 and "cli" in res.out and "val_acc" in res.out
    res = cli("study", "cli", "--plots")
    assert res.code == 0, res.text
    for text in ("Study cli: trials", "Best: trial", "Fewest trainings", "cli-t0", "cli-t1", "plots:"):
        assert text in res.out
    assert (lab / "runs" / "studies" / "cli" / "history.png").is_file()
    res = cli("tune", "--study", "cli", "--export", "tuned.yaml")
    assert res.code == 0 and (lab / "tuned.yaml").is_file() and "exported: tuned.yaml" in res.out
    res = cli("tune", "--study", "cli", "--space", "fast", "epochs=2", "--trials", "1")
    assert res.code == 2 and "was started with a different search space" in error_line(res)
    res = cli("study", "nope")
    assert res.code == 2 and "No study named 'nope'" in error_line(res)


def test_budget_is_wall_clock_and_train_budget_counts_training_seconds(cli, lab):
    tiny = ["train_subset=400", "val_size=200", "threads=1", "--no-final", "--no-plots", "--seed", "1"]
    t0 = time.perf_counter()
    res = cli("tune", "--space", "fast", "--study", "wall", "--budget", "1s", *tiny)
    assert res.code == 0, res.text
    wall = T.load_study("wall", T.open_storage(T.default_storage(lab / "runs")))
    # no trial starts once a second has passed: one or two trials, not the 20 of the default
    assert 1 <= len(wall.trials) <= 3 and time.perf_counter() - t0 < 60
    res = cli("tune", "--space", "fast", "--study", "spent", "--train-budget", "0.01s", *tiny)
    spent = T.load_study("spent", T.open_storage(T.default_storage(lab / "runs")))
    assert res.code == 0 and len(spent.trials) == 1  # the first trial's training seconds already pass 0.01 s
    assert cli("tune", "--space", "fast", "--timeout", "1m").code == 2  # one wall-clock option, named --budget


def test_an_unreachable_storage_is_one_sentence_quickly(cli):
    t0 = time.perf_counter()
    with pytest.raises(StoreError, match=r"Cannot open the study storage postgresql://nouser@127.0.0.1:1/x: .*check --storage"):
        T.open_storage("postgresql://nouser@127.0.0.1:1/x")
    res = cli("studies", "--storage", "postgresql://nouser:secret@127.0.0.1:1/x")
    line = error_line(res)
    assert res.code == 2 and line.startswith("error: Cannot open the study storage postgresql://nouser:***@127.0.0.1:1/x")
    assert "secret" not in res.text and time.perf_counter() - t0 < 20
