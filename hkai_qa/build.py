"""Where indexes live, whether one is out of date, and building it.

An index folder is found from the corpus, the store and the model (`default_index_dir`),
reused while its manifest matches them (`stale_reason`), and otherwise rebuilt:
passages are encoded into the vector store and written with BM25 and the manifest
by `index_store.write_index`, which swaps the new folder in whole.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import index_store
from ._defaults import (
    BM25_PARAMETERS,
    DEFAULT_STORE,
    DEFAULT_THRESHOLDS,
    DEFAULT_THRESHOLDS_SOURCE,
    embeds_sentences,
    passage_budget,
)
from ._files import is_being_written, scratch_array
from .abstention import derived_abstention, is_calibrated
from .corpus import hash_corpus_files, load_corpus
from .embedding import PASSAGE_TEXT_KEY, passage_text_fields, passage_texts
from .errors import HkaiQaError, IndexStoreError, StoreIncompleteError
from .lexical import build_bm25
from .passages import Passage, split_corpus
from .sentence_vectors import SentenceVectors, embed_sentences, vectors_by_text
from .stores import FaissStore, StoreSpec, VectorStore, build_fingerprint, new_store, open_store, recorded_spec
from .stores.faiss import EXACT_LIMIT
from .update import (
    BM25_CHANGED,
    CHUNKING_VERSION,
    PassagePlan,
    UpdateReport,
    bm25_reason,
    chunking_reason,
    diff_files,
    full_rebuild_reason,
    plan_passages,
)
from .window_vectors import WindowVectors, embed_windows
from .window_vectors import vectors_by_text as window_vectors_by_text

if TYPE_CHECKING:
    from .embedding import Embedder
    from .onnx_encoder import OnnxEmbedder
    from .term_coverage import CorpusTerms

PACKAGE_ROOT = Path(__file__).resolve().parent
CORPUS_CHANGED = "corpus changed"
SENTENCES_MISSING = "the index has no sentence vectors"
# Stale for a reason its passage vectors survive: an update keeps them and redoes only this.
KEEPS_VECTORS = {BM25_CHANGED: "rebuilding its BM25", SENTENCES_MISSING: "adding its sentence vectors"}
# The bundled article is package data, so a wheel carries it (corpus/ in a checkout links to it).
BUNDLED_CORPUS = Path(str(resources.files("hkai_qa") / "data" / "hong_kong_ai_ecosystem.txt"))

Notify = Callable[[str], None]
logger = logging.getLogger("hkai_qa")


def log_notice(message: str) -> None:
    """The default `notify`: a notice on the "hkai_qa" logger, which the CLI prints as `hkai-qa: …`."""
    logger.info(message)


def _in_checkout() -> bool:
    return (PACKAGE_ROOT.parent / "pyproject.toml").is_file() and (PACKAGE_ROOT.parent / "index").is_dir()


def index_root() -> Path:
    """Where indexes live unless told: $HKAI_QA_INDEX_ROOT, a checkout's index/, or the user cache."""
    if os.environ.get("HKAI_QA_INDEX_ROOT"):
        return _folder_setting("HKAI_QA_INDEX_ROOT")
    if _in_checkout():
        return PACKAGE_ROOT.parent / "index"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hkai-qa" / "indexes"


def model_cache() -> Path:
    """Where ONNX exports of models live, keyed by weight hash: $HKAI_QA_MODEL_CACHE, or beside the indexes."""
    if os.environ.get("HKAI_QA_MODEL_CACHE"):
        return _folder_setting("HKAI_QA_MODEL_CACHE")
    return index_root() / "models"


def _folder_setting(variable: str) -> Path:
    """The folder an environment variable names; IndexStoreError when it names something else, like a file."""
    folder = Path(os.environ[variable])
    if folder.exists() and not folder.is_dir():
        raise IndexStoreError(
            f"{variable}={folder} is a file, not a folder. Point {variable} at a folder, or unset it for the default."
        )
    return folder


