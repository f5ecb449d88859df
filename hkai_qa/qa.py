"""`QA`: a corpus, its index and a model, ready to answer questions.

Loading reuses the index on disk when its manifest matches the corpus and the
model; otherwise the index is rebuilt, with a one-line notice on stderr.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import index_store
from .answer import Answer, Hit
from .answer_types import missing_answer_type
from .corpus import hash_corpus_files, load_corpus
from .errors import CorpusError, IndexStoreError, QuestionError, did_you_mean
from .evidence import best_sentences
from .onnx_encoder import DEFAULT_ENCODER, make_embedder
from .passages import Passage, split_documents
from .rerank import PairScorer, Reranker
from .retrieval import MODES, bm25_tokenize, build_bm25, fusion_mode, rank_passages
from .vector_store import (
    DEFAULT_STORE,
    FaissStore,
    StoreIncompleteError,
    StoreSpec,
    VectorStore,
    build_fingerprint,
    new_store,
    open_store,
    parse_store,
    recorded_spec,
)

if TYPE_CHECKING:
    from .calibration import Calibration
    from .evaluation import EvalReport, QuestionSet

PACKAGE_ROOT = Path(__file__).resolve().parent
BUNDLED_CORPUS = PACKAGE_ROOT.parent / "corpus"
MAX_QUESTION_CHARS = 2000
MAX_K = 100
CANDIDATE_DEPTH = 100
DEFAULT_MODE = "hybrid"
# The cosine's share of the hybrid score. BM25's idf needs documents to mean anything: over the
# article's 7 passages only 0.8 beats dense alone (team section@1 0.870 vs 0.848; 0.5 gives 0.739),
# over SciFact's 10,453 passages 0.5 scores best (nDCG@10 0.728; 0.705 at 0.8; RRF 0.717). Every
# setting is in the README; where between 7 and 10,453 passages to switch is a judgement.
HYBRID_ALPHA_SMALL = 0.8
HYBRID_ALPHA_LARGE = 0.5
LARGE_CORPUS_PASSAGES = 1_000
# Below these scores the best hit is taken not to answer the question. First
# fitted on tests/data/hk_questions.jsonl; `hkai-qa calibrate` refits them.
DEFAULT_THRESHOLDS = {"hybrid": 0.136, "dense": 0.170, "bm25": 0.068}
# A question asking for a number or a date needs one in these first passages (see answer_types).
ANSWER_TYPE_WINDOW = 3

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

    `store` says where the vectors live: "faiss" (files in the index folder),
    "milvus:./hk.db" (Milvus Lite) or "milvus:http://HOST:19530" (a Milvus
    server; token from $MILVUS_TOKEN). Answers do not depend on it. Without
    it, an existing index keeps the store it was built for; a new one uses FAISS.
    `rerank` (a CrossEncoder folder or a loaded CrossEncoder) reorders the best
    candidates; see `hkai_qa.rerank`.
    """

    def __init__(
        self,
        corpus: str | Path | None = None,
        index: str | Path | None = None,
        *,
        model: str | None = None,
        mode: str = DEFAULT_MODE,
        encoder: str = DEFAULT_ENCODER,
        store: str | None = None,
        rerank: str | Path | PairScorer | None = None,
        rebuild: bool = False,
        progress: bool | None = None,
        notify: Notify = _stderr,
    ) -> None:
        self.mode = _check_mode(mode)
        self.reranker = Reranker(rerank, notify=notify) if rerank is not None else None
        store_spec = parse_store(store) if store is not None else None
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
        self.store_spec = store_spec or self._recorded_store()
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
        cls,
        index: str | Path,
        *,
        mode: str = DEFAULT_MODE,
        encoder: str = DEFAULT_ENCODER,
        store: str | None = None,
        rerank: str | Path | PairScorer | None = None,
        notify: Notify = _stderr,
    ) -> QA:
        """Open an existing index alone, without checking it against its corpus.

        Its vectors are read from the store it was built for, unless `store` names another.
        """
        stored = index_store.read_index(index)
        spec = parse_store(store) if store is not None else recorded_spec(stored.manifest)
        vector_store = open_store(spec, Path(index), stored.manifest, stored.faiss_index, stored.vectors)
        qa = cls.__new__(cls)
        qa.mode = _check_mode(mode)
        qa.reranker = Reranker(rerank, notify=notify) if rerank is not None else None
        qa.store_spec = spec
        qa._vector_store = vector_store
        qa.corpus_path = Path(stored.manifest.get("corpus_path", ""))
        qa.index_dir = Path(index)
        qa.embedder = make_embedder(stored.manifest["model"]["name"], encoder, cache=model_cache(), notify=notify)
        qa._notify = notify
        qa._progress = None
        qa._store = stored
        qa._tokens_cache = {}
        return qa

    # --- loading and building --------------------------------------------------------------------

    def _recorded_store(self) -> StoreSpec:
        """With no `store` given: the store the index was built for, or FAISS for a new index."""
        try:
            return recorded_spec(index_store.read_manifest(self.index_dir))
        except IndexStoreError:
            return parse_store(DEFAULT_STORE)

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
                stored = index_store.read_index(self.index_dir)
            except IndexStoreError as error:
                self._notify(f"{error} Rebuilding now.")
                return self._build()
            try:
                self._vector_store = open_store(
                    self.store_spec, self.index_dir, stored.manifest, stored.faiss_index, stored.vectors
                )
            except StoreIncompleteError as error:
                self._notify(f"{error} Building the rest now.")
                return self._build()
            return stored

    def _stale_reason(self, manifest: dict[str, Any]) -> str | None:
        built_for, asked_for = recorded_spec(manifest).label(self.index_dir), self.store_spec.label(self.index_dir)
        if built_for != asked_for:
            return f"built for store {built_for}, asked for {asked_for}"
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
        store = new_store(self.store_spec, self.index_dir)  # first, so an unreachable Milvus fails before any work
        corpus = load_corpus(self.corpus_path)
        passages = split_documents(corpus.documents, self.embedder.count_tokens, self.embedder.max_tokens)
        show = self._progress if self._progress is not None else len(passages) > 500
        if show:
            self._notify(f"building the index for {self.corpus_path} ({len(passages):,} passages) …")
        texts = [p.searchable_text for p in passages]
        model = {
            "name": self.embedder.name,
            "weights_sha256": self.embedder.weights_sha256,
            "dimension": self.embedder.dimension,
            "max_tokens": self.embedder.max_tokens,
            "encoder": self.encoder,
        }
        store_manifest = self._fill_store(store, passages, texts, model, show)
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
            "bm25": {"method": "lucene", "k1": 1.5, "b": 0.75, "stemmer": "english", "stopwords": "en_plus"},
            "abstention": self._built_in_abstention(),
            **store_manifest,
        }
        vectors, faiss_index = (store.matrix, store.index) if isinstance(store, FaissStore) else (None, None)
        index_store.write_index(self.index_dir, manifest, passages, vectors, faiss_index, bm25)
        manifest = index_store.read_manifest(self.index_dir)
        if isinstance(store, FaissStore):
            # Answer from the written file, memory-mapped, rather than the build's scratch copy.
            vectors = np.load(self.index_dir / index_store.VECTORS, mmap_mode="r", allow_pickle=False)
            store.matrix = vectors
        self._vector_store = store
        return index_store.StoredIndex(self.index_dir, manifest, passages, vectors, faiss_index, bm25)

    def _fill_store(
        self, store: VectorStore, passages: list[Passage], texts: list[str], model: dict[str, Any], show: bool
    ) -> dict[str, Any]:
        """Encode the passages into `store`, batch by batch (a Milvus build resumes where one stopped).

        Returns what the manifest records about the store: nothing for FAISS.
        """
        spec = self.store_spec
        record = {
            "model": model["name"],
            "weights_sha256": model["weights_sha256"],
            "dimension": model["dimension"],
            "passage_count": len(passages),
            "fingerprint": build_fingerprint(model, passages),
            "corpus_path": str(self.corpus_path.resolve()),
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        present = store.prepare(record)
        if present:
            self._notify(f"{store.label} already holds {present:,} of {len(passages):,} vectors; adding the rest.")
        if isinstance(store, FaissStore):
            # One streamed pass: batches land in a scratch memory map, so vectors are held once.
            vectors = self._scratch_vectors(len(texts))
            self.embedder.encode(texts, progress=show, out=vectors)
            store.add(range(len(texts)), vectors, passages)
            store.finish()
            return {}
        steps = range(0, len(passages), store.batch_size)
        bar = _progress_bar(len(passages) - present, show and len(steps) > 1)
        for start in steps:
            ids = store.missing(start, min(start + store.batch_size, len(passages)))
            if ids:
                vectors = self.embedder.encode([texts[i] for i in ids], progress=show and len(steps) == 1)
                store.add(ids, vectors, [passages[i] for i in ids])
                bar.update(len(ids))
        bar.close()
        store.finish()
        if spec.kind == "faiss":
            return {}
        return {
            "store": {
                "kind": spec.kind,
                "uri": spec.uri,
                "collection": spec.collection_for(self.index_dir),
                "fingerprint": record["fingerprint"],
            }
        }

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
    def hybrid_alpha(self) -> float:
        """The cosine's weight in hybrid scores: 0.8 below LARGE_CORPUS_PASSAGES passages, 0.5 from there.

        A model whose cosines spread less (e5) brings its own pair, so BM25 keeps the same say.
        """
        small, large = getattr(self.embedder, "hybrid_alphas", (HYBRID_ALPHA_SMALL, HYBRID_ALPHA_LARGE))
        return large if len(self.passages) >= LARGE_CORPUS_PASSAGES else small

    @property
    def threshold(self) -> float:
        """The best-hit score below which this mode says "not in the documents".

        A threshold fitted by `calibrate` is read from the manifest; otherwise the
        model's built-in default applies, even to an index built by an older version.
        """
        return self._threshold(self.mode)

    def _threshold(self, mode: str) -> float:
        built_in = self._built_in_abstention()["thresholds"]
        abstention = self.manifest.get("abstention", {})
        if str(abstention.get("fitted_on", "built-in")).startswith("built-in"):
            return float(built_in[mode])
        return float(abstention.get("thresholds", {}).get(mode, built_in[mode]))

    def _built_in_abstention(self) -> dict[str, Any]:
        """The model's own built-in thresholds (cosine scales differ between models), else MiniLM's."""
        default = {
            "thresholds": dict(DEFAULT_THRESHOLDS),
            "fitted_on": "built-in defaults (tests/data/hk_questions.jsonl)",
        }
        return copy.deepcopy(getattr(self.embedder, "default_abstention", default))

    def ask(self, question: str, k: int = 3) -> Answer:
        """The `k` best passages for `question`, and whether they answer it.

        Raises QuestionError (a ValueError) for an empty, non-text or over-long question.
        """
        return self.ask_many([question], k=k)[0]

    def ask_many(self, questions: Sequence[str], k: int = 3) -> list[Answer]:
        """`ask` for many questions, encoded in batches."""
        return self._ask_many(questions, _check_k(k))

    def _ask_many(self, questions: Sequence[str], k: int, evidence_for: int | None = None) -> list[Answer]:
        """`ask_many` without the MAX_K cap: evaluation needs 100 distinct documents, so more passages.

        `evidence_for` limits evidence to the first hits; finding it costs more than ranking.
        """
        if isinstance(questions, str):
            raise QuestionError("ask_many takes a list of questions; use ask() for one.")
        cleaned = [check_question(q) for q in questions]
        k = min(k, len(self.passages))
        if not cleaned:
            return []
        # A model trained with question and passage prefixes (e5) encodes questions its own way.
        vectors = getattr(self.embedder, "encode_query", self.embedder.encode)(cleaned)
        tokens = bm25_tokenize(cleaned)
        # One dense search for the whole list: FAISS answers a batch far faster than one by one.
        scores, ids = self._vector_store.search(vectors, max(CANDIDATE_DEPTH, k))
        return [
            self._answer(q, v, t, k, evidence_for, (scores[i : i + 1], ids[i : i + 1]))
            for i, (q, v, t) in enumerate(zip(cleaned, vectors, tokens, strict=True))
        ]

    def evaluate(
        self,
        questions: str | Path | QuestionSet,
        *,
        k: Sequence[int] = (1, 3, 5, 10),
        out: str | Path | None = None,
        progress: bool | None = None,
    ) -> EvalReport:
        """Score this QA on a question file (.jsonl, .csv, .json) or a BEIR folder; see `hkai_qa.evaluation`.

        With `out`, also writes metrics.json, per_question.csv, report.md and plot.png there.
        """
        from .evaluation import evaluate

        report = evaluate(self, questions, ks=k, progress=progress)
        if out is not None:
            report.write(out)
        return report

    def calibrate(self, questions: str | Path | QuestionSet) -> dict[str, Calibration]:
        """Fit the abstention threshold of every mode on labelled questions; store them in the manifest.

        The file needs answerable questions and some with `answerable: false`.
        """
        from .calibration import fit_threshold
        from .evaluation import QuestionSet, load_questions

        question_set = questions if isinstance(questions, QuestionSet) else load_questions(questions)
        if question_set.is_beir:
            raise QuestionError(
                f"{question_set.source} is a BEIR folder; calibration needs a question file with some "
                'rows marked "answerable": false.'
            )
        texts = [q.question for q in question_set.questions]
        labels = [q.answerable for q in question_set.questions]
        if all(labels) or not any(labels):
            raise QuestionError(
                f"{question_set.source}: calibration needs both answerable questions and questions the corpus "
                'does not answer (marked "answerable": false).'
            )
        fitted: dict[str, Calibration] = {}
        for mode in MODES:
            answers = self.with_mode(mode)._ask_many(texts, ANSWER_TYPE_WINDOW, evidence_for=0)
            # A question the answer-type rule flags is flagged whatever the threshold: -inf says so.
            best = [
                -math.inf if missing_answer_type(a.question, [h.text for h in a.hits]) else a.best_score
                for a in answers
            ]
            fitted[mode] = fit_threshold(
                [s for s, ok in zip(best, labels, strict=True) if ok],
                [s for s, ok in zip(best, labels, strict=True) if not ok],
            )
        abstention = {
            "thresholds": {mode: c.threshold for mode, c in fitted.items()},
            "fitted_on": str(question_set.source),
            "questions": len(texts),
        }
        self._store.manifest = index_store.update_manifest(self.index_dir, {"abstention": abstention})
        return fitted

    def with_mode(self, mode: str) -> QA:
        """The same corpus, index and model, ranking in another mode (nothing is reloaded)."""
        other = copy.copy(self)
        other.mode = _check_mode(mode)
        return other

    def _answer(
        self,
        question: str,
        vector: np.ndarray,
        tokens: list[str],
        k: int,
        evidence_for: int | None = None,
        dense: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Answer:
        # A question BM25 cannot read (another language than the corpus's) is ranked and judged by meaning alone.
        mode = fusion_mode(self.mode, tokens, self._store.bm25)
        ranked = rank_passages(
            mode,
            vector,
            tokens,
            self._vector_store,
            self._store.bm25,
            depth=max(CANDIDATE_DEPTH, k),
            alpha=self.hybrid_alpha,
            dense=dense,
            keep=max(k, self.reranker.depth if self.reranker else 0),
        )
        # Whether the corpus answers is the retrieval's call, made before any reranking.
        best_score = round(ranked[0].score, 6) if ranked else 0.0
        rerank_scores: dict[int, float] = {}
        if self.reranker is not None and ranked:
            head, tail = ranked[: self.reranker.depth], ranked[self.reranker.depth :]
            scores = self.reranker.scores(question, [self._store.passages[r.passage].text for r in head])
            rerank_scores = {r.passage: float(s) for r, s in zip(head, scores, strict=True)}
            ranked = [head[i] for i in np.argsort(-scores, kind="stable")] + tail
        ranked = ranked[:k]
        hits = [
            self._hit(
                position,
                r,
                tokens if evidence_for is None or position <= evidence_for else [],
                rerank_scores.get(r.passage),
            )
            for position, r in enumerate(ranked, start=1)
        ]
        notes = []
        answerable = bool(hits) and best_score >= self._threshold(mode)
        missing = missing_answer_type(question, [h.text for h in hits[:ANSWER_TYPE_WINDOW]])
        if answerable and missing:
            answerable = False
            notes.append(f"The question asks for a {missing}, and none of the best passages gives one.")
        if mode != self.mode:
            notes.append(
                "Few of this question's words occur in the documents (another language?), so it was "
                f"ranked by meaning alone and judged against the dense threshold {self._threshold(mode):.3f}."
            )
        if _has_cjk(question) and self.embedder.spec.is_default:
            notes.append(
                "The default model reads English only: these hits may be unrelated. "
                "For other languages, build with a multilingual model: --model multilingual-e5-small."
            )
        return Answer(question=question, hits=hits, answerable=answerable, notes=notes, best_score=best_score)

    def _hit(self, position: int, ranked, tokens: list[str], rerank_score: float | None = None) -> Hit:
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
            rerank_score=None if rerank_score is None else round(rerank_score, 6),
        )

    def _idf(self, token: str) -> float:
        from .retrieval import bm25_ceiling

        if token not in self._tokens_cache:
            self._tokens_cache[token] = bm25_ceiling(self._store.bm25, [token])
        return self._tokens_cache[token]


def _progress_bar(total: int, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not show, unit="passage", desc="embedding")


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise QuestionError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}.{did_you_mean(mode, MODES)}")
    return mode
