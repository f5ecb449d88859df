"""Scoring a `QA` on a question set or a BEIR benchmark: question files, metrics, reports.

Two inputs:

- a question set (JSONL, CSV or a JSON list): `question`, and optionally `id`,
  `answer` (a string or a list), `section`, `answerable` (default true), `kind`.
  A hit is relevant when its text holds an answer string (folded: case, curly
  quotes); a row without answers is judged by its section instead;
- a BEIR folder (`corpus.jsonl`, `queries.jsonl`, `qrels/test.tsv`): every test
  query is asked, passages are merged to documents (best passage first) and
  trec_eval, through pytrec_eval, computes nDCG@10, recall@100, MRR@10, MAP@100.

The metric functions take plain ranks, lists and dicts, so they are checked
against hand-worked values without a model. Reports are plain files: metrics.json,
per_question.csv, report.md, plot.png and run.json.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import QuestionError
from .folding import fold

if TYPE_CHECKING:
    from .qa import QA

DEFAULT_KS = (1, 3, 5, 10)
QUESTION_SUFFIXES = (".jsonl", ".csv", ".json")
KNOWN_COLUMNS = ("id", "question", "answer", "section", "answerable", "kind")
CSV_ANSWER_SEPARATOR = "|"
BEIR_DEPTH = 100  # distinct documents per query: recall@100 and map@100 need them all
EVIDENCE_HITS = 10  # BEIR hits that get evidence (as a user would see them) and are kept for the report
TREC_MEASURES = {"ndcg@10": "ndcg_cut_10", "recall@100": "recall_100", "map@100": "map_cut_100"}
WORST_MISSES = 10
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


class QuestionFileWarning(UserWarning):
    """A question file has something we skip (unknown columns), but can still be scored."""


# --- questions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One row of a question set, or one BEIR test query (`relevant` holds its graded qrels)."""

    id: str
    question: str
    answers: tuple[str, ...] = ()
    section: str | None = None
    answerable: bool = True
    kind: str = ""
    line: int = 0
    relevant: Mapping[str, int] = field(default_factory=dict)

    @property
    def judged(self) -> bool:
        """Whether its hits can be judged relevant or not."""
        return bool(self.answers or self.section or self.relevant)


@dataclass(frozen=True)
class QuestionSet:
    """Questions read from one file or BEIR folder; `is_beir` when scored by qrels."""

    source: Path
    questions: list[Question]
    is_beir: bool = False

    @property
    def name(self) -> str:
        return self.source.stem if self.source.is_file() else self.source.name


def is_beir_folder(path: str | Path) -> bool:
    """A folder with `queries.jsonl`, the BEIR layout's mark."""
    path = Path(path)
    return path.is_dir() and (path / "queries.jsonl").is_file()


def load_questions(path: str | Path) -> QuestionSet:
    """Read a question file (.jsonl, .csv, .json) or a BEIR folder, checking every row.

    Raises QuestionError naming the file and line of the first bad row. Unknown
    columns give one QuestionFileWarning and are ignored.
    """
    path = Path(path)
    if not path.exists():
        raise QuestionError(
            f"question file {path} does not exist. Pass a .jsonl, .csv or .json file, or a BEIR folder."
        )
    if path.is_dir():
        if is_beir_folder(path):
            return _load_beir(path)
        raise QuestionError(
            f"{path} is a folder but not a BEIR benchmark (no queries.jsonl). "
            "Pass a .jsonl, .csv or .json question file, or a folder with corpus.jsonl, queries.jsonl, qrels/test.tsv."
        )
    suffix = path.suffix.lower()
    if suffix not in QUESTION_SUFFIXES:
        raise QuestionError(
            f"{path.name}: unknown question file type {suffix or '(no extension)'!r}. "
            f"Use {', '.join(QUESTION_SUFFIXES)} or a BEIR folder."
        )
    text = _read_text(path)
    if not text.strip():
        raise QuestionError(f'{path.name} is empty. Add one question per row, e.g. {{"question": "Who funds AI?"}}.')
    records = {".jsonl": _jsonl_records, ".csv": _csv_records, ".json": _json_list_records}[suffix](text, path.name)
    if not records:
        raise QuestionError(f'{path.name} holds no questions. Add one per row, e.g. {{"question": "Who funds AI?"}}.')
    questions: list[Question] = []
    seen: set[str] = set()
    unknown: dict[str, None] = {}
    for number, (line, record) in enumerate(records, start=1):
        where = f"{path.name} line {line}"
        unknown.update(dict.fromkeys(c for c in record if c not in KNOWN_COLUMNS))
        question = _question_from_record(record, where, number, line)
        if question.id in seen:
            raise QuestionError(f"{where}: duplicate id {question.id!r}. Give each question its own id.")
        seen.add(question.id)
        questions.append(question)
    if unknown:
        names = ", ".join(f'"{c}"' for c in unknown)
        warnings.warn(
            f"{path.name}: ignoring unknown column{'s' if len(unknown) > 1 else ''} {names} "
            f"(known: {', '.join(KNOWN_COLUMNS)}).",
            QuestionFileWarning,
            stacklevel=2,
        )
    return QuestionSet(path, questions)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise QuestionError(f"{path.name} line {line}: not valid UTF-8. Save the file as UTF-8.") from None


