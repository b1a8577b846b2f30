"""Learning-rate schedules (``lr_factor``) and the optimiser's weight-decay groups (``build_optimizer``).

Each schedule is checked at the steps where its rule shows: the start, the end of warm-up or of the rise,
the middle and the last step; the optimiser by which parameters decay and which class and options it gets.
"""

from __future__ import annotations

import math

import pytest
import torch

from digitlab.config import make_config
from digitlab.trainer import build_optimizer, lr_factor

PER_EPOCH, EPOCHS = 10, 10
TOTAL = PER_EPOCH * EPOCHS  # 100 optimiser steps


def curve(**cfg) -> list[float]:
    """The multiplier at every step of a 10-epoch run of 10 steps per epoch, and one past the end."""
    c = make_config(cfg)
    return [lr_factor(c, s, TOTAL, PER_EPOCH) for s in range(TOTAL + 1)]


def test_onecycle_rises_linearly_to_the_peak_then_falls_by_cosine_to_almost_zero():
    f = curve(schedule="onecycle", onecycle_pct=0.3)
    peak = 30  # 30 % of 100 steps
    assert f[0] == pytest.approx(0.04)  # starts at lr / 25
    assert f[15] == pytest.approx(0.04 + 0.96 * 15 / peak)  # linear rise
    assert max(f) == pytest.approx(1.0) and f.index(max(f)) == peak
    assert all(a < b for a, b in zip(f[:peak], f[1 : peak + 1]))
    assert all(a > b for a, b in zip(f[peak:], f[peak + 1 :]))  # strictly down after the peak
    assert f[peak + 35] == pytest.approx(0.5, abs=1e-3)  # cosine: half way down at half the descent
    assert f[TOTAL] == pytest.approx(4e-5)
    assert curve(schedule="onecycle", onecycle_pct=0.3, warmup_epochs=5) == f  # warms up by itself: warmup_epochs ignored


def test_cosine_warms_up_linearly_then_follows_a_half_cosine_to_zero():
    f = curve(schedule="cosine", warmup_epochs=2)
    warm = 20  # 2 epochs of 10 steps
    assert f[0] == pytest.approx(0.04)
    assert f[10] == pytest.approx(0.04 + 0.96 * 10 / warm)
    assert f[warm] == pytest.approx(1.0)
    assert f[warm + 40] == pytest.approx(0.5)  # half way through the 80 cosine steps
    assert f[warm + 20] == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert f[TOTAL] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(f[warm:], f[warm + 1 :]))


def test_cosine_without_warm_up_starts_at_the_full_rate():
    f = curve(schedule="cosine")
    assert f[0] == pytest.approx(1.0)
    assert f[50] == pytest.approx(0.5)
    assert f[TOTAL] == pytest.approx(0.0, abs=1e-12)


def test_step_multiplies_by_gamma_every_step_every_epochs():
    f = curve(schedule="step", step_every=3, step_gamma=0.5)
    assert f[0] == f[29] == pytest.approx(1.0)  # epochs 1-3
    assert f[30] == f[59] == pytest.approx(0.5)  # epochs 4-6
    assert f[60] == pytest.approx(0.25) and f[90] == pytest.approx(0.125)


def test_constant_is_one_after_an_optional_warm_up():
    assert curve(schedule="constant") == [1.0] * (TOTAL + 1)
    f = curve(schedule="constant", warmup_epochs=1)
    assert f[0] == pytest.approx(0.04) and f[5] == pytest.approx(0.04 + 0.96 * 0.5)
    assert f[10:] == [1.0] * (TOTAL - 9)


class Net(torch.nn.Module):
    """Every kind of parameter: conv and linear weights and biases, BatchNorm and LayerNorm scales and shifts."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.norm = torch.nn.LayerNorm(8)
        self.fc = torch.nn.Linear(8, 10)


def groups(opt: torch.optim.Optimizer) -> dict[float, set[int]]:
    """weight decay -> ids of the parameters it applies to."""
    return {g["weight_decay"]: {id(p) for p in g["params"]} for g in opt.param_groups}


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_weights_decay_but_biases_and_norm_parameters_do_not(optimizer):
    net = Net()
    opt = build_optimizer(make_config({"optimizer": optimizer, "weight_decay": 0.01}), net)
    by_decay = groups(opt)
    assert set(by_decay) == {0.01, 0.0}
    assert by_decay[0.01] == {id(net.conv.weight), id(net.fc.weight)}
    no_decay = [net.conv.bias, net.bn.weight, net.bn.bias, net.norm.weight, net.norm.bias, net.fc.bias]
    assert by_decay[0.0] == {id(p) for p in no_decay}


def test_optimiser_class_and_options_follow_the_config():
    net = Net()
    sgd = build_optimizer(make_config({"optimizer": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True}), net)
    assert type(sgd) is torch.optim.SGD
    assert sgd.defaults["lr"] == 0.05 and sgd.defaults["momentum"] == 0.8 and sgd.defaults["nesterov"] is True
    adam = build_optimizer(make_config({"optimizer": "adam", "beta1": 0.8, "beta2": 0.95}), net)
    assert type(adam) is torch.optim.Adam  # L2 decay, not decoupled
    assert adam.defaults["betas"] == (0.8, 0.95)
    assert type(build_optimizer(make_config({"optimizer": "adamw"}), net)) is torch.optim.AdamW


def test_nesterov_only_with_momentum():
    net = Net()
    plain = build_optimizer(
        make_config({"optimizer": "sgd", "momentum": 0.0, "nesterov": True}), net
    )  # torch refuses nesterov without momentum
    assert plain.defaults["nesterov"] is False and plain.defaults["momentum"] == 0.0
    off = build_optimizer(make_config({"optimizer": "sgd", "momentum": 0.9, "nesterov": False}), net)
    assert off.defaults["nesterov"] is False
