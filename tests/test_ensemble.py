"""Ensembles (issue 13, parts 1, 2 and 4): methods on validation, one network in one checkpoint, rejection by disagreement.

The pool is four tiny runs (two ``fast`` CNNs, two MLPs; one epoch on 1,000 or 800 images, one thread). Ensembles made
in-process get the members' data with a 2,000-image test split to stay quick; the CLI and the export use the full one.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import MNIST, error_line
from digitlab.catalog import promote, resolve
from digitlab.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from digitlab.config import load_config
from digitlab.data import load_digits
from digitlab.ensemble import create_ensemble, member_probs
from digitlab.ensemble_methods import AUTO_CANDIDATES, fit_weights, greedy, pick_method, score, uniform
from digitlab.errors import DigitlabError
from digitlab.inference import ModelView, model_view
from digitlab.models.ensemble import combine
from digitlab.recognize.predictor import Predictor
from digitlab.recognize.rejection import Rejector, create_detector
from digitlab.recognize.rejection.disagreement import Disagreement
from digitlab.runner import run_training
from digitlab.store import RunStore

SMALL = ["epochs=1", "train_subset=1000", "val_size=500", "threads=1", "batch_size=64", "calibrate=false"]
POOL = {
    "cnn-a": ["model=fast", "seed=0"],
    "cnn-b": ["model=fast", "seed=1"],
    "mlp-a": ["model=mlp", "train_subset=800"],
    "mlp-b": ["model=mlp", "seed=2"],
}


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """Four recorded tiny runs sharing one validation split (mlp-a trained on other images: other pixel statistics)."""
    root = tmp_path_factory.mktemp("ensemble")
    store = RunStore(runs_dir=root / "runs")
    for name, extra in POOL.items():
        run_training(load_config(None, [*SMALL, *extra, f"name={name}"]), runs_dir=root / "runs", store=store, data_dir=str(MNIST))
    data = load_digits("mnist", 500, 0, 1000, str(MNIST))
    data = dataclasses.replace(data, test_x=data.test_x[:2000], test_y=data.test_y[:2000])
    return root, store, data


def make(pool, name, members, method="mean", tta="off", data=None):
    root, store, small_data = pool
    return create_ensemble(
        name, members, method, tta, store=store, runs_dir=root / "runs", models_dir=root / "models", data=data or small_data
    )


# --- methods, on probabilities alone


def _pool_probs(m=4, n=300, c=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, c, (n,), generator=g)
    logits = torch.randn(m, n, c, generator=g)
    logits[torch.arange(m)[:, None], torch.arange(n)[None], labels[None]] += torch.linspace(0.5, 3, m)[:, None]  # member m is better
    return logits.softmax(-1).double(), labels


@pytest.mark.parametrize("method", [uniform, fit_weights, greedy])
def test_each_method_gives_weights_on_the_simplex(method):
    probs, labels = _pool_probs()
    w = method(probs, labels)
    assert w.shape == (4,) and (w >= 0).all() and w.sum().item() == pytest.approx(1.0, abs=1e-12)
    assert torch.equal(w, method(probs, labels))  # deterministic


def test_fitted_weights_beat_the_plain_mean_on_validation_nll_and_greedy_starts_from_the_best():
    probs, labels = _pool_probs()
    assert score(probs, fit_weights(probs, labels), labels)[1] <= score(probs, uniform(probs, labels), labels)[1]
    w = greedy(probs, labels)
    assert w[3] == w.max()  # the best single member is drawn first and most
    assert any(((w * n) - (w * n).round()).abs().max() < 1e-9 for n in range(1, 26))  # draws / bag size, a bag of 25 at most


def test_auto_picks_by_accuracy_on_held_out_halves_of_validation():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 10, (600,), generator=g)
    truth = torch.nn.functional.one_hot(labels, 10)
    unequal = (torch.randn(4, 600, 10, generator=g) + torch.tensor([0.0, 0.0, 0.0, 3.0])[:, None, None] * truth).softmax(-1).double()
    picked, held = pick_method(unequal, labels)  # three members guess: fitted weights beat the plain mean on unseen halves
    assert set(held) == set(AUTO_CANDIDATES) and picked != "mean" and held[picked] == max(held.values())
    assert held["mean"] < held[picked] and held == pick_method(unequal, labels)[1]  # deterministic
    equal = (torch.randn(4, 600, 10, generator=g) + 2.0 * truth).softmax(-1).double()
    assert pick_method(equal, labels)[0] == "mean"  # equally good members: nothing to fit, the simplest wins


def test_vote_ties_go_to_the_likelier_class_every_time():
    # two members, one vote each for classes 0 and 1; member 1 is surer, so the tie goes to class 1
    probs = torch.tensor([[[0.6, 0.4, 0.0]], [[0.05, 0.95, 0.0]]])
    out = combine(probs, torch.tensor([0.5, 0.5]), "vote")
    assert out.argmax(1).item() == 1 and torch.equal(out, combine(probs, torch.tensor([0.5, 0.5]), "vote"))
    assert out.sum().item() == pytest.approx(1.0)
    swapped = combine(probs.flip(0), torch.tensor([0.5, 0.5]), "vote")  # member order does not decide
    assert torch.allclose(out, swapped)


def test_the_choice_never_reads_test_labels(pool):
    _, _, data = pool
    shuffled = dataclasses.replace(data, test_y=data.test_y[torch.randperm(len(data.test_y), generator=torch.Generator().manual_seed(1))])
    a = make(pool, "auto-1", list(POOL), "auto", data=data).extra["ensemble"]
    b = make(pool, "auto-2", list(POOL), "auto", data=shuffled).extra["ensemble"]
    assert a["method"] in AUTO_CANDIDATES and a["held_out"][a["method"]] == max(a["held_out"].values())
    assert [m["weight"] for m in a["members"]] == [m["weight"] for m in b["members"]] and a["held_out"] == b["held_out"]
    assert a["val_acc"] == b["val_acc"] and a["test_acc"] != b["test_acc"]  # the test labels changed only the report


# --- an ensemble is a model like any other


def test_an_ensemble_is_recorded_reloaded_and_predicts(pool):
    root, store, data = pool
    rec = make(pool, "mix", ["cnn-a", "cnn-b", "mlp-a"], "weights", tta="auto")
    assert rec.status == "completed" and rec.model == "ensemble" and rec.best_val_acc is not None and rec.test_acc is not None
    e = rec.extra["ensemble"]
    assert sum(m["weight"] for m in e["members"]) == pytest.approx(1.0) and e["tta_val_acc"]["on"] is not None
    path = resolve("mix", store, root / "models")
    ckpt = load_checkpoint(path)
    assert (
        ckpt["norm"] == {"mean": 0.0, "std": 1.0}
        and "disagreement" in ckpt["rejection"]["detectors"]
        or len(ckpt["ensemble"]["weights"]) == 1
    )
    net = model_from_checkpoint(ckpt)
    view = model_view(net, data.val_x[:200], 0.0, 1.0)
    # the network's logits are the log of the chosen combination of the members' own probabilities
    members = [model_from_checkpoint(load_checkpoint(resolve(m["run"], store))) for m in ckpt["ensemble"]["members"]]
    probs = member_probs(members, [m["norm"] for m in ckpt["ensemble"]["members"]], data.val_x[:200], ckpt["ensemble"]["tta"])
    want = combine(probs, torch.tensor(ckpt["ensemble"]["weights"]), "weights")
    assert torch.allclose(view.logits.softmax(1), want, atol=1e-5)
    assert rec.best_val_acc == pytest.approx(((view.logits.argmax(1) == data.val_y[:200]).float().mean().item()), abs=0.1)
    predictor = Predictor(path)
    answer = predictor.predict(_png(data.test_x[0].numpy()), name="digit.png")
    assert answer.ok and len(answer.digits) == 1
    shown = predictor.meta["ensemble"]  # what the web app's Models tab lists: members and weights
    assert shown["method"] == "weights" and [m["weight"] for m in shown["members"]] == ckpt["ensemble"]["weights"]
    assert {m["run"] for m in shown["members"]} <= {"cnn-a", "cnn-b", "mlp-a"}
    dest = promote(store, "mix", "gen-ens", models_dir=root / "models")
    assert resolve("gen-ens", store, root / "models") == dest


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(255 - img).resize((112, 112)).save(buf, format="PNG")  # dark ink on white, as a photo of paper
    return buf.getvalue()


def test_members_with_other_pixel_statistics_keep_their_own(pool):
    root, store, _ = pool
    ckpt = load_checkpoint(make(pool, "norms", ["cnn-a", "mlp-a"]).folder.best)
    norms = [m["norm"] for m in ckpt["ensemble"]["members"]]
    assert norms[0] != norms[1]
    assert norms == [load_checkpoint(resolve(r, store))["norm"] for r in ("cnn-a", "mlp-a")]


def test_the_ensemble_exports_as_one_onnx_graph_with_parity(pool, tmp_path):
    pytest.importorskip("onnxruntime", reason="the export extra is not installed")
    from digitlab.export import check_parity, export_onnx, onnx_view

    _, _, data = pool
    # the detectors fit on 20,000 training images: the MLPs' 800 features each need more than the members' 1,000
    wide = dataclasses.replace(load_digits("mnist", 500, 0, 0, str(MNIST)), test_x=data.test_x, test_y=data.test_y)
    rec = make(pool, "mlps", ["mlp-a", "mlp-b"], "mean", data=wide)
    ckpt = load_checkpoint(rec.folder.best)
    ckpt["ensemble"]["tta"] = True  # with the test-time views too: grid sampling inside the graph
    path = save_checkpoint(tmp_path / "tta.pt", {k: v for k, v in ckpt.items() if k != "format"})
    out = export_onnx(path, tmp_path / "model.onnx")
    parity = check_parity(out, path, str(MNIST))
    assert parity.ok and parity.n == 10_000, parity
    for n in (1, 5):
        assert onnx_view(out, torch.zeros(n, 28, 28, dtype=torch.uint8)).logits.shape == (n, 10)


# --- bad inputs are one sentence


def test_bad_pools_are_refused_in_one_sentence(pool, tmp_path):
    root, store, data = pool
    ckpt = load_checkpoint(resolve("mlp-b", store))
    other_split = save_checkpoint(
        tmp_path / "split.pt", {**{k: v for k, v in ckpt.items() if k != "format"}, "config": {**ckpt["config"], "val_size": 400}}
    )
    other_classes = save_checkpoint(
        tmp_path / "classes.pt", {**{k: v for k, v in ckpt.items() if k != "format"}, "classes": list("abcdefghij")}
    )
    cases = {
        "the pool is empty": [],
        "No run named 'nope'": ["mlp-a", "nope"],
        "listed twice": ["mlp-a", "mlp-a"],
        "predict different classes": ["mlp-a", str(other_classes)],
        "were validated on different splits": ["mlp-a", str(other_split)],
        "is itself an ensemble": ["mlp-a", "norms"]
        if (root / "runs" / "norms").is_dir()
        else ["mlp-a", str(make(pool, "nested", ["mlp-b"]).folder.best)],
    }
    for sentence, members in cases.items():
        with pytest.raises(DigitlabError, match=sentence):
            make(pool, None, members)
    with pytest.raises(DigitlabError, match="Run 'mlp-b' already exists"):
        make(pool, "mlp-b", ["mlp-a"])
    with pytest.raises(DigitlabError, match="Unknown ensemble method 'median'"):
        make(pool, None, ["mlp-a"], "median")
    assert not [r for r in store.list_runs() if r.status != "completed"]  # a refused ensemble leaves no run behind


def test_cli_creates_and_shows_and_refuses(cli, pool):
    root, _, _ = pool
    runs = root / "runs"
    res = cli("ensemble", "create", "duo", "--members", "mlp-a", "mlp-b", "--method", "greedy", "--tta", "off", runs_dir=runs)
    assert res.code == 0, res.text
    shown = cli("ensemble", "show", "duo", runs_dir=runs)
    assert shown.code == 0 and "greedy" in shown.out and "mlp-a" in shown.out and "mlp-b" in shown.out, shown.text
    assert "duo" in cli("runs", "--model", "ensemble", runs_dir=runs).out
    bad = cli("ensemble", "create", "trio", "--members", "mlp-a", "ghost", runs_dir=runs)
    assert bad.code == 2 and "No run named 'ghost'" in error_line(bad)
    not_one = cli("ensemble", "show", "mlp-a", runs_dir=runs)
    assert not_one.code == 2 and "not an ensemble" in error_line(not_one)


# --- rejection by the members' disagreement


def _view(member_probs: torch.Tensor) -> ModelView:
    """A view whose features end with the members' probabilities (N, M, C), as an ensemble's do."""
    n, m, c = member_probs.shape
    combined = member_probs.mean(1)
    return ModelView(torch.cat([torch.rand(n, 4), member_probs.reshape(n, m * c)], 1), combined.log())


def test_disagreement_scores_agreeing_members_higher():
    eye = torch.eye(10)
    agree = torch.stack([eye[[3, 3, 3]], eye[[7, 7, 7]]]) * 0.9 + 0.01  # (2, M=3, C=10)
    disagree = torch.stack([eye[[3, 5, 8]], eye[[1, 7, 2]]]) * 0.9 + 0.01
    det = Disagreement(torch.full((3,), 1 / 3))
    s = det.score(_view(torch.cat([agree, disagree])))
    assert s[:2].min() > s[2:].max() and s[:2].abs().max() < 1e-6  # agreeing members: no mutual information
    again = create_detector("disagreement")
    again.load_state_dict(det.state_dict())
    assert torch.equal(again.score(_view(disagree)), det.score(_view(disagree)))


def test_ood_eval_reports_disagreement_beside_the_others(pool):
    from digitlab.recognize.ood_eval import ood_eval

    rec = make(pool, "ood", ["mlp-a", "mlp-b"], "mean")
    rej = Rejector.from_state(load_checkpoint(rec.folder.best)["rejection"])
    assert list(rej.detectors) == ["msp", "mahalanobis", "knn", "disagreement"]
    res = ood_eval(rec.folder.best)  # the checkout's data/ (MNIST and Fashion-MNIST)
    for s in res["sets"].values():
        assert {"disagreement", "combined", "msp"} <= set(s["detectors"])
