"""`QA`: a corpus, its index and a model, ready to answer questions.

Loading reuses the index on disk when its manifest matches the corpus and the
model; otherwise the index is rebuilt, with a one-line notice on stderr.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from . import index_store
from .answer import Answer, Hit
from .corpus import hash_corpus_files, load_corpus
from .errors import CorpusError, IndexStoreError, QuestionError, did_you_mean
from .evidence import best_sentences
from .onnx_encoder import DEFAULT_ENCODER, make_embedder
from .passages import Passage, split_documents
from .retrieval import MODES, bm25_tokenize, build_bm25, build_faiss_index, rank_passages

PACKAGE_ROOT = Path(__file__).resolve().parent
BUNDLED_CORPUS = PACKAGE_ROOT.parent / "corpus"
MAX_QUESTION_CHARS = 2000
MAX_K = 100
CANDIDATE_DEPTH = 100
DEFAULT_MODE = "dense"
HYBRID_ALPHA = 0.7
# Below these scores the best hit is taken not to answer the question. First
# fitted on tests/data/hk_questions.jsonl; `hkai-qa calibrate` refits them.
DEFAULT_THRESHOLDS = {"hybrid": 0.30, "dense": 0.30, "bm25": 0.15}

Notify = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"hkai-qa: {message}", file=sys.stderr, flush=True)


def index_root() -> Path:
    """Where indexes live unless told: $HKAI_QA_INDEX_ROOT, the repository's index/, or a user cache."""
    if os.environ.get("HKAI_QA_INDEX_ROOT"):
        return Path(os.environ["HKAI_QA_INDEX_ROOT"])
    repository_index = PACKAGE_ROOT.parent / "index"
    if repository_index.is_dir():
        return repository_index
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hkai-qa" / "indexes"


def model_cache() -> Path:
    """Where ONNX exports of models live, keyed by weight hash: $HKAI_QA_MODEL_CACHE, or beside the indexes."""
    if os.environ.get("HKAI_QA_MODEL_CACHE"):
        return Path(os.environ["HKAI_QA_MODEL_CACHE"])
    return index_root() / "models"


def default_index_dir(corpus: Path) -> Path:
    """One index folder per corpus path, named so a person can tell which is which."""
    resolved = corpus.resolve()
    tag = hashlib.sha1(str(resolved).encode()).hexdigest()[:8]
    name = resolved.stem if resolved.is_file() else resolved.name
    return index_root() / f"{name or 'corpus'}-{tag}"


def check_question(question: object) -> str:
    """The question, stripped, or QuestionError (a ValueError) saying what is wrong."""
    if not isinstance(question, str):
        raise QuestionError(f"a question must be text, not {type(question).__name__}.")
    stripped = question.strip()
    if not stripped:
        raise QuestionError("the question is empty. Type a question, for example: How does the government support AI?")
    if len(stripped) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is {len(stripped):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. Shorten it."
        )
    return stripped


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise QuestionError(f"k must be a whole number of passages, 1 or more; got {k!r}.")
    return int(min(k, MAX_K))


def _has_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


