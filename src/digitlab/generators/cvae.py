"""``cvae``: a conditional variational autoencoder (Sohn et al. 2015, "Learning structured output representation
using deep conditional generative models"; Kingma & Welling 2014, "Auto-encoding variational Bayes").

Encoder ``q(z | x, y)``: two stride-2 convolutions, then a linear map to the mean and log-variance of a diagonal
Gaussian, the label adding its own learned offset (a linear layer on the one-hot label). Decoder ``p(x | z, y)``:
the ``cdcgan`` generator's network, read as Bernoulli logits per pixel. Loss: the negative ELBO per image, binary
cross-entropy summed over the 784 pixels plus the KL divergence to the standard normal prior, averaged over the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .cdcgan import ConditionalGenerator
from .registry import Generative, register_generator


class CVAE(Generative):
    def __init__(self, latent_dim: int, width: int, num_classes: int):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1),  # (N, w, 14, 14)
            nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),  # (N, 2w, 7, 7)
            nn.ReLU(inplace=True),
            nn.Flatten(),  # (N, 98w)
            nn.Linear(2 * width * 7 * 7, 2 * latent_dim),  # (N, 2 * latent): mean and log-variance
        )
        self.label_stats = nn.Embedding(num_classes, 2 * latent_dim)  # = a linear layer on the one-hot label
        self.decoder = ConditionalGenerator(latent_dim, width, num_classes)

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of ``q(z | x, y)``, each ``(N, latent_dim)``."""
        mean, logvar = (self.encoder(x) + self.label_stats(y)).chunk(2, dim=1)
        return mean, logvar

    @torch.no_grad()
    def sample(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.decoder(z, y)  # sigmoid of the Bernoulli logits: each pixel's mean

    @torch.no_grad()
    def sample_between(self, z: torch.Tensor, y_from: torch.Tensor, y_to: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.decoder.between(z, y_from, y_to, t)

    def parts(self) -> dict[str, nn.Module]:
        return {"g": self}

    def train_step(self, x: torch.Tensor, y: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        mean, logvar = self.encode(x, y)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()  # the reparameterisation trick
        recon = F.binary_cross_entropy_with_logits(self.decoder.logits(z, y), x, reduction="sum") / len(x)
        kl = -0.5 * (1 + logvar - mean**2 - logvar.exp()).sum() / len(x)
        loss = recon + kl
        opts["g"].zero_grad(set_to_none=True)
        loss.backward()
        opts["g"].step()
        return {"g_loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach()}


@register_generator(
    "cvae",
    paper="Sohn et al. 2015 (CVAE); Kingma & Welling 2014 (VAE)",
    adversarial=False,
    bounds=dict(latent_dim=(1, 1024), width=(1, 512)),
)
def cvae(latent_dim: int = 16, width: int = 32, num_classes: int = 10) -> Generative:
    """Conditional VAE: convolutional encoder, DCGAN-style decoder giving Bernoulli logits, loss BCE + KL."""
    return CVAE(latent_dim, width, num_classes)
