"""The model that Recognise uses: chosen at start-up, switchable while the server runs, the same in every worker.

The choice lives on the server's :class:`Board` (the run database): a worker that switches writes it there, and
every worker compares the board's version with its own before each answer, loading the new model when it changed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import torch

from ..catalog import resolve
from ..export import engine_file
from ..inside import Inside, Subject, digits_in
from ..inside.picture import pick
from ..recognize.predictor import DEFAULT_MODEL, Answer, Predictor
from ..store import RunStore
from .board import Board
from .errors import NoModel


def default_ref(store: RunStore) -> str | None:
    """The shipped model, or else the newest completed run that has weights, or None."""
    if DEFAULT_MODEL.is_file():
        return str(DEFAULT_MODEL)
    for rec in reversed(store.list_runs(status="completed", task="classify")):
        if rec.folder.best.is_file():
            return rec.name
    return None


class ModelSlot:
    """Holds one shared :class:`Predictor`; prediction is thread-safe, switching swaps it atomically."""

    def __init__(self, store: RunStore, models_dir: Path, threads: int = 1, board: Board | None = None, engine: str = "auto"):
        self.store, self.models_dir, self.threads, self.engine = store, models_dir, threads, engine
        self.board = board or Board.of(store)
        self._lock = threading.Lock()
        self._predictor: Predictor | None = None
        self._ref: str | None = None
        self._version = 0  # the board's version of the choice loaded here

    def load(self, ref: str) -> dict[str, Any]:
        """Resolve ``ref`` (run, checkpoint or promoted model), load it, make it current here and on the board."""
        predictor = self._open(ref)
        version = self.board.set_model(ref)
        with self._lock:
            self._predictor, self._ref, self._version = predictor, ref, version
        return self.info()

    def _open(self, ref: str) -> Predictor:
        path = resolve(ref, self.store, self.models_dir)
        return Predictor(path, onnx=engine_file(path, self.engine))

    def follow(self) -> None:
        """Load the board's choice when another worker has changed it since this one loaded."""
        ref, version = self.board.model()
        if ref is None or version == self._version:
            return
        with self._lock:  # one load per change, however many requests arrive meanwhile
            if version != self._version:
                self._predictor, self._ref, self._version = self._open(ref), ref, version

    def current(self) -> Predictor:
        """The loaded predictor, or a 503 sentence saying how to get one."""
        self.follow()
        predictor = self._predictor
        if predictor is None:
            raise NoModel("No model is loaded: train one in the Train tab, then choose it in the Models tab.")
        return predictor

    def predict(self, data: bytes, name: str, max_pixels: int) -> Answer:
        """Read one encoded picture (refused over ``max_pixels``) with the current model, on ``threads`` torch threads."""
        predictor = self.current()
        self._threads()
        return predictor.predict(data, name=name, max_pixels=max_pixels)

    def look_inside(self, data: bytes, k: int, max_pixels: int) -> Inside:
        """Look inside the current model on the ``k``-th digit (1 = the first) of one encoded picture."""
        p = self.current()
        self._threads()
        return Subject(p.model, p.mean, p.std, p.classes, p.meta["model"]).inside(pick(digits_in(data, max_pixels), k))

    def _threads(self) -> None:
        if self.threads and torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)  # per worker thread: avoids oversubscribing the cores

    def info(self) -> dict[str, Any]:
        """What is loaded (the board's choice): the reference, file, architecture, engine and its recorded metrics."""
        self.follow()
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
            "ensemble": meta["ensemble"],  # method, test-time views, members and weights; None for a single model
            "rejection": predictor.rejector is not None,
            "engine": predictor.engine.name,
        }
