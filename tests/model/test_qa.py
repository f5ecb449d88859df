"""The engine end to end with the real model and real FAISS."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from hkai_qa import QA, IndexStoreError, ModelError, QuestionError
from tests.conftest import BUNDLED_CORPUS, GOVERNMENT_QUESTION, HEADINGS, SECTION_QUESTIONS

pytestmark = pytest.mark.slow


def test_bundled_article_gives_its_seven_passages(bundled_qa):
    assert [p.heading for p in bundled_qa.passages] == HEADINGS
    assert bundled_qa.manifest["passage_count"] == 7
    assert bundled_qa.manifest["model"]["weights_sha256"].startswith("53aa5117")


@pytest.mark.parametrize(("question", "section"), SECTION_QUESTIONS)
def test_article_questions_reach_the_right_section(bundled_qa, question, section):
    answer = bundled_qa.ask(question)
    assert answer.hits[0].section == section
    assert answer.answerable


@pytest.mark.parametrize("mode", ["hybrid", "bm25"])
def test_every_mode_finds_the_government_section(bundled_qa, mode):
    qa = QA.load(bundled_qa.index_dir, mode=mode)
    assert qa.ask("How does the government support AI?").hits[0].section == "Government Support"


def test_out_of_scope_question_is_not_answerable_but_keeps_its_hits(bundled_qa):
    answer = bundled_qa.ask("What is the capital of France?")
    assert not answer.answerable
    assert len(answer.hits) == 3


def test_hits_are_sorted_deterministic_and_traceable(bundled_qa):
    first = bundled_qa.ask("Which sectors use AI?", k=5)
    second = bundled_qa.ask("Which sectors use AI?", k=5)
    assert first == second
    scores = [h.score for h in first.hits]
    assert scores == sorted(scores, reverse=True)
    text = (BUNDLED_CORPUS / "hong_kong_ai_ecosystem.txt").read_text(encoding="utf-8")
    for hit in first.hits:
        assert text[hit.start : hit.end] == hit.text
        assert hit.source == "hong_kong_ai_ecosystem.txt"
        for start, end in hit.evidence:
            assert hit.text[start:end].strip()


def test_evidence_holds_the_question_key_words(bundled_qa):
    hit = bundled_qa.ask("Which universities are key players in AI research?").hits[0]
    [sentence] = hit.evidence_text
    assert "HKUST" in sentence and "key players" in sentence


def test_k_is_clamped_to_the_passage_count(bundled_qa):
    assert len(bundled_qa.ask("AI", k=50).hits) == 7


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   \n", "empty"), (42, "must be text"), ("x" * 2001, "limit is 2,000")],
)
def test_bad_questions_raise_value_error(bundled_qa, question, message):
    with pytest.raises(ValueError, match=message):
        bundled_qa.ask(question)


def test_bad_k_and_mode(bundled_qa):
    with pytest.raises(QuestionError, match="k must be"):
        bundled_qa.ask("AI", k=0)
    with pytest.raises(QuestionError, match='Did you mean "hybrid"'):
        QA(mode="hybird")


def test_ask_many_matches_ask(bundled_qa):
    questions = [q for q, _ in SECTION_QUESTIONS]
    batch, single = bundled_qa.ask_many(questions), [bundled_qa.ask(q) for q in questions]
    for a, b in zip(batch, single, strict=True):
        assert [h.passage_id for h in a.hits] == [h.passage_id for h in b.hits]
        assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], abs=1e-5)


def test_chinese_question_gets_a_note(bundled_qa):
    answer = bundled_qa.ask("香港的人工智能")
    assert any("English only" in note for note in answer.notes)


def test_index_is_reused_then_rebuilt_when_the_corpus_changes(tmp_path, tiny_corpus):
    notices: list[str] = []
    index = tmp_path / "ix"
    QA(tiny_corpus, index, notify=notices.append)
    built_at = (index / "manifest.json").read_text()
    qa = QA(tiny_corpus, index, notify=notices.append)
    assert (index / "manifest.json").read_text() == built_at
    assert notices == []
    assert qa.ask("Which volcano buried Pompeii?").hits[0].section == "Volcanoes › Famous volcanoes"

    (tiny_corpus / "coffee.md").write_text("# Coffee\n\nCoffee beans are roasted seeds.\n")
    qa = QA(tiny_corpus, index, notify=notices.append)
    assert len(notices) == 1 and "updated: 1 added, 0 updated, 5 unchanged, 0 removed" in notices[0]
    assert qa.ask("How are coffee beans made?").hits[0].section == "Coffee"


def test_truncated_index_is_rebuilt_with_a_notice(tmp_path, tiny_corpus):
    index = tmp_path / "ix"
    QA(tiny_corpus, index)
    faiss_file = index / "faiss.index"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    notices: list[str] = []
    qa = QA(tiny_corpus, index, notify=notices.append)
    assert "truncated or damaged" in notices[0] and "Rebuilding" in notices[0]
    assert qa.ask("tea soil").hits[0].section == "Growing tea"


def test_saved_index_loads_with_the_same_hits(bundled_qa):
    loaded = QA.load(bundled_qa.index_dir)
    for question, _ in SECTION_QUESTIONS:
        assert loaded.ask(question) == bundled_qa.ask(question)


def test_damaged_index_named_alone_stops_with_the_fix(tmp_path, tiny_corpus):
    index = tmp_path / "ix"
    QA(tiny_corpus, index)
    (index / "manifest.json").write_text("{")
    with pytest.raises(IndexStoreError, match="manifest.json is damaged.*hkai-qa build"):
        QA(index=index)


def test_unknown_model_is_a_clear_error(tmp_path, tiny_corpus):
    with pytest.raises(ModelError, match="cannot load model 'all-MiniLM-L6': it is not a local folder.*Did you mean"):
        QA(tiny_corpus, tmp_path / "ix", model="all-MiniLM-L6")


def test_import_loads_nothing_heavy():
    heavy = "('torch', 'faiss', 'gradio', 'sentence_transformers')"
    code = f"import sys, hkai_qa; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_corpus_copied_elsewhere_builds_its_own_index(tmp_path):
    copy = tmp_path / "article"
    shutil.copytree(BUNDLED_CORPUS, copy)
    qa = QA(copy)
    assert qa.index_dir.name.startswith("article-")
    assert len(qa.passages) == 7


def test_hybrid_weighs_bm25_more_on_a_large_corpus(bundled_qa, monkeypatch):
    """alpha 0.8 on the 7-passage article; 0.5·cosine + 0.5·coverage from LARGE_CORPUS_PASSAGES up."""
    from hkai_qa import _defaults
    from hkai_qa.lexical import bm25_ceiling, bm25_tokenize

    assert bundled_qa.hybrid_alpha == 0.8
    # Coverage from the hit's BM25 score (the small corpus's score also holds its closest sentence).
    ceiling = bm25_ceiling(bundled_qa._store.bm25, bm25_tokenize([GOVERNMENT_QUESTION])[0])
    monkeypatch.setattr(_defaults, "LARGE_CORPUS_PASSAGES", len(bundled_qa.passages))
    assert bundled_qa.hybrid_alpha == 0.5
    large = bundled_qa.ask(GOVERNMENT_QUESTION, k=7).hits
    for hit in large:
        coverage = hit.bm25_score / ceiling
        assert hit.score == pytest.approx(0.5 * hit.dense_score + 0.5 * coverage, abs=1e-4)
    assert any(coverage > 0 for coverage in [(h.score - 0.5 * h.dense_score) / 0.5 for h in large])


def test_a_store_or_model_used_once_never_changes_the_plain_commands_index(tmp_path, tiny_corpus):
    """Issue 17 item 5: after one `--store milvus:…` (or `--model X`), plain commands rebuilt or failed."""
    from hkai_qa.embedding import resolve_model

    pytest.importorskip("milvus_lite", reason="the Milvus store needs the extra: pip install -e '.[milvus]'")
    notices: list[str] = []
    plain = QA(tiny_corpus, notify=notices.append)
    built = (plain.index_dir / "manifest.json").read_text()
    milvus = QA(tiny_corpus, store=f"milvus:{tmp_path / 'hk.db'}", notify=notices.append)
    other_model = tmp_path / "mini-copy"
    other_model.symlink_to(resolve_model(None).location)  # another name, so another model to hkai-qa
    copy = QA(tiny_corpus, model=str(other_model), notify=notices.append)
    assert len({plain.index_dir, milvus.index_dir, copy.index_dir}) == 3
    again = QA(tiny_corpus, notify=notices.append)
    assert again.index_dir == plain.index_dir and again.store_spec.kind == "faiss"
    assert again.embedder.name == "all-MiniLM-L6-v2"
    assert (plain.index_dir / "manifest.json").read_text() == built and notices == []

    # A named index keeps the store and the model it was built with.
    named = tmp_path / "named"
    QA(tiny_corpus, named, model=str(other_model))
    reopened = QA(tiny_corpus, named, notify=notices.append)
    assert reopened.embedder.name == str(other_model) and notices == []
