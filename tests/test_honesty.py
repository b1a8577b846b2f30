"""Honesty rules: every choice is made on the training or validation split, never on the test split.

Each rule is tested on a case built so that the honest and the dishonest choice differ: the test split (or the
test accuracy) is made to rank things differently from validation, or is poisoned so that reading it fails.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import optuna
import pytest
import torch

from digitlab import tune, zoo
from digitlab.checkpoint import load_checkpoint, model_from_checkpoint
from digitlab.config import load_config, make_config
from digitlab.data import DigitData, dataset
from digitlab.recognize.calibrate import fit_rejection
from digitlab.records import RunFolder
from digitlab.store import RunStore
from digitlab.trainer import StopTraining, train
from synthetic import load_mnist_test

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "src" / "digitlab" / "assets" / "default.pt"
CLASSES = [str(i) for i in range(10)]


def tiny(**extra) -> object:
    """A run of about a second: the fast net, one thread, no augmentation."""
    return make_config({"model": "fast", "epochs": 3, "batch_size": 64, "threads": 1, "augment": False, "ema": 0.0, **extra})


def mnist_split(n_train: int = 1000, n_val: int = 500, n_test: int = 500) -> DigitData:
    """Real MNIST digits (from the official test file) in three disjoint splits, normalised from the training split."""
    x, y = load_mnist_test(n_train + n_val + n_test)
    x, y = torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))
    a, b = n_train, n_train + n_val
    pixels = x[:a].double() / 255
    return DigitData(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:], pixels.mean().item(), pixels.std().item(), CLASSES)


@torch.no_grad()
def predictions(model: torch.nn.Module, x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    model.eval()
    return model(((x.float() / 255 - mean) / std).unsqueeze(1)).argmax(1)


# ---------------------------------------------------------------- best epoch and early stopping


def stop_after_epoch_1(m: dict) -> None:
    if m["epoch"] == 1:
        raise StopTraining("stopped")


@pytest.fixture(scope="module")
def val_peaks_first() -> DigitData:
    """Validation labels = what the model predicts after epoch 1, test labels true.

    Training never reads validation labels, so a second run trains identically: its validation accuracy is exactly
    1.0 after epoch 1 and lower after (the model changes its mind), while test accuracy keeps rising. The honest best
    epoch is 1; the test-best (and the last) epoch is 3.
    """
    torch.set_num_threads(1)
    data = mnist_split()
    first = train(tiny(), data, on_epoch=[stop_after_epoch_1]).model  # the same run (same lr schedule), cut short
    data.val_y = predictions(first, data.val_x, data.mean, data.std)
    return data


def test_best_epoch_and_best_pt_are_chosen_on_validation_not_test(val_peaks_first, tmp_path):
    result = train(tiny(), val_peaks_first, folder=RunFolder(tmp_path))
    val = [h["val_acc"] for h in result.history]
    test = [h["test_acc"] for h in result.history]
    assert len(val) == 3 and val[0] == 1.0 and max(val[1:]) < 1.0  # the case is built as intended ...
    assert int(np.argmax(test)) + 1 != 1  # ... test accuracy peaks later
    assert result.best["epoch"] == 1 == int(np.argmax(val)) + 1
    assert result.best["test_acc"] == test[0]  # the reported test figure is the one at the chosen epoch
    best = load_checkpoint(RunFolder(tmp_path).best)
    assert best["metrics"]["epoch"] == 1
    model = model_from_checkpoint(best)  # best.pt holds epoch 1's weights: they reproduce the validation labels
    assert torch.equal(predictions(model, val_peaks_first.val_x, val_peaks_first.mean, val_peaks_first.std), val_peaks_first.val_y)
    assert load_checkpoint(RunFolder(tmp_path).last)["metrics"]["epoch"] == 3


def test_early_stopping_watches_validation_not_test(val_peaks_first):
    result = train(tiny(early_stop=1), val_peaks_first)
    assert result.status == "early-stopped" and len(result.history) == 2  # validation fell after epoch 1; test rose
    assert result.history[1]["test_acc"] > result.history[0]["test_acc"]
    assert result.best["epoch"] == 1


# ---------------------------------------------------------------- normalisation statistics


def test_normalisation_statistics_come_from_the_training_split_only(monkeypatch, tmp_path):
    """Validation images are made bright and test images inverted: only the dim training images may count."""
    monkeypatch.setenv("DIGITLAB_CACHE", str(tmp_path / "cache"))
    x, y = load_mnist_test(1500)
    x, y = x.copy(), y.astype(np.int64)
    _, val = dataset.stratified_split(y[:1200], 200, 0)  # the rows load_digits will hold out for validation
    train_file = x[:1200] // 2  # dim training digits
    train_file[val] = np.minimum(train_file[val].astype(np.int32) + 150, 255).astype(np.uint8)  # bright validation rows
    test_file = 255 - x[1200:]  # inverted: mostly white
    files = {"train": (train_file, y[:1200]), "t10k": (test_file, y[1200:])}
    monkeypatch.setattr(dataset, "load_raw", lambda name, split, data_dir=None: files[split])

    data = dataset.load_digits("mnist", val_size=200)
    expected = data.train_x.double() / 255
    assert len(data.val_y) == 200 and data.val_x.float().mean() > 150  # the bright rows are the validation split
    assert data.mean == pytest.approx(expected.mean().item(), rel=1e-9)
    assert data.std == pytest.approx(expected.std(unbiased=False).item(), rel=1e-9)
    everything = np.concatenate([train_file, test_file]) / 255
    assert abs(data.mean - train_file.mean() / 255) > 0.01 and abs(data.mean - everything.mean()) > 0.1  # the case tells them apart

    train(tiny(epochs=1), data, folder=RunFolder(tmp_path))
    assert load_checkpoint(RunFolder(tmp_path).best)["norm"] == {"mean": data.mean, "std": data.std}


# ---------------------------------------------------------------- tuning


# lr -> per-epoch (val_acc, test_acc): validation ranks 0.01 first, test ranks 0.1 first.
CURVES = {0.1: [(0.85, 0.97), (0.90, 0.99)], 0.01: [(0.93, 0.90), (0.95, 0.91)], 0.001: [(0.91, 0.94), (0.93, 0.95)]}
VAL_WINNER, TEST_WINNER = 0.01, 0.1


class FakeRuns:
    """``run_training`` stand-in: epoch records from CURVES (through the hooks, as the real loop does)."""

    def __init__(self):
        self.trained: list[object] = []

    def __call__(self, cfg, *, hooks=(), **_):
        self.trained.append(cfg)
        history = [{"epoch": e, "val_acc": v, "test_acc": t} for e, (v, t) in enumerate(CURVES[cfg.lr], 1)]
        for m in history:
            for hook in hooks:
                hook(m)
        best = max(history, key=lambda m: m["val_acc"])
        return cfg.name, SimpleNamespace(
            status="completed", history=history, best=dict(best), model=torch.nn.Linear(2, 2), train_seconds=1.0
        )


def test_tuning_reports_chooses_and_retrains_on_validation(monkeypatch, tmp_path):
    fake = FakeRuns()
    monkeypatch.setattr(tune, "run_training", fake)
    base = {"model": "fast", "epochs": 2, "val_size": 500, "threads": 1}
    space = tune.parse_space({"base": base, "params": {"lr": {"type": "categorical", "choices": list(CURVES)}}})
    study = optuna.create_study(study_name="honest", direction="maximize", sampler=optuna.samplers.GridSampler({"lr": list(CURVES)}))
    store = RunStore(runs_dir=tmp_path / "runs")
    tune.optimize(study, space, store, tmp_path / "runs", trials=3, data=mnist_split(10, 10, 10))

    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert sorted(t.params["lr"] for t in trials) == sorted(CURVES)
    for t in trials:  # the value Optuna optimises, and what its pruner sees per epoch, are validation accuracies
        assert t.value == max(v for v, _ in CURVES[t.params["lr"]])
        assert t.intermediate_values == {e: v for e, (v, _) in enumerate(CURVES[t.params["lr"]], 1)}
    assert VAL_WINNER != TEST_WINNER
    assert tune.chosen_trial(study).params["lr"] == VAL_WINNER

    tune.final_run(study, store, tmp_path / "runs", data=mnist_split(10, 10, 10))
    assert fake.trained[-1].lr == VAL_WINNER and fake.trained[-1].name == "honest-final"
    exported = tune.export_config(study, tmp_path / "tuned.yaml")
    assert "lr: 0.01\n" in exported.read_text()


# ---------------------------------------------------------------- the zoo's best model


def zoo_row(model: str, val: float | None, test: float | None, status: str = "completed") -> dict:
    return {"model": model, "val_acc": val, "test_acc": test, "status": status}


def test_the_zoo_best_model_is_chosen_on_validation():
    rows = [zoo_row("alexnet", 0.9954, 0.9953), zoo_row("vgg16", 0.9946, 0.9971), zoo_row("rnn", None, None, "failed")]
    assert zoo.best_on_validation(rows)["model"] == "alexnet"  # vgg16 has the best test accuracy
    assert zoo.best_on_validation(list(reversed(rows)))["model"] == "alexnet"
    assert zoo.best_on_validation([zoo_row("rnn", None, None, "failed")]) is None


def committed_zoo_table() -> dict[str, tuple[float, float]]:
    """model -> (best val, test) from the committed docs/model-zoo.md."""
    rows = {}
    for line in (REPO / "docs" / "model-zoo.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == len(zoo.COLUMNS) and cells[8].endswith("%") and cells[0] != "model":
            rows[cells[0]] = (float(cells[8].rstrip("%")), float(cells[9].rstrip("%")))
    return rows


def test_the_shipped_best_preset_is_the_validation_winner_of_the_committed_zoo_table():
    table = committed_zoo_table()
    assert len(table) >= 2
    by_val, by_test = max(table, key=lambda m: table[m][0]), max(table, key=lambda m: table[m][1])
    assert by_val != by_test  # the committed table tells the two rules apart
    preset = next(p for p in (REPO / "src/digitlab/presets/best.yaml", REPO / "configs/best.yaml") if p.is_file())  # presets move
    assert load_config(preset).model == by_val


# ---------------------------------------------------------------- calibration


class NoTestSplit:
    """A DigitData whose test split cannot be read: any access fails the test."""

    def __init__(self, data: DigitData):
        self._data = data

    def __getattr__(self, name: str):
        if name.startswith("test"):
            raise AssertionError(f"calibration read data.{name}")
        return getattr(self._data, name)


def test_calibration_never_reads_the_test_split(tmp_path):
    data = mnist_split(1000, 400, 100)
    clean, blind = tmp_path / "clean.pt", tmp_path / "blind.pt"
    shutil.copy(SHIPPED, clean)
    shutil.copy(SHIPPED, blind)
    a = fit_rejection(clean, data, 0.99)
    b = fit_rejection(blind, NoTestSplit(data), 0.99)
    assert a == b and np.isfinite(b["threshold"])
    ra, rb = load_checkpoint(clean)["rejection"], load_checkpoint(blind)["rejection"]
    assert ra["threshold"] == rb["threshold"] == b["threshold"]
