"""Window vectors: a passage longer than the model's window is seen whole through one vector per window.

On a small corpus a passage may hold its whole section, up to LONG_PASSAGE_WINDOWS of
the model's windows (`_defaults.passage_budget`), so a hit keeps the prose that
introduces a code block, the code and the sentence after it together. The model
reads only a passage's first window, though, so each model-sized window inside a
long passage (the cut a large corpus gets, clipped to the passage) is embedded as
well, and ranking takes the passage's cosine as the best of its own and its
windows' (`ranking.rank_passages`). A passage that fits the model's window has no
windows: its own vector sees all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .embedding import encode_reusing

if TYPE_CHECKING:
    from .passages import Passage


@dataclass(frozen=True)
class WindowVectors:
    """One unit vector per window of a long passage: its passage row, its span in the passage's text."""

    passages: np.ndarray  # int32 [windows], ascending
    spans: np.ndarray  # int32 [windows, 2]: start and end offsets in the passage's `text`
    vectors: np.ndarray  # float32 [windows, dimension]

    def best(self, query_vector: np.ndarray, passage_count: int) -> np.ndarray:
        """For every passage, the cosine of its window closest to the question (-inf when it has none)."""
        best = np.full(passage_count, -np.inf, dtype=np.float32)
        if len(self.vectors):
            cosine = self.vectors @ np.asarray(query_vector, dtype=np.float32)
            np.maximum.at(best, self.passages, cosine)
        return best

    def of_passages(self, rows: Sequence[int]) -> np.ndarray:
        """The vectors of the windows inside these passages (none for a passage that fits one window)."""
        return self.vectors[np.isin(self.passages, np.asarray(rows, dtype=np.int32))]


def window_spans(passages: Sequence[Passage], windows: Sequence[Passage]) -> tuple[np.ndarray, np.ndarray]:
    """The windows of every passage that spans more than one of `windows` (the corpus cut at the model's
    window): their passage rows and their spans in the passage's text, clipped to it.

    A clipped window inside another of the same passage says nothing more and is left out.
    """
    by_doc: dict[str, list[Passage]] = {}
    for window in windows:
        by_doc.setdefault(window.doc_id, []).append(window)
    rows: list[int] = []
    spans: list[tuple[int, int]] = []
    for row, passage in enumerate(passages):
        inside = [
            (max(w.start, passage.start) - passage.start, min(w.end, passage.end) - passage.start)
            for w in by_doc.get(passage.doc_id, [])
            if w.start < passage.end and w.end > passage.start
        ]
        if len(inside) < 2:
            continue  # the passage fits one window: its own vector sees it whole
        kept = [s for s in inside if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in inside)]
        for span in dict.fromkeys(kept):
            rows.append(row)
            spans.append(span)
    return np.asarray(rows, dtype=np.int32), np.asarray(spans, dtype=np.int32).reshape(-1, 2)


def window_texts(passages: Sequence[Passage], rows: np.ndarray, spans: np.ndarray) -> list[str]:
    """What each window's vector embeds: its text under its passage's heading, as a passage's would."""
    texts = []
    for row, (start, end) in zip(rows, spans, strict=True):
        passage = passages[int(row)]
        texts.append(replace(passage, text=passage.text[int(start) : int(end)]).searchable_text)
    return texts


def embed_windows(
    passages: Sequence[Passage],
    windows: Sequence[Passage],
    encode: Callable[[list[str]], np.ndarray],
    dimension: int,
    known: dict[str, np.ndarray] | None = None,
) -> WindowVectors:
    """The windows of every long passage embedded with `encode`; a window found in `known` (an update) keeps
    its vector."""
    rows, spans = window_spans(passages, windows)
    texts = window_texts(passages, rows, spans)
    vectors = encode_reusing(texts, encode, dimension, known)
    return WindowVectors(rows, spans, vectors)


def vectors_by_text(passages: Sequence[Passage], windows: WindowVectors | None) -> dict[str, np.ndarray]:
    """An old index's window vectors by the text they embed, for an update to reuse."""
    if windows is None:
        return {}
    return dict(zip(window_texts(passages, windows.passages, windows.spans), windows.vectors, strict=True))
