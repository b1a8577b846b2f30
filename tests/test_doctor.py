"""The run doctor (issue 17, part 4): each rule on synthetic curves (fires on its own case, silent on a healthy run,
ordered when two fire), the texts in both languages, and `digitlab doctor` on recorded runs."""

from __future__ import annotations

import re
import string

import pytest

from conftest import error_line
from digitlab.config import load_config, make_config
from digitlab.doctor import RULES, TEMPLATES, Code, Epoch, Evidence, diagnose, param_split
from digitlab.errors import RunError
from digitlab.zoo import load_recipe
from sick_runs import DIVERGED, HEALTHY, record_run

FULL = 55_000  # images per epoch of a run on the whole training split


def evidence(curves, images: int = FULL, status: str = "completed", failure: str = "", config=None, **cfg) -> Evidence:
    """Evidence of a config (a cnn by default; ``cfg`` overrides) with these (train_loss, train_acc, val_loss, val_acc)."""
    config = config or make_config({"model": "cnn", "epochs": max(len(curves), 1), **cfg})
    head, body = param_split(config)
    epochs = tuple(Epoch(i, *c) for i, c in enumerate(curves, 1))
    return Evidence(config, epochs, images, head, body, status, failure)


def codes(ev: Evidence) -> list[str]:
    return [str(f.code) for f in diagnose(ev)]


# --- healthy runs say nothing


def test_a_healthy_run_raises_nothing():
    assert codes(evidence(HEALTHY)) == []


@pytest.mark.parametrize("preset", ["default", "fast", "zoo:cnn", "zoo:lenet5", "zoo:resnet", "zoo:mlp", "zoo:alexnet", "zoo:fast"])
def test_the_presets_curves_raise_nothing(preset):
    """Each preset's config with a healthy curve of its length: nothing in its structure or schedule is flagged."""
    cfg = load_recipe(preset[4:]) if preset.startswith("zoo:") else load_config(preset)
    curves = [(0.6 + 0.3 / k, 0.9 + 0.08 * (1 - 1 / k), 0.05 + 0.1 / k, 0.99 - 0.02 / k) for k in range(1, cfg.epochs + 1)]
    assert codes(evidence(curves, config=cfg)) == []


# --- each rule fires on its own case


def test_divergence_a_loss_that_rose_far_above_its_lowest():
    found = diagnose(evidence(DIVERGED))
    assert [str(f.code) for f in found][:2] == ["diverged", "not_learning"]  # the cause first, then its symptom
    assert "1.630" in found[0].evidence() and "2.307" in found[0].evidence()
    assert found[0].severity == "problem" and "lr to ~0.0004" in found[0].suggestion()


def test_divergence_a_nan_loss_that_stopped_the_run():
    failure = "The loss became nan at epoch 2, step 5; lower lr (now 0.4) or enable grad_clip. The last good checkpoint is kept."
    ev = evidence(HEALTHY[:1], status="failed", failure=failure, lr=0.4)
    assert codes(ev)[0] == "diverged"
    assert "NaN" in diagnose(ev)[0].evidence() and "0.04" in diagnose(ev)[0].suggestion()
    assert codes(evidence([(float("nan"), 0.1, float("nan"), 0.1)]))[0] == "diverged"


def test_not_learning_loss_stuck_at_ln10():
    found = diagnose(evidence([(2.302, 0.11, 2.301, 0.11)] * 5))
    assert [str(f.code) for f in found] == ["not_learning"]
    assert "2.301 after 5 epoch(s)" in found[0].evidence() and "2.303" in found[0].evidence()


def test_labels_that_do_not_match_the_images():
    curves = [(2.30, 0.11, 2.31, 0.10), (2.20, 0.18, 2.35, 0.10), (1.90, 0.35, 2.45, 0.09), (1.50, 0.55, 2.60, 0.10)]
    found = diagnose(evidence(curves, augment=False))
    assert str(found[0].code) == "labels_mismatch"
    assert "11.0 %" in found[0].evidence() and "55.0 %" in found[0].evidence()


def test_lr_too_low_for_the_batch_size_the_users_batch_800():
    curves = [(1.66, 0.55, 0.83, 0.69)]
    found = diagnose(evidence(curves, batch_size=800))
    assert str(found[0].code) == "lr_too_low"
    assert "lr=0.025" in found[0].suggestion() and "batch/128" in found[0].suggestion()
    assert "lr_too_low" not in codes(evidence(curves, batch_size=800, lr=0.025))  # scaled: the plateau is not the lr's


