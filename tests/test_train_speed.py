"""Faster training without losing the record (issue 16): the test split evaluated once when a run ends, for runs
that never choose on it (tuning trials, structure-search children); bfloat16 training steps; torch.compile, with an
eager fallback where no C++ compiler exists."""

from __future__ import annotations

import logging
import math

import pytest
import torch

from digitlab import accel
from digitlab.accel import bf16_native, cpp_compiler, step_dtype
from digitlab.checkpoint import load_checkpoint, model_from_checkpoint
from digitlab.config import make_config
from digitlab.data import load_digits
from digitlab.inference import evaluate, layout
from digitlab.records import RunFolder
from digitlab.trainer import train


def tiny(**kw):
    base = dict(model="cnn", model_kwargs={"width": 4}, epochs=3, train_subset=800, val_size=400, threads=1, batch_size=64, seed=5)
    return make_config({**base, **kw})


@pytest.fixture(scope="module")
def data():
    cfg = tiny()
    return load_digits("mnist", cfg.val_size, cfg.split_seed, cfg.train_subset)


def test_test_split_once_at_the_end_gives_the_best_epochs_figure(data, tmp_path):
    every = train(tiny(), data)
    once = train(tiny(test_every_epoch=False), data, folder=RunFolder(tmp_path / "r"))
    # same training (the test split never feeds back), the test curve left out
    assert [h["val_acc"] for h in once.history] == [h["val_acc"] for h in every.history]
    assert once.best["epoch"] == every.best["epoch"]
    later = [h for h in once.history if h["epoch"] != once.best["epoch"]]
    assert later and all(math.isnan(h["test_acc"]) for h in later)
    # the one evaluation: the best epoch's deployed weights (best.pt) on the test split, equal to the per-epoch figure
    best = load_checkpoint(tmp_path / "r" / "weights" / "best.pt")
    r = evaluate(model_from_checkpoint(best), data.test_x, data.test_y, data.mean, data.std)
    assert once.best["test_acc"] == pytest.approx(r.acc) == pytest.approx(every.best["test_acc"])
    assert once.best["test_loss"] == pytest.approx(every.best["test_loss"], rel=1e-5)


def test_an_interrupted_run_does_not_spend_the_test_evaluation(data):
    def stop(m):
        raise KeyboardInterrupt

    cut = train(tiny(test_every_epoch=False), data, on_epoch=[stop])
    assert cut.status == "interrupted" and math.isnan(cut.best["test_acc"])


# ---------------------------------------------------------------- the step: bfloat16 and torch.compile
def fixed_batch_loss(cfg, data) -> float:
    """The loss of the first training batch for ``cfg`` (augmented as in training), through the trainer's own step."""
    from digitlab.trainer import forward_loss, setup

    st = setup(cfg)
    idx = torch.arange(cfg.batch_size)
    return forward_loss(cfg, st, data, idx, layout(st.model))[1].item()


@pytest.mark.parametrize("precision", ["bfloat16", "auto"])
def test_bfloat16_steps_compute_the_same_loss_and_keep_float32_weights(data, tmp_path, precision):
    eager = fixed_batch_loss(tiny(), data)
    assert fixed_batch_loss(tiny(precision=precision), data) == pytest.approx(eager, rel=0.02)  # bfloat16 has 8 bits of mantissa
    assert step_dtype(precision) == (torch.bfloat16 if precision == "bfloat16" or bf16_native() else None)
    r = train(tiny(precision=precision), data, folder=RunFolder(tmp_path / "b"))
    state = load_checkpoint(tmp_path / "b" / "weights" / "best.pt")["state_dict"]
    assert all(v.dtype != torch.bfloat16 for v in state.values())
    assert r.best["val_acc"] == pytest.approx(train(tiny(), data).best["val_acc"], abs=0.05)  # it learns as float32 does


def test_compiled_and_eager_steps_give_the_same_loss(data):
    assert cpp_compiler() is not None, "the CI machine has g++: the compiled path must be tested, not skipped"
    # without dropout: Inductor draws dropout masks with its own generator, so masks (not the arithmetic) would differ
    kw = {"model_kwargs": {"width": 4, "dropout": 0.0}}
    assert fixed_batch_loss(tiny(compile=True, **kw), data) == pytest.approx(fixed_batch_loss(tiny(**kw), data), rel=1e-5)


def test_a_compiled_run_resumes_exactly(data, tmp_path):
    cfg = tiny(compile=True, epochs=2)
    whole = train(cfg, data)

    def stop_after_first(m):
        if m["epoch"] == 1:
            raise KeyboardInterrupt

    folder = RunFolder(tmp_path / "cut")
    assert train(cfg, data, folder=folder, on_epoch=[stop_after_first]).status == "interrupted"
    resumed = train(cfg, data, folder=folder, resume=load_checkpoint(folder.last))
    for a, b in zip(whole.history, resumed.history, strict=True):
        for key in ("train_loss", "val_acc", "val_loss", "test_acc"):
            assert a[key] == pytest.approx(b[key], abs=1e-6), (a["epoch"], key)


def test_without_a_compiler_training_goes_on_eagerly_and_says_so_once(data, monkeypatch, caplog):
    monkeypatch.setattr(accel, "cpp_compiler", lambda: None)
    monkeypatch.setattr(accel, "_SAID", set())
    with caplog.at_level(logging.WARNING, logger="digitlab"):
        runs = [train(tiny(compile=True, epochs=1), data) for _ in range(2)]
    assert all(r.status == "completed" for r in runs)
    said = [r.message for r in caplog.records if "no C++ compiler" in r.message]
    assert len(said) == 1 and "training eagerly" in said[0]
    assert runs[0].history[0]["train_loss"] == pytest.approx(train(tiny(epochs=1), data).history[0]["train_loss"], abs=1e-6)


@pytest.mark.parametrize("name, kw", [("cnn", {"width": 8}), ("fast", {})])
def test_pool_first_nets_normalise_after_the_pool_with_the_same_parameters(name, kw):
    """BatchNorm after the pool sees a quarter of the values (the CPU's slowest training layer); the layers are the same."""
    from digitlab.models import count_params, create_model

    plain, pooled = create_model(name, **kw), create_model(name, pool_first=True, **kw)
    assert count_params(plain) == count_params(pooled)
    kinds = [type(m).__name__ for m in pooled.modules() if type(m).__name__ in ("MaxPool2d", "BatchNorm2d")]
    assert kinds[:2] == ["MaxPool2d", "BatchNorm2d"]
    assert pooled(torch.randn(4, 1, 28, 28)).shape == (4, 10)
