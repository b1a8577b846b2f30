"""The shipped model and the predictor: accuracy, stored calibration, pictures people give, bad inputs, CLI output."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from digitlab.checkpoint import load_checkpoint, model_from_checkpoint
from digitlab.data import load_digits
from digitlab.inference import evaluate, model_view
from digitlab.recognize.predictor import DEFAULT_MODEL, Predictor
from digitlab.recognize.rejection import Rejector
from synthetic import encode, load_mnist_test, make_blank, make_photo, make_strip


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def mnist():
    return load_digits("mnist", 5000, 0)


def test_shipped_model_is_accurate_on_the_test_split(mnist):
    ckpt = load_checkpoint(DEFAULT_MODEL)
    r = evaluate(model_from_checkpoint(ckpt), mnist.test_x, mnist.test_y, ckpt["norm"]["mean"], ckpt["norm"]["std"])
    assert r.acc >= 0.995


def test_shipped_calibration_accepts_validation_digits_and_rejects_noise(mnist):
    ckpt = load_checkpoint(DEFAULT_MODEL)
    rej = Rejector.from_state(ckpt["rejection"])
    assert rej.tpr == pytest.approx(0.99)
    model, mean, std = model_from_checkpoint(ckpt), ckpt["norm"]["mean"], ckpt["norm"]["std"]
    val = rej.combined(model_view(model, mnist.val_x, mean, std))
    assert (val >= rej.threshold).float().mean() >= 0.985
    g = torch.Generator().manual_seed(0)
    for noise in (torch.rand(500, 28, 28, generator=g), (torch.randn(500, 28, 28, generator=g) * 0.25 + 0.5).clamp(0, 1)):
        assert (rej.combined(model_view(model, noise, mean, std)) >= rej.threshold).float().mean() <= 0.01


def test_synthetic_phone_photos_are_recognised(predictor):
    images, labels = load_mnist_test(300)
    rng = np.random.default_rng(42)
    right = 0
    for img, lab in zip(images, labels):
        data = encode(make_photo(img, rng, (360, 480), ruled=bool(rng.random() < 0.25)), "JPEG", quality=int(rng.integers(70, 91)))
        right += predictor.predict(data).text == str(lab)
    assert right / len(labels) >= 0.97


def test_a_strip_of_digits_is_read_left_to_right(predictor):
    images, labels = load_mnist_test(12)
    pick = [0, 1, 2, 3, 4]  # 7 2 1 0 4
    answer = predictor.predict(encode(make_strip([images[i] for i in pick], np.random.default_rng(1)), "PNG"))
    assert answer.text == "".join(str(labels[i]) for i in pick)
    xs = [d.box[0] for d in answer.digits]
    assert xs == sorted(xs)


def test_not_a_digit_for_blank_pages_noise_and_blobs(predictor):
    rng = np.random.default_rng(3)
    blank = predictor.predict(encode(make_blank(rng), "JPEG", quality=85))
    noise = predictor.predict(encode((rng.random((200, 200)) * 255).astype(np.uint8), "PNG"))
    blob = np.full((200, 200), 255, np.uint8)
    blob[40:160, 50:150] = 0  # a solid black rectangle on white paper
    for answer in (blank, noise, predictor.predict(encode(blob, "PNG"))):
        assert answer.ok and answer.text == ""
        assert all(not d.accepted and d.reason for d in answer.digits)


def test_reject_tpr_moves_the_threshold():
    strict, loose = Predictor(DEFAULT_MODEL, reject_tpr=0.9), Predictor(DEFAULT_MODEL, reject_tpr=0.999)
    assert strict.rejector.threshold > loose.rejector.threshold


def test_a_28x28_array_goes_straight_through(predictor):
    images, labels = load_mnist_test(20)
    answers = predictor.classify(images.astype(np.float32) / 255)
    assert sum(a.digit == lab for a, lab in zip(answers, labels)) >= 19


def test_cli_reports_each_bad_file_and_carries_on(cli, lab):
    images, labels = load_mnist_test(1)
    Image.fromarray(255 - images[0]).resize((112, 112)).save(lab / "good.png")
    (lab / "zero.png").write_bytes(b"")
    (lab / "text.png").write_text("not an image")
    (lab / "cut.png").write_bytes((lab / "good.png").read_bytes()[:60])
    Image.new("L", (1, 1), 255).save(lab / "one.png")
    Image.new("L", (300, 300), 255).save(lab / "white.png")
    Image.new("L", (300, 300), 0).save(lab / "black.png")
    Image.new("1", (8000, 8000)).save(lab / "bomb.png")  # 64 M pixels: over the limit, refused before decoding
    (lab / "empty_dir").mkdir()
    files = ["good.png", "zero.png", "text.png", "cut.png", "one.png", "white.png", "black.png", "bomb.png", "missing.png", "empty_dir"]
    res = cli("predict", *[str(lab / f) for f in files], "--json")
    assert res.code == 1  # some pictures failed
    rows = {json.loads(line)["source"].rsplit("/", 1)[-1]: json.loads(line) for line in res.out.splitlines()}
    assert rows["good.png"]["text"] == str(labels[0]) and rows["good.png"]["error"] is None
    for bad in ("zero.png", "text.png", "cut.png", "bomb.png", "missing.png", "empty_dir"):
        assert rows[bad]["error"], bad
    for empty in ("one.png", "white.png", "black.png"):  # valid pictures without a digit: an answer, not an error
        assert rows[empty]["error"] is None and rows[empty]["text"] == ""
    assert "Traceback" not in res.text


def test_cli_plain_csv_stdin_and_explain(cli, lab, monkeypatch):
    images, labels = load_mnist_test(1)
    Image.fromarray(255 - images[0]).save(lab / "d.png")
    plain = cli("predict", str(lab / "d.png"))
    assert plain.code == 0 and f": {labels[0]} (" in plain.out
    csv_out = cli("predict", str(lab / "d.png"), "--csv")
    assert csv_out.out.splitlines()[0].startswith("source,text") and f",{labels[0]}," in csv_out.out
    monkeypatch.setattr("sys.stdin", type("S", (), {"buffer": open(lab / "d.png", "rb")})())
    assert cli("predict", "-").code == 0
    out = lab / "explain"
    assert cli("predict", str(lab / "d.png"), "--explain", str(out)).code == 0
    assert {p.name for p in out.iterdir()} >= {"d-boxes.png", "d-digit0.png", "d-scores.json"}


def test_ood_eval_on_a_run_is_saved_and_shown(cli, lab):
    from conftest import small

    assert cli("train", *small("name=tiny", "val_size=1000")).code == 0
    res = cli("ood-eval", "tiny", "--json")
    assert res.code == 0
    r = json.loads(res.out)
    assert "95%" in r["definition"] and set(r["sets"]) == {
        "fashion-mnist",
        "gaussian-noise",
        "uniform-noise",
        "constant",
        "near-blank",
        "inverted-digits",
    }
    for s in r["sets"].values():
        assert set(s["detectors"]) == {"msp", "energy", "mahalanobis", "knn", "combined"}
        assert 0 <= s["input_checks_reject"] <= 1 and 0 <= s["accepted_at_threshold"] <= 1
    assert r["sets"]["near-blank"]["input_checks_reject"] > 0.9  # a few specks are no digit, before any model runs
    assert (lab / "runs" / "tiny" / "ood.json").is_file()
    shown = cli("show", "tiny")
    assert "Saying 'not a digit'" in shown.out and "fashion-mnist" in shown.out


def test_the_benchmark_phone_photo_is_read_as_its_digit():
    """The recognition benchmark times a 4000x3000 phone photo of an MNIST digit: it must be a digit, read right.

    (It was drawn inverted, a dark square with a light digit, which the predictor rightly refused as a solid blob,
    so the benchmark timed a refusal.)
    """
    from digitlab.data.realworld.photo import phone_jpeg
    from digitlab.recognize.predictor import Predictor
    from synthetic import load_mnist_test

    x, y = load_mnist_test(1)
    answer = Predictor().predict(phone_jpeg(x[0]))
    assert answer.text == str(y[0]), answer.to_dict()
