"""The index guards as a user meets them: `hkai-qa build/ask` on foreign, crashed, damaged, read-only and full places.

Each case ends in either a right answer or exit 2 with one `Error:` line, never
a traceback, and never with files lost. Permission cases run the CLI in a child
process without CAP_DAC_OVERRIDE; the full disk is a 2 MB tmpfs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hkai_qa.cli import main
from hkai_qa.onnx_encoder import FAILURE_FILE, _disk_trouble, _recorded_failure
from tests.unit.test_index_guards import beside, run_as_ordinary_user

TEA_QUESTION = "How is black tea made?"


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def ask_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert main(["ask", TEA_QUESTION, "--json", *args]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def app_folder(tmp_path) -> Path:
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "manifest.json").write_text('{"name": "app"}')
    (app / "src" / "app.js").write_text("code")
    return app


# --- 1. foreign folders ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["build", "ask"])
def test_build_or_ask_never_replaces_an_app_folder(tiny_corpus, app_folder, capsys, command):
    args = ["build", str(tiny_corpus)] if command == "build" else ["ask", "tea", "--corpus", str(tiny_corpus)]
    assert main([*args, "--index", str(app_folder)]) == 2
    assert error_lines(capsys.readouterr().err) == [
        f"Error: {app_folder} is not an hkai-qa index (it holds manifest.json of another program, src/); "
        "not replacing it. Choose an empty or new --index folder."
    ]
    assert (app_folder / "src" / "app.js").read_text() == "code"
    assert beside(app_folder) == []


def test_build_never_replaces_a_git_repository(tmp_path, tiny_corpus, capsys):
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    assert main(["build", str(tiny_corpus), "--index", str(tmp_path / "repo")]) == 2
    assert "it holds .git/); not replacing it" in error_lines(capsys.readouterr().err)[0]
    assert (tmp_path / "repo" / ".git" / "HEAD").is_file()


@pytest.mark.slow
def test_a_file_dropped_into_an_index_keeps_it_answering_but_is_never_deleted(tmp_path, tiny_corpus, capsys):
    index = tmp_path / "ix"
    assert main(["build", str(tiny_corpus), "--index", str(index)]) == 0
    (index / "notes.txt").write_text("mine")
    assert ask_json(capsys, "--corpus", str(tiny_corpus), "--index", str(index))["hits"][0]["section"] == "Processing"
    assert main(["build", str(tiny_corpus), "--index", str(index), "--rebuild"]) == 2
    assert "it holds notes.txt); not replacing it" in error_lines(capsys.readouterr().err)[0]
    assert (index / "notes.txt").read_text() == "mine"


def test_an_index_inside_a_file_is_one_error(tmp_path, tiny_corpus, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["build", str(tiny_corpus), "--index", str(tmp_path / "file" / "sub")]) == 2
    assert error_lines(capsys.readouterr().err) == [
        f"Error: {tmp_path / 'file'} is not a folder. Choose another --index folder."
    ]


# --- 3, 10. a crash mid-swap and damaged manifests, with the real model -------------------------------


@pytest.mark.slow
def test_ask_after_a_crash_between_the_renames_answers_from_the_index(tmp_path, tiny_corpus, capsys):
    index = tmp_path / "ix"
    assert main(["build", str(tiny_corpus), "--index", str(index)]) == 0
    os.replace(index, tmp_path / ".ix.old-0badc0de")  # killed after the swap's first rename
    answer = ask_json(capsys, "--index", str(index))
    assert answer["hits"][0]["source"] == "tea.txt" and answer["hits"][0]["section"] == "Processing"
    assert index.is_dir() and beside(index) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda ix: (ix / "manifest.json").unlink(), "has no manifest.json"),
        (lambda ix: _edit(ix, model=None), "manifest.json is damaged (model should be an object"),
        (lambda ix: _edit(ix, corpus_files=None), "manifest.json is damaged (corpus_files should be"),
        (lambda ix: _edit(ix, abstention=[]), "manifest.json is damaged (abstention should be an object"),
    ],
)
def test_a_damaged_index_names_a_fix_that_works(tmp_path, tiny_corpus, capsys, damage, expected):
    index = tmp_path / "ix"
    assert main(["build", str(tiny_corpus), "--index", str(index)]) == 0
    damage(index)
    capsys.readouterr()
    assert main(["ask", TEA_QUESTION, "--index", str(index)]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert expected in line
    fix = line.partition("Rebuild it: ")[2].split()
    assert fix[:2] == ["hkai-qa", "build"] and fix[-2:] == ["--index", str(index)]
    corpus = str(tiny_corpus) if fix[2] == "CORPUS" else fix[2]
    assert main(["build", corpus, "--index", str(index)]) == 0
    assert ask_json(capsys, "--index", str(index))["hits"][0]["section"] == "Processing"


def _edit(index: Path, **changes) -> None:
    manifest = json.loads((index / "manifest.json").read_text())
    manifest.update(changes)
    (index / "manifest.json").write_text(json.dumps(manifest))


# --- 6. asking from a read-only index and model cache --------------------------------------------------


def _set_writable(root: Path, writable: bool) -> None:
    for folder, _, files in os.walk(root):
        for path in [Path(folder), *(Path(folder) / f for f in files)]:
            mode = path.stat().st_mode
            path.chmod(mode | 0o200 if writable else mode & ~0o222)


@pytest.mark.slow
def test_a_read_only_index_and_model_cache_can_be_asked(tmp_path, tiny_corpus, bundled_qa, monkeypatch):
    cache = tmp_path / "cache"
    shutil.copytree(bundled_qa.embedder.cache, cache)  # holds the verified ONNX export
    monkeypatch.setenv("HKAI_QA_MODEL_CACHE", str(cache))
    index = tmp_path / "ro" / "ix"
    assert main(["build", str(tiny_corpus), "--index", str(index)]) == 0
    code = "import sys; from hkai_qa.cli import main; sys.exit(main(sys.argv[1:]))"
    _set_writable(tmp_path, False)
    try:
        for extra in ([], ["--corpus", str(tiny_corpus)]):
            result = run_as_ordinary_user(code, "ask", TEA_QUESTION, "--json", "--index", str(index), *extra)
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout)["hits"][0]["section"] == "Processing"
            assert "Traceback" not in result.stderr and "using sentence-transformers" not in result.stderr
    finally:
        _set_writable(tmp_path, True)
    assert beside(index) == []


# --- 7. a full disk ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_build_that_does_not_fit_is_one_error_and_the_old_index_still_answers(
    tmp_path, tiny_corpus, small_disk, capsys
):
    index = small_disk / "ix"
    assert main(["build", str(tiny_corpus), "--index", str(index)]) == 0
    big = tmp_path / "big.md"
    big.write_text("".join(f"# Topic {i}\n\nShort note number {i} about tea.\n\n" for i in range(2000)))
    capsys.readouterr()
    assert main(["build", str(big), "--index", str(index)]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert line.startswith(
        f"Error: not enough disk space in {small_disk}: it needs about 2.9 MB for the passage vectors"
    )
    assert line.endswith("the previous index is unchanged.")
    assert ask_json(capsys, "--index", str(index))["hits"][0]["section"] == "Processing"
    assert beside(index) == []


@pytest.mark.slow
def test_an_onnx_export_on_a_full_disk_falls_back_without_recording_a_failure(tiny_corpus, small_disk, monkeypatch):
    from hkai_qa import QA

    monkeypatch.setenv("HKAI_QA_MODEL_CACHE", str(small_disk))
    notices: list[str] = []
    qa = QA(tiny_corpus, index=small_disk.parent / "ix", notify=notices.append)
    assert qa.encoder == "torch"
    assert qa.ask(TEA_QUESTION).hits[0].section == "Processing"
    [notice] = [n for n in notices if "onnxruntime" in n]
    assert re.search(rf"its export needs about 1\d\d\.\d MB in {small_disk} and 2\.0 MB is free", notice)
    assert "not recorded: it is tried again next time" in notice
    assert not list(small_disk.rglob(FAILURE_FILE))


def test_only_failures_that_will_repeat_are_remembered(tmp_path):
    import errno

    assert _disk_trouble(OSError(errno.ENOSPC, "No space left on device"))
    assert _disk_trouble(RuntimeError("fwrite failed: No space left on device"))
    wrapped = RuntimeError("export failed")
    wrapped.__cause__ = OSError(errno.EROFS, "Read-only file system")
    assert _disk_trouble(wrapped)
    assert not _disk_trouble(RuntimeError("Unsupported: ONNX export of operator aten::foo"))
    record = tmp_path / FAILURE_FILE
    record.write_text(json.dumps({"reason": "torch.onnx.export failed (OSError: [Errno 28] No space left on device)"}))
    assert _recorded_failure(record) is None  # an older hkai-qa recorded a full disk: try again
    record.write_text(json.dumps({"reason": "its pooling mode lasttoken has no ONNX path here"}))
    assert _recorded_failure(record) == "its pooling mode lasttoken has no ONNX path here"
    record.write_text("{damaged")
    assert _recorded_failure(record) == "an earlier export failed"
