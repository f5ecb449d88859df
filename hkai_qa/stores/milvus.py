"""Passage vectors in a Milvus collection: Milvus Lite in a local .db file, or a Milvus server or cluster.

One row per passage: the primary key is the passage number, beside the vector
are the passage's id, document, source, section, offsets and text. The build
record (model, dimension, passage count and a fingerprint of model and
passages) is kept in the collection's properties, so an index folder can tell
whether the collection still holds its vectors.

A build inserts in batches. An interrupted build resumes: the collection of the
same fingerprint is kept and only passage numbers it lacks are encoded and
inserted, so no row is ever inserted twice (Milvus does not deduplicate keys).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ..errors import IndexStoreError, StoreIncompleteError

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from ..passages import Passage

RECORD_KEY = "hkai_qa.manifest"
RECORD_FORMAT = 1
MAX_VARCHAR = 65535  # Milvus's VARCHAR limit (bytes)
MAX_LIMIT = 16384  # Milvus's limit on rows per search or query
TOKEN_VARIABLE = "MILVUS_TOKEN"
INSTALL_HINT = "pip install 'hkai-qa[milvus]'"
SERVER_HINT = (
    'Check that the server is running and the URI is right (README, "Scale-out with Milvus", '
    "has the docker command), use Milvus Lite in a local file (--store milvus:./hk.db), "
    "or keep the vectors in FAISS files instead: --store faiss"
)

T = TypeVar("T")


def _client(uri: str) -> MilvusClient:
    try:
        import pymilvus
    except ImportError:
        raise IndexStoreError(f"the Milvus store needs pymilvus and milvus-lite: {INSTALL_HINT}") from None
    is_lite = "://" not in uri
    options: dict[str, Any] = {}
    if is_lite:
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        token = ""
        # Milvus Lite serves gRPC inside this process and hangs up on pymilvus's idle keepalive pings (logging a
        # GOAWAY on stderr) while a long build is encoding; an in-process connection needs no keepalive.
        options["grpc_options"] = {"grpc.keepalive_permit_without_calls": False, "grpc.keepalive_time_ms": 300_000}
    else:
        token = os.environ.get(TOKEN_VARIABLE, "")
    try:
        with _quiet_pymilvus():
            return pymilvus.MilvusClient(uri=uri, token=token, timeout=30, **options)
    except pymilvus.MilvusException as error:
        reason = getattr(error, "message", str(error))
        if is_lite:
            raise IndexStoreError(f"cannot open the Milvus Lite file {uri} ({reason}).") from None
        auth = f" If the server needs a token, set {TOKEN_VARIABLE}." if not token else ""
        raise IndexStoreError(f"cannot reach Milvus at {uri} ({reason}). {SERVER_HINT}.{auth}") from None


@contextlib.contextmanager
def _quiet_pymilvus() -> Iterator[None]:
    """pymilvus logs every failed call with its traceback; each failure is reported here as one message instead.

    Only for the call in hand: the logger's level is restored after it.
    """
    logger = logging.getLogger("pymilvus.decorators")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _clip(text: str, limit: int = MAX_VARCHAR) -> str:
    """`text` cut to at most `limit` UTF-8 bytes; the full text stays in passages.jsonl."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