def default_index_dir(corpus: Path, store: str = DEFAULT_STORE, model: str | None = None) -> Path:
    """One index folder per corpus path, store and model, named so a person can tell which is which.

    Keying on store and model too means `--store milvus:…` or `--model X` once never
    changes (or rebuilds) what a plain command on the same corpus uses. The default
    (FAISS, default model) keeps the key of the corpus path alone.
    """
    from .embedding import DEFAULT_MODEL_ALIASES

    resolved = corpus.resolve()
    key = str(resolved)
    if store != DEFAULT_STORE or (model is not None and model not in DEFAULT_MODEL_ALIASES):
        key += f"\0{store}\0{model or ''}"
    tag = hashlib.sha1(key.encode()).hexdigest()[:8]
    name = resolved.stem if resolved.is_file() else resolved.name
    return index_root() / f"{name or 'corpus'}-{tag}"


@dataclass(frozen=True)
class Location:
    """What a QA answers from: the corpus, the index folder, the store and the model (None: the default)."""

    corpus_path: Path
    index_dir: Path
    store_spec: StoreSpec
    model: str | None


def built_in_abstention(embedder: Any) -> dict[str, Any]:
    """The embedder's own built-in thresholds (cosine scales differ between models), else MiniLM's."""
    own = getattr(embedder, "default_abstention", None)
    if own is not None:
        return copy.deepcopy(own)
    return {"thresholds": dict(DEFAULT_THRESHOLDS), "fitted_on": DEFAULT_THRESHOLDS_SOURCE}


def locate(
    corpus: str | Path | None,
    index: str | Path | None,
    *,
    store: StoreSpec | None = None,
    model: str | None = None,
    rebuild: bool = False,
) -> Location:
    """Where a QA's corpus, index, store and model are, from what the caller named.

    An index named alone must exist (IndexStoreError with the fix otherwise, and
    nothing is created) and answers from the corpus, store and model it was built
    with. Without an index, each corpus, store and model has its own default folder.
    """
    index_dir = Path(index) if index is not None else None
    if index_dir is not None:
        index_store.restore_interrupted_swap(index_dir)  # a crash mid-swap must not lose the index
    manifest: dict[str, Any] = {}
    if index_dir is not None and index_dir.exists() and not rebuild:
        # Named alone, the index must be one; beside a corpus, a damaged one is rebuilt.
        manifest = index_store.read_manifest(index_dir) if corpus is None else _manifest_or_empty(index_dir)
    elif index_dir is not None and corpus is None and not rebuild:
        raise IndexStoreError(
            f"no index at {index_dir} (the folder does not exist). Check the path, or build one there: "
            f"hkai-qa build CORPUS --index {index_dir} (in Python: QA(corpus=..., index={str(index_dir)!r}))."
        )
    corpus_path = Path(corpus) if corpus is not None else Path(manifest.get("corpus_path", BUNDLED_CORPUS))
    if model is None and manifest:
        model = (manifest.get("model") or {}).get("name")
    if index_dir is None:
        index_dir = default_index_dir(corpus_path, store.label() if store else DEFAULT_STORE, model)
    return Location(corpus_path, index_dir, store or recorded_store(index_dir), model)


def _manifest_or_empty(index_dir: Path) -> dict[str, Any]:
    try:
        return index_store.read_manifest(index_dir)
    except IndexStoreError:
        return {}


@dataclass
class LoadedIndex:
    """An index folder read or built, and the store holding its vectors."""

    stored: index_store.StoredIndex
    vectors: VectorStore
    idf_cache: dict[str, float] = field(default_factory=dict)  # BM25 weights of question words, for this index
    corpus_terms: CorpusTerms | None = None  # the passages' words, made on the first question that needs them


def recorded_store(index_dir: Path) -> StoreSpec:
    """The store the index in `index_dir` was built for, or FAISS for a new index."""
    try:
        return recorded_spec(index_store.read_manifest(index_dir))
    except IndexStoreError:
        return StoreSpec("faiss")


def open_index(index_dir: Path, store: StoreSpec | None) -> tuple[LoadedIndex, StoreSpec]:
    """An existing index alone, without checking it against its corpus; vectors from `store` or its own."""
    stored = index_store.read_index(index_dir)
    spec = store or recorded_spec(stored.manifest)
    vectors = open_store(spec, index_dir, stored.manifest, stored.faiss_index, stored.vectors, stored.passages)
    return LoadedIndex(stored, vectors), spec


