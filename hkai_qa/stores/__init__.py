"""Where passage vectors live: a FAISS file in the index folder (the default) or a Milvus collection.

Both sit behind `VectorStore`, so retrieval and `QA` never ask which one they
have. A store is named by a spec string, as in `QA(store=...)` and `--store`:

    faiss                        FAISS files in the index folder (default)
    milvus:./hk.db               Milvus Lite: an embedded Milvus in one local file
    milvus:http://HOST:19530     a Milvus server or cluster; token from $MILVUS_TOKEN

A Milvus spec may end in `#name` to choose the collection; otherwise it is
named after the index folder and a hash of its path. BM25, passages.jsonl and manifest.json stay in
the index folder whichever store holds the vectors.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from .._defaults import DEFAULT_STORE
from ..errors import IndexStoreError, did_you_mean
from .faiss import FaissStore

if TYPE_CHECKING:
    import faiss

    from ..passages import Passage

STORE_KINDS = ("faiss", "milvus")
STORE_EXAMPLES = "faiss, milvus:./hk.db (Milvus Lite) or milvus:http://HOST:19530 (a Milvus server)"
COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


class VectorStore(Protocol):
    """Passage vectors, numbered 0..n-1 as the passages are, and exact inner-product search over them."""

    label: str
    batch_size: int  # passages encoded and added per step of a build

    def prepare(self, record: dict[str, Any]) -> int:
        """Get ready to receive the build `record` describes; returns how many of its vectors are already stored."""

    def missing(self, start: int, stop: int) -> list[int]:
        """Passage numbers in [start, stop) not yet stored."""

    def add(self, ids: Sequence[int], vectors: np.ndarray, passages: Sequence[Passage]) -> None:
        """Store `vectors[i]` (and, where the store keeps it, the passage) under passage number `ids[i]`."""

    def finish(self) -> None:
        """Make everything added searchable."""

    def search(self, queries: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the `depth` nearest passages per query, best first; ids are -1 past the end."""

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The stored float32 vectors of passages `ids`, in that order."""

    def count(self) -> int:
        """How many vectors are stored."""

    def drop(self) -> None:
        """Delete the stored vectors."""

    def read_manifest(self) -> dict[str, Any] | None:
        """The build record stored with the vectors (model, dimension, passage count, fingerprint), if any."""

    def write_manifest(self, record: dict[str, Any]) -> None:
        """Store the build record with the vectors, so staleness is checked against what they really are."""


@dataclass(frozen=True)
class StoreSpec:
    """A parsed `store=` string."""

    kind: str
    uri: str = ""  # Milvus: an absolute .db path (Lite) or a server URI without credentials
    collection: str | None = None  # Milvus: None means "named after the index folder"

    @property
    def is_lite(self) -> bool:
        return self.kind == "milvus" and "://" not in self.uri

    def collection_for(self, index_dir: Path) -> str:
        """The named collection, or one of the index folder's own: its name and a hash of its full path.

        Two folders both called `index` (in different places) never share a collection.
        """
        if self.collection:
            return self.collection
        name = re.sub(r"[^A-Za-z0-9_]", "_", index_dir.name)[:200]
        tag = hashlib.sha1(str(index_dir.resolve()).encode()).hexdigest()[:8]
        return f"hkai_{name}_{tag}"

    def label(self, index_dir: Path | None = None) -> str:
        if self.kind == "faiss":
            return "faiss"
        collection = self.collection_for(index_dir) if index_dir is not None else self.collection
        return f"milvus:{self.uri}" + (f"#{collection}" if collection else "")


def parse_store(spec: str | None) -> StoreSpec:
    """`faiss`, `milvus:FILE.db[#collection]` or `milvus:URI[#collection]`, or IndexStoreError with the fix."""
    if spec is None or spec == DEFAULT_STORE:
        return StoreSpec("faiss")
    if not isinstance(spec, str):
        raise IndexStoreError(f"store must be text such as {STORE_EXAMPLES}; got {type(spec).__name__}.")
    kind, _, target = spec.partition(":")
    if kind != "milvus":
        hint = did_you_mean(kind, STORE_KINDS)
        raise IndexStoreError(f"unknown store {spec!r}; use {STORE_EXAMPLES}.{hint}")
    target, _, collection = target.partition("#")
    target = target.strip()
    if not target:
        raise IndexStoreError(f"store {spec!r} names no Milvus: use milvus:./hk.db or milvus:http://HOST:19530.")
    if collection and not COLLECTION_NAME.match(collection):
        raise IndexStoreError(
            f"{collection!r} is not a valid Milvus collection name: use letters, digits and _, "
            "starting with a letter or _ (at most 255)."
        )
    if "://" in target:
        parts = urlsplit(target)
        if parts.username or parts.password:
            raise IndexStoreError(
                f"the Milvus URI {parts.scheme}://…@{parts.hostname} holds credentials; "
                "put the token in the MILVUS_TOKEN environment variable instead."
            )
        return StoreSpec("milvus", urlunsplit(parts), collection or None)
    path = Path(target).expanduser()
    if path.suffix != ".db":
        raise IndexStoreError(
            f"Milvus Lite keeps its data in a file ending in .db; got {target!r}. "
            "Use e.g. milvus:./hk.db, or milvus:http://HOST:19530 for a server."
        )
    return StoreSpec("milvus", str(path.resolve()), collection or None)


def recorded_spec(manifest: dict[str, Any]) -> StoreSpec:
    """The store an index folder was built for (its manifest has no `store` entry for FAISS)."""
    store = manifest.get("store") or {}
    if store.get("kind", "faiss") == "faiss":
        return StoreSpec("faiss")
    return StoreSpec("milvus", str(store.get("uri", "")), store.get("collection"))


def build_fingerprint(model: dict[str, Any], passages: Sequence[Passage]) -> str:
    """sha256 over the model and every passage's id and text: equal fingerprints mean interchangeable vectors."""
    digest = hashlib.sha256()
    head = {k: model.get(k) for k in ("name", "weights_sha256", "dimension")}
    head.update({k: model[k] for k in ("passage_text",) if k in model})  # only when not the usual form
    digest.update(json.dumps(head, sort_keys=True).encode())
    for passage in passages:
        digest.update(f"\n{passage.passage_id}\t{passage.searchable_text}".encode())
    return digest.hexdigest()


