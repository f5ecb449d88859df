"""Every choice hkai-qa makes for you, in one place: the CLI, the library and the manifest read them here."""

from __future__ import annotations

MODES = ("hybrid", "dense", "bm25")
DEFAULT_MODE = "hybrid"
ENCODERS = ("onnx", "torch")
DEFAULT_ENCODER = "onnx"
DEFAULT_STORE = "faiss"

# Lucene-variant BM25 as bm25s computes it; recorded in every manifest. An index recorded with other
# parameters has its BM25 rebuilt once. Bump "tokens" when `lexical.bm25_tokenize` changes what it makes
# of a text (2: flags, versions and dotted names also kept whole).
BM25_PARAMETERS = {
    "method": "lucene",
    "k1": 1.5,
    "b": 0.75,
    "stemmer": "english",
    "stopwords": "en_plus",
    "tokens": 2,
}

# The cosine's share of the hybrid score. BM25's idf needs documents to mean anything: over the
# article's few passages dense-heavy fusion wins, over SciFact an even split does
# (benchmarks/fusion_settings.py measures both). Where between them to switch is a judgement.
HYBRID_ALPHA_SMALL = 0.8
HYBRID_ALPHA_LARGE = 0.5
LARGE_CORPUS_PASSAGES = 1_000
# The closest sentence's share of the hybrid score, taken from the cosine's, on corpora small enough to
# have sentence vectors (hkai_qa.sentence_vectors; benchmarks/quality.py measures it). A model with
# its own hybrid weights (e5) uses its sentences its own way (ranking.rescaled_order), not this share.
SENTENCE_SHARE = 0.2
# How many of the model's windows a passage may span where sentences are embedded (a small corpus,
# MiniLM's weights): a section keeps its introducing prose, its code and the sentence after the code
# in one hit, and each model window inside a longer passage gets its own vector (hkai_qa.window_vectors),
# the passage's cosine being its best window's, so no part of it is left unseen (docs/design.md,
# "Passages as long as their section").
LONG_PASSAGE_WINDOWS = 2

# Below these scores the best hit is taken not to answer the question. First
# fitted on tests/data/hk_questions.jsonl; `hkai-qa calibrate` refits them.
DEFAULT_THRESHOLDS = {"hybrid": 0.136, "dense": 0.170, "bm25": 0.068}
DEFAULT_THRESHOLDS_SOURCE = "built-in defaults (tests/data/hk_questions.jsonl)"
# A question asking for a number or a date needs one in these first passages (see answer_types).
ANSWER_TYPE_WINDOW = 3

MAX_QUESTION_CHARS = 2000
DEFAULT_K = 3
MAX_K = 100  # passages `ask` returns at most; `QA.retrieve` (evaluation) has no cap
CANDIDATE_DEPTH = 100  # passages each ranking contributes before fusion
DEFAULT_KS = (1, 3, 5, 10)  # hit@k cut-offs of an evaluation


def hybrid_alpha(passage_count: int, alphas: tuple[float, float] | None = None) -> float:
    """The cosine's weight in hybrid scores for an index of `passage_count` passages.

    `alphas` (small corpus, large corpus) is a model's own pair; MiniLM's when None.
    """
    small, large = alphas or (HYBRID_ALPHA_SMALL, HYBRID_ALPHA_LARGE)
    return large if passage_count >= LARGE_CORPUS_PASSAGES else small


def embeds_sentences(passage_count: int) -> bool:
    """Whether an index of `passage_count` passages gets sentence vectors (one more vector a sentence: small only)."""
    return passage_count < LARGE_CORPUS_PASSAGES


def sentence_share(passage_count: int, alphas: tuple[float, float] | None = None) -> float:
    """The closest sentence's weight in hybrid scores: 0 for large corpora and for models with their own weights."""
    return SENTENCE_SHARE if alphas is None and embeds_sentences(passage_count) else 0.0


def passage_budget(max_tokens: int, passage_count: int, alphas: tuple[float, float] | None = None) -> int:
    """Tokens a passage may hold, given the model's window and the count of passages cut at that window.

    LONG_PASSAGE_WINDOWS windows where the closest sentence has a share of the score (a small corpus,
    MiniLM's weights: every sentence and every window of a long passage is embedded), else the model's
    window: a large corpus's passage vector is all that is embedded of it.
    """
    return int(max_tokens * LONG_PASSAGE_WINDOWS) if sentence_share(passage_count, alphas) > 0 else max_tokens
