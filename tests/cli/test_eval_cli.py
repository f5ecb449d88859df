"""`hkai-qa eval`: the team's question set end to end, several modes, and one-line errors."""

from __future__ import annotations

import csv
import json

import pytest

from hkai_qa.cli import main
from tests.conftest import PACKAGED_ARTICLE, REPO
from tests.unit.test_evaluation import QUESTION_SET_KEYS

pytestmark = pytest.mark.slow

TEAM_SET = REPO / "tests" / "data" / "hk_questions.jsonl"
NAMED_KEYS = set(QUESTION_SET_KEYS)


def test_eval_the_team_set_writes_every_report_file(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["eval", str(TEAM_SET), "--out", str(out), "--quiet", "--mode", "dense"]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith("| set | mode | n | hit@1 | hit@3 | hit@5 | hit@10 | mrr | section@1 |")
    assert "| hk_questions | dense | 63 |" in printed.out
    assert "eval dense" not in printed.err  # --quiet: no progress bar
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == NAMED_KEYS | {"by_kind"}
    assert metrics["n"] == 63
    assert metrics["hit@3"] >= 0.7  # most questions find their passage among the first three
    assert set(metrics["by_kind"]) == {
        "direct",
        "paraphrase",
        "keyword",
        "typo",
        "rambling",
        "out_of_scope",
        "near_miss",
    }
    assert "abstain_recall" in metrics["by_kind"]["near_miss"] and "hit@1" not in metrics["by_kind"]["near_miss"]
    with (out / "per_question.csv").open(encoding="utf-8") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert len(rows) == 63
    assert rows["oos-1"]["answerable_expected"] == "False"
    assert rows["oos-1"]["answerable_predicted"] == "False"  # "What is the capital of France?"
    assert (out / "plot.png").stat().st_size > 10_000
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## By kind" in report and "## Worst misses" in report


def test_eval_every_mode_on_a_csv_warns_once_about_unknown_columns(tmp_path, tiny_corpus, capsys):
    questions = tmp_path / "tea.csv"
    questions.write_text(
        "question,answer,notes\nHow is black tea made?,oxidised,easy\nWhat did Vesuvius bury?,Pompeii,\n"
        "What is the capital of France?,,out of scope\n",
        encoding="utf-8",
    )
    out = tmp_path / "all"
    args = ["eval", str(questions), "--corpus", str(tiny_corpus), "--index", str(tmp_path / "ix")]
    assert main([*args, "--mode", "all", "--k", "1,2", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr()
    assert printed.err.count('Warning: tea.csv: ignoring unknown column "notes"') == 1
    summary = (out / "summary.md").read_text(encoding="utf-8").splitlines()
    assert [line.split(" | ")[1] for line in summary[2:]] == ["hybrid", "dense", "bm25"]
    for mode in ("hybrid", "dense", "bm25"):
        metrics = json.loads((out / mode / "metrics.json").read_text())
        assert list(metrics)[:4] == ["n", "hit@1", "hit@2", "mrr"]
        assert metrics["n"] == 3 and "section@1" not in metrics  # no sections given


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("make_args", "expected_error"),
    [
        (
            lambda tmp: ["eval", write(tmp / "q.jsonl", '{"question": "a"}\n{"question": "b"}\n{"id": 3}\n')],
            'Error: q.jsonl line 3: missing "question"',
        ),
        (lambda tmp: ["eval", write(tmp / "q.jsonl", "")], "Error: q.jsonl is empty"),
        (lambda tmp: ["eval", write(tmp / "q.txt", "What?")], "Error: q.txt: unknown question file type '.txt'"),
        (lambda tmp: ["eval", str(tmp / "missing.jsonl")], "Error: question file "),
    ],
)
def test_eval_bad_input_exits_2_with_one_line(tmp_path, capsys, make_args, expected_error):
    assert main(make_args(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected_error) and err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [["--k", "0,3"], ["--k", "one"], ["--mode", "fuzzy"]])
def test_eval_bad_options_are_usage_errors(args, capsys):
    assert main(["eval", str(TEAM_SET), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: argument --") and err.count("\n") == 1


def test_eval_with_vectors_in_milvus_lite_scores_like_faiss(tmp_path, capsys):
    pytest.importorskip("pymilvus")
    runs = {}
    for store in ("faiss", f"milvus:{tmp_path / 'hk.db'}"):
        out = tmp_path / store.split(":")[0]
        index = tmp_path / f"ix-{store.split(':')[0]}"
        # A new --index needs --corpus to say what to build there (issue 17 item 2).
        args = ["eval", str(TEAM_SET), "--out", str(out), "--quiet", "--store", store, "--index", str(index)]
        args += ["--corpus", str(PACKAGED_ARTICLE)]
        assert main(args) == 0
        capsys.readouterr()
        metrics = json.loads((out / "metrics.json").read_text())
        runs[store.split(":")[0]] = without_latency(metrics)
    assert runs["milvus"] == runs["faiss"]


def without_latency(metrics: dict) -> dict:
    return {
        key: without_latency(value) if isinstance(value, dict) else value
        for key, value in metrics.items()
        if not key.startswith("latency")
    }
