"""`hkai-qa ask` says which page of a PDF each passage is on."""

from __future__ import annotations

import json

import pytest

from hkai_qa.cli import main
from tests.conftest import PDF_ANSWER, PDF_QUESTION, printed_on

pytestmark = pytest.mark.slow


def test_ask_shows_the_page_and_its_printed_label(pdf_qa, capsys):
    page, label = printed_on(pdf_qa.corpus_path / "spec.pdf", PDF_ANSWER)
    assert str(page) != label  # the labelled PDF prints another number than the physical one
    args = ["ask", PDF_QUESTION, "--corpus", str(pdf_qa.corpus_path), "--index", str(pdf_qa.index_dir), "-k", "3"]
    assert main(args) == 0
    out = capsys.readouterr().out
    first = next(line for line in out.splitlines() if line.startswith("[1] "))
    assert f", p. {page} (printed {label})  (score " in first or f", pp. {page}–" in first, first
    assert "spec.pdf" in first
    assert main([*args, "--json"]) == 0
    top = json.loads(capsys.readouterr().out)["hits"][0]
    assert top["source"] == "spec.pdf"
    assert top["page"] <= page <= top["page_end"]
    assert top["page_label"]


def test_hits_from_text_files_carry_no_page(pdf_qa, capsys):
    args = ["ask", "Where do tea plants grow best?", "--corpus", str(pdf_qa.corpus_path)]
    assert main([*args, "--index", str(pdf_qa.index_dir), "--json"]) == 0
    top = json.loads(capsys.readouterr().out)["hits"][0]
    assert top["source"] == "tea.md" and top["page"] is None and top["page_end"] is None
    assert main([*args, "--index", str(pdf_qa.index_dir)]) == 0
    first = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("[1] "))
    assert first.startswith("[1] Tea  (score ") and "p. " not in first
