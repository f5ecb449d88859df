"""The Milvus store (Milvus Lite in tmp_path) end to end with the real model: same answers as FAISS."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hkai_qa import QA, IndexStoreError
from hkai_qa.cli import main
from hkai_qa.stores import StoreSpec
from tests.conftest import PACKAGED_ARTICLE, REPO, SECTION_QUESTIONS

pytestmark = pytest.mark.slow
pytest.importorskip("milvus_lite", reason="the Milvus store needs the extra: pip install -e '.[milvus]'")

TEAM_QUESTIONS = REPO / "tests" / "data" / "hk_questions.jsonl"
OWN_QUESTIONS = [
    "Why is Hong Kong a hotbed for AI innovation?",
    "Does the city have fast internet and data centres?",
    "What do HKUST and CUHK do?",
    "Which fund gives money to startups?",
    "What does the HKMA promote?",
    "Is AI used for fraud detection?",
    "smart traffic management",
    "Why does the city need a skilled workforce?",
    "What is responsible AI development?",
    "What is the capital of France?",
    "香港的人工智能",
]


def article_questions() -> list[str]:
    """SECTION_QUESTIONS, a few of our own, and the team's question set once it exists."""
    questions = [q for q, _ in SECTION_QUESTIONS] + OWN_QUESTIONS
    if TEAM_QUESTIONS.is_file():
        rows = [json.loads(line) for line in TEAM_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
        questions += [row["question"] for row in rows]
    return list(dict.fromkeys(questions))


def lite(folder, collection: str | None = None) -> str:
    return f"milvus:{folder / 'hk.db'}" + (f"#{collection}" if collection else "")


def collection_of(index) -> str:
    """The collection an index folder gets without `#name`: its name and a hash of its path."""
    return StoreSpec("milvus", "unused").collection_for(index)


def milvus_rows(spec: str, collection: str) -> list[int]:
    from hkai_qa.stores.milvus import MilvusStore

    store = MilvusStore(spec.removeprefix("milvus:").split("#")[0], collection)
    return sorted(r["id"] for r in store._milvus.query(collection, filter="id >= 0", output_fields=["id"], limit=1000))


@pytest.fixture(scope="module")
def milvus_qa(tmp_path_factory):
    folder = tmp_path_factory.mktemp("milvus")
    return QA(PACKAGED_ARTICLE, index=folder / "index", store=lite(folder))


@pytest.mark.parametrize("mode", ["dense", "hybrid", "bm25"])
def test_milvus_ranks_every_article_question_as_faiss_does(bundled_qa, milvus_qa, mode):
    faiss_answers = QA.load(bundled_qa.index_dir, mode=mode).ask_many(article_questions(), k=3)
    milvus_answers = QA.load(milvus_qa.index_dir, mode=mode).ask_many(article_questions(), k=3)
    for expected, got in zip(faiss_answers, milvus_answers, strict=True):
        assert [h.passage_id for h in got.hits] == [h.passage_id for h in expected.hits], got.question
        assert [h.score for h in got.hits] == pytest.approx([h.score for h in expected.hits], abs=1e-5)
        assert got.answerable == expected.answerable


def test_a_milvus_index_opened_as_faiss_says_where_its_vectors_are(milvus_qa):
    with pytest.raises(
        IndexStoreError, match="keeps its vectors in milvus:.*#hkai_index_[0-9a-f]{8}, not in FAISS files"
    ):
        QA.load(milvus_qa.index_dir, store="faiss")


def test_the_index_folder_keeps_bm25_and_passages_and_milvus_keeps_the_vectors(milvus_qa):
    names = {p.name for p in milvus_qa.index_dir.iterdir()}
    # A small corpus's sentence vectors stay local beside BM25, so Milvus ranks as FAISS does.
    assert names == {"manifest.json", "passages.jsonl", "bm25", "sentence_vectors.npy", "sentence_passages.npy"}
    store = milvus_qa.manifest["store"]
    assert store["kind"] == "milvus" and store["collection"] == collection_of(milvus_qa.index_dir)
    from hkai_qa.stores.milvus import MilvusStore

    collection = MilvusStore(store["uri"], store["collection"])
    rows = collection._milvus.query(store["collection"], ids=[3], output_fields=["section", "text", "start_offset"])
    assert rows[0]["section"] == "Government Support" == milvus_qa.passages[3].heading
    assert rows[0]["text"] == milvus_qa.passages[3].text
    assert collection.read_manifest()["fingerprint"] == store["fingerprint"]


def test_cli_builds_and_asks_with_store(tmp_path, tiny_corpus, capsys):
    index, spec = tmp_path / "ix", lite(tmp_path)
    assert main(["build", str(tiny_corpus), "--index", str(index), "--store", spec]) == 0
    out = capsys.readouterr().out
    assert "5 passages from 2 documents" in out and "Milvus collection hkai_ix_" in out
    for store in (["--store", spec], []):  # an index named alone keeps the store it was built for
        assert main(["ask", "How is black tea made?", "--index", str(index), "--json", *store]) == 0
        assert json.loads(capsys.readouterr().out)["hits"][0]["section"] == "Processing"
    assert milvus_rows(spec, collection_of(tmp_path / "ix")) == [0, 1, 2, 3, 4]


def test_stale_index_is_rebuilt_into_the_collection(tmp_path, tiny_corpus):
    notices: list[str] = []
    index, spec = tmp_path / "ix", lite(tmp_path)
    QA(tiny_corpus, index, notify=notices.append)
    QA(tiny_corpus, index, store=spec, notify=notices.append)
    assert len(notices) == 1 and "built for store faiss, asked for milvus:" in notices[0]
    built = (index / "manifest.json").read_text()
    QA(tiny_corpus, index, store=spec, notify=notices.append)
    assert len(notices) == 1 and (index / "manifest.json").read_text() == built

    (tiny_corpus / "coffee.md").write_text("# Coffee\n\nCoffee beans are roasted seeds.\n")
    qa = QA(tiny_corpus, index, store=spec, notify=notices.append)
    assert "files: 1 added (coffee.md); updates of a Milvus store rebuild its collection in full" in notices[1]
    assert qa.ask("How are coffee beans made?").hits[0].section == "Coffee"
    assert milvus_rows(spec, collection_of(tmp_path / "ix")) == list(range(6))


def test_an_interrupted_build_resumes_without_duplicates(tmp_path, tiny_corpus, monkeypatch):
    from hkai_qa.stores.milvus import MilvusStore

    added: list[list[int]] = []
    add = MilvusStore.add

    def add_then_stop_on_the_second_batch(self, ids, vectors, passages):
        if len(added) == 1 and interrupt:
            raise KeyboardInterrupt
        added.append(list(ids))
        add(self, ids, vectors, passages)

    monkeypatch.setattr(MilvusStore, "batch_size", 2)
    monkeypatch.setattr(MilvusStore, "add", add_then_stop_on_the_second_batch)
    index, spec = tmp_path / "ix", lite(tmp_path)
    interrupt = True
    with pytest.raises(KeyboardInterrupt):
        QA(tiny_corpus, index, store=spec)
    assert not index.exists(), "an interrupted build leaves no index folder"
    assert milvus_rows(spec, collection_of(tmp_path / "ix")) == [0, 1]

    interrupt, notices = False, []
    qa = QA(tiny_corpus, index, store=spec, notify=notices.append)
    assert notices == [f"{spec}#{collection_of(tmp_path / 'ix')} already holds 2 of 5 vectors; adding the rest."]
    assert added == [[0, 1], [2, 3], [4]]
    assert milvus_rows(spec, collection_of(tmp_path / "ix")) == [0, 1, 2, 3, 4]
    assert qa.ask("Which volcano buried Pompeii?").hits[0].section == "Volcanoes › Famous volcanoes"


def test_a_second_app_server_shares_the_collection_without_encoding_again(tmp_path, tiny_corpus, monkeypatch):
    from hkai_qa.stores.milvus import MilvusStore

    spec = lite(tmp_path, "shared")
    first = QA(tiny_corpus, tmp_path / "server-a", store=spec)
    monkeypatch.setattr(MilvusStore, "add", lambda *args: pytest.fail("the collection was already complete"))
    second = QA(tiny_corpus, tmp_path / "server-b", store=spec)
    assert second.ask("tea soil") == first.ask("tea soil")
    assert milvus_rows(spec, "shared") == [0, 1, 2, 3, 4]


def test_a_dropped_collection_is_rebuilt_with_a_notice(tmp_path, tiny_corpus):
    from hkai_qa.stores.milvus import MilvusStore

    index, spec = tmp_path / "ix", lite(tmp_path)
    QA(tiny_corpus, index, store=spec)
    MilvusStore(str(tmp_path / "hk.db"), collection_of(tmp_path / "ix")).drop()
    notices: list[str] = []
    qa = QA(tiny_corpus, index, store=spec, notify=notices.append)
    assert "collection hkai_ix_" in notices[0] and "does not exist" in notices[0]
    assert qa.ask("tea soil").hits[0].section == "Growing tea"


def test_a_collection_holding_another_index_is_refused_not_dropped(tmp_path, tiny_corpus, capsys):
    """Issue 17 item 4: a second index built into the same collection dropped the first's vectors."""
    from hkai_qa.embedding import resolve_model

    other_model = tmp_path / "mini-copy"
    other_model.symlink_to(resolve_model(None).location)  # another name, so another model to hkai-qa
    spec = lite(tmp_path, "shared")
    QA(tiny_corpus, tmp_path / "ours", store=spec)
    with pytest.raises(IndexStoreError, match=f"holds the vectors of another index, {tmp_path / 'ours'}.*#another"):
        QA(tiny_corpus, tmp_path / "theirs", store=spec, model=str(other_model))
    assert QA(tiny_corpus, tmp_path / "ours", store=spec).ask("tea soil").hits[0].section == "Growing tea"
    args = [
        "build",
        str(tiny_corpus),
        "--index",
        str(tmp_path / "theirs"),
        "--store",
        spec,
        "--model",
        str(other_model),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("Error: Milvus collection shared") and err.count("Error") == 1
    assert "Traceback" not in err
    assert milvus_rows(spec, "shared") == [0, 1, 2, 3, 4]


def test_a_collection_of_another_dimension_is_a_clear_error(tmp_path, tiny_corpus):
    from hkai_qa.stores.milvus import MilvusStore

    spec = lite(tmp_path, "shared")
    passages = QA(tiny_corpus, tmp_path / "ours", store=spec).passages
    other = MilvusStore(str(tmp_path / "hk.db"), "shared")
    other.prepare({"model": "tiny-8d", "dimension": 8, "passage_count": 5, "fingerprint": "another build"})
    other.add(range(5), np.eye(5, 8, dtype=np.float32), passages)
    other.finish()
    message = r"holds 8-dimensional vectors from model 'tiny-8d', .* 'all-MiniLM-L6-v2' \(384 dimensions\)"
    with pytest.raises(IndexStoreError, match=message):
        QA(tiny_corpus, tmp_path / "ours", store=spec)


def test_unreachable_milvus_exits_2_with_one_line(tmp_path, tiny_corpus, capsys):
    args = ["build", str(tiny_corpus), "--index", str(tmp_path / "ix"), "--store", "milvus:http://127.0.0.1:9"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: cannot reach Milvus at http://127.0.0.1:9") and err.count("\n") == 1
    assert "Traceback" not in err
