"""The sentences of a passage that best support a hit, for highlighting."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .sentences import sentence_spans


def best_sentences(
    text: str,
    question_tokens: Sequence[str],
    tokenize: Callable[[Sequence[str]], list[list[str]]],
    weight: Callable[[str], float],
    limit: int = 1,
) -> tuple[tuple[int, int], ...]:
    """Offsets of the `limit` sentences sharing the most question terms, weighted by `weight` (idf).

    Returns nothing when no sentence shares a term: better no highlight than a wrong one.
    """
    spans = sentence_spans(text)
    if not spans or not question_tokens:
        return ()
    wanted = set(question_tokens)
    scored = []
    for (start, end), tokens in zip(spans, tokenize([text[s:e] for s, e in spans]), strict=True):
        overlap = sum(weight(t) for t in wanted.intersection(tokens))
        if overlap > 0:
            scored.append((-overlap, start, end))
    scored.sort()
    return tuple(sorted((s, e) for _, s, e in scored[:limit]))
