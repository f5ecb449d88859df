"""Sentence spans: where windows may be cut and which sentence to highlight."""

from __future__ import annotations

import re

# A sentence ends at . ! ? (or their CJK forms), plus closing quotes or brackets,
# followed by white space or the end; a blank line also ends one.
_SENTENCE_END = re.compile(r"(?:[.!?]+[\"'”’)\]]*(?=\s|$)|[。！？]+[”’」』)]*|\n[ \t]*\n)")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence in `text[start:end]`, trimmed of white space."""
    end = len(text) if end is None else end
    spans = []
    position = start
    for match in _SENTENCE_END.finditer(text, start, end):
        spans.append((position, match.end()))
        position = match.end()
    spans.append((position, end))
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            trimmed.append((s, e))
    return trimmed
