"""BM25 over the passages (bm25s): tokenize, build, score, load.

Tokens are folded, stop-worded and Snowball-stemmed English words (the same
words bm25s makes itself; a test checks), CJK text as character bigrams, and
flags, versions and dotted names kept whole.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._defaults import BM25_PARAMETERS
from .folding import fold_keeping_case

if TYPE_CHECKING:
    import bm25s


CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")


def _cjk_bigrams(match: re.Match) -> str:
    """Chinese, Japanese and Korean have no spaces: index overlapping character pairs."""
    run = match.group()
    if len(run) == 1:
        return f" {run}{run} "
    return " " + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + " "


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's (and scikit-learn's) token pattern
# What people type about technical documents that bm25s's pattern loses, kept whole beside the words:
# a command-line flag (-L, --license; its one letter alone was dropped), a version (0.9.0; single digits
# were dropped) and a dotted name (app.state; only its parts were kept). Identifiers such as kw_only
# or TestClient are already one word. Numbers with one dot are mostly decimals in prose, so not kept.
# Each alternative starts with the character it needs (its lookbehind after it), which keeps the scan as
# fast as bm25s's own pattern; a dotted name's trailing full stop is dropped in `_whole`.
_WHOLE = re.compile(r"-(?<![\w-]-)-?[A-Za-z][\w-]*|\d(?<![\d.]\d)\d*(?:\.\d+){2,}|\b[A-Za-z_]\w*\.[A-Za-z_][\w.]*")
_STOPWORDS: frozenset[str] | None = None
_STEMS: dict[str, str] = {}  # word -> Snowball stem; words stem alone, so this is exact
_STEMS_LIMIT = 200_000
_STEMMER_LOCK = threading.Lock()


def _whole(token: str) -> str:
    """A whole token as indexed: case-folded, except a one-dash flag, whose case is its meaning (-v, -V)."""
    return token if token[0] == "-" and token[1] != "-" else token.rstrip(".").casefold()


def is_whole_token(token: str) -> bool:
    """Whether a token of `bm25_tokenize` is one kept whole (words never start with a dash nor hold a dot)."""
    return token[0] == "-" or "." in token


def bm25_tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Folded, stop-worded, Snowball-stemmed English words, then flags, versions and dotted names whole.

    CJK text gives character bigrams. The words are the same as `bm25s.tokenize(...,
    stopwords="en_plus", stemmer=english)` gives (a test checks), without its per-call
    progress bars and per-text stopword sets, which cost more than the search for a
    single question. The whole tokens are neither stemmed nor stop-worded.
    """
    stop = stopwords()
    spelt = [CJK_RUN.sub(_cjk_bigrams, fold_keeping_case(text)) for text in texts]
    words = [[w for w in _TOKEN.findall(text.casefold().lower()) if w not in stop] for text in spelt]
    stems = stem_words({w for text_words in words for w in text_words})
    return [
        [stems[w] for w in text_words] + [_whole(t) for t in _WHOLE.findall(text)]
        for text_words, text in zip(words, spelt, strict=True)
    ]


def stopwords() -> frozenset[str]:
    """bm25s's English stopword list ("en_plus"), loaded once."""
    global _STOPWORDS
    if _STOPWORDS is None:
        from bm25s.stopwords import STOPWORDS_EN_PLUS

        _STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
    return _STOPWORDS


def stem_words(words: Iterable[str]) -> dict[str, str]:
    """Each of `words` (lower-case) with its Snowball English stem, remembered across calls."""
    known = _STEMS  # only ever grows, so a word found here stays found
    words = set(words)
    missing = [w for w in words if w not in known]
    stemmed: dict[str, str] = {}
    if missing:
        import Stemmer

        with _STEMMER_LOCK:  # a PyStemmer object must not be used by two threads at once
            stemmed = dict(zip(missing, _stemmer(Stemmer).stemWords(missing), strict=True))
        if len(known) < _STEMS_LIMIT:  # a big corpus's whole vocabulary is not kept for the process's life
            known.update(stemmed)
    return {w: known.get(w) or stemmed[w] for w in words}


_STEMMER = None


def _stemmer(stemmer_module):
    global _STEMMER
    if _STEMMER is None:
        _STEMMER = stemmer_module.Stemmer("english")
    return _STEMMER


def build_bm25(texts: Sequence[str]) -> bm25s.BM25:
    """A Lucene-variant BM25 (k1=1.5, b=0.75) over `texts`."""
    import bm25s

    retriever = bm25s.BM25(method=BM25_PARAMETERS["method"], k1=BM25_PARAMETERS["k1"], b=BM25_PARAMETERS["b"])
    tokens = bm25_tokenize(texts)
    # bm25s cannot index a corpus with no tokens at all; an empty token keeps it valid.
    retriever.index([t or [""] for t in tokens], show_progress=False)
    return retriever


def bm25_scores(retriever: bm25s.BM25, query_tokens: list[str]) -> np.ndarray:
    """BM25 score of every passage for one tokenized query (zeros if no token is known)."""
    known = retriever.get_tokens_ids(query_tokens)
    if not known:
        return np.zeros(retriever.scores["num_docs"], dtype=np.float32)
    return np.asarray(retriever.get_scores_from_ids(known), dtype=np.float32)


def bm25_ceiling(retriever: bm25s.BM25, query_tokens: list[str]) -> float:
    """The highest BM25 score any passage could reach for this query: the sum of its terms' idf.

    Lucene BM25's term-frequency factor stays below 1, so dividing by this
    ceiling gives a coverage in [0, 1) that means the same for every question.
    """
    known = retriever.get_tokens_ids(query_tokens)
    if not known:
        return 0.0
    indptr = retriever.scores["indptr"]
    n_docs = retriever.scores["num_docs"]
    ids = np.asarray(known, dtype=np.int64)
    df = (indptr[ids + 1] - indptr[ids]).astype(np.float64)
    return float(np.log1p((n_docs - df + 0.5) / (df + 0.5)).sum())


def load_bm25(folder: Path) -> bm25s.BM25:
    """A saved BM25 index, its arrays read without pickles."""
    import bm25s

    return bm25s.BM25.load(str(folder), mmap=False, allow_pickle=False, load_corpus=False)
