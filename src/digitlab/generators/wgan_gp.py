"""``wgan-gp``: a conditional Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, "Improved training of
Wasserstein GANs").

The generator is the ``cdcgan`` one (DCGAN design, Radford et al. 2016). The critic is the projection network
(Miyato & Koyama 2018) without any normalisation: BatchNorm would couple the images of a batch, and the penalty
is on each image's own gradient. Critic loss: ``E[D(fake)] - E[D(real)] + gp_weight * E[(|grad D(x_hat)| - 1)^2]``
at random points ``x_hat`` between real and fake images; ``n_critic`` critic updates (fresh noise each, the same
real batch) per generator update.
"""

from __future__ import annotations

import torch
from torch import nn

from .cdcgan import AdversarialPair, sorted_share
from .registry import Generative, register_generator


class ProjectionCritic(nn.Module):
    """Two stride-2 convs, sum pooling and a projection head, no normalisation: ``(x, y)`` -> one score per image ``(N,)``.

    The projection head of Miyato & Koyama 2018; no normalisation, because the gradient penalty is on each image's own
    gradient, so nothing may couple a batch.
    """

    def __init__(self, width: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1),  # (N, w, 14, 14)
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),  # (N, 2w, 7, 7)
            nn.LeakyReLU(0.2),
        )
        self.psi = nn.Linear(2 * width, 1)
        self.embed = nn.Embedding(num_classes, 2 * width)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        phi = self.features(x).sum(dim=(2, 3))  # (N, 2w): sum pooling, as in the projection paper
        return self.psi(phi).squeeze(1) + (self.embed(y) * phi).sum(dim=1)


def gradient_penalty(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``E[(|grad_x D(x_hat, y)| - 1)^2]`` at ``x_hat`` uniformly between each real image and its fake, as a graph."""
    eps = torch.rand(len(real), 1, 1, 1, device=real.device)  # (B, 1, 1, 1): one mixing weight per image
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed, y).sum(), mixed, create_graph=True)  # the sum: each score's own gradient
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


class WGANGP(AdversarialPair):
    def __init__(self, latent_dim: int, width: int, num_classes: int, gp_weight: float, n_critic: int):
        super().__init__(latent_dim, width, num_classes, ProjectionCritic(width, num_classes))
        self.gp_weight, self.n_critic = gp_weight, n_critic

    def critic_step(self, x: torch.Tensor, y: torch.Tensor, opt: torch.optim.Optimizer) -> tuple[torch.Tensor, torch.Tensor]:
        """One critic update against fresh fakes: its (loss, share sorted correctly), detached."""
        with torch.no_grad():
            fake = self.g(self.noise(len(x)), y)  # (B, 1, 28, 28)
        real_score, fake_score = self.d(torch.cat([x, fake]), torch.cat([y, y])).chunk(2)
        loss = fake_score.mean() - real_score.mean() + self.gp_weight * gradient_penalty(self.d, x, fake, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach(), sorted_share(real_score, fake_score)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        losses, accs = zip(*(self.critic_step(x, y, opts["d"]) for _ in range(self.n_critic)), strict=True)
        g_loss = -self.d(self.g(self.noise(len(x)), y), y).mean()
        opts["g"].zero_grad(set_to_none=True)
        g_loss.backward()
        opts["g"].step()
        # the critic's figures are averaged over its n_critic updates
        return {"g_loss": g_loss.detach(), "d_loss": torch.stack(losses).mean(), "d_acc": torch.stack(accs).mean()}


@register_generator(
    "wgan-gp",
    paper="Gulrajani et al. 2017 (WGAN-GP); Radford et al. 2016 (DCGAN generator)",
    adversarial=True,
    bounds=dict(latent_dim=(1, 1024), width=(1, 512), gp_weight=(0, 1000), n_critic=(1, 20)),
)
def wgan_gp(latent_dim: int = 64, width: int = 32, gp_weight: float = 10.0, n_critic: int = 2, num_classes: int = 10) -> Generative:
    """Conditional Wasserstein GAN with gradient penalty: DCGAN generator, projection critic without normalisation."""
    return WGANGP(latent_dim, width, num_classes, gp_weight, n_critic)
