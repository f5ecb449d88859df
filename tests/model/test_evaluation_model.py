"""`QA.evaluate` with the real model: a question set, a SciFact slice, and the corpus check."""

from __future__ import annotations

import json

import pytest

from hkai_qa import QA, EvalReport, QuestionError
from tests.conftest import SCIFACT

pytestmark = pytest.mark.slow


def test_evaluate_a_json_question_list(tmp_path, tiny_corpus):
    questions = tmp_path / "q.json"
    questions.write_text(
        json.dumps(
            [
                {"id": "tea", "question": "How is black tea made?", "section": "Processing", "kind": "direct"},
                {"question": "Which city did Vesuvius bury?", "answer": "Pompeii", "kind": "direct"},
                {"question": "Who won the 2018 World Cup?", "answerable": False, "kind": "oos"},
            ]
        )
    )
    qa = QA(tiny_corpus, tmp_path / "ix")
    report = qa.evaluate(questions, k=(1, 2), out=tmp_path / "out", progress=False)
    assert isinstance(report, EvalReport)
    assert [row.id for row in report.rows] == ["tea", "2", "3"]
    tea = report.rows[0]
    assert tea.rank == 1 and tea.section_at_1 and tea.hits[0].section == "Processing"
    vesuvius = report.rows[1]
    assert vesuvius.rank is not None and "Pompeii" in vesuvius.hits[vesuvius.rank - 1].text
    assert not any("Pompeii" in hit.text for hit in vesuvius.hits[: vesuvius.rank - 1])
    assert report.metrics["n"] == 3 and set(report.metrics["by_kind"]) == {"direct", "oos"}
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == report.metrics


def test_a_beir_folder_is_judged_against_its_own_corpus(tmp_path, bundled_qa):
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "Tea."}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "tea?"}\n')
    (folder / "qrels" / "test.tsv").write_text("q1\td1\t1\n")
    with pytest.raises(QuestionError, match="is judged against its own corpus"):
        bundled_qa.evaluate(folder)


def scifact_slice(folder, documents: int = 120, queries: int = 20):
    """The first test queries, their cited abstracts, and other abstracts up to `documents`."""
    lines = (SCIFACT / "qrels" / "test.tsv").read_text().splitlines()[1:]
    pairs = [line.split("\t") for line in lines if line.strip()]
    chosen = list(dict.fromkeys(q for q, _, _ in pairs))[:queries]
    qrels = [(q, d, s) for q, d, s in pairs if q in chosen]
    cited = {d for _, d, _ in qrels}
    corpus = [line for line in (SCIFACT / "corpus.jsonl").read_text().splitlines() if line.strip()]
    kept = [line for line in corpus if json.loads(line)["_id"] in cited]
    kept += [line for line in corpus if json.loads(line)["_id"] not in cited][: documents - len(kept)]
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("\n".join(kept) + "\n")
    wanted = set(chosen)
    (folder / "queries.jsonl").write_text(
        "".join(
            line + "\n"
            for line in (SCIFACT / "queries.jsonl").read_text().splitlines()
            if json.loads(line)["_id"] in wanted
        )
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels)
    )
    return folder


@pytest.mark.skipif(not (SCIFACT / "corpus.jsonl").is_file(), reason="SciFact is not in ../shared/data/scifact")
def test_scifact_slice_scores_documents_with_trec_eval(tmp_path):
    folder = scifact_slice(tmp_path / "scifact120")
    qa = QA(folder, tmp_path / "ix", mode="dense")
    assert len(qa.passages) > 120  # long abstracts are cut into windows: documents must be merged
    assert len(qa.ask("Vitamin D and bone density", k=500).hits) == 100  # the public cap stays
    report = qa.evaluate(folder, progress=False)
    assert report.is_beir and report.metrics["n"] == 20
    assert set(report.metrics) == {
        "n",
        *(f"hit@{k}" for k in (1, 3, 5, 10)),
        *("ndcg@10", "recall@100", "mrr@10", "map@100", "latency_p50_ms", "latency_p95_ms"),
    }
    for row in report.rows:
        assert len(row.documents) == 100 == len(set(row.documents))  # 100 distinct documents per query
    # Every cited abstract is among the 120, and most rank near the top: far above chance.
    assert report.metrics["ndcg@10"] > 0.5
    assert report.metrics["recall@100"] > 0.8 and report.metrics["hit@10"] > 0.5