def test_lr_too_low_a_hundredth_of_the_recipe():
    curves = [(2.24, 0.24, 1.95, 0.62), (1.98, 0.52, 1.52, 0.80), (1.82, 0.60, 1.44, 0.82)]
    found = diagnose(evidence(curves, lr=0.00004))
    assert [str(f.code) for f in found][:2] == ["lr_too_low", "underfitting"]
    assert "lr=0.004" in found[0].suggestion()


def test_overfitting_validation_loss_rises_while_the_gap_grows():
    curves = [(0.9, 0.80, 0.30, 0.92), (0.4, 0.93, 0.20, 0.95), (0.2, 0.97, 0.18, 0.955), (0.1, 0.99, 0.22, 0.953), (0.05, 1.0, 0.27, 0.95)]
    found = diagnose(evidence(curves))
    assert str(found[0].code) == "overfitting"
    assert "0.180 at epoch 3, 0.270 at epoch 5" in found[0].evidence() and "epochs=3" in found[0].suggestion()
    wobble = [*curves[:3], (0.15, 0.975, 0.19, 0.955), (0.12, 0.98, 0.185, 0.956)]  # a few hundredths up: noise
    assert "overfitting" not in codes(evidence(wobble))


def test_a_rising_validation_loss_with_rising_accuracy_is_not_overfitting():
    """The zoo cnn (benchmarks/teacher.py's healthy run): more confident, so the validation loss rose 0.091 -> 0.113, while
    its validation accuracy reached its best at the last epoch and stayed above the (augmented) training accuracy."""
    curves = [(0.62, 0.90, 0.12, 0.985), (0.50, 0.96, 0.10, 0.990), (0.47, 0.975, 0.091, 0.992), (0.46, 0.98, 0.095, 0.993),
              (0.45, 0.985, 0.100, 0.993), (0.44, 0.988, 0.105, 0.994), (0.43, 0.991, 0.110, 0.9944), (0.42, 0.994, 0.113, 0.9946)]  # fmt: skip
    assert "overfitting" not in codes(evidence(curves))


def test_overfitting_every_training_image_memorised_without_augmentation():
    """2,000 images, no augmentation, 50 epochs: the training images all right, the validation loss flat, 2.5 % missed."""
    curves = [(1.98, 0.49, 1.82, 0.74), (0.12, 0.97, 0.17, 0.955), *[(0.0, 1.0, 0.123, 0.975)] * 3]
    found = diagnose(evidence(curves, images=2000, augment=False))
    assert str(found[0].code) == "overfitting" and "100.0 %" in found[0].evidence() and "97.5 %" in found[0].evidence()
    assert "overfitting" not in codes(evidence(curves, images=2000))  # augmented: its training accuracy is not a clean one
    close = [*curves[:2], *[(0.0, 1.0, 0.03, 0.993)] * 3]  # no augmentation on all the images: 0.7 % missed, fine
    assert "overfitting" not in codes(evidence(close, augment=False))


def test_underfitting_a_model_too_small():
    curves = [(2.19, 0.19, 1.78, 0.34), (1.67, 0.48, 1.05, 0.69), (1.51, 0.56, 0.99, 0.71)]
    found = diagnose(evidence(curves, model_kwargs={"width": 2, "hidden": 8}))
    assert [str(f.code) for f in found] == ["underfitting"]
    assert "56.0 %" in found[0].evidence() and "640 parameters" in found[0].evidence()


def test_too_few_steps_per_epoch():
    curves = [(1.74, 0.49, 0.98, 0.67), (0.98, 0.84, 0.23, 0.941), (0.82, 0.91, 0.19, 0.959)]
    found = diagnose(evidence(curves, images=2000))
    assert str(found[0].code) == "too_few_steps" and found[0].severity == "advice"
    assert "16 optimiser steps per epoch, 48 in all" in found[0].evidence() and "epochs=32" in found[0].suggestion()
    assert "too_few_steps" not in codes(evidence(curves))  # the same curves on 55,000 images: 430 steps an epoch


