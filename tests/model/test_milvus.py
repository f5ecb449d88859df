"""The Milvus store end to end with the real model, on Milvus Lite (a file in tmp_path) and on a real Milvus
server (one for the session, tests/milvus_server.py): same answers as FAISS, updates, deletions, failures."""

from __future__ import annotations

import hashlib
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


class Target:
    """Where the Milvus store keeps vectors in one run of the tests: Milvus Lite or the session's server."""

    def __init__(self, name: str, server=None) -> None:
        self.name = name
        self.server = server

    def uri(self, folder) -> str:
        """Lite: a file in the test's folder; the server: its URI (collections are named after the folder)."""
        return str(folder / "hk.db") if self.server is None else self.server.uri

    def spec(self, folder, collection: str | None = None) -> str:
        if collection and self.server is not None:
            # One server holds every test's collections: a named one gets the folder's tag too.
            collection = f"{collection}_{hashlib.sha1(str(folder).encode()).hexdigest()[:8]}"
        return f"milvus:{self.uri(folder)}" + (f"#{collection}" if collection else "")


# The server runs build, search, update, delete and going away; store logic that does not depend on where
# Milvus runs is tested on Milvus Lite alone, to keep the suite quick.
LITE_ONLY = pytest.mark.parametrize("target", ["lite"], indirect=True)


@pytest.fixture(scope="module", params=["lite", "server"])
def target(request) -> Target:
    if request.param == "lite":
        return Target("lite")
    return Target("server", request.getfixturevalue("milvus_server"))


def collection_of(index) -> str:
    """The collection an index folder gets without `#name`: its name and a hash of its path."""
    return StoreSpec("milvus", "unused").collection_for(index)


def milvus_rows(spec: str, collection: str | None = None) -> list[str]:
    """The passage ids the collection holds rows for, sorted (one row per passage: duplicates show)."""
    from hkai_qa.stores.milvus import MilvusStore

    uri, _, named = spec.removeprefix("milvus:").partition("#")
    collection = collection or named
    store = MilvusStore(uri, collection)
    rows = store._milvus.query(collection, filter="", output_fields=["passage_id"], limit=1000)
    return sorted(r["passage_id"] for r in rows)


def passage_ids(qa: QA) -> list[str]:
    return sorted(p.passage_id for p in qa.passages)


@pytest.fixture(scope="module")
def milvus_qa(tmp_path_factory, target):
    folder = tmp_path_factory.mktemp(f"milvus-{target.name}")
    return QA(PACKAGED_ARTICLE, index=folder / "index", store=target.spec(folder))


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
    third = milvus_qa.passages[3].passage_id
    fields = ["section", "text", "start_offset"]
    rows = collection._milvus.query(store["collection"], filter=f'passage_id == "{third}"', output_fields=fields)
    assert rows[0]["section"] == "Government Support" == milvus_qa.passages[3].heading
    assert rows[0]["text"] == milvus_qa.passages[3].text
    assert collection.read_manifest()["fingerprint"] == store["fingerprint"]


@LITE_ONLY
def test_cli_builds_and_asks_with_store(target, tmp_path, tiny_corpus, capsys):
    index, spec = tmp_path / "ix", target.spec(tmp_path)
    assert main(["build", str(tiny_corpus), "--index", str(index), "--store", spec]) == 0
    out = capsys.readouterr().out
    assert "5 passages from 2 documents" in out and "Milvus collection hkai_ix_" in out
    for store in (["--store", spec], []):  # an index named alone keeps the store it was built for
        assert main(["ask", "How is black tea made?", "--index", str(index), "--json", *store]) == 0
        assert json.loads(capsys.readouterr().out)["hits"][0]["section"] == "Processing"
    assert milvus_rows(spec, collection_of(tmp_path / "ix")) == passage_ids(QA.load(index))


@LITE_ONLY
def test_stale_index_is_rebuilt_into_the_collection(target, tmp_path, tiny_corpus):
    notices: list[str] = []
    index, spec = tmp_path / "ix", target.spec(tmp_path)
    QA(tiny_corpus, index, notify=notices.append)
    QA(tiny_corpus, index, store=spec, notify=notices.append)
    assert len(notices) == 1 and "built for store faiss, asked for milvus:" in notices[0]
    built = (index / "manifest.json").read_text()
    QA(tiny_corpus, index, store=spec, notify=notices.append)
    assert len(notices) == 1 and (index / "manifest.json").read_text() == built

    (tiny_corpus / "coffee.md").write_text("# Coffee\n\nCoffee beans are roasted seeds.\n")
    qa = QA(tiny_corpus, index, store=spec, notify=notices.append)
    assert "updated: 1 added, 0 updated, 5 unchanged, 0 removed passages" in notices[1]
    assert "files: 1 added (coffee.md)" in notices[1]
    assert qa.ask("How are coffee beans made?").hits[0].section == "Coffee"
    assert milvus_rows(spec, collection_of(tmp_path / "ix")) == passage_ids(qa)


