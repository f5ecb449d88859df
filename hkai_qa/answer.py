"""What a question gets back: hits with their evidence, and whether the corpus answers it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One retrieved passage.

    `score` orders the hits and means the same across questions (see
    `QA.ask`); `dense_score` (cosine), `bm25_score` and the ranks are the raw
    parts. `evidence` holds (start, end) offsets into `text` of the sentences
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

    `answerable` is False when even the best hit scores below the abstention
    threshold; the closest hits are still given. `notes` carries advice such as
    "the model is English-only".
    """

    question: str
    hits: list[Hit]
    answerable: bool
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `hkai-qa ask --json` and the UI's `/ask` endpoint."""
        return {
            "question": self.question,
            "answerable": self.answerable,
            "notes": list(self.notes),
            "hits": [hit.to_dict() for hit in self.hits],
        }
