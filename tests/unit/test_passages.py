"""Passages: one per section, long sections cut into overlapping windows along blocks and sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from hkai_qa._defaults import LARGE_CORPUS_PASSAGES, LONG_PASSAGE_WINDOWS, passage_budget
from hkai_qa.corpus import Document, Section, fence_closes, fence_opening, load_corpus, parse_file
from hkai_qa.passages import MAX_CHARS_PER_TOKEN, split_corpus, split_documents
from hkai_qa.sentences import sentence_spans
from tests.conftest import BUNDLED_CORPUS


def count_words(texts):
    """A stand-in tokenizer for the splitter's arithmetic: one token per word."""
    return [len(t.split()) for t in texts]


def test_short_sections_are_one_passage_each_with_stable_ids():
    documents = load_corpus(BUNDLED_CORPUS).documents
    first = split_documents(documents, count_words, 500)
    second = split_documents(load_corpus(BUNDLED_CORPUS).documents, count_words, 500)
    assert len(first) == 7
    assert [p.passage_id for p in first] == [p.passage_id for p in second]
    assert first[3].passage_id == "hong_kong_ai_ecosystem.txt#3"
    for passage in first:
        assert documents[0].text[passage.start : passage.end] == passage.text


def test_long_section_becomes_overlapping_windows_within_the_limit():
    sentences = [f"Sentence number {i} has exactly seven words." for i in range(40)]
    text = " ".join(sentences)
    document = Document("doc", "doc.txt", text, [Section("Long", 0, len(text))])
    passages = split_documents([document], count_words, 60)
    assert len(passages) > 1
    for passage in passages:
        assert count_words([passage.searchable_text])[0] <= 60
        assert passage.text == text[passage.start : passage.end]
        assert passage.text.endswith(".")
    for before, after in zip(passages, passages[1:], strict=False):
        assert after.start < before.end, "windows overlap by a sentence"
    covered = " ".join(p.text for p in passages)
    assert all(s in covered for s in sentences)


def test_a_sentence_longer_than_the_limit_is_cut_at_spaces():
    text = " ".join(f"word{i}" for i in range(300))
    document = Document("doc", "doc.txt", text, [Section("Run-on", 0, len(text))])
    passages = split_documents([document], count_words, 50)
    assert all(count_words([p.searchable_text])[0] <= 50 for p in passages)
    assert {w for p in passages for w in p.text.split()} == set(text.split())


def test_sentence_spans():
    text = "First one. Second “quoted.” Third?\n\nNo end"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["First one.", "Second “quoted.”", "Third?", "No end"]
    cjk = "香港很好。人工智能！"
    assert [cjk[s:e] for s, e in sentence_spans(cjk)] == ["香港很好。", "人工智能！"]


# --- passages that follow the document -------------------------------------------------------

# Every corpus of the quality suite (benchmarks/quality.py): the bundled article and each documentation folder.
SUITE_CORPORA = [BUNDLED_CORPUS, *sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "data").glob("*/docs"))]


def unbalanced_fence(text: str) -> bool:
    """Whether `text` leaves a fence open (or starts inside one and closes it)."""
    fence = None
    for line in text.splitlines():
        if fence is None:
            fence = fence_opening(line)
        elif fence_closes(line, fence):
            fence = None
    return fence is not None


def markdown_passages(text: str, max_tokens: int, name: str = "doc.md"):
    return split_documents(parse_file(text, name, ".md"), count_words, max_tokens)


def paragraph(label: str, words: int) -> str:
    return " ".join([label] + [f"w{i}" for i in range(words - 2)]) + "."


