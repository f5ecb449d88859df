"""The `hkai-qa` CLI: output, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hkai_qa.cli import main
from tests.conftest import GOVERNMENT_QUESTION, REPO

pytestmark = pytest.mark.slow


def test_ask_json_ranks_government_support_first(capsys):
    assert main(["ask", "How does the government support AI?", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["answerable"] is True
    assert result["hits"][0]["section"] == "Government Support"
    assert {"section", "text", "score", "doc_id", "passage_id", "source"} <= set(result["hits"][0])


def test_ask_human_output_shows_sections_and_scores(capsys):
    assert main(["ask", "Which universities do AI research?", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "[1] Research and Innovation  (score " in out
    assert "[2] " in out and "[3] " not in out
    assert "»Universities such as" in out


def test_out_of_scope_question_says_so(capsys):
    assert main(["ask", "What is the capital of France?"]) == 0
    assert "I couldn't find this in the documents" in capsys.readouterr().out


def test_build_and_ask_a_user_corpus(tmp_path, tiny_corpus, capsys):
    index = tmp_path / "ix"
    assert main(["build", str(tiny_corpus), "--index", str(index)]) == 0
    assert "5 passages from 2 documents" in capsys.readouterr().out
    assert main(["ask", "How is black tea made?", "--index", str(index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"][0]["section"] == "Processing"


def write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda tmp: ["ask", ""], "Error: the question is empty"),
        (lambda tmp: ["ask", "x" * 2001], "the limit is 2,000"),
        (
            lambda tmp: ["ask", "q", "--corpus", str(tmp / "missing")],
            "does not exist. Pass a file or folder of .txt, .md, .pdf, .html or .docx",
        ),
        (lambda tmp: ["build", str(write(tmp / "blank.txt", b"\n\n"))], "has no text"),
        (lambda tmp: ["build", str(write(tmp / "b.txt", b"\x00\x01"))], "b.txt looks like a binary file"),
        (lambda tmp: ["build", str(write(tmp / "l.txt", "é".encode("latin-1")))], "l.txt is not valid UTF-8"),
        (lambda tmp: ["ask", "q", "--index", str(write(tmp / "m", b"") and tmp)], "no manifest.json"),
        (lambda tmp: ["ask", "q", "-k", "0"], "k must be"),
    ],
)
def test_user_errors_exit_2_with_one_line(tmp_path, capsys, make_args, message):
    assert main(make_args(tmp_path)) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert err.startswith("Error: ") and err.count("\n") == 1


def test_usage_errors_exit_2(capsys):
    assert main(["ask"]) == 2
    assert capsys.readouterr().err.startswith("Error: the following arguments are required: QUESTION")


def test_a_missing_index_without_a_corpus_is_an_error_and_creates_nothing(tmp_path, capsys):
    """Issue 17 item 2: `ask --index no_such_dir` answered from the bundled article and created the folder."""
    missing = tmp_path / "no_such_dir"
    assert main(["ask", "How do banks use AI?", "--index", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Error: no index at {missing} ") and err.count("\n") == 1
    assert f"hkai-qa build CORPUS --index {missing}" in err
    assert not missing.exists() and list(tmp_path.iterdir()) == []


def test_a_question_ranked_by_meaning_alone_shows_the_threshold_that_judged_it(bundled_qa, capsys):
    """The verdict line named the hybrid threshold while the note said the dense one decided."""
    from hkai_qa import QA

    dense = QA(index=bundled_qa.index_dir, mode="dense").threshold
    assert f"{dense:.3f}" != f"{bundled_qa.threshold:.3f}"  # else this test could not tell them apart
    answer = bundled_qa.ask("What is the capital of France?")  # no word the article holds: ranked by meaning
    assert answer.threshold == dense and "dense threshold" in answer.notes[0]
    assert main(["ask", "What is the capital of France?", "--index", str(bundled_qa.index_dir)]) == 0
    out = capsys.readouterr().out
    assert f"< threshold {dense:.3f})" in out and f"threshold {bundled_qa.threshold:.3f}" not in out


def test_ask_into_a_closed_pipe_exits_quietly(bundled_qa):
    """`hkai-qa ask … | head` ended in a BrokenPipeError traceback when head stopped reading."""
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before anything is written
    command = [sys.executable, "-m", "hkai_qa.cli", "ask", GOVERNMENT_QUESTION, "--index", str(bundled_qa.index_dir)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run(command, stdout=writer, stderr=subprocess.PIPE, text=True, env=env, timeout=300)
    finally:
        os.close(writer)
    assert done.returncode == 141, done.stderr
    assert done.stderr == ""
