"""The Generate endpoints of ``digitlab serve`` (issue 14): generative runs with their per-epoch grids, new grids as PNG,
and every refusal as one sentence, through ``create_app`` and FastAPI's test client.

Tiny: one narrow cdcgan trained for 1 epoch on 256 images (one thread, the shipped classifier as judge); the other
runs are records only (a classifier, a generator without weights, one whose grid links out of its folder).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from digitlab.config import make_config, make_gen_config
from digitlab.gen_runner import run_generator
from digitlab.gen_trainer import failure_modes
from digitlab.serve import Settings, create_app
from digitlab.serve.settings import LOCAL_HOSTS
from digitlab.store import RunStore

TINY = {
    "model": "cdcgan", "model_kwargs": {"width": 8, "latent_dim": 16}, "epochs": 1, "batch_size": 64, "train_subset": 256,
    "val_size": 300, "eval_samples": 100, "final_samples": 100, "grid_columns": 4, "threads": 1, "seed": 5,
}  # fmt: skip
SIDE = 30  # a 28-pixel tile and its 2-pixel gap (generators.grid)


@dataclass
class GenLab:
    root: Path
    run: str  # the trained generator
    client: TestClient


def record(store: RunStore, name: str, cfg, folder: Path, **values) -> int:
    """A run in the database only (nothing trained), its folder made."""
    folder.mkdir(parents=True)
    run_id = store.create_run(name, cfg, str(folder), {})
    if values:
        store.update_run(run_id, **values)
    return run_id


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> GenLab:
    root = tmp_path_factory.mktemp("gen-api")
    runs = root / "runs"
    store = RunStore(runs_dir=runs)
    name, _ = run_generator(make_gen_config({**TINY, "name": "g"}), runs_dir=runs, store=store, models_dir=root / "models")
    record(store, "clf", make_config({"model": "fast"}), runs / "clf", status="completed")
    warned = [*failure_modes([3, 7], 0.996), "a sentence the server has no code for"]
    record(store, "empty", make_gen_config(TINY), runs / "empty", status="interrupted", extra={"warnings": warned})
    linked = record(store, "linked", make_gen_config(TINY), runs / "linked", status="completed")
    (root / "outside.png").write_bytes((runs / name / "samples" / "epoch-001.png").read_bytes())
    (runs / "linked" / "samples").mkdir()
    (runs / "linked" / "samples" / "epoch-001.png").symlink_to(root / "outside.png")
    store.add_epoch(linked, {"epoch": 1, "fid": 50.0})
    settings = Settings(runs_dir=runs, models_dir=root / "models", allowed_hosts=LOCAL_HOSTS | {"testserver"})
    return GenLab(root, name, TestClient(create_app(settings), raise_server_exceptions=False))


def png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def one_sentence(response, status: int, *words: str) -> str:
    """The response's error: the status asked for, JSON {"detail": one sentence} naming ``words``."""
    detail = response.json()["detail"]
    assert response.status_code == status, (response.status_code, detail)
    assert isinstance(detail, str) and "\n" not in detail and detail.endswith((".", "?")) and len(detail) < 300, detail
    assert all(w in detail for w in words), detail
    return detail


def test_the_generative_runs_are_listed_with_figures_and_a_grid_per_epoch(lab):
    listed = lab.client.get("/api/generators")
    assert listed.status_code == 200
    by_name = {g["name"]: g for g in listed.json()}
    assert sorted(by_name) == ["empty", "g", "linked"]  # the classifier's run is not a generator
    g = by_name["g"]
    assert g["model"] == "cdcgan" and g["status"] == "completed" and g["weights"] and g["best_epoch"] == 1 and g["judge"] == "ship"
    q = g["quality"]
    assert q["fid"] > 0 and q["fid_floor"] > 0 and 0 <= q["class_acc"] <= 1 and len(q["classes"]) == 10
    [epoch] = g["epochs"]
    assert epoch["epoch"] == 1 and epoch["fid"] > 0 and 0 <= epoch["class_acc"] <= 1 and epoch["d_acc"] is not None
    assert epoch["grid"] == "/api/generators/g/samples/1.png"
    grid = lab.client.get(epoch["grid"])
    assert grid.status_code == 200 and grid.headers["content-type"] == "image/png" and grid.headers["x-content-type-options"] == "nosniff"
    assert png_size(grid.content) == (4 * SIDE + 2, 10 * SIDE + 2)  # 4 columns, a row per digit, as stored
    assert by_name["empty"]["weights"] is False and by_name["empty"]["epochs"] == [] and by_name["empty"]["quality"] is None
    assert by_name["linked"]["epochs"][0]["grid"] is None  # its grid links out of its folder: not offered


