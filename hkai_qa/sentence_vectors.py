"""Sentence vectors: a passage's closest sentence as evidence beside the passage's own vector.

A question usually asks about one sentence, while a window's vector averages a
dozen of them, so a window holding the answer among other things loses to a
shorter one that merely shares its topic. Embedding each sentence of a small
corpus as well lets hybrid ranking add how close the passage's closest sentence
is (`ranking.rank_passages`). It is one more vector per sentence, so only corpora
of fewer than LARGE_CORPUS_PASSAGES passages get them; large ones rank as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .embedding import encode_reusing
from .sentences import sentence_spans

if TYPE_CHECKING:
    from .passages import Passage

# Pieces shorter than this many characters (a bare "```", a list bullet) say nothing alone.
MIN_SENTENCE_CHARS = 12


@dataclass(frozen=True)
class SentenceVectors:
    """One unit vector per sentence, and the passage (row) each sentence belongs to."""

    passages: np.ndarray  # int32 [sentences], ascending
    vectors: np.ndarray  # float32 [sentences, dimension]

    def closest(self, query_vector: np.ndarray, passage_count: int) -> np.ndarray:
        """For every passage, the cosine of its sentence closest to the question (0 when it has none)."""
        cosine = self.vectors @ np.asarray(query_vector, dtype=np.float32)
        best = np.full(passage_count, -np.inf, dtype=np.float32)
        np.maximum.at(best, self.passages, cosine)
        best[np.isneginf(best)] = 0.0
        return best


def passage_sentences(passages: Sequence[Passage]) -> tuple[np.ndarray, list[str]]:
    """The sentences worth embedding of every passage: their passage rows and their texts."""
    rows: list[int] = []
    texts: list[str] = []
    for row, passage in enumerate(passages):
        for start, end in sentence_spans(passage.text):
            if end - start >= MIN_SENTENCE_CHARS:
                rows.append(row)
                texts.append(passage.text[start:end])
    return np.asarray(rows, dtype=np.int32), texts


def embed_sentences(
    passages: Sequence[Passage],
    encode: Callable[[list[str]], np.ndarray],
    dimension: int,
    known: dict[str, np.ndarray] | None = None,
) -> SentenceVectors:
    """Every passage's sentences embedded with `encode`; a sentence found in `known` (an update) keeps its vector."""
    rows, texts = passage_sentences(passages)
    vectors = encode_reusing(texts, encode, dimension, known)
    return SentenceVectors(rows, vectors)


def vectors_by_text(passages: Sequence[Passage], sentences: SentenceVectors | None) -> dict[str, np.ndarray]:
    """An old index's sentence vectors by sentence text, for an update to reuse."""
    if sentences is None:
        return {}
    rows, texts = passage_sentences(passages)
    if len(texts) != len(sentences.vectors) or not np.array_equal(rows, sentences.passages):
        return {}  # cut under other rules: nothing lines up
    return dict(zip(texts, sentences.vectors, strict=True))
