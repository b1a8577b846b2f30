"""``vgg16``: VGG configuration "D" adapted to 28x28 digits.

Simonyan & Zisserman 2015, "Very deep convolutional networks for large-scale
image recognition" (ICLR): 13 3x3 convolutions (stride 1, padding 1) in five
stages of 2, 2, 3, 3, 3 layers with 64-128-256-512-512 channels, then three
fully connected layers with dropout. BatchNorm after each conv (Ioffe & Szegedy
2015) is optional and on by default; it is what lets the 16-layer stack train
from scratch without the paper's staged initialisation.

Pooling choice for 28x28: the paper halves the map after every stage (224 ->
7). A digit allows three halvings, so 2x2 max-pooling follows stages 1-3 only
(28 -> 14 -> 7 -> 3) and stages 4 and 5 run at 3x3. Pooling once more would
leave stage 5 on a 1x1 map, where its padded 3x3 kernels see zeros everywhere
but the centre tap. The classifier therefore reads 3 x 3 x C5 features.

``width`` scales all channel counts (1.0 = the paper's 64..512, default 0.25 =
16-32-64-128-128); ``hidden`` is the FC width (paper: 4096).
"""

from __future__ import annotations

from torch import nn

from .cnn import conv_block
from .registry import DigitNet, register_model

STAGES = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))  # config D: (convs, channels)
POOLED_STAGES = 3  # 2x2 max-pool after the first three stages: 28 -> 14 -> 7 -> 3
FINAL_SIDE = 3  # map side after the last pool


def stage(cin: int, cout: int, convs: int, batchnorm: bool, pool: bool) -> nn.Sequential:
    """`convs` x (3x3 same-padding conv -> [BN] -> ReLU), then an optional 2x2 max-pool."""
    return nn.Sequential(
        *[conv_block(cin if i == 0 else cout, cout, 3, batchnorm, pool=pool and i == convs - 1, padding=1) for i in range(convs)]
    )


class VGG(DigitNet):
    def __init__(self, width: float, hidden: int, dropout: float, batchnorm: bool, num_classes: int):
        super().__init__()
        if width <= 0 or hidden < 1:
            raise ValueError(f"need width > 0 and hidden >= 1, got width={width}, hidden={hidden}")
        blocks: list[nn.Module] = []
        cin = 1
        for i, (convs, channels) in enumerate(STAGES):
            cout = max(1, round(channels * width))
            blocks.append(stage(cin, cout, convs, batchnorm, pool=i < POOLED_STAGES))
            cin = cout
        # at width 0.25: (N,16,14,14) (N,32,7,7) (N,64,3,3) (N,128,3,3) (N,128,3,3)
        flat = cin * FINAL_SIDE * FINAL_SIDE  # 1152 at width 0.25
        self.features = nn.Sequential(
            *blocks,
            nn.Flatten(),  # (N, flat)
            nn.Linear(flat, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),  # FC 1
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),  # FC 2
        )
        self.head = nn.Linear(hidden, num_classes)  # FC 3

    def forward_features(self, x):
        return self.features(x)


@register_model(
    "vgg16",
    paper="Simonyan & Zisserman 2015, Very deep convolutional networks (config D)",
    summary_zh="VGG-16（配置 D）：13 个 3×3 卷积，分为 2、2、3、3、3 层的五个阶段（64..512 × width）+ 3 个全连接层。",
    num_params=1_285_082,
    bounds=dict(width=(0.01, 4), hidden=(1, 8192), dropout=(0, 1)),
)
def vgg16(width: float = 0.25, hidden: int = 256, dropout: float = 0.5, batchnorm: bool = True, num_classes: int = 10) -> DigitNet:
    """VGG-16 (config D): 13 3x3 convs in stages of 2,2,3,3,3 (64..512 x width) + 3 FC layers."""
    return VGG(width, hidden, dropout, batchnorm, num_classes)
