"""Corpus loading: headings, offsets, formats and the errors a user can cause."""

from __future__ import annotations

import json

import pytest

from hkai_qa import CorpusError
from hkai_qa.corpus import load_corpus, markdown_sections, parse_file, plain_text_sections
from tests.conftest import BUNDLED_CORPUS, HEADINGS


def test_bundled_article_has_title_and_six_sections():
    corpus = load_corpus(BUNDLED_CORPUS)
    [document] = corpus.documents
    assert [s.heading for s in document.sections] == HEADINGS
    intro = document.text[document.sections[0].start : document.sections[0].end]
    assert intro.startswith("Hong Kong, a bustling metropolis")
    last = document.sections[-1]
    assert document.text[last.start : last.end].endswith("benefits society at large.")


def test_section_offsets_point_into_the_original_text():
    text = "Title line\n\nIntro text here.\n\nPart one:\n\nBody “one”.\n"
    sections = plain_text_sections(text, "fallback")
    assert [(s.heading, text[s.start : s.end]) for s in sections] == [
        ("Title line", "Intro text here."),
        ("Part one", "Body “one”."),
    ]


def test_text_before_any_heading_belongs_to_the_file_title():
    text = "Some opening sentence that is long and ends with a period.\n\nNotes:\n\nMore.\n"
    sections = plain_text_sections(text, "My file")
    assert [s.heading for s in sections] == ["My file", "Notes"]


def test_crlf_line_endings():
    text = "Heading one\r\n\r\nBody.\r\n\r\nHeading two:\r\n\r\nSecond body.\r\n"
    sections = plain_text_sections(text, "x")
    assert [(s.heading, text[s.start : s.end]) for s in sections] == [
        ("Heading one", "Body."),
        ("Heading two", "Second body."),
    ]


def test_sentence_lines_are_not_headings():
    text = "A full sentence ends here.\n\n- a list item\n\nReal heading\n\nBody.\n"
    assert [s.heading for s in plain_text_sections(text, "T")] == ["T", "Real heading"]


def test_markdown_nested_headings_become_paths():
    text = "# Guide\n\nIntro.\n\n## Install\n\nSteps.\n\n### Linux\n\napt.\n\n## Use\n\nRun it.\n"
    assert [s.heading for s in markdown_sections(text, "f")] == [
        "Guide",
        "Guide › Install",
        "Guide › Install › Linux",
        "Guide › Use",
    ]


def test_markdown_ignores_headings_in_code_and_reads_setext():
    text = "Title\n=====\n\nText.\n\n```\n# not a heading\n```\n\nSub\n---\n\nMore.\n"
    sections = markdown_sections(text, "f")
    assert [s.heading for s in sections] == ["Title", "Title › Sub"]
    assert "# not a heading" in text[sections[0].start : sections[0].end]


def test_folder_reads_supported_files_sorted_and_skips_hidden(tiny_corpus):
    (tiny_corpus / ".hidden.txt").write_text("Secret\n\nNo.\n")
    (tiny_corpus / "image.png").write_bytes(b"\x89PNG\x00\x00")
    corpus = load_corpus(tiny_corpus)
    assert [d.doc_id for d in corpus.documents] == ["tea.txt", "volcanoes.md"]
    assert set(corpus.file_hashes) == {"tea.txt", "volcanoes.md"}
    assert [s.heading for s in corpus.documents[0].sections] == ["Growing tea", "Processing"]


def test_beir_corpus_one_document_per_line(tmp_path):
    rows = [
        {"_id": "d1", "title": "Tea", "text": "Tea grows on hills.", "metadata": {}},
        {"_id": "d2", "title": "", "text": "Untitled text."},
    ]
    (tmp_path / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "tea?"}\n')
    corpus = load_corpus(tmp_path)
    assert [(d.doc_id, d.sections[0].heading, d.text) for d in corpus.documents] == [
        ("d1", "Tea", "Tea grows on hills."),
        ("d2", "d2", "Untitled text."),
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"_id": "1", "text": "ok"}\nnot json\n', "corpus.jsonl line 2: not valid JSON"),
        (b'{"title": "no id"}\n', 'corpus.jsonl line 1: a BEIR corpus line needs "_id" and "text"'),
        (b'{"_id": "1", "text": "a"}\n{"_id": "1", "text": "b"}\n', "line 2: duplicate _id '1'"),
    ],
)
def test_malformed_beir_lines_are_named(tmp_path, content, expected):
    (tmp_path / "corpus.jsonl").write_bytes(content)
    with pytest.raises(CorpusError, match=expected):
        load_corpus(tmp_path)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("binary.txt", b"abc\x00\x01\x02", r"binary.txt looks like a binary file"),
        ("latin.txt", "café".encode("latin-1"), r"latin.txt is not valid UTF-8 \(bad byte at offset 3\)"),
        ("empty.txt", b"   \n\n", r"has no text"),
        ("notes.rtf", b"{\\rtf1", r"unsupported extension '.rtf'"),
        ("notes.pdf", b"%PDF", r"notes.pdf: damaged PDF, it cannot be read"),
    ],
)
def test_unreadable_files_are_named(tmp_path, name, content, expected):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CorpusError, match=expected):
        load_corpus(tmp_path / name)


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="holds no supported files"):
        load_corpus(tmp_path)


