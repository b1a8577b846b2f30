"""Looking inside a trained network (issue 17, part 6): layer outputs and their shapes, first-layer filters, integrated
gradients (completeness) and Grad-CAM, for the shipped model and every registered family; the CLI and the API."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image
from torch import nn

from conftest import call_main, error_line
from digitlab.checkpoint import DEFAULT_MODEL
from digitlab.errors import ImageError, RunError
from digitlab.inside import digits_in, look_inside, open_subject
from digitlab.inside.picture import pick
from digitlab.inside.render import free_folder, write_pngs
from digitlab.models import create_model, list_models
from digitlab.serve import Settings, create_app
from digitlab.serve.settings import LOCAL_HOSTS
from synthetic import load_mnist_test

CLASSES = [str(k) for k in range(10)]


@pytest.fixture(scope="module")
def shipped():
    return open_subject(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def mnist():
    images, labels = load_mnist_test(4)
    return images.astype(np.float32) / 255, labels


def picture(digits: list[np.ndarray], side: int = 4) -> bytes:
    """Digits (ink = 1) side by side as dark ink on white paper, enlarged ``side`` times, PNG."""
    page = np.hstack([np.kron(np.pad(d, 8), np.ones((side, side))) for d in digits]) if digits else np.zeros((112, 112))
    buf = io.BytesIO()
    Image.fromarray(np.round(255 * (1 - page)).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_integrated_gradients_are_complete_on_the_shipped_model(shipped, mnist):
    """Sundararajan et al.'s completeness: the attributions sum to logit(x) - logit(blank), within the Riemann error."""
    images, labels = mnist
    for image, label in zip(images, labels):
        seen = shipped.inside(image)
        assert seen.predicted == label
        ig = seen.integrated
        assert ig.map.shape == (28, 28)
        assert ig.change > 1  # the answer's logit really rose from the blank picture: the check below is not 0 ~ 0
        assert abs(ig.total - ig.change) <= 0.05 * abs(ig.change), (ig.total, ig.change)


def test_attributions_are_zero_where_the_picture_equals_the_blank(shipped, mnist):
    seen = shipped.inside(mnist[0][0])
    paper = mnist[0][0] == 0
    assert paper.any() and (~paper).any()
    assert np.all(seen.integrated.map[paper] == 0)
    assert np.abs(seen.integrated.map[~paper]).sum() > 0


def test_layer_shapes_are_what_the_modules_output(shipped, mnist):
    """The user's "[N, 576] before the fully connected layer": cnn's Flatten gives [1, 576]; each shape is recomputed here."""
    seen = shipped.inside(mnist[0][0])
    model = shipped.model.eval()
    x = torch.from_numpy((mnist[0][0] - shipped.mean) / shipped.std)[None, None]
    by_name = {v.name: v for v in seen.layers}
    with torch.no_grad():
        for i, block in enumerate(model.features):
            out = model.features[: i + 1](x)  # the net's own modules up to this block
            name = f"features.{i}.{len(block) - 1}" if isinstance(block, nn.Sequential) else f"features.{i}"
            assert by_name[name].shape == tuple(out.shape), name
        assert seen.layers[-1].name == "head" and seen.layers[-1].shape == (1, 10)
    flat = by_name["features.3"]
    assert (flat.type, flat.shape_text, flat.maps) == ("Flatten", "[1, 576]", None)
    assert [v.name for v in seen.layers][:3] == ["features.0.0", "features.0.1", "features.0.2"]  # forward order


def test_channel_maps_are_the_most_active_channels(shipped, mnist):
    seen = shipped.inside(mnist[0][0])
    x = torch.from_numpy((mnist[0][0] - shipped.mean) / shipped.std)[None, None]
    with torch.no_grad():
        relu = shipped.model.eval().features[0][:2](x)[0]  # (32, 26, 26) after the first ReLU
    view = next(v for v in seen.layers if v.name == "features.0.1")
    means = relu.mean(dim=(1, 2))
    assert view.maps.shape == (8, 26, 26)
    assert means[list(view.channels)].min() >= means.sort(descending=True).values[7]
    np.testing.assert_allclose(view.maps[0], relu[view.channels[0]].numpy(), atol=1e-5)


