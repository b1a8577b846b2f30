"""``lenet5``: LeNet-5 as published.

LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to
document recognition" (Proc. IEEE): the 28x28 digit is padded to 32x32, then
C1 (6@5x5) - S2 - C3 (16@5x5) - S4 - C5 (120@5x5) - F6 (84) - output.

Simplifications, all stated here so results are not mistaken for the paper's:

* C3 connects to all six S2 maps (the paper's sparse connection table kept
  the 1998 compute budget small; it is not needed today).
* S2/S4 are plain 2x2 average pools (``classic``) instead of the paper's
  pools with a trainable coefficient and bias per map.
* The output layer is linear, not the paper's Euclidean RBF units, so the
  net trains with ordinary cross-entropy.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import DigitNet, register_model

VARIANTS = ("classic", "modern")


class ScaledTanh(nn.Module):
    """LeCun's squashing function f(a) = 1.7159 tanh(2a/3): f(+-1) = +-1, max gain near 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class LeNet5(DigitNet):
    def __init__(self, variant: str, num_classes: int):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
        classic = variant == "classic"

        def act() -> nn.Module:
            return ScaledTanh() if classic else nn.ReLU(inplace=True)

        def pool() -> nn.Module:
            return nn.AvgPool2d(2) if classic else nn.MaxPool2d(2)

        self.features = nn.Sequential(
            nn.ZeroPad2d(2),  # (N, 1, 32, 32): the paper centres digits in a 32x32 field
            nn.Conv2d(1, 6, 5),
            act(),  # C1 (N, 6, 28, 28)
            pool(),  # S2 (N, 6, 14, 14)
            nn.Conv2d(6, 16, 5),
            act(),  # C3 (N, 16, 10, 10)
            pool(),  # S4 (N, 16, 5, 5)
            nn.Conv2d(16, 120, 5),
            act(),  # C5 (N, 120, 1, 1): a 5x5 conv over the whole map
            nn.Flatten(),  # (N, 120)
            nn.Linear(120, 84),
            act(),  # F6 (N, 84)
        )
        self.head = nn.Linear(84, num_classes)  # replaces the RBF output layer

    def forward_features(self, x):
        return self.features(x)


@register_model(
    "lenet5",
    paper="LeCun et al. 1998, Gradient-based learning applied to document recognition",
    summary_zh='LeNet-5（C1-S2-C3-S4-C5-F6-线性输出）；"classic" = 缩放的 tanh + 平均池化，"modern" = ReLU + 最大池化。',
    num_params=61_706,
)
def lenet5(variant: str = "modern", num_classes: int = 10) -> DigitNet:
    """LeNet-5 (C1-S2-C3-S4-C5-F6-linear output); "classic" = scaled tanh + avg-pool, "modern" = ReLU + max-pool."""
    return LeNet5(variant, num_classes)
