"""Distillation (issue 13, part 5): a student learns a teacher's softened outputs as an ordinary recorded run.

One teacher (``fast`` on 10k images, 3 epochs, ~98 % validation, ~12 s on one thread) is trained once for the module;
every student is a tiny MLP that trains in a few seconds.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml

import digitlab
from conftest import error_line
from digitlab.checkpoint import load_checkpoint, save_checkpoint
from digitlab.config import make_config
from digitlab.data import DigitData
from digitlab.data.dataset import CLASS_NAMES
from digitlab.errors import RunError
from digitlab.trainer import distill_loss, teacher_targets

BASE = {"val_size": 1000, "threads": 1, "batch_size": 64, "calibrate": False}
STUDENT = {**BASE, "model": "mlp", "model_kwargs": {"depth": 1, "width": 32}, "augment": False}  # ~25k parameters
TEACHER = "teacher"


@pytest.fixture(scope="module")
def tlab(tmp_path_factory) -> digitlab.Lab:
    """A lab holding the teacher run."""
    root = tmp_path_factory.mktemp("distill")
    lab = digitlab.Lab(runs_dir=root / "runs", models_dir=root / "models")
    digitlab.train(None, lab=lab, plots=False, name=TEACHER, model="fast", epochs=3, train_subset=10000, label_smoothing=0.0, **BASE)
    return lab


def test_soft_loss_is_hinton_kl_times_t_squared():
    g = torch.Generator().manual_seed(0)
    student, teacher, t = torch.randn(5, 10, generator=g), torch.randn(5, 10, generator=g) * 3, 4.0
    p, q = F.softmax(teacher / t, 1), F.softmax(student / t, 1)
    reference = sum(float((p[i] * (p[i] / q[i]).log()).sum()) for i in range(5)) / 5 * t * t
    assert distill_loss(student, teacher, t).item() == pytest.approx(reference, rel=1e-5)
    assert distill_loss(teacher, teacher, t).item() == pytest.approx(0.0, abs=1e-6)
    # the soft gradient is (q - p) * T / B: T^2 times the 1/T^2-shrunk gradient of the softened outputs
    s = student.clone().requires_grad_()
    distill_loss(s, teacher, t).backward()
    assert torch.allclose(s.grad, (q - p) * t / 5, atol=1e-6)


def test_alpha_zero_trains_exactly_like_no_teacher(tlab):
    kw = {**STUDENT, "epochs": 2, "train_subset": 500}
    plain = digitlab.train(None, lab=tlab, plots=False, **kw)
    zero = digitlab.train(None, lab=tlab, plots=False, teacher=TEACHER, distill_alpha=0.0, **kw)
    taught = digitlab.train(None, lab=tlab, plots=False, teacher=TEACHER, **kw)
    a, b, c = (load_checkpoint(r.folder.last)["state_dict"] for r in (plain, zero, taught))
    assert all(torch.equal(a[k], b[k]) for k in a), "alpha=0 must be ordinary training, weight for weight"
    assert not all(torch.equal(a[k], c[k]) for k in a), "the teacher must change training when alpha > 0"


def test_online_teacher_sees_the_augmented_batch():
    """distill_online: the teacher's logits of the very pictures the student sees; else the stored ones of the images."""
    x = torch.zeros(4, 28, 28, dtype=torch.uint8)
    stored = torch.arange(40.0).reshape(4, 10)
    data = DigitData(x, torch.zeros(4, dtype=torch.long), x, x[:, 0, 0].long(), x, x[:, 0, 0].long(), 0.1, 0.3, list("0123456789"))
    data.teacher_logits, data.teacher = stored, lambda b: b.flatten(1)[:, :10] * 2  # (B, 1, 28, 28) -> (B, 10)
    batch, idx = torch.rand(2, 1, 28, 28), torch.tensor([3, 1])
    cfg = make_config({"teacher": "t", "distill_online": True})
    assert torch.equal(teacher_targets(cfg, data, batch, idx), batch.flatten(1)[:, :10] * 2)
    assert torch.equal(teacher_targets(cfg.model_copy(update={"distill_online": False}), data, batch, idx), stored[[3, 1]])


def test_online_distillation_runs_and_says_so(tlab):
    run = digitlab.train(
        None, lab=tlab, plots=False, teacher=TEACHER, distill_online=True, **{**STUDENT, "augment": True, "epochs": 1, "train_subset": 300}
    )
    assert run.record.status == "completed" and "the teacher on every augmented batch" in run.folder.log.read_text()


