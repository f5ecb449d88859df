"""Passages: one per section, long sections cut into overlapping windows at sentence ends."""

from __future__ import annotations

from hkai_qa.corpus import Document, Section, load_corpus
from hkai_qa.passages import split_documents
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
