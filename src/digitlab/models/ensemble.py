"""``ensemble``: several trained DigitNets combined into one network (not in the registry: it is built from a checkpoint).

Each member keeps its own normalisation (members may be trained with different pixel statistics), so the ensemble
takes pictures in [0, 1] (its checkpoint's own norm is mean 0, std 1). ``forward_features`` returns the members'
penultimate features concatenated, then the members' probabilities (``M * C`` values at the end, member by member),
so a detector can read their disagreement; ``head`` combines those probabilities with the ensemble's weights and
returns their log (valid logits: softmax gives the combined probabilities back). Test-time augmentation (small shifts
and rotations, sampled with one fixed grid each) averages each member's probabilities over the views.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError
from .registry import DigitNet, create_model

METHODS = ("mean", "vote", "weights", "greedy")  # weights and greedy combine like mean, with fitted weights
# Test-time views besides the picture itself: (shift x, shift y) in pixels and rotation in degrees.
TTA_VIEWS = ((1, 0, 0.0), (-1, 0, 0.0), (0, 1, 0.0), (0, -1, 0.0), (0, 0, 8.0), (0, 0, -8.0))
VOTE_TIE_BREAK = 1e-3  # share of the mean probability mixed into vote shares: breaks ties, never outvotes a member
LOG_FLOOR = 1e-30  # combined probabilities are clamped here before the log (finite logits, no float32 denormals)


def combine(probs: torch.Tensor, weights: torch.Tensor, method: str) -> torch.Tensor:
    """Members' probabilities ``(M, N, C)`` and weights ``(M,)`` summing to one -> combined probabilities ``(N, C)``.

    ``vote``: each member's weighted vote for its top class (a tie inside one member splits its vote), plus
    ``VOTE_TIE_BREAK`` times the weighted mean probability, so tied votes go to the class the members find likelier.
    Any other method: the weighted mean of the probabilities.
    """
    w = weights.to(probs.dtype).view(-1, 1, 1)
    mean = (w * probs).sum(0)
    if method != "vote":
        return mean
    top = (probs == probs.amax(-1, keepdim=True)).to(probs.dtype)  # (M, N, C) one-hot of each member's top class
    votes = (w * top / top.sum(-1, keepdim=True)).sum(0)
    return (1 - VOTE_TIE_BREAK) * votes + VOTE_TIE_BREAK * mean


def tta_grids(views: Sequence[Sequence[float]], size: int = 28) -> torch.Tensor:
    """Sampling grids ``(V, size, size, 2)`` of shifted / rotated views, for ``grid_sample`` (zeros outside)."""
    thetas = []
    for dx, dy, deg in views:
        a = math.radians(deg)
        # affine_grid maps output to input coordinates in [-1, 1]: one pixel is 2 / size
        thetas.append([[math.cos(a), -math.sin(a), -2 * dx / size], [math.sin(a), math.cos(a), -2 * dy / size]])
    theta = torch.tensor(thetas, dtype=torch.float32)
    return F.affine_grid(theta, [len(views), 1, size, size], align_corners=False)


class Combine(nn.Module):
    """The ensemble's head: the members' probabilities at the end of the features -> log combined probabilities."""

    def __init__(self, weights: torch.Tensor, num_classes: int, method: str):
        super().__init__()
        self.register_buffer("weights", weights.float())
        self.num_classes, self.method = num_classes, method

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # (N, D + M*C) -> (N, C)
        m, c = len(self.weights), self.num_classes
        probs = features[:, -m * c :].reshape(-1, m, c).transpose(0, 1)  # (M, N, C)
        return combine(probs, self.weights, self.method).clamp_min(LOG_FLOOR).log()


class EnsembleNet(DigitNet):
    """Members with their own normalisation, combined by ``method`` with ``weights``; optional test-time views."""

    def __init__(
        self,
        members: Sequence[DigitNet],
        norms: Sequence[dict[str, float]],
        weights: Sequence[float],
        method: str,
        num_classes: int,
        tta: bool = False,
    ):
        super().__init__()
        if method not in METHODS:
            raise ModelError(f"Unknown ensemble method {method!r}; use one of {', '.join(METHODS)}.")
        if not members or len(members) != len(norms) or len(members) != len(weights):
            raise ModelError("An ensemble needs one or more members, each with its normalisation and weight.")
        self.members = nn.ModuleList(members)
        self.register_buffer("means", torch.tensor([float(n["mean"]) for n in norms]))
        self.register_buffer("stds", torch.tensor([float(n["std"]) for n in norms]))
        self.head = Combine(torch.tensor(list(weights), dtype=torch.float32), num_classes, method)
        self.tta = tta
        self.register_buffer("grids", tta_grids(TTA_VIEWS), persistent=False)  # (V, 28, 28, 2); made from code, not stored

    def views(self, x: torch.Tensor) -> torch.Tensor:
        """The picture, then its test-time views when on: ``(N, 1, 28, 28)`` -> ``(K * N, 1, 28, 28)``, view-major."""
        if not self.tta:
            return x
        n = x.shape[0]
        shifted = [
            F.grid_sample(x, g.unsqueeze(0).expand(n, -1, -1, -1), mode="bilinear", padding_mode="zeros", align_corners=False)
            for g in self.grids
        ]
        return torch.cat([x, *shifted])

    def member_outputs(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Per member: features of the picture itself ``(N, D_m)`` and probabilities averaged over the views ``(N, C)``."""
        n, views = x.shape[0], self.views(x)
        feats, probs = [], []
        for i, member in enumerate(self.members):
            f = member.forward_features((views - self.means[i]) / self.stds[i])
            p = member.head(f).softmax(-1)
            feats.append(f[:n])
            probs.append(p.reshape(-1, n, p.shape[-1]).mean(0))
        return feats, probs

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # (N,1,28,28) in [0, 1] -> (N, sum D_m + M*C)
        feats, probs = self.member_outputs(x)
        return torch.cat([*feats, *probs], 1)


def ensemble_from_spec(spec: dict[str, Any], num_classes: int) -> EnsembleNet:
    """The (untrained) network of a checkpoint's ``ensemble`` entry: members' architectures, norms, weights, method."""
    try:
        members = [create_model(m["model"], **m["model_kwargs"]) for m in spec["members"]]
        norms = [m["norm"] for m in spec["members"]]
        return EnsembleNet(members, norms, spec["weights"], spec["method"], num_classes, bool(spec.get("tta", False)))
    except (KeyError, TypeError) as err:
        raise ModelError(f"The checkpoint's ensemble entry is incomplete ({type(err).__name__}: {err}).") from err
