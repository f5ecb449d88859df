"""`QA`: a corpus, its index and a model, ready to answer questions.

The façade over the layers below: `build` finds, checks and builds the index,
`ranking` orders passages, `answer` turns them into an Answer, `calibration` and
`evaluation` score the whole. Loading reuses the index on disk when its manifest
matches the corpus, store and model; otherwise it is rebuilt, with a notice on the
"hkai_qa" logger.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import index_store
from ._defaults import (
    CANDIDATE_DEPTH,
    DEFAULT_ENCODER,
    DEFAULT_K,
    DEFAULT_KS,
    DEFAULT_MODE,
    MODES,
    hybrid_alpha,
    sentence_share,
)
from .answer import (
    MEANING_ALONE_NOTE,
    Answer,
    assemble,
    check_k,
    check_mode,
    check_question,
    has_cjk,
    rerank,
    threshold_for,
)
from .build import Builder, LoadedIndex, Notify, built_in_abstention, locate, log_notice, model_cache, open_index
from .errors import CorpusError, QuestionError
from .lexical import bm25_ceiling, bm25_tokenize
from .onnx_encoder import make_embedder
from .ranking import exact_token_alpha, fusion_mode, judged_score, rank_passages
from .rerank import PairScorer, Reranker
from .stores import parse_store
from .term_coverage import GAIN_PASSAGES, MEANING_PASSAGES, CorpusTerms, unmentioned_term

if TYPE_CHECKING:
    from .calibration import Calibration
    from .passages import Passage
    from .questions import QuestionSet
    from .report import EvalReport
    from .stores import StoreSpec, VectorStore
    from .update import UpdateReport


class QA:
    """Question answering over one corpus.

    >>> qa = QA()                                  # the bundled article
    >>> qa = QA(corpus="my_docs/", index="my_index/")
    >>> qa.ask("Which sectors use AI?", k=3).hits[0].section

    `store` says where the vectors live: "faiss" (files in the index folder),
    "milvus:./hk.db" (Milvus Lite) or "milvus:http://HOST:19530" (a Milvus
    server; token from $MILVUS_TOKEN). Answers do not depend on it. Without
    `index`, each corpus, store and model gets its own folder under the index root;
    a named `index` keeps the store and model it was built with unless told others.
    `rerank` (a CrossEncoder folder or a loaded CrossEncoder) reorders the best
    candidates; see `hkai_qa.rerank`. Notices (rebuilding, fallbacks) go to
    `notify`, by default the "hkai_qa" logger at INFO.
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
        notify: Notify = log_notice,
    ) -> None:
        spec = parse_store(store) if store is not None else None
        where = locate(corpus, index, store=spec, model=model, rebuild=rebuild)
        corpus_path, index_dir, store_spec = where.corpus_path, where.index_dir, where.store_spec
        embedder = make_embedder(where.model, encoder, cache=model_cache(), notify=notify)
        if not corpus_path.exists():
            raise CorpusError(
                f"corpus path {corpus_path} does not exist. "
                "Pass a file or folder of .txt, .md, .pdf, .html or .docx files, or a BEIR corpus."
            )
        reranker = Reranker(rerank, notify=notify) if rerank is not None else None
        if not rebuild and hasattr(embedder, "preload"):
            embedder.preload()
        builder = Builder(corpus_path, index_dir, store_spec, embedder, progress=progress, notify=notify)
        loaded = builder.load_or_build(rebuild)
        self._setup(mode, reranker, corpus_path, index_dir, store_spec, embedder, loaded, notify)
        self.last_update = builder.last_update
        self.behind = builder.behind

    @classmethod
    def load(
        cls,
        index: str | Path,
        *,
        mode: str = DEFAULT_MODE,
        encoder: str = DEFAULT_ENCODER,
        store: str | None = None,
        rerank: str | Path | PairScorer | None = None,
        notify: Notify = log_notice,
    ) -> QA:
        """Open an existing index alone, without checking it against its corpus.

        Its vectors are read from the store it was built for, unless `store` names another.
        """
        loaded, spec = open_index(Path(index), parse_store(store) if store is not None else None)
        manifest = loaded.stored.manifest
        embedder = make_embedder(manifest["model"]["name"], encoder, cache=model_cache(), notify=notify)
        reranker = Reranker(rerank, notify=notify) if rerank is not None else None
        qa = cls.__new__(cls)
        corpus_path = Path(manifest.get("corpus_path", ""))
        qa._setup(mode, reranker, corpus_path, Path(index), spec, embedder, loaded, notify)
        return qa

    def _setup(
        self,
        mode: str,
        reranker: Reranker | None,
        corpus_path: Path,
        index_dir: Path,
        store_spec: StoreSpec,
        embedder: Any,
        loaded: LoadedIndex,
        notify: Notify,
    ) -> None:
        """The one place a QA's state is set, shared by `__init__` and `load`."""
        self.mode = check_mode(mode)
        self.reranker = reranker
        self.corpus_path = corpus_path
        self.index_dir = index_dir
        self.store_spec = store_spec
        self.embedder = embedder
        self._notify = notify
        # One reference to the whole index, so `refresh` swaps it at once under questions in other threads.
        self._loaded = loaded
        self._refresh_lock = threading.Lock()
        self.last_update: UpdateReport | None = None  # what the last build or refresh did; None: nothing to do
        # Why the index answering is behind its corpus (another process was updating it when this one
        # opened it), else None; `refresh()` waits for that update.
        self.behind: str | None = None

    @property
    def _store(self) -> index_store.StoredIndex:
        return self._loaded.stored

    @property
    def _vector_store(self) -> VectorStore:
        return self._loaded.vectors

    def refresh(self) -> UpdateReport | None:
        """Bring the index up to date with the corpus: embed new or changed passages only, then swap it in.

        Questions asked meanwhile (in other threads) are answered from the old index;
        the new one replaces it in one step once fully built. Returns what changed,
        or None when the index was already current (also in `last_update`).
        """
        with self._refresh_lock:
            builder = Builder(
                self.corpus_path, self.index_dir, self.store_spec, self.embedder, progress=False, notify=self._notify
            )
            loaded = builder.load_or_build(wait=True)
            if builder.last_update is not None or self.behind:
                self._loaded = loaded
            self.last_update = builder.last_update
            self.behind = None
            return builder.last_update

    # --- what it holds -----------------------------------------------------------------------------

    @property
    def passages(self) -> list[Passage]:
        return self._store.passages

    @property
    def manifest(self) -> dict[str, Any]:
        return self._store.manifest

    @property
    def vector_store(self) -> VectorStore:
        """Where the passage vectors are searched (FAISS or Milvus): for measuring the store alone."""
        return self._vector_store

    @property
    def encoder(self) -> str:
        """What encodes questions (and builds) here: "onnx", or "torch" after a fallback."""
        return getattr(self.embedder, "backend", "torch")

    @property
    def corpus_name(self) -> str:
        return str(self.manifest.get("corpus_name") or self.corpus_path.name)

    @property
    def hybrid_alpha(self) -> float:
        """The cosine's weight in hybrid scores (`_defaults.hybrid_alpha` of the passage count)."""
        # A model whose cosines spread less (e5) brings its own pair, so BM25 keeps the same say.
        return self._hybrid_alpha(self._loaded)

    def _hybrid_alpha(self, loaded: LoadedIndex) -> float:
        return hybrid_alpha(len(loaded.stored.passages), getattr(self.embedder, "hybrid_alphas", None))

    def _question_alpha(self, loaded: LoadedIndex, tokens: list[str]) -> float:
        """The cosine's weight for one question: lower when it names a flag, version or dotted name (ranking.py).

        Not for a model with its own weights (e5), whose abstention rule was derived at those weights.
        """
        alpha = self._hybrid_alpha(loaded)
        if getattr(self.embedder, "hybrid_alphas", None) is not None:
            return alpha
        return exact_token_alpha(alpha, tokens, loaded.stored.bm25)

    @property
    def threshold(self) -> float:
        """The best-hit score below which this mode says "not in the documents".

        A threshold fitted by `calibrate` is read from the manifest; otherwise the
        model's built-in default applies, even to an index built by an older version.
        """
        return self._threshold(self.mode)

    def _threshold(self, mode: str, loaded: LoadedIndex | None = None) -> float:
        manifest = (loaded or self._loaded).stored.manifest
        return threshold_for(manifest, mode, built_in_abstention(self.embedder)["thresholds"])

    # --- asking -------------------------------------------------------------------------------------

    def ask(self, question: str, k: int = DEFAULT_K) -> Answer:
        """The `k` best passages for `question`, and whether they answer it.

        Raises QuestionError (a ValueError) for an empty, non-text or over-long question.
        """
        return self.ask_many([question], k=k)[0]

    def ask_many(self, questions: Sequence[str], k: int = DEFAULT_K) -> list[Answer]:
        """`ask` for many questions, encoded in batches (at most MAX_K passages each)."""
        return self.retrieve(questions, check_k(k))

    def retrieve(
        self, questions: Sequence[str], k: int, *, evidence_for: int | None = None, threshold: float | None = None
    ) -> list[Answer]:
        """`ask_many` without the MAX_K cap, for evaluation: BEIR's recall@100 needs 100 distinct documents.

        `evidence_for` finds evidence sentences for the first that many hits only
        (0: none); finding it costs more than ranking. `threshold` judges the best
        score against another abstention threshold than the index's (calibration
        passes -inf, so only the rules that decline whatever the score do).
        """
        if isinstance(questions, str):
            raise QuestionError("ask_many takes a list of questions; use ask() for one.")
        k = check_k(k, limit=None)
        cleaned = [check_question(q) for q in questions]
        loaded = self._loaded  # one index for the whole call, even if `refresh` swaps in another meanwhile
        k = min(k, len(loaded.stored.passages))
        if not cleaned:
            return []
        # A model trained with question and passage prefixes (e5) encodes questions its own way.
        vectors = getattr(self.embedder, "encode_query", self.embedder.encode)(cleaned)
        tokens = bm25_tokenize(cleaned)
        # One dense search for the whole list: FAISS answers a batch far faster than one by one.
        scores, ids = loaded.vectors.search(vectors, max(CANDIDATE_DEPTH, k))
        return [
            self._answer(loaded, q, v, t, k, evidence_for, (scores[i : i + 1], ids[i : i + 1]), threshold)
            for i, (q, v, t) in enumerate(zip(cleaned, vectors, tokens, strict=True))
        ]

    def _answer(
        self,
        loaded: LoadedIndex,
        question: str,
        vector,
        tokens: list[str],
        k: int,
        evidence_for: int | None,
        dense,
        threshold: float | None = None,
    ) -> Answer:
        # A question BM25 cannot read (another language than the corpus's) is ranked and judged by meaning alone.
        bm25, passages = loaded.stored.bm25, loaded.stored.passages
        mode = fusion_mode(self.mode, tokens, bm25)
        ranked = rank_passages(
            mode,
            vector,
            tokens,
            loaded.vectors,
            bm25,
            depth=max(CANDIDATE_DEPTH, k),
            alpha=self._question_alpha(loaded, tokens),
            dense=dense,
            sentences=loaded.stored.sentences,
            sentence_share=sentence_share(len(passages), getattr(self.embedder, "hybrid_alphas", None)),
            rescaled=getattr(self.embedder, "rescaled_ranking", False),
            windows=loaded.stored.windows,
        )
        # Whether the corpus answers is the retrieval's call, made before any reranking, over every candidate.
        best_score = round(judged_score(ranked), 6)
        retrieved = ranked[:MEANING_PASSAGES]
        ranked = ranked[: max(k, self.reranker.depth if self.reranker else 0)]
        rerank_scores: dict[int, float] = {}
        if self.reranker is not None and ranked:
            ranked, rerank_scores = rerank(question, ranked, passages, self.reranker.scores, self.reranker.depth)

        def weight(token: str) -> float:
            if token not in loaded.idf_cache:
                loaded.idf_cache[token] = bm25_ceiling(bm25, [token])
            return loaded.idf_cache[token]

        return assemble(
            question,
            ranked,
            passages,
            k=k,
            threshold=self._threshold(mode, loaded) if threshold is None else threshold,
            best_score=best_score,
            tokens=tokens,
            weight=weight,
            evidence_for=evidence_for,
            rerank_scores=rerank_scores,
            english_only=self.embedder.spec.is_default,
            notes=[] if mode == self.mode else [MEANING_ALONE_NOTE.format(threshold=self._threshold(mode, loaded))],
            unmentioned_term=lambda: self._unmentioned_term(loaded, question, retrieved),
        )

    def _unmentioned_term(self, loaded: LoadedIndex, question: str, retrieved: list) -> str | None:
        """The question's key term the documents never mention (hkai_qa.term_coverage), else None."""
        if not retrieved or has_cjk(question):  # the model reads English only; the corpus may not
            return None
        if loaded.corpus_terms is None:
            loaded.corpus_terms = CorpusTerms.of(loaded.stored.passages)
        import numpy as np

        top = [r.passage for r in retrieved][:GAIN_PASSAGES]
        sentences = loaded.stored.sentences
        count = len(loaded.stored.passages)
        # The gain is measured as ranking sees a passage: through its own vector and its windows'.
        best_vectors = loaded.vectors.vectors(top)
        if loaded.stored.windows is not None:
            best_vectors = np.vstack([best_vectors, loaded.stored.windows.of_passages(top)])

        def sentence_closeness(vectors):
            return np.array([sentences.closest(v, count)[top].max() for v in vectors])

        return unmentioned_term(
            question,
            loaded.corpus_terms,
            [loaded.stored.passages[r.passage] for r in retrieved],
            best_vectors,
            getattr(self.embedder, "encode_query", self.embedder.encode),
            self.embedder.encode,
            None if sentences is None else sentence_closeness,
        )

    def with_mode(self, mode: str) -> QA:
        """The same corpus, index and model, ranking in another mode (nothing is reloaded)."""
        other = copy.copy(self)
        other.mode = check_mode(mode)
        return other

    # --- scoring --------------------------------------------------------------------------------------

    def evaluate(
        self,
        questions: str | Path | QuestionSet,
        *,
        k: Sequence[int] = DEFAULT_KS,
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
        from .calibration import calibrate

        fitted, abstention = calibrate(self, questions, MODES)
        self._store.manifest = index_store.update_manifest(self.index_dir, {"abstention": abstention})
        return fitted
