"""``nas``: a network built from a structure string, the unit of the structure search (``digitlab nas``).

A structure is a sequence of blocks, written ``c3x32/-s5x64+-id/-c3x64``: each block is an operation and, for the
convolutions, its output width; ``+`` adds a skip connection around the block (He et al. 2016, a 1x1 projection when
the width changes) and ``/`` a 2x2 max-pool after it. Operations: ``c3``/``c5`` a 3x3/5x5 convolution, ``s3``/``s5``
a depthwise-separable one (Chollet 2017, "Xception"), ``id`` the identity (so a block can be "nothing", or only a
pool). Every convolution is followed by BatchNorm (Ioffe & Szegedy 2015) and ReLU. Global average pooling and one
linear layer make the head, so any sequence of blocks builds. The search space and the searchers are in the spirit
of Zoph & Le 2017 ("Neural architecture search with reinforcement learning") and Real et al. 2019 ("Regularized
evolution for image classifier architecture search").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ModelError
from .registry import DigitNet, register_model

OPS = ("c3", "c5", "s3", "s5", "id")  # c: convolution, s: depthwise-separable, id: identity; the digit: kernel size
MAX_BLOCKS = 12
MAX_POOLS = 4  # 28 -> 14 -> 7 -> 3 -> 1
MAX_WIDTH = 256
DEFAULT = "c3x32-c3x32/-c3x64+-c3x64/-c3x96"  # a plain residual CNN, 124k parameters; the searches look for better
_BLOCK = re.compile(r"(?P<op>c3|c5|s3|s5)x(?P<width>\d{1,3})(?P<skip>\+?)(?P<pool>/?)|(?P<id>id)(?P<idpool>/?)")


@dataclass(frozen=True)
class Block:
    """One block of a structure: operation, output width (None: the identity keeps its input's), skip, pool after."""

    op: str
    width: int | None = None
    skip: bool = False
    pool: bool = False

    def text(self) -> str:
        if self.op == "id":
            return "id" + "/" * self.pool
        return f"{self.op}x{self.width}" + "+" * self.skip + "/" * self.pool


def parse_structure(text: str) -> tuple[Block, ...]:
    """``"c3x32/-s5x64+"`` -> blocks; a malformed structure raises one sentence naming the bad block."""
    parts = str(text).strip().split("-")
    if not text or len(parts) > MAX_BLOCKS:
        raise ModelError(f"A structure has 1 to {MAX_BLOCKS} blocks joined by '-', like {DEFAULT!r}; got {text!r}.")
    blocks = []
    for part in parts:
        m = _BLOCK.fullmatch(part)
        if m is None:
            raise ModelError(
                f"Structure block {part!r} is not OPxWIDTH with optional '+' (skip) and '/' (pool), or 'id' with optional '/'; "
                f"operations: {', '.join(OPS)}."
            )
        if m["id"]:
            blocks.append(Block("id", pool=bool(m["idpool"])))
            continue
        width = int(m["width"])
        if not 1 <= width <= MAX_WIDTH:
            raise ModelError(f"Structure block {part!r}: width {width} is out of range 1-{MAX_WIDTH}.")
        blocks.append(Block(m["op"], width, bool(m["skip"]), bool(m["pool"])))
    if sum(b.pool for b in blocks) > MAX_POOLS:
        raise ModelError(f"Structure {text!r} pools {sum(b.pool for b in blocks)} times; a 28x28 picture takes at most {MAX_POOLS}.")
    return tuple(blocks)


def structure_text(blocks: tuple[Block, ...] | list[Block]) -> str:
    return "-".join(b.text() for b in blocks)


def _op(op: str, cin: int, cout: int) -> nn.Sequential:
    """conv (or depthwise then 1x1) -> BN -> ReLU, keeping the spatial size."""
    k = int(op[1])
    if op[0] == "c":
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)]
    else:
        layers = [nn.Conv2d(cin, cin, k, padding=k // 2, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False)]
    return nn.Sequential(*layers, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class NASBlock(nn.Module):
    def __init__(self, block: Block, cin: int):
        super().__init__()
        self.cout = cin if block.op == "id" else int(block.width or cin)
        self.body: nn.Module = nn.Identity() if block.op == "id" else _op(block.op, cin, self.cout)
        self.skip: nn.Module | None = None
        if block.skip:  # a projection only where the width changes
            same = cin == self.cout
            self.skip = nn.Identity() if same else nn.Sequential(nn.Conv2d(cin, self.cout, 1, bias=False), nn.BatchNorm2d(self.cout))
        self.pool: nn.Module = nn.MaxPool2d(2) if block.pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.skip is not None:
            y = y + self.skip(x)
        return self.pool(y)


class NASNet(DigitNet):
    def __init__(self, blocks: tuple[Block, ...], num_classes: int):
        super().__init__()
        layers, cin = [], 1
        for b in blocks:
            layers.append(NASBlock(b, cin))
            cin = layers[-1].cout
        self.blocks = nn.Sequential(*layers)  # (N, C, H, W)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(cin, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.blocks(x)).flatten(1)  # (N, C): global average pooling


@register_model(
    "nas",
    paper="Zoph & Le 2017 (NAS with RL); Real et al. 2019 (regularized evolution); He et al. 2016 (skips); Chollet 2017 (separable)",
    summary_zh="结构搜索得到的网络：由卷积 / 可分离卷积 / 恒等映射组成的块，带跳跃连接和池化，最后全局平均池化。",
    num_params=123_818,
)
def nas(structure: str = DEFAULT, num_classes: int = 10) -> DigitNet:
    """A searched structure: blocks of conv / separable conv / identity with skips and pools, global average pooling."""
    return NASNet(parse_structure(structure), num_classes)