class Builder:
    """Loads or builds the index of one corpus in one folder, for one store and one embedder."""

    def __init__(
        self,
        corpus_path: Path,
        index_dir: Path,
        store_spec: StoreSpec,
        embedder: Embedder | OnnxEmbedder,
        *,
        progress: bool | None = None,
        notify: Notify = log_notice,
    ) -> None:
        self.corpus_path = corpus_path
        self.index_dir = index_dir
        self.store_spec = store_spec
        self.embedder = embedder
        self.progress = progress
        self.notify = notify
        self.last_update: UpdateReport | None = None  # what the last build did; None when the index was current
        self.behind: str | None = None  # why the index answering is behind its corpus while another writer updates it

    def load_or_build(self, rebuild: bool = False, wait: bool = False) -> LoadedIndex:
        """The index on disk when it matches corpus, store and model; else a new build (with a notice why).

        While another writer is updating an index whose corpus changed, the complete old
        index answers meanwhile (`behind` says why) unless `wait` asks for the update.
        """
        index_store.check_not_foreign(self.index_dir)
        self.behind = None
        if not rebuild:
            ready = self._ready_without_lock(accept_behind=not wait)
            if ready is not None:
                return ready
        with index_store.build_lock(self.index_dir):
            if rebuild:
                return self.build()
            try:
                manifest = index_store.read_manifest(self.index_dir)
            except IndexStoreError as error:
                if self.index_dir.exists() and any(not p.name.startswith(".") for p in self.index_dir.iterdir()):
                    self.notify(f"{error} Rebuilding now.")
                return self.build()
            reason = self.stale_reason(manifest)
            if reason and reason.startswith(CORPUS_CHANGED):
                return self.build(previous=manifest)  # an update: only new or changed passages are embedded
            if reason and (what := next((w for r, w in KEEPS_VECTORS.items() if reason.startswith(r)), None)):
                self.notify(f"index {self.index_dir} is out of date ({reason}); {what}, keeping its vectors.")
                return self.build(previous=manifest, reason=reason)
            if reason:
                self.notify(f"index {self.index_dir} is out of date ({reason}); rebuilding.")
                return self.build(reason=reason)
            try:
                stored = index_store.read_index(self.index_dir)
            except IndexStoreError as error:
                self.notify(f"{error} Rebuilding now.")
                return self.build()
            try:
                vectors = open_store(
                    self.store_spec,
                    self.index_dir,
                    stored.manifest,
                    stored.faiss_index,
                    stored.vectors,
                    stored.passages,
                )
            except StoreIncompleteError as error:
                self.notify(f"{error} Building the rest now.")
                return self.build()
            return LoadedIndex(stored, vectors)

    def _ready_without_lock(self, accept_behind: bool) -> LoadedIndex | None:
        """The index on disk when it is complete and up to date, read without the build lock, else None.

        A build swaps a whole new folder in, so a complete index can be read while another
        process rebuilds it: `ask` answers from the old one instead of waiting for the build.
        With `accept_behind`, that holds too when only the corpus changed and a writer is
        already updating the index (waiting would cost a question the whole update).
        Anything else missing, stale or damaged is None, and `load_or_build` sorts it out under the lock.
        """
        try:
            manifest = index_store.read_manifest(self.index_dir)
            reason = self.stale_reason(manifest)
            if reason and not (
                accept_behind and reason.startswith(CORPUS_CHANGED) and is_being_written(self.index_dir)
            ):
                return None
            stored = index_store.read_index(self.index_dir)
            vectors = open_store(
                self.store_spec, self.index_dir, stored.manifest, stored.faiss_index, stored.vectors, stored.passages
            )
        except HkaiQaError:
            return None
        if reason:
            self.behind = reason
            self.notify(
                f"index {self.index_dir} is behind its corpus ({reason}) and another process is updating it: "
                "answering from the index as it was until the update is done."
            )
        return LoadedIndex(stored, vectors)

    def stale_reason(self, manifest: dict[str, Any]) -> str | None:
        """Why the index described by `manifest` no longer fits (store, model, corpus), or None."""
        built_for, asked_for = recorded_spec(manifest).label(self.index_dir), self.store_spec.label(self.index_dir)
        if built_for != asked_for:
            return f"built for store {built_for}, asked for {asked_for}"
        recorded = manifest.get("model", {})
        if recorded.get("name") != self.embedder.name:
            return f"built with model {recorded.get('name')!r}, asked for {self.embedder.name!r}"
        if not self.embedder.spec.is_default and recorded.get("weights_sha256") != self.embedder.weights_sha256:
            return "the model's weights changed"
        if recorded.get(PASSAGE_TEXT_KEY) != passage_text_fields(self.embedder).get(PASSAGE_TEXT_KEY):
            return f"passages are embedded differently for {self.embedder.name} now"
        # Passages cut by older rules (a reader or the splitter changed): even an unchanged corpus
        # gives other passages now, so the index is rebuilt once rather than answering from the old cut.
        if chunked_otherwise := chunking_reason(manifest):
            return chunked_otherwise
        if tokenized_otherwise := bm25_reason(manifest):
            return tokenized_otherwise
        # A small corpus is ranked with its sentences too; an index written before they were kept
        # (or before this model used them) gets them once, by an update that reuses its passage vectors.
        if embeds_sentences(manifest.get("passage_count", 0)) and index_store.SENTENCE_VECTORS not in manifest.get(
            "file_sizes", {}
        ):
            return f"{SENTENCES_MISSING} (written by an older hkai-qa)"
        files = manifest.get("corpus_files", {})
        current = hash_corpus_files(self.corpus_path)
        if files != current:
            changed = sorted(set(files) ^ set(current) | {f for f in files if f in current and files[f] != current[f]})
            return f"{CORPUS_CHANGED}: {', '.join(changed[:3])}{' …' if len(changed) > 3 else ''}"
        return None

    def build(self, previous: dict[str, Any] | None = None, reason: str = "") -> LoadedIndex:
        """Split, encode and index the corpus, and swap the new index folder in.

        With the `previous` manifest of this folder, an update: passages whose text,
        heading and model are unchanged keep their old vectors (see `hkai_qa.update`).
        """
        started = time.perf_counter()
        index_store.check_replaceable(self.index_dir)  # before any work: never replace a folder we did not write
        store = new_store(self.store_spec, self.index_dir)  # first, so an unreachable Milvus fails before any work
        corpus = load_corpus(self.corpus_path)
        alphas = getattr(self.embedder, "hybrid_alphas", None)
        passages, windows = split_corpus(
            corpus.documents,
            self.embedder.count_tokens,
            self.embedder.max_tokens,
            lambda count: passage_budget(self.embedder.max_tokens, count, alphas),
        )
        texts = [p.searchable_text for p in passages]
        model = {
            "name": self.embedder.name,
            "weights_sha256": self.embedder.weights_sha256,
            "dimension": self.embedder.dimension,
            "max_tokens": self.embedder.max_tokens,
            "encoder": getattr(self.embedder, "backend", "torch"),
            **passage_text_fields(self.embedder),
        }
        old_files = (previous or {}).get("corpus_files") or {}
        plan, old, reason = self._plan_update(previous, passages, model, reason)
        old_vectors = old.vectors if old is not None else None
        embedding = len(plan.to_embed) if plan else len(passages)
        show = self.progress if self.progress is not None else embedding > 500
        if show:
            self.notify(f"building the index for {self.corpus_path} ({embedding:,} passages to embed) …")
        embedded = passage_texts(self.embedder, passages)
        old_passages = old.passages if old is not None else []
        store_manifest = self._fill_store(store, passages, embedded, model, show, plan, old_vectors, old_passages)
        sentences = self._sentence_vectors(passages, old)
        window_vectors = self._window_vectors(passages, windows, old)
        del old_vectors, old  # the old vectors.npy is replaced below: let go of its memory map first
        bm25 = build_bm25(texts)
        title = corpus.documents[0].sections[0].heading if len(corpus.documents) == 1 else corpus.name
        manifest = {
            "model": model,
            "corpus_path": str(self.corpus_path.resolve()),
            "corpus_name": title,
            "corpus_files": corpus.file_hashes,
            "document_count": len(corpus.documents),
            "passage_count": len(passages),
            "dimension": model["dimension"],
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - started, 3),
            "chunking_version": CHUNKING_VERSION,
            "bm25": dict(BM25_PARAMETERS),
            "abstention": self._abstention(
                previous if plan is not None else None, store, bm25, passages, window_vectors
            ),
            **store_manifest,
        }
        files = diff_files(old_files, corpus.file_hashes)
        if plan is not None:
            # An update keeps when the index was first built.
            manifest["built_at"] = previous.get("built_at", manifest["built_at"])
            manifest["updated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            counts = (plan.added, plan.updated, plan.unchanged, plan.removed)
        else:
            counts = (len(passages), 0, 0, int((previous or {}).get("passage_count") or 0))
        retrained = plan is not None and isinstance(store, FaissStore) and len(passages) > EXACT_LIMIT
        report = UpdateReport(
            "incremental" if plan else "full", *counts, 0.0, files, reason=reason, retrained=retrained
        )
        report.seconds = round(time.perf_counter() - started, 3)  # before writing: the manifest records it
        manifest["last_update"] = report.to_dict()
        vectors, faiss_index = (store.matrix, store.index) if isinstance(store, FaissStore) else (None, None)
        index_store.write_index(
            self.index_dir, manifest, passages, vectors, faiss_index, bm25, sentences, window_vectors
        )
        manifest = index_store.read_manifest(self.index_dir)
        self._prune(store)
        if isinstance(store, FaissStore):
            # Answer from the written file, memory-mapped, rather than the build's scratch copy.
            vectors = np.load(self.index_dir / index_store.VECTORS, mmap_mode="r", allow_pickle=False)
            store.matrix = vectors
        stored = index_store.StoredIndex(
            self.index_dir, manifest, passages, vectors, faiss_index, bm25, sentences, window_vectors
        )
        self.last_update = report
        if previous is not None:
            self.notify(f"index {self.index_dir} {report.summary()}.")
        return LoadedIndex(stored, store)

    def _abstention(
        self,
        previous: dict[str, Any] | None,
        store: VectorStore,
        bm25: Any,
        passages: list[Passage],
        windows: WindowVectors | None,
    ) -> dict[str, Any]:
        """The manifest's abstention rule: an update keeps one fitted by `calibrate` (labelled questions
        outrank a rule derived again from the changed corpus); otherwise it is derived from this corpus."""
        if previous is not None and is_calibrated(previous.get("abstention")):
            return previous["abstention"]
        return derived_abstention(self.embedder, store, bm25, passages, built_in_abstention(self.embedder), windows)

    def _sentence_vectors(self, passages: list[Passage], old: index_store.StoredIndex | None) -> SentenceVectors | None:
        """A small corpus's sentence vectors (None for a large one); an update reuses the old index's by text."""
        if not embeds_sentences(len(passages)):
            return None
        known = vectors_by_text(old.passages, old.sentences) if old is not None else {}
        return embed_sentences(passages, self.embedder.encode, self.embedder.dimension, known)

    def _window_vectors(
        self, passages: list[Passage], windows: list[Passage], old: index_store.StoredIndex | None
    ) -> WindowVectors | None:
        """The windows of passages longer than the model's window (None when there are none: every passage
        fits one, or the passages are the windows, as on a large corpus); an update reuses the old ones by text."""
        if passages is windows:
            return None
        known = window_vectors_by_text(old.passages, old.windows) if old is not None else {}
        embedded = embed_windows(passages, windows, self.embedder.encode, self.embedder.dimension, known)
        return embedded if len(embedded.passages) else None

    def _prune(self, store: VectorStore) -> None:
        """Milvus: delete the rows of passages the index swapped in no longer has (its old ones).

        Only now, after the swap, so the old index answered until then. Rows left behind (the server
        went away meanwhile) are skipped by searches and deleted by the next build.
        """
        prune = getattr(store, "prune", None)
        if prune is None:
            return
        try:
            prune()
        except IndexStoreError as error:
            self.notify(f"the index is up to date, but its old vectors stay in {store.label} for now: {error}")

    def _plan_update(
        self, previous: dict[str, Any] | None, passages: list[Passage], model: dict[str, Any], reason: str
    ) -> tuple[PassagePlan | None, index_store.StoredIndex | None, str]:
        """Which old vectors the new passages keep (None: a full build), the old index, and why not."""
        if previous is None:
            return None, None, reason
        if rebuild := full_rebuild_reason(previous, model):
            return None, None, rebuild
        try:
            old = index_store.read_index(self.index_dir)
        except IndexStoreError as error:
            return None, None, f"the old index could not be read ({error})"
        if old.vectors is None and self.store_spec.kind == "faiss":
            return None, None, "the old index holds no vectors"
        return plan_passages(old.passages, passages, model["name"]), old, reason

    def _fill_store(
        self,
        store: VectorStore,
        passages: list[Passage],
        texts: list[str],
        model: dict[str, Any],
        show: bool,
        plan: PassagePlan | None = None,
        old_vectors: np.ndarray | None = None,
        old_passages: list[Passage] | None = None,
    ) -> dict[str, Any]:
        """Encode the passages into `store`, batch by batch (a Milvus build resumes where one stopped).

        Milvus keeps the rows of passages it still has; an update (`plan`) copies the stored vector of
        an unchanged text that moved (a new id or offsets) instead of encoding it again.
        Returns what the manifest records about the store: nothing for FAISS.
        """
        spec = self.store_spec
        record = {
            "model": model["name"],
            "weights_sha256": model["weights_sha256"],
            "passage_text": model.get(PASSAGE_TEXT_KEY),  # how passages are put to the model: rows keep vectors
            "dimension": model["dimension"],
            "passage_count": len(passages),
            "fingerprint": build_fingerprint(model, passages),
            "corpus_path": str(self.corpus_path.resolve()),
            "index_path": str(self.index_dir.resolve()),
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if not isinstance(store, FaissStore):
            store.use_passages(passages)
        present = store.prepare(record)
        if present and plan is None:
            self.notify(f"{store.label} already holds {present:,} of {len(passages):,} vectors; adding the rest.")
        if isinstance(store, FaissStore):
            # One streamed pass: batches land in a scratch memory map, so vectors are held once.
            vectors = self._scratch_vectors(len(texts))
            if plan is None:
                self.embedder.encode(texts, progress=show, out=vectors)
            else:
                _fill_from_plan(
                    vectors,
                    plan,
                    old_vectors,
                    lambda rows: self.embedder.encode([texts[i] for i in rows], progress=show),
                )
            store.add(range(len(texts)), vectors, passages)
            store.finish()
            return {}
        steps = range(0, len(passages), store.batch_size)
        bar = _progress_bar(len(passages) - present, show and len(steps) > 1)

        def encode(rows: list[int]) -> np.ndarray:
            return self.embedder.encode([texts[i] for i in rows], progress=show and len(steps) == 1)

        for start in steps:
            ids = store.missing(start, min(start + store.batch_size, len(passages)))
            if ids:
                old_rows = [plan.reuse[i] if plan else None for i in ids]
                vectors = _milvus_batch(store, ids, old_rows, old_passages or [], encode, self.embedder.dimension)
                store.add(ids, vectors, [passages[i] for i in ids])
                bar.update(len(ids))
        bar.close()
        store.finish()
        return {
            "store": {
                "kind": spec.kind,
                "uri": spec.uri,
                "collection": spec.collection_for(self.index_dir),
                "fingerprint": record["fingerprint"],
            }
        }

    def _scratch_vectors(self, count: int) -> np.ndarray:
        """Room for the vectors in a memory-mapped file beside the index (see `_files.scratch_array`).

        Batches are written there as they are encoded, so a big corpus holds its
        vectors in memory once (inside FAISS), not twice.
        """
        return scratch_array(self.index_dir, (count, self.embedder.dimension))


def _progress_bar(total: int, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not show, unit="passage", desc="embedding")


def _milvus_batch(
    store, ids: list[int], old_rows: list[int | None], old_passages: list[Passage], encode, dimension: int
) -> np.ndarray:
    """The vectors of passages `ids`: the stored vector of the old passage a row keeps (an unchanged text
    under a new id), the model's for the others and for any whose old row is gone."""
    kept = iter(store.stored_vectors([old_passages[row] for row in old_rows if row is not None]))
    vectors = np.empty((len(ids), dimension), dtype=np.float32)
    fresh = []
    for at, row in enumerate(old_rows):
        vector = next(kept) if row is not None else None
        if vector is None:
            fresh.append(at)
        else:
            vectors[at] = vector
    if fresh:
        vectors[fresh] = encode([ids[at] for at in fresh])
    return vectors


def _fill_from_plan(vectors: np.ndarray, plan: PassagePlan, old_vectors: np.ndarray, encode) -> None:
    """Row by row: the old vector where the plan keeps one, the model's where it does not."""
    kept = [(row, old) for row, old in enumerate(plan.reuse) if old is not None]
    for start in range(0, len(kept), 65_536):  # in chunks, so a memory-mapped old file is never read whole
        rows, olds = zip(*kept[start : start + 65_536], strict=True)
        vectors[list(rows)] = old_vectors[list(olds)]
    rows = plan.to_embed
    if rows:
        vectors[rows] = encode(rows)
