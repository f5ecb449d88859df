"""Every answer says where: pages on passages (from real PDFs), in passages.jsonl, on hits and in their JSON;
the evaluation's page judgement; and which files the app may serve from the corpus folder."""

from __future__ import annotations

import functools
import gzip
import io
import json
import os
import re

import pypdf
import pytest

from hkai_qa.answer import Hit
from hkai_qa.index_store import _passage_from_dict
from hkai_qa.metrics import covers_page
from hkai_qa.passages import Passage, split_documents
from hkai_qa.questions import QuestionError, load_questions
from hkai_qa.readers import read_document
from hkai_qa.server import source_file
from tests import format_files


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    return format_files.generate(tmp_path_factory)


# pypdf keeps a word hyphenated at a line end in two ("incompre- hensibility"); the reader joins it.
_HYPHEN_BREAK = re.compile(r"([a-z])- ([a-z])")


def count_words(texts):
    return [len(text.split()) for text in texts]


def passages_of(path, max_tokens: int = 60) -> list[Passage]:
    (document,) = read_document(path.read_bytes(), path.name, ".pdf")
    return split_documents([document], count_words, max_tokens)


def pages_holding(path, words: list[str]) -> set[int]:
    """The physical pages pypdf alone finds these words on, in this order (the oracle)."""
    wanted = " ".join(words)
    return {number for number, text in enumerate(page_texts(path), start=1) if wanted in text}


@functools.cache
def page_texts(path) -> list[str]:
    pages = pypdf.PdfReader(str(path)).pages
    return [_HYPHEN_BREAK.sub(r"\1\2", " ".join(page.extract_text().split())) for page in pages]


@pytest.mark.parametrize("kind", ["pdf", "pdf_without_outline"])
@pytest.mark.parametrize("max_tokens", [60, 400])
def test_a_passage_records_the_pages_its_first_and_last_words_are_on(files, kind, max_tokens):
    path = files[kind]
    passages = passages_of(path, max_tokens)
    assert passages and all(p.page is not None and p.page <= p.page_end for p in passages)
    checked = 0
    for passage in passages:
        words = passage.text.split()
        if len(words) < 24:
            continue
        first_pages, last_pages = pages_holding(path, words[:12]), pages_holding(path, words[-12:])
        if first_pages and last_pages:  # else pypdf splits the words otherwise (a hyphen at a line end)
            # The filler text repeats itself, so the words may be on other pages too.
            assert passage.page in first_pages and passage.page_end in last_pages, passage.passage_id
            checked += 1
    assert checked >= len(passages) // 2
    if max_tokens == 60:
        assert any(p.page_end > p.page for p in passages), "a passage should cross a page break"
    covered = {number for p in passages for number in range(p.page, p.page_end + 1)}
    assert covered == set(range(1, len(page_texts(path)) + 1))


@pytest.mark.parametrize("kind", ["pdf", "pdf_without_outline"])
def test_a_passage_over_pages_knows_where_each_page_starts_in_it(files, kind):
    path = files[kind]
    spanning = [p for p in passages_of(path) if p.page_end > p.page]
    assert spanning, "a passage should cross a page break"
    checked = 0
    for passage in spanning:
        numbers = [number for _, number in passage.page_starts]
        offsets = [offset for offset, _ in passage.page_starts]
        assert numbers == sorted(numbers) and numbers[0] > passage.page and numbers[-1] == passage.page_end
        assert all(0 < offset < len(passage.text) for offset in offsets)
        assert passage.page_at(0) == passage.page and passage.page_at(len(passage.text) - 1) == passage.page_end
        # the words right after a page start are on that page, by pypdf alone
        for offset, number in passage.page_starts:
            words = passage.text[offset:].split()[:8]
            if len(words) == 8 and (found := pages_holding(path, words)):
                assert number in found, (passage.passage_id, words)
                assert passage.page_at(offset - 1) < number
                checked += 1
    assert checked


def test_the_printed_label_is_kept_only_where_it_differs(files):
    labelled = passages_of(files["pdf_with_labels"])
    labels = {p.page: p.page_label for p in labelled}
    assert labels[1] == "i" and labels[2] == "1" and labels[3] == "2"
    assert all(p.page_label is None for p in passages_of(files["pdf"]))


def test_text_formats_have_no_pages(tmp_path):
    from hkai_qa.corpus import load_corpus

    (tmp_path / "a.md").write_text("# Tea\n\nTea plants grow best on hillsides with acid soil.\n", encoding="utf-8")
    (passage,) = split_documents(load_corpus(tmp_path).documents, count_words, 100)
    assert (passage.page, passage.page_end, passage.page_label) == (None, None, None)
    assert "page" not in passage.to_dict()


def test_pages_survive_passages_jsonl_and_an_old_row_without_them_loads(files):
    for passage in passages_of(files["pdf_with_labels"]):
        assert _passage_from_dict(json.loads(json.dumps(passage.to_dict()))) == passage
    old = {"passage_id": "a#0", "doc_id": "a", "source": "a.md", "heading": "A", "text": "x", "start": 0, "end": 1}
    loaded = _passage_from_dict(old)
    assert (loaded.page, loaded.page_end, loaded.page_label, loaded.page_starts) == (None, None, None, ())
    assert any(p.page_starts for p in passages_of(files["pdf_with_labels"]))


def hit(**pages) -> Hit:
    return Hit(1, "Spec › 2 Limits", "text", 0.5, "spec", "spec#3", "spec.pdf", 0, 4, **pages)


