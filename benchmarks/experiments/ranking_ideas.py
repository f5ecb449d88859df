"""Ranking ideas for MiniLM on small corpora, beside the shipped hybrid ranking (issue 11, part 2).

    python benchmarks/experiments/ranking_ideas.py [--work DIR]

For each corpus of benchmarks/quality.py but SciFact (a large corpus: no sentence vectors), builds
the index as `QA` does, then re-ranks every question in numpy with the shipped score, (α − s) ·
cosine + s · closest sentence + (1 − α) · coverage, and with each idea in place of a part of it.
Every idea reorders only: "not in the documents" is judged on the shipped passage-level score, so
the off-topic column shows that the abstention rule still holds. Prints hit@1/@3/@5 over answerable
questions (the library's relevance rule) and the share of off-topic questions flagged. A one-off
experiment, kept to be re-run; none of these ideas beat the shipped ranking on every corpus.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from quality import OFF_TOPIC_KINDS, suites  # noqa: E402

from hkai_qa import QA, load_questions  # noqa: E402
from hkai_qa._defaults import SENTENCE_SHARE  # noqa: E402
from hkai_qa.lexical import bm25_ceiling, bm25_scores, bm25_tokenize, build_bm25  # noqa: E402
from hkai_qa.metrics import is_relevant  # noqa: E402
from hkai_qa.ranking import fusion_mode  # noqa: E402
from hkai_qa.sentence_vectors import passage_sentences  # noqa: E402


@dataclass
class Corpus:
    """Everything the ranking maths needs for one corpus and its questions, as arrays."""

    passages: np.ndarray  # [passages, dim] unit vectors as indexed
    sentences: np.ndarray  # [sentences, dim]
    sentence_rows: np.ndarray  # [sentences] passage row of each
    questions: np.ndarray  # [questions, dim]
    coverage: np.ndarray  # [questions, passages] BM25 / ceiling
    sentence_coverage: np.ndarray  # [questions, sentences] the same over a BM25 index of sentences
    dense_only: np.ndarray  # [questions] hybrid falls back to dense (`ranking.fusion_mode`)
    relevant: np.ndarray  # [questions, passages]
    answerable: np.ndarray
    off_topic: np.ndarray
    alpha: float
    threshold: float
    questions_without_stopwords: np.ndarray  # [questions, dim]
    sentences_with_heading: np.ndarray  # [sentences, dim] "heading\nsentence"
    passages_without_heading: np.ndarray  # [passages, dim] the text alone
    phrases: np.ndarray  # [phrases, dim] the question's runs of words between stopwords
    phrase_questions: np.ndarray  # [phrases] the question each phrase comes from


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _coverage(retriever, tokens: list[list[str]]) -> np.ndarray:
    rows = []
    for query in tokens:
        ceiling = bm25_ceiling(retriever, query)
        scores = bm25_scores(retriever, query)
        rows.append(scores / ceiling if ceiling > 0 else np.zeros_like(scores))
    return np.stack(rows).astype(np.float32)


def _without_stopwords(text: str, stopwords: set[str]) -> str:
    kept = [w for w in text.split() if re.sub(r"\W", "", w).lower() not in stopwords]
    return " ".join(kept) or text


def _phrases(text: str, stopwords: set[str]) -> list[str]:
    runs, run = [], []
    for word in text.split():
        if re.sub(r"\W", "", word).lower() in stopwords:
            runs, run = runs + [" ".join(run)] if run else runs, []
        else:
            run.append(word.strip("?.,!"))
    runs = [r for r in [*runs, " ".join(run)] if r]
    return runs or [text]


def load_corpus_arrays(qa: QA, questions_path: Path) -> Corpus:
    from bm25s.stopwords import STOPWORDS_EN

    loaded = qa._loaded
    passages = loaded.stored.passages
    questions = load_questions(questions_path).questions
    texts = [q.question for q in questions]
    tokens = bm25_tokenize(texts)
    rows, sentence_texts = passage_sentences(passages)
    encode = qa.embedder.encode
    phrase_stopwords = set(STOPWORDS_EN) | {"what", "why", "how", "when", "where", "which", "who", "do", "can", "i"}
    phrases = [(i, phrase) for i, text in enumerate(texts) for phrase in _phrases(text, phrase_stopwords)]
    return Corpus(
        passages=np.asarray(loaded.vectors.vectors(np.arange(len(passages), dtype=np.int64)), dtype=np.float32),
        sentences=loaded.stored.sentences.vectors,
        sentence_rows=loaded.stored.sentences.passages,
        questions=encode(texts),
        coverage=_coverage(loaded.stored.bm25, tokens),
        sentence_coverage=_coverage(build_bm25(sentence_texts), tokens),
        dense_only=np.array([fusion_mode("hybrid", t, loaded.stored.bm25) == "dense" for t in tokens]),
        relevant=np.array(
            [
                [q.answerable and is_relevant(p.text, p.heading, q.answers, q.section) for p in passages]
                for q in questions
            ]
        ),
        answerable=np.array([q.answerable for q in questions]),
        off_topic=np.array([q.kind in OFF_TOPIC_KINDS for q in questions]),
        alpha=qa.hybrid_alpha,
        threshold=qa._threshold("hybrid"),
        questions_without_stopwords=encode([_without_stopwords(t, set(STOPWORDS_EN)) for t in texts]),
        sentences_with_heading=encode(
            [f"{passages[r].heading}\n{t}" for r, t in zip(rows, sentence_texts, strict=True)]
        ),
        passages_without_heading=encode([p.text for p in passages]),
        phrases=encode([phrase for _, phrase in phrases]),
        phrase_questions=np.array([i for i, _ in phrases]),
    )


# --- the pieces of a score ----------------------------------------------------------------------


def per_passage(values: np.ndarray, rows: np.ndarray, count: int, how: str = "max") -> np.ndarray:
    """A per-sentence value gathered per passage: the max, the mean of the top two, or a softmax-weighted mean."""
    out = np.zeros(count, dtype=np.float32)
    for passage in range(count):
        v = np.sort(values[rows == passage])[::-1]
        if not len(v):
            continue
        if how == "max":
            out[passage] = v[0]
        elif how == "top2":
            out[passage] = v[:2].mean()
        else:  # softmax at temperature 0.05
            w = np.exp((v - v[0]) / 0.05)
            out[passage] = (w * v).sum() / w.sum()
    return out


Score = Callable[[Corpus, int], np.ndarray]


def shipped(share: float = SENTENCE_SHARE, how: str = "max", query=None, sentences=None, passages=None) -> Score:
    """The shipped hybrid score, with optional stand-ins for the query, sentence or passage vectors."""

    def score(c: Corpus, i: int) -> np.ndarray:
        q = c.questions[i] if query is None else query(c, i)
        p = c.passages if passages is None else passages(c)
        cos = p @ q
        if c.dense_only[i]:
            return cos
        s = c.sentences if sentences is None else sentences(c)
        closest = per_passage(s @ q, c.sentence_rows, len(cos), how)
        return c.alpha * cos + (1 - c.alpha) * c.coverage[i] + share * (closest - cos)

    return score


def centered(mean_of: str) -> Score:
    """Cosines after subtracting the corpus's mean vector (of passages or of sentences) from every vector."""

    def mean(c: Corpus) -> np.ndarray:
        return (c.passages if mean_of == "passages" else c.sentences).mean(0)

    return shipped(
        query=lambda c, i: unit(c.questions[i] - mean(c)),
        sentences=lambda c: unit(c.sentences - mean(c)),
        passages=lambda c: unit(c.passages - mean(c)),
    )


