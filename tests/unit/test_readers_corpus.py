"""PDF, HTML and Word files in a corpus: found, hashed, loaded; an unreadable one warns in a folder."""

from __future__ import annotations

import logging
import shutil

import pytest

from hkai_qa.corpus import corpus_files, hash_corpus_files, load_corpus
from hkai_qa.errors import CorpusError
from tests import format_files


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    return format_files.generate(tmp_path_factory)


@pytest.fixture
def mixed_folder(files, tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(files["pdf"], folder / "spec.pdf")
    shutil.copy(files["html"], folder / "sub" / "spec.html")
    shutil.copy(files["docx"], folder / "spec.docx")
    shutil.copy(files["pdf_scanned"], folder / "scan.pdf")
    shutil.copy(files["pdf_encrypted"], folder / "locked.pdf")
    (folder / "notes.md").write_text("# Notes\n\nThe spare pump is in building 2.\n", encoding="utf-8")
    return folder


def test_a_folder_with_unreadable_pdfs_still_indexes_the_rest(mixed_folder, caplog):
    with caplog.at_level(logging.WARNING, logger="hkai_qa"):
        corpus = load_corpus(mixed_folder)
    assert sorted(d.source for d in corpus.documents) == ["notes.md", "spec.docx", "spec.pdf", "sub/spec.html"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "hkai_qa"]
    assert len(warnings) == 2
    assert any("scan.pdf" in w and "ocrmypdf" in w for w in warnings)
    assert any("locked.pdf" in w and "password" in w for w in warnings)
    assert all("\n" not in w for w in warnings)


def test_every_file_is_hashed_like_any_other(mixed_folder):
    corpus = load_corpus(mixed_folder)
    hashes = hash_corpus_files(mixed_folder)
    assert hashes == corpus.file_hashes
    assert set(hashes) == {"spec.pdf", "sub/spec.html", "spec.docx", "scan.pdf", "locked.pdf", "notes.md"}
    before = hashes["scan.pdf"]
    shutil.copy(mixed_folder / "spec.pdf", mixed_folder / "scan.pdf")  # "after OCR": the file changed
    assert hash_corpus_files(mixed_folder)["scan.pdf"] != before
    assert "scan.pdf" in {d.source for d in load_corpus(mixed_folder).documents}


@pytest.mark.parametrize(
    ("kind", "message"),
    [("pdf_scanned", r"no text layer.*ocrmypdf"), ("pdf_encrypted", r"encrypted with a password")],
)
def test_a_single_unreadable_file_is_the_error(files, kind, message):
    with pytest.raises(CorpusError, match=message):
        load_corpus(files[kind])


@pytest.mark.parametrize("name", ["a.pdf", "b.HTML", "c.htm", "d.docx"])
def test_the_new_suffixes_are_corpus_files(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    assert corpus_files(tmp_path) == [tmp_path / name]