def new_store(spec: StoreSpec, index_dir: Path) -> VectorStore:
    """An empty store to build into (Milvus: connected, the collection untouched until `prepare`)."""
    if spec.kind == "faiss":
        return FaissStore()
    from .milvus import MilvusStore

    return MilvusStore(spec.uri, spec.collection_for(index_dir))


def open_store(
    spec: StoreSpec,
    index_dir: Path,
    manifest: dict[str, Any],
    faiss_index: faiss.Index | None = None,
    vectors: np.ndarray | None = None,
    passages: Sequence[Passage] = (),
) -> VectorStore:
    """The store holding the vectors of the index in `index_dir`, checked against its manifest.

    Milvus needs the index's `passages`. Raises StoreIncompleteError when a build
    would fix the store (missing or partly filled), IndexStoreError when it holds something else.
    """
    if spec.kind == "faiss":
        if faiss_index is None:
            built_for = recorded_spec(manifest).label(index_dir)
            raise IndexStoreError(
                f"the index {index_dir} keeps its vectors in {built_for}, not in FAISS files. "
                f"Open it with store={built_for!r} (--store {built_for}), or rebuild it with --store faiss."
            )
        store = FaissStore(faiss_index, vectors)
        store.write_manifest(manifest)
        return store
    from .milvus import MilvusStore

    store = MilvusStore(spec.uri, spec.collection_for(index_dir))
    store.use_passages(passages)  # its rows are keyed by passage: passage numbers map to them through these
    store.check(manifest, index_dir)
    return store
