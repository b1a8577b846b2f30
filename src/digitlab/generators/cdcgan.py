"""``cdcgan``: a class-conditional DCGAN with a projection discriminator and the hinge loss.

Generator: the DCGAN design (Radford et al. 2016, "Unsupervised representation learning with deep convolutional
generative adversarial networks"): noise and a class embedding, a linear layer to ``2w x 7 x 7``, then two
stride-2 transposed convolutions with BatchNorm and ReLU to a sigmoid ``1 x 28 x 28``. Discriminator: two
stride-2 convolutions, global sum pooling and a projection head (Miyato & Koyama 2018, "cGANs with projection
discriminator"): score = ``psi(phi(x)) + <embed(y), phi(x)>``, every layer spectrally normalised (Miyato et al.
2018, "Spectral normalization for generative adversarial networks"). Loss: the hinge loss of those papers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

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


class ProjectionCritic(nn.Module):
    """Two stride-2 convs, sum pooling and a projection head: ``(x, y)`` -> one real-valued score per image ``(N,)``.

    ``spectral=True`` normalises every layer (the SN-GAN discriminator); without it the net has no normalisation
    at all, as the gradient penalty of WGAN-GP requires (it penalises each image's gradient on its own).
    """

    def __init__(self, width: int, num_classes: int, spectral: bool):
        super().__init__()
        norm = spectral_norm if spectral else (lambda m: m)
        self.features = nn.Sequential(
            norm(nn.Conv2d(1, width, 4, stride=2, padding=1)),  # (N, w, 14, 14)
            nn.LeakyReLU(0.2),
            norm(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)),  # (N, 2w, 7, 7)
            nn.LeakyReLU(0.2),
        )
        self.psi = norm(nn.Linear(2 * width, 1))
        self.embed = norm(nn.Embedding(num_classes, 2 * width))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        phi = self.features(x).sum(dim=(2, 3))  # (N, 2w): sum pooling, as in the projection paper
        return self.psi(phi).squeeze(1) + (self.embed(y) * phi).sum(dim=1)


def sorted_share(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Share of images a critic sorts correctly by the sign of its score (real > 0, fake < 0), detached."""
    return torch.cat([real > 0, fake < 0]).float().mean().detach()


class AdversarialPair(Generative):
    """A conditional generator ``g`` and its critic ``d``; subclasses give the loss in ``train_step``."""

    def __init__(self, latent_dim: int, width: int, num_classes: int, spectral: bool):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.g = ConditionalGenerator(latent_dim, width, num_classes)
        self.d = ProjectionCritic(width, num_classes, spectral)

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
        real_score, fake_score = self.d(torch.cat([x, fake.detach()]), torch.cat([y, y])).chunk(2)  # one pass: one power iteration
        d_loss = F.relu(1 - real_score).mean() + F.relu(1 + fake_score).mean()
        opts["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        opts["d"].step()
        g_loss = -self.d(fake, y).mean()  # against the updated discriminator
        opts["g"].zero_grad(set_to_none=True)
        g_loss.backward()
        opts["g"].step()
        return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach(), "d_acc": sorted_share(real_score, fake_score)}


@register_generator(
    "cdcgan", paper="Radford et al. 2016 (DCGAN); Miyato & Koyama 2018 (projection cGAN); Miyato et al. 2018 (SN)", adversarial=True
)
def cdcgan(latent_dim: int = 64, width: int = 32, num_classes: int = 10) -> Generative:
    """Class-conditional DCGAN, spectrally normalised projection discriminator, hinge loss."""
    return CDCGAN(latent_dim, width, num_classes, spectral=True)