def rocchio(k: int, beta: float) -> Score:
    """Pseudo-relevance feedback: the question moved towards its first k passages' mean vector, ranked again."""
    first = shipped()

    def score(c: Corpus, i: int) -> np.ndarray:
        top = np.lexsort((np.arange(len(c.passages)), -first(c, i)))[:k]
        moved = unit(c.questions[i] + beta * c.passages[top].mean(0))
        return shipped(query=lambda _c, _i: moved)(c, i)

    return score


def sentence_mean_passages(c: Corpus) -> np.ndarray:
    total = np.zeros_like(c.passages)
    np.add.at(total, c.sentence_rows, c.sentences)
    return unit(total)


def normalised(how: str, alpha: float) -> Score:
    """Each signal normalised over the passages per question (min-max or z-score) before the weighted sum."""

    def norm(x: np.ndarray) -> np.ndarray:
        if how == "minmax":
            spread = x.max() - x.min()
            return (x - x.min()) / spread if spread > 0 else x * 0
        return (x - x.mean()) / x.std() if x.std() > 0 else x * 0

    def score(c: Corpus, i: int) -> np.ndarray:
        q = c.questions[i]
        cos = norm(c.passages @ q)
        closest = norm(per_passage(c.sentences @ q, c.sentence_rows, len(cos)))
        share = SENTENCE_SHARE * alpha / c.alpha
        if c.dense_only[i]:
            return cos
        return (alpha - share) * cos + share * closest + (1 - alpha) * c.coverage[i]

    return score


def sentence_hybrid(weight: float) -> Score:
    """The closest sentence by its own hybrid score: cosine plus the sentence's BM25 coverage."""

    def score(c: Corpus, i: int) -> np.ndarray:
        q = c.questions[i]
        cos = c.passages @ q
        if c.dense_only[i]:
            return cos
        per_sentence = (1 - weight) * (c.sentences @ q) + weight * c.sentence_coverage[i]
        closest = per_passage(per_sentence, c.sentence_rows, len(cos))
        return c.alpha * cos + (1 - c.alpha) * c.coverage[i] + SENTENCE_SHARE * (closest - cos)

    return score


def hub_penalty(weight: float, beta: float = 30.0) -> Score:
    """Inverted softmax (QB-Norm): minus a passage's log-sum-exp closeness to other passages' sentences."""
    first = shipped()

    def score(c: Corpus, i: int) -> np.ndarray:
        bank = c.sentences @ c.passages.T
        bank[np.arange(len(bank)), c.sentence_rows] = -np.inf  # a passage's own sentences do not count
        penalty = (np.logaddexp.reduce(beta * bank, axis=0) - np.log(len(bank))) / beta
        return first(c, i) - weight * penalty

    return score


