"""Faster training without losing the record (issue 16): the test split evaluated once when a run ends, for runs
that never choose on it (tuning trials, structure-search children)."""

from __future__ import annotations

import math

import pytest

from digitlab.checkpoint import load_checkpoint, model_from_checkpoint
from digitlab.config import make_config
from digitlab.data import load_digits
from digitlab.inference import evaluate
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
