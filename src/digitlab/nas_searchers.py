"""Structure searchers with one interface: ``propose(seed)`` a structure, ``observe(choices, reward)`` its result.

A searcher's state is a function of the rewards it has observed, in order: a search that resumes (or a worker that
joins) builds a fresh searcher and observes the finished children again, so it continues exactly where it was. Each
proposal draws from its own seeded generator, so the same history and seed give the same next structure.

- ``random``: every decision uniform (the baseline NAS papers must beat; Li & Talwalkar 2019).
- ``evolution``: regularized (aging) evolution, Real et al. 2019: tournament of ``sample`` members drawn from the
  ``population`` youngest, the winner's copy with one decision changed; the oldest member dies when a child is added.
- ``reinforce``: Zoph & Le 2017: an LSTM policy emits the decisions one by one, each as a softmax over that decision's
  options fed back as the next input; REINFORCE (Williams 1992) with a moving-average baseline and an entropy bonus.
- ``tpe``: Optuna's tree-structured Parzen estimator (Bergstra et al. 2011) over the same decisions, define-by-run.
"""

from __future__ import annotations

import random
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import optuna
import torch
from torch import nn

from .errors import ConfigError
from .nas_space import Decision, Space
from .tune_storage import quiet_optuna


@dataclass(frozen=True)
class Proposal:
    """A structure to train, and the decisions that spell it (name -> option)."""

    structure: str
    choices: dict[str, Any]


class Searcher(Protocol):
    def propose(self, seed: int) -> Proposal: ...

    def observe(self, choices: dict[str, Any], reward: float) -> None: ...


_SEARCHERS: dict[str, Callable[..., Searcher]] = {}


def register_searcher(name: str) -> Callable[[Callable[..., Searcher]], Callable[..., Searcher]]:
    def wrap(cls: Callable[..., Searcher]) -> Callable[..., Searcher]:
        _SEARCHERS[name] = cls
        return cls

    return wrap


def list_searchers() -> list[str]:
    return sorted(_SEARCHERS)


def make_searcher(name: str, space: Space, seed: int = 0) -> Searcher:
    """The searcher ``name`` over ``space``; ``seed`` fixes its own initial state (the controller's weights)."""
    if name not in _SEARCHERS:
        raise ConfigError(f"Unknown controller {name!r}; choose from {', '.join(list_searchers())}.")
    return _SEARCHERS[name](space, seed)


@register_searcher("random")
class RandomSearch:
    def __init__(self, space: Space, seed: int = 0):
        self.space = space

    def propose(self, seed: int) -> Proposal:
        rng = random.Random(seed)
        return Proposal(*self.space.decode(lambda d: rng.choice(d.choices)))

    def observe(self, choices: dict[str, Any], reward: float) -> None:
        """Random search learns nothing."""


@register_searcher("evolution")
class Evolution:
    """Regularized evolution (Real et al. 2019); the population is the ``population`` most recent children."""

    def __init__(self, space: Space, seed: int = 0, population: int = 20, sample: int = 5):
        self.space, self.sample = space, sample
        self.population: deque[tuple[dict[str, Any], float]] = deque(maxlen=population)  # the oldest ages out

    def propose(self, seed: int) -> Proposal:
        rng = random.Random(seed)
        if len(self.population) < (self.population.maxlen or 0):  # the first generation is random
            return Proposal(*self.space.decode(lambda d: rng.choice(d.choices)))
        parent = max(rng.sample(list(self.population), self.sample), key=lambda m: m[1])[0]
        return self.mutate(parent, rng)

    def mutate(self, parent: dict[str, Any], rng: random.Random) -> Proposal:
        """The parent with one of its decisions set to another option (decisions it switches on: drawn at random)."""
        name = rng.choice(sorted(parent))
        options = {d.name: d.choices for d in self.space.decisions()}[name]
        new = rng.choice([o for o in options if o != parent[name]])

        def choose(d: Decision) -> Any:
            if d.name == name:
                return new
            return parent[d.name] if parent.get(d.name) in d.choices else rng.choice(d.choices)

        return Proposal(*self.space.decode(choose))

    def observe(self, choices: dict[str, Any], reward: float) -> None:
        self.population.append((dict(choices), reward))