def test_distillation_improves_a_tiny_student(tlab):
    """300 labelled images: the student alone vs the same student also taught by a teacher that saw 10k images."""
    kw = {**STUDENT, "epochs": 60, "train_subset": 300, "seed": 1}
    alone = digitlab.train(None, lab=tlab, plots=False, **kw)
    taught = digitlab.train(None, lab=tlab, plots=False, teacher=TEACHER, **kw)
    assert taught.val_acc is not None and alone.val_acc is not None and taught.test_acc is not None and alone.test_acc is not None
    assert taught.val_acc >= alone.val_acc + 0.005, (alone.val_acc, taught.val_acc)  # >= 5 of 1000 validation digits
    assert taught.test_acc > alone.test_acc, (alone.test_acc, taught.test_acc)


def test_cli_distill_records_its_teacher(tlab, cli):
    args = [f"{k}={v}" for k, v in {**BASE, "epochs": 1, "train_subset": 500}.items()]
    res = cli("distill", TEACHER, "--student", "mlp", *args, "model_kwargs.width=32", "name=small", "--no-plots", runs_dir=tlab.runs_dir)
    assert res.code == 0, res.text
    assert f"taught by {TEACHER}" in res.out
    run = digitlab.Run("small", tlab)
    assert run.config.teacher == TEACHER and run.config.model == "mlp" and run.status == "completed"
    best = tlab.runs_dir / TEACHER / "weights" / "best.pt"
    taught = run.record.extra["teacher"]
    assert taught["sha256"] == hashlib.sha256(best.read_bytes()).hexdigest()
    assert Path(taught["checkpoint"]) == best.resolve() and taught["model"] == "fast" and taught["val_acc"] > 0.95
    assert yaml.safe_load(run.folder.config.read_text())["_evidence"]["teacher"] == taught
    assert (
        "distilling from teacher teacher: temperature 4, soft-target weight 0.9, the teacher's outputs on the unaugmented images"
        in run.folder.log.read_text()
    )
    assert load_checkpoint(run.best)["config"]["teacher"] == TEACHER  # the shipped student names its teacher


def test_a_bad_teacher_is_one_sentence_and_leaves_no_run(tlab, cli, lab):
    before = sorted(p.name for p in tlab.runs_dir.iterdir())
    res = cli("distill", "nosuchrun", "--student", "mlp", "epochs=1", "train_subset=300", "threads=1", runs_dir=tlab.runs_dir)
    assert res.code != 0
    assert error_line(res).endswith("Teacher 'nosuchrun' cannot be used: no run named 'nosuchrun'; `digitlab runs` lists them.")
    res = cli("distill", "missing.pt", "epochs=1", runs_dir=tlab.runs_dir)
    assert "Teacher 'missing.pt' cannot be used: checkpoint missing.pt does not exist." in error_line(res)
    (lab / "junk.pt").write_bytes(b"not a checkpoint")
    res = cli("distill", "junk.pt", "epochs=1", runs_dir=tlab.runs_dir)
    assert "Teacher 'junk.pt' cannot be used: junk.pt " in error_line(res)
    ckpt = load_checkpoint(tlab.runs_dir / TEACHER / "weights" / "best.pt")
    save_checkpoint(lab / "fashion.pt", {**ckpt, "classes": CLASS_NAMES["fashion-mnist"]})
    res = cli("distill", "fashion.pt", "epochs=1", "train_subset=300", "threads=1", runs_dir=tlab.runs_dir)
    assert "Teacher 'fashion.pt' predicts the classes ['T-shirt/top'" in error_line(res)
    assert sorted(p.name for p in tlab.runs_dir.iterdir()) == before


def test_resume_recomputes_the_same_teacher_and_refuses_a_changed_one(tlab, tmp_path):
    kw = {**STUDENT, "epochs": 3, "train_subset": 500, "teacher": TEACHER}

    def stop_after_first(m: dict) -> None:
        if m["epoch"] == 1:
            raise KeyboardInterrupt

    cut = digitlab.train(None, lab=tlab, plots=False, hooks=[stop_after_first], name="cut", **kw)
    assert cut.record.status == "interrupted"
    resumed = digitlab.resume("cut", lab=tlab, plots=False)
    whole = digitlab.train(None, lab=tlab, plots=False, name="whole", **kw)
    assert resumed.record.status == "completed"
    for x, y in zip(resumed.history, whole.history, strict=True):
        assert x["val_acc"] == y["val_acc"] and math.isclose(x["train_loss"], y["train_loss"], rel_tol=1e-6)

    # a teacher file that changed under an interrupted run: refused, since the run could not be reproduced
    copy = tmp_path / "copy.pt"
    copy.write_bytes((tlab.runs_dir / TEACHER / "weights" / "best.pt").read_bytes())
    digitlab.train(None, lab=tlab, plots=False, hooks=[stop_after_first], name="cut2", **{**kw, "teacher": str(copy)})
    copy.write_bytes(copy.read_bytes() + b"\0")
    with pytest.raises(RunError, match=r"The run was taught by .*copy\.pt \(sha256 \w{12}\), which is now changed"):
        digitlab.resume("cut2", lab=tlab, plots=False)
