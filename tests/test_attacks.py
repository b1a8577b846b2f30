"""Adversarial pictures (issue 14, part 5): FGSM and PGD in pixel space, and ``digitlab attack``'s robustness report.

One tiny recorded run (the ``fast`` CNN, one epoch on 1,000 images, one thread, its detector calibrated on 500
validation images) is attacked on the first few hundred test images.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn.functional as F

from conftest import MNIST, error_line, small
from digitlab.attacks import ATTACKS, attack, fgsm, get_attack, pgd
from digitlab.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from digitlab.config import load_config
from digitlab.data.dataset import load_raw
from digitlab.errors import ConfigError, ModelError
from digitlab.robustness import attack_run
from digitlab.runner import run_training
from digitlab.steps import after_steps
from digitlab.store import RunStore

torch.set_num_threads(1)
N = 200  # test images attacked per unit test


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A recorded tiny run with a calibrated detector: (runs folder, store, checkpoint, model, norm, images, labels)."""
    root = tmp_path_factory.mktemp("attacks")
    store = RunStore(runs_dir=root / "runs")
    cfg = load_config(None, small("name=tiny"))
    run_training(cfg, runs_dir=root / "runs", store=store, data_dir=str(MNIST), after=after_steps(plots=False))
    path = root / "runs" / "tiny" / "weights" / "best.pt"
    ckpt = load_checkpoint(path)
    assert "rejection" in ckpt  # calibrated: the report has refusals to count
    x_u8, y = load_raw("mnist", "t10k", str(MNIST))
    x = torch.from_numpy(x_u8[:N].copy()).float().div(255).unsqueeze(1)  # (N, 1, 28, 28) in [0, 1]
    return root, store, path, model_from_checkpoint(ckpt), ckpt["norm"]["mean"], ckpt["norm"]["std"], x, torch.from_numpy(y[:N]).long()


def _loss(model, x, y, mean, std) -> float:
    with torch.no_grad():
        return F.cross_entropy(model((x - mean) / std), y).item()


def _acc(model, x, y, mean, std) -> float:
    with torch.no_grad():
        return (model((x - mean) / std).argmax(1) == y).float().mean().item()


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_attacks_raise_the_loss_and_stay_in_range_and_in_the_eps_ball(tiny, method):
    *_, model, mean, std, x, y = tiny
    eps = 0.1
    x_adv = attack(method, model, x, y, eps, mean, std, steps=10, gen=torch.Generator().manual_seed(0))
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype and not x_adv.requires_grad
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert (x_adv - x).abs().max() <= eps + 1e-6
    assert (x_adv - x).abs().max() > eps / 2  # it moved: not a no-op that trivially passes the checks above
    assert _loss(model, x_adv, y, mean, std) > _loss(model, x, y, mean, std) + 0.5


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_eps_zero_changes_nothing(tiny, method):
    *_, model, mean, std, x, y = tiny
    assert torch.equal(attack(method, model, x, y, 0.0, mean, std, steps=3), x)


def test_pgd_is_at_least_as_strong_as_fgsm(tiny):
    *_, model, mean, std, x, y = tiny
    eps = 0.1
    x_fgsm = fgsm(model, x, y, eps, mean, std)
    x_pgd = pgd(model, x, y, eps, mean, std, steps=10, gen=torch.Generator().manual_seed(0))
    assert _acc(model, x_pgd, y, mean, std) <= _acc(model, x_fgsm, y, mean, std)
    assert _loss(model, x_pgd, y, mean, std) > _loss(model, x_fgsm, y, mean, std)


def test_pgd_is_deterministic_with_a_seeded_generator(tiny):
    *_, model, mean, std, x, y = tiny
    run = lambda seed: pgd(model, x[:50], y[:50], 0.1, mean, std, steps=5, gen=torch.Generator().manual_seed(seed))  # noqa: E731
    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))  # the random start matters, so the seed is really used
    no_start = pgd(model, x[:50], y[:50], 0.1, mean, std, steps=5, random_start=False)
    assert torch.equal(no_start, pgd(model, x[:50], y[:50], 0.1, mean, std, steps=5, random_start=False))