def _jsonl_records(text: str, name: str) -> list[tuple[int, dict]]:
    records = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise QuestionError(f"{name} line {line}: not valid JSON ({error.msg}). Fix or remove the line.") from None
        if not isinstance(record, dict):
            raise QuestionError(
                f'{name} line {line}: expected a JSON object like {{"question": "..."}}, got {type(record).__name__}.'
            )
        records.append((line, record))
    return records


def _json_list_records(text: str, name: str) -> list[tuple[int, dict]]:
    """Items of a JSON list, each with the line it starts on."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise QuestionError(f"{name} line {error.lineno}: not valid JSON ({error.msg}).") from None
    if not isinstance(data, list):
        raise QuestionError(
            f'{name} line 1: expected a JSON list of objects like [{{"question": "..."}}], got {type(data).__name__}.'
        )
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    records = []
    for item in data:
        while text[position] in " \t\r\n,":
            position += 1
        line = text.count("\n", 0, position) + 1
        _, position = decoder.raw_decode(text, position)
        if not isinstance(item, dict):
            raise QuestionError(
                f'{name} line {line}: expected an object like {{"question": "..."}}, got {type(item).__name__}.'
            )
        records.append((line, item))
    return records


def _csv_records(text: str, name: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "question" not in [f.strip() for f in reader.fieldnames]:
        raise QuestionError(f'{name} line 1: the header row needs a "question" column (found: {reader.fieldnames}).')
    records = []
    for row in reader:
        if None in row:
            raise QuestionError(
                f"{name} line {reader.line_num}: more cells than header columns. Quote cells with commas."
            )
        record = {key.strip(): value for key, value in row.items() if value not in (None, "")}
        if record:
            answer = record.get("answer")
            if isinstance(answer, str):
                record["answer"] = [a.strip() for a in answer.split(CSV_ANSWER_SEPARATOR) if a.strip()]
            records.append((reader.line_num, record))
    return records


def _question_from_record(record: dict, where: str, number: int, line: int) -> Question:
    question = record.get("question")
    if question is None:
        raise QuestionError(f'{where}: missing "question".')
    if not isinstance(question, str) or not question.strip():
        raise QuestionError(f'{where}: "question" must be non-empty text, got {question!r}.')
    identifier = record.get("id")
    identifier = str(number) if identifier is None or str(identifier).strip() == "" else str(identifier).strip()
    answers = record.get("answer")
    if answers is None:
        answers = []
    elif isinstance(answers, str):
        answers = [answers]
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise QuestionError(f'{where}: "answer" must be a string or a list of strings, got {answers!r}.')
    section = record.get("section")
    if section is not None and not isinstance(section, str):
        raise QuestionError(f'{where}: "section" must be text, got {section!r}.')
    kind = record.get("kind", "")
    if not isinstance(kind, str | int):
        raise QuestionError(f'{where}: "kind" must be a short label, got {kind!r}.')
    return Question(
        id=identifier,
        question=question.strip(),
        answers=tuple(a.strip() for a in answers if a.strip()),
        section=section.strip() if section and section.strip() else None,
        answerable=_boolean(record.get("answerable", True), where),
        kind=str(kind).strip(),
        line=line,
    )


def _boolean(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise QuestionError(f'{where}: "answerable" must be true or false, got {value!r}.')


# --- BEIR -------------------------------------------------------------------------------------


def _load_beir(folder: Path) -> QuestionSet:
    """The test queries of a BEIR folder, each with its graded qrels, checked against the corpus."""
    qrels_file = folder / "qrels" / "test.tsv"
    corpus_file = folder / "corpus.jsonl"
    for needed in (corpus_file, qrels_file):
        if not needed.is_file():
            raise QuestionError(
                f"BEIR folder {folder} has no {needed.relative_to(folder)}. "
                "A BEIR benchmark needs corpus.jsonl, queries.jsonl and qrels/test.tsv."
            )
    queries = _beir_ids_and_texts(folder / "queries.jsonl", field_name="text")
    documents = set(_beir_ids_and_texts(corpus_file, field_name=None))
    qrels, lines = _read_qrels(qrels_file, queries, documents)
    questions = [
        Question(id=qid, question=queries[qid], relevant=judged, line=lines[qid])
        for qid, judged in qrels.items()
        if any(grade > 0 for grade in judged.values())
    ]
    if not questions:
        raise QuestionError(f"{qrels_file}: no query has a relevant document (a score above 0).")
    return QuestionSet(folder, questions, is_beir=True)


def _beir_ids_and_texts(file: Path, field_name: str | None) -> dict[str, str]:
    found: dict[str, str] = {}
    name = f"{file.parent.name}/{file.name}"
    for line, raw in enumerate(_read_text(file).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise QuestionError(f"{name} line {line}: not valid JSON ({error.msg}).") from None
        if not isinstance(record, dict) or "_id" not in record:
            raise QuestionError(f'{name} line {line}: missing "_id".')
        text = ""
        if field_name:
            text = record.get(field_name)
            if not isinstance(text, str) or not text.strip():
                raise QuestionError(f'{name} line {line}: missing "{field_name}".')
        found[str(record["_id"])] = text
    if not found:
        raise QuestionError(f"{name} is empty.")
    return found


def _read_qrels(
    file: Path, queries: Mapping[str, str], documents: set[str]
) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    name = "qrels/test.tsv"
    qrels: dict[str, dict[str, int]] = {}
    first_line: dict[str, int] = {}
    for line, raw in enumerate(_read_text(file).splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        if line == 1 and fields[0].lower() in ("query-id", "query_id", "qid"):
            continue
        if len(fields) == 4:  # TREC layout: qid 0 docid score
            fields = [fields[0], fields[2], fields[3]]
        if len(fields) != 3:
            raise QuestionError(f"{name} line {line}: expected query-id, corpus-id and score, got {raw.strip()!r}.")
        query_id, doc_id, score = fields
        try:
            grade = int(score)
        except ValueError:
            raise QuestionError(f"{name} line {line}: the score {score!r} is not a whole number.") from None
        if query_id not in queries:
            raise QuestionError(f'{name} line {line}: query "{query_id}" is not in queries.jsonl.')
        if doc_id not in documents:
            raise QuestionError(f'{name} line {line}: document "{doc_id}" is not in corpus.jsonl.')
        qrels.setdefault(query_id, {})[doc_id] = grade
        first_line.setdefault(query_id, line)
    if not qrels:
        raise QuestionError(f"{name} is empty: it needs query-id, corpus-id, score lines.")
    return qrels, first_line


# --- relevance and metrics (plain data in, numbers out) ---------------------------------------


def section_matches(heading: str, expected: str) -> bool:
    """Case- and quote-insensitive; a nested Markdown heading also matches its last part."""
    heading, expected = fold(heading).strip(), fold(expected).strip()
    return heading == expected or heading.rsplit(" › ", 1)[-1] == expected


def is_relevant(text: str, heading: str, answers: Sequence[str], section: str | None) -> bool:
    """A hit holds an answer string; with no answers given, it is in the expected section."""
    if answers:
        folded = fold(text)
        return any(fold(answer) in folded for answer in answers)
    return section is not None and section_matches(heading, section)


def first_relevant_rank(relevance: Iterable[bool]) -> int | None:
    """1-based rank of the first True, or None."""
    return next((rank for rank, relevant in enumerate(relevance, start=1) if relevant), None)


def hit_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions whose first relevant hit is in the top k."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mean_reciprocal_rank(ranks: Sequence[int | None]) -> float:
    """Mean of 1/rank of the first relevant hit, 0 when none was retrieved."""
    return sum(1.0 / r for r in ranks if r is not None) / len(ranks) if ranks else 0.0


def abstention_metrics(expected_answerable: Sequence[bool], predicted_answerable: Sequence[bool]) -> dict:
    """Precision, recall and F1 of abstaining, "not answerable" being the positive class.

    A value is None when undefined (nothing flagged, or nothing to flag).
    """
    pairs = list(zip(expected_answerable, predicted_answerable, strict=True))
    true_positive = sum(1 for expected, predicted in pairs if not expected and not predicted)
    flagged = sum(1 for _, predicted in pairs if not predicted)
    positives = sum(1 for expected, _ in pairs if not expected)
    precision = true_positive / flagged if flagged else None
    recall = true_positive / positives if positives else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"abstain_precision": precision, "abstain_recall": recall, "abstain_f1": f1}


def documents_in_order(doc_ids: Iterable[str]) -> list[str]:
    """Passages ranked best first -> their documents, each at its best passage's place (max score)."""
    return list(dict.fromkeys(doc_ids))


