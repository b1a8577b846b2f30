"""Networks that grow while they train (issue 15): Net2Net widening and deepening preserve the function, a grown run
records its parameters per epoch, loads like any run, and resumes across a change exactly."""

from __future__ import annotations

import pytest
import torch

from conftest import error_line, small
from digitlab.checkpoint import load_checkpoint, model_from_checkpoint
from digitlab.config import make_config
from digitlab.data import load_digits
from digitlab.errors import ModelError
from digitlab.models import count_params, create_model
from digitlab.models.grow import ChannelMap, GrowStep, grow, parse_grow
from digitlab.records import RunFolder
from digitlab.store import RunStore
from digitlab.trainer import train


def trained_cnn(batchnorm: bool, **kw) -> torch.nn.Module:
    """A cnn with non-trivial weights and BatchNorm statistics (a few training-mode passes)."""
    torch.manual_seed(0)
    model = create_model("cnn", width=4, batchnorm=batchnorm, **kw)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(3):
        loss = model(torch.randn(32, 1, 28, 28)).logsumexp(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.mark.parametrize("batchnorm, pool_first", [(True, False), (False, False), (True, True)])
@pytest.mark.parametrize("steps", [["widen*2"], ["deepen"], ["widen*3", "deepen", "widen*2"], ["deepen", "deepen"]])
def test_growth_preserves_the_function(batchnorm, pool_first, steps):
    model = trained_cnn(batchnorm, pool_first=pool_first)
    kwargs = {"width": 4, "batchnorm": batchnorm, "pool_first": pool_first}
    x = torch.randn(16, 1, 28, 28)
    with torch.no_grad():
        before = model(x)
    for epoch, text in enumerate(steps, start=1):
        step = parse_grow(f"{epoch}:{text}", 10)[0]
        params = count_params(model)
        model, kwargs = grow(model, "cnn", kwargs, step, seed=0)
        assert count_params(model) > params
        model.eval()
        with torch.no_grad():
            assert (model(x) - before).abs().max() < 1e-5, text
    assert count_params(model) == count_params(create_model("cnn", **kwargs))  # the registry rebuilds what grew


def test_widened_copies_split_their_outgoing_weight_and_drift_apart():
    m = ChannelMap.wider(4, 8, torch.Generator().manual_seed(0))
    totals = torch.zeros(4).index_add_(0, m.index, m.share)
    assert torch.allclose(totals, torch.ones(4)) and (m.share > 0).all()
    assert m.index[:4].tolist() == [0, 1, 2, 3]
    model, kwargs = trained_cnn(True), {"width": 4}
    wide, _ = grow(model, "cnn", kwargs, GrowStep(1, "widen", 2), seed=0)
    wide.train()
    wide(torch.randn(8, 1, 28, 28)).logsumexp(1).mean().backward()
    first = ChannelMap.wider(4, 8, torch.Generator().manual_seed(1))  # the first layer's map: grow seeds with (seed, epoch)
    weights = wide.features[0][0].weight.detach().flatten(1)  # (8, 9)
    assert torch.equal(weights[4:], weights[first.index[4:]])  # each new channel starts as a copy of its original ...
    grads = wide.features[0][0].weight.grad.flatten(1)
    assert not torch.allclose(grads[4:], grads[first.index[4:]])  # ... and gets another gradient: they drift apart


@pytest.mark.parametrize(
    "text, words",
    [
        ("4:widen", "not E:widen*F or E:deepen"),
        ("4:widen*1", "widen by 2 or more"),
        ("9:deepen", "from 1 to 7"),
        ("0:deepen", "from 1 to 7"),
        ("2:deepen,2:widen*2", "two steps after epoch 2"),
    ],
)
def test_bad_growth_schedules(text, words):
    with pytest.raises(ModelError) as err:
        parse_grow(text, 8)
    assert words in str(err.value)


def test_only_growable_families_take_a_schedule():
    with pytest.raises(ModelError, match="Model 'mlp' cannot grow; grow works with cnn"):
        parse_grow("2:deepen", 8, "mlp")
    assert parse_grow("", 8, "mlp") == []


def test_a_bad_schedule_is_refused_before_a_run_exists(cli, lab):
    res = cli("train", *small("model=cnn", "grow=5:deepen"))
    assert res.code == 2 and "grow step '5:deepen'" in error_line(res)
    assert not [p for p in (lab / "runs").glob("*") if p.is_dir()]  # no run folder (the database file may exist)


def grown_config(**kw):
    base = dict(model="cnn", model_kwargs={"width": 4}, epochs=3, train_subset=600, val_size=300, threads=1, batch_size=64, seed=3)
    return make_config({**base, "grow": "1:widen*2,2:deepen", **kw})


def test_a_grown_run_records_parameters_per_epoch_and_loads(cli, lab):
    res = cli("train", *small("model=cnn", "model_kwargs.width=4", "epochs=3", "grow=1:widen*2,2:deepen", "name=g", "ema=0.9"))
    assert res.code == 0, res.text
    store = RunStore(runs_dir=lab / "runs")
    params = [e["params"] for e in store.epochs(store.get_run("g").id)]
    sizes = [
        count_params(create_model("cnn", width=4)),
        count_params(create_model("cnn", width=8)),
        count_params(create_model("cnn", width=8, extra=1)),
    ]
    assert params == sizes
    assert "grow after epoch 1: widen*2" in (lab / "runs" / "g" / "train.log").read_text()
    last = load_checkpoint(lab / "runs" / "g" / "weights" / "last.pt")
    assert last["model_kwargs"] == {"width": 8, "extra": 1}
    assert count_params(model_from_checkpoint(last)) == sizes[-1]
    assert cli("eval", "g").code == 0


def test_resume_across_a_change_equals_the_uninterrupted_run(tmp_path):
    cfg = grown_config()
    data = load_digits("mnist", cfg.val_size, cfg.split_seed, cfg.train_subset)
    whole = train(cfg, data, folder=RunFolder(tmp_path / "whole"))

    def stop_after_first(m):
        if m["epoch"] == 1:
            raise KeyboardInterrupt

    folder = RunFolder(tmp_path / "cut")
    cut = train(cfg, data, folder=folder, on_epoch=[stop_after_first])
    assert cut.status == "interrupted" and len(cut.history) == 1
    resumed = train(cfg, data, folder=folder, resume=load_checkpoint(folder.last))
    assert resumed.status == "completed"
    for a, b in zip(whole.history, resumed.history, strict=True):
        for key in ("train_loss", "val_acc", "val_loss", "params"):
            assert a[key] == pytest.approx(b[key], abs=1e-6), (a["epoch"], key)