def phrase_evidence(weight: float) -> Score:
    """Each of the question's phrases matched to its closest sentence; their mean takes `weight` from the cosine."""
    first = shipped()

    def score(c: Corpus, i: int) -> np.ndarray:
        count = len(c.passages)
        phrases = c.phrases[c.phrase_questions == i]
        matched = np.stack([per_passage(c.sentences @ v, c.sentence_rows, count) for v in phrases]).mean(0)
        return first(c, i) + weight * (matched - c.passages @ c.questions[i])

    return score


def reciprocal_ranks(k: int) -> Score:
    """Reciprocal rank fusion of three rankings (passage cosine, closest sentence, BM25) instead of weighted scores."""

    def positions(x: np.ndarray) -> np.ndarray:
        order = np.lexsort((np.arange(len(x)), -x))
        ranks = np.empty(len(x))
        ranks[order] = np.arange(1, len(x) + 1)
        return ranks

    def score(c: Corpus, i: int) -> np.ndarray:
        q = c.questions[i]
        cos = c.passages @ q
        if c.dense_only[i]:
            return cos
        closest = per_passage(c.sentences @ q, c.sentence_rows, len(cos))
        lexical = np.where(c.coverage[i] > 0, c.coverage[i], -1.0)
        return sum(1.0 / (k + positions(x)) for x in (cos, closest, lexical))

    return score


IDEAS: dict[str, Score] = {
    "shipped (s = 0.2)": shipped(),
    "mean-centred on passages' mean": centered("passages"),
    "mean-centred on sentences' mean": centered("sentences"),
    "Rocchio k=1, β=0.3": rocchio(1, 0.3),
    "Rocchio k=3, β=0.25": rocchio(3, 0.25),
    "Rocchio k=3, β=0.5": rocchio(3, 0.5),
    "closest sentences: top-2 mean": shipped(how="top2"),
    "closest sentences: softmax T=0.05": shipped(how="softmax"),
    "closest sentences: softmax, s = 0.3": shipped(0.3, how="softmax"),
    "passage vector = mean of its sentences": shipped(passages=sentence_mean_passages),
    "passage vector without its heading": shipped(passages=lambda c: c.passages_without_heading),
    "passage vector ½ with, ½ without its heading": shipped(
        passages=lambda c: unit(c.passages + c.passages_without_heading)
    ),
    "question's phrases to closest sentences, 0.1": phrase_evidence(0.1),
    "question's phrases to closest sentences, 0.3": phrase_evidence(0.3),
    "question without stopwords": shipped(query=lambda c, i: c.questions_without_stopwords[i]),
    "question ½ with, ½ without stopwords": shipped(
        query=lambda c, i: unit(c.questions[i] + c.questions_without_stopwords[i])
    ),
    "sentences embedded under their heading": shipped(sentences=lambda c: c.sentences_with_heading),
    "… under their heading, s = 0.3": shipped(0.3, sentences=lambda c: c.sentences_with_heading),
    "min-max normalised cosines, α 0.5": normalised("minmax", 0.5),
    "z-normalised cosines, α 0.8": normalised("z", 0.8),
    "reciprocal rank fusion of the three, k = 10": reciprocal_ranks(10),
    "reciprocal rank fusion of the three, k = 60": reciprocal_ranks(60),
    "closest sentence by cosine + 0.2 sentence BM25": sentence_hybrid(0.2),
    "− inverted-softmax hub penalty 0.1": hub_penalty(0.1),
}


def evaluate(c: Corpus, score: Score) -> tuple[float, float, float, float]:
    judged_by = shipped(share=0.0)  # the passage-level score abstention judges
    ranks, flagged = [], []
    for i in range(len(c.questions)):
        if c.off_topic[i]:
            flagged.append(judged_by(c, i).max() < c.threshold)
        if c.answerable[i]:
            s = score(c, i)
            order = np.lexsort((np.arange(len(s)), -s))
            found = np.nonzero(c.relevant[i][order])[0]
            ranks.append(int(found[0]) + 1 if len(found) else None)
    hits = [sum(1 for r in ranks if r is not None and r <= k) / len(ranks) for k in (1, 3, 5)]
    return (*hits, float(np.mean(flagged)) if flagged else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="where indexes are built (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hkai-ranking-") as scratch:
        work = args.work or Path(scratch)
        corpora = {}
        for suite in suites(skip_scifact=True):
            qa = QA(suite.corpus, index=work / f"index-{suite.name}", progress=False, notify=lambda _: None)
            corpora[suite.name] = load_corpus_arrays(qa, suite.questions)
        print(f"{'idea':<48} " + " ".join(f"{name + ' @1/@3/@5 off':>28}" for name in corpora))
        for label, score in IDEAS.items():
            cells = [evaluate(c, score) for c in corpora.values()]
            print(
                f"{label:<48} "
                + " ".join(f"{h1:.3f}/{h3:.3f}/{h5:.3f} {off:.2f}".rjust(28) for h1, h3, h5, off in cells)
            )


if __name__ == "__main__":
    main()
