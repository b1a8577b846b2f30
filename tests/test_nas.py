"""Structure search (issue 15): structure strings, space files, the four searchers, exact resume, the CLI."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
import yaml

from conftest import error_line
from digitlab import nas as N
from digitlab import nas_records as R
from digitlab.config import load_config
from digitlab.errors import ConfigError, ModelError
from digitlab.models import count_params, create_model
from digitlab.models.nas import parse_structure, structure_text
from digitlab.nas_searchers import Evolution, Reinforce, list_searchers, make_searcher
from digitlab.nas_space import load_space, parse_space
from digitlab.store import RunStore
from digitlab.tune_storage import open_storage, study_names

SPACE = load_space("cnn")
TINY = {"blocks": {"min": 1, "max": 3}, "ops": ["c3", "s3", "id"], "widths": [4, 8], "max_pools": 2, "proxy": {"epochs": 1}}


def draw(space, seed):
    rng = random.Random(seed)
    return space.decode(lambda d: rng.choice(d.choices))


# ---------------------------------------------------------------- structures
@pytest.mark.parametrize("text", ["c3x32", "c3x32/-s5x64+-id/-c5x16+/", "id", "id/-s3x8"])
def test_structure_text_round_trips(text):
    assert structure_text(parse_structure(text)) == text


@pytest.mark.parametrize(
    "text, words",
    [
        ("c7x32", "not OPxWIDTH"),
        ("c3x0", "width 0 is out of range"),
        ("id+", "not OPxWIDTH"),
        ("c3x8/-c3x8/-c3x8/-c3x8/-c3x8/", "pools 5 times"),
        ("-".join(["c3x8"] * 13), "1 to 12 blocks"),
        ("", "1 to 12 blocks"),
    ],
)
def test_bad_structures_are_refused_in_a_sentence(text, words):
    with pytest.raises(ModelError, match=words):
        create_model("nas", structure=text)


def test_skip_projects_only_when_the_width_changes():
    same, wider = create_model("nas", structure="c3x8-c3x8+"), create_model("nas", structure="c3x8-c3x16+")
    assert isinstance(same.blocks[1].skip, torch.nn.Identity)
    assert isinstance(wider.blocks[1].skip, torch.nn.Sequential)


@pytest.mark.parametrize("seed", range(25))
def test_every_sampled_structure_builds_and_trains(seed):
    structure, _ = draw(SPACE, seed)
    torch.manual_seed(seed)
    model = create_model("nas", structure=structure)
    x, y = torch.randn(4, 1, 28, 28), torch.arange(4)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters())
    assert model.forward_features(x).shape == (4, model.head.in_features)


# ---------------------------------------------------------------- space files
def test_the_shipped_space_and_its_conditional_decisions():
    assert SPACE.proxy["model"] == "nas" and SPACE.proxy["epochs"] == 1 and SPACE.final["epochs"] == 8
    for seed in range(40):
        structure, made = draw(SPACE, seed)
        blocks = parse_structure(structure)
        assert len(blocks) == made["depth"]
        for i, b in enumerate(blocks):
            assert (f"b{i}.width" in made) == (b.op != "id")  # an identity has no width or skip to choose
            assert (f"b{i}.skip" in made) == (b.op != "id")
        assert sum(b.pool for b in blocks) <= SPACE.max_pools
        pools_before = [sum(b.pool for b in blocks[:i]) for i in range(len(blocks))]
        assert all((f"b{i}.pool" in made) == (p < SPACE.max_pools) for i, p in enumerate(pools_before))
        assert SPACE.structure(made) == structure


@pytest.mark.parametrize(
    "change, words",
    [
        ({"blocs": {"min": 1, "max": 2}}, "unknown section 'blocs'. Did you mean blocks?"),
        ({"ops": ["c3", "conv5"]}, "unknown operation 'conv5' in ops. Did you mean c5?"),
        ({"widths": [8, 1000]}, "every width must be from 1 to 256"),
        ({"widths": [8, True]}, "must be a int"),
        ({"blocks": {"min": 4, "max": 2}}, "1 <= M <= N <= 12"),
        ({"max_pools": 9}, "max_pools must be a whole number from 0 to 4"),
        ({"reward": {"param_target": 5}}, "reward has no 'param_target'. Did you mean params_target?"),
        ({"reward": {"exponent": 1}}, "reward.exponent must be from -2 to 0"),
        ({"proxy": {"model": "cnn"}}, "cannot set model"),
        ({"proxy": {"epochs": 0}}, "epochs"),
        ({"proxy": {"val_size": 0}}, "needs val_size > 0"),
        ({"skip": []}, "non-empty list"),
    ],
)
def test_bad_space_files_are_refused_in_a_sentence(change, words):
    with pytest.raises(ConfigError, match=None) as err:
        parse_space({**TINY, **change})
    assert words in str(err.value)


def test_space_file_from_disk_and_by_name(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(TINY))
    space = load_space(path, ["threads=1"])
    assert space.proxy["threads"] == 1 and space.ops == ("c3", "s3", "id")
    assert load_space("cnn").hash() == SPACE.hash()
    with pytest.raises(ConfigError, match="closest: cnn"):
        load_space("cnm")


def test_reward_scales_only_above_the_targets():
    r = parse_space({**TINY, "reward": {"params_target": 1000, "latency_target_ms": 1.0}}).reward
    assert r(0.99, 900, 0.5) == 0.99
    assert r(0.99, 2000, 0.5) == pytest.approx(0.99 * 2**-0.07)
    assert r(0.99, 2000, 2.0) == pytest.approx(0.99 * 4**-0.07)


# ---------------------------------------------------------------- searchers
def test_reinforce_moves_towards_a_rewarded_choice():
    searcher = Reinforce(SPACE, seed=0)
    before = searcher.probabilities("b0.op")[SPACE.ops.index("c3")]
    for k in range(80):
        p = searcher.propose(k)
        searcher.observe(p.choices, 1.0 if p.choices.get("b0.op") == "c3" else 0.0)
    after = searcher.probabilities("b0.op")[SPACE.ops.index("c3")]
    assert before < 0.3 and after > 0.6, (before, after)


def test_reinforce_does_not_touch_the_global_generator():
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    Reinforce(SPACE, seed=3)
    assert torch.equal(torch.rand(1), expected)


def test_evolution_keeps_its_population_and_ages_out_the_oldest():
    evo = Evolution(SPACE, seed=0, population=6, sample=3)
    seen = []
    for k in range(15):
        p = evo.propose(k)
        seen.append((p.choices, float(k)))
        evo.observe(p.choices, float(k))
        assert len(evo.population) == min(k + 1, 6)
    assert [r for _, r in evo.population] == [float(k) for k in range(9, 15)]  # the six youngest


def test_evolution_mutates_one_decision_of_a_tournament_winner():
    evo = Evolution(SPACE, seed=0, population=4, sample=4)
    for k in range(4):
        p = evo.propose(k)
        evo.observe(p.choices, float(k))
    winner = evo.population[-1][0]  # sample = population: the best always wins
    child = evo.propose(99).choices
    changed = [k for k in winner if k in child and child[k] != winner[k]]
    assert len(changed) == 1


@pytest.mark.parametrize("name", list_searchers())
def test_every_searcher_proposes_valid_structures_deterministically(name):
    a, b = make_searcher(name, SPACE, 0), make_searcher(name, SPACE, 0)
    for k in range(14):  # past TPE's 10 random start-up trials
        pa, pb = a.propose(k), b.propose(k)
        assert pa == pb
        create_model("nas", structure=pa.structure)
        reward = 0.9 + 0.01 * pa.structure.count("c3")
        a.observe(pa.choices, reward)
        b.observe(pb.choices, reward)


def test_unknown_controller_names_the_choices():
    with pytest.raises(ConfigError, match="evolution, random, reinforce, tpe"):
        make_searcher("ppo", SPACE)


# ---------------------------------------------------------------- searches
def fake_train(calls=None, stop_at=None):
    """A deterministic stand-in for child training: more 3x3 convolutions, more reward."""

    def train(number, p):
        if calls is not None:
            calls.append(p.structure)
        if stop_at is not None and len(calls) == stop_at:
            raise KeyboardInterrupt
        acc = 0.9 + 0.01 * p.structure.count("c3") - 0.0005 * len(p.structure)
        return R.Child(number, f"c{number}", p.structure, p.choices, acc, acc, 1000, 0.5, 0.1)

    return train


@pytest.mark.parametrize("controller", list_searchers())
def test_a_search_resumes_exactly(controller, tmp_path):
    store = RunStore(runs_dir=tmp_path / "runs")
    storage = open_storage(f"sqlite:///{tmp_path}/nas.db", None)
    whole = N.open_search("whole", SPACE, controller, 7, storage)
    N.run_search(whole, store, tmp_path, 12, train=fake_train())
    cut = N.open_search("cut", SPACE, controller, 7, storage)
    calls: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        N.run_search(cut, store, tmp_path, 12, train=fake_train(calls, stop_at=5))
    again = N.open_search("cut", None, None, 0, storage)  # continued by name: its space, controller and seed
    N.run_search(again, store, tmp_path, 12, train=fake_train())
    assert [c.structure for c in R.children(again)] == [c.structure for c in R.children(whole)]
    assert calls[4] == R.children(again)[4].structure  # the interrupted child is tried again


def test_a_search_refuses_another_space_or_controller(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/nas.db", None)
    N.open_search("s", SPACE, "random", 0, storage)
    with pytest.raises(ConfigError, match="another structure space"):
        N.open_search("s", parse_space(TINY), None, 0, storage)
    with pytest.raises(ConfigError, match="uses the random controller"):
        N.open_search("s", None, "tpe", 0, storage)
    assert R.search_space(R.load_search("s", storage)).hash() == SPACE.hash()


def test_searches_and_tuning_studies_share_a_storage_apart(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/shared.db", None)
    N.open_search("nas-1", SPACE, "random", 0, storage)
    import optuna

    optuna.create_study(study_name="cnn-1", storage=storage)
    assert study_names(storage) == ["cnn-1"] and R.search_names(storage) == ["nas-1"]


def test_failed_children_count_with_no_reward(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/nas.db", None)
    study = N.open_search(None, SPACE, "random", 0, storage)

    def train(number, p):
        return R.Child(number, f"c{number}", p.structure, p.choices, 0.0, 0.0, 0, None, 0.0, "NaN loss")

    found = N.run_search(study, RunStore(runs_dir=tmp_path / "runs"), tmp_path, 3, train=train)
    assert len(found) == 3 and {c.error for c in found} == {"NaN loss"}
    assert len({c.structure for c in found}) > 1  # each failure moves the search on


def test_quarters_best_and_trainings_to_reach():
    found = [
        R.Child(i, f"c{i}", f"c3x{8 + i}", {}, a, a, 100 * (i + 1), 0.1, 1.0)
        for i, a in enumerate([0.9, 0.95, 0.97, 0.96, 0.99, 0.985, 0.98, 0.99])
    ]
    assert R.quarter_means(found) == pytest.approx([0.925, 0.965, 0.9875, 0.985])
    assert [c.number for c in R.best_children(found, 2)] == [4, 7]
    assert R.trainings_to_reach(found, 0.99) == 5
    assert R.trainings_to_reach(found, 0.999) is None


# ---------------------------------------------------------------- the CLI, trained for real
@pytest.mark.slow
def test_nas_cli_search_show_export_train(cli, lab, tmp_path):
    space = tmp_path / "tiny.yaml"
    proxy = {"config": "fast", "epochs": 1, "train_subset": 600, "val_size": 300, "threads": 1, "calibrate": False}
    space.write_text(yaml.safe_dump({**TINY, "proxy": proxy, "final": {**proxy, "train_subset": 800, "calibrate": True}}))
    res = cli("nas", "--space", str(space), "--controller", "evolution", "--budget", "3", "--retrain", "1")
    assert res.code == 0, res.text
    assert "child 3/3" in res.out and "retrained" in res.out and "test acc" in res.out
    store = RunStore(runs_dir=lab / "runs")
    runs = {r.name: r for r in store.list_runs()}
    assert {"nas-1-c0", "nas-1-c1", "nas-1-c2", "nas-1-final1"} <= set(runs)
    child = runs["nas-1-c0"]
    assert child.extra["search"] == "nas-1" and child.extra["structure"] == child.config.model_kwargs["structure"]
    assert 0 <= child.extra["reward"] <= 1

    res = cli("nas", "show", "nas-1", "--plots")
    assert res.code == 0 and "best structures of 3 children" in res.out
    assert (lab / "runs" / "searches" / "nas-1" / "learning.png").is_file()
    assert (lab / "runs" / "searches" / "nas-1" / "pareto.png").is_file()

    res = cli("nas", "export", "nas-1", "--as", str(lab / "best.yaml"))
    assert res.code == 0, res.text
    cfg = load_config(lab / "best.yaml")
    assert cfg.model == "nas" and count_params(create_model("nas", **cfg.model_kwargs)) > 0
    assert "nas-1" in cli("nas", "list").out
    assert "nas-1" not in cli("studies").out
    res = cli("export", "nas-1-final1", "--out", str(lab / "onnx"))  # a searched structure exports like any model
    assert res.code == 0 and (lab / "onnx" / "model.onnx").is_file(), res.text


def test_nas_cli_errors_are_one_sentence(cli):
    assert "No structure search named 'nope'" in error_line(cli("nas", "show", "nope"))
    assert "Unknown controller 'ppo'" in error_line(cli("nas", "--space", "cnn", "--controller", "ppo"))
    assert "give --space and --controller" in error_line(cli("nas", "--search", "fresh"))


def test_unknown_cli_options_are_usage_errors(cli):
    res = cli("--bogus")
    assert res.code == 2 and "No such option: --bogus" in res.err and "internal error" not in res.text
