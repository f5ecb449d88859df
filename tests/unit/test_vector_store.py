"""Vector stores without a model: FAISS and Milvus Lite against brute force, resuming, and their errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hkai_qa import IndexStoreError
from hkai_qa.lexical import bm25_tokenize, build_bm25
from hkai_qa.passages import Passage
from hkai_qa.ranking import rank_passages
from hkai_qa.stores import FaissStore, StoreSpec, parse_store
from hkai_qa.stores.faiss import build_faiss_index
from tests.unit.test_retrieval import TEXTS, unit_vectors

pytest.importorskip("milvus_lite", reason="the Milvus store needs the extra: pip install -e '.[milvus]'")


def passages_for(n: int) -> list[Passage]:
    return [Passage(f"d#{i}", "d", "d.txt", f"H{i}", f"text {i} é", i, i + 1) for i in range(n)]


def record_for(n: int, dimension: int, fingerprint: str = "f1") -> dict:
    return {"model": "test", "dimension": dimension, "passage_count": n, "fingerprint": fingerprint}


def milvus(tmp_path, vectors: np.ndarray, collection: str = "c"):
    from hkai_qa.stores.milvus import MilvusStore

    store = MilvusStore(str(tmp_path / "hk.db"), collection)
    assert store.prepare(record_for(len(vectors), vectors.shape[1])) == 0
    ids = list(range(len(vectors)))
    store.add(ids, vectors, passages_for(len(vectors)))
    store.finish()
    return store


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, StoreSpec("faiss")),
        ("faiss", StoreSpec("faiss")),
        ("milvus:http://milvus.example:19530", StoreSpec("milvus", "http://milvus.example:19530")),
        ("milvus:https://h:443#docs_v2", StoreSpec("milvus", "https://h:443", "docs_v2")),
    ],
)
def test_store_specs(spec, expected):
    assert parse_store(spec) == expected


def test_lite_spec_is_an_absolute_path_and_names_its_collection_after_the_index(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = parse_store("milvus:./data/hk.db")
    assert spec.uri == str(tmp_path / "data" / "hk.db") and spec.is_lite
    assert spec.collection_for(tmp_path / "my-index.v2").startswith("hkai_my_index_v2_")


def test_two_index_folders_named_alike_get_their_own_collections(tmp_path):
    """Issue 17 item 4: pa/index and pb/index once shared `hkai_index`."""
    spec = parse_store(f"milvus:{tmp_path / 'shared.db'}")
    first, second = spec.collection_for(tmp_path / "pa" / "index"), spec.collection_for(tmp_path / "pb" / "index")
    assert first != second and first.startswith("hkai_index_") and second.startswith("hkai_index_")
    assert spec.collection_for(tmp_path / "pa" / "index") == first, "the same folder keeps its collection"
    assert parse_store(f"milvus:{tmp_path / 'shared.db'}#mine").collection_for(tmp_path / "pa" / "index") == "mine"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("milvis:./hk.db", 'unknown store .* Did you mean "milvus"'),
        ("pinecone", "unknown store 'pinecone'; use faiss, milvus:./hk.db"),
        ("milvus:", "names no Milvus"),
        ("milvus:./hk.sqlite", "file ending in .db"),
        ("milvus:./hk.db#9bad-name", "not a valid Milvus collection name"),
        ("milvus:http://user:secret@h:19530", "holds credentials; put the token in the MILVUS_TOKEN"),
    ],
)
def test_bad_store_specs_say_how_to_fix_them(spec, message):
    with pytest.raises(IndexStoreError, match=message) as error:
        parse_store(spec)
    assert "secret" not in str(error.value)


def test_milvus_search_and_vectors_match_faiss_and_brute_force(tmp_path):
    vectors, queries = unit_vectors(300, 16), unit_vectors(4, 16, seed=1)
    store = milvus(tmp_path, vectors)
    scores, ids = store.search(queries, 10)
    expected = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    assert (ids == expected).all()
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ vectors.T, expected, 1), rtol=1e-5)
    np.testing.assert_array_equal(store.vectors([7, 3, 7]), vectors[[7, 3, 7]])
    assert store.count() == 300
    _, deep = store.search(queries[:1], 1000)
    assert deep.shape == (1, 300)


def test_milvus_keeps_the_passage_beside_its_vector(tmp_path):
    store = milvus(tmp_path, unit_vectors(3, 8))
    fields = ["passage_id", "section", "text", "start_offset"]
    [row] = store._milvus.query("c", filter='passage_id == "d#2"', output_fields=fields)
    assert (row["passage_id"], row["section"], row["text"], row["start_offset"]) == ("d#2", "H2", "text 2 é", 2)
    assert store.read_manifest()["fingerprint"] == "f1"


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_rank_passages_is_the_same_over_either_store(tmp_path, mode):
    vectors = unit_vectors(len(TEXTS), 16)
    query = vectors[2] * 0.6 + vectors[3] * 0.4
    query /= np.linalg.norm(query)
    retriever, tokens = build_bm25(TEXTS), bm25_tokenize(["tea soil"])[0]
    faiss_store = FaissStore(build_faiss_index(vectors), vectors)
    # depth 2: BM25-only candidates need their vectors fetched from the store
    expected = rank_passages(mode, query, tokens, faiss_store, retriever, depth=2, alpha=0.5)
    got = rank_passages(mode, query, tokens, milvus(tmp_path, vectors), retriever, depth=2, alpha=0.5)
    assert [r.passage for r in got] == [r.passage for r in expected]
    assert [r.score for r in got] == pytest.approx([r.score for r in expected], abs=1e-6)


def stored_ids(store) -> list[str]:
    rows = store._milvus.query(store.collection, filter="", output_fields=["passage_id"], limit=100)
    return sorted(r["passage_id"] for r in rows)


def test_an_interrupted_build_resumes_without_duplicates(tmp_path):
    from hkai_qa.stores.milvus import MilvusStore

    vectors = unit_vectors(10, 8)
    first = MilvusStore(str(tmp_path / "hk.db"), "c")
    first.prepare(record_for(10, 8))
    first.add([0, 1, 2, 3], vectors[:4], passages_for(4))
    first.add([6], vectors[6:7], passages_for(7)[6:])

    again = MilvusStore(str(tmp_path / "hk.db"), "c")
    again.use_passages(passages_for(10))
    assert again.prepare(record_for(10, 8)) == 5
    assert again.missing(0, 5) == [4] and again.missing(5, 10) == [5, 7, 8, 9]
    for start in (0, 5):
        ids = again.missing(start, start + 5)
        again.add(ids, vectors[ids], [passages_for(10)[i] for i in ids])
    again.finish()
    assert again.count() == 10
    assert stored_ids(again) == sorted(p.passage_id for p in passages_for(10))


def test_an_update_keeps_rows_adds_the_new_and_prunes_the_old_after(tmp_path):
    """Rows are keyed by passage: an update of the same index adds only what it lacks; until `prune`, rows of
    passages it no longer has stay (the old index folder still answers from them) and its searches skip them."""
    from hkai_qa.stores.milvus import MilvusStore

    vectors = unit_vectors(12, 8)
    old = MilvusStore(str(tmp_path / "hk.db"), "c")
    old.prepare(record_for(10, 8))
    old.add(list(range(10)), vectors[:10], passages_for(10))
    old.finish()

    new = MilvusStore(str(tmp_path / "hk.db"), "c")
    passages = passages_for(12)[1:]  # d#0 removed, d#10 and d#11 added
    new.use_passages(passages)
    assert new.prepare(record_for(11, 8, fingerprint="f2")) == 9
    missing = new.missing(0, 11)
    assert missing == [9, 10]
    new.add(missing, vectors[[10, 11]], [passages[i] for i in missing])
    new.finish()
    assert new.read_manifest()["fingerprint"] == "f2" and new.count() == 12
    _, ids = new.search(vectors[:1], 11)
    assert sorted(ids[0]) == list(range(11)), "the row of d#0 is not one of this index's"
    np.testing.assert_array_equal(old.search(vectors[:1], 1)[1], [[0]])  # the old index still finds d#0
    assert new.prune() == 1 and new.count() == 11
    assert stored_ids(new) == sorted(p.passage_id for p in passages)


def test_a_collection_hkai_qa_did_not_make_is_left_alone(tmp_path):
    from pymilvus import MilvusClient

    from hkai_qa.stores.milvus import MilvusStore

    MilvusClient(str(tmp_path / "hk.db")).create_collection("theirs", dimension=8)
    store = MilvusStore(str(tmp_path / "hk.db"), "theirs")
    with pytest.raises(IndexStoreError, match="theirs .* was not made by hkai-qa; not touching it.*#another_name"):
        store.prepare(record_for(3, 8))
    assert MilvusClient(str(tmp_path / "hk.db")).has_collection("theirs")


def test_a_collection_holding_another_index_is_never_dropped(tmp_path):
    """Issue 17 item 4: building the second index into a shared collection silently dropped the first's vectors."""
    from hkai_qa.stores.milvus import MilvusStore

    vectors = unit_vectors(4, 8)
    first = MilvusStore(str(tmp_path / "hk.db"), "shared")
    first.prepare({**record_for(4, 8), "index_path": "/data/pa/index"})
    first.add(list(range(4)), vectors, passages_for(4))
    first.finish()
    second = MilvusStore(str(tmp_path / "hk.db"), "shared")
    with pytest.raises(IndexStoreError, match="holds the vectors of another index, /data/pa/index.*#another_name"):
        second.prepare({**record_for(4, 8, fingerprint="f2"), "index_path": "/data/pb/index"})
    assert MilvusStore(str(tmp_path / "hk.db"), "shared").count() == 4, "the first index's vectors are still there"


def test_unreachable_milvus_is_one_clear_error():
    from hkai_qa.stores.milvus import MilvusStore

    message = "cannot reach Milvus at http://127.0.0.1:9 .*docs/milvus.md has the docker.*milvus:./hk.db.*--store faiss"
    with pytest.raises(IndexStoreError, match=message):
        MilvusStore("http://127.0.0.1:9", "c")


def test_without_pymilvus_the_error_says_what_to_install():
    code = (
        "import sys; sys.modules['pymilvus'] = None\n"
        "from hkai_qa.stores.milvus import MilvusStore\n"
        "try: MilvusStore('x.db', 'c')\n"
        "except Exception as e: print(type(e).__name__, e)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("IndexStoreError") and "pip install 'hkai-qa[milvus]'" in out


def test_import_loads_no_milvus():
    code = "import sys, hkai_qa; print('pymilvus' in sys.modules, 'milvus_lite' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"
