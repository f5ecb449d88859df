"""Evaluation without a model: question files and their errors, metrics against hand-worked values, reports."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from hkai_qa import EvalReport, QuestionError, load_questions
from hkai_qa.evaluation import EvalRow, TopHit
from hkai_qa.metrics import (
    abstention_metrics,
    documents_in_order,
    first_relevant_rank,
    hit_at_k,
    is_relevant,
    mean_reciprocal_rank,
    percentile,
    summarize,
    trec_metrics,
    with_kinds,
)
from hkai_qa.questions import QuestionFileWarning
from tests.conftest import HEADINGS, REPO

TEAM_SET = REPO / "tests" / "data" / "hk_questions.jsonl"

# --- metrics on hand-checked fixtures ---------------------------------------------------------


def test_hit_at_k_and_mrr_from_known_ranks():
    ranks = [1, 3, None, 2]
    assert hit_at_k(ranks, 1) == 0.25
    assert hit_at_k(ranks, 2) == 0.5
    assert hit_at_k(ranks, 3) == 0.75
    assert hit_at_k(ranks, 10) == 0.75
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4)
    assert hit_at_k([], 1) == 0.0 and mean_reciprocal_rank([]) == 0.0


def test_first_relevant_rank_counts_from_one():
    assert first_relevant_rank([False, False, True, True]) == 3
    assert first_relevant_rank([False]) is None


def test_abstention_treats_not_answerable_as_positive():
    expected = [True, True, False, False, False]
    predicted = [True, False, False, True, False]  # flagged: #2 (wrong), #3 and #5 (right); #4 missed
    metrics = abstention_metrics(expected, predicted)
    assert metrics["abstain_precision"] == pytest.approx(2 / 3)
    assert metrics["abstain_recall"] == pytest.approx(2 / 3)
    assert metrics["abstain_f1"] == pytest.approx(2 / 3)
    nothing_flagged = abstention_metrics([False, True], [True, True])
    assert nothing_flagged == {"abstain_precision": None, "abstain_recall": 0.0, "abstain_f1": None}
    all_wrong = abstention_metrics([True, False], [False, True])
    assert all_wrong == {"abstain_precision": 0.0, "abstain_recall": 0.0, "abstain_f1": 0.0}


def test_trec_metrics_with_graded_gains_by_hand():
    qrels = {"q1": {"d1": 2, "d2": 1}, "q2": {"d5": 1}, "q3": {"d9": 1}}
    rankings = {
        "q1": ["d2", "d3", "d1"],  # gains 1, 0, 2 at ranks 1..3
        "q2": [f"x{i}" for i in range(10)] + ["d5"],  # relevant at rank 11
        "q3": [],  # nothing retrieved
    }
    results = trec_metrics(qrels, rankings)
    # trec_eval's nDCG: linear gains, log2(rank + 1) discount.
    dcg = 1 / math.log2(2) + 2 / math.log2(4)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert results["q1"]["ndcg@10"] == pytest.approx(dcg / ideal)
    assert results["q1"]["ndcg@10"] == pytest.approx(0.7602, abs=1e-4)
    assert results["q1"]["mrr@10"] == 1.0
    assert results["q1"]["recall@100"] == 1.0
    assert results["q1"]["map@100"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert results["q2"]["mrr@10"] == 0.0  # rank 11 is past the cut-off
    assert results["q2"]["ndcg@10"] == 0.0
    assert results["q2"]["recall@100"] == 1.0
    assert results["q2"]["map@100"] == pytest.approx(1 / 11)
    assert results["q3"] == {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0, "map@100": 0.0}


def test_trec_metrics_keep_our_order_on_tied_scores():
    # trec_eval breaks score ties by document id; the scores we hand it never tie.
    results = trec_metrics({"q": {"a": 1}}, {"q": ["a", "b", "c"]})
    assert results["q"]["mrr@10"] == 1.0


def test_passages_merge_to_documents_at_their_best_passage():
    passage_docs = ["d7", "d2", "d7", "d9", "d2"]  # passages best first, e.g. d7#0, d2#1, d7#3, ...
    assert documents_in_order(passage_docs) == ["d7", "d2", "d9"]


def test_percentile_interpolates_like_numpy():
    assert percentile([10, 40, 20, 30], 50) == 25
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert percentile([7.0], 95) == 7.0


@pytest.mark.parametrize(
    ("text", "heading", "answers", "section", "expected"),
    [
        ("Hong Kong’s “AI” hub", "x", ['hong kong\'s "ai"'], None, True),
        ("Tea grows on hills.", "x", ["volcano", "HILLS"], None, True),
        ("Tea grows on hills.", "Government Support", ["volcano"], "Government Support", False),
        ("Tea grows on hills.", "Government Support", [], "government support", True),
        ("Tea grows on hills.", "Guide › Setup", [], "setup", True),
        ("Tea grows on hills.", "Setup", [], None, False),
        # A PDF or plain-text line break (or a double space) inside the answer is still the answer.
        (
            "Two instances are equal if they have the same type and all\ntheir fields are equal.",
            "x",
            ["same type and all their  fields"],
            None,
            True,
        ),
        ("the same type\n\nand all", "x", ["same typeand"], None, False),
    ],
)
def test_relevance_by_answer_then_section(text, heading, answers, section, expected):
    assert is_relevant(text, heading, answers, section) is expected


def _row(id_, rank=1, kind="", answerable=True, predicted=True, section_at_1=True, latency=10.0, **more):
    return EvalRow(
        id=id_,
        question=f"question {id_}?",
        kind=kind,
        answerable=answerable,
        predicted_answerable=predicted,
        rank=rank if answerable else None,
        section_at_1=section_at_1 if answerable else None,
        latency_ms=latency,
        answers=("x",) if answerable else (),
        **more,
    )


QUESTION_SET_KEYS = [
    "n",
    "hit@1",
    "hit@3",
    "hit@5",
    "hit@10",
    "mrr",
    "section@1",
    "abstain_precision",
    "abstain_recall",
    "abstain_f1",
    "latency_p50_ms",
    "latency_p95_ms",
]


def test_summary_of_a_question_set_has_exactly_the_named_keys():
    rows = [
        _row("a", rank=1, kind="keyword", latency=10),
        _row("b", rank=4, kind="keyword", section_at_1=False, latency=20),
        _row("c", rank=None, kind="typo", section_at_1=False, latency=30),
        _row("d", answerable=False, predicted=False, kind="oos", latency=40),
        _row("e", answerable=False, predicted=True, kind="oos", latency=50),
    ]
    metrics = with_kinds(rows, (1, 3, 5, 10))
    assert list(metrics) == [*QUESTION_SET_KEYS, "by_kind"]
    assert metrics["n"] == 5
    assert metrics["hit@1"] == pytest.approx(0.3333)
    assert metrics["hit@3"] == pytest.approx(0.3333)
    assert metrics["hit@5"] == pytest.approx(0.6667)
    assert metrics["mrr"] == pytest.approx(round((1 + 0.25) / 3, 4))
    assert metrics["section@1"] == pytest.approx(0.3333)
    assert metrics["abstain_precision"] == 1.0 and metrics["abstain_recall"] == 0.5
    assert metrics["latency_p50_ms"] == 30.0 and metrics["latency_p95_ms"] == 48.0
    assert list(metrics["by_kind"]) == ["keyword", "typo", "oos"]
    assert metrics["by_kind"]["keyword"]["hit@5"] == 1.0
    assert "abstain_f1" not in metrics["by_kind"]["keyword"]
    assert metrics["by_kind"]["oos"] == {
        "n": 2,
        "abstain_precision": 1.0,
        "abstain_recall": 0.5,
        "abstain_f1": pytest.approx(0.6667),
        "latency_p50_ms": 45.0,
        "latency_p95_ms": 49.5,
    }


def test_summary_of_a_beir_run_averages_trec_measures():
    rows = [
        _row("1", rank=1, scores={"ndcg@10": 1.0, "recall@100": 1.0, "mrr@10": 1.0, "map@100": 1.0}),
        _row("2", rank=None, scores={"ndcg@10": 0.0, "recall@100": 0.5, "mrr@10": 0.0, "map@100": 0.0}),
    ]
    metrics = summarize(rows, (1, 10), beir=True)
    assert list(metrics) == [
        "n",
        "hit@1",
        "hit@10",
        "section@1",
        "ndcg@10",
        "recall@100",
        "mrr@10",
        "map@100",
        "latency_p50_ms",
        "latency_p95_ms",
    ]
    assert metrics["ndcg@10"] == 0.5 and metrics["recall@100"] == 0.75 and metrics["hit@1"] == 0.5


# --- question files ---------------------------------------------------------------------------


def test_jsonl_rows_with_every_column(tmp_path):
    file = tmp_path / "q.jsonl"
    file.write_text(
        '{"id": "a", "question": " Who funds AI? ", "answer": "HKSTP", '
        '"section": "Government Support", "kind": "direct"}\n'
        "\n"
        '{"question": "Capital of France?", "answerable": false}\n'
        '{"question": "Which banks?", "answer": ["HKMA", "fraud detection"]}\n',
        encoding="utf-8",
    )
    questions = load_questions(file)
    assert not questions.is_beir and questions.name == "q"
    first, second, third = questions.questions
    assert (first.id, first.question, first.answers, first.section, first.kind, first.line) == (
        "a",
        "Who funds AI?",
        ("HKSTP",),
        "Government Support",
        "direct",
        1,
    )
    assert (second.id, second.answerable, second.judged, second.line) == ("2", False, False, 3)
    assert third.answers == ("HKMA", "fraud detection") and third.answerable


def test_csv_rows_split_answers_on_bars(tmp_path):
    file = tmp_path / "q.csv"
    with file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "question", "answer", "section", "answerable", "kind"])
        writer.writerow(["g1", "Who funds AI, and how?", "HKSTP | Innovation and Technology Fund", "", "", "typo"])
        writer.writerow(["", "Capital of France?", "", "", "false", "oos"])
    first, second = load_questions(file).questions
    assert first.question == "Who funds AI, and how?"
    assert first.answers == ("HKSTP", "Innovation and Technology Fund") and first.section is None
    assert first.answerable and first.kind == "typo"
    assert (second.id, second.answerable, second.line) == ("2", False, 3)


def test_json_list_rows_know_their_lines(tmp_path):
    file = tmp_path / "q.json"
    file.write_text('[\n  {"question": "One?"},\n  {"question": "Two?",\n   "section": "Research"}\n]\n')
    first, second = load_questions(file).questions
    assert (first.line, second.line) == (2, 3)
    assert second.section == "Research"


def test_unknown_columns_warn_once_and_are_ignored(tmp_path):
    file = tmp_path / "q.jsonl"
    file.write_text('{"question": "a", "notes": 1}\n{"question": "b", "notes": 2, "difficulty": "hard"}\n')
    with pytest.warns(QuestionFileWarning) as caught:
        questions = load_questions(file)
    assert len(caught) == 1
    assert 'ignoring unknown columns "notes", "difficulty"' in str(caught[0].message)
    assert [q.question for q in questions.questions] == ["a", "b"]


def test_the_team_set_is_well_formed():
    questions = load_questions(TEAM_SET).questions
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= 40 and len(questions) - len(answerable) >= 12
    assert {q.section for q in answerable} == set(HEADINGS)
    assert all(q.answers and q.kind for q in answerable)
    assert {"paraphrase", "keyword", "typo", "rambling"} <= {q.kind for q in answerable}
    assert "What is the capital of France?" in [q.question for q in questions if not q.answerable]


@pytest.mark.parametrize(
    ("name", "content", "expected_error"),
    [
        (
            "questions.jsonl",
            '{"question": "a"}\n{"question": "b"}\n{"id": 3}\n',
            'questions.jsonl line 3: missing "question"',
        ),
        ("q.jsonl", '{"question": "a"}\n\nnot json\n', "q.jsonl line 3: not valid JSON"),
        ("q.jsonl", '["question"]\n', "q.jsonl line 1: expected a JSON object"),
        ("q.jsonl", "", "q.jsonl is empty"),
        ("q.jsonl", "\n   \n", "q.jsonl is empty"),
        ("q.csv", "", "q.csv is empty"),
        ("q.txt", "What is AI?\n", "q.txt: unknown question file type '.txt'"),
        ("q", "What is AI?\n", "unknown question file type '(no extension)'"),
        ("q.jsonl", '{"question": "   "}\n', 'q.jsonl line 1: "question" must be non-empty text'),
        ("q.jsonl", '{"question": 42}\n', 'q.jsonl line 1: "question" must be non-empty text'),
        ("q.jsonl", '{"question": "a", "answer": 3}\n', '"answer" must be a string or a list of strings'),
        ("q.jsonl", '{"question": "a", "answerable": "maybe"}\n', '"answerable" must be true or false'),
        ("q.jsonl", '{"id": 1, "question": "a"}\n{"id": "1", "question": "b"}\n', "line 2: duplicate id '1'"),
        ("q.csv", "id,answer\n1,x\n", 'q.csv line 1: the header row needs a "question" column'),
        ("q.csv", "question,answer\nfine,x\n,y\n", 'q.csv line 3: missing "question"'),
        ("q.csv", "question\na,b\n", "q.csv line 2: more cells than header columns"),
        ("q.json", '[{"question": "a"},\n {"answer": "b"}]', 'q.json line 2: missing "question"'),
        ("q.json", '[{"question": "a"},\n "b"]', "q.json line 2: expected an object"),
        ("q.json", '{"question": "a"}', "q.json line 1: expected a JSON list"),
        ("q.json", '[{"question": "a"}\n {"question": "b"}]', "q.json line 2: not valid JSON"),
        ("q.json", "[]", "q.json holds no questions"),
        ("q.jsonl", b'{"question": "caf\xe9"}\n', "q.jsonl line 1: not valid UTF-8"),
    ],
)
def test_bad_question_files_name_file_and_line(tmp_path, name, content, expected_error):
    file = tmp_path / name
    file.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(QuestionError) as raised:
        load_questions(file)
    assert expected_error in str(raised.value)


def test_missing_file_and_plain_folder(tmp_path):
    with pytest.raises(QuestionError, match="does not exist"):
        load_questions(tmp_path / "nope.jsonl")
    with pytest.raises(QuestionError, match="not a BEIR benchmark"):
        load_questions(tmp_path)


# --- BEIR folders -----------------------------------------------------------------------------


def write_beir(folder: Path, qrels: str, queries: str | None = None) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": d, "title": f"T{d}", "text": f"text {d}"}) + "\n" for d in ("d1", "d2", "d3"))
    )
    (folder / "queries.jsonl").write_text(
        queries
        if queries is not None
        else "".join(json.dumps({"_id": q, "text": f"claim {q}"}) + "\n" for q in ("q1", "q2", "q3"))
    )
    (folder / "qrels" / "test.tsv").write_text(qrels)
    return folder


def test_beir_folder_gives_test_queries_with_graded_qrels(tmp_path):
    folder = write_beir(tmp_path / "b", "query-id\tcorpus-id\tscore\r\nq1\td1\t2\r\nq1\td3\t1\r\nq2\td2\t0\r\n")
    questions = load_questions(folder)
    assert questions.is_beir and questions.name == "b"
    [query] = questions.questions  # q2 has no relevant document; q3 is not a test query
    assert (query.id, query.question, dict(query.relevant), query.line) == ("q1", "claim q1", {"d1": 2, "d3": 1}, 2)


@pytest.mark.parametrize(
    ("qrels", "expected_error"),
    [
        (
            "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\tzzz\t1\n",
            'qrels/test.tsv line 3: document "zzz" is not in corpus.jsonl',
        ),
        ("q1\td1\t1\nq9\td1\t1\n", 'qrels/test.tsv line 2: query "q9" is not in queries.jsonl'),
        ("q1\td1\thigh\n", "qrels/test.tsv line 1: the score 'high' is not a whole number"),
        ("q1\td1\n", "qrels/test.tsv line 1: expected query-id, corpus-id and score"),
        ("query-id\tcorpus-id\tscore\n", "qrels/test.tsv is empty"),
        ("q1\td1\t0\n", "no query has a relevant document"),
    ],
)
def test_bad_qrels_name_file_and_line(tmp_path, qrels, expected_error):
    with pytest.raises(QuestionError) as raised:
        load_questions(write_beir(tmp_path / "b", qrels))
    assert expected_error in str(raised.value)


def test_bad_beir_queries_and_missing_qrels(tmp_path):
    folder = write_beir(tmp_path / "b", "q1\td1\t1\n", queries='{"_id": "q1", "text": "ok"}\n{"_id": "q2"}\n')
    with pytest.raises(QuestionError, match='b/queries.jsonl line 2: missing "text"'):
        load_questions(folder)
    (folder / "qrels" / "test.tsv").unlink()
    with pytest.raises(QuestionError, match="has no qrels/test.tsv"):
        load_questions(folder)


# --- reports ----------------------------------------------------------------------------------


def _report(rows: list[EvalRow]) -> EvalReport:
    ks = (1, 3, 5, 10)
    return EvalReport(
        name="hand",
        source="hand.jsonl",
        corpus="corpus/",
        index="index/x",
        mode="dense",
        model="all-MiniLM-L6-v2",
        threshold=0.3,
        ks=ks,
        is_beir=False,
        metrics=with_kinds(rows, ks),
        rows=rows,
        timings={"index_build_seconds": 1.5, "query_seconds": 0.25},
        facts={"passages": 7, "documents": 1, "depth": 10},
    )


def test_report_files_from_hand_made_rows(tmp_path):
    hit = TopHit(1, "Tea | Processing", 0.41, "tea.txt", "tea.txt#1", "Leaves are withered and rolled.", False)
    rows = [
        _row("good", rank=1, kind="direct", top_score=0.7),
        _row("missed", rank=None, kind="typo", section_at_1=False, top_score=0.35, hits=[hit]),
        _row("oos", answerable=False, predicted=True, kind="oos", top_score=0.5, hits=[hit]),
    ]
    report = _report(rows)
    out = report.write(tmp_path / "out")
    assert json.loads((out / "metrics.json").read_text()) == report.metrics
    assert json.loads((out / "run.json").read_text())["mode"] == "dense"
    with (out / "per_question.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert [r["id"] for r in table] == ["good", "missed", "oos"]
    assert table[1]["first_relevant_rank"] == "" and table[1]["top_hits"] == "Tea | Processing (0.410)"
    assert (out / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert EvalReport.table([report]) in markdown
    assert "## By kind" in markdown and "| typo | 1 | 0.000 |" in markdown
    missed_at = markdown.index("### `missed`")
    assert markdown.index("Tea \\| Processing", missed_at) > missed_at  # its top passage is shown
    assert "### `oos`" in markdown.split("## Answered, but not answerable")[1]


def test_summary_table_has_one_row_per_report_and_metric_names_as_headers():
    reports = [_report([_row("a")]), _report([_row("b", rank=None)])]
    reports[1].mode = "bm25"
    lines = EvalReport.table(reports).splitlines()
    assert lines[0].startswith("| set | mode | n | hit@1 | hit@3 | hit@5 | hit@10 | mrr | section@1 |")
    assert len(lines) == 4
    assert lines[2].startswith("| hand | dense | 1 | 1.000 |") and lines[3].startswith("| hand | bm25 | 1 | 0.000 |")
