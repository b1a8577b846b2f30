"""``mlp``: the fully connected baseline.

Follows the plain multilayer perceptron of Simard, Steinkraus & Platt 2003,
"Best practices for convolutional neural networks applied to visual document
analysis" (ICDAR), whose 2-layer, 800-hidden-unit MLP is the classic MNIST
reference; dropout between layers is from Srivastava et al. 2014. The image is
flattened to 784 pixels, so the net knows nothing about 2-D structure.
"""

from __future__ import annotations

from torch import nn

from .registry import DigitNet, register_model

PIXELS = 28 * 28  # inputs per image once flattened


class MLP(DigitNet):
    def __init__(self, depth: int, width: int, dropout: float, num_classes: int):
        super().__init__()
        if depth < 0 or width < 1:
            raise ValueError(f"need depth >= 0 and width >= 1, got depth={depth}, width={width}")
        layers: list[nn.Module] = [nn.Flatten()]  # (N, 784)
        cin = PIXELS
        for _ in range(depth):
            layers += [nn.Linear(cin, width), nn.ReLU(inplace=True), nn.Dropout(dropout)]  # (N, width)
            cin = width
        self.features = nn.Sequential(*layers)  # depth 0 = multinomial logistic regression on pixels
        self.head = nn.Linear(cin, num_classes)

    def forward_features(self, x):
        return self.features(x)


@register_model(
    "mlp",
    paper="Simard et al. 2003 (800-unit MLP baseline)",
    summary_zh="全连接基线模型：在展平的图像上叠加 depth 个 ReLU 隐藏层，每层 width 个单元。",
    num_params=1_276_810,
    bounds=dict(depth=(0, 64), width=(1, 16384), dropout=(0, 1)),
)
def mlp(depth: int = 2, width: int = 800, dropout: float = 0.2, num_classes: int = 10) -> DigitNet:
    """Fully connected baseline: `depth` hidden ReLU layers of `width` units on the flattened image."""
    return MLP(depth, width, dropout, num_classes)
