"""Engines that run a trained network for the predictor: torch, or ONNX Runtime on the model's exported file.

Both take MNIST-form images ``(N, 28, 28)`` float32 in [0, 1] and return the :class:`ModelView` (logits and the
features the "not a digit" detectors read), so everything after the network is the same code. ONNX Runtime answers
a batch of one 28x28 image about 4x faster than torch (``benchmarks/infer.py``); the exported file is checked against
the checkpoint when it is made (``digitlab.export``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ..errors import CheckpointError
from ..inference import ModelView, layout, model_view
from ..models import DigitNet

ENGINES = ("torch", "onnx")
VIEW_BATCH = 1000  # images per forward pass, as model_view takes them


class Engine(Protocol):
    name: str

    def view(self, images: np.ndarray) -> ModelView: ...


class TorchEngine:
    """The checkpoint's network in torch (channels_last for convolutional nets, as in training)."""

    name = "torch"

    def __init__(self, model: DigitNet, mean: float, std: float):
        self.model, self.mean, self.std = model.eval(), mean, std
        self.layout = layout(model)

    def view(self, images: np.ndarray) -> ModelView:  # (N, 28, 28) in [0, 1]
        x = torch.from_numpy(np.asarray(images, np.float32))
        if len(x) > VIEW_BATCH:
            return model_view(self.model, x, self.mean, self.std, batch=VIEW_BATCH)
        # model_view's computation for one batch, its per-call set-up (eval mode, layout, batching) done once:
        # a third of the call for one mark, and the same numbers
        with torch.no_grad():
            f = self.model.forward_features(((x - self.mean) / self.std).unsqueeze(1).contiguous(memory_format=self.layout))
            return ModelView(f, self.model.head(f))


class OnnxEngine:
    """One warm ONNX Runtime session on an exported file (normalisation is inside its graph)."""

    name = "onnx"

    def __init__(self, path: Path, threads: int = 1):
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise CheckpointError("The onnx engine needs onnxruntime: pip install 'digitlab[export]', or use --engine torch.") from err
        opts = ort.SessionOptions()
        # a picture holds a few marks: one thread, not spinning, beats a pool that waits for work (and fights other work)
        opts.intra_op_num_threads = threads
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def view(self, images: np.ndarray) -> ModelView:
        x = np.ascontiguousarray(np.asarray(images, np.float32)[:, None])  # (N, 1, 28, 28)
        logits, features = self.session.run(["logits", "features"], {"images": x})
        return ModelView(torch.from_numpy(features), torch.from_numpy(logits))


def onnxruntime_installed() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
