"""An experiment's numbers: mean and spread per value, paired effects with 95 % intervals, and one verdict per factor.

Effects are paired: a value is compared with the reference (the first value listed; ``true`` against ``false`` for a
switch) on the same seed and the same values of the other factors, so seed-to-seed noise that both share cancels.
The interval is Student's t on those paired differences; "clear" means it leaves out zero. The verdict reads
validation accuracy only; test accuracy is reported beside it, never used to decide.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

import optuna

from .ablate import Grid, value_text

# Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom (beyond: the normal's 1.96).
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """One finished (cell, seed): its run and its accuracies (fractions) and training seconds."""

    cell: int
    seed: int
    run: str
    val_acc: float
    test_acc: float | None
    seconds: float


@dataclass(frozen=True)
class Spread:
    """Mean and sample standard deviation (0 for one value) of a list of fractions, and how many."""

    n: int
    mean: float
    sd: float

    @classmethod
    def of(cls, xs: list[float]) -> Spread:
        return cls(len(xs), statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0)


@dataclass(frozen=True)
class Effect:
    """A value against the reference: mean paired difference and 95 % interval half-width, in percentage points."""

    key: str
    value: Any
    reference: Any
    pairs: int
    diff_pp: float
    half_pp: float | None  # None with a single pair: no uncertainty can be given
    test_diff_pp: float | None

    @property
    def clear(self) -> bool:
        return self.half_pp is not None and abs(self.diff_pp) > self.half_pp


def t975(df: int) -> float:
    return T975[df - 1] if df <= len(T975) else 1.96


def outcomes(study: optuna.Study) -> list[Outcome]:
    """The finished cells, the first finished trial of each (cell, seed) (a worker race may repeat one)."""
    seen: dict[tuple[int, int], Outcome] = {}
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        key = (t.params["cell"], t.params["seed"])
        if key not in seen and t.value is not None:
            a = t.user_attrs
            seen[key] = Outcome(key[0], key[1], a.get("run", ""), t.value, a.get("test_acc"), a.get("train_seconds", 0.0))
    return sorted(seen.values(), key=lambda o: (o.cell, o.seed))


def same(a: Any, b: Any) -> bool:
    """Equal and of one type (``True == 1`` in Python, but they are two values of a factor)."""
    return type(a) is type(b) and a == b


def reference(values: tuple[Any, ...]) -> Any:
    """What a value is compared with: ``false`` for a switch (so the effect is that of turning it on), else the first."""
    return False if set(values) == {True, False} else values[0]


def effects(grid: Grid, done: list[Outcome]) -> list[Effect]:
    """Every non-reference value of every factor against its factor's reference, paired over seed and other factors."""
    by = {(o.cell, o.seed): o for o in done}
    out = []
    for f in grid.factors:
        ref = reference(f.values)
        for v in (x for x in f.values if not same(x, ref)):
            val, test = [], []
            for (ci, seed), o in by.items():
                if not same(grid.cells[ci][f.key], v):
                    continue
                want = {**grid.cells[ci], f.key: ref}
                twin = next((i for i, c in enumerate(grid.cells) if all(same(c[k], want[k]) for k in c)), None)
                r = by.get((twin, seed)) if twin is not None else None
                if r is not None:
                    val.append(o.val_acc - r.val_acc)
                    if o.test_acc is not None and r.test_acc is not None:
                        test.append(o.test_acc - r.test_acc)
            out.append(_effect(f.key, v, ref, val, test))
    return out


def _effect(key: str, value: Any, ref: Any, val: list[float], test: list[float]) -> Effect:
    n = len(val)
    mean = 100 * statistics.fmean(val) if n else math.nan
    half = 100 * t975(n - 1) * statistics.stdev(val) / math.sqrt(n) if n > 1 else None
    return Effect(key, value, ref, n, mean, half, 100 * statistics.fmean(test) if test else None)


def per_value(grid: Grid, done: list[Outcome]) -> dict[str, list[tuple[Any, Spread, Spread | None]]]:
    """Factor -> [(value, validation spread, test spread)] over every seed and every value of the other factors."""
    table: dict[str, list[tuple[Any, Spread, Spread | None]]] = {}
    for f in grid.factors:
        rows = []
        for v in f.values:
            mine = [o for o in done if same(grid.cells[o.cell][f.key], v)]
            if mine:
                tests = [o.test_acc for o in mine if o.test_acc is not None]
                rows.append((v, Spread.of([o.val_acc for o in mine]), Spread.of(tests) if tests else None))
        table[f.key] = rows
    return table


def verdict(effect: Effect) -> str:
    """One sentence: "normalize=true vs false: +0.21 ± 0.05 pp validation accuracy (95 % interval, 3 pairs): clear, better"."""
    head = f"{effect.key}={value_text(effect.value)} vs {value_text(effect.reference)}: {effect.diff_pp:+.2f}"
    if effect.pairs == 0:
        return f"{effect.key}={value_text(effect.value)} vs {value_text(effect.reference)}: no finished pair yet."
    if effect.half_pp is None:
        return f"{head} pp validation accuracy from a single pair: no uncertainty (use --seeds 3 or more)."
    word = ("better" if effect.diff_pp > 0 else "worse") if effect.clear else "no clear difference (the interval includes 0)"
    return f"{head} ± {effect.half_pp:.2f} pp validation accuracy (95 % interval, {effect.pairs} paired runs): {'clear, ' if effect.clear else ''}{word}."
