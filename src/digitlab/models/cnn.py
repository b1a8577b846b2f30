"""``cnn``: the lab's first-generation network.

Three 3x3 stride-1 convolutions with max-pooling, as in the classic Keras /
TensorFlow MNIST tutorial CNN (itself a small LeNet-style design, LeCun et al.
1998, "Gradient-based learning applied to document recognition"), with optional
BatchNorm (Ioffe & Szegedy 2015). At 28x28 input: 28 -conv-> 26 -pool-> 13
-conv-> 11 -pool-> 5 -conv-> 3, so 64 x 3 x 3 = 576 features reach the classifier.
"""

from __future__ import annotations

from torch import nn

from .registry import DigitNet, register_model


def conv_block(cin: int, cout: int, k: int, batchnorm: bool, pool: bool, padding: int = 0, pool_first: bool = False) -> nn.Sequential:
    """conv(k) -> [BN] -> ReLU -> [2x2 max-pool]; the conv has no bias when BN follows (BN's shift replaces it).
    ``pool_first``: conv -> pool -> [BN] -> ReLU (as airbench does): BatchNorm, the slowest layer of a training step on a
    CPU, then normalises a quarter of the values."""
    conv = nn.Conv2d(cin, cout, k, padding=padding, bias=not batchnorm)
    norm = [nn.BatchNorm2d(cout)] if batchnorm else []
    if pool and pool_first:
        return nn.Sequential(conv, nn.MaxPool2d(2), *norm, nn.ReLU(inplace=True))
    return nn.Sequential(conv, *norm, nn.ReLU(inplace=True), *([nn.MaxPool2d(2)] if pool else []))


class CNN(DigitNet):
    def __init__(
        self, width: int, hidden: int, dropout: float, batchnorm: bool, num_classes: int, extra: int = 0, pool_first: bool = False
    ):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_block(1, w, 3, batchnorm, pool=True, pool_first=pool_first),  # (N, w, 13, 13)
            conv_block(w, 2 * w, 3, batchnorm, pool=True, pool_first=pool_first),  # (N, 2w, 5, 5)
            conv_block(2 * w, 2 * w, 3, batchnorm, pool=False),  # (N, 2w, 3, 3)
            *(conv_block(2 * w, 2 * w, 3, batchnorm, pool=False, padding=1) for _ in range(extra)),  # (N, 2w, 3, 3) each
            nn.Flatten(),  # (N, 18w) = (N, 576) at width 32
            nn.Dropout(dropout),
            nn.Linear(18 * w, hidden),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(hidden, num_classes)

    def forward_features(self, x):
        return self.features(x)


@register_model(
    "cnn",
    paper="LeCun et al. 1998 (LeNet family); TensorFlow CNN tutorial layout",
    summary_zh="第一代实验室 CNN：三个 3×3 卷积（w、2w、2w），宽度 32 时输出 576 个特征，一个隐藏层；extra 再加几层带填充的 3×3 卷积（即 grow=E:deepen 所加的层）；pool_first 先池化再批归一化（在 CPU 上更快）。",
    num_params=131_050,
    bounds=dict(width=(1, 512), hidden=(1, 8192), dropout=(0, 1), extra=(0, 8)),
)
def cnn(
    width: int = 32,
    hidden: int = 128,
    dropout: float = 0.25,
    batchnorm: bool = True,
    num_classes: int = 10,
    extra: int = 0,
    pool_first: bool = False,
) -> DigitNet:
    """Generation-1 lab CNN: three 3x3 convs (w, 2w, 2w), 576 features at width 32, one hidden layer; ``extra`` more
    padded 3x3 convs at 3x3 (what ``grow=E:deepen`` adds); ``pool_first`` pools before BatchNorm (faster on a CPU)."""
    return CNN(width, hidden, dropout, batchnorm, num_classes, extra, pool_first)