# --- Markdown structure: fences, front matter, rooted heading paths ------------------------------


def test_hash_lines_inside_fences_are_code_whatever_the_fence():
    text = (
        "# Guide\n\nIntro.\n\n"
        "````markdown\n```\n# not a heading\n```\n````\n\n"
        "```\n~~~\n## not a heading either\n~~~\n```\n\n"
        "## Real\n\nBody.\n"
    )
    sections = markdown_sections(text, "f")
    assert [s.heading for s in sections] == ["Guide", "Guide › Real"]
    assert "# not a heading" in text[sections[0].start : sections[0].end]


def test_a_shorter_fence_does_not_close_a_longer_one():
    from hkai_qa.corpus import fence_closes, fence_opening

    assert fence_opening("````python") == "````"
    assert fence_opening("  ~~~") == "~~~"
    assert fence_opening("```a`b```") is None
    assert not fence_closes("```", "````")
    assert not fence_closes("~~~", "```")
    assert fence_closes("`````", "````")


def test_a_file_without_a_top_heading_is_rooted_in_its_readable_name():
    [document] = parse_file("Opening words.\n\n## Install\n\nSteps.\n", "getting_started.md", ".md")
    assert [s.heading for s in document.sections] == ["Getting started", "Getting started › Install"]


def test_front_matter_title_roots_the_paths_and_is_not_text():
    text = "---\ntitle: 'The Manual'\nauthor: me\n---\n\nFirst words.\n\n# Usage\n\nRun it.\n"
    [document] = parse_file(text, "x.md", ".md")
    assert [s.heading for s in document.sections] == ["The Manual", "The Manual › Usage"]
    assert document.text[document.sections[0].start : document.sections[0].end] == "First words."


def test_the_first_top_level_heading_roots_later_top_level_ones():
    text = "Lead.\n\n# Alpha\n\nA.\n\n## Sub\n\nS.\n\n# Beta\n\nB.\n"
    assert [s.heading for s in markdown_sections(text, "file")] == ["Alpha", "Alpha", "Alpha › Sub", "Alpha › Beta"]


def test_headings_in_html_comments_are_not_headings():
    text = "# T\n\n<!-- [[[cog\n# generated by a script\n]]] -->\n\nText.\n"
    assert [s.heading for s in markdown_sections(text, "f")] == ["T"]


def test_plain_text_from_pandoc_keeps_code_and_its_lead_in_under_the_real_heading(tmp_path):
    """pandoc's plain text indents code by four spaces; neither a code line standing alone nor the
    sentence ending in a colon that introduces the code or a list is a heading."""
    from tests.format_files import missing_tools, run

    if "pandoc" in missing_tools():
        pytest.fail("this test needs pandoc: run `make formats-tools` (as root) or `make test`")
    source = tmp_path / "guide.md"
    source.write_text(
        "# Guide\n\nOpening text of the guide.\n\n## Installing\n\nInstall it with the package manager:\n\n"
        "```\npip install coolant\n```\n\nThen write a loader like this:\n\n```python\nimport coolant\n\n"
        "loader = coolant.Loader()\n\nloader.run()\n```\n\nThe loader supports these modes:\n\n"
        "- fast\n- safe\n\n## Running\n\nStart the loop.\n",
        encoding="utf-8",
    )
    plain = tmp_path / "guide.txt"
    run("pandoc", source, "-t", "plain", "-o", plain)
    [document] = load_corpus(plain).documents
    assert [s.heading for s in document.sections] == ["Guide", "Installing", "Running"]
    installing = document.text[document.sections[1].start : document.sections[1].end]
    assert "Then write a loader like this:" in installing and "loader.run()" in installing
