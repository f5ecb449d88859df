"""`hkai-qa build` reports what an update changed; `hkai-qa status` says what an index holds and what changed."""

from __future__ import annotations

import json

import pytest

from hkai_qa.cli import main

REPORT_KEYS = {"index", "kind", "reason", "added", "updated", "unchanged", "removed", "seconds", "retrained", "files"}


def build_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert main(["build", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_build_json_and_status_follow_an_update(tmp_path, tiny_corpus, capsys):
    index = str(tmp_path / "ix")
    first = build_json(capsys, str(tiny_corpus), "--index", index)
    assert set(first) == REPORT_KEYS and first["kind"] == "full" and first["added"] > 0
    assert build_json(capsys, str(tiny_corpus), "--index", index)["kind"] == "none"

    (tiny_corpus / "kittens.md").write_text("# Kittens\n\nKittens are young cats that sleep most of the day.\n")
    (tiny_corpus / "tea.txt").unlink()
    assert main(["status", "--corpus", str(tiny_corpus), "--index", index, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["current"] is False
    assert status["changes"] == {"added": ["kittens.md"], "changed": [], "removed": ["tea.txt"], "renamed": []}
    assert status["files"] == 2 and status["model"] == "all-MiniLM-L6-v2" and status["store"] == "faiss"
    assert status["abstention"]["thresholds"]["hybrid"] > 0 and status["built_at"]

    assert main(["status", "--index", index]) == 0
    text = capsys.readouterr().out
    assert "Changes:   1 added (kittens.md); 1 removed (tea.txt). Update: hkai-qa build" in text
    assert "Model:     all-MiniLM-L6-v2   Store: faiss" in text

    report = build_json(capsys, str(tiny_corpus), "--index", index)
    assert report["kind"] == "incremental" and report["added"] == 1 and report["removed"] >= 1
    assert report["files"]["removed"] == ["tea.txt"] and report["seconds"] > 0

    assert main(["build", str(tiny_corpus), "--index", index]) == 0
    assert capsys.readouterr().out.startswith(f"Up to date: {index}: ")
    (tiny_corpus / "kittens.md").write_text("# Kittens\n\nKittens purr.\n")
    assert main(["build", str(tiny_corpus), "--index", index]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"Updated {index}: ") and "0 added, 1 updated" in line and "1 changed (kittens.md)" in line

    assert main(["status", "--index", index, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["current"] and status["updated_at"] and status["last_update"]["updated"] == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (lambda tmp: ["status", "--index", str(tmp / "nowhere")], "no index at"),
        (lambda tmp: ["status", "--corpus", str(tmp)], "no index for"),
    ],
)
def test_status_of_a_missing_index_is_one_error(tmp_path, capsys, args, expected):
    assert main(args(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and expected in err and "hkai-qa build" in err and err.count("\n") == 1
    assert not (tmp_path / "nowhere").exists()
