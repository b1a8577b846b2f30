"""Interrupt and resume: a SIGTERM'd run continued with ``--resume`` equals an uninterrupted one, epoch by epoch.

Also: a signal that lands while an epoch is being recorded, and a loss that becomes NaN.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import digitlab.trainer as train_mod
from conftest import error_line, run_subprocess, small
from digitlab.checkpoint import load_checkpoint, model_from_checkpoint
from digitlab.store import RunStore

CONFIG = ["epochs=3", "train_subset=1500", "val_size=500", "threads=1", "model=cnn", "seed=7"]
COMPARED = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr"]


def csv_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_sigterm_then_resume_equals_uninterrupted(tmp_path):
    runs = tmp_path / "runs"
    g = ["--runs-dir", str(runs)]
    # (a) start, wait for the first epoch to be recorded, then SIGTERM
    proc = subprocess.Popen(
        [sys.executable, "-m", "digitlab.cli", *g, "train", *CONFIG, "name=a", "--no-plots"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 150
        while len(csv_rows(runs / "a" / "metrics.csv")) < 1:
            assert proc.poll() is None, f"run a ended early: {proc.communicate()}"
            assert time.monotonic() < deadline, "run a did not finish its first epoch in time"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "digitlab train --resume a" in err
    store = RunStore(runs_dir=runs)
    rec = store.get_run("a")
    assert rec.status == "interrupted", rec
    assert [e["epoch"] for e in store.epochs(rec.id)] == [1]
    last = load_checkpoint(runs / "a" / "weights" / "last.pt")
    assert last["train_state"]["epoch"] == 1 and len(csv_rows(runs / "a" / "metrics.csv")) == 1

    res = run_subprocess([*g, "train", "--resume", "a", "--no-plots"], cwd=tmp_path)
    assert res.code == 0, res.text
    rec = store.get_run("a")
    assert rec.status == "completed" and rec.epochs_done == 3 and rec.message is None

    # (b) the same config without interruption
    res = run_subprocess([*g, "train", *CONFIG, "name=b", "--no-plots"], cwd=tmp_path)
    assert res.code == 0, res.text

    ea = store.epochs(store.get_run("a").id)
    eb = store.epochs(store.get_run("b").id)
    assert [e["epoch"] for e in ea] == [e["epoch"] for e in eb] == [1, 2, 3]
    for x, y in zip(ea, eb):
        for c in COMPARED:
            assert x[c] == pytest.approx(y[c], abs=1e-6), f"epoch {x['epoch']} {c}: resumed {x[c]} vs uninterrupted {y[c]}"
    ca, cb = csv_rows(runs / "a" / "metrics.csv"), csv_rows(runs / "b" / "metrics.csv")
    assert [r["epoch"] for r in ca] == ["1", "2", "3"]
    for x, y in zip(ca, cb):
        for c in COMPARED:
            assert float(x[c]) == pytest.approx(float(y[c]), abs=1e-6)
    # the final weights are the same too
    wa = load_checkpoint(runs / "a" / "weights" / "last.pt")["state_dict"]
    wb = load_checkpoint(runs / "b" / "weights" / "last.pt")["state_dict"]
    assert all(torch.allclose(wa[k].float(), wb[k].float(), atol=1e-6) for k in wb)


def test_resume_of_a_completed_run_is_refused(tmp_path, cli):
    assert cli("train", *small("name=done", "train_subset=300"), "--no-plots").code == 0
    res = cli("train", "--resume", "done")
    assert res.code == 2 and "already completed; nothing to resume" in error_line(res)


def test_signal_while_an_epoch_is_recorded(cli, lab, monkeypatch):
    """SIGTERM between metrics.csv and the database row must not lose the epoch's row: the signal waits."""
    real_add_epoch = RunStore.add_epoch

    def add_epoch_with_sigterm(self, run_id, m):
        if m["epoch"] == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives in the middle of recording epoch 1
            time.sleep(0.05)
        real_add_epoch(self, run_id, m)

    monkeypatch.setattr(RunStore, "add_epoch", add_epoch_with_sigterm)
    res = cli("train", *small("name=sig", "epochs=2", "train_subset=300"), "--no-plots")
    assert res.code == 130, res.text
    store = RunStore(runs_dir=lab / "runs")
    rec = store.get_run("sig")
    assert rec.status == "interrupted" and rec.epochs_done == 1
    assert [e["epoch"] for e in store.epochs(rec.id)] == [1]
    assert len(csv_rows(lab / "runs" / "sig" / "metrics.csv")) == 1
    assert load_checkpoint(lab / "runs" / "sig" / "weights" / "last.pt")["train_state"]["epoch"] == 1

    monkeypatch.setattr(RunStore, "add_epoch", real_add_epoch)
    res = cli("train", "--resume", "sig", "--no-plots")
    assert res.code == 0, res.text
    assert [e["epoch"] for e in store.epochs(rec.id)] == [1, 2]
    assert store.get_run("sig").status == "completed"


def test_nan_loss_fails_the_run_and_keeps_the_last_checkpoint(cli, lab, monkeypatch):
    real_train_epoch = train_mod.train_epoch

    def diverging(cfg, st, data, progress):
        if st.epoch == 1:  # the weights blow up during epoch 2
            with torch.no_grad():
                for p in st.model.parameters():
                    p.fill_(float("nan"))
        return real_train_epoch(cfg, st, data, progress)

    monkeypatch.setattr(train_mod, "train_epoch", diverging)
    res = cli("train", *small("name=nan", "epochs=3", "train_subset=300"), "--no-plots")
    assert res.code == 2
    line = error_line(res)
    assert "The loss became nan at epoch 2" in line and "lower lr" in line
    rec = RunStore(runs_dir=lab / "runs").get_run("nan")
    assert rec.status == "failed" and "loss became nan" in rec.message and rec.epochs_done == 1
    ckpt = load_checkpoint(lab / "runs" / "nan" / "weights" / "last.pt")
    assert ckpt["metrics"]["epoch"] == 1 and ckpt["train_state"]["epoch"] == 1
    with torch.no_grad():
        out = model_from_checkpoint(ckpt)(torch.zeros(2, 1, 28, 28))
    assert torch.isfinite(out).all()
    # the failed run can be continued from that checkpoint (without the fault it completes)
    monkeypatch.setattr(train_mod, "train_epoch", real_train_epoch)
    res = cli("train", "--resume", "nan", "--no-plots")
    assert res.code == 0, res.text
    assert RunStore(runs_dir=lab / "runs").get_run("nan").status == "completed"


def test_ema_averages_weights_and_batchnorm_statistics_and_copies_the_batch_counter():
    torch.manual_seed(0)
    live = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = train_mod.copy.deepcopy(live)
    old = {k: v.clone() for k, v in ema.state_dict().items()}
    with torch.no_grad():
        for p in live.parameters():
            p.add_(1.0)
    live.train()
    live(torch.randn(8, 2) * 3 + 5)  # moves the running statistics and counts a batch
    train_mod.ema_update(ema, live, 0.9)
    new = live.state_dict()
    for k, v in ema.state_dict().items():
        if v.dtype.is_floating_point:
            assert torch.allclose(v, 0.9 * old[k] + 0.1 * new[k]), k
            assert not torch.allclose(v, new[k]), k  # averaged, not copied
        else:
            assert torch.equal(v, new[k]), k  # num_batches_tracked
