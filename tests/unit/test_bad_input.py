"""Issue 17 items 9 and 13 below the model: bad files, names, questions and settings each get one clear error."""

from __future__ import annotations

import json
import os

import pytest

from hkai_qa import CorpusError, IndexStoreError, QuestionError
from hkai_qa.answer import check_question
from hkai_qa.build import index_root, model_cache
from hkai_qa.cli import printable
from hkai_qa.corpus import load_corpus
from tests.unit.test_index_guards import run_as_ordinary_user

# --- item 9 ---------------------------------------------------------------------------------------------


def test_a_corpus_file_the_user_cannot_read_is_named(tmp_path):
    (tmp_path / "ok.txt").write_text("Tea grows on hills.")
    secret = tmp_path / "secret.txt"
    secret.write_text("Hidden text.")
    secret.chmod(0)
    code = (
        "import sys; from hkai_qa.corpus import load_corpus; from hkai_qa import CorpusError\n"
        "try:\n    load_corpus(sys.argv[1])\nexcept CorpusError as error:\n    print(error)"
    )
    result = run_as_ordinary_user(code, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith(f"cannot read {secret} (Permission denied). Make it readable (chmod u+r")


def test_a_file_name_that_is_not_utf8_is_kept_escaped(tmp_path):
    name = os.fsdecode(b"caf\xe9 notes.txt")  # as Python lists it: a lone surrogate
    (tmp_path / name).write_text("Notes about coffee.")
    corpus = load_corpus(tmp_path)
    assert [d.source for d in corpus.documents] == ["caf\\xe9 notes.txt"]
    assert list(corpus.file_hashes) == ["caf\\xe9 notes.txt"]
    assert corpus.documents[0].sections[0].heading.encode("utf-8")  # a tokenizer and a JSON writer accept it
    json.dumps(corpus.file_hashes, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("question", ["AI \ud800", os.fsdecode(b"\xff\xfe AI")])
def test_a_question_that_is_not_utf8_is_a_question_error(question):
    with pytest.raises(QuestionError, match=r"the question is not valid text: character \d+ is a byte that is not"):
        check_question(question)


@pytest.mark.parametrize("variable", ["HKAI_QA_INDEX_ROOT", "HKAI_QA_MODEL_CACHE"])
def test_a_folder_setting_that_names_a_file_is_named(tmp_path, monkeypatch, variable):
    file = tmp_path / "f"
    file.write_text("")
    monkeypatch.setenv(variable, str(file))
    with pytest.raises(IndexStoreError, match=f"{variable}={file} is a file, not a folder. Point {variable} at"):
        index_root() if variable == "HKAI_QA_INDEX_ROOT" else model_cache()


def test_an_index_where_no_file_can_be_made_is_an_index_store_error():
    from hkai_qa._files import build_lock

    with pytest.raises(IndexStoreError, match=r"cannot make a folder or file in /proc \("), build_lock("/proc/x"):
        pass


# --- item 13 ---------------------------------------------------------------------------------------------


def test_nul_bytes_anywhere_mean_binary(tmp_path):
    file = tmp_path / "late.txt"
    file.write_bytes(b"Plain text. " * 2000 + b"\x00 more")
    with pytest.raises(
        CorpusError, match=r"late.txt looks like a binary file \(it contains a NUL byte at offset 24,000"
    ):
        load_corpus(file)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_file_with_a_byte_order_mark_is_read(tmp_path, encoding):
    file = tmp_path / "wide.txt"
    bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    file.write_bytes(bom + "Tea grows on hills in Hong Kong.\n".encode(encoding))
    document = load_corpus(file).documents[0]
    assert document.text.strip() == "Tea grows on hills in Hong Kong."


def test_utf16_without_a_byte_order_mark_says_how_to_convert(tmp_path):
    file = tmp_path / "wide.txt"
    file.write_bytes("Tea grows on hills.\n".encode("utf-16-le"))
    with pytest.raises(CorpusError, match=r"UTF-16 text without a byte-order mark, convert it: iconv -f UTF-16LE"):
        load_corpus(file)


def test_a_fifo_is_called_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(CorpusError, match=r"pipe is a FIFO \(named pipe\), not a file or a folder"):
        load_corpus(fifo)


def test_a_headings_only_markdown_file_is_not_called_empty(tmp_path):
    file = tmp_path / "outline.md"
    file.write_text("# Title\n\n## Part one\n\n## Part two\n")
    with pytest.raises(CorpusError, match=r"has headings but no text under them \(outline.md\)"):
        load_corpus(file)
    (tmp_path / "blank.md").write_text("\n\n")
    with pytest.raises(CorpusError, match="every file is empty"):
        load_corpus(tmp_path / "blank.md")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("red \x1b[31mtext\x1b[0m", "red \\x1b[31mtext\\x1b[0m"),
        ("bell\x07 csi\x9b del\x7f", "bell\\x07 csi\\x9b del\\x7f"),
        ("tab\tand\nnewline stay, ü and 中 too", "tab\tand\nnewline stay, ü and 中 too"),
        ("lone \udce9", "lone \\udce9"),
    ],
)
def test_control_characters_are_printed_visibly(raw, shown):
    assert printable(raw) == shown
