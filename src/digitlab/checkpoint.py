"""The one checkpoint format (``.pt``; ``.ckpt`` accepted), saved atomically and loaded without running code.

A checkpoint is a plain dict of tensors and primitives: ``format``, ``model``,
``model_kwargs``, ``state_dict``, ``config``, ``norm`` (mean/std), ``classes``,
``metrics``, ``versions`` and, in ``last.pt`` only, ``train_state`` for resuming. An ensemble (``model`` is
``"ensemble"``) also holds ``ensemble``: its members' architectures and norms, weights, method and test-time views.
A generator's checkpoint (``digitlab gan train``) says ``task: "generate"``; its ``model`` is a registered generator.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError
from .fsio import atomic_path
from .generators import Generative, create_generator
from .models import DigitNet, create_model
from .models.ensemble import ensemble_from_spec

FORMAT = "digitlab-checkpoint-1"
SUFFIXES = (".pt", ".ckpt")
DEFAULT_MODEL = Path(__file__).resolve().parent / "assets" / "default.pt"  # the model shipped with the package


def atomic_torch_save(obj: Any, path: Path) -> None:
    """Write to a temporary file in the same folder, then rename: a crash never leaves half a file."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Save ``payload`` (see module doc) under ``path``, stamping the format."""
    path = Path(path)
    atomic_torch_save({"format": FORMAT, **payload}, path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and validate a checkpoint with ``weights_only=True`` (a checkpoint cannot run code)."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise CheckpointError(f"{path} is not a checkpoint: expected a {' or '.join(SUFFIXES)} file.")
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path} holds objects other than tensors and plain data; refusing to load it (it could run code).") from err
    except Exception as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise CheckpointError(f"{path} is truncated or not a PyTorch file ({first[:120]}).") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a digitlab checkpoint (no '{FORMAT}' format tag).")
    missing = {"model", "model_kwargs", "state_dict", "config", "norm", "classes"} - ckpt.keys()
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(sorted(missing))}; it is damaged.")
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any]) -> DigitNet:
    """Rebuild the network of a loaded checkpoint, in eval mode."""
    if ckpt.get("task") == "generate":
        raise CheckpointError(
            f"This checkpoint is a generator ({ckpt['model']}) that writes digits, not a classifier that reads them; use `digitlab generate`."
        )
    if ckpt["model"] == "ensemble":
        if not isinstance(ckpt.get("ensemble"), dict):
            raise CheckpointError("This ensemble checkpoint has no 'ensemble' entry (members, weights, method); it is damaged.")
        model = ensemble_from_spec(ckpt["ensemble"], len(ckpt["classes"]))
    else:
        model = create_model(ckpt["model"], **ckpt["model_kwargs"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(f"Checkpoint weights do not fit model {ckpt['model']!r}: {str(err).splitlines()[0]}") from err
    return model.eval()


def generator_from_checkpoint(ckpt: dict[str, Any]) -> Generative:
    """Rebuild the generator of a loaded generative checkpoint (``task: generate``), in eval mode."""
    if ckpt.get("task") != "generate":
        raise CheckpointError(
            f"This checkpoint is a classifier ({ckpt['model']}), not a generator; `digitlab runs --task generate` lists the generators."
        )
    model = create_generator(ckpt["model"], num_classes=len(ckpt["classes"]), **ckpt["model_kwargs"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(f"Checkpoint weights do not fit generator {ckpt['model']!r}: {str(err).splitlines()[0]}") from err
    return model.eval()
