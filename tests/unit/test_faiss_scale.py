"""The exact/approximate FAISS switch and memory-mapped loading, against numpy brute force (no model)."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from hkai_qa.stores.faiss import build_faiss_index, dense_search, ivf_list_count, ivf_probe_count, read_faiss_index


def clustered(count: int, dimension: int = 32, copies: int = 10, seed: int = 0) -> np.ndarray:
    """Unit vectors in groups of `copies` around random centres, each at cosine about 0.86 to its centre:
    the structure benchmarks/scale.py gives its 100k corpus (SciFact passages, ten noisy copies each)."""
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(max(1, count // copies), dimension))
    middle /= np.linalg.norm(middle, axis=1, keepdims=True)
    sigma = np.sqrt((1 / 0.86**2 - 1) / dimension)
    points = middle[rng.integers(0, len(middle), count)] + sigma * rng.normal(size=(count, dimension))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def questions_near(vectors: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Queries like real questions: each near some passage (cosine about 0.86), not anywhere on the sphere."""
    rng = np.random.default_rng(seed)
    sigma = np.sqrt((1 / 0.86**2 - 1) / vectors.shape[1])
    points = vectors[rng.integers(0, len(vectors), count)] + sigma * rng.normal(size=(count, vectors.shape[1]))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def brute_force_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]


def test_small_corpora_stay_exact():
    vectors = clustered(2000)
    index = build_faiss_index(vectors)
    assert isinstance(index, faiss.IndexFlatIP)


def recall_at_10(index, vectors: np.ndarray, queries: np.ndarray) -> float:
    found = dense_search(index, queries, 100)[1][:, :10]
    truth = brute_force_top(vectors, queries, 10)
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


def test_above_the_limit_an_ivf_index_finds_nearly_all_true_neighbours():
    vectors = clustered(20_000)
    queries = questions_near(vectors, 50, seed=1)
    index = build_faiss_index(vectors, exact_limit=10_000)
    assert isinstance(index, faiss.IndexIVFFlat)
    assert index.nlist == ivf_list_count(20_000) == 512 and index.nprobe == ivf_probe_count(20_000, 512) == 105
    # A sanity bound on toy data; benchmarks/scale.py measures recall on SciFact-shaped data.
    assert recall_at_10(index, vectors, queries) >= 0.9
    # The scores returned are exact inner products of the passages found.
    scores, ids = dense_search(index, queries[:1], 5)
    assert np.allclose(scores[0], vectors[ids[0]] @ queries[0], atol=1e-5)


def test_ivf_builds_are_reproducible_from_a_memory_map(tmp_path):
    vectors = clustered(12_000)
    mapped = np.lib.format.open_memmap(tmp_path / "vectors.npy", "w+", np.float32, vectors.shape)
    mapped[:] = vectors
    from_map = build_faiss_index(mapped, exact_limit=1000)
    from_memory = build_faiss_index(vectors.copy(), exact_limit=1000)
    queries = clustered(20, seed=2)
    assert np.array_equal(dense_search(from_map, queries, 10)[1], dense_search(from_memory, queries, 10)[1])


@pytest.mark.parametrize("limit", [10**6, 1000], ids=["flat", "ivf"])
def test_an_index_read_memory_mapped_answers_like_the_built_one(tmp_path, limit):
    vectors, queries = clustered(5000), clustered(10, seed=3)
    built = build_faiss_index(vectors, exact_limit=limit)
    faiss.write_index(built, str(tmp_path / "faiss.index"))
    loaded = read_faiss_index(tmp_path / "faiss.index")
    assert type(loaded) is type(built) and loaded.ntotal == 5000
    assert getattr(loaded, "nprobe", None) == getattr(built, "nprobe", None)
    assert np.array_equal(dense_search(loaded, queries, 20)[1], dense_search(built, queries, 20)[1])
