"""Index files: round trip, atomic replacement, and damage reported without a crash."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hkai_qa import IndexStoreError
from hkai_qa.index_store import read_index, read_manifest, write_index
from hkai_qa.lexical import build_bm25
from hkai_qa.passages import Passage
from hkai_qa.stores.faiss import build_faiss_index

TEXTS = ["Tea grows on hills.", "Lava flows from volcanoes.", "Grants fund startups."]


def make_index(folder, texts=TEXTS, seed=0):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(len(texts), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    passages = [Passage(f"d#{i}", "d", "d.txt", f"H{i}", t, 0, len(t)) for i, t in enumerate(texts)]
    manifest = {"passage_count": len(texts), "model": {"name": "test"}, "corpus_path": "docs"}
    write_index(folder, manifest, passages, vectors, build_faiss_index(vectors), build_bm25(texts))
    return passages, vectors


def test_round_trip(tmp_path):
    passages, vectors = make_index(tmp_path / "ix")
    stored = read_index(tmp_path / "ix")
    assert stored.passages == passages
    np.testing.assert_array_equal(stored.vectors, vectors)
    assert stored.faiss_index.ntotal == 3
    assert stored.manifest["format_version"] == 1
    assert set(stored.manifest["file_sizes"]) >= {"passages.jsonl", "vectors.npy", "faiss.index"}
    assert not list(tmp_path.glob(".ix.*-*")), "no staging folders left behind"


def test_failed_write_keeps_the_previous_index(tmp_path):
    make_index(tmp_path / "ix")
    with pytest.raises(AttributeError):
        write_index(tmp_path / "ix", {"passage_count": 1}, ["not a passage"], np.zeros((1, 8)), None, None)
    assert read_index(tmp_path / "ix").manifest["passage_count"] == 3
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == ["ix"]


def test_refuses_to_overwrite_a_folder_that_is_not_an_index(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("precious")
    with pytest.raises(
        IndexStoreError, match=r"mine is not an hkai-qa index \(it holds thesis.txt\); not replacing it"
    ):
        make_index(tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "precious"


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda ix: (ix / "manifest.json").unlink(), "has no manifest.json"),
        (lambda ix: (ix / "manifest.json").write_text("{not json"), "manifest.json is damaged"),
        (lambda ix: (ix / "manifest.json").write_text('{"format_version": 99}'), "format version 99"),
        (lambda ix: (ix / "faiss.index").write_bytes((ix / "faiss.index").read_bytes()[:40]), "truncated or damaged"),
        (lambda ix: (ix / "vectors.npy").unlink(), "is missing vectors.npy"),
        (lambda ix: (ix / "faiss.index").write_bytes(b"x" * (ix / "faiss.index").stat().st_size), "is damaged"),
        (lambda ix: (ix / "passages.jsonl").write_text("x" * (ix / "passages.jsonl").stat().st_size), "is damaged"),
    ],
)
def test_damage_is_reported_with_the_fix(tmp_path, damage, expected):
    make_index(tmp_path / "ix")
    damage(tmp_path / "ix")
    with pytest.raises(IndexStoreError, match=expected) as error:
        read_index(tmp_path / "ix")
    assert "hkai-qa build" in str(error.value)


def test_missing_folder(tmp_path):
    with pytest.raises(IndexStoreError, match="no index at"):
        read_manifest(tmp_path / "nothing")


def test_manifest_is_plain_json(tmp_path):
    make_index(tmp_path / "ix")
    assert json.loads((tmp_path / "ix" / "manifest.json").read_text())["passage_count"] == 3