def test_a_long_section_is_windowed_at_paragraphs_and_blocks():
    code = "```python\n# a comment, not a heading\nx = 1\n\ny = 2\n```"
    table = "The options are:\n\n| name | default |\n|---|---|\n| a | 1 |\n| b | 2 |"
    listing = "Steps to follow:\n\n- first step here\n- second step here\n  continued"
    parts = [paragraph("Alpha", 20), code, paragraph("Beta", 20), table, paragraph("Gamma", 20), listing]
    text = "# Guide\n\n" + "\n\n".join(parts) + "\n"
    passages = markdown_passages(text, 50)
    assert len(passages) > 2
    for passage in passages:
        assert count_words([passage.searchable_text])[0] <= 50
        assert not unbalanced_fence(passage.text)
        for part in parts:
            # Every block is whole in some passage; no passage holds part of one.
            assert part in passage.text or not set(part.splitlines()) & set(passage.text.splitlines()) - {""}
    assert any(table in p.text for p in passages), "a table stays with the sentence that introduces it"
    assert any(listing in p.text for p in passages), "a list stays with the sentence that introduces it"
    assert all(p.heading == "Guide" for p in passages)


def test_a_fence_holding_shorter_fences_is_one_block():
    inner = "````md\n```\n# looks like a heading\n```\n~~~\nstill code\n````"
    text = "# Doc\n\n" + paragraph("Lead", 30) + "\n\n" + inner + "\n\n" + paragraph("Tail", 30) + "\n"
    passages = markdown_passages(text, 40)
    assert [p.heading for p in passages] == ["Doc"] * len(passages)
    assert sum(inner in p.text for p in passages) >= 1
    assert not any(unbalanced_fence(p.text) for p in passages)


def test_a_code_block_longer_than_the_window_is_cut_at_lines_without_its_fences():
    lines = [f"value_{i} = compute({i}, more, words, here)" for i in range(60)]
    text = "# Code\n\n```python\n" + "\n".join(lines) + "\n```\n"
    passages = markdown_passages(text, 40)
    assert len(passages) > 3
    assert all(count_words([p.searchable_text])[0] <= 40 for p in passages)
    assert not any("```" in p.text for p in passages)
    covered = "\n".join(p.text for p in passages)
    assert all(line in covered for line in lines), "no line is left unembedded"


def test_a_heading_with_one_short_line_joins_its_neighbour():
    text = (
        "# API\n\n## Request\n\nThe request object.\n\n"
        "### Method\n\n" + paragraph("The method is read from the scope and", 40) + "\n\n"
        "### URL\n\n" + paragraph("The address is parsed into parts and", 40) + "\n"
    )
    passages = markdown_passages(text, 200)
    assert [p.heading for p in passages] == ["API › Request › Method", "API › Request › URL"]
    assert passages[0].text.startswith("The request object.")
    assert min(len(p.text) for p in passages) > 100


def test_a_one_sentence_lead_in_joins_its_first_subsection_but_a_one_sentence_answer_stands_alone():
    text = (
        "# Hooks\n\nHooks run your own commands before and after a bump.\n\n"
        "## Environments\n\nEach hook has these environment variables set when executed.\n\n"
        "### Inherited\n\n" + paragraph("Every variable set before the run is passed on and", 20) + "\n\n"
        "### Fields\n\n" + paragraph("The version fields are named after the parts and", 20) + "\n\n"
        "## Outputs\n\nThe output streams are echoed to the console when asked.\n\n"
        "## Dry runs\n\nA dry run prints what each hook would do and runs none of them.\n"
    )
    passages = markdown_passages(text, 200)
    headings = [p.heading for p in passages]
    # The document's opening says what it is about: it stays its own passage.
    assert headings[:3] == ["Hooks", "Hooks › Environments › Inherited", "Hooks › Environments › Fields"]
    assert passages[1].text.startswith("Each hook has these environment variables")  # not a passage of its own
    # A one-sentence section with no subsections answers a question alone (an FAQ entry): it stays.
    assert headings[3:] == ["Hooks › Outputs", "Hooks › Dry runs"]


def test_a_small_last_section_joins_the_one_before():
    text = "# Notes\n\n## Long\n\n" + paragraph("Plenty", 60) + "\n\n## See also\n\nThe index.\n"
    passages = markdown_passages(text, 200)
    assert [p.heading for p in passages] == ["Notes"]
    assert passages[0].text.endswith("The index.")


