"""The checkpoint format: round trip, extensions, and refusing damaged, foreign and malicious files."""

from __future__ import annotations

import os
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from digitlab.checkpoint import FORMAT, load_checkpoint, model_from_checkpoint, save_checkpoint
from digitlab.config import load_config
from digitlab.errors import CheckpointError
from digitlab.models import create_model
from digitlab.trainer import checkpoint_payload

DATA = SimpleNamespace(mean=0.1307, std=0.3081, classes=[str(i) for i in range(10)])  # what a payload reads of DigitData


def payload(model_name: str = "fast", **kwargs):
    cfg = load_config(None, [f"model={model_name}", *[f"model_kwargs.{k}={v}" for k, v in kwargs.items()]])
    torch.manual_seed(1)
    model = create_model(model_name, **kwargs)
    with torch.no_grad():  # non-trivial BatchNorm statistics, so buffers must round-trip too
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return model.eval(), checkpoint_payload(cfg, DATA, model, {"epoch": 3, "val_acc": 0.9})


def inputs(n: int = 4) -> torch.Tensor:
    return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("suffix", [".pt", ".ckpt"])
@pytest.mark.parametrize("model_name, kwargs", [("fast", {}), ("cnn", {"width": 16})])
def test_round_trip_gives_identical_outputs(tmp_path, suffix, model_name, kwargs):
    model, p = payload(model_name, **kwargs)
    path = save_checkpoint(tmp_path / f"m{suffix}", p)
    ckpt = load_checkpoint(path)
    assert ckpt["format"] == FORMAT and ckpt["model"] == model_name and ckpt["model_kwargs"] == kwargs
    assert ckpt["norm"] == {"mean": DATA.mean, "std": DATA.std} and ckpt["classes"] == DATA.classes
    assert ckpt["config"]["model"] == model_name and ckpt["metrics"]["epoch"] == 3
    back = model_from_checkpoint(ckpt)
    assert not back.training
    with torch.no_grad():
        assert torch.equal(back(inputs()), model(inputs()))
    assert not list(tmp_path.glob(".*tmp*"))  # the atomic save left no temporary file


def test_other_extension_is_rejected(tmp_path):
    _, p = payload()
    torch.save({"format": FORMAT, **p}, tmp_path / "m.pth")
    with pytest.raises(CheckpointError, match=r"expected a \.pt or \.ckpt file"):
        load_checkpoint(tmp_path / "m.pth")


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_truncated_file(tmp_path, keep):
    _, p = payload()
    path = save_checkpoint(tmp_path / "m.pt", p)
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(CheckpointError, match="truncated or not a PyTorch file"):
        load_checkpoint(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "r.pt"
    for seed in range(40):  # some byte strings make the unpickler fail in unusual ways (IndexError, ...)
        path.write_bytes(np.random.default_rng(seed).bytes(64 + 50 * seed))
        with pytest.raises(CheckpointError):
            load_checkpoint(path)


def test_empty_file(tmp_path):
    (tmp_path / "e.pt").write_bytes(b"")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "e.pt")


@pytest.mark.parametrize(
    "obj",
    [{"state_dict": {}}, [1, 2, 3], {"format": "other-format-9"}, torch.zeros(3)],
    ids=["dict-without-tag", "list", "other-tag", "tensor"],
)
def test_foreign_torch_file(tmp_path, obj):
    torch.save(obj, tmp_path / "f.pt")
    with pytest.raises(CheckpointError, match="not a digitlab checkpoint"):
        load_checkpoint(tmp_path / "f.pt")


def test_tagged_but_incomplete(tmp_path):
    torch.save({"format": FORMAT, "model": "fast", "state_dict": {}}, tmp_path / "i.pt")
    with pytest.raises(CheckpointError, match="lacks classes, config, model_kwargs, norm"):
        load_checkpoint(tmp_path / "i.pt")


class Pwn:
    """Unpickling this runs a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_malicious_pickle_never_runs(tmp_path, how):
    marker = tmp_path / "pwned"
    # sanity: this object really runs code when unpickled the unsafe way
    pickle.loads(pickle.dumps(Pwn(tmp_path / "proof")))
    assert (tmp_path / "proof").exists()

    _, p = payload()
    evil = {"format": FORMAT, **p, "metrics": Pwn(marker)}
    path = tmp_path / "evil.pt"
    if how == "torch.save":
        torch.save(evil, path)
    else:
        path.write_bytes(pickle.dumps(evil))
    with pytest.raises(CheckpointError, match="could run code"):
        load_checkpoint(path)
    assert not marker.exists()


def test_weights_that_do_not_fit(tmp_path):
    _, p = payload("cnn")
    p["model_kwargs"] = {"width": 16}  # the weights are of width 32
    ckpt = load_checkpoint(save_checkpoint(tmp_path / "w.pt", p))
    with pytest.raises(CheckpointError, match="do not fit model 'cnn'"):
        model_from_checkpoint(ckpt)


def test_weights_of_another_model(tmp_path):
    _, p = payload("cnn")
    p["model"] = "fast"
    with pytest.raises(CheckpointError, match="do not fit model 'fast'"):
        model_from_checkpoint(load_checkpoint(save_checkpoint(tmp_path / "w.pt", p)))
