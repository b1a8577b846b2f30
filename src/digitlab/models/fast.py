"""``fast``: the smallest net that reaches 99% on MNIST in one CPU epoch.

Layout of the well-known fastest public MNIST recipe (conv 5x5 -> pool -> conv
3x3 -> pool -> two linear layers; see e.g. the "MNIST in seconds" speed-run
write-ups building on LeCun et al. 1998), with optional BatchNorm after each
convolution (Ioffe & Szegedy 2015) so a one-cycle schedule can use a larger
learning rate.
"""

from __future__ import annotations

from torch import nn

from .registry import DigitNet, register_model


class FastNet(DigitNet):
    def __init__(self, c1: int, c2: int, hidden: int, batchnorm: bool, num_classes: int, pool_first: bool = False):
        super().__init__()

        def bn(c: int) -> nn.Module:
            return nn.BatchNorm2d(c) if batchnorm else nn.Identity()

        def norm_pool(c: int) -> list[nn.Module]:  # pool_first: BatchNorm (a CPU step's slowest layer) sees 4x fewer values
            return [nn.MaxPool2d(2), bn(c)] if pool_first else [bn(c), nn.MaxPool2d(2)]

        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 5, bias=not batchnorm),  # (N, c1, 24, 24)
            *norm_pool(c1),  # (N, c1, 12, 12)
            nn.ReLU(inplace=True),  # pool before ReLU: same result, 4x fewer ReLUs
            nn.Conv2d(c1, c2, 3, bias=not batchnorm),  # (N, c2, 10, 10)
            *norm_pool(c2),
            nn.ReLU(inplace=True),  # (N, c2, 5, 5)
            nn.Flatten(),
            nn.Linear(25 * c2, hidden),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(hidden, num_classes)

    def forward_features(self, x):
        return self.features(x)


@register_model(
    "fast",
    paper="LeCun et al. 1998; public one-epoch MNIST speed-run recipe",
    summary_zh="速通网络：5×5 卷积(c1)-池化-3×3 卷积(c2)-池化-全连接(hidden)-全连接，为只训练一轮而设计；pool_first 先池化再批归一化（在 CPU 上更快）。",
    num_params=215_250,
    bounds=dict(c1=(1, 512), c2=(1, 512), hidden=(1, 8192)),
)
def fast(
    c1: int = 24, c2: int = 32, hidden: int = 256, batchnorm: bool = True, num_classes: int = 10, pool_first: bool = False
) -> DigitNet:
    """Speed-run net: conv5x5(c1)-pool-conv3x3(c2)-pool-fc(hidden)-fc, for one-epoch training; ``pool_first`` pools
    before BatchNorm (faster on a CPU)."""
    return FastNet(c1, c2, hidden, batchnorm, num_classes, pool_first)
