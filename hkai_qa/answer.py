"""What a question gets back: hits with their evidence, and whether the corpus answers it.

`Hit` and `Answer` are the results; `assemble` makes an Answer from ranked
passages (evidence, abstention, notes) without a model, so it is tested alone.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ._defaults import ANSWER_TYPE_WINDOW, DEFAULT_THRESHOLDS, MAX_K, MAX_QUESTION_CHARS, MODES
from .answer_types import missing_answer_type
from .errors import QuestionError, did_you_mean
from .evidence import best_sentences

if TYPE_CHECKING:
    import numpy as np

    from .passages import Passage
    from .ranking import Ranked


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
    # Where the passage is in a paged source (PDF): first and last physical page, 1-based, and the
    # first page's printed label when it differs; None for formats without pages.
    page: int | None = None
    page_end: int | None = None
    page_label: str | None = None
    # The page the first evidence sentence starts on (of a passage over pages 34-35, the one to open);
    # None without pages or without evidence.
    evidence_page: int | None = None

    @property
    def evidence_text(self) -> list[str]:
        return [self.text[s:e] for s, e in self.evidence]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = [list(span) for span in self.evidence]
        for name in ("page_label", "evidence_page"):  # only where the PDF has them
            if data[name] is None:
                del data[name]
        return data

    @property
    def pages(self) -> str | None:
        """Where the passage is, as a reader cites it: "p. 7", "pp. 7–8", "p. 7 (printed iii)"; None without pages."""
        if self.page is None:
            return None
        last = self.page_end if self.page_end is not None else self.page
        where = f"p. {self.page}" if last == self.page else f"pp. {self.page}–{last}"
        return f"{where} (printed {self.page_label})" if self.page_label else where


@dataclass(frozen=True)
class Answer:
    """The hits for one question, best first, and whether they answer it.

    `answerable` is False when even the best retrieval score (`best_score`) is
    below the abstention threshold, when the question asks for a number or a
    date that none of the first hits contains, or when its key term is one the
    documents never mention (hkai_qa.term_coverage); the closest hits are still given.
    `notes` carries the reason and advice such as "the model is English-only".
    `threshold` is the one `best_score` was judged against: the dense mode's for a
    question ranked by meaning alone, so what the faces print is what decided.
    """

    question: str
    hits: list[Hit]
    answerable: bool
    notes: list[str] = field(default_factory=list)
    best_score: float | None = None
    threshold: float | None = None

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


# --- assembly: from ranked passages to an Answer -------------------------------------------------


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_question(question: object) -> str:
    """The question, stripped, or QuestionError (a ValueError) saying what is wrong."""
    if not isinstance(question, str):
        raise QuestionError(f"a question must be text, not {type(question).__name__}.")
    stripped = question.strip()
    if not stripped:
        raise QuestionError("the question is empty. Type a question, for example: How does the government support AI?")
    if len(stripped) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is {len(stripped):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. Shorten it."
        )
    bad = _SURROGATE.search(stripped)
    if bad:  # what Python makes of bytes that are not UTF-8 (a mis-set terminal or file)
        raise QuestionError(
            f"the question is not valid text: character {bad.start() + 1} is a byte that is not UTF-8. "
            "Type it again, or save the file it came from as UTF-8."
        )
    return stripped


def check_k(k: object, limit: int | None = MAX_K) -> int:
    """`k` as a whole number of passages, capped at `limit`, or QuestionError."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise QuestionError(f"k must be a whole number of passages, 1 or more; got {k!r}.")
    return int(k if limit is None else min(k, limit))


def check_mode(mode: str) -> str:
    """`mode` when it is one of MODES, or QuestionError naming the choices."""
    if mode not in MODES:
        raise QuestionError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}.{did_you_mean(mode, MODES)}")
    return mode


def threshold_for(manifest: dict[str, Any], mode: str, built_in: dict[str, float] | None = None) -> float:
    """The best-hit score below which `mode` abstains: fitted by `calibrate` (in the manifest), else built in.

    `built_in` is the model's own defaults (cosine scales differ between models), MiniLM's
    when None; they apply even to an index an older version built with other defaults.
    """
    built_in = built_in or DEFAULT_THRESHOLDS
    abstention = manifest.get("abstention", {})
    if str(abstention.get("fitted_on", "built-in")).startswith("built-in"):
        return float(built_in[mode])
    return float(abstention.get("thresholds", {}).get(mode, built_in[mode]))