class MilvusStore:
    """A `VectorStore` over one Milvus collection, exact inner product (FLAT index, IP metric)."""

    batch_size = 1024

    def __init__(self, uri: str, collection: str) -> None:
        self.uri = uri
        self.collection = collection
        self.label = f"milvus:{uri}#{collection}"
        self._milvus = _client(uri)
        self._expected = 0
        self._present = 0
        self._rows: int | None = None

    def _call(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        from pymilvus import MilvusException

        try:
            with _quiet_pymilvus():
                return function(*args, **kwargs)
        except MilvusException as error:
            reason = getattr(error, "message", str(error))
            raise IndexStoreError(
                f"Milvus failed to {what} collection {self.collection} at {self.uri}: {reason}"
            ) from None

    # --- the build record -------------------------------------------------------------------------

    def exists(self) -> bool:
        return bool(self._call("look up", self._milvus.has_collection, self.collection))

    def dimension(self) -> int | None:
        description = self._call("describe", self._milvus.describe_collection, self.collection)
        for field in description.get("fields", []):
            if field.get("name") == "vector":
                return int(field.get("params", {}).get("dim", 0))
        return None

    def read_manifest(self) -> dict[str, Any] | None:
        description = self._call("describe", self._milvus.describe_collection, self.collection)
        raw = (description.get("properties") or {}).get(RECORD_KEY)
        try:
            record = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return None
        return record if isinstance(record, dict) else None

    def write_manifest(self, record: dict[str, Any]) -> None:
        value = json.dumps({"format": RECORD_FORMAT, **record}, ensure_ascii=False)
        properties = {RECORD_KEY: value}
        self._call("record the build in", self._milvus.alter_collection_properties, self.collection, properties)

    def _foreign(self) -> IndexStoreError:
        return IndexStoreError(
            f"Milvus collection {self.collection} at {self.uri} was not made by hkai-qa; not touching it. "
            f"Choose another collection: --store milvus:{self.uri}#another_name"
        )

    # --- building ---------------------------------------------------------------------------------

    def prepare(self, record: dict[str, Any]) -> int:
        """Resume (or share) a collection holding this very build; replace one of this index holding anything else."""
        self._expected = int(record["passage_count"])
        if self.exists():
            existing = self.read_manifest()
            if existing is None:
                raise self._foreign()
            if existing.get("fingerprint") == record["fingerprint"] and self.dimension() == record["dimension"]:
                present = self.count()
                if present <= self._expected:
                    self._call("load", self._milvus.load_collection, self.collection)
                    self._present = present
                    return present
            owner = existing.get("index_path")
            if owner and record.get("index_path") and owner != record["index_path"]:
                # Indexes of the same passages share a collection; another index's vectors are never dropped.
                raise IndexStoreError(
                    f"Milvus collection {self.collection} at {self.uri} holds the vectors of another index, {owner} "
                    f"(built {existing.get('built_at')}); not replacing them. Choose another collection: "
                    f"--store milvus:{self.uri}#another_name, or delete {owner} and drop its collection first."
                )
            self.drop()
        self._create(int(record["dimension"]), record)
        self._present = 0
        return 0

    def _create(self, dimension: int, record: dict[str, Any]) -> None:
        from pymilvus import DataType

        schema = self._milvus.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True, description="passage number")
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        for name in ("passage_id", "doc_id", "source", "section", "text"):
            schema.add_field(name, DataType.VARCHAR, max_length=MAX_VARCHAR)
        schema.add_field("start_offset", DataType.INT64)
        schema.add_field("end_offset", DataType.INT64)
        index_params = self._milvus.prepare_index_params()
        index_params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        value = json.dumps({"format": RECORD_FORMAT, **record}, ensure_ascii=False)
        self._call(
            "create",
            self._milvus.create_collection,
            self.collection,
            schema=schema,
            index_params=index_params,
            consistency_level="Strong",
            properties={RECORD_KEY: value},
        )

    def missing(self, start: int, stop: int) -> list[int]:
        if self._present == 0:
            return list(range(start, stop))
        if self._present >= self._expected:
            return []
        present: set[int] = set()
        for low in range(start, stop, MAX_LIMIT):
            high = min(stop, low + MAX_LIMIT)
            rows = self._call(
                "read",
                self._milvus.query,
                self.collection,
                filter=f"id >= {low} and id < {high}",
                output_fields=["id"],
                limit=high - low,
            )
            present.update(int(row["id"]) for row in rows)
        return [i for i in range(start, stop) if i not in present]

    def add(self, ids: Sequence[int], vectors: np.ndarray, passages: Sequence[Passage]) -> None:
        rows = [
            {
                "id": int(number),
                "vector": vector.tolist(),
                "passage_id": _clip(passage.passage_id),
                "doc_id": _clip(passage.doc_id),
                "source": _clip(passage.source),
                "section": _clip(passage.heading),
                "text": _clip(passage.text),
                "start_offset": passage.start,
                "end_offset": passage.end,
            }
            for number, vector, passage in zip(ids, np.asarray(vectors, dtype=np.float32), passages, strict=True)
        ]
        self._call("insert into", self._milvus.insert, self.collection, rows)
        self._rows = None

    def finish(self) -> None:
        self._call("flush", self._milvus.flush, self.collection)
        self._call("load", self._milvus.load_collection, self.collection)
        self._rows = None

    # --- reading ----------------------------------------------------------------------------------

    def check(self, manifest: dict[str, Any], index_dir: Path) -> None:
        """Refuse a collection that does not hold exactly the vectors the index folder's manifest describes."""
        model = manifest.get("model", {})
        name, dimension = model.get("name"), manifest.get("dimension")
        count = manifest.get("passage_count")
        fix = (
            f"Rebuild it: hkai-qa build {manifest.get('corpus_path', 'CORPUS')} --index {index_dir} "
            f"--store {self.label}"
        )
        if not self.exists():
            raise StoreIncompleteError(f"Milvus collection {self.collection} at {self.uri} does not exist. {fix}")
        record = self.read_manifest()
        if record is None:
            raise self._foreign()
        held = self.dimension()
        if record.get("model") != name or held != dimension:
            raise IndexStoreError(
                f"Milvus collection {self.collection} at {self.uri} holds {held}-dimensional vectors from model "
                f"{record.get('model')!r}, but the index {index_dir} was built with {name!r} ({dimension} dimensions):"
                f" another build replaced the collection. {fix}"
            )
        if record.get("fingerprint") != (manifest.get("store") or {}).get("fingerprint"):
            raise IndexStoreError(
                f"Milvus collection {self.collection} at {self.uri} holds the passages of another build (of "
                f"{record.get('corpus_path')!r}, {record.get('passage_count')} passages, {record.get('built_at')}), "
                f"not those of the index {index_dir}. {fix}"
            )
        rows = self.count()
        if rows < count:
            raise StoreIncompleteError(
                f"Milvus collection {self.collection} holds {rows:,} of {count:,} vectors (an interrupted build)."
            )
        if rows > count:
            raise IndexStoreError(
                f"Milvus collection {self.collection} holds {rows:,} rows for {count:,} passages (duplicates). {fix}"
            )
        self._call("load", self._milvus.load_collection, self.collection)

    def count(self) -> int:
        if self._rows is None:
            rows = self._call("count", self._milvus.query, self.collection, filter="", output_fields=["count(*)"])
            self._rows = int(rows[0]["count(*)"])
        return self._rows

    def search(self, queries: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.asarray(queries, dtype=np.float32)
        depth = max(1, min(depth, self.count(), MAX_LIMIT))
        results = self._call(
            "search",
            self._milvus.search,
            self.collection,
            data=queries.tolist(),
            limit=depth,
            anns_field="vector",
            search_params={"metric_type": "IP"},
        )
        scores = np.full((len(queries), depth), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), depth), -1, dtype=np.int64)
        for row, hits in enumerate(results):
            for column, hit in enumerate(hits):
                scores[row, column] = hit["distance"]
                ids[row, column] = hit["id"]
        return scores, ids

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        wanted = [int(i) for i in ids]
        if not wanted:
            return np.empty((0, self.dimension() or 0), dtype=np.float32)
        unique = sorted(set(wanted))
        found: dict[int, list[float]] = {}
        for start in range(0, len(unique), MAX_LIMIT):
            chunk = unique[start : start + MAX_LIMIT]
            rows = self._call("read", self._milvus.query, self.collection, ids=chunk, output_fields=["vector"])
            found.update((int(row["id"]), row["vector"]) for row in rows)
        absent = [i for i in unique if i not in found]
        if absent:
            raise IndexStoreError(
                f"Milvus collection {self.collection} lacks passages {absent[:5]}; rebuild the index with --store "
                f"{self.label}."
            )
        return np.asarray([found[i] for i in wanted], dtype=np.float32)

    def drop(self) -> None:
        if self.exists():
            self._call("drop", self._milvus.drop_collection, self.collection)
        self._rows = None
        self._present = 0
