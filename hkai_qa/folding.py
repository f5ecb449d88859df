"""Text folding for matching: the same words match however they were typed.

Folded text is only ever compared, never shown: passages keep their original
characters and offsets.
"""

from __future__ import annotations

import unicodedata

_PUNCTUATION_FOLDS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)


def fold(text: str) -> str:
    """Unicode NFKC, straight quotes and dashes, case-folded."""
    return fold_keeping_case(text).casefold()


def fold_keeping_case(text: str) -> str:
    """`fold` without the case-folding, for tokens whose case means something (`-v` and `-V` are two flags)."""
    return unicodedata.normalize("NFKC", text).translate(_PUNCTUATION_FOLDS)