def test_the_model_is_given_back_as_it_came(tiny):
    *_, model, mean, std, x, y = tiny
    before = {k: v.clone() for k, v in model.state_dict().items()}
    params = list(model.parameters())
    params[0].requires_grad_(False)  # a partly frozen model stays partly frozen
    model.train()
    try:
        with torch.no_grad():  # a caller's no_grad does not stop the attack
            x_adv = pgd(model, x[:50], y[:50], 0.1, mean, std, steps=3)
        fgsm(model, x[:50], y[:50], 0.1, mean, std)
        assert not torch.equal(x_adv, x[:50])
        assert model.training
        assert [p.requires_grad for p in params] == [False] + [True] * (len(params) - 1)
        assert all(p.grad is None for p in params)
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    finally:
        params[0].requires_grad_(True)
        model.eval()


def test_attacks_are_batched_like_one_pass(tiny, monkeypatch):
    *_, model, mean, std, x, y = tiny
    whole = fgsm(model, x, y, 0.1, mean, std)
    monkeypatch.setattr("digitlab.attacks.BATCH", 64)  # N=200: four batches, the last one short
    assert torch.allclose(fgsm(model, x, y, 0.1, mean, std), whole)


def _one_sentence(err: Exception) -> str:
    msg = str(err)
    assert "\n" not in msg and msg.endswith(".") and msg.count(". ") == 0, msg
    return msg


def test_unknown_methods_and_bad_eps_are_refused_in_one_sentence(tiny):
    *_, model, mean, std, x, y = tiny
    assert set(ATTACKS) == {"fgsm", "pgd"}
    with pytest.raises(ModelError) as e:
        get_attack("cw")
    assert "fgsm, pgd" in _one_sentence(e.value)
    for bad in (-0.1, 1.5, math.nan):
        with pytest.raises(ConfigError) as e:
            fgsm(model, x, y, bad, mean, std)
        assert "[0, 1]" in _one_sentence(e.value)
    with pytest.raises(ConfigError) as e:
        pgd(model, x, y, 0.1, mean, std, steps=0)
    _one_sentence(e.value)


def test_a_checkpoint_without_a_detector_refuses_nothing(tiny, tmp_path):
    _, store, path, *_ = tiny
    ckpt = load_checkpoint(path)
    bare = save_checkpoint(tmp_path / "bare.pt", {k: v for k, v in ckpt.items() if k not in ("format", "rejection")})
    report = attack_run(str(bare), method="fgsm", eps_list=[0.2], n=100, store=store, data_dir=str(MNIST))
    (row,) = report.rows
    assert report.threshold is None and row.refused is None and row.clean_refused is None
    assert row.caught_acc == row.robust_acc < row.clean_acc
    assert '"threshold": null' in report.to_json()


def _row(out: str, eps: str) -> list[str]:
    """The cells of the table row of ``eps``."""
    for line in out.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]
        if cells and cells[0] == eps:
            return cells
    raise AssertionError(f"no row for eps {eps} in:\n{out}")


def test_cli_prints_robust_accuracy_and_refusals(cli, tiny):
    root, *_ = tiny
    args = ["--data-dir", str(MNIST), "attack", "tiny", "--eps", "0", "--eps", "0.3", "--steps", "10", "-n", str(N)]
    res = cli(*args, runs_dir=root / "runs")
    assert res.code == 0, res.text
    assert "robust acc" in res.out and "refused (adversarial)" in res.out and "correct or refused" in res.out
    pcts = lambda cells: [float(c.rstrip("%")) for c in cells[1:6]]  # noqa: E731
    clean, robust, refused, clean_refused, caught = pcts(_row(res.out, "0.3"))
    assert robust < clean and robust <= caught <= robust + refused
    assert 0 <= clean_refused <= 5  # calibrated to accept 99 % of validation digits
    assert pcts(_row(res.out, "0"))[:2] == [clean, clean]  # no budget, no change
    assert "At eps 0.3" in res.out and "refuses" in res.out
    bad = cli("attack", "tiny", "--method", "cw", runs_dir=root / "runs")
    assert bad.code == 2 and "use one of fgsm, pgd" in error_line(bad)
    far = cli("--data-dir", str(MNIST), "attack", "tiny", "--eps", "2", runs_dir=root / "runs")
    assert far.code == 2 and "outside [0, 1]" in error_line(far)