def test_warnings_come_with_a_code_and_numbers_to_say_them_in_any_language(lab):
    empty = next(g for g in lab.client.get("/api/generators").json() if g["name"] == "empty")
    collapse, wins, other = empty["warnings"]
    assert collapse["code"] == "mode_collapse" and collapse["digits"] == "3, 7" and collapse["text"].startswith("mode collapse")
    assert wins["code"] == "discriminator_wins" and wins["acc"] == "99.6"
    assert other == {"code": None, "text": "a sentence the server has no code for", "digits": None, "acc": None}


@pytest.mark.parametrize(
    "body, size, count",
    [
        ({"digit": 7, "n": 16}, ((16 * SIDE + 2) * 4, (SIDE + 2) * 4), 16),  # one row of sevens, 4x larger
        ({"digit": None, "n": 20}, ((10 * SIDE + 2) * 4, (2 * SIDE + 2) * 4), 20),  # every digit in turn, rows of 10
        ({"interpolate": [3, 8], "n": 16}, ((8 * SIDE + 2) * 4, (2 * SIDE + 2) * 4), 16),  # two walks of 8 steps
    ],
)
def test_generate_answers_a_png_grid_and_its_sampling_time(lab, body, size, count):
    made = lab.client.post("/api/generate", json={"run": lab.run, "seed": 1, **body})
    assert made.status_code == 200, made.text
    assert made.headers["content-type"] == "image/png" and made.headers["cache-control"] == "no-store"
    assert png_size(made.content) == size
    assert int(made.headers["x-generate-count"]) == count and float(made.headers["x-generate-ms"]) >= 0


def test_the_same_seed_draws_the_same_digits(lab):
    def draw(seed: int) -> bytes:
        return lab.client.post("/api/generate", json={"run": lab.run, "digit": 2, "n": 8, "seed": seed}).content

    assert draw(4) == draw(4) and draw(4) != draw(5)


@pytest.mark.parametrize(
    "path, status, words",
    [
        ("/api/generators/g/samples/2.png", 404, ("no sample grid of epoch 2",)),
        ("/api/generators/g/samples/0.png", 422, ("epoch",)),
        ("/api/generators/g/samples/-1.png", 422, ("epoch",)),
        ("/api/generators/g/samples/abc.png", 422, ("epoch",)),
        ("/api/generators/%2E%2E/samples/1.png", 404, ()),  # '..' as a run name is only a name: unknown
        ("/api/generators/..%2F..%2Fg/samples/1.png", 404, ()),  # a slash in a run name matches no route
        ("/api/generators/%2Fetc%2Fpasswd/samples/1.png", 404, ()),
        ("/api/generators/g/samples/..%2F..%2Fg%2Fconfig.png", 404, ()),
        ("/api/generators/linked/samples/1.png", 404, ("no sample grid",)),  # its grid is a link out of its folder
        ("/api/generators/clf/samples/1.png", 422, ("classifier",)),
        ("/api/generators/nope/samples/1.png", 404, ("No run named 'nope'",)),
        ("/api/generators/g%00/samples/1.png", 404, ("No run named",)),
    ],
)
def test_epoch_grids_never_leave_a_generative_run_folder(lab, path, status, words):
    one_sentence(lab.client.get(path), status, *words)


@pytest.mark.parametrize(
    "change, status, words",
    [
        ({"run": "nope"}, 404, ("No run named 'nope'",)),
        ({"run": "../g"}, 404, ("No run named",)),
        ({"run": "/etc/passwd"}, 404, ("No run named",)),
        ({"run": "runs/g/weights/best.pt"}, 404, ("No run named",)),  # a path is not a run name here
        ({"run": "clf"}, 422, ("'clf' trained a classifier",)),
        ({"run": "ship"}, 422, ("shipped classifier",)),
        ({"run": "empty"}, 409, ("no weights yet",)),
        ({"digit": 12}, 422, ("digit", "9")),
        ({"digit": -1}, 422, ("digit",)),
        ({"interpolate": [3, 11]}, 422, ("interpolate",)),
        ({"interpolate": [3]}, 422, ("interpolate",)),
        ({"n": 0}, 422, ("n:",)),
        ({"n": 257}, 422, ("n:", "256")),
        ({"seed": -1}, 422, ("seed",)),
    ],
)
def test_generate_refuses_in_one_sentence(lab, change, status, words):
    one_sentence(lab.client.post("/api/generate", json={"run": lab.run, "digit": 7, "n": 8, "seed": 0, **change}), status, *words)
