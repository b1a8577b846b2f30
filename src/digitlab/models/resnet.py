"""``resnet``: residual networks for small images.

He, Zhang, Ren & Sun 2016a, "Deep residual learning for image recognition"
(CVPR), section 4.2 (CIFAR-10): a 3x3 conv stem, then three stages of n basic
blocks (two 3x3 convs each) with 16, 32 and 64 channels, the first block of
stages 2-3 striding by 2, global average pooling; depth = 6n + 2 (20, 32, 56,
...). At 28x28 the maps go 28 -> 14 -> 7. ``depth=18`` instead builds the
paper's ImageNet ResNet-18 layout (four stages of 2 blocks, 64-128-256-512
channels) with the usual small-image stem: one 3x3 stride-1 conv and no
max-pool, so the maps go 28 -> 14 -> 7 -> 4.

``preact=True`` uses the pre-activation blocks of He, Zhang, Ren & Sun 2016b,
"Identity mappings in deep residual networks" (ECCV): BN-ReLU-conv twice, with
nothing after the addition, and a final BN-ReLU before pooling.

Where a block changes shape the shortcut is a 1x1 strided projection (the
paper's option B); the CIFAR models of the paper used parameter-free
zero-padding (option A), which gives about 1% fewer parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import DigitNet, register_model

CIFAR_WIDTHS = (16, 32, 64)  # stage widths of the 6n+2 family
RESNET18_STAGES = ((2, 64), (2, 128), (2, 256), (2, 512))  # (blocks, channels)


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    """3x3 conv, padded to keep the size at stride 1; no bias as BN follows."""
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs plus shortcut: post-activation (2016a) or pre-activation (2016b)."""

    def __init__(self, cin: int, cout: int, stride: int, preact: bool):
        super().__init__()
        self.preact = preact
        self.bn1 = nn.BatchNorm2d(cin if preact else cout)
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(cout, cout)
        self.shortcut: nn.Module | None = None
        if stride != 1 or cin != cout:
            proj: list[nn.Module] = [nn.Conv2d(cin, cout, 1, stride=stride, bias=False)]
            if not preact:  # in pre-activation nets the projection sees already-normalised input
                proj.append(nn.BatchNorm2d(cout))
            self.shortcut = nn.Sequential(*proj)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, cin, H, W) -> (N, cout, H/s, W/s)
        if self.preact:
            out = F.relu(self.bn1(x))
            skip = x if self.shortcut is None else self.shortcut(out)
            out = self.conv2(F.relu(self.bn2(self.conv1(out))))
            return out + skip  # identity path stays clean: no ReLU after the sum
        skip = x if self.shortcut is None else self.shortcut(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + skip)


def stage_plan(depth: int) -> tuple[int, list[tuple[int, int]]]:
    """Stem width and (blocks, channels) per stage for a supported depth, before the width multiplier."""
    if depth == 18:
        return 64, list(RESNET18_STAGES)
    if depth >= 8 and (depth - 2) % 6 == 0:
        n = (depth - 2) // 6
        return CIFAR_WIDTHS[0], [(n, c) for c in CIFAR_WIDTHS]
    raise ValueError(f"unsupported depth {depth}; use 18 or 6n+2 (e.g. 20, 32, 44, 56, 110)")


class ResNet(DigitNet):
    def __init__(self, depth: int, width: float, preact: bool, num_classes: int):
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be > 0, got {width}")
        stem, plan = stage_plan(depth)
        cin = max(1, round(stem * width))
        layers: list[nn.Module] = [conv3x3(1, cin)]  # (N, stem, 28, 28)
        if not preact:
            layers += [nn.BatchNorm2d(cin), nn.ReLU(inplace=True)]
        for i, (blocks, channels) in enumerate(plan):
            cout = max(1, round(channels * width))
            for b in range(blocks):
                stride = 2 if i > 0 and b == 0 else 1  # halve the map entering stages 2+
                layers.append(BasicBlock(cin, cout, stride, preact))
                cin = cout
        if preact:  # the last block's sum is not normalised yet
            layers += [nn.BatchNorm2d(cin), nn.ReLU(inplace=True)]
        # depth 20: (N, 64, 7, 7); depth 18: (N, 512, 4, 4)
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]  # (N, cin)
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes)
        for m in self.modules():  # He et al. 2015 initialisation, as the paper uses
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x):
        return self.features(x)


@register_model(
    "resnet",
    paper="He et al. 2016, Deep residual learning (CIFAR nets); He et al. 2016b, Identity mappings (pre-activation)",
    summary_zh="残差网络：CIFAR 式深度 6n+2（16-32-64 × width）或 18 层（64..512 × width）；可选预激活。",
    num_params=272_186,
    bounds=dict(depth=(2, 200), width=(0.01, 4)),
)
def resnet(depth: int = 20, width: float = 1.0, preact: bool = False, num_classes: int = 10) -> DigitNet:
    """Residual net: depth 6n+2 CIFAR-style (16-32-64 x width) or 18 (64..512 x width); optional pre-activation."""
    return ResNet(depth, width, preact, num_classes)
