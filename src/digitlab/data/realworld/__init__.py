"""Real-world pictures for issue 11 ("not a digit" in the real world), made deterministically from installed packages.

``eval_sets()`` gives the evaluation sets the recognition benchmark reads; ``sets(split)`` the same kinds for the
train and val splits; ``recognize.negatives.negatives28(split)`` their 28x28 outlier-exposure version. Every record
is a ``Sample`` (picture bytes, label, source package, group). Splits are by package: a font, photo or package of the
eval split is never in train or val. Sources, licences and the split of each package: data/README.md. The packages
are installed by ``sudo scripts/realworld-packages.sh``; a missing one is a DataError naming that command.
"""

from __future__ import annotations

from .digits import digit_photos, digit_strips
from .documents import documents
from .fonts import AMBIGUOUS, LETTERS, SYMBOLS, letters, printed_digits, symbols
from .packages import SPLITS, check_split
from .photos import photos
from .sample import Sample, cached

__all__ = ["AMBIGUOUS", "EVAL_SETS", "LETTERS", "SIZES", "SPLITS", "SYMBOLS", "Sample", "eval_sets", "sets"]

# Per set and split: how many samples (None: every face / photo gives its share; see the set's module).
SIZES = {"digit_photos": 500, "digit_strips": 200, "nondigit_documents": 40}


def _makers(split: str, seed: int) -> dict:
    """Set name -> a function making it, for ``split``."""

    def all_letters() -> list[Sample]:  # made once, cached, then divided in two
        return cached(f"letters-{split}", {"seed": seed}, lambda: letters(split, seed))

    return {
        "nondigit_photos": lambda: photos(split, seed),
        "nondigit_documents": lambda: documents(split, SIZES["nondigit_documents"], seed),
        "letters_refuse": lambda: [s for s in all_letters() if not s.accept],
        "letters_ambiguous": lambda: [s for s in all_letters() if s.accept],
        "symbols": lambda: symbols(split, seed),
        "digit_photos": lambda: digit_photos(split, SIZES["digit_photos"], seed),
        "digit_strips": lambda: digit_strips(split, SIZES["digit_strips"], seed),
        "printed_digits": lambda: printed_digits(split, seed),
    }


def sets(split: str, seed: int = 0, names: list[str] | None = None) -> dict[str, list[Sample]]:
    """The real-world sets of ``split`` ("train", "val" or "eval"), by name; cached in the user cache.

    nondigit_photos: photos and crops without digits (label None); nondigit_documents: printed text pages without
    digits; letters_refuse: letters that must be refused; letters_ambiguous: digit-like letters (``accept`` = the
    digit they may be read as); symbols; digit_photos: one handwritten digit each; digit_strips: 3-6 digits as a
    number; printed_digits: 0-9 in every face. ``names`` picks some of them.
    """
    makers = _makers(check_split(split), seed)
    return {name: cached(f"{name}-{split}", {"seed": seed, "sizes": SIZES}, makers[name]) for name in names or makers}


EVAL_SETS = [
    "nondigit_photos",
    "nondigit_documents",
    "letters_refuse",
    "letters_ambiguous",
    "digit_photos",
    "digit_strips",
    "printed_digits",
]


def eval_sets(seed: int = 0) -> dict[str, list[Sample]]:
    """The evaluation sets of issue 11 (``sets("eval")`` less the symbols, which are made for training): never used for
    training or tuning."""
    return sets("eval", seed, EVAL_SETS)