def has_cjk(text: str) -> bool:
    """Whether `text` holds Chinese, Japanese or Korean characters."""
    return any("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


ENGLISH_ONLY_NOTE = (
    "The default model reads English only: these hits may be unrelated. "
    "For other languages, build with a multilingual model: --model multilingual-e5-small."
)


UNMENTIONED_NOTE = "The documents never mention '{term}', the question's key term; the closest passages follow."


MEANING_ALONE_NOTE = (
    "Few of this question's words occur in the documents (another language?), so it was "
    "ranked by meaning alone and judged against the dense threshold {threshold:.3f}."
)


def rerank(
    question: str,
    ranked: list[Ranked],
    passages: Sequence[Passage],
    scorer: Callable[[str, list[str]], np.ndarray],
    depth: int,
) -> tuple[list[Ranked], dict[int, float]]:
    """The first `depth` of `ranked` reordered by `scorer`'s scores (best first), and those scores by passage."""
    import numpy as np

    head, tail = ranked[:depth], ranked[depth:]
    scores = scorer(question, [passages[r.passage].text for r in head])
    by_passage = {r.passage: float(s) for r, s in zip(head, scores, strict=True)}
    return [head[i] for i in np.argsort(-scores, kind="stable")] + tail, by_passage


def assemble(
    question: str,
    ranked: list[Ranked],
    passages: Sequence[Passage],
    *,
    k: int,
    threshold: float,
    best_score: float,
    tokens: list[str],
    weight: Callable[[str], float],
    evidence_for: int | None = None,
    rerank_scores: dict[int, float] | None = None,
    english_only: bool = False,
    notes: Sequence[str] = (),
    unmentioned_term: Callable[[], str | None] | None = None,
) -> Answer:
    """The Answer for `question` from its ranked passages.

    `best_score` (the retrieval's, before any reranking) decides abstention against
    `threshold`; so does a question asking for a number or a date that none of the
    first passages gives, and so does one whose key term the documents never mention
    (`unmentioned_term`, asked only when nothing else declined it: it encodes).
    Evidence sentences are found for the first `evidence_for`
    hits (all when None), weighted by `weight` (a token's idf).
    """
    rerank_scores = rerank_scores or {}
    hits = [
        make_hit(
            position,
            r,
            passages[r.passage],
            tokens if evidence_for is None or position <= evidence_for else [],
            weight,
            rerank_scores.get(r.passage),
        )
        for position, r in enumerate(ranked[:k], start=1)
    ]
    notes = list(notes)
    answerable = bool(hits) and best_score >= threshold
    missing = missing_answer_type(question, [h.text for h in hits[:ANSWER_TYPE_WINDOW]])
    if answerable and missing:
        answerable = False
        notes.append(f"The question asks for a {missing}, and none of the best passages gives one.")
    term = unmentioned_term() if answerable and unmentioned_term is not None else None
    if term:
        answerable = False
        notes.append(UNMENTIONED_NOTE.format(term=term))
    if english_only and has_cjk(question):
        notes.append(ENGLISH_ONLY_NOTE)
    return Answer(
        question=question, hits=hits, answerable=answerable, notes=notes, best_score=best_score, threshold=threshold
    )


def make_hit(
    position: int,
    ranked: Ranked,
    passage: Passage,
    tokens: list[str],
    weight: Callable[[str], float],
    rerank_score: float | None = None,
) -> Hit:
    """One Hit: the passage, its scores and the sentences sharing the most question terms."""
    from .lexical import bm25_tokenize  # here, so `from hkai_qa import Answer` loads no numpy

    evidence = best_sentences(passage.text, tokens, bm25_tokenize, weight)
    return Hit(
        rank=position,
        section=passage.heading,
        text=passage.text,
        score=round(ranked.score, 6),
        doc_id=passage.doc_id,
        passage_id=passage.passage_id,
        source=passage.source,
        start=passage.start,
        end=passage.end,
        dense_score=round(ranked.dense_score, 6),
        bm25_score=round(ranked.bm25_score, 6),
        dense_rank=ranked.dense_rank,
        bm25_rank=ranked.bm25_rank,
        evidence=evidence,
        rerank_score=None if rerank_score is None else round(rerank_score, 6),
        page=passage.page,
        page_end=passage.page_end,
        page_label=passage.page_label,
        evidence_page=passage.page_at(evidence[0][0]) if evidence and passage.page is not None else None,
    )
