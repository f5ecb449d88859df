"""Passage vectors in a Milvus collection: Milvus Lite in a local .db file, or a Milvus server or cluster.

One row per passage: beside the vector are the passage's id, document, source,
section, offsets and text, and the primary key is a hash of all of them and the
model (`row_key`). So a row never changes: a passage whose id or text changes
gets a new row. The build record (model, dimension, passage count and a
fingerprint of model and passages) is kept in the collection's properties.

A build, full or an update, keeps the rows of this index and upserts only the
passages whose key is missing; rows no passage of the new index has are deleted
once its folder has been swapped in (`prune`). Until then the old index folder
still finds every row it knows, so questions keep being answered during an
update, and an interrupted build or update resumes where it stopped. Search
skips rows that are not this index's (left by an interrupted update).
"""

from __future__ import annotations

import contextlib
import hashlib
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
RECORD_FORMAT = 2  # 2: the primary key is `row_key` (1: the passage number)
MAX_VARCHAR = 65535  # Milvus's VARCHAR limit (bytes)
MAX_LIMIT = 16384  # Milvus's limit on rows per search or query
KEYS_PER_QUERY = 4096  # primary keys named in one query or delete
TOKEN_VARIABLE = "MILVUS_TOKEN"
INSTALL_HINT = "pip install 'hkai-qa[milvus]'"
SERVER_HINT = (
    "Check that the server is running and the URI is right (docs/milvus.md has the docker command), "
    "use Milvus Lite in a local file (--store milvus:./hk.db), "
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
    """pymilvus logs every failed call (and reconnection attempt) with its traceback; here a failure is one message.

    Only for the call in hand: the logger's level is restored after it.
    """
    loggers = [logging.getLogger(name) for name in ("pymilvus", "pymilvus.decorators")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _is_unreachable(reason: str) -> bool:
    """Whether a pymilvus failure means the server is gone (stopped, crashed, network down), not a bad request."""
    reason = reason.lower()
    return any(sign in reason for sign in ("fail connecting", "unavailable", "connection refused", "connect to"))


def _clip(text: str, limit: int = MAX_VARCHAR) -> str:
    """`text` cut to at most `limit` UTF-8 bytes; the full text stays in passages.jsonl."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


def row_key(passage: Passage, model: str) -> int:
    """The primary key of a passage's row: a 63-bit hash of everything the row holds, and the model."""
    fields = (model, passage.passage_id, passage.doc_id, passage.source, passage.heading, passage.text)
    text = "\0".join((*fields, str(passage.start), str(passage.end)))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1


class MilvusStore:
    """A `VectorStore` over one Milvus collection, exact inner product (FLAT index, IP metric).

    Passage numbers (the index folder's rows) map to primary keys through the
    index's passages: given by `use_passages`, or learnt from `add`.
    """

    batch_size = 1024

    def __init__(self, uri: str, collection: str) -> None:
        self.uri = uri
        self.collection = collection
        self.label = f"milvus:{uri}#{collection}"
        self._milvus = _client(uri)
        self._model = ""
        self._passages: Sequence[Passage] = ()
        self._keys: list[int] = []  # passage number -> primary key
        self._numbers: dict[int, int] = {}  # primary key -> passage number
        self._present: set[int] = set()  # keys of this build already stored (prepare and add keep it)
        self._record: dict[str, Any] | None = None  # the build record to store when the build finishes
        self._rows: int | None = None

    def _call(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        from pymilvus import MilvusException

        try:
            with _quiet_pymilvus():
                return function(*args, **kwargs)
        except MilvusException as error:
            reason = getattr(error, "message", str(error))
            if _is_unreachable(reason):
                raise IndexStoreError(
                    f"cannot reach Milvus at {self.uri} (to {what} collection {self.collection}: {reason}). "
                    f"{SERVER_HINT}. The index folder is unchanged."
                ) from None
            raise IndexStoreError(
                f"Milvus failed to {what} collection {self.collection} at {self.uri}: {reason}"
            ) from None

    # --- passages and keys ------------------------------------------------------------------------

    def use_passages(self, passages: Sequence[Passage], model: str | None = None) -> None:
        """The index's passages, in order, so passage numbers map to rows (the model from the record if None)."""
        self._passages = passages
        if model is not None:
            self._model = model
        self._index_keys()

    def _index_keys(self) -> None:
        if self._model:
            self._keys = [row_key(p, self._model) for p in self._passages]
            self._numbers = {key: number for number, key in enumerate(self._keys)}

    def _learn(self, numbers: Sequence[int], passages: Sequence[Passage]) -> list[int]:
        """The keys of passages `numbers` (added without `use_passages`: remembered for search)."""
        keys = [row_key(p, self._model) for p in passages]
        for number, key in zip(numbers, keys, strict=True):
            if number >= len(self._keys):
                self._keys.extend([-1] * (number + 1 - len(self._keys)))
            self._keys[number] = key
            self._numbers[key] = number
        return keys

    def _stored_keys(self, keys: Sequence[int]) -> set[int]:
        """Which of `keys` have a row."""
        found: set[int] = set()
        for start in range(0, len(keys), KEYS_PER_QUERY):
            chunk = [int(k) for k in keys[start : start + KEYS_PER_QUERY]]
            rows = self._call("read", self._milvus.query, self.collection, ids=chunk, output_fields=["id"])
            found.update(int(row["id"]) for row in rows)
        return found

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
        """Keep a collection holding this index (or these very passages) and say how many of its vectors it has;
        replace one of this index made with another model; refuse one holding another index.

        An update keeps the collection: rows of unchanged passages stay, `add` upserts the others.
        """
        self._model, self._record = str(record["model"]), record
        self._index_keys()
        if self.exists():
            existing = self.read_manifest()
            if existing is None:
                raise self._foreign()
            owner = existing.get("index_path")
            same_passages = existing.get("fingerprint") == record["fingerprint"]
            if same_passages or owner == record.get("index_path"):
                if self._holds_vectors_like(existing, record):
                    self._call("load", self._milvus.load_collection, self.collection)
                    self._present = self._stored_keys(self._keys)
                    if same_passages:
                        self._record = None  # shared or resumed: the stored record already describes it
                    return len(self._present)
            elif owner and record.get("index_path"):
                # Indexes of the same passages share a collection; another index's vectors are never dropped.
                raise IndexStoreError(
                    f"Milvus collection {self.collection} at {self.uri} holds the vectors of another index, {owner} "
                    f"(built {existing.get('built_at')}); not replacing them. Choose another collection: "
                    f"--store milvus:{self.uri}#another_name, or delete {owner} and drop its collection first."
                )
            self.drop()
        self._create(int(record["dimension"]), record)
        self._record = None
        self._present = set()
        return 0

    def _holds_vectors_like(self, existing: dict[str, Any], record: dict[str, Any]) -> bool:
        """Whether the collection's rows are of this layout and model, so they can stay."""
        same_model = all(existing.get(key) == record.get(key) for key in ("model", "weights_sha256", "passage_text"))
        return existing.get("format") == RECORD_FORMAT and same_model and self.dimension() == record["dimension"]

    def _create(self, dimension: int, record: dict[str, Any]) -> None:
        from pymilvus import DataType

        schema = self._milvus.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True, description="row_key: passage and model hash")
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
        return [i for i in range(start, stop) if self._keys[i] not in self._present]

    def add(self, ids: Sequence[int], vectors: np.ndarray, passages: Sequence[Passage]) -> None:
        keys = self._learn(ids, passages)
        rows = [
            {
                "id": key,
                "vector": vector.tolist(),
                "passage_id": _clip(passage.passage_id),
                "doc_id": _clip(passage.doc_id),
                "source": _clip(passage.source),
                "section": _clip(passage.heading),
                "text": _clip(passage.text),
                "start_offset": passage.start,
                "end_offset": passage.end,
            }
            for key, vector, passage in zip(keys, np.asarray(vectors, dtype=np.float32), passages, strict=True)
        ]
        self._call("upsert into", self._milvus.upsert, self.collection, rows)
        self._present.update(keys)
        self._rows = None

    def stored_vectors(self, passages: Sequence[Passage]) -> list[np.ndarray | None]:
        """The stored vectors of `passages` (an update's old passages), None where a passage has no row."""
        keys = [row_key(p, self._model) for p in passages]
        found: dict[int, list[float]] = {}
        unique = sorted(set(keys))
        for start in range(0, len(unique), KEYS_PER_QUERY):
            chunk = unique[start : start + KEYS_PER_QUERY]
            rows = self._call("read", self._milvus.query, self.collection, ids=chunk, output_fields=["vector"])
            found.update((int(row["id"]), row["vector"]) for row in rows)
        return [np.asarray(found[k], dtype=np.float32) if k in found else None for k in keys]

    def finish(self) -> None:
        self._call("flush", self._milvus.flush, self.collection)
        if self._record is not None:  # an update or a resumed build of other passages: record what it holds now
            self.write_manifest(self._record)
            self._record = None
        self._call("load", self._milvus.load_collection, self.collection)
        self._rows = None

    def prune(self) -> int:
        """Delete the rows no passage of this index has (an update's old passages); returns how many."""
        if self.count() <= len(self._numbers):
            return 0
        stale: list[int] = []
        iterator = self._call(
            "read", self._milvus.query_iterator, self.collection, batch_size=KEYS_PER_QUERY, output_fields=["id"]
        )
        try:
            while rows := self._call("read", iterator.next):
                stale.extend(int(row["id"]) for row in rows if int(row["id"]) not in self._numbers)
        finally:
            iterator.close()
        for start in range(0, len(stale), KEYS_PER_QUERY):
            self._call("delete from", self._milvus.delete, self.collection, ids=stale[start : start + KEYS_PER_QUERY])
        self._rows = None
        return len(stale)

    # --- reading ----------------------------------------------------------------------------------

    def check(self, manifest: dict[str, Any], index_dir: Path) -> None:
        """Refuse a collection that does not hold every vector the index folder's passages need.

        Needs `use_passages` first. Rows of other passages may be there too (an update in progress elsewhere,
        or one interrupted): search skips them.
        """
        model = manifest.get("model", {})
        name, dimension = model.get("name"), manifest.get("dimension")
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
        if record.get("format") != RECORD_FORMAT:
            raise StoreIncompleteError(
                f"Milvus collection {self.collection} at {self.uri} keeps its rows in an older layout "
                f"(format {record.get('format')}, now {RECORD_FORMAT}). {fix}"
            )
        self._model = str(name)
        self._index_keys()
        self._call("load", self._milvus.load_collection, self.collection)  # a restarted server loads none
        current = record.get("fingerprint") == (manifest.get("store") or {}).get("fingerprint")
        if not (current and self.count() == len(self._numbers)):
            present = len(self._stored_keys(self._keys))
            if present < len(self._keys):
                raise StoreIncompleteError(
                    f"Milvus collection {self.collection} holds {present:,} of the {len(self._keys):,} vectors of "
                    f"the index {index_dir} (its last build: {record.get('passage_count')} passages of "
                    f"{record.get('corpus_path')!r}, {record.get('built_at')}). {fix}"
                )

    def count(self) -> int:
        """How many rows the collection holds (this index's, and any left by an interrupted update)."""
        if self._rows is None:
            rows = self._call("count", self._milvus.query, self.collection, filter="", output_fields=["count(*)"])
            self._rows = int(rows[0]["count(*)"])
        return self._rows

    def search(self, queries: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.asarray(queries, dtype=np.float32)
        depth = max(1, min(depth, len(self._numbers) or self.count(), MAX_LIMIT))
        scores = np.full((len(queries), depth), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), depth), -1, dtype=np.int64)
        for attempt in range(2):
            # Rows that are not this index's take places in Milvus's answer: ask for that many more.
            limit = min(depth + max(0, self.count() - len(self._numbers)), MAX_LIMIT)
            results = self._call(
                "search",
                self._milvus.search,
                self.collection,
                data=queries.tolist(),
                limit=limit,
                anns_field="vector",
                search_params={"metric_type": "IP"},
            )
            short = False
            for row, hits in enumerate(results):
                ours = [(hit["distance"], self._numbers[hit["id"]]) for hit in hits if hit["id"] in self._numbers]
                for column, (score, number) in enumerate(ours[:depth]):
                    scores[row, column], ids[row, column] = score, number
                short |= len(ours) < depth and len(hits) == limit
            if not short or attempt:
                break
            self._rows = None  # another process added rows since they were counted: count again
        return scores, ids

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        wanted = [int(i) for i in ids]
        if not wanted:
            return np.empty((0, self.dimension() or 0), dtype=np.float32)
        unique = sorted({self._keys[i] for i in wanted})
        found: dict[int, list[float]] = {}
        for start in range(0, len(unique), KEYS_PER_QUERY):
            chunk = unique[start : start + KEYS_PER_QUERY]
            rows = self._call("read", self._milvus.query, self.collection, ids=chunk, output_fields=["vector"])
            found.update((int(row["id"]), row["vector"]) for row in rows)
        absent = [i for i in wanted if self._keys[i] not in found]
        if absent:
            raise IndexStoreError(
                f"Milvus collection {self.collection} lacks passages {absent[:5]}; rebuild the index with --store "
                f"{self.label}."
            )
        return np.asarray([found[self._keys[i]] for i in wanted], dtype=np.float32)

    def drop(self) -> None:
        if self.exists():
            self._call("drop", self._milvus.drop_collection, self.collection)
        self._rows = None
        self._present = set()