def test_stopped_while_still_improving():
    one = [(1.04, 0.81, 0.16, 0.969)]  # one epoch: the end's model 16 points above the epoch's average
    assert codes(evidence(one)) == ["more_epochs"]
    assert codes(evidence(one, early_stop=3)) == []
    assert codes(evidence([(0.40, 0.95, 0.05, 0.985)])) == []  # the fast preset's one epoch: learned within it
    rising = [(1.0, 0.8, 0.3, 0.93), (0.8, 0.9, 0.15, 0.96), (0.7, 0.93, 0.09, 0.975)]
    found = diagnose(evidence(rising))
    assert str(found[0].code) == "more_epochs" and "epochs to ~6" in found[0].suggestion()


def test_top_heavy_a_big_fully_connected_layer():
    ev = evidence(HEALTHY, images=10_000, model_kwargs={"hidden": 2048})
    found = diagnose(ev)
    assert [str(f.code) for f in found] == ["top_heavy"]
    assert ev.head_params / (ev.head_params + ev.body_params) > 0.9
    assert "hidden=256" in found[0].suggestion()
    assert codes(evidence(HEALTHY, images=10_000)) == []  # the lab's cnn: 57 % in its head


def test_ordering_when_two_fire_the_cause_before_its_symptoms():
    """A too-low lr on few steps: the lr (a problem) before the step count (advice)."""
    found = codes(evidence([(1.66, 0.55, 0.83, 0.69)], images=10_000, batch_size=800))
    assert found.index("lr_too_low") < found.index("too_few_steps")


# --- the texts


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_every_code_with_the_same_placeholders():
    assert set(TEMPLATES) == {"en", "zh"}
    for code in Code:
        en, zh = TEMPLATES["en"][code], TEMPLATES["zh"][code]
        assert [placeholders(t) for t in en] == [placeholders(t) for t in zh], code
    assert len(RULES) == len(Code)


def test_every_finding_reads_in_both_languages():
    found = [*diagnose(evidence(DIVERGED)), *diagnose(evidence([(1.66, 0.55, 0.83, 0.69)], images=10_000, batch_size=800))]
    for f in found:
        assert f.evidence("en") != f.evidence("zh") and re.search(r"[\u4e00-\u9fff]", f.suggestion("zh"))
        assert set(f.to_json("zh")) == {"code", "severity", "evidence", "suggestion"}
    with pytest.raises(RunError, match="en and zh"):
        found[0].evidence("fr")


# --- digitlab doctor


def test_doctor_command_in_english_and_chinese(cli, lab):
    record_run(lab / "runs", "batch800", [(1.66, 0.55, 0.83, 0.69)], batch_size=800, train_subset=10_000)
    en = cli("doctor", "batch800")
    assert en.code == 0, en.text
    assert en.out.index("lr_too_low") < en.out.index("too_few_steps")
    assert "lr=0.025" in en.out and "linear scaling rule" in en.out
    zh = cli("doctor", "batch800", "--lang", "zh")
    assert zh.code == 0 and "线性缩放规则" in zh.out and "lr=0.025" in zh.out
    assert "问题 lr_too_low" in zh.out and "problem" not in zh.out


def test_doctor_on_a_healthy_run_and_an_unknown_one(cli, lab):
    record_run(lab / "runs", "fine", HEALTHY)
    assert "nothing to worry about" in cli("doctor", "fine").out
    assert "没有需要担心的问题" in cli("doctor", "fine", "--lang", "zh").out
    res = cli("doctor", "fien")
    assert res.code != 0 and "did you mean fine" in error_line(res)
    assert "not a language" in error_line(cli("doctor", "fine", "--lang", "fr"))


def test_lr_too_high_without_divergence():
    """The fast net at adamw lr 0.4 (100x): finite losses, but even the training images end at 86 % right."""
    curves = [(1.2, 0.62, 0.9, 0.75), (0.9, 0.78, 0.7, 0.82), (0.8, 0.84, 0.6, 0.86)]
    found = diagnose(evidence(curves, model="fast", lr=0.4))
    assert str(found[0].code) == "lr_too_high" and "100x" in found[0].evidence() and "lr=0.004" in found[0].suggestion()
    assert "lr=0.004" in found[0].suggestion("zh") and "倍" in found[0].evidence("zh")
    assert "lr_too_high" not in codes(evidence(curves, model="fast", lr=0.02))  # 5x: an underfitting run, not this rule
    healthy_high = [(0.5, 0.95, 0.1, 0.98), (0.4, 0.97, 0.08, 0.985), (0.35, 0.98, 0.07, 0.99)]
    assert "lr_too_high" not in codes(evidence(healthy_high, model="fast", lr=0.4))  # a high lr that trains well is fine