def trec_metrics(
    qrels: Mapping[str, Mapping[str, int]], rankings: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, float]]:
    """nDCG@10, recall@100, MRR@10 and MAP@100 per query, computed by trec_eval (pytrec_eval).

    `rankings` lists document ids best first; scores given to trec_eval follow
    that order, so its tie-breaking never reorders it. A query with no ranking
    scores 0. MRR@10 is trec_eval's recip_rank on the top 10 (its own cutoff
    parameter is ignored by recip_rank).
    """
    import pytrec_eval

    qrels = {q: {d: int(g) for d, g in judged.items()} for q, judged in qrels.items()}
    run = {q: {d: float(len(r) - i) for i, d in enumerate(r)} for q, r in rankings.items() if r}
    top10 = {q: {d: s for d, s in docs.items() if s > len(rankings[q]) - 10} for q, docs in run.items()}
    deep = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100", "map_cut.100"}).evaluate(run)
    shallow = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    results = {}
    for query in qrels:
        values = {name: float(deep.get(query, {}).get(measure, 0.0)) for name, measure in TREC_MEASURES.items()}
        values["mrr@10"] = float(shallow.get(query, {}).get("recip_rank", 0.0))
        results[query] = {k: values[k] for k in ("ndcg@10", "recall@100", "mrr@10", "map@100")}
    return results


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- running ----------------------------------------------------------------------------------


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

    @property
    def expected(self) -> str:
        if not self.answerable:
            return "(not answerable)"
        if self.relevant:
            return " ".join(f"{d}:{g}" for d, g in self.relevant.items())
        parts = [f"section: {self.section}"] if self.section else []
        parts += [f"answer: {' | '.join(self.answers)}"] if self.answers else []
        return "; ".join(parts) or "(not judged)"


