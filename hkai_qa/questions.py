"""Questions to score a QA on: question files (JSONL, CSV, JSON list) and BEIR folders.

A question set row has `question`, and optionally `id`, `answer` (a string or a
list), `section`, `answerable` (default true), `kind`. A BEIR folder has
`corpus.jsonl`, `queries.jsonl` and `qrels/test.tsv`; its test queries carry their
graded qrels. Every bad row is a QuestionError naming the file and line.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import QuestionError

QUESTION_SUFFIXES = (".jsonl", ".csv", ".json")
KNOWN_COLUMNS = ("id", "question", "answer", "section", "answerable", "kind", "page", "source")
CSV_ANSWER_SEPARATOR = "|"
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
    # The physical page (1-based) of a paged source that answers it, and that source's file (a path
    # ending the hit's `source`): a hit whose pages cover it is relevant, whatever its text.
    page: int | None = None
    source: str | None = None

    @property
    def judged(self) -> bool:
        """Whether its hits can be judged relevant or not."""
        return bool(self.answers or self.section or self.relevant or self.page is not None)


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
    text = read_text(path)
    if not text.strip():
        raise QuestionError(f'{path.name} is empty. Add one question per row, e.g. {{"question": "Who funds AI?"}}.')
    records = {".jsonl": jsonl_records, ".csv": _csv_records, ".json": _json_list_records}[suffix](text, path.name)
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


def read_text(path: Path) -> str:
    """A UTF-8 file's text (a BOM dropped), or QuestionError naming the line that is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise QuestionError(f"{path.name} line {line}: not valid UTF-8. Save the file as UTF-8.") from None


def jsonl_records(text: str, name: str) -> list[tuple[int, dict]]:
    """The JSON objects of a JSONL text, each with its line number; blank lines skipped.

    The one JSONL reader of question files and BEIR folders: a bad line is a
    QuestionError naming `name` and the line.
    """
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
    page = record.get("page")
    if page is not None and (isinstance(page, bool) or not isinstance(page, int) or page < 1):
        raise QuestionError(f'{where}: "page" must be a physical page number (1 for the first page), got {page!r}.')
    source = record.get("source")
    if source is not None and (not isinstance(source, str) or not source.strip()):
        raise QuestionError(f'{where}: "source" must be the file name of the expected source, got {source!r}.')
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
        page=page,
        source=source.strip() if source else None,
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
    for line, record in jsonl_records(read_text(file), name):
        if "_id" not in record:
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
    for line, raw in enumerate(read_text(file).splitlines(), start=1):
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


def beir_queries(folder: str | Path) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """A BEIR folder's test queries (those with a relevant document) and their graded qrels, checked.

    The plain-dict shape benchmarks and `metrics.trec_metrics` take.
    """
    question_set = load_questions(folder)
    if not question_set.is_beir:
        raise QuestionError(f"{folder} is not a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv).")
    questions = question_set.questions
    return {q.id: q.question for q in questions}, {q.id: dict(q.relevant) for q in questions}
