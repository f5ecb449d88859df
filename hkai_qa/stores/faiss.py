"""Every piece of FAISS in hkai-qa: building the index, searching it, its file, and `FaissStore`.

The index is exact inner product (on unit vectors, the cosine) up to EXACT_LIMIT
passages and an IVF index above; its file is memory-mapped when read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._files import available_cores

if TYPE_CHECKING:
    import faiss

    from ..passages import Passage

# Up to this many passages, search is exact: a flat scan reads every vector, about 12 ms at 100k.
# Above it, an inverted-file (IVF) index scans the lists nearest each question, about IVF_SCAN
# vectors in all, so a search costs about the same at any size: at 1M about 1.5 ms with recall@10
# 0.99. HNSW was faster still but its recall fell to 0.89 at 1M. Measured with
# benchmarks/scale.py on SciFact-shaped data; see the README's Performance section.
EXACT_LIMIT = 100_000
IVF_SCAN = 4096
IVF_TRAINING_PER_LIST = 40
_ADD_CHUNK = 65_536
PARALLEL_SEARCH_FROM = 16  # queries


def build_faiss_index(vectors: np.ndarray, *, exact_limit: int = EXACT_LIMIT) -> faiss.Index:
    """An inner-product index (on unit vectors, the cosine similarity): exact up to `exact_limit` vectors.

    Above it, an IVF index: k-means lists (about 4·√n of them, trained on a fixed
    sample with a fixed seed, so a rebuild gives the same index), enough of them
    scanned per question to cover about IVF_SCAN vectors; the scores it returns are
    exact. Vectors are added a chunk at a time, so a memory-mapped `vectors` is
    never copied whole.
    """
    import faiss

    count, dimension = vectors.shape
    if count <= exact_limit:
        index = faiss.IndexFlatIP(dimension)
    else:
        lists = ivf_list_count(count)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10
        sample = np.random.default_rng(0).choice(count, min(count, IVF_TRAINING_PER_LIST * lists), replace=False)
        index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
        index.nprobe = ivf_probe_count(count, lists)
    for start in range(0, count, _ADD_CHUNK):
        index.add(np.ascontiguousarray(vectors[start : start + _ADD_CHUNK], dtype=np.float32))
    return index


def ivf_list_count(count: int) -> int:
    """About 4·√count lists, a power of two: 1,024 at 100k passages, 4,096 at 1M."""
    return int(2 ** round(np.log2(4 * np.sqrt(count))))


def ivf_probe_count(count: int, lists: int) -> int:
    """Lists to scan so that about IVF_SCAN vectors are read: 42 of 1,024 at 100k, 17 of 4,096 at 1M."""
    return int(min(lists, max(8, round(IVF_SCAN * lists / count))))


def dense_search(index: faiss.Index, queries: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of the `depth` nearest passages per query; ids are -1 past the end.

    A few questions search on one thread: FAISS's OpenMP threads would fight the
    encoder's for the cores, and one question's scan is short (QA.ask p50 on
    SciFact 7-9 ms instead of 18-20 ms). A batch gets every core.
    """
    import faiss

    faiss.omp_set_num_threads(1 if len(queries) < PARALLEL_SEARCH_FROM else available_cores())
    depth = max(1, min(depth, index.ntotal))
    scores, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), depth)
    return scores, ids


def read_faiss_index(path: Path) -> faiss.Index:
    """A FAISS index memory-mapped from `path`: it opens at once and shares the page cache.

    FAISS maps an IVF index's lists with IO_FLAG_MMAP and flat codes (a flat or HNSW
    index) with IO_FLAG_MMAP_IFC; the two flags do not combine, so the file's type
    code (its first four bytes; IVF types start "Iw") picks one. Builds replace
    index files by renaming, never in place, so a mapped file never changes under us.
    """
    import faiss

    with path.open("rb") as handle:
        fourcc = handle.read(4)
    flags = faiss.IO_FLAG_MMAP if fourcc.startswith(b"Iw") else faiss.IO_FLAG_MMAP_IFC
    return faiss.read_index(str(path), flags)


def write_faiss_index(index: faiss.Index, path: Path) -> None:
    """Write `index` to `path` (a staging folder's file: the folder swap makes it atomic)."""
    import faiss

    faiss.write_index(index, str(path))


class FaissStore:
    """Vectors in memory (or memory-mapped from vectors.npy) and an exact FAISS index over them.

    Its files, faiss.index and vectors.npy, are written by `index_store.write_index`
    with the rest of the index folder, so a build is all or nothing and nothing resumes.
    """

    label = "faiss"
    batch_size = 1 << 62  # one step: the whole corpus is encoded in one call, as before stores existed

    def __init__(self, index: faiss.Index | None = None, vectors: np.ndarray | None = None) -> None:
        self.index = index
        self.matrix = vectors
        self._parts: list[np.ndarray] = []
        self._record: dict[str, Any] | None = None

    def prepare(self, record: dict[str, Any]) -> int:
        self.drop()
        self._record = dict(record)
        return 0

    def missing(self, start: int, stop: int) -> list[int]:
        stored = sum(len(p) for p in self._parts)
        return list(range(max(start, stored), stop))

    def add(self, ids: Sequence[int], vectors: np.ndarray, passages: Sequence[Passage]) -> None:
        self._parts.append(vectors)

    def finish(self) -> None:
        self.matrix = self._parts[0] if len(self._parts) == 1 else np.concatenate(self._parts)
        self.index = build_faiss_index(self.matrix)
        self._parts = []

    def search(self, queries: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        return dense_search(self.index, queries, depth)

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        return np.asarray(self.matrix[ids], dtype=np.float32)

    def count(self) -> int:
        return int(self.index.ntotal) if self.index is not None else 0

    def drop(self) -> None:
        """Forget the vectors; the files go when the index folder is replaced."""
        self.index, self.matrix, self._parts = None, None, []

    def read_manifest(self) -> dict[str, Any] | None:
        return self._record

    def write_manifest(self, record: dict[str, Any]) -> None:
        self._record = dict(record)
