"""Scoring a `QA` on a question set or a BEIR benchmark: the runner.

Every question is asked alone through `QA.retrieve` (the public method, without
`ask`'s cap on k) and timed; hits are judged relevant when they hold an answer
string (or sit in the expected section), or, for BEIR, by the qrels of their
documents (passages merged to documents, best passage first). Question files are
read by `questions`, metrics computed by `metrics`, reports written by `report`.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._defaults import DEFAULT_KS
from .errors import QuestionError
from .metrics import (
    covers_page,
    documents_in_order,
    first_relevant_rank,
    is_relevant,
    section_matches,
    trec_metrics,
    with_kinds,
)
from .questions import Question, QuestionSet, load_questions
from .report import BEIR_DEPTH, EvalReport

if TYPE_CHECKING:
    from .qa import QA

EVIDENCE_HITS = 10  # BEIR hits that get evidence (as a user would see them) and are kept for the report


@dataclass(frozen=True)
class TopHit:
    """What a report shows of one hit: enough to see why a question failed."""

    rank: int
    section: str
    score: float
    doc_id: str
    passage_id: str
    text: str
    relevant: bool


@dataclass
class EvalRow:
    """One question's outcome. `rank` is the first relevant hit's (passages, or documents for BEIR).

    For BEIR, `relevant` holds the graded qrels, `documents` the ranked document
    ids (top 100) and `scores` the query's trec_eval measures.
    """

    id: str
    question: str
    kind: str = ""
    answers: tuple[str, ...] = ()
    section: str | None = None
    answerable: bool = True
    predicted_answerable: bool = True
    judged: bool = True
    rank: int | None = None
    section_at_1: bool | None = None
    top_score: float = 0.0
    latency_ms: float = 0.0
    hits: list[TopHit] = field(default_factory=list)
    relevant: Mapping[str, int] = field(default_factory=dict)
    documents: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    page: int | None = None
    source: str | None = None

    @property
    def expected(self) -> str:
        if not self.answerable:
            return "(not answerable)"
        if self.relevant:
            return " ".join(f"{d}:{g}" for d, g in self.relevant.items())
        parts = [f"page: {self.page}" + (f" of {self.source}" if self.source else "")] if self.page else []
        parts += [f"section: {self.section}"] if self.section else []
        parts += [f"answer: {' | '.join(self.answers)}"] if self.answers else []
        return "; ".join(parts) or "(not judged)"


def _check_ks(ks: Iterable[int]) -> tuple[int, ...]:
    checked = []
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise QuestionError(f"k values must be whole numbers of 1 or more; got {k!r}.")
        checked.append(k)
    if not checked:
        raise QuestionError("give at least one k, e.g. 1,3,5,10.")
    return tuple(sorted(set(checked)))


def evaluate(
    qa: QA,
    questions: str | Path | QuestionSet,
    *,
    ks: Iterable[int] = DEFAULT_KS,
    progress: bool | None = None,
) -> EvalReport:
    """Ask every question of `qa`, one at a time and timed, and score the answers.

    `progress`: True shows a bar on stderr after a second, False never, None
    (default) only when the run lasts over a few seconds.
    """
    ks = _check_ks(ks)
    question_set = questions if isinstance(questions, QuestionSet) else load_questions(questions)
    if question_set.is_beir:
        _check_beir_corpus(qa, question_set.source)
    depth, evidence_for = max(ks), None
    if question_set.is_beir:
        # Enough passages for 100 distinct documents, usually: long abstracts come as several windows.
        per_document = len(qa.passages) / max(1, int(qa.manifest.get("document_count", 1)))
        depth, evidence_for = max(depth, math.ceil(BEIR_DEPTH * per_document * 1.5)), EVIDENCE_HITS
    # The first question would pay for loading the model: ask one, untimed, first.
    qa.retrieve([question_set.questions[0].question], 1)
    rows = []
    started = time.perf_counter()
    bar = _progress_bar(len(question_set.questions), f"eval {qa.mode}", progress)
    try:
        for question in question_set.questions:
            rows.append(_ask_and_score(qa, question, question_set, depth, evidence_for))
            bar.update()
    finally:
        bar.close()
    query_seconds = time.perf_counter() - started
    if question_set.is_beir:
        per_query = trec_metrics({r.id: r.relevant for r in rows}, {r.id: r.documents for r in rows})
        for row in rows:
            row.scores = per_query[row.id]
    manifest = qa.manifest
    return EvalReport(
        name=question_set.name,
        source=str(question_set.source),
        corpus=str(qa.corpus_path),
        index=str(qa.index_dir),
        mode=qa.mode,
        model=str(manifest.get("model", {}).get("name", "")),
        threshold=qa.threshold,
        ks=ks,
        is_beir=question_set.is_beir,
        metrics=with_kinds(rows, ks, beir=question_set.is_beir),
        rows=rows,
        timings={
            "index_build_seconds": float(manifest.get("build_seconds", 0.0)),
            "query_seconds": round(query_seconds, 3),
        },
        facts={
            "passages": int(manifest.get("passage_count", len(qa.passages))),
            "documents": int(manifest.get("document_count", 0)),
            "depth": depth,
            "evidence_for": evidence_for,
        },
    )


def _check_beir_corpus(qa: QA, folder: Path) -> None:
    corpus = Path(qa.corpus_path).resolve()
    corpus = corpus / "corpus.jsonl" if corpus.is_dir() else corpus
    if corpus != (folder / "corpus.jsonl").resolve():
        raise QuestionError(
            f"this QA answers from {qa.corpus_path}, but BEIR folder {folder} is judged against its own corpus. "
            f"Evaluate it with QA(corpus={str(folder)!r}) (CLI: drop --corpus)."
        )


def _ask_and_score(
    qa: QA, question: Question, question_set: QuestionSet, depth: int, evidence_for: int | None
) -> EvalRow:
    started = time.perf_counter()
    try:
        answer = qa.retrieve([question.question], depth, evidence_for=evidence_for)[0]
        if question_set.is_beir:
            documents = documents_in_order(h.doc_id for h in answer.hits)
            while len(documents) < BEIR_DEPTH and depth < len(qa.passages):
                depth *= 2  # long documents fill the list with their passages: look deeper
                answer = qa.retrieve([question.question], depth, evidence_for=evidence_for)[0]
                documents = documents_in_order(h.doc_id for h in answer.hits)
    except QuestionError as error:
        raise QuestionError(f"{question_set.source.name} line {question.line}: {error}") from None
    latency_ms = (time.perf_counter() - started) * 1000
    hits = answer.hits
    row = EvalRow(
        id=question.id,
        question=question.question,
        kind=question.kind,
        answers=question.answers,
        section=question.section,
        answerable=question.answerable,
        predicted_answerable=answer.answerable,
        judged=question.judged,
        top_score=answer.best_score,
        latency_ms=latency_ms,
        relevant=dict(question.relevant),
        page=question.page,
        source=question.source,
    )
    if question_set.is_beir:
        documents = documents_in_order(h.doc_id for h in hits)
        row.rank = first_relevant_rank(question.relevant.get(d, 0) > 0 for d in documents)
        row.documents = documents[:BEIR_DEPTH]
        relevance = [question.relevant.get(h.doc_id, 0) > 0 for h in hits]
    elif question.page is not None:
        relevance = [covers_page(h.page, h.page_end, h.source, question.page, question.source) for h in hits]
        row.rank = first_relevant_rank(relevance)
    else:
        relevance = [is_relevant(h.text, h.section, question.answers, question.section) for h in hits]
        row.rank = first_relevant_rank(relevance) if question.judged else None
        if question.section and hits:
            row.section_at_1 = section_matches(hits[0].section, question.section)
    keep = EVIDENCE_HITS if question_set.is_beir else depth
    row.hits = [
        TopHit(h.rank, h.section, h.score, h.doc_id, h.passage_id, h.text, relevant)
        for h, relevant in zip(hits[:keep], relevance, strict=False)
    ]
    return row


def _progress_bar(total: int, description: str, progress: bool | None):
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=description,
        unit="q",
        file=sys.stderr,
        disable=progress is False,
        delay=1.0 if progress else 3.0,
        leave=False,
        dynamic_ncols=True,
    )
