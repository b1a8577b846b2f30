"""``rnn``: a recurrent net reading the digit as a sequence.

The LSTM of Hochreiter & Schmidhuber 1997, "Long short-term memory" (Neural
Computation), or the GRU of Cho et al. 2014, "Learning phrase representations
using RNN encoder-decoder for statistical machine translation" (EMNLP), reads
the image row by row: 28 steps of 28 pixels. ``pixelwise=True`` instead feeds
one pixel per step (784 steps), the sequential-MNIST benchmark of Le, Jaitly &
Hinton 2015, "A simple way to initialize recurrent networks of rectified linear
units"; it is about 28x slower and much harder to train. The features are the
last layer's final hidden state (both directions concatenated if
bidirectional).
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import DigitNet, register_model

SIDE = 28  # image rows = steps per sequence (row-wise), and pixels per row
CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentNet(DigitNet):
    def __init__(self, cell: str, hidden: int, layers: int, bidirectional: bool, pixelwise: bool, num_classes: int):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
        if hidden < 1 or layers < 1:
            raise ValueError(f"need hidden >= 1 and layers >= 1, got hidden={hidden}, layers={layers}")
        self.pixelwise = pixelwise
        self.directions = 2 if bidirectional else 1
        self.rnn = CELLS[cell](1 if pixelwise else SIDE, hidden, layers, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(self.directions * hidden, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        seq = x.reshape(n, SIDE * SIDE, 1) if self.pixelwise else x.reshape(n, SIDE, SIDE)  # (N, steps, inputs)
        _, state = self.rnn(seq)
        h = state[0] if isinstance(state, tuple) else state  # LSTM returns (h, c); (layers * dirs, N, hidden)
        last = h[-self.directions :]  # the top layer's final state per direction: (dirs, N, hidden)
        return last.transpose(0, 1).reshape(n, -1)  # (N, dirs * hidden)


@register_model(
    "rnn",
    paper="Hochreiter & Schmidhuber 1997 (LSTM); Cho et al. 2014 (GRU); Le et al. 2015 (pixel MNIST)",
    summary_zh="LSTM/GRU：逐行读取图像（28 步 × 每步 28 个像素），或逐像素读取（784 步）。",
    num_params=82_186,
    bounds=dict(hidden=(1, 4096), layers=(1, 16)),
)
def rnn(
    cell: str = "lstm",
    hidden: int = 128,
    layers: int = 1,
    bidirectional: bool = False,
    pixelwise: bool = False,
    num_classes: int = 10,
) -> DigitNet:
    """LSTM/GRU reading the image row by row (28 steps x 28 pixels), or pixel by pixel (784 steps)."""
    return RecurrentNet(cell, hidden, layers, bidirectional, pixelwise, num_classes)