@LITE_ONLY
def test_an_interrupted_build_resumes_without_duplicates(target, tmp_path, tiny_corpus, monkeypatch):
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
    index, spec = tmp_path / "ix", target.spec(tmp_path)
    interrupt = True
    with pytest.raises(KeyboardInterrupt):
        QA(tiny_corpus, index, store=spec)
    assert not index.exists(), "an interrupted build leaves no index folder"
    assert len(milvus_rows(spec, collection_of(tmp_path / "ix"))) == 2

    interrupt, notices = False, []
    qa = QA(tiny_corpus, index, store=spec, notify=notices.append)
    assert notices == [f"{spec}#{collection_of(tmp_path / 'ix')} already holds 2 of 5 vectors; adding the rest."]
    assert added == [[0, 1], [2, 3], [4]]
    assert milvus_rows(spec, collection_of(tmp_path / "ix")) == passage_ids(qa)
    assert qa.ask("Which volcano buried Pompeii?").hits[0].section == "Volcanoes › Famous volcanoes"


@LITE_ONLY
def test_a_second_app_server_shares_the_collection_without_encoding_again(target, tmp_path, tiny_corpus, monkeypatch):
    from hkai_qa.stores.milvus import MilvusStore

    spec = target.spec(tmp_path, "shared")
    first = QA(tiny_corpus, tmp_path / "server-a", store=spec)
    monkeypatch.setattr(MilvusStore, "add", lambda *args: pytest.fail("the collection was already complete"))
    second = QA(tiny_corpus, tmp_path / "server-b", store=spec)
    assert second.ask("tea soil") == first.ask("tea soil")
    assert milvus_rows(spec) == passage_ids(first)


@LITE_ONLY
def test_a_dropped_collection_is_rebuilt_with_a_notice(target, tmp_path, tiny_corpus):
    from hkai_qa.stores.milvus import MilvusStore

    index, spec = tmp_path / "ix", target.spec(tmp_path)
    QA(tiny_corpus, index, store=spec)
    MilvusStore(target.uri(tmp_path), collection_of(tmp_path / "ix")).drop()
    notices: list[str] = []
    qa = QA(tiny_corpus, index, store=spec, notify=notices.append)
    assert "collection hkai_ix_" in notices[0] and "does not exist" in notices[0]
    assert qa.ask("tea soil").hits[0].section == "Growing tea"


@LITE_ONLY
def test_a_collection_holding_another_index_is_refused_not_dropped(target, tmp_path, tiny_corpus, capsys):
    """Issue 17 item 4: a second index built into the same collection dropped the first's vectors."""
    from hkai_qa.embedding import resolve_model

    other_model = tmp_path / "mini-copy"
    other_model.symlink_to(resolve_model(None).location)  # another name, so another model to hkai-qa
    spec = target.spec(tmp_path, "shared")
    ours = QA(tiny_corpus, tmp_path / "ours", store=spec)
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
    assert milvus_rows(spec) == passage_ids(ours)


@LITE_ONLY
def test_a_collection_of_another_dimension_is_a_clear_error(target, tmp_path, tiny_corpus):
    from hkai_qa.stores.milvus import MilvusStore

    spec = target.spec(tmp_path, "shared")
    passages = QA(tiny_corpus, tmp_path / "ours", store=spec).passages
    other = MilvusStore(target.uri(tmp_path), spec.partition("#")[2])
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


def test_a_deleted_file_stops_answering(target, tmp_path, tiny_corpus):
    index, spec = tmp_path / "ix", target.spec(tmp_path)
    qa = QA(tiny_corpus, index, store=spec)
    assert qa.ask("Which volcano buried Pompeii?", k=5).hits[0].section == "Volcanoes › Famous volcanoes"
    (tiny_corpus / "volcanoes.md").unlink()
    notices: list[str] = []
    qa = QA(tiny_corpus, index, store=spec, notify=notices.append)
    assert "removed (volcanoes.md)" in notices[0]
    hits = qa.ask("Which volcano buried Pompeii?", k=5).hits
    assert {h.source for h in hits} == {"tea.txt"}
    assert milvus_rows(spec, collection_of(index)) == passage_ids(qa) == ["tea.txt#0", "tea.txt#1"]