class Controller(nn.Module):
    """The policy: an LSTM cell; per decision a softmax head over its options and an embedding fed back as input."""

    def __init__(self, decisions: list[Decision], hidden: int = 64):
        super().__init__()
        self.index = {d.name: i for i, d in enumerate(decisions)}
        self.cell = nn.LSTMCell(hidden, hidden)
        self.start = nn.Parameter(torch.zeros(1, hidden))
        self.heads = nn.ModuleList(nn.Linear(hidden, len(d.choices)) for d in decisions)
        self.embeds = nn.ModuleList(nn.Embedding(len(d.choices), hidden) for d in decisions)
        self.hidden = hidden


@register_searcher("reinforce")
class Reinforce:
    """REINFORCE on the controller; the advantage is the reward minus a moving average, over a moving spread."""

    def __init__(self, space: Space, seed: int = 0, lr: float = 0.01, decay: float = 0.9, entropy: float = 0.01, hidden: int = 64):
        self.space, self.decay, self.entropy = space, decay, entropy
        with torch.random.fork_rng(devices=[]):  # the controller's initial weights, without touching the global generator
            torch.manual_seed(seed)
            self.policy = Controller(space.decisions(), hidden)
        self.opt = torch.optim.Adam(self.policy.parameters(), lr=lr)
        self.baseline: float | None = None
        self.spread = 0.0  # moving mean absolute deviation of the rewards: advantages keep one scale
        self.history: list[float] = []  # rewards seen, in order (the learning curve)

    def _walk(self, pick: Callable[[Decision, torch.Tensor], int]) -> tuple[Proposal, torch.Tensor, torch.Tensor]:
        """Run the policy through the decisions; ``pick(decision, logits)`` gives the option index: (proposal, log p, entropy)."""
        p = self.policy
        x, state = p.start, None
        logps, ents = [], []

        def choose(d: Decision) -> Any:
            nonlocal x, state
            i = p.index[d.name]
            state = p.cell(x, state)
            logits = p.heads[i](state[0])[0]  # (options,)
            k = pick(d, logits)
            logp = torch.log_softmax(logits, dim=0)
            logps.append(logp[k])
            ents.append(-(logp.exp() * logp).sum())
            x = p.embeds[i](torch.tensor([k]))  # (1, hidden): the choice is the next step's input
            return d.choices[k]

        proposal = Proposal(*self.space.decode(choose))
        return proposal, torch.stack(logps).sum(), torch.stack(ents).sum()

    def propose(self, seed: int) -> Proposal:
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            return self._walk(lambda d, logits: int(torch.multinomial(logits.softmax(0), 1, generator=g)))[0]

    def probabilities(self, name: str) -> list[float]:
        """The policy's probabilities for the options of decision ``name``, reached by taking the likeliest option before it."""
        out: list[float] = []

        def greedy(d: Decision, logits: torch.Tensor) -> int:
            if d.name == name:
                out.extend(logits.softmax(0).tolist())
            return int(logits.argmax())

        with torch.no_grad():
            self._walk(greedy)
        return out

    def observe(self, choices: dict[str, Any], reward: float) -> None:
        """One policy-gradient step on this child: raise the log-probability of its decisions by its advantage."""
        self.history.append(reward)
        if self.baseline is None:  # the first reward sets the baseline: no step
            self.baseline = reward
            return
        advantage = reward - self.baseline
        self.spread = self.decay * self.spread + (1 - self.decay) * abs(advantage) if self.spread else abs(advantage)
        self.baseline = self.decay * self.baseline + (1 - self.decay) * reward
        _, logp, ent = self._walk(lambda d, logits: d.choices.index(choices[d.name]))
        scaled = advantage / self.spread if self.spread > 0 else 0.0
        loss = -scaled * logp - self.entropy * ent
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


@register_searcher("tpe")
class TPE:
    """Optuna's TPE on an in-memory study that holds the observed children (independent per decision)."""

    def __init__(self, space: Space, seed: int = 0):
        self.space = space
        with quiet_optuna():  # the in-memory study's creation is no news to the user
            self.study = optuna.create_study(direction="maximize")
        self.dists = {d.name: optuna.distributions.CategoricalDistribution(list(d.choices)) for d in space.decisions()}

    def propose(self, seed: int) -> Proposal:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.study.sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=10)
        with quiet_optuna():
            trial = self.study.ask()
            proposal = Proposal(*self.space.decode(lambda d: trial.suggest_categorical(d.name, list(d.choices))))
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)  # a probe: the result comes through observe
        return proposal

    def observe(self, choices: dict[str, Any], reward: float) -> None:
        dists = {k: self.dists[k] for k in choices}
        with quiet_optuna():
            self.study.add_trial(optuna.trial.create_trial(params=dict(choices), distributions=dists, value=reward))
