"""The model that Recognise uses: chosen at start-up, switchable while the server runs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import torch

from ..catalog import resolve
from ..recognize.predictor import DEFAULT_MODEL, Answer, Predictor
from ..store import RunStore
from .errors import NoModel


def default_ref(store: RunStore) -> str | None:
    """The shipped model, or else the newest completed run that has weights, or None."""
    if DEFAULT_MODEL.is_file():
        return str(DEFAULT_MODEL)
    for rec in reversed(store.list_runs(status="completed")):
        if rec.folder.best.is_file():
            return rec.name
    return None


class ModelSlot:
    """Holds one shared :class:`Predictor`; prediction is thread-safe, switching swaps it atomically."""

    def __init__(self, store: RunStore, models_dir: Path, threads: int = 1):
        self.store, self.models_dir, self.threads = store, models_dir, threads
        self._lock = threading.Lock()
        self._predictor: Predictor | None = None
        self._ref: str | None = None

    def load(self, ref: str) -> dict[str, Any]:
        """Resolve ``ref`` (run, checkpoint or promoted model), load it and make it current."""
        predictor = Predictor(resolve(ref, self.store, self.models_dir))
        with self._lock:
            self._predictor, self._ref = predictor, ref
        return self.info()

    def current(self) -> Predictor:
        """The loaded predictor, or a 503 sentence saying how to get one."""
        predictor = self._predictor
        if predictor is None:
            raise NoModel("No model is loaded: train one in the Train tab, then choose it in the Models tab.")
        return predictor

    def predict(self, data: bytes, name: str, max_pixels: int) -> Answer:
        """Read one encoded picture (refused over ``max_pixels``) with the current model, on ``threads`` torch threads."""
        predictor = self.current()
        if self.threads and torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)  # per worker thread: avoids oversubscribing the cores
        return predictor.predict(data, name=name, max_pixels=max_pixels)

    def info(self) -> dict[str, Any]:
        """What is loaded: the reference, file, architecture and its recorded metrics."""
        with self._lock:
            predictor, ref = self._predictor, self._ref
        if predictor is None:
            return {"ref": None, "loaded": False}
        meta = predictor.meta
        return {
            "ref": ref,
            "loaded": True,
            "path": str(predictor.path),
            "model": meta["model"],
            "run": meta["config"].get("name"),
            "generation": meta["config"].get("generation"),
            "metrics": meta["metrics"],
            "rejection": predictor.rejector is not None,
        }
