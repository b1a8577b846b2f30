"""Contract tests for every registered generator, generated from the registry.

A family added later with ``@register_generator`` is picked up by ``list_generators()`` and must pass the same
checks: samples of the right shape and range, conditioning honoured, a training step that reports finite detached
figures and moves every part, checkpoint round-trip, exact resume, argument validation and a little learning.
Everything runs on one thread with batches of 20 images.
"""

from __future__ import annotations

import inspect
import re

import pytest
import torch

from digitlab.checkpoint import load_checkpoint, save_checkpoint
from digitlab.errors import ModelError
from digitlab.generators import Generative, create_generator, generator_spec, list_generators

torch.set_num_threads(1)

GENERATORS = list_generators()
ONE_SENTENCE = re.compile(r"[^\n]*[^.!?][.]")  # ends with one full stop, no line break
SENTENCE_BREAK = re.compile(r"[.!?]\s")


def strokes(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch of digit-like images in [0, 1] and their labels: class k is a vertical stroke at column 5 + 2k."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 10
    x = 0.1 * torch.rand(n, 1, 28, 28, generator=gen)  # faint background noise
    for i, k in enumerate(y.tolist()):
        x[i, 0, 4:24, 5 + 2 * k : 8 + 2 * k] = 1.0  # (20 rows x 3 columns) of ink
    return x, y


def optimisers(model: Generative) -> dict[str, torch.optim.Optimizer]:
    """Adam per part, at the usual settings of each kind (DCGAN's for the GANs)."""
    adversarial = set(model.parts()) == {"g", "d"}
    lr, betas = (2e-4, (0.5, 0.999)) if adversarial else (1e-3, (0.9, 0.999))
    return {k: torch.optim.Adam(part.parameters(), lr=lr, betas=betas) for k, part in model.parts().items()}


def build(name: str, seed: int = 0) -> Generative:
    torch.manual_seed(seed)  # weights
    return create_generator(name)


@pytest.mark.parametrize("name", GENERATORS)
def test_spec_cites_its_paper_and_matches_the_parts(name):
    spec = generator_spec(name)
    assert spec.summary and spec.paper
    assert spec.paper.split()[0] in inspect.getmodule(spec.factory).__doc__  # the module docstring cites it too
    model = create_generator(name)
    assert set(model.parts()) == ({"g", "d"} if spec.adversarial else {"g"})
    in_parts = {id(p) for part in model.parts().values() for p in part.parameters()}
    assert in_parts == {id(p) for p in model.parameters()}  # every weight has an optimiser, none has two


@pytest.mark.parametrize("name", GENERATORS)
def test_samples_are_digit_images_in_unit_range(name):
    model = build(name).eval()
    z, y = model.noise(5, torch.Generator().manual_seed(1)), torch.tensor([0, 3, 5, 7, 9])
    images = model.sample(z, y)
    assert z.shape == (5, model.latent_dim)
    assert images.shape == (5, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert not images.requires_grad
    assert model.sample(z[:1], y[:1]).shape == (1, 1, 28, 28)  # a single image in eval mode


@pytest.mark.parametrize("name", GENERATORS)
def test_conditioning_is_honoured(name):
    model = build(name).eval()
    z = model.noise(1, torch.Generator().manual_seed(2)).repeat(10, 1)  # one noise vector, every class
    images = model.sample(z, torch.arange(10))
    gaps = (images[1:] - images[:-1]).abs().amax(dim=(1, 2, 3))
    assert (gaps > 1e-3).all()  # another label, another image
    assert torch.equal(images, model.sample(z, torch.arange(10)))  # same noise and label: the same image


@pytest.mark.parametrize("name", GENERATORS)
def test_train_step_reports_detached_figures_and_moves_every_part(name):
    model = build(name)
    opts = optimisers(model)
    before = {k: [p.detach().clone() for p in part.parameters()] for k, part in model.parts().items()}
    out = model.train_step(*strokes(20), opts)
    expected = {"g_loss", "d_loss", "d_acc"} if generator_spec(name).adversarial else {"g_loss"}
    assert expected <= set(out)
    for key, value in out.items():
        assert isinstance(value, torch.Tensor) and value.dim() == 0, key
        assert not value.requires_grad and torch.isfinite(value), key
    if "d_acc" in out:
        assert 0 <= out["d_acc"] <= 1
    for k, part in model.parts().items():
        moved = [not torch.equal(p, q) for p, q in zip(part.parameters(), before[k], strict=True)]
        assert all(moved), f"part {k!r}: {moved.count(False)} parameter tensor(s) did not change"


def test_cvae_loss_is_reconstruction_plus_kl():
    model = build("cvae")
    out = model.train_step(*strokes(20), optimisers(model))
    assert set(out) == {"g_loss", "recon", "kl"}
    assert torch.allclose(out["g_loss"], out["recon"] + out["kl"])
    assert out["kl"] >= 0 and 0 < out["recon"] < 784 * 5  # BCE summed over pixels, per image


def checkpoint_payload(name: str, model: Generative, **extra) -> dict:
    """The fields ``load_checkpoint`` requires, with this generator's weights."""
    return {
        "model": name,
        "model_kwargs": {},
        "state_dict": model.state_dict(),
        "config": {},
        "norm": {},
        "classes": list(range(10)),
        **extra,
    }


@pytest.mark.parametrize("name", GENERATORS)
def test_checkpoint_round_trip_gives_identical_samples(name, tmp_path):
    model = build(name)
    model.train_step(*strokes(20), optimisers(model))  # trained weights and running statistics, not the init
    path = save_checkpoint(tmp_path / f"{name}.pt", checkpoint_payload(name, model))
    fresh = build(name, seed=1)
    fresh.load_state_dict(load_checkpoint(path)["state_dict"])
    z, y = model.noise(10, torch.Generator().manual_seed(3)), torch.arange(10)
    assert torch.equal(model.eval().sample(z, y), fresh.eval().sample(z, y))


@pytest.mark.parametrize("name", GENERATORS)
def test_resume_after_a_checkpoint_is_exact(name, tmp_path):
    x, y = strokes(20)
    model = build(name)
    opts = optimisers(model)
    model.train_step(x, y, opts)
    train_state = {"opts": {k: o.state_dict() for k, o in opts.items()}, "rng": torch.get_rng_state()}
    path = save_checkpoint(tmp_path / "last.pt", checkpoint_payload(name, model, train_state=train_state))
    straight = model.train_step(x, y, opts)

    ckpt = load_checkpoint(path)
    resumed = build(name, seed=1)
    resumed.load_state_dict(ckpt["state_dict"])
    resumed_opts = optimisers(resumed)
    for k, o in resumed_opts.items():
        o.load_state_dict(ckpt["train_state"]["opts"][k])
    torch.manual_seed(123)  # whatever the global RNG was doing meanwhile ...
    torch.set_rng_state(ckpt["train_state"]["rng"])  # ... the saved state replaces it
    again = resumed.train_step(x, y, resumed_opts)

    assert all(torch.equal(straight[k], again[k]) for k in straight)
    for (key, p), q in zip(model.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.allclose(p.float(), q.float(), rtol=0, atol=1e-6), key


def test_unknown_name_is_one_sentence_with_the_closest():
    with pytest.raises(ModelError, match="cdcgan") as err:
        create_generator("cdgan")
    assert ONE_SENTENCE.fullmatch(str(err.value)) and not SENTENCE_BREAK.search(str(err.value))


@pytest.mark.parametrize("name", GENERATORS)
def test_unknown_kwarg_is_one_sentence(name):
    with pytest.raises(ModelError, match="no_such_arg") as err:
        create_generator(name, no_such_arg=1)
    assert ONE_SENTENCE.fullmatch(str(err.value)) and not SENTENCE_BREAK.search(str(err.value))


@pytest.mark.parametrize(
    "name, kwargs",
    [("wgan-gp", {"n_critic": 0}), ("cdcgan", {"num_classes": 0}), ("cvae", {"width": 10**9}), ("cdcgan", {"latent_dim": float("nan")})],
)
def test_bad_values_are_one_sentence_model_errors(name, kwargs):
    with pytest.raises(ModelError) as err:
        create_generator(name, **kwargs)
    assert ONE_SENTENCE.fullmatch(str(err.value)) and not SENTENCE_BREAK.search(str(err.value))


@pytest.mark.parametrize("name", GENERATORS)
def test_thirty_steps_on_a_fixed_batch_learn(name):
    """The VAE's loss falls; a GAN's discriminator learns to tell the fixed real batch from fakes (better than chance)."""
    model = build(name)
    opts = optimisers(model)
    x, y = strokes(20)
    torch.manual_seed(0)  # the noise of the steps
    history = [model.train_step(x, y, opts) for _ in range(30)]
    if generator_spec(name).adversarial:
        early, late = (torch.stack([h["d_acc"] for h in hs]).mean() for hs in (history[:3], history[-10:]))
        assert late > max(0.5, early), f"d_acc {early:.2f} over the first 3 steps, {late:.2f} over the last 10"
    else:
        early, late = (torch.stack([h["g_loss"] for h in hs]).mean() for hs in (history[:3], history[-3:]))
        assert late < 0.8 * early, f"g_loss {early:.1f} -> {late:.1f}"


@pytest.mark.parametrize("name", GENERATORS)
def test_every_numeric_argument_has_bounds_around_its_default(name):
    spec = generator_spec(name)
    for key, default in spec.kwargs.items():
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            lo, hi = spec.bounds[key]
            assert lo <= default <= hi, (name, key)


def test_a_generator_without_bounds_cannot_register():
    from digitlab.generators.registry import register_generator

    def nobounds(width: int = 3, num_classes: int = 10):
        """A family that forgot its bounds."""

    with pytest.raises(ValueError, match=r"no bounds .*\['width'\]"):
        register_generator("no-bounds-generator", paper="-", adversarial=False, bounds={})(nobounds)
    assert "no-bounds-generator" not in list_generators()
