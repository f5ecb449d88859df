"""An index on disk: a folder of plain files, written atomically, checked on read.

    manifest.json   format version, model and weight hash, corpus file hashes, counts, file sizes
    passages.jsonl  one passage per line (text, heading, source, offsets)
    vectors.npy     float32 unit vectors, one row per passage (no pickles)
    faiss.index     the FAISS index over those vectors
    bm25/           bm25s's own arrays and JSON

An index whose vectors live in Milvus (manifest `store.kind` "milvus") has no
vectors.npy or faiss.index: its vectors are in the collection the manifest names.

A build writes everything into a hidden sibling folder, then swaps it in with
renames, so an interrupted build never leaves a half index behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import IndexStoreError
from .lexical import load_bm25
from .passages import Passage
from .stores.faiss import read_faiss_index, write_faiss_index

if TYPE_CHECKING:
    import bm25s
    import faiss

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
VECTORS = "vectors.npy"
FAISS_INDEX = "faiss.index"
BM25_FOLDER = "bm25"


@dataclass
class StoredIndex:
    """Everything a loaded index holds."""

    folder: Path
    manifest: dict[str, Any]
    passages: list[Passage]
    vectors: np.ndarray | None  # None when the vectors live in Milvus
    faiss_index: faiss.Index | None
    bm25: bm25s.BM25


def rebuild_hint(folder: Path, corpus: str | None = None) -> str:
    corpus_part = f" {corpus}" if corpus else " CORPUS"
    return f"Rebuild it: hkai-qa build{corpus_part} --index {folder}"


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of the index in `folder`, or IndexStoreError saying what is wrong."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise IndexStoreError(f"no index at {folder} (the folder does not exist). {rebuild_hint(folder)}")
    if not path.is_file():
        raise IndexStoreError(
            f"{folder} has no {MANIFEST} (not an hkai-qa index, or a save was interrupted). {rebuild_hint(folder)}"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise IndexStoreError(f"{path} is damaged ({error}). {rebuild_hint(folder)}") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        found = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise IndexStoreError(
            f"{path} has format version {found!r}; this hkai-qa reads version {FORMAT_VERSION}. "
            f"{rebuild_hint(folder, manifest.get('corpus_path') if isinstance(manifest, dict) else None)}"
        )
    return manifest


def read_index(folder: str | Path) -> StoredIndex:
    """Load an index, checking every file against the manifest before FAISS or numpy sees it."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    hint = rebuild_hint(folder, manifest.get("corpus_path"))
    for name, size in manifest.get("file_sizes", {}).items():
        path = folder / name
        if not path.is_file():
            raise IndexStoreError(f"{folder} is missing {name}. {hint}")
        if path.stat().st_size != size:
            raise IndexStoreError(
                f"{path} has {path.stat().st_size} bytes, the manifest says {size} (truncated or damaged). {hint}"
            )
    try:
        passages = [_passage_from_dict(json.loads(line)) for line in (folder / PASSAGES).open(encoding="utf-8")]
        vectors, faiss_index = None, None
        if _holds_faiss(manifest):
            vectors = np.load(folder / VECTORS, mmap_mode="r", allow_pickle=False)
            faiss_index = read_faiss_index(folder / FAISS_INDEX)
        bm25 = load_bm25(folder / BM25_FOLDER)
    except (ValueError, KeyError, TypeError, OSError, RuntimeError) as error:
        raise IndexStoreError(f"{folder} is damaged ({type(error).__name__}: {str(error)[:160]}). {hint}") from None
    count = manifest.get("passage_count")
    n_vectors = len(vectors) if vectors is not None else count
    n_indexed = faiss_index.ntotal if faiss_index is not None else count
    if not (len(passages) == count == n_vectors == n_indexed == bm25.scores["num_docs"]):
        raise IndexStoreError(
            f"{folder} is inconsistent: {len(passages)} passages, {n_vectors} vectors, "
            f"{n_indexed} indexed, manifest says {count}. {hint}"
        )
    return StoredIndex(folder, manifest, passages, vectors, faiss_index, bm25)


def _holds_faiss(manifest: dict[str, Any]) -> bool:
    """Whether the vectors are files in the folder (FAISS) rather than in a Milvus collection."""
    return (manifest.get("store") or {}).get("kind", "faiss") == "faiss"


def _passage_from_dict(row: dict[str, Any]) -> Passage:
    return Passage(
        passage_id=str(row["passage_id"]),
        doc_id=str(row["doc_id"]),
        source=str(row["source"]),
        heading=str(row["heading"]),
        text=str(row["text"]),
        start=int(row["start"]),
        end=int(row["end"]),
    )


def write_index(
    folder: str | Path,
    manifest: dict[str, Any],
    passages: list[Passage],
    vectors: np.ndarray | None,
    faiss_index: faiss.Index | None,
    bm25: bm25s.BM25,
) -> None:
    """Write an index into `folder`, replacing what is there only once all of it is on disk.

    `vectors` and `faiss_index` are None when the vectors live in Milvus.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.building-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        with (staging / PASSAGES).open("w", encoding="utf-8") as handle:
            for passage in passages:
                handle.write(json.dumps(passage.to_dict(), ensure_ascii=False) + "\n")
        if vectors is not None:
            np.save(staging / VECTORS, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
            write_faiss_index(faiss_index, staging / FAISS_INDEX)
        bm25.save(str(staging / BM25_FOLDER), allow_pickle=False)
        sizes = {p.relative_to(staging).as_posix(): p.stat().st_size for p in sorted(staging.rglob("*")) if p.is_file()}
        full_manifest = {"format_version": FORMAT_VERSION, **manifest, "file_sizes": sizes}
        (staging / MANIFEST).write_text(json.dumps(full_manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(staging)
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def update_manifest(folder: str | Path, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge `changes` into an index's manifest, replacing the file atomically."""
    folder = Path(folder)
    manifest = {**read_manifest(folder), **changes}
    temporary = folder / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
    temporary.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, folder / MANIFEST)
    return manifest


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def _swap_in(staging: Path, folder: Path) -> None:
    """Replace `folder` by `staging`; the old index is removed only after the new one is in place."""
    retired = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
    if folder.exists():
        if not folder.is_dir():
            raise IndexStoreError(f"{folder} is a file, not an index folder. Remove it or choose another --index.")
        if any(folder.iterdir()) and not (folder / MANIFEST).exists() and not _only_hidden(folder):
            raise IndexStoreError(
                f"{folder} holds files that are not an hkai-qa index; not overwriting them. "
                "Choose an empty or new --index folder."
            )
        os.replace(folder, retired)
    os.replace(staging, folder)
    shutil.rmtree(retired, ignore_errors=True)


def _only_hidden(folder: Path) -> bool:
    return all(p.name.startswith(".") for p in folder.iterdir())


@contextlib.contextmanager
def build_lock(folder: str | Path) -> Iterator[None]:
    """Serialise builds of the same index folder across processes."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f".{folder.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
