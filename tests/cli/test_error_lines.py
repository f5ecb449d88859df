"""Issue 17 items 9, 11 and 13 through `hkai-qa`: one `Error:` line and exit 2, safe output, no waiting on a build."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hkai_qa.cli import main
from tests.conftest import GOVERNMENT_QUESTION, REPO

pytestmark = pytest.mark.slow

QUESTIONS = REPO / "tests" / "data" / "hk_questions.jsonl"


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "usage:" not in err
    return err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask"], "Error: the following arguments are required: QUESTION. See: hkai-qa ask --help"),
        (["bogus"], "Error: argument COMMAND: invalid choice: 'bogus'"),
        (["ask", "q", "-k", "two"], "argument -k: invalid int value: 'two'. See: hkai-qa ask --help"),
        (
            ["eval", "q.jsonl", "--mode", "fuzzy"],
            "unknown mode 'fuzzy'; use hybrid, dense, bm25 or all. See: hkai-qa eval --help",
        ),
    ],
)
def test_usage_errors_are_one_line_with_a_hint(capsys, argv, message):
    assert main(argv) == 2
    assert message in one_error_line(capsys)


def test_a_question_that_is_not_utf8_is_one_error_line(bundled_qa, capsys):
    question = os.fsdecode(b"\xff\xfe AI")  # what `hkai-qa ask $'\xff\xfe AI'` passes on
    assert main(["ask", question, "--index", str(bundled_qa.index_dir)]) == 2
    assert "the question is not valid text: character 1 is a byte that is not UTF-8" in one_error_line(capsys)


def test_a_corpus_with_a_file_name_that_is_not_utf8_builds_and_answers(tmp_path, capsys):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / os.fsdecode(b"caf\xe9 notes.txt")).write_text("Espresso is brewed by forcing hot water through coffee.")
    (corpus / "tea.txt").write_text("Tea plants grow best on hillsides with plenty of rain.")
    index = tmp_path / "ix"
    assert main(["build", str(corpus), "--index", str(index)]) == 0
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    assert "caf\\xe9 notes.txt" in manifest["corpus_files"]
    capsys.readouterr()
    assert main(["ask", "How is espresso made?", "--corpus", str(corpus), "--index", str(index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"][0]["source"] == "caf\\xe9 notes.txt"


@pytest.mark.parametrize("index", ["/proc/x", "/proc/x/sub", "."])
def test_an_index_folder_that_cannot_be_one_is_one_error_line(tiny_corpus, capsys, index):
    assert main(["build", str(tiny_corpus), "--index", index]) == 2
    err = one_error_line(capsys)
    assert "Choose" in err and "--index" in err


def test_an_index_under_a_file_is_one_error_line(tmp_path, tiny_corpus, capsys):
    (tmp_path / "file").write_text("")
    assert main(["build", str(tiny_corpus), "--index", str(tmp_path / "file" / "sub")]) == 2
    assert "file is not a folder. Choose another --index folder" in one_error_line(capsys)


def test_eval_out_in_an_unwritable_place_fails_before_evaluating(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    for out in ("/proc/nope", str(tmp_path / "file" / "report")):
        assert main(["eval", str(QUESTIONS), "--out", out, "--quiet"]) == 2
        assert f"cannot write the report into {out} (" in one_error_line(capsys)
    assert not list((tmp_path / "file").parent.glob("reports*"))


def test_index_root_set_to_a_file_is_one_error_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "f").write_text("")
    monkeypatch.setenv("HKAI_QA_INDEX_ROOT", str(tmp_path / "f"))
    assert main(["ask", GOVERNMENT_QUESTION]) == 2
    assert f"HKAI_QA_INDEX_ROOT={tmp_path / 'f'} is a file, not a folder" in one_error_line(capsys)


def test_escape_sequences_in_corpus_and_question_are_not_echoed_raw(tmp_path, capsys):
    corpus = tmp_path / "esc.txt"
    corpus.write_text("Banks\n\nBanks use AI \x1b[31mto catch fraud\x1b[0m and \x9b2J scams.\n")
    assert (
        main(["ask", "How do banks \x1b]0;owned\x07 use AI?", "--corpus", str(corpus), "--index", str(tmp_path / "i")])
        == 0
    )
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
    assert "Q: How do banks \\x1b]0;owned\\x07 use AI?" in out
    assert "\\x1b[31mto catch fraud\\x1b[0m and \\x9b2J" in out
    assert main(["ask", "banks", "--corpus", str(corpus), "--index", str(tmp_path / "i"), "--json"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x9b" not in out
    assert "\x1b[31m" in json.loads(out)["hits"][0]["text"]  # the JSON still carries the text as it is


def test_a_long_passage_is_cut_when_printed(tmp_path, capsys):
    """Item 11: an unbroken "word" far over the model's window is split by tokens, and each printed hit is capped."""
    corpus = tmp_path / "line.txt"
    corpus.write_text("tea" * 200_000 + "\n")
    index = tmp_path / "i"
    assert main(["build", str(corpus), "--index", str(index)]) == 0
    assert json.loads((index / "manifest.json").read_text())["passage_count"] > 100
    capsys.readouterr()
    assert main(["ask", "tea", "--index", str(index), "-k", "1"]) == 0
    hit_lines = capsys.readouterr().out.split("\n\n", 1)[1].splitlines()[1:]
    printed = "".join(line.strip() for line in hit_lines)
    assert printed.endswith("…") and len(printed) <= 1_002


def test_ask_answers_from_the_old_index_while_a_rebuild_holds_its_lock(tmp_path, tiny_corpus):
    """Item 13: a complete, up-to-date index is read without waiting for a concurrent build of the same folder."""
    from hkai_qa._files import build_lock

    index = tmp_path / "ix"
    assert main(["build", str(tiny_corpus), "--index", str(index)]) == 0
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "hkai_qa.cli", "ask", "How is black tea made?", "--json"]
    command += ["--corpus", str(tiny_corpus), "--index", str(index)]
    with build_lock(index):  # what `hkai-qa build` holds for the whole of its rebuild
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hits"][0]["section"] == "Processing"


def test_ask_answers_from_the_previous_index_while_another_process_updates_a_changed_corpus(tmp_path, tiny_corpus):
    """Issue 17: a changed corpus that another process is already updating does not make `ask` wait for it."""
    from hkai_qa._files import build_lock

    index = tmp_path / "ix"
    assert main(["build", str(tiny_corpus), "--index", str(index)]) == 0
    (tiny_corpus / "kettles.txt").write_text("Kettles\n\nA kettle whistles when the water boils.\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    ask = [sys.executable, "-m", "hkai_qa.cli", "ask", "How is black tea made?", "--json"]
    ask += ["--corpus", str(tiny_corpus), "--index", str(index)]
    build = [sys.executable, "-m", "hkai_qa.cli", "build", str(tiny_corpus), "--index", str(index), "--json"]
    with build_lock(index):  # as a `hkai-qa build` updating the index holds it
        answered = subprocess.run(ask, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
        waiting = subprocess.Popen(build, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(timeout=20)  # `build` waits for the writer instead of reporting the old index
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["hits"][0]["section"] == "Processing"
    assert "is behind its corpus" in answered.stderr and "kettles.txt" in answered.stderr
    assert "kettles.txt" not in json.loads((index / "manifest.json").read_text())["corpus_files"]
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert json.loads(out)["added"] >= 1
    assert "kettles.txt" in json.loads((index / "manifest.json").read_text())["corpus_files"]
