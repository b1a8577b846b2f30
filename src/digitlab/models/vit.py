"""``vit``: a small Vision Transformer.

Dosovitskiy et al. 2021, "An image is worth 16x16 words: Transformers for
image recognition at scale" (ICLR): the image is cut into non-overlapping
patch x patch squares, each linearly embedded (a strided conv), a learnable
class token is prepended and learnable position embeddings are added, then
pre-norm Transformer encoder blocks (Vaswani et al. 2017; LayerNorm before
attention and MLP, GELU in the MLP) run, and the final LayerNorm of the class
token is the feature vector. At the default patch 7 a digit is 4 x 4 = 16
tokens (+1 class token); patch 4 gives 49 tokens and ~3x the compute.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import DigitNet, register_model

SIDE = 28  # input side in pixels


class ClassTokenAndPosition(nn.Module):
    """Prepends the learnable class token and adds learnable position embeddings."""

    def __init__(self, tokens: int, dim: int):
        super().__init__()
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, tokens + 1, dim))
        nn.init.trunc_normal_(self.cls, std=0.02)  # the paper's (BERT-style) init scale
        nn.init.trunc_normal_(self.pos, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, T, D) -> (N, T + 1, D)
        return torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos


class ViT(DigitNet):
    def __init__(self, patch: int, dim: int, depth: int, heads: int, mlp_ratio: float, dropout: float, num_classes: int):
        super().__init__()
        if patch < 1 or SIDE % patch:
            raise ValueError(f"patch must divide {SIDE} (e.g. 4, 7, 14), got {patch}")
        if dim < 1 or heads < 1 or dim % heads:
            raise ValueError(f"dim must be a positive multiple of heads, got dim={dim}, heads={heads}")
        tokens = (SIDE // patch) ** 2
        self.embed = nn.Conv2d(1, dim, patch, stride=patch)  # (N, D, 28/p, 28/p): one linear map per patch
        self.tokens = ClassTokenAndPosition(tokens, dim)
        block = nn.TransformerEncoderLayer(
            dim, heads, round(dim * mlp_ratio), dropout, activation="gelu", batch_first=True, norm_first=True
        )
        # nested tensors only help with padding masks, and they are incompatible with norm_first
        self.encoder = nn.TransformerEncoder(block, depth, norm=nn.LayerNorm(dim), enable_nested_tensor=False)
        self.head = nn.Linear(dim, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed(x).flatten(2).transpose(1, 2)  # (N, T, D), T = 16 at patch 7
        t = self.encoder(self.tokens(t))  # (N, T + 1, D), already final-normed
        return t[:, 0]  # class token: (N, D)


@register_model(
    "vit",
    paper="Dosovitskiy et al. 2021, An image is worth 16x16 words",
    summary_zh="小型前置归一化（pre-norm）Vision Transformer：每个 patch × patch 图块是一个词元，另有类别词元和可学习的位置编码。",
    num_params=139_018,
    bounds=dict(patch=(1, 28), dim=(1, 2048), depth=(1, 64), heads=(1, 64), mlp_ratio=(0, 16), dropout=(0, 1)),
)
def vit(
    patch: int = 7,
    dim: int = 64,
    depth: int = 4,
    heads: int = 4,
    mlp_ratio: float = 2.0,
    dropout: float = 0.0,
    num_classes: int = 10,
) -> DigitNet:
    """Small pre-norm Vision Transformer: patch x patch tokens, class token, learnable positions."""
    return ViT(patch, dim, depth, heads, mlp_ratio, dropout, num_classes)