def metric_order(ks: Sequence[int]) -> list[str]:
    """Every metric name in the order tables show them."""
    return (
        ["n"]
        + [f"hit@{k}" for k in ks]
        + ["mrr", "section@1", "abstain_precision", "abstain_recall", "abstain_f1"]
        + ["ndcg@10", "recall@100", "mrr@10", "map@100", "latency_p50_ms", "latency_p95_ms"]
    )


def summarize(rows: Sequence[EvalRow], ks: Sequence[int], *, beir: bool = False) -> dict[str, Any]:
    """The flat metrics of some rows; only those that apply to them are present."""
    metrics: dict[str, Any] = {"n": len(rows)}
    judged = [r for r in rows if r.answerable and r.judged]
    if judged:
        ranks = [r.rank for r in judged]
        for k in ks:
            metrics[f"hit@{k}"] = hit_at_k(ranks, k)
        if not beir:
            metrics["mrr"] = mean_reciprocal_rank(ranks)
    sectioned = [r.section_at_1 for r in rows if r.answerable and r.section_at_1 is not None]
    if sectioned:
        metrics["section@1"] = sum(sectioned) / len(sectioned)
    if any(not r.answerable for r in rows):
        metrics.update(abstention_metrics([r.answerable for r in rows], [r.predicted_answerable for r in rows]))
    if beir:
        for name in ("ndcg@10", "recall@100", "mrr@10", "map@100"):
            metrics[name] = sum(r.scores.get(name, 0.0) for r in rows) / len(rows) if rows else 0.0
    latencies = [r.latency_ms for r in rows]
    if latencies:
        metrics["latency_p50_ms"] = percentile(latencies, 50)
        metrics["latency_p95_ms"] = percentile(latencies, 95)
    order = metric_order(ks)
    return {key: _rounded(key, metrics[key]) for key in order if key in metrics}


