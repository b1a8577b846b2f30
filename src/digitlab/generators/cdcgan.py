"""``cdcgan``: a class-conditional DCGAN with a projection head on its discriminator.

Generator: the DCGAN design (Radford et al. 2016, "Unsupervised representation learning with deep convolutional
generative adversarial networks"): noise and a class embedding, a linear layer to ``2w x 7 x 7``, then two
stride-2 transposed convolutions with BatchNorm and ReLU to a sigmoid ``1 x 28 x 28``. Discriminator: the DCGAN
one, conditioned twice: the class as an extra input plane (Mirza & Osindero 2014, "Conditional generative adversarial
nets") and a projection term ``<embed(y), phi(x)>`` on its flattened features (Miyato & Koyama 2018, "cGANs with
projection discriminator"); BatchNorm in its second layer, real and fake batches passed apart (so its batch
statistics tell real from fake batches: what keeps the generator from collapsing). Loss: DCGAN's non-saturating one.
Measured on MNIST (3 epochs, the shipped judge): a spectrally normalised two-layer projection critic with sum
pooling and the hinge loss let the generator ignore its noise (every class one image), and so did every variant tried
(TTUR rates, mean pooling, a flattened head, the non-saturating loss, no spectral norm, a minibatch-stddev layer);
this design did not (distinct samples 0.95 of real's per class, recall 0.33 after 3 epochs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Generative, register_generator


class ConditionalGenerator(nn.Module):
    """DCGAN generator: ``(z, y)`` -> logits ``(N, 1, 28, 28)``; ``forward`` gives the images in [0, 1]."""

    def __init__(self, latent_dim: int, width: int, num_classes: int):
        super().__init__()
        self.embed = nn.Embedding(num_classes, latent_dim)
        self.project = nn.Sequential(nn.Linear(2 * latent_dim, 2 * width * 7 * 7, bias=False), nn.Unflatten(1, (2 * width, 7, 7)))
        self.up = nn.Sequential(
            nn.BatchNorm2d(2 * width),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),  # (N, w, 14, 14)
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),  # (N, 1, 28, 28)
        )

    def logits(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.up(self.project(torch.cat([z, self.embed(y)], dim=1)))

    def between(self, z: torch.Tensor, y_from: torch.Tensor, y_to: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 1, 28, 28)`` with the class embedding a ``t`` ``(N,)`` share of the way from ``y_from`` to ``y_to``."""
        e = torch.lerp(self.embed(y_from), self.embed(y_to), t[:, None])
        return torch.sigmoid(self.up(self.project(torch.cat([z, e], dim=1))))

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z, y))


class ConditionalCritic(nn.Module):
    """The DCGAN discriminator with the class as an input plane and a projection head: ``(x, y)`` -> scores ``(N,)``."""

    def __init__(self, width: int, num_classes: int):
        super().__init__()
        self.plane = nn.Embedding(num_classes, 28 * 28)  # the class as a learned 28x28 input plane
        self.features = nn.Sequential(
            nn.Conv2d(2, 2 * width, 4, stride=2, padding=1),  # (N, 2w, 14, 14)
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 4, stride=2, padding=1),  # (N, 4w, 7, 7)
            nn.BatchNorm2d(4 * width),
            nn.LeakyReLU(0.2),
            nn.Flatten(),  # (N, 4w * 49)
        )
        self.psi = nn.Linear(4 * width * 49, 1)
        self.embed = nn.Embedding(num_classes, 4 * width * 49)
        nn.init.zeros_(self.embed.weight)  # the projection starts silent and grows as it helps

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        phi = self.features(torch.cat([x, self.plane(y).view(-1, 1, 28, 28)], dim=1))
        return self.psi(phi).squeeze(1) + (self.embed(y) * phi).sum(dim=1)


def sorted_share(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Share of images a critic sorts correctly by the sign of its score (real > 0, fake < 0), detached."""
    return torch.cat([real > 0, fake < 0]).float().mean().detach()


class AdversarialPair(Generative):
    """A conditional generator ``g`` and its critic ``d``; subclasses give the loss in ``train_step``."""

    def __init__(self, latent_dim: int, width: int, num_classes: int, critic: nn.Module):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.g = ConditionalGenerator(latent_dim, width, num_classes)
        self.d = critic

    @torch.no_grad()
    def sample(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.g(z, y)

    @torch.no_grad()
    def sample_between(self, z: torch.Tensor, y_from: torch.Tensor, y_to: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.g.between(z, y_from, y_to, t)

    def parts(self) -> dict[str, nn.Module]:
        return {"g": self.g, "d": self.d}


class CDCGAN(AdversarialPair):
    def train_step(self, x: torch.Tensor, y: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        fake = self.g(self.noise(len(x)), y)  # (B, 1, 28, 28), fakes of the real batch's classes; reused by both steps
        real_score, fake_score = self.d(x, y), self.d(fake.detach(), y)  # apart: BatchNorm sees one kind per batch
        d_loss = F.softplus(-real_score).mean() + F.softplus(fake_score).mean()
        opts["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        opts["d"].step()
        g_loss = F.softplus(-self.d(fake, y)).mean()  # non-saturating, against the updated discriminator
        opts["g"].zero_grad(set_to_none=True)
        g_loss.backward()
        opts["g"].step()
        return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach(), "d_acc": sorted_share(real_score, fake_score)}


@register_generator(
    "cdcgan",
    paper="Radford et al. 2016 (DCGAN); Mirza & Osindero 2014 (cGAN); Miyato & Koyama 2018 (projection)",
    adversarial=True,
    bounds=dict(latent_dim=(1, 1024), width=(1, 512)),
)
def cdcgan(latent_dim: int = 64, width: int = 32, num_classes: int = 10) -> Generative:
    """Class-conditional DCGAN, discriminator conditioned by an input plane and a projection head."""
    return CDCGAN(latent_dim, width, num_classes, ConditionalCritic(width, num_classes))
