"""Near-miss rules beside the shipped one (issue 11, part 3): flagged near-misses, wrongly flagged answerable.

    python benchmarks/experiments/near_miss.py [--work DIR] [--scifact]

For each corpus of benchmarks/quality.py but SciFact (SciFact alone with --scifact: its build takes minutes),
asks every question through `QA` in hybrid mode, recording what the shipped near-miss rule
(`term_coverage.unmentioned_term`) is given: questions the threshold or answer types already
declined count as flagged whatever the rule. Every variant below is then applied to the same
inputs. A variant flags a question when the shipped rule does or when its extra test does.
Indexes are reused from --work when present. A one-off experiment, kept to be re-run.
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

from quality import NEAR_MISS_KINDS, suites  # noqa: E402

import hkai_qa.qa as qa_module  # noqa: E402
from hkai_qa import QA, load_questions  # noqa: E402
from hkai_qa import term_coverage as tc  # noqa: E402
from hkai_qa.lexical import stem_words, stopwords  # noqa: E402

_TOKEN = re.compile(r"[^\W\d_]+")


@dataclass
class Asked:
    """One question and what the shipped rule was given (None when something declined it first)."""

    question: str
    kind: str  # "answerable", "near_miss" or another unanswerable kind
    declined_before: bool
    shipped: str | None
    best: list | None = None  # best passages, best first
    best_vectors: np.ndarray | None = None
    encode_question: Callable | None = None
    encode_words: Callable | None = None
    sentence_closeness: Callable | None = None
    terms: tc.CorpusTerms | None = None


def ask_all(qa: QA, questions) -> list[Asked]:
    shipped = tc.unmentioned_term
    asked: list[Asked] = []
    for q in questions:
        record: dict = {}

        def recorder(question, terms, best, vectors, encode_question, encode_words, closeness=None, _r=record):
            _r.update(
                terms=terms,
                best=list(best),
                best_vectors=vectors,
                encode_question=encode_question,
                encode_words=encode_words,
                sentence_closeness=closeness,
            )
            _r["shipped"] = shipped(question, terms, best, vectors, encode_question, encode_words, closeness)
            return _r["shipped"]

        qa_module.unmentioned_term = recorder
        answer = qa.ask(q.question)
        kind = "answerable" if q.answerable else q.kind
        declined = not answer.answerable and "shipped" not in record
        asked.append(Asked(q.question, kind, declined, record.pop("shipped", None), **record))
    qa_module.unmentioned_term = shipped
    return asked


# --- pieces the variants share ------------------------------------------------------------------------------


def content_tokens(text: str) -> list[str]:
    stop = stopwords()
    return [t.lower() for t in _TOKEN.findall(text) if len(t) >= 3 and t.lower() not in stop]


def stems(words) -> list[str]:
    found = stem_words(words)
    return [found[w] for w in words]


class PairIndex:
    """Which pairs of stems some passage holds within `window` content words of each other (any order)."""

    def __init__(self, passages, window: int) -> None:
        self.pairs: set[tuple[str, str]] = set()
        for p in passages:
            for part in (p.heading, p.text):
                tokens = stems(content_tokens(part))
                for i, a in enumerate(tokens):
                    for b in tokens[i + 1 : i + 1 + window]:
                        self.pairs.add((a, b) if a <= b else (b, a))

    def holds(self, a: str, b: str) -> bool:
        return ((a, b) if a <= b else (b, a)) in self.pairs


def question_pairs(question: str) -> list[tuple[str, str]]:
    """Runs of two content words written next to each other (a space or a hyphen between), as written."""
    stop = stopwords()
    pieces = re.findall(r"[^\W\d_]+|[^\w\s]|\d+|\s+", question)
    pairs = []
    previous = None
    gap_ok = True
    for piece in pieces:
        if _TOKEN.fullmatch(piece):
            word = piece
            if len(word) >= 3 and word.lower() not in stop:
                if previous is not None and gap_ok:
                    pairs.append((previous, word))
                previous, gap_ok = word, True
            else:
                previous = None
        elif piece.isspace() or piece == "-":
            continue
        else:
            previous = None
    return pairs


def gains(a: Asked, variants: list[str]) -> np.ndarray:
    """How much closer the question comes to its best passages (and their closest sentence) without each."""
    vectors = a.encode_question([a.question] + variants)
    closeness = (vectors @ a.best_vectors.T).max(axis=1)
    found = closeness[1:] - closeness[0]
    if a.sentence_closeness is not None:
        sentences = a.sentence_closeness(vectors)
        found = np.minimum(found, sentences[1:] - sentences[0])
    return found


def same_meaning(a: Asked, text: str, n: int = tc.MEANING_PASSAGES, with_pairs: bool = False) -> float:
    said_words = sorted(
        {w.lower() for p in a.best[:n] for w in tc._WORD.findall(f"{p.heading}\n{p.text}")} - stopwords()
    )
    units = list(said_words)
    if with_pairs:
        for p in a.best[:n]:
            tokens = content_tokens(p.text)
            units.extend(f"{x} {y}" for x, y in zip(tokens, tokens[1:], strict=False))
        units = sorted(set(units))
    said = tc._word_vectors(units, a.terms, a.encode_words)
    mine = tc._word_vectors([text.lower()], a.terms, a.encode_words)
    return float((mine @ said.T).max())


# --- variants ------------------------------------------------------------------------------------------------


def locally_missing(
    a: Asked, top: int, gain: float, meaning: float, names: bool, names_only: bool = False
) -> str | None:
    """A key word the corpus uses but none of the best `top` passages does, nor a word meaning the same."""
    stop = stopwords()
    held = set()
    for p in a.best[:top]:
        words = {w.lower() for w in tc._WORD.findall(f"{p.heading}\n{p.text}")}
        held |= words | set(stem_words(words).values())
    candidates = []
    for word in dict.fromkeys(tc._WORD.findall(a.question)):
        lower = word.lower()
        if lower in stop or lower in held or stem_words([lower])[lower] in held or not a.terms.mentions(word):
            continue
        candidates.append(word)
    if not candidates:
        return None
    name_set = set(tc.written_as_names(a.question)) if names else set()
    if names_only:
        candidates = [w for w in candidates if w in name_set]
        if not candidates:
            return None
    found = gains(a, [tc.without(a.question, w) for w in candidates])
    for word, g in zip(candidates, found, strict=True):
        if (g >= gain or word in name_set) and same_meaning(a, word) < meaning:
            return word
    return None


def unheld_pair(a: Asked, pairs: PairIndex, gain: float, meaning: float, with_pairs: bool) -> str | None:
    """Two words written together that no passage holds together, whose dropping brings the question closer."""
    candidates = []
    for x, y in question_pairs(a.question):
        sx, sy = stems([x.lower(), y.lower()])
        if not pairs.holds(sx, sy):
            candidates.append((x, y))
    if not candidates:
        return None
    found = gains(a, [tc.without(tc.without(a.question, x), y) for x, y in candidates])
    for (x, y), g in zip(candidates, found, strict=True):
        if g >= gain and same_meaning(a, f"{x} {y}", with_pairs=with_pairs) < meaning:
            return f"{x} {y}"
    return None


def variants_for(windows: dict[int, PairIndex], large: bool) -> dict[str, Callable[[Asked], str | None]]:
    """Every setting tried, by label; a large corpus (SciFact) gets the few that passed the small ones."""
    found: dict[str, Callable[[Asked], str | None]] = {"shipped": lambda a: None}
    for top in (3, 5):
        for gain in (0.05, 0.08):
            for meaning in (0.5, 0.6):
                found[f"local top{top} gain{gain} same<{meaning}"] = lambda a, t=top, g=gain, m=meaning: (
                    locally_missing(a, t, g, m, names=False)
                )
        for meaning in (0.6, 0.7, 1.01):
            found[f"local names only top{top} same<{meaning}"] = lambda a, t=top, m=meaning: locally_missing(
                a, t, 1.0, m, names=True, names_only=True
            )
    for window in (1, 2):
        for gain in (0.03, 0.05, 0.08):
            for meaning in (0.6, 0.7):
                found[f"pair win{window} gain{gain} same<{meaning}"] = lambda a, i=windows[window], g=gain, m=meaning: (
                    unheld_pair(a, i, g, m, with_pairs=False)
                )
    for meaning in (0.6, 0.7):
        found[f"pair win1 gain0.05 same<{meaning} (+ best passages' word pairs)"] = lambda a, i=windows[1], m=meaning: (
            unheld_pair(a, i, 0.05, m, with_pairs=True)
        )
    for top in (3, 5):
        for meaning in (0.6, 0.7, 1.01):
            found[f"pair win1 gain0.05 same<0.6 + local names top{top} same<{meaning}"] = (
                lambda a, i=windows[1], t=top, m=meaning: (
                    unheld_pair(a, i, 0.05, 0.6, with_pairs=False)
                    or locally_missing(a, t, 1.0, m, names=True, names_only=True)
                )
            )
    if large:
        kept = ("shipped", "pair win1 gain0.05 same<0.6", "local names only top5 same<0.7")
        found = {k: v for k, v in found.items() if k in kept or k.startswith("pair win1 gain0.05 same<0.6 +")}
    return found


def flagged(a: Asked, extra: Callable[[Asked], str | None]) -> str | None:
    """Why the question is declined under a variant, else None."""
    if a.declined_before:
        return "(declined before)"
    return a.shipped or extra(a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="where indexes are built or reused")
    parser.add_argument("--scifact", action="store_true", help="SciFact alone (its answerable claims)")
    parser.add_argument("--verbose", action="store_true", help="print every question a variant flags")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="near-miss-"))
    work.mkdir(parents=True, exist_ok=True)
    chosen = [s for s in suites(not args.scifact) if not args.scifact or s.beir]
    results: dict[str, dict[str, tuple[str, str]]] = {}
    for suite in chosen:
        index = work / f"index-{suite.name}"
        qa = QA(suite.corpus, index=index, rebuild=not index.exists(), progress=False, notify=lambda _: None)
        asked = ask_all(qa, load_questions(suite.questions).questions)
        variants = variants_for({w: PairIndex(qa.passages, w) for w in (1, 2)}, large=suite.beir)
        near = [a for a in asked if a.kind in NEAR_MISS_KINDS]
        answerable = [a for a in asked if a.kind == "answerable"]
        results[suite.name] = {}
        for label, extra in variants.items():
            near_flags = [flagged(a, extra) for a in near]
            wrong = [(a.question, reason) for a in answerable if (reason := flagged(a, extra))]
            near_share = f"{sum(1 for f in near_flags if f)}/{len(near)}" if near else "-"
            results[suite.name][label] = (near_share, f"{len(wrong)}/{len(answerable)}")
            if args.verbose and label != "shipped":
                for question, reason in wrong:
                    print(f"  {suite.name} {label}: WRONG {reason!r} <- {question}")
                for a, reason in zip(near, near_flags, strict=True):
                    if reason and not a.declined_before and not a.shipped:
                        print(f"  {suite.name} {label}: near {reason!r} <- {a.question}")
        print(f"done {suite.name}", flush=True)
    names = list(results)
    print("| variant | " + " | ".join(f"{n} near / wrong" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for label in next(iter(results.values())):
        cells = " | ".join(f"{results[n][label][0]}, {results[n][label][1]}" for n in names)
        print(f"| {label} | {cells} |")


if __name__ == "__main__":
    main()