def _rounded(key: str, value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 1 if key.startswith("latency") else 4)
    return value


def with_kinds(rows: Sequence[EvalRow], ks: Sequence[int], *, beir: bool = False) -> dict[str, Any]:
    """`summarize` over all rows, plus the same for each `kind` under "by_kind"."""
    metrics = summarize(rows, ks, beir=beir)
    kinds = list(dict.fromkeys(r.kind for r in rows if r.kind))
    if kinds:
        metrics["by_kind"] = {kind: summarize([r for r in rows if r.kind == kind], ks, beir=beir) for kind in kinds}
    return metrics


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
    qa._ask_many([question_set.questions[0].question], 1)
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
        answer = qa._ask_many([question.question], depth, evidence_for)[0]
        if question_set.is_beir:
            documents = documents_in_order(h.doc_id for h in answer.hits)
            while len(documents) < BEIR_DEPTH and depth < len(qa.passages):
                depth *= 2  # long documents fill the list with their passages: look deeper
                answer = qa._ask_many([question.question], depth, evidence_for)[0]
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
    )
    if question_set.is_beir:
        documents = documents_in_order(h.doc_id for h in hits)
        row.rank = first_relevant_rank(question.relevant.get(d, 0) > 0 for d in documents)
        row.documents = documents[:BEIR_DEPTH]
        relevance = [question.relevant.get(h.doc_id, 0) > 0 for h in hits]
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


# --- reports ----------------------------------------------------------------------------------