def test_hit_json_and_the_citation_say_where():
    assert hit(page=7, page_end=7).to_dict()["page"] == 7
    data = hit(page=7, page_end=8).to_dict()
    assert (data["page"], data["page_end"]) == (7, 8) and "page_label" not in data
    assert hit(page=7, page_end=7, page_label="iii").to_dict()["page_label"] == "iii"
    plain = hit().to_dict()
    assert plain["page"] is None and plain["page_end"] is None
    assert hit(page=7, page_end=7).pages == "p. 7"
    assert hit(page=7, page_end=8).pages == "pp. 7–8"
    assert hit(page=7, page_end=7, page_label="iii").pages == "p. 7 (printed iii)"
    assert hit().pages is None
    assert hit(page=7, page_end=8, evidence_page=8).to_dict()["evidence_page"] == 8
    assert "evidence_page" not in hit(page=7, page_end=8).to_dict() and "evidence_page" not in plain


def test_a_hit_says_which_page_its_evidence_is_on():
    from hkai_qa.answer import make_hit
    from hkai_qa.lexical import bm25_tokenize
    from hkai_qa.ranking import Ranked

    text = "The limit applies to tea. It is printed here.\nThe second page says coffee is brewed hot."
    passage = Passage(
        "spec#0", "spec", "spec.pdf", "Spec", text, 0, len(text), 7, 8, None, ((text.index("The second"), 8),)
    )
    ranked = Ranked(passage=0, score=0.5, dense_score=0.5, bm25_score=1.0, bm25_coverage=1.0, dense_rank=1, bm25_rank=1)
    found = make_hit(1, ranked, passage, bm25_tokenize(["How is coffee brewed?"])[0], lambda token: 1.0)
    assert found.evidence_text == ["The second page says coffee is brewed hot."] and found.evidence_page == 8
    found = make_hit(1, ranked, passage, bm25_tokenize(["Where does the limit apply?"])[0], lambda token: 1.0)
    assert found.evidence_page == 7
    plain = Passage("tea#0", "tea", "tea.md", "Tea", text, 0, len(text))
    assert make_hit(1, ranked, plain, bm25_tokenize(["coffee"])[0], lambda token: 1.0).evidence_page is None


def test_a_hit_covers_the_expected_page_of_the_expected_source():
    assert covers_page(7, 8, "docs/manual.pdf", 8, "manual.pdf")
    assert covers_page(7, 8, "manual.pdf", 7)
    assert not covers_page(7, 8, "manual.pdf", 9)
    assert not covers_page(7, 8, "other.pdf", 7, "manual.pdf")
    assert not covers_page(7, 8, "my-manual.pdf", 7, "manual.pdf")
    assert not covers_page(None, None, "manual.md", 1)


def test_question_rows_take_a_page_and_a_source(tmp_path):
    good = tmp_path / "q.jsonl"
    good.write_text(json.dumps({"question": "Where?", "page": 3, "source": "m.pdf"}) + "\n", encoding="utf-8")
    (question,) = load_questions(good).questions
    assert (question.page, question.source, question.judged) == (3, "m.pdf", True)
    for page in (0, "3", True, 2.5):
        bad = tmp_path / "bad.jsonl"
        bad.write_text(json.dumps({"question": "Where?", "page": page}) + "\n", encoding="utf-8")
        with pytest.raises(QuestionError, match='"page" must be a physical page number'):
            load_questions(bad)


def test_only_files_of_the_corpus_are_served(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "manual.pdf").write_bytes(b"%PDF-1.4")
    (corpus / "sub" / "notes.md").write_text("# Notes\n", encoding="utf-8")
    (corpus / ".env").write_text("SECRET=1\n", encoding="utf-8")
    (corpus / "key.pem").write_text("secret\n", encoding="utf-8")
    (tmp_path / "outside.pdf").write_bytes(b"%PDF-1.4")
    os.symlink(tmp_path / "outside.pdf", corpus / "link.pdf")
    assert source_file(corpus, "manual.pdf") == (corpus / "manual.pdf").resolve()
    assert source_file(corpus, "sub/notes.md") == (corpus / "sub" / "notes.md").resolve()
    for refused in (
        "../outside.pdf",
        "sub/../../outside.pdf",
        str(tmp_path / "outside.pdf"),
        "link.pdf",
        ".env",
        "key.pem",
        "sub",
        "missing.pdf",
        "",
        "sub\\..\\..\\outside.pdf",
    ):
        assert source_file(corpus, refused) is None, refused
    # A one-file corpus serves that file alone.
    assert source_file(corpus / "manual.pdf", "manual.pdf") is not None
    (corpus / "other.pdf").write_bytes(b"%PDF-1.4")
    assert source_file(corpus / "manual.pdf", "other.pdf") is None


def test_the_pdf_question_set_names_a_page_each_answer_is_printed_on():
    from pathlib import Path

    from tests.conftest import REPO

    questions = load_questions(REPO / "benchmarks" / "data" / "pdf_questions.jsonl").questions
    assert len(questions) >= 20 and len({q.source for q in questions}) >= 4
    assert all(q.page is not None and q.source and q.answers for q in questions)
    installed = {
        "libtasn1.pdf": Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"),
        "bzip2-manual.pdf": Path("/usr/share/doc/bzip2/manual.pdf.gz"),
        "crc-paper.pdf": Path("/usr/share/doc/zlib1g-dev/crc-doc.1.0.pdf.gz"),
        "shared-mime-info-spec.pdf": Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"),
    }
    assert set(installed) == {q.source for q in questions}
    for source, path in installed.items():
        if not path.exists():
            pytest.fail(f"{path} is missing: make formats-tools")
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        pages = [" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(data)).pages]
        for question in (q for q in questions if q.source == source):
            assert [n for n, text in enumerate(pages, 1) if question.answers[0] in text] == [question.page], question.id
