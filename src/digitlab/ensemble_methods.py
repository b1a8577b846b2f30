"""How an ensemble weighs its members: pure functions of validation probabilities ``(M, N, C)`` and labels ``(N,)``.

They see only what they are given; the caller passes the validation split, so nothing here can pick by test.
Every function returns weights ``(M,)`` that sum to one (float64), deterministic for the same inputs.
"""

from __future__ import annotations

import torch

from .errors import ModelError
from .models.ensemble import combine

GREEDY_MAX_BAG = 25  # members drawn (with replacement) at most; Caruana et al. 2004 use bags of tens of models
FIT_STEPS = 200  # L-BFGS iterations of the weight fit; it converges in a few dozen on 10-member pools
MIN_WEIGHT = 1e-3  # a fitted weight below this is set to 0: the member would cost a forward pass for nothing
AUTO_CANDIDATES = ("mean", "weights", "greedy")  # what ``auto`` chooses from, simplest first (it wins ties)
CV_HALVINGS = 5  # random halvings of validation behind ``auto``'s held-out figures (10 fits per method)


def accuracy_nll(probs: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Accuracy and mean negative log-likelihood of combined probabilities ``(N, C)``."""
    acc = (probs.argmax(1) == labels).double().mean().item()
    nll = -probs.gather(1, labels[:, None]).clamp_min(1e-30).log().double().mean().item()
    return acc, nll


def score(probs: torch.Tensor, weights: torch.Tensor, labels: torch.Tensor, method: str = "mean") -> tuple[float, float]:
    """Validation accuracy and NLL of members ``probs (M, N, C)`` combined with ``weights (M,)``."""
    return accuracy_nll(combine(probs.double(), weights.double(), method), labels)


def uniform(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Every member counts the same (``mean`` and ``vote``)."""
    _check(probs, labels)
    m = probs.shape[0]
    return torch.full((m,), 1.0 / m, dtype=torch.float64)


def fit_weights(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Weights on the simplex (softmax of free parameters) that minimise the validation NLL of the weighted mean.

    Weights below ``MIN_WEIGHT`` become 0 and the rest are scaled back to sum to one, so a useless member is dropped.
    """
    _check(probs, labels)
    p_true = probs.double()[:, torch.arange(len(labels)), labels]  # (M, N) each member's probability of the truth
    theta = torch.zeros(probs.shape[0], dtype=torch.float64, requires_grad=True)  # start: the plain mean
    opt = torch.optim.LBFGS([theta], max_iter=FIT_STEPS, tolerance_grad=1e-10, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        opt.zero_grad()
        out = -(theta.softmax(0) @ p_true).clamp_min(1e-300).log().mean()
        out.backward()
        return out

    opt.step(loss)
    w = theta.detach().softmax(0)
    w = torch.where(w < MIN_WEIGHT, torch.zeros_like(w), w)
    return w / w.sum()


def greedy(probs: torch.Tensor, labels: torch.Tensor, max_bag: int = GREEDY_MAX_BAG) -> torch.Tensor:
    """Forward selection with replacement (Caruana et al. 2004): weights = how often each member was drawn / bag size.

    Start from the best single member; then add the member whose addition gives the best validation accuracy (ties:
    lower NLL, then lower index), while that beats the current bag (higher accuracy, or equal and lower NLL).
    """
    _check(probs, labels)
    m = probs.shape[0]
    counts = torch.zeros(m, dtype=torch.float64)
    best: tuple[float, float] | None = None
    while counts.sum() < max_bag:
        trials = [_rank(score(probs, _with(counts, i), labels)) for i in range(m)]
        pick = min(range(m), key=lambda i: (trials[i], i))
        if best is not None and trials[pick] >= _rank(best):
            break
        counts[pick] += 1
        best = score(probs, counts / counts.sum(), labels)
    return counts / counts.sum()


def _with(counts: torch.Tensor, i: int) -> torch.Tensor:
    out = counts.clone()
    out[i] += 1
    return out / out.sum()


def _rank(acc_nll: tuple[float, float]) -> tuple[float, float]:
    """Sort key: smaller is better (higher accuracy, then lower NLL)."""
    return (-acc_nll[0], acc_nll[1])


def _check(probs: torch.Tensor, labels: torch.Tensor) -> None:
    if probs.ndim != 3 or probs.shape[0] == 0:
        raise ModelError("An ensemble needs a pool of one or more members; the pool is empty.")
    if probs.shape[1] != len(labels) or len(labels) == 0:
        raise ModelError("Choosing an ensemble's weights needs the members' probabilities on a non-empty validation split.")


def held_out_accuracy(probs: torch.Tensor, labels: torch.Tensor, method: str, halvings: int = CV_HALVINGS) -> float:
    """Accuracy of ``method`` on validation images it did not fit its weights on (2-fold, over random halvings).

    A method that fits weights (``weights``, ``greedy``) always looks best on the images it fitted; on a 5,000-image
    validation split one image is 0.02 pp, so a greedy bag can win by chance. Fitting on one half and scoring on the
    other (both ways, ``halvings`` fixed-seed halvings) measures what each method is worth on unseen digits.
    """
    _check(probs, labels)
    gen = torch.Generator().manual_seed(0)
    accs = []
    for _ in range(halvings):
        perm = torch.randperm(len(labels), generator=gen)
        half_a, half_b = perm[: len(labels) // 2], perm[len(labels) // 2 :]
        for fit, held in ((half_a, half_b), (half_b, half_a)):
            weights = WEIGHTS[method](probs[:, fit], labels[fit])
            accs.append(score(probs[:, held], weights, labels[held], method)[0])
    return sum(accs) / len(accs)


def pick_method(probs: torch.Tensor, labels: torch.Tensor) -> tuple[str, dict[str, float]]:
    """The method of ``AUTO_CANDIDATES`` with the best held-out validation accuracy, and each one's figure."""
    held = {m: held_out_accuracy(probs, labels, m) for m in AUTO_CANDIDATES}
    return max(AUTO_CANDIDATES, key=lambda m: (held[m], -AUTO_CANDIDATES.index(m))), held


WEIGHTS = {"mean": uniform, "vote": uniform, "weights": fit_weights, "greedy": greedy}
