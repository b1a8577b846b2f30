"""Generative runs (issue 14): `digitlab gan train` records a run like a classifier's (folder, rows, log, grids,
checkpoints, exact resume), measures its digits in the judge's features, says its failure modes in words; `digitlab
generate` writes grids and walks, and refuses what it cannot do in one sentence.

Tiny: a narrow cdcgan on 512 training images, 2 epochs, one thread, the shipped classifier as the judge.
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from conftest import error_line
from digitlab.checkpoint import generator_from_checkpoint, load_checkpoint, model_from_checkpoint
from digitlab.config import make_gen_config
from digitlab.errors import CheckpointError, RunFailed
from digitlab.gen_runner import resume_generator, run_generator
from digitlab.gen_trainer import failure_modes
from digitlab.generators.cdcgan import CDCGAN
from digitlab.records import GEN_CSV_FIELDS
from digitlab.store import RunStore

TINY = {
    "model": "cdcgan", "model_kwargs": {"width": 8, "latent_dim": 16}, "epochs": 2, "batch_size": 64, "train_subset": 512,
    "val_size": 500, "eval_samples": 200, "final_samples": 300, "grid_columns": 4, "threads": 1, "seed": 3,
}  # fmt: skip


def tiny(**kw):
    return make_gen_config({**TINY, **kw})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan")
    store = RunStore(runs_dir=root / "runs")
    name, result = run_generator(tiny(name="g"), runs_dir=root / "runs", store=store, models_dir=root / "models")
    return root, store, name, result


def test_a_generative_run_is_recorded_like_any_run(trained):
    root, store, name, result = trained
    rec = store.get_run(name)
    assert rec.task == "generate" and rec.status == "completed" and rec.model == "cdcgan" and rec.epochs_done == 2
    rows = store.epochs(rec.id)
    assert [r["epoch"] for r in rows] == [1, 2] and all(r["fid"] > 0 and 0 <= r["class_acc"] <= 1 and r["d_acc"] is not None for r in rows)
    assert (rec.folder.metrics.read_text().splitlines()[0]).split(",") == list(GEN_CSV_FIELDS)
    grids = sorted(p.name for p in (rec.folder.path / "samples").glob("*.png"))
    assert grids == ["epoch-001.png", "epoch-002.png"]
    assert Image.open(rec.folder.path / "samples" / "epoch-002.png").size == (4 * 30 + 2, 10 * 30 + 2)  # 4 columns, a row per digit
    q = rec.extra["quality"]
    assert q["fid_floor"] > 0 and q["fid_ratio"] == pytest.approx(q["fid"] / q["fid_floor"]) and len(q["classes"]) == 10
    assert rec.best_epoch == min(rows, key=lambda r: (r["fid"], -r["epoch"]))["epoch"]  # the lowest distance on validation
    assert "judge" in rec.folder.log.read_text() and rec.config.judge == "ship"


def test_the_best_generator_reloads_and_a_classifier_loader_refuses_it(trained):
    _, store, name, _ = trained
    ckpt = load_checkpoint(store.get_run(name).folder.best)
    gen = generator_from_checkpoint(ckpt)
    z, y = gen.noise(5, torch.Generator().manual_seed(0)), torch.arange(5)
    assert torch.equal(gen.sample(z, y), gen.sample(z, y)) and gen.sample(z, y).shape == (5, 1, 28, 28)
    with pytest.raises(CheckpointError, match="generator .* not a classifier"):
        model_from_checkpoint(ckpt)
    with pytest.raises(CheckpointError, match="is a classifier"):
        generator_from_checkpoint({**ckpt, "task": None})


def test_an_interrupted_run_resumes_exactly(tmp_path, trained):
    _, store0, name0, straight = trained
    store = RunStore(runs_dir=tmp_path / "runs")

    def stop_after_first(m):
        if m["epoch"] == 1:
            raise KeyboardInterrupt

    _, cut = run_generator(tiny(name="g"), runs_dir=tmp_path / "runs", store=store, hooks=[stop_after_first], models_dir=tmp_path / "m")
    assert cut.status == "interrupted" and store.get_run("g").status == "interrupted"
    _, resumed = resume_generator("g", runs_dir=tmp_path / "runs", store=store, models_dir=tmp_path / "m")
    assert resumed.status == "completed"
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit for bit: weights, optimisers, RNG and grid noise all restored
    keys = ("g_loss", "d_loss", "d_acc", "fid", "class_acc")
    assert [[h[k] for k in keys] for h in straight.history] == [[h[k] for k in keys] for h in resumed.history]


def test_failure_modes_are_said_in_words():
    said = failure_modes([3, 7], 0.996)
    assert len(said) == 2 and "mode collapse" in said[0] and "3, 7" in said[0] and "wins outright" in said[1]
    assert failure_modes([], 0.7) == [] and failure_modes([], None) == []


def test_a_loss_that_becomes_nan_fails_the_run_with_a_sentence(tmp_path, monkeypatch):
    def broken(self, x, y, opts):
        return {"g_loss": torch.tensor(float("nan")), "d_loss": torch.tensor(0.5), "d_acc": torch.tensor(0.5)}

    monkeypatch.setattr(CDCGAN, "train_step", broken)
    store = RunStore(runs_dir=tmp_path / "runs")
    with pytest.raises(RunFailed, match="g_loss became nan"):
        run_generator(tiny(name="nan", epochs=1), runs_dir=tmp_path / "runs", store=store, models_dir=tmp_path / "m")
    assert store.get_run("nan").status == "failed" and "lower lr" in store.get_run("nan").message


def test_cli_lists_generates_and_refuses(cli, trained):
    root, _, name, _ = trained
    runs = root / "runs"
    listed = cli("runs", "--task", "generate", runs_dir=runs)
    assert listed.code == 0 and name in listed.out and "floor" in listed.out, listed.text
    families = cli("gan", "list")
    assert families.code == 0 and all(f in families.out for f in ("cdcgan", "wgan-gp", "cvae")), families.text
    sevens = cli("generate", name, "--digit", "7", "-n", "16", "-o", "sevens.png", "--scale", "1", runs_dir=runs)
    assert sevens.code == 0 and "16 digits" in sevens.out and Image.open("sevens.png").size == (16 * 30 + 2, 32), sevens.text
    walk = cli("generate", name, "--interpolate", "3", "8", "-n", "16", "-o", "walk.png", "--scale", "1", runs_dir=runs)
    assert walk.code == 0 and Image.open("walk.png").size == (8 * 30 + 2, 2 * 30 + 2), walk.text
    for args, said in (
        (("--digit", "12"), "Digit 12 is not one"),
        (("--interpolate", "3", "11"), "Digit 11 is not one"),
    ):
        bad = cli("generate", name, *args, runs_dir=runs)
        assert bad.code == 2 and said in error_line(bad), bad.text
    assert "not a generator" in error_line(cli("generate", "ship"))
    assert "No run named" in error_line(cli("generate", "nope", runs_dir=runs))
    assert "Unknown generator" in error_line(cli("gan", "train", "model=dcgan", "epochs=1"))
    assert "Did you mean lr_d" in error_line(cli("gan", "train", "lrd=1"))


# --- using what it writes, and adversarial pictures in training


def _classifier(tmp_path, trained_root, name, **kw):
    from digitlab.config import make_config
    from digitlab.runner import run_training

    base = {
        "name": name,
        "model": "fast",
        "epochs": 2,
        "train_subset": 1000,
        "val_size": 300,
        "threads": 1,
        "batch_size": 64,
        "calibrate": False,
    }
    cfg = make_config({**base, **kw})
    store = RunStore(runs_dir=trained_root / "runs")
    return run_training(cfg, runs_dir=trained_root / "runs", store=store, models_dir=trained_root / "models")[1]


def test_generated_digits_join_the_training_batches(trained, tmp_path):
    root, store, name, _ = trained
    result = _classifier(tmp_path, root, "with-fakes", gen_source=name, gen_share=0.5)
    assert result.status == "completed" and result.best["val_acc"] > 0.5
    from digitlab.errors import ConfigError

    with pytest.raises(ConfigError, match="gen_source names no generative run"):
        _classifier(tmp_path, root, "no-source", gen_share=0.5)
    with pytest.raises(CheckpointError, match="gen_source 'ship' cannot be used: this checkpoint is a classifier"):
        _classifier(tmp_path, root, "ship-source", gen_source="ship", gen_share=0.5)


def test_adversarial_training_makes_a_model_harder_to_fool(trained, tmp_path):
    from digitlab.attacks import fgsm
    from digitlab.data import load_digits

    root = trained[0]
    plain = _classifier(tmp_path, root, "plain", seed=1)
    robust = _classifier(tmp_path, root, "robust", seed=1, adv_train="fgsm", adv_eps=0.1, adv_share=0.5)
    data = load_digits("mnist", 300, 0, 1000)
    x, y = data.val_x.unsqueeze(1).float() / 255, data.val_y

    def robust_acc(r) -> float:
        adv = fgsm(r.model, x, y, 0.1, data.mean, data.std)
        with torch.no_grad():
            return (r.model((adv - data.mean) / data.std).argmax(1) == y).float().mean().item()

    assert robust_acc(robust) > robust_acc(plain) + 0.05, (robust_acc(robust), robust_acc(plain))
