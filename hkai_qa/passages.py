"""Documents to passages: one per section, long sections cut into overlapping windows.

A window never exceeds the model's sequence limit (counted with the model's own
tokenizer), so no text is silently truncated away at embedding time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .corpus import Document, Section
from .sentences import sentence_spans

TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True)
class Passage:
    """A piece of a document small enough to embed, with where it came from.

    `text` is `document.text[start:end]`, unchanged.
    """

    passage_id: str
    doc_id: str
    source: str
    heading: str
    text: str
    start: int
    end: int

    @property
    def searchable_text(self) -> str:
        """What is embedded and indexed: the heading gives a section's context."""
        if not self.heading or self.heading == self.doc_id:
            return self.text
        return f"{self.heading}\n{self.text}"

    def to_dict(self) -> dict:
        return {
            "passage_id": self.passage_id,
            "doc_id": self.doc_id,
            "source": self.source,
            "heading": self.heading,
            "text": self.text,
            "start": self.start,
            "end": self.end,
        }


def split_documents(documents: Sequence[Document], count_tokens: TokenCounter, max_tokens: int) -> list[Passage]:
    """Every section of every document as passages of at most `max_tokens` tokens."""
    sections = [(document, section) for document in documents for section in document.sections]
    texts = [_searchable(document, section, section.start, section.end) for document, section in sections]
    lengths = count_tokens(texts) if texts else []
    passages: list[Passage] = []
    ordinal: dict[str, int] = {}
    for (document, section), length in zip(sections, lengths, strict=True):
        if length <= max_tokens:
            spans = [(section.start, section.end)]
        else:
            spans = _windows(document, section, count_tokens, max_tokens)
        for start, end in spans:
            number = ordinal.get(document.doc_id, 0)
            ordinal[document.doc_id] = number + 1
            passages.append(
                Passage(
                    passage_id=f"{document.doc_id}#{number}",
                    doc_id=document.doc_id,
                    source=document.source,
                    heading=section.heading,
                    text=document.text[start:end],
                    start=start,
                    end=end,
                )
            )
    return passages


def _searchable(document: Document, section: Section, start: int, end: int) -> str:
    body = document.text[start:end]
    return body if section.heading == document.doc_id else f"{section.heading}\n{body}"


def _windows(
    document: Document, section: Section, count_tokens: TokenCounter, max_tokens: int
) -> list[tuple[int, int]]:
    """Greedy windows of whole sentences, each starting with the previous window's last sentence."""
    heading_cost = count_tokens([section.heading + "\n"])[0] if section.heading != document.doc_id else 0
    budget = max(8, max_tokens - heading_cost)
    sentences = sentence_spans(document.text, section.start, section.end)
    spans = _fit_sentences(document.text, sentences, count_tokens, budget)
    costs = count_tokens([document.text[s:e] for s, e in spans])
    windows: list[tuple[int, int]] = []
    first = 0
    while first < len(spans):
        last, used = first, costs[first]
        while last + 1 < len(spans) and used + costs[last + 1] <= budget:
            last += 1
            used += costs[last]
        windows.append((spans[first][0], spans[last][1]))
        if last + 1 >= len(spans):
            break
        # Overlap by one sentence unless that would stall or crowd out the next window.
        overlap = last if last > first and costs[last] <= budget // 2 else last + 1
        first = overlap
    return windows


def _fit_sentences(
    text: str, spans: list[tuple[int, int]], count_tokens: TokenCounter, budget: int
) -> list[tuple[int, int]]:
    """Cut any sentence longer than `budget` tokens at white space, so every piece fits."""
    costs = count_tokens([text[s:e] for s, e in spans])
    fitted: list[tuple[int, int]] = []
    for (start, end), cost in zip(spans, costs, strict=True):
        if cost <= budget:
            fitted.append((start, end))
            continue
        pieces = -(-cost // budget) + 1
        step = max(1, (end - start) // pieces)
        position = start
        while position < end:
            cut = min(end, position + step)
            if cut < end:
                space = text.rfind(" ", position + 1, cut)
                cut = space if space > position else cut
            fitted.append((position, cut))
            position = cut
            while position < end and text[position].isspace():
                position += 1
    return fitted
