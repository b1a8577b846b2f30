"""``regnet``: RegNetX / RegNetY built from the design-space parameters.

Radosavovic, Kosaraju, Girshick, He & Dollar 2020, "Designing network design
spaces" (CVPR). Block widths follow the paper's quantised linear rule: for
block j < d, u_j = w0 + wa * j, s_j = round(log(u_j / w0) / log(wm)),
w_j = w0 * wm^s_j rounded to a multiple of 8; runs of equal w_j form the stages.
Each stage's width is then adjusted so its inner (bottleneck) width w / b is a
multiple of the group width g.

The X block is 1x1 conv -> 3x3 group conv (groups of g channels, stride 2 in
the first block of a stage) -> 1x1 conv, each with BN (ReLU after the first
two), plus a residual (a 1x1 strided projection where the shape changes).
RegNetY adds squeeze-and-excitation (Hu et al. 2018) after the 3x3 conv, with
SE width = 0.25 x the block's input width.

For 28x28 the stem is a 3x3 stride-1 conv (32 channels, the paper's fixed stem
width) and at most four stages fit: 28 -> 14 -> 7 -> 4 -> 2.

Presets (``preset=``; any of ``depth, w0, wa, wm, group_width, bottleneck, se``
overrides one value):

* ``x_tiny``  d=6,  w0=16, wa=12,    wm=2.0,  g=8: stages 16x1, 32x2, 64x3
* ``x_small`` d=8,  w0=24, wa=16,    wm=2.0,  g=8: stages 24x1, 48x2, 96x4, 192x1
* ``y_small`` as ``x_small`` with SE
* ``x_200mf`` / ``y_200mf`` the paper's RegNetX/Y-200MF parameters (d=13, w0=24,
  wa=36.44, wm=2.49, g=8): stages 24x1, 56x1, 152x4, 368x7
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .registry import DigitNet, register_model

_X = dict(group_width=8, bottleneck=1.0, se=False)  # the paper's top models use b = 1
PRESETS: dict[str, dict[str, Any]] = {
    "x_tiny": dict(depth=6, w0=16, wa=12.0, wm=2.0, **_X),
    "x_small": dict(depth=8, w0=24, wa=16.0, wm=2.0, **_X),
    "y_small": dict(depth=8, w0=24, wa=16.0, wm=2.0, **{**_X, "se": True}),
    "x_200mf": dict(depth=13, w0=24, wa=36.44, wm=2.49, **_X),
    "y_200mf": dict(depth=13, w0=24, wa=36.44, wm=2.49, **{**_X, "se": True}),
}
STEM_WIDTH = 32  # fixed in the paper's design space
MAX_STAGES = 4  # 28 -> 14 -> 7 -> 4 -> 2: a fifth stride-2 stage would reach 1x1
SE_RATIO = 0.25  # SE width relative to the block input width (RegNetY)
QUANTUM = 8  # widths are multiples of 8


def stage_widths(depth: int, w0: int, wa: float, wm: float) -> list[tuple[int, int]]:
    """(width, blocks) per stage from the quantised linear rule."""
    if depth < 1 or w0 < 1 or wa <= 0 or wm <= 1:
        raise ValueError(f"need depth >= 1, w0 >= 1, wa > 0, wm > 1; got d={depth}, w0={w0}, wa={wa}, wm={wm}")
    stages: list[tuple[int, int]] = []
    for j in range(depth):
        s = round(math.log((w0 + wa * j) / w0) / math.log(wm))
        w = max(QUANTUM, round(w0 * wm**s / QUANTUM) * QUANTUM)
        if stages and stages[-1][0] == w:
            stages[-1] = (w, stages[-1][1] + 1)
        else:
            stages.append((w, 1))
    if len(stages) > MAX_STAGES:
        raise ValueError(f"these parameters give {len(stages)} stages; 28x28 input allows at most {MAX_STAGES}")
    return stages


def compatible(width: int, bottleneck: float, group_width: int) -> tuple[int, int, int]:
    """(width, inner width, group width) adjusted so the inner width ~ width / b is a multiple of g."""
    inner = max(1, int(width / bottleneck))
    g = min(group_width, inner)
    inner = max(g, round(inner / g) * g)
    return max(1, int(inner * bottleneck)), inner, g


def conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, relu: bool = True) -> nn.Sequential:
    """k x k conv (padded) -> BN -> [ReLU]."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Channel gates from globally pooled features: x * sigmoid(W2 relu(W1 mean(x)))."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),  # (N, C, 1, 1)
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),  # (N, C, 1, 1) in (0, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class XBlock(nn.Module):
    """1x1 -> 3x3 group conv (-> SE) -> 1x1, plus residual; ReLU after the sum."""

    def __init__(self, cin: int, cout: int, inner: int, stride: int, group_width: int, se: bool):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(cin, inner, 1),  # (N, inner, H, W)
            conv_bn(inner, inner, 3, stride, groups=inner // group_width),  # (N, inner, H/s, W/s)
            SqueezeExcite(inner, max(1, round(cin * SE_RATIO))) if se else nn.Identity(),
            conv_bn(inner, cout, 1, relu=False),  # (N, cout, H/s, W/s)
        )
        self.shortcut = conv_bn(cin, cout, 1, stride, relu=False) if stride != 1 or cin != cout else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class RegNet(DigitNet):
    def __init__(self, depth: int, w0: int, wa: float, wm: float, group_width: int, bottleneck: float, se: bool, num_classes: int):
        super().__init__()
        if group_width < 1 or bottleneck <= 0:
            raise ValueError(f"need group_width >= 1 and bottleneck > 0, got {group_width}, {bottleneck}")
        layers: list[nn.Module] = [conv_bn(1, STEM_WIDTH, 3)]  # (N, 32, 28, 28)
        cin = STEM_WIDTH
        for w, blocks in stage_widths(depth, w0, wa, wm):
            cout, inner, g = compatible(w, bottleneck, group_width)
            for b in range(blocks):  # each stage halves the map: 28 -> 14 -> 7 -> 4 -> 2
                layers.append(XBlock(cin, cout, inner, 2 if b == 0 else 1, g, se))
                cin = cout
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]  # (N, last stage width)
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes)
        for m in self.modules():  # He initialisation, as in the paper's code base
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x):
        return self.features(x)


@register_model(
    "regnet",
    paper="Radosavovic et al. 2020, Designing network design spaces",
    summary_zh="由设计空间参数构建的 RegNetX/Y（一个命名预设加上覆盖值）；为 28×28 输入使用步长为 1 的 stem。",
    num_params=216_074,
    bounds=dict(depth=(1, 64), w0=(1, 1024), wa=(0, 1024), wm=(1, 16), group_width=(1, 1024), bottleneck=(0, 16)),
)
def regnet(
    preset: str = "x_small",
    depth: int | None = None,
    w0: int | None = None,
    wa: float | None = None,
    wm: float | None = None,
    group_width: int | None = None,
    bottleneck: float | None = None,
    se: bool | None = None,
    num_classes: int = 10,
) -> DigitNet:
    """RegNetX/Y from design-space parameters (a named preset plus overrides); stride-1 stem for 28x28."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    overrides = dict(depth=depth, w0=w0, wa=wa, wm=wm, group_width=group_width, bottleneck=bottleneck, se=se)
    params = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    return RegNet(**params, num_classes=num_classes)