def test_a_file_without_a_heading_gives_passages_its_readable_name():
    [passage] = markdown_passages("Just a few words about setup.\n", 100, name="getting_started.md")
    assert passage.heading == "Getting started"
    assert passage.searchable_text == "Getting started\nJust a few words about setup."


def test_plain_text_bullets_stay_with_their_lead_in():
    # (A short line ending in a colon alone would be a plain-text heading: this lead-in is a sentence.)
    lead_in = "Before you start, make sure that everything below is within reach of the stove, because timing matters:"
    bullets = lead_in + "\n\n- a kettle\n- fresh leaves\n- water just off the boil"
    text = "Brewing\n\n" + paragraph("Tea", 30) + "\n\n" + bullets + "\n\n" + paragraph("Steep", 30) + "\n"
    passages = split_documents(parse_file(text, "tea.txt", ".txt"), count_words, 40)
    assert len(passages) >= 2
    assert any(bullets in p.text for p in passages)


def test_an_unbroken_two_megabyte_line_is_cut_by_characters():
    text = "x" * 2_000_000
    passages = split_documents(parse_file(text, "blob.txt", ".txt"), count_words, 256)
    limit = 256 * MAX_CHARS_PER_TOKEN
    assert all(0 < len(p.text) <= limit for p in passages)
    assert sum(len(p.text) for p in passages) == len(text)


@pytest.mark.parametrize("corpus", SUITE_CORPORA, ids=lambda p: p.parent.name if p.name == "docs" else p.name)
@pytest.mark.parametrize("max_tokens", [60, 250])
def test_no_passage_of_the_suite_corpora_has_an_unbalanced_fence(corpus, max_tokens):
    passages = split_documents(load_corpus(corpus).documents, count_words, max_tokens)
    assert passages
    assert [p.passage_id for p in passages if unbalanced_fence(p.text)] == []
    assert all(count_words([p.searchable_text])[0] <= max_tokens for p in passages)


def test_a_tiny_lead_joins_a_long_first_section_which_keeps_its_heading():
    text = "(label)=\n\n# Title\n\n## Big\n\n" + "\n\n".join(paragraph(f"P{i}", 30) for i in range(6)) + "\n"
    passages = markdown_passages(text, 80)
    assert len(passages) > 1
    assert passages[0].text.startswith("(label)=")
    assert {p.heading for p in passages} == {"Title › Big"}


def test_a_small_corpus_keeps_a_section_past_the_window_whole_and_a_large_one_windows_it():
    intro = "Here is how the state is shared between the lifespan and the requests of the app:"
    code = "\n".join(f"    value_{i} = compute(value_{i - 1})" for i in range(1, 30))
    text = f"{intro}\n\n```python\n{code}\n```\n\nThe state each request receives is a shallow copy.\n"
    document = Document("doc", "doc.md", text, [Section("Lifespan › State", 0, len(text))])
    limit = 100  # words here; the section holds more than that and less than twice that
    assert limit < count_words([text])[0] < 2 * limit

    small, windows = split_corpus([document], count_words, limit, budget_for=lambda count: 2 * limit)
    assert len(windows) > 1 and all(count_words([w.searchable_text])[0] <= limit for w in windows)
    assert [p.text for p in small] == [text]  # the introduction, the code and the sentence after it: one hit
    large, windows = split_corpus([document], count_words, limit, budget_for=lambda count: limit)
    assert windows is large and len(large) > 1 and all(count_words([p.searchable_text])[0] <= limit for p in large)
    assert not any("shallow" in p.text and intro in p.text for p in large)


def test_the_budget_stretches_only_where_every_sentence_is_embedded_and_scored():
    assert passage_budget(256, 300) == int(256 * LONG_PASSAGE_WINDOWS) > 256
    assert passage_budget(256, LARGE_CORPUS_PASSAGES) == 256  # no sentence vectors: the passage vector is all
    assert passage_budget(256, 300, alphas=(0.7, 0.5)) == 256  # a model with its own weights (e5)
