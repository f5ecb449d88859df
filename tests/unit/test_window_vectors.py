"""Window vectors of long passages, without the model: which windows, how they score, how they are stored."""

from __future__ import annotations

import numpy as np
import pytest

from hkai_qa.corpus import Document, Section
from hkai_qa.errors import IndexStoreError
from hkai_qa.index_store import WINDOW_SPANS, read_index, write_index
from hkai_qa.lexical import bm25_tokenize, build_bm25
from hkai_qa.passages import Passage, split_corpus
from hkai_qa.ranking import judged_score, rank_passages
from hkai_qa.stores import FaissStore
from hkai_qa.stores.faiss import build_faiss_index
from hkai_qa.window_vectors import WindowVectors, embed_windows, vectors_by_text, window_spans, window_texts


def count_words(texts):
    return [len(t.split()) for t in texts]


def long_section() -> Document:
    paragraphs = [" ".join(f"word{p}_{i}" for i in range(30)) + "." for p in range(6)]
    text = "\n\n".join(paragraphs) + "\n"
    short = "A short section that fits one window easily.\n"
    return Document(
        "doc",
        "doc.md",
        text + short,
        [Section("Doc › Long", 0, len(text)), Section("Doc › Short", len(text), len(text) + len(short))],
    )


def unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_only_a_passage_spanning_several_windows_gets_them_clipped_to_it():
    passages, windows = split_corpus([long_section()], count_words, 100, budget_for=lambda count: 200)
    assert [p.heading for p in passages] == ["Doc › Long", "Doc › Short"] and len(windows) > 2
    rows, spans = window_spans(passages, windows)
    assert set(rows.tolist()) == {0}  # the short section's own vector sees all of it
    long = passages[0]
    assert spans[0, 0] == 0 and not long.text[spans[-1, 1] :].strip()  # together they cover the whole passage
    assert all(0 <= s < e <= len(long.text) for s, e in spans.tolist())
    texts = window_texts(passages, rows, spans)
    assert all(t.startswith("Doc › Long\n") and count_words([t])[0] <= 100 for t in texts)
    assert any("word5_0" in t for t in texts) and not all("word5_0" in t for t in texts)


def test_an_update_reuses_window_vectors_by_text_and_embeds_only_new_ones():
    passages, windows = split_corpus([long_section()], count_words, 100, budget_for=lambda count: 200)
    calls = []

    def encode(texts):
        calls.append(texts)
        return unit(np.ones((len(texts), 4)) + np.arange(len(texts))[:, None])

    first = embed_windows(passages, windows, encode, 4)
    assert len(calls) == 1 and len(first.vectors) == len(first.passages) > 1
    calls.clear()
    second = embed_windows(passages, windows, encode, 4, vectors_by_text(passages, first))
    assert calls == []
    np.testing.assert_array_equal(second.vectors, first.vectors)


def test_a_passage_scores_by_its_best_window_which_brings_it_into_the_candidates():
    texts = ["tea grows on hills", "volcanoes erupt", "black tea is oxidised", "kittens sleep"]
    vectors = unit(np.eye(4, 8) + 0.1)
    store = FaissStore(build_faiss_index(vectors), vectors)
    bm25 = build_bm25(texts)
    question = unit([[0, 0, 0, 0, 0, 0, 1, 0]])[0]  # close to no passage vector at all
    windows = WindowVectors(
        np.array([1, 1], dtype=np.int32),
        np.array([[0, 5], [5, 15]], dtype=np.int32),
        unit([[0, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0.9, 0.1]]),
    )
    tokens = bm25_tokenize(["kittens"])[0]
    plain = rank_passages("hybrid", question, tokens, store, bm25, depth=1, alpha=0.8)
    assert 1 not in [r.passage for r in plain]  # neither top list holds passage 1
    ranked = rank_passages("hybrid", question, tokens, store, bm25, depth=1, alpha=0.8, windows=windows)
    best_window = float(windows.vectors[1] @ question)
    assert ranked[0].passage == 1 and ranked[0].dense_score == pytest.approx(best_window, abs=1e-6)
    assert judged_score(ranked) == pytest.approx(0.8 * best_window, abs=1e-6)  # abstention sees it too
    dense = rank_passages("dense", question, tokens, store, bm25, depth=1, alpha=0.8, windows=windows)
    assert dense[0].passage == 1 and dense[0].score == pytest.approx(best_window, abs=1e-6)
    lexical = rank_passages("bm25", question, tokens, store, bm25, depth=1, alpha=0.8, windows=windows)
    assert [r.passage for r in lexical] == [3]  # BM25 mode reads words only


def test_the_windows_of_given_passages_are_the_vectors_the_near_miss_gain_is_measured_on():
    windows = WindowVectors(
        np.array([1, 1, 4], dtype=np.int32),
        np.array([[0, 5], [5, 15], [0, 9]], dtype=np.int32),
        unit(np.eye(3, 4) + 0.1),
    )
    assert np.array_equal(windows.of_passages([4, 1]), windows.vectors)
    assert np.array_equal(windows.of_passages([4]), windows.vectors[2:])
    assert windows.of_passages([0, 2]).shape == (0, 4)  # passages that fit one window have none


def test_window_vectors_round_trip_through_the_index_folder_and_are_checked(tmp_path):
    texts = ["tea grows on hills and in valleys", "volcanoes erupt"]
    ps = [Passage(f"d#{i}", "d", "d.txt", "d", t, 0, len(t)) for i, t in enumerate(texts)]
    vectors = unit(np.random.default_rng(3).normal(size=(2, 8)))
    windows = WindowVectors(
        np.array([0, 0], dtype=np.int32), np.array([[0, 18], [10, 33]], dtype=np.int32), unit(np.ones((2, 8)))
    )
    manifest = {"passage_count": 2, "dimension": 8, "model": {"name": "m", "dimension": 8}}
    write_index(tmp_path / "ix", manifest, ps, vectors, build_faiss_index(vectors), build_bm25(texts), None, windows)
    loaded = read_index(tmp_path / "ix").windows
    assert loaded.passages.tolist() == [0, 0] and loaded.spans.tolist() == [[0, 18], [10, 33]]
    np.testing.assert_allclose(loaded.vectors, windows.vectors)
    write_index(tmp_path / "iy", manifest, ps, vectors, build_faiss_index(vectors), build_bm25(texts))
    assert read_index(tmp_path / "iy").windows is None
    # A span past the end of its passage is damage, named as such.
    np.save(tmp_path / "ix" / WINDOW_SPANS, np.array([[0, 18], [10, 99]], dtype=np.int32), allow_pickle=False)
    with pytest.raises(IndexStoreError, match="window_spans.npy"):
        read_index(tmp_path / "ix")