def test_an_update_embeds_only_changed_passages_and_answers_as_faiss_does(target, tmp_path, tiny_corpus):
    """Issue 13 part 1 for Milvus: upsert new and changed passages, delete removed ones, keep the rest (a renamed
    file's passages keep their stored vectors); the report and the answers are FAISS's."""
    from tests.model.test_incremental import QUESTIONS, edit_add_delete_rename

    faiss_qa = QA(tiny_corpus, tmp_path / "faiss")
    milvus_qa = QA(tiny_corpus, tmp_path / "ix", store=target.spec(tmp_path))
    encoded: list[str] = []
    encode = milvus_qa.embedder.encode

    def encode_and_count(texts, **options):
        encoded.extend(texts)
        return encode(texts, **options)

    milvus_qa.embedder.encode = encode_and_count
    for change in (edit_add_delete_rename, lambda corpus: (corpus / "roads.txt").unlink()):
        change(tiny_corpus)
        encoded.clear()
        want, got = faiss_qa.refresh(), milvus_qa.refresh()
        assert got.kind == want.kind == "incremental"
        assert {k: v for k, v in got.to_dict().items() if k != "seconds"} == {
            k: v for k, v in want.to_dict().items() if k != "seconds"
        }
        new_texts = {p.searchable_text for p in milvus_qa.passages}
        assert len([t for t in encoded if t in new_texts]) == got.added + got.updated < len(milvus_qa.passages)
        for question in QUESTIONS:
            expected, answer = faiss_qa.ask(question, k=5), milvus_qa.ask(question, k=5)
            assert [h.passage_id for h in answer.hits] == [h.passage_id for h in expected.hits], question
            assert [h.score for h in answer.hits] == pytest.approx([h.score for h in expected.hits], abs=1e-5)
        assert milvus_rows(target.spec(tmp_path), collection_of(tmp_path / "ix")) == passage_ids(milvus_qa)
    assert got.removed >= 1 and got.files.removed == ["roads.txt"]


@LITE_ONLY
def test_an_interrupted_update_leaves_the_old_index_answering_and_the_next_completes(
    target, tmp_path, tiny_corpus, monkeypatch
):
    from hkai_qa.stores.milvus import MilvusStore

    index, spec = tmp_path / "ix", target.spec(tmp_path)
    before = QA(tiny_corpus, index, store=spec)
    answer = before.ask("How is black tea made?")
    with (tiny_corpus / "tea.txt").open("a", encoding="utf-8") as handle:
        handle.write("\nStorage:\n\nKeep black tea dry, away from light and strong smells.\n")
    (tiny_corpus / "coffee.md").write_text("# Coffee\n\nCoffee beans are roasted seeds.\n")
    add = MilvusStore.add

    def add_one_then_stop(self, ids, vectors, passages):
        add(self, ids[:1], vectors[:1], passages[:1])
        raise KeyboardInterrupt

    monkeypatch.setattr(MilvusStore, "add", add_one_then_stop)
    with pytest.raises(KeyboardInterrupt):
        QA(tiny_corpus, index, store=spec)
    assert before.ask("How is black tea made?") == answer  # the open index, and a new one on the old folder
    assert QA.load(index).ask("How is black tea made?") == answer
    assert len(milvus_rows(spec, collection_of(index))) == len(before.passages) + 1

    monkeypatch.setattr(MilvusStore, "add", add)
    qa = QA(tiny_corpus, index, store=spec)
    assert qa.last_update.kind == "incremental"
    assert qa.ask("How should black tea be stored?").hits[0].section == "Storage"
    assert milvus_rows(spec, collection_of(index)) == passage_ids(qa)


def test_a_server_that_goes_away_is_a_clear_error_and_loses_nothing(milvus_server, tmp_path, tiny_corpus, capsys):
    """Killed mid-session: every call says which server is gone and what to do; the index folder stays as it was;
    started again on the same data, the same index answers as before."""
    index, spec = tmp_path / "ix", f"milvus:{milvus_server.uri}"
    qa = QA(tiny_corpus, index, store=spec)
    before = qa.ask("How is black tea made?")
    files = {p.relative_to(index): p.read_bytes() for p in index.rglob("*") if p.is_file()}
    milvus_server.kill()
    try:
        with pytest.raises(IndexStoreError, match=f"cannot reach Milvus at {milvus_server.uri}.*--store faiss"):
            qa.ask("How is black tea made?")
        assert main(["ask", "How is black tea made?", "--index", str(index)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"Error: cannot reach Milvus at {milvus_server.uri}") and err.count("\n") == 1
        (tiny_corpus / "coffee.md").write_text("# Coffee\n\nCoffee beans are roasted seeds.\n")
        with pytest.raises(IndexStoreError, match="cannot reach Milvus"):
            QA(tiny_corpus, index, store=spec)  # an update with the server gone
        assert {p.relative_to(index): p.read_bytes() for p in index.rglob("*") if p.is_file()} == files
    finally:
        milvus_server.start()
    assert QA.load(index).ask("How is black tea made?") == before