class QA:
    """Question answering over one corpus.

    >>> qa = QA()                                  # the bundled article
    >>> qa = QA(corpus="my_docs/", index="my_index/")
    >>> qa.ask("Which sectors use AI?", k=3).hits[0].section
    """

    def __init__(
        self,
        corpus: str | Path | None = None,
        index: str | Path | None = None,
        *,
        model: str | None = None,
        mode: str = DEFAULT_MODE,
        encoder: str = DEFAULT_ENCODER,
        rebuild: bool = False,
        progress: bool | None = None,
        notify: Notify = _stderr,
    ) -> None:
        self.mode = _check_mode(mode)
        self.index_dir = Path(index) if index is not None else None
        if corpus is not None:
            self.corpus_path = Path(corpus)
        elif self.index_dir is not None and self.index_dir.exists() and not rebuild:
            # An index named alone answers from the corpus it was built from.
            self.corpus_path = Path(index_store.read_manifest(self.index_dir).get("corpus_path", BUNDLED_CORPUS))
        else:
            self.corpus_path = BUNDLED_CORPUS
        if self.index_dir is None:
            self.index_dir = default_index_dir(self.corpus_path)
        self.embedder = make_embedder(model, encoder, cache=model_cache(), notify=notify)
        self._notify = notify
        self._progress = progress
        if not self.corpus_path.exists():
            raise CorpusError(
                f"corpus path {self.corpus_path} does not exist. Pass a file or folder of .txt, .md or a BEIR corpus."
            )
        if not rebuild and hasattr(self.embedder, "preload"):
            self.embedder.preload()
        self._store = self._load_or_build(rebuild)
        self._tokens_cache: dict[str, float] = {}

    @classmethod
    def load(
        cls, index: str | Path, *, mode: str = DEFAULT_MODE, encoder: str = DEFAULT_ENCODER, notify: Notify = _stderr
    ) -> QA:
        """Open an existing index alone, without checking it against its corpus."""
        store = index_store.read_index(index)
        qa = cls.__new__(cls)
        qa.mode = _check_mode(mode)
        qa.corpus_path = Path(store.manifest.get("corpus_path", ""))
        qa.index_dir = Path(index)
        qa.embedder = make_embedder(store.manifest["model"]["name"], encoder, cache=model_cache(), notify=notify)
        qa._notify = notify
        qa._progress = None
        qa._store = store
        qa._tokens_cache = {}
        return qa

    # --- loading and building --------------------------------------------------------------------

    def _load_or_build(self, rebuild: bool) -> index_store.StoredIndex:
        with index_store.build_lock(self.index_dir):
            if rebuild:
                return self._build()
            try:
                manifest = index_store.read_manifest(self.index_dir)
            except IndexStoreError as error:
                if self.index_dir.exists() and any(not p.name.startswith(".") for p in self.index_dir.iterdir()):
                    self._notify(f"{error} Rebuilding now.")
                return self._build()
            reason = self._stale_reason(manifest)
            if reason:
                self._notify(f"index {self.index_dir} is out of date ({reason}); rebuilding.")
                return self._build()
            try:
                return index_store.read_index(self.index_dir)
            except IndexStoreError as error:
                self._notify(f"{error} Rebuilding now.")
                return self._build()

    def _stale_reason(self, manifest: dict[str, Any]) -> str | None:
        recorded = manifest.get("model", {})
        if recorded.get("name") != self.embedder.name:
            return f"built with model {recorded.get('name')!r}, asked for {self.embedder.name!r}"
        if not self.embedder.spec.is_default and recorded.get("weights_sha256") != self.embedder.weights_sha256:
            return "the model's weights changed"
        files = manifest.get("corpus_files", {})
        current = hash_corpus_files(self.corpus_path)
        if files != current:
            changed = sorted(set(files) ^ set(current) | {f for f in files if f in current and files[f] != current[f]})
            return f"corpus changed: {', '.join(changed[:3])}{' …' if len(changed) > 3 else ''}"
        return None

    def _build(self) -> index_store.StoredIndex:
        started = time.perf_counter()
        corpus = load_corpus(self.corpus_path)
        passages = split_documents(corpus.documents, self.embedder.count_tokens, self.embedder.max_tokens)
        show = self._progress if self._progress is not None else len(passages) > 500
        if show:
            self._notify(f"building the index for {self.corpus_path} ({len(passages):,} passages) …")
        texts = [p.searchable_text for p in passages]
        vectors = self._scratch_vectors(len(texts))
        self.embedder.encode_passages(texts, progress=show, out=vectors)
        faiss_index = build_faiss_index(vectors)
        bm25 = build_bm25(texts)
        title = corpus.documents[0].sections[0].heading if len(corpus.documents) == 1 else corpus.name
        manifest = {
            "model": {
                "name": self.embedder.name,
                "weights_sha256": self.embedder.weights_sha256,
                "dimension": int(vectors.shape[1]),
                "max_tokens": self.embedder.max_tokens,
                "encoder": self.encoder,
            },
            "corpus_path": str(self.corpus_path.resolve()),
            "corpus_name": title,
            "corpus_files": corpus.file_hashes,
            "document_count": len(corpus.documents),
            "passage_count": len(passages),
            "dimension": int(vectors.shape[1]),
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - started, 3),
            "bm25": {"method": "lucene", "k1": 1.5, "b": 0.75, "stemmer": "english", "stopwords": "en_plus"},
            "abstention": {"thresholds": dict(DEFAULT_THRESHOLDS), "fitted_on": "built-in defaults"},
        }
        index_store.write_index(self.index_dir, manifest, passages, vectors, faiss_index, bm25)
        manifest = index_store.read_manifest(self.index_dir)
        vectors = np.load(self.index_dir / index_store.VECTORS, mmap_mode="r", allow_pickle=False)
        return index_store.StoredIndex(self.index_dir, manifest, passages, vectors, faiss_index, bm25)

    def _scratch_vectors(self, count: int) -> np.ndarray:
        """Room for the vectors in a memory-mapped file beside the index, unlinked at once.

        Batches are written there as they are encoded, so a big corpus holds its
        vectors in memory once (inside FAISS), not twice; the disk space goes when
        the array does, even if the build is interrupted.
        """
        path = self.index_dir.parent / f".{self.index_dir.name}.vectors-{uuid.uuid4().hex[:8]}.npy"
        vectors = np.lib.format.open_memmap(path, "w+", np.float32, (count, self.embedder.dimension))
        path.unlink()
        return vectors

    # --- asking ------------------------------------------------------------------------------------

    @property
    def passages(self) -> list[Passage]:
        return self._store.passages

    @property
    def manifest(self) -> dict[str, Any]:
        return self._store.manifest

    @property
    def encoder(self) -> str:
        """What encodes questions (and builds) here: "onnx", or "torch" after a fallback."""
        return getattr(self.embedder, "backend", "torch")

    @property
    def corpus_name(self) -> str:
        return str(self.manifest.get("corpus_name") or self.corpus_path.name)

    @property
    def threshold(self) -> float:
        thresholds = self.manifest.get("abstention", {}).get("thresholds", {})
        return float(thresholds.get(self.mode, DEFAULT_THRESHOLDS[self.mode]))

    def ask(self, question: str, k: int = 3) -> Answer:
        """The `k` best passages for `question`, and whether they answer it.

        Raises QuestionError (a ValueError) for an empty, non-text or over-long question.
        """
        return self.ask_many([question], k=k)[0]

    def ask_many(self, questions: Sequence[str], k: int = 3) -> list[Answer]:
        """`ask` for many questions, encoded in batches."""
        if isinstance(questions, str):
            raise QuestionError("ask_many takes a list of questions; use ask() for one.")
        cleaned = [check_question(q) for q in questions]
        k = min(_check_k(k), len(self.passages))
        if not cleaned:
            return []
        vectors = self.embedder.encode(cleaned)
        tokens = bm25_tokenize(cleaned)
        return [self._answer(q, v, t, k) for q, v, t in zip(cleaned, vectors, tokens, strict=True)]

    def _answer(self, question: str, vector: np.ndarray, tokens: list[str], k: int) -> Answer:
        store = self._store
        ranked = rank_passages(
            self.mode,
            vector,
            tokens,
            store.faiss_index,
            store.vectors,
            store.bm25,
            depth=max(CANDIDATE_DEPTH, k),
            alpha=HYBRID_ALPHA,
        )[:k]
        hits = [self._hit(position, r, tokens) for position, r in enumerate(ranked, start=1)]
        answerable = bool(hits) and hits[0].score >= self.threshold
        notes = []
        if _has_cjk(question) and self.embedder.spec.is_default:
            notes.append(
                "The default model reads English only: these hits come mostly from matching words. "
                "For other languages, build with a multilingual model: --model paraphrase-multilingual-MiniLM-L12-v2."
            )
        return Answer(question=question, hits=hits, answerable=answerable, notes=notes)

    def _hit(self, position: int, ranked, tokens: list[str]) -> Hit:
        passage = self._store.passages[ranked.passage]
        evidence = best_sentences(passage.text, tokens, bm25_tokenize, self._idf)
        return Hit(
            rank=position,
            section=passage.heading,
            text=passage.text,
            score=round(ranked.score, 6),
            doc_id=passage.doc_id,
            passage_id=passage.passage_id,
            source=passage.source,
            start=passage.start,
            end=passage.end,
            dense_score=round(ranked.dense_score, 6),
            bm25_score=round(ranked.bm25_score, 6),
            dense_rank=ranked.dense_rank,
            bm25_rank=ranked.bm25_rank,
            evidence=evidence,
        )

    def _idf(self, token: str) -> float:
        from .retrieval import bm25_ceiling

        if token not in self._tokens_cache:
            self._tokens_cache[token] = bm25_ceiling(self._store.bm25, [token])
        return self._tokens_cache[token]


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise QuestionError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}.{did_you_mean(mode, MODES)}")
    return mode