def test_filters_are_the_first_layers_weights(shipped, mnist):
    seen = shipped.inside(mnist[0][0])
    conv = shipped.model.features[0][0]
    assert (seen.filters.layer, seen.filters.shape) == ("features.0.0", (32, 1, 3, 3))
    np.testing.assert_array_equal(seen.filters.images, conv.weight.detach()[:, 0].numpy())
    mlp = look_inside(create_model("mlp"), torch.zeros(1, 1, 28, 28), -0.4, CLASSES, np.zeros((28, 28)))
    assert mlp.filters.shape == (800, 784) and mlp.filters.images.shape == (64, 28, 28)


def test_grad_cam_on_the_last_feature_map(shipped, mnist):
    seen = shipped.inside(mnist[0][0])
    cam = seen.gradcam
    assert (cam.layer, cam.entering, cam.side, cam.map.shape) == ("features.3", True, (3, 3), (28, 28))  # the map Flatten takes
    assert cam.map.min() >= 0 and cam.map.max() == pytest.approx(1)


def test_the_callers_model_is_left_as_it_was(shipped, mnist):
    shipped.inside(mnist[0][0])
    assert not any(m._forward_hooks for m in shipped.model.modules())
    assert all(p.requires_grad for p in shipped.model.parameters())


@pytest.mark.parametrize("name", list_models())
def test_every_family_can_be_looked_inside(name):
    torch.manual_seed(0)
    model = create_model(name)
    x = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    seen = look_inside(model, x, -0.42, CLASSES, np.zeros((28, 28)), steps=16)
    assert seen.layers and seen.layers[-1].shape == (1, 10)
    assert seen.probs.sum() == pytest.approx(1, abs=1e-5)
    ig = seen.integrated
    assert ig.map.shape == (28, 28) and np.isfinite(ig.map).all()
    assert abs(ig.total - ig.change) <= 0.1 * abs(ig.change) + 1e-3
    has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    assert (seen.gradcam is not None) == has_conv  # rnn and mlp have none: said, not faked
    assert (seen.filters is None) == (name == "rnn")  # an LSTM reads rows: no image-shaped filters
    for v in seen.layers:
        assert v.maps is None or v.maps.shape == (len(v.channels), *v.shape[2:])


def test_a_picture_without_a_digit_is_one_sentence(shipped):
    with pytest.raises(ImageError, match="No digit was found"):
        digits_in(picture([]))


def test_the_kth_digit_and_how_many_there_are(mnist):
    found = digits_in(picture(list(mnist[0][:3])))
    assert len(found) == 3
    assert pick(found, 2) is found[1]
    with pytest.raises(ImageError, match="3 digits were found in the picture; choose a digit from 1 to 3, not 4"):
        pick(found, 4)


def test_pngs_are_written_and_nothing_is_overwritten(shipped, mnist, tmp_path):
    seen = shipped.inside(mnist[0][0])
    written = write_pngs(seen, tmp_path / "out")
    names = {p.name for p in written}
    assert {"saliency.png", "gradcam.png", "filters.png", "digit.png", "inside.json", "layer-01-features.0.0.png"} <= names
    assert Image.open(tmp_path / "out" / "saliency.png").size == (224, 224)  # 28x28 at 8x
    summary = json.loads((tmp_path / "out" / "inside.json").read_text())
    assert {"name": "features.3", "type": "Flatten", "shape": [1, 576], "channels": []} in summary["layers"]
    with pytest.raises(RunError, match="is not an empty folder"):
        write_pngs(seen, tmp_path / "out")
    (tmp_path / "inside-x").mkdir()
    assert free_folder("x", tmp_path) == tmp_path / "inside-x-2"