@dataclass
class EvalReport:
    """Metrics and per-question rows of one evaluation run, and the files that show them.

    `metrics` is flat (`hit@1`, `mrr`, `ndcg@10`, …) with the same per kind under
    "by_kind"; `rows` has one `EvalRow` per question.
    """

    name: str
    source: str
    corpus: str
    index: str
    mode: str
    model: str
    threshold: float
    ks: tuple[int, ...]
    is_beir: bool
    metrics: dict[str, Any]
    rows: list[EvalRow]
    timings: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_method(self) -> str:
        depth = self.facts.get("depth", max(self.ks))
        if self.is_beir:
            work = (
                f"encode; rank {depth} passages, more when they hold fewer than {BEIR_DEPTH} documents; "
                f"evidence for the top {self.facts.get('evidence_for')}"
            )
        else:
            work = f"encode; rank; {depth} hits with evidence"
        return f"each question asked alone ({work}), wall clock, after one untimed warm-up question"

    def write(self, out: str | Path) -> Path:
        """Write metrics.json, per_question.csv, report.md, plot.png and run.json into `out`."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(self.metrics, indent=2) + "\n", encoding="utf-8")
        (out / "run.json").write_text(json.dumps(self.run_info(), indent=2) + "\n", encoding="utf-8")
        self._write_csv(out / "per_question.csv")
        plot(self, out / "plot.png")
        (out / "report.md").write_text(self.markdown(plot_file="plot.png"), encoding="utf-8")
        return out

    def run_info(self) -> dict[str, Any]:
        return {
            "questions": self.source,
            "corpus": self.corpus,
            "index": self.index,
            "mode": self.mode,
            "model": self.model,
            "threshold": self.threshold,
            "ks": list(self.ks),
            "latency": self.latency_method,
            **self.timings,
            **self.facts,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def _write_csv(self, path: Path) -> None:
        trec = ["ndcg@10", "recall@100", "mrr@10", "map@100"] if self.is_beir else []
        columns = [
            "id",
            "kind",
            "question",
            "expected",
            "first_relevant_rank",
            "section_at_1",
            "answerable_expected",
            "answerable_predicted",
            "top_score",
            "top_hits",
            "latency_ms",
            *trec,
        ]
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in self.rows:
                top = "; ".join(f"{h.section} ({h.score:.3f})" for h in row.hits[:5])
                writer.writerow(
                    [
                        row.id,
                        row.kind,
                        row.question,
                        row.expected,
                        row.rank if row.rank is not None else "",
                        "" if row.section_at_1 is None else row.section_at_1,
                        row.answerable,
                        row.predicted_answerable,
                        f"{row.top_score:.4f}",
                        top,
                        f"{row.latency_ms:.1f}",
                        *(f"{row.scores.get(name, 0.0):.4f}" for name in trec),
                    ]
                )

    @staticmethod
    def table(reports: Sequence[EvalReport]) -> str:
        """One Markdown row per report: the summary `hkai-qa eval` prints and README quotes."""
        ks = sorted({k for r in reports for k in r.ks})
        keys = [k for k in metric_order(ks) if any(k in r.metrics for r in reports)]
        header = ["set", "mode", *keys, "build s", "query s"]
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        for report in reports:
            cells = [report.name, report.mode, *(_cell(report.metrics.get(k)) for k in keys)]
            cells += [
                f"{report.timings.get('index_build_seconds', 0):.1f}",
                f"{report.timings.get('query_seconds', 0):.1f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def markdown(self, plot_file: str | None = None) -> str:
        """report.md: the summary table, the breakdown by kind, and the worst misses with their passages."""
        answerable = sum(1 for r in self.rows if r.answerable)
        lines = [
            f"# Evaluation: {self.name} ({self.mode})",
            "",
            f"- Questions: `{self.source}` ({len(self.rows)}: {answerable} answerable, "
            f"{len(self.rows) - answerable} not)",
            f"- Corpus: `{self.corpus}` ({self.facts.get('documents', '?')} documents, "
            f"{self.facts.get('passages', '?')} passages); index `{self.index}`, "
            f"built in {self.timings.get('index_build_seconds', 0):.1f} s",
            f"- Model {self.model}, mode {self.mode}, abstention threshold {self.threshold:.2f}",
            f"- Query wall time {self.timings.get('query_seconds', 0):.1f} s. Latency: {self.latency_method}.",
        ]
        if self.is_beir:
            lines.append(
                "- Passages merged to documents (best passage's place); nDCG@10, recall@100, MRR@10 and MAP@100 "
                "by trec_eval (pytrec_eval) over the top 100 documents."
            )
        else:
            lines.append(
                "- A hit is relevant when it holds an answer string (or, without answers, is in the expected "
                f"section); hit@k and mrr over answerable questions, within the top {max(self.ks)} hits."
            )
        lines += ["", "## Summary", "", EvalReport.table([self]), ""]
        if plot_file:
            lines += [f"![hit@k and top-score distributions]({plot_file})", ""]
        by_kind = self.metrics.get("by_kind")
        if by_kind:
            keys = [k for k in metric_order(self.ks) if any(k in m for m in by_kind.values())]
            lines += ["## By kind", "", "| kind | " + " | ".join(keys) + " | abstained |"]
            lines.append("|" + "|".join("---" for _ in range(len(keys) + 2)) + "|")
            for kind, metrics in by_kind.items():
                rows = [r for r in self.rows if r.kind == kind]
                abstained = sum(1 for r in rows if not r.predicted_answerable)
                cells = [kind, *(_cell(metrics.get(k)) for k in keys), f"{abstained}/{len(rows)}"]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        lines += self._misses_markdown()
        return "\n".join(lines) + "\n"

    def _misses_markdown(self) -> list[str]:
        depth = max(self.ks)
        if self.is_beir:
            worst = sorted(self.rows, key=lambda r: (r.scores.get("ndcg@10", 0.0), -(r.rank or 10**9)))
            worst = [r for r in worst if r.scores.get("ndcg@10", 0.0) < 1.0][:WORST_MISSES]
            sections = [("Worst misses (lowest nDCG@10)", worst)]
        else:
            missed = [r for r in self.rows if r.answerable and r.judged and (r.rank is None or r.rank > 1)]
            missed.sort(key=lambda r: (-(r.rank or depth + 1), -r.top_score))
            answered = sorted(
                (r for r in self.rows if not r.answerable and r.predicted_answerable), key=lambda r: -r.top_score
            )
            refused = sorted(
                (r for r in self.rows if r.answerable and not r.predicted_answerable), key=lambda r: r.top_score
            )
            sections = [
                (f"Worst misses (first relevant hit below rank 1; none in the top {depth} first)", missed),
                ("Answered, but not answerable (most confident first)", answered),
                ("Abstained, but answerable", refused),
            ]
        lines = []
        for title, rows in sections:
            lines += [f"## {title}", ""]
            if not rows:
                lines += ["None.", ""]
            for row in rows[:WORST_MISSES]:
                rank = row.rank if row.rank is not None else f"none in top {depth if not self.is_beir else BEIR_DEPTH}"
                lines += [
                    f"### `{row.id}` {_one_line(row.question, 200)}",
                    "",
                    f"kind {row.kind or '–'} · expected {_one_line(row.expected, 200)} · first relevant rank {rank} · "
                    f"answerable predicted {row.predicted_answerable} (top score {row.top_score:.3f})",
                    "",
                ]
                for hit in row.hits[:3]:
                    mark = " ✓" if hit.relevant else ""
                    lines.append(
                        f"{hit.rank}. **{_one_line(hit.section, 80)}** ({hit.score:.3f}, `{hit.passage_id}`){mark}: "
                        f"{_one_line(hit.text, 240)}"
                    )
                lines.append("")
        return lines


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1.0 else f"{value:.1f}"
    return str(value)


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def plot(report: EvalReport, path: Path) -> Path:
    """hit@k against k, and the top-score distributions of answerable and unanswerable questions."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    judged = [r.rank for r in report.rows if r.answerable and r.judged]
    depth = BEIR_DEPTH if report.is_beir else max(report.ks)
    ks = list(range(1, depth + 1))
    left.plot(ks, [hit_at_k(judged, k) for k in ks], marker="o" if depth <= 20 else None)
    if report.is_beir:
        left.set_xscale("log")
    left.set(xlabel="k", ylabel="hit@k", ylim=(0, 1.02), title=f"{report.name} ({report.mode}): hit@k")
    left.grid(alpha=0.3)
    answerable = [r.top_score for r in report.rows if r.answerable]
    unanswerable = [r.top_score for r in report.rows if not r.answerable]
    scores = answerable + unanswerable + [report.threshold]
    bins = _bins(min(scores), max(scores))
    right.hist(answerable, bins=bins, alpha=0.6, label=f"answerable ({len(answerable)})")
    if unanswerable:
        right.hist(unanswerable, bins=bins, alpha=0.6, label=f"not answerable ({len(unanswerable)})")
    right.axvline(report.threshold, color="black", linestyle="--", label=f"threshold {report.threshold:.2f}")
    right.set(xlabel="top hit score", ylabel="questions", title="top-score distributions")
    right.legend()
    figure.tight_layout()
    figure.savefig(path)
    return path


def _bins(low: float, high: float, count: int = 20) -> list[float]:
    if high - low < 1e-9:
        low, high = low - 0.05, high + 0.05
    step = (high - low) / count
    return [low + i * step for i in range(count + 1)]
