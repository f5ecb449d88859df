"""What a question gets back: hits with their evidence, and whether the corpus answers it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One retrieved passage.

    `score` orders the hits and means the same across questions (see
    `QA.ask`); `dense_score` (cosine), `bm25_score` and the ranks are the raw
    parts; with a reranker, `rerank_score` (the cross-encoder's) orders them
    instead. `evidence` holds (start, end) offsets into `text` of the sentences
    that best match the question; `start`/`end` locate `text` in its document.
    """

    rank: int
    section: str
    text: str
    score: float
    doc_id: str
    passage_id: str
    source: str
    start: int
    end: int
    dense_score: float = 0.0
    bm25_score: float = 0.0
    dense_rank: int | None = None
    bm25_rank: int | None = None
    evidence: tuple[tuple[int, int], ...] = ()
    rerank_score: float | None = None

    @property
    def evidence_text(self) -> list[str]:
        return [self.text[s:e] for s, e in self.evidence]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = [list(span) for span in self.evidence]
        return data


@dataclass(frozen=True)
class Answer:
    """The hits for one question, best first, and whether they answer it.

    `answerable` is False when even the best retrieval score (`best_score`) is
    below the abstention threshold, or when the question asks for a number or a
    date that none of the first hits contains; the closest hits are still given.
    `notes` carries the reason and advice such as "the model is English-only".
    """

    question: str
    hits: list[Hit]
    answerable: bool
    notes: list[str] = field(default_factory=list)
    best_score: float | None = None

    def __post_init__(self) -> None:
        if self.best_score is None:  # an Answer made by hand: its first hit's score
            object.__setattr__(self, "best_score", self.hits[0].score if self.hits else 0.0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `hkai-qa ask --json` and the UI's `/ask` endpoint."""
        return {
            "question": self.question,
            "answerable": self.answerable,
            "best_score": self.best_score,
            "notes": list(self.notes),
            "hits": [hit.to_dict() for hit in self.hits],
        }
