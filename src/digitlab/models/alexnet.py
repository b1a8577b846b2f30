"""``alexnet``: the AlexNet design scaled down to 28x28 digits.

Krizhevsky, Sutskever & Hinton 2012, "ImageNet classification with deep
convolutional neural networks" (NeurIPS): five convolutions (96-256-384-384-256
channels), overlapping 3x3 stride-2 max-pooling after conv 1, 2 and 5, optional
local response normalisation after conv 1 and 2, ReLU everywhere, then three
fully connected layers with dropout on the first two.

Scaling for 28x28: conv 1 is 5x5 stride 1 (the paper's 11x11 stride 4 would
reduce a digit to a 5x5 map at once), all convs are padded to keep their size,
so the maps go 28 -pool-> 13 -pool-> 6 -pool-> 2. ``width`` scales all
channel counts (1.0 = the paper's); ``hidden`` is the FC width (paper: 4096).
"""

from __future__ import annotations

from torch import nn

from .registry import DigitNet, register_model

CHANNELS = (96, 256, 384, 384, 256)  # the paper's conv widths, scaled by ``width``


def conv_relu(cin: int, cout: int, k: int) -> list[nn.Module]:
    """k x k conv padded to keep the map size, then ReLU."""
    return [nn.Conv2d(cin, cout, k, padding=k // 2), nn.ReLU(inplace=True)]


def response_norm(enabled: bool) -> nn.Module:
    """The paper's normalisation (n=5, alpha=1e-4, beta=0.75, k=2), or nothing."""
    return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0) if enabled else nn.Identity()


class AlexNet(DigitNet):
    def __init__(self, width: float, hidden: int, dropout: float, lrn: bool, num_classes: int):
        super().__init__()
        if width <= 0 or hidden < 1:
            raise ValueError(f"need width > 0 and hidden >= 1, got width={width}, hidden={hidden}")
        c1, c2, c3, c4, c5 = (max(1, round(c * width)) for c in CHANNELS)
        self.features = nn.Sequential(
            *conv_relu(1, c1, 5),
            response_norm(lrn),  # (N, c1, 28, 28)
            nn.MaxPool2d(3, 2),  # (N, c1, 13, 13): overlapping pooling, as in the paper
            *conv_relu(c1, c2, 5),
            response_norm(lrn),  # (N, c2, 13, 13)
            nn.MaxPool2d(3, 2),  # (N, c2, 6, 6)
            *conv_relu(c2, c3, 3),  # (N, c3, 6, 6)
            *conv_relu(c3, c4, 3),  # (N, c4, 6, 6)
            *conv_relu(c4, c5, 3),  # (N, c5, 6, 6)
            nn.MaxPool2d(3, 2),  # (N, c5, 2, 2)
            nn.Flatten(),  # (N, 4 * c5) = (N, 256) at width 0.25
            nn.Dropout(dropout),
            nn.Linear(4 * c5, hidden),
            nn.ReLU(inplace=True),  # FC 1
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),  # FC 2
        )
        self.head = nn.Linear(hidden, num_classes)  # FC 3

    def forward_features(self, x):
        return self.features(x)


@register_model(
    "alexnet",
    paper="Krizhevsky et al. 2012, ImageNet classification with deep CNNs",
    summary_zh="缩放到 28×28 的 AlexNet：5 个卷积层（96-256-384-384-256 × width）+ 3 个全连接层，ReLU、dropout，可选局部响应归一化（LRN）。",
    num_params=632_250,
    bounds=dict(width=(0.01, 4), hidden=(1, 8192), dropout=(0, 1)),
)
def alexnet(width: float = 0.25, hidden: int = 512, dropout: float = 0.5, lrn: bool = False, num_classes: int = 10) -> DigitNet:
    """AlexNet scaled to 28x28: 5 convs (96-256-384-384-256 x width) + 3 FC layers, ReLU, dropout, optional LRN."""
    return AlexNet(width, hidden, dropout, lrn, num_classes)
