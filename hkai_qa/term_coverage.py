"""Near-miss questions: a question whose key word the documents never mention is not answered by them.

A question on the corpus's topic that the corpus does not answer ("What is the
minimum wage in Hong Kong?" over an article on Hong Kong's AI scene) scores like
a real question with a bi-encoder: the topic matches. What gives it away is a
word the documents never use. A missing word alone proves little (paraphrases,
typos and long questions are full of them), so a word counts only when all of:

- no passage holds it (as written or stemmed), nor a word spelled almost like it (a typo);
- it is a key word: a name (SQLAlchemy, Kubernetes, TLS: written with capitals
  inside a question that is not in title case), or a word whose dropping brings the
  question closer to its best passages, by at least KEY_WORD_GAIN in cosine (the
  word pulls away from what they say; a paraphrase's words pull towards it), and
  closer to their closest sentence too where the index has sentence vectors;
- no word of the best passages means nearly the same (cosine below SAME_MEANING
  between the two words alone), so "scams" still finds "fraud".

A version number ("Python 3.14") the documents never mention counts on its own.

Words the documents do use can still name what they never say when the question
writes two of them side by side ("TLS certificates", "email addresses"): such a
pair counts when no passage holds the two next to each other (stopwords between
are skipped, either order), when dropping both brings the question closer to its
best passages by KEY_WORD_GAIN, and when no word of the best passages means nearly
the same as the two together.

`CorpusTerms` holds the corpus's words and word pairs, made once per loaded index;
`unmentioned_term` applies the rule to one question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import TYPE_CHECKING

from .lexical import stem_words, stopwords

if TYPE_CHECKING:
    import numpy as np

    from .passages import Passage

# How much closer (in cosine) a question must come to its best passages once a missing word is
# dropped for that word to be the one the question turns on.
KEY_WORD_GAIN = 0.05
# A missing word this close (cosine of the two words alone) to a word of the best passages is said
# there in other words.
SAME_MEANING = 0.6
# Passages whose words are searched for one meaning the same, and passages whose vectors measure the gain.
MEANING_PASSAGES = 5
GAIN_PASSAGES = 3
# difflib's similarity ratio from which a missing word is taken as a misspelling of a corpus word.
TYPO_RATIO = 0.8
# Word vectors kept per index at most: a large corpus's whole vocabulary would hold tens of megabytes.
MAX_CACHED_WORDS = 20_000

_WORD = re.compile(r"[^\W\d_]{3,}")  # alphabetic words of three letters or more
_VERSION = re.compile(r"(?<![\w.])\d+(?:\.\d+)+(?![\w.]*\d)")  # 3.14, 2.6, 1.2.3 (not 5 or 2018)
_NUMBER_IN_TEXT = re.compile(r"\d+(?:\.\d+)+")
_SIDE_BY_SIDE = re.compile(r"[\s-]+")  # what may stand between two words a question writes as one phrase


@dataclass
class CorpusTerms:
    """The words and version numbers a corpus uses, and vectors of the words looked up so far."""

    words: frozenset[str]  # lower-case words and their stems
    by_initial: dict[str, list[str]]  # the distinct words by first letter, for typo matching
    versions: frozenset[str]  # dotted numbers and their leading parts ("3.12.1" -> "3.12")
    pairs: np.ndarray  # sorted hashes of the stem pairs passages hold next to each other (`pair_key`)
    word_vectors: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, passages: Sequence[Passage]) -> CorpusTerms:
        import numpy as np

        words: set[str] = set()
        versions: set[str] = set()
        pairs: set[int] = set()
        for passage in passages:
            text = f"{passage.heading}\n{passage.text}"
            words.update(w.lower() for w in _WORD.findall(text))
            for number in _NUMBER_IN_TEXT.findall(text):
                parts = number.split(".")
                versions.update(".".join(parts[:n]) for n in range(2, len(parts) + 1))
            for part in (passage.heading, passage.text):
                stems = _content_stems(part)
                pairs.update(pair_key(a, b) for a, b in zip(stems, stems[1:], strict=False))
        by_initial: dict[str, list[str]] = {}
        for word in sorted(words):
            by_initial.setdefault(word[0], []).append(word)
        return cls(
            frozenset(words | set(stem_words(words).values())),
            by_initial,
            frozenset(versions),
            np.array(sorted(pairs), dtype=np.int64),
        )

    def mentions(self, word: str) -> bool:
        lower = word.lower()
        return lower in self.words or stem_words([lower])[lower] in self.words

    def holds_together(self, first: str, second: str) -> bool:
        """Whether some passage has these two words next to each other (stemmed, stopwords between skipped)."""
        import numpy as np

        stems = stem_words([first.lower(), second.lower()])
        key = pair_key(stems[first.lower()], stems[second.lower()])
        position = int(np.searchsorted(self.pairs, key))
        return position < len(self.pairs) and int(self.pairs[position]) == key

    def misspells(self, word: str) -> bool:
        """Whether `word` is spelled almost like a corpus word (a typo of it)."""
        lower = word.lower()
        return bool(get_close_matches(lower, self.by_initial.get(lower[0], []), n=1, cutoff=TYPO_RATIO))


def pair_key(first: str, second: str) -> int:
    """One number for two stems in either order (Python's hash: the pairs live as long as the process)."""
    return hash((first, second) if first <= second else (second, first))


def _content_stems(text: str) -> list[str]:
    stop = stopwords()
    words = [w.lower() for w in _WORD.findall(text)]
    stems = stem_words(words)
    return [stems[w] for w in words if w not in stop]


def unheld_pairs(question: str, terms: CorpusTerms) -> list[tuple[str, str]]:
    """Two content words the question writes side by side that no passage holds together, as written."""
    stop = stopwords()
    found = []
    matches = list(_WORD.finditer(question))
    for first, second in zip(matches, matches[1:], strict=False):
        words = first.group(), second.group()
        side_by_side = _SIDE_BY_SIDE.fullmatch(question[first.end() : second.start()])
        if side_by_side and not {w.lower() for w in words} & stop and not terms.holds_together(*words):
            found.append(words)
    return found


def missing_words(question: str, terms: CorpusTerms) -> list[str]:
    """The question's content words that no passage uses and that are no misspelling of one, in order."""
    stop = stopwords()
    seen: dict[str, str] = {}
    for word in _WORD.findall(question):
        lower = word.lower()
        if lower not in stop and lower not in seen and not terms.mentions(word) and not terms.misspells(word):
            seen[lower] = word
    return list(seen.values())


def unmentioned_version(question: str, terms: CorpusTerms) -> str | None:
    """A version number in the question that the documents never mention, else None."""
    return next((v for v in _VERSION.findall(question) if v not in terms.versions), None)


def written_as_names(question: str) -> list[str]:
    """The question's words written as names: capitals after its first word ("Redis", "GraphQL", "TLS").

    None in a question written in title case or in capitals, where capitals mark nothing.
    """
    words = _WORD.findall(question)[1:]
    capitalised = [w for w in words if w[0].isupper()]
    if 2 * len(capitalised) > len(words):
        return []
    return [w for w in words if any(c.isupper() for c in w)]


def without(question: str, word: str) -> str:
    """The question with every occurrence of `word` dropped."""
    return " ".join(re.sub(rf"(?i)\b{re.escape(word)}\b", " ", question).split())


def unmentioned_term(
    question: str,
    terms: CorpusTerms,
    best_passages: Sequence[Passage],
    best_vectors: np.ndarray,
    encode_question: Callable[[list[str]], np.ndarray],
    encode_words: Callable[[list[str]], np.ndarray],
    sentence_closeness: Callable[[np.ndarray], np.ndarray] | None = None,
) -> str | None:
    """The question's key term that the documents never mention (see the module docstring), else None.

    `best_passages` are the question's best passages, best first; `best_vectors` the
    stored vectors of the first GAIN_PASSAGES of them and of their windows; `sentence_closeness`, when
    the index has sentence vectors, gives each question vector's cosine to the
    closest sentence of those passages. The term is returned as the question
    writes it, with the missing words beside it that also pull away ("minimum wage").
    """
    import numpy as np

    version = unmentioned_version(question, terms)
    if version is not None:
        return version
    missing = missing_words(question, terms)
    pairs = unheld_pairs(question, terms)
    if not missing and not pairs:
        return None
    dropped = [without(question, w) for w in missing] + [without(without(question, a), b) for a, b in pairs]
    vectors = encode_question([question, *dropped])
    closeness = (vectors @ best_vectors.T).max(axis=1)
    gains = closeness[1:] - closeness[0]
    if sentence_closeness is not None:
        sentences = sentence_closeness(vectors)
        gains = np.minimum(gains, sentences[1:] - sentences[0])
    word_gains, pair_gains = gains[: len(missing)], gains[len(missing) :]
    names = set(written_as_names(question))
    keys = [w for w, gain in zip(missing, word_gains, strict=True) if gain >= KEY_WORD_GAIN or w in names]
    key_pairs = [f"{a} {b}" for (a, b), gain in zip(pairs, pair_gains, strict=True) if gain >= KEY_WORD_GAIN]
    if not keys and not key_pairs:
        return None
    said = _best_passage_words(best_passages[:MEANING_PASSAGES], terms, encode_words)

    def said_otherwise(term: str) -> bool:
        return (
            said is not None
            and float((_word_vectors([term.lower()], terms, encode_words) @ said.T).max()) >= SAME_MEANING
        )

    pulling_away = {w.lower() for w, gain in zip(missing, word_gains, strict=True) if gain > 0}
    for key in keys:
        if not said_otherwise(key):
            return _phrase_around(question, key, pulling_away)
    return next((pair for pair in key_pairs if not said_otherwise(pair)), None)


def _best_passage_words(passages: Sequence[Passage], terms: CorpusTerms, encode_words) -> np.ndarray | None:
    stop = stopwords()
    words = sorted(
        {w.lower() for p in passages for w in _WORD.findall(f"{p.heading}\n{p.text}")} - stop,
    )
    return _word_vectors(words, terms, encode_words) if words else None


def _word_vectors(words: list[str], terms: CorpusTerms, encode_words) -> np.ndarray:
    """Vectors of `words`, each encoded once per index (up to MAX_CACHED_WORDS kept).

    Read from a snapshot, so another question emptying the shared cache meanwhile costs only a re-encoding.
    """
    import numpy as np

    cache = terms.word_vectors
    found = {w: cache.get(w) for w in words}
    new = [w for w, vector in found.items() if vector is None]
    if new:
        encoded = dict(zip(new, encode_words(new), strict=True))
        found.update(encoded)
        if len(cache) + len(encoded) > MAX_CACHED_WORDS:
            cache.clear()
        cache.update(encoded)
    return np.stack([found[w] for w in words])


def _phrase_around(question: str, key: str, beside: set[str]) -> str:
    """`key` with the `beside` words right next to it in the question: "minimum wage", not just "wage"."""
    tokens = re.findall(r"[^\W\d_]+|\S", question)
    position = next(i for i, t in enumerate(tokens) if t.lower() == key.lower())
    start, end = position, position + 1
    while start > 0 and tokens[start - 1].lower() in beside:
        start -= 1
    while end < len(tokens) and tokens[end].lower() in beside:
        end += 1
    return " ".join(tokens[start:end])
