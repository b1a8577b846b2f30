"""An installed wheel has no repository around it: nothing may depend on one (issue 10).

The wheel itself is built, installed and run by scripts/wheel_check.sh (CI); these tests
check the pieces that tell a checkout from an installation.
"""

from __future__ import annotations

import subprocess

from conftest import REPO
from digitlab import evidence
from digitlab.data import sources


def fake_module(root, *parts):
    path = root.joinpath(*parts, "digitlab", "evidence.py")
    path.parent.mkdir(parents=True)
    path.write_text("")
    return path


def test_this_checkout_is_one():
    assert evidence.checkout_root() == evidence.REPO == REPO
    assert sources.REPO_DATA == REPO / "data"


def test_site_packages_is_no_checkout_even_inside_another_repository(tmp_path):
    # a virtual environment inside someone's git project, with a pyproject.toml where the checkout's would be
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    module = fake_module(tmp_path, ".venv", "lib", "python3.11", "site-packages")
    (tmp_path / ".venv" / "lib" / "pyproject.toml").write_text("")
    assert evidence.checkout_root(module) is None
    checkout = tmp_path / "lab"
    (checkout / "src").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("")
    assert evidence.checkout_root(fake_module(checkout, "src")) == checkout


def test_no_git_commit_outside_a_checkout(monkeypatch):
    def no_git(*args, **kwargs):
        raise AssertionError("git must not run outside a checkout")

    monkeypatch.setattr(evidence, "REPO", None)
    monkeypatch.setattr(subprocess, "run", no_git)
    assert evidence.git_commit() is None


def test_without_a_checkout_the_data_is_looked_for_in_the_cache_only(monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "REPO_DATA", None)
    monkeypatch.setenv("DIGITLAB_CACHE", str(tmp_path))
    assert sources.candidate_dirs("mnist") == [tmp_path / "data" / "mnist"]
    assert sources.candidate_dirs("mnist", tmp_path / "d") == [tmp_path / "d" / "mnist", tmp_path / "d"]