def test_cli_prints_the_layers_and_writes_the_pngs(mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two.png").write_bytes(picture([mnist[0][0], mnist[0][1]]))
    g = ["--runs-dir", str(tmp_path / "runs"), "--models-dir", str(tmp_path / "models")]
    res = call_main([*g, "inside", "ship", "two.png", "--digit", "2"])
    assert res.code == 0, res.text
    assert "[1, 576]" in res.out and "2 digits found in the picture; looking inside digit 2." in res.out
    assert f"Answer: {mnist[1][1]} (" in res.out
    assert (tmp_path / "inside-two" / "saliency.png").is_file()
    again = call_main([*g, "inside", "ship", "two.png"])  # the first folder is kept: a numbered one beside it
    assert again.code == 0 and (tmp_path / "inside-two-2" / "filters.png").is_file()
    (tmp_path / "blank.png").write_bytes(picture([]))
    bad = call_main([*g, "inside", "ship", "blank.png"])
    assert bad.code == 2 and "No digit was found in the picture" in error_line(bad)
    assert not (tmp_path / "inside-blank").exists()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("inside-lab")
    settings = Settings(
        runs_dir=root / "runs", models_dir=root / "models", model=str(DEFAULT_MODEL), allowed_hosts=LOCAL_HOSTS | {"testserver"}
    )
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_api_looks_inside_the_recognise_model(client, mnist):
    r = client.post("/api/inside", files={"file": ("two.png", picture([mnist[0][0], mnist[0][1]]), "image/png")}, data={"digit": "1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] == str(mnist[1][1])
    flat = next(v for v in body["layers"] if v["name"] == "features.3")
    assert flat["shape"] == [1, 576] and flat["maps"] is None
    first = body["layers"][0]
    assert first["shape"] == [1, 32, 26, 26] and first["maps"].startswith("data:image/png;base64,")
    assert all(body["images"][k].startswith("data:image/png;base64,") for k in ("saliency", "gradcam", "filters"))
    assert body["gradcam"] == {"layer": "features.3", "entering": True, "side": [3, 3]}
    assert "/api/inside" in client.get("/openapi.json").json()["paths"]
    ig = body["integrated_gradients"]
    assert abs(ig["sum"] - (ig["logit"] - ig["baseline_logit"])) <= 0.05 * abs(ig["logit"] - ig["baseline_logit"])


def test_api_says_what_is_wrong_in_one_sentence(client, mnist):
    blank = client.post("/api/inside", files={"file": ("blank.png", picture([]), "image/png")})
    assert blank.status_code == 422 and blank.json()["detail"].startswith("No digit was found")
    beyond = client.post("/api/inside", files={"file": ("one.png", picture([mnist[0][0]]), "image/png")}, data={"digit": "3"})
    assert beyond.status_code == 422 and "1 digit was found" in beyond.json()["detail"]
    text = client.post("/api/inside", files={"file": ("x.png", b"not a picture", "image/png")})
    assert text.status_code == 422 and isinstance(text.json()["detail"], str)
    big = client.post("/api/inside", files={"file": ("big.png", b"\0" * (10 * 1024 * 1024 + 1), "image/png")})
    assert big.status_code == 413


def test_integrated_gradients_of_a_linear_model_are_weight_times_difference():
    """For f(x) = w . x + b the path integral is exact: attribution = w * (x - baseline), whatever the steps."""
    from digitlab.inside.saliency import integrated_gradients

    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10)).requires_grad_(False)
    x = torch.randn(1, 1, 28, 28)
    ig = integrated_gradients(net, x, blank=-0.4, target=3, steps=8)
    expected = (net[1].weight[3].reshape(28, 28) * (x[0, 0] + 0.4)).numpy()
    np.testing.assert_allclose(ig.map, expected, rtol=1e-4, atol=1e-6)
    assert ig.total == pytest.approx(ig.change, rel=1e-4)


def test_grad_cam_matches_a_computation_by_hand(shipped, mnist):
    """Selvaraju et al.'s recipe written out on the shipped cnn, without hooks: the map entering Flatten, its gradient."""
    seen = shipped.inside(mnist[0][0])
    model = shipped.model.eval()
    x = torch.from_numpy(shipped.normalised(mnist[0][0]))[None, None]
    maps = model.features[:3](x).detach().requires_grad_(True)  # (1, 64, 3, 3): what Flatten takes
    logit = model.head(model.features[3:](maps))[0, seen.predicted]
    grads = torch.autograd.grad(logit, maps)[0]
    cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * maps).sum(1, keepdim=True)).detach()
    big = torch.nn.functional.interpolate(cam, size=(28, 28), mode="bilinear", align_corners=False)[0, 0]
    np.testing.assert_allclose(seen.gradcam.map, (big / big.max()).numpy(), atol=1e-5)
