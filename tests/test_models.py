"""Contract tests for every registered model, generated from the registry.

A model added later with ``@register_model`` is picked up by ``list_models()``
and must pass the same checks: shape, documented parameter count, trainability,
checkpoint round-trip, summary/FLOPs and argument validation.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
import torch
import torch.nn.functional as F

from digitlab.errors import ModelError
from digitlab.models import count_flops, count_params, create_model, get_spec, list_models, register_model, registry, summarize
from digitlab.models.registry import default_param_count

MODELS = list_models()


def digits(n: int, seed: int = 0) -> torch.Tensor:
    """A fixed batch of random "normalised pixel" images, (n, 1, 28, 28)."""
    return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", MODELS)
def test_output_shape_and_finite(name):
    model = create_model(name).eval()
    with torch.no_grad():
        out = model(digits(3))
    assert out.shape == (3, 10)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", MODELS)
def test_documented_param_count(name):
    assert count_params(create_model(name)) == get_spec(name).num_params


@pytest.mark.parametrize("name", MODELS)
def test_every_family_says_what_it_is_in_english_and_chinese(name):
    spec = get_spec(name)
    assert spec.summary.endswith(".") and "\n" not in spec.summary, spec.summary  # the whole first paragraph, one line
    assert re.search(r"[\u4e00-\u9fff]", spec.summary_zh), f"{name} has no Chinese one-line description (summary_zh)"


def test_a_family_cannot_register_without_its_chinese_description():
    with pytest.raises(TypeError, match="summary_zh"):
        register_model("no-chinese-family", paper="-")  # type: ignore[call-arg]
    assert "no-chinese-family" not in list_models()


def test_default_param_count_is_the_documented_one_or_counted_once(monkeypatch):
    assert default_param_count("cnn") == get_spec("cnn").num_params == 131_050
    undocumented = dataclasses.replace(get_spec("mlp"), num_params=None)
    monkeypatch.setattr(registry, "get_spec", lambda name: undocumented)
    default_param_count.cache_clear()
    try:
        assert default_param_count("mlp") == count_params(create_model("mlp")) == 1_276_810  # counted on a built model
        hits = default_param_count.cache_info().hits
        assert default_param_count("mlp") == 1_276_810 and default_param_count.cache_info().hits == hits + 1  # remembered
    finally:
        default_param_count.cache_clear()


@pytest.mark.parametrize("name", MODELS)
def test_a_few_adam_steps_lower_the_loss(name):
    torch.manual_seed(0)  # model init and dropout masks
    model = create_model(name)
    x, y = digits(16), torch.arange(16) % 10
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def eval_loss() -> float:  # eval mode: no dropout noise, fixed BN statistics
        model.eval()
        with torch.no_grad():
            return F.cross_entropy(model(x), y).item()

    before = eval_loss()
    model.train()
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    assert eval_loss() < before


@pytest.mark.parametrize("name", MODELS)
def test_state_dict_round_trip(name, tmp_path):
    model = create_model(name).eval()
    path = tmp_path / f"{name}.pt"
    torch.save(model.state_dict(), path)
    fresh = create_model(name)
    fresh.load_state_dict(torch.load(path, weights_only=True))
    fresh.eval()
    x = digits(2)
    with torch.no_grad():
        assert torch.equal(model(x), fresh(x))


@pytest.mark.parametrize("name", MODELS)
def test_summary_and_flops(name):
    model = create_model(name)
    rows = summarize(model)
    assert rows[-1].output_shape == (1, 10)
    assert sum(r.params for r in rows) == count_params(model)
    assert count_flops(model) > 0
    assert model.training  # the probe pass restores the mode


@pytest.mark.parametrize("name", MODELS)
def test_unknown_kwarg_is_a_model_error(name):
    with pytest.raises(ModelError, match="no_such_arg"):
        create_model(name, no_such_arg=1)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ModelError, match="lenet5"):
        create_model("lenet")


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("lenet5", {"variant": "retro"}),
        ("resnet", {"depth": 19}),
        ("resnet", {"depth": 34}),  # ImageNet ResNet-34 is not offered
        ("rnn", {"cell": "transformer"}),
        ("vit", {"patch": 5}),
        ("vit", {"dim": 30, "heads": 4}),
        ("regnet", {"preset": "x_huge"}),
        ("regnet", {"depth": 40, "wa": 60.0}),  # more stages than 28x28 allows
        ("vgg16", {"width": 0.0}),
    ],
)
def test_bad_values_are_model_errors(name, kwargs):
    with pytest.raises(ModelError):
        create_model(name, **kwargs)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("rnn", {"pixelwise": True}),
        ("rnn", {"cell": "gru", "bidirectional": True, "layers": 2}),
        ("resnet", {"depth": 18, "width": 0.25}),
        ("resnet", {"depth": 32, "preact": True}),
        ("vit", {"patch": 4}),
        ("lenet5", {"variant": "classic"}),
        ("alexnet", {"lrn": True}),
        ("vgg16", {"batchnorm": False}),
        ("regnet", {"preset": "y_small"}),
        ("regnet", {"preset": "x_tiny", "bottleneck": 2.0, "group_width": 16}),
        ("mlp", {"depth": 0}),
    ],
)
def test_variants_build_and_classify(name, kwargs):
    model = create_model(name, **kwargs).eval()
    with torch.no_grad():
        out = model(digits(2))
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()


def test_resnet18_full_width_builds():
    model = create_model("resnet", depth=18).eval()
    assert 11_000_000 < count_params(model) < 11_300_000  # ResNet-18 minus the ImageNet stem and head
    with torch.no_grad():
        assert model(digits(1)).shape == (1, 10)


def test_regnet_widths_follow_the_quantised_linear_rule():
    from digitlab.models.regnet import stage_widths

    # the paper's RegNetX-200MF parameters give stages 24, 56, 152, 368 with depths 1, 1, 4, 7
    assert stage_widths(13, 24, 36.44, 2.49) == [(24, 1), (56, 1), (152, 4), (368, 7)]
