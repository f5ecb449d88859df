"""Flags, versions and dotted names count in BM25 as typed: kept whole, not stemmed, not stop-worded."""

from __future__ import annotations

import numpy as np
import pytest

from hkai_qa.folding import fold
from hkai_qa.lexical import bm25_scores, bm25_tokenize, build_bm25
from hkai_qa.ranking import EXACT_TOKEN_ALPHA, exact_token_alpha


def whole(text: str) -> list[str]:
    """The tokens `text` gives beyond its words."""
    words = bm25_tokenize([fold(text).replace(".", " ").replace("-", " ")])[0]
    tokens = bm25_tokenize([text])[0]
    assert tokens[: len(words)] == words  # the words come first, unchanged
    return tokens[len(words) :]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What does the -L or --license flag do?", ["-L", "--license"]),
        ("-v is verbose, -V the version", ["-v", "-V"]),  # one dash: the letter's case is the flag
        ("--License, (--fast) and `-O2`", ["--license", "--fast", "-O2"]),  # two dashes: a word, case-folded
        ("bzip2 \u2013L", ["-L"]),  # an en dash typed or printed for the hyphen
        ("a well-known, self-driving car - or x -- y", []),  # hyphenated words and dashes are no flags
        ("faster in bzip2-0.9.0 than 1.0.8.", ["0.9.0", "1.0.8"]),
        ("v1.2.3 on 192.168.0.1", ["1.2.3", "192.168.0.1"]),
        ("a 3.5% share, 2018", []),  # one dot: a decimal in prose
        ("Keep it in app.state.", ["app.state"]),  # the sentence's full stop is no part of it
        ("attrs.fields() and request.url.path", ["attrs.fields", "request.url.path"]),
        ("the --only option of running.tests", ["--only", "running.tests"]),  # no stopword, no stem
        ("香港app.state人工", ["app.state"]),
    ],
)
def test_tokens_kept_whole(text, expected):
    assert whole(text) == expected


def test_a_question_with_a_flag_or_a_version_finds_the_passage_that_has_it():
    """Before, "-L" and "0.9.0" gave no token at all: these questions had only common words to go on."""
    passages = [
        "-l  list the files in the archive.",
        "-L  show the licence terms and the version.",
        "Version 0.9.5 reads and writes files with fread.",
        "Version 0.9.0 made decompression faster with a single array.",
        "Compression is slower than decompression.",
    ]
    retriever = build_bm25(passages)
    for question, expected in [("What does -L do?", 1), ("What does -l do?", 0), ("What changed in 0.9.0?", 3)]:
        scores = bm25_scores(retriever, bm25_tokenize([question])[0])
        assert int(np.argmax(scores)) == expected, question
        assert np.count_nonzero(scores) == 1, question


def test_a_question_naming_a_token_the_corpus_holds_leans_on_bm25():
    retriever = build_bm25(
        ["-L  show the licence terms.", "Keep it in app.state.", "Version 0.9.0 was faster.", "Flags, e.g. -q."]
    )
    for question in ["What does -L do?", "What is app.state for?", "What changed in 0.9.0?"]:
        assert exact_token_alpha(0.8, bm25_tokenize([question])[0], retriever) == EXACT_TOKEN_ALPHA, question
    # Words only, or a whole token the corpus never holds: the corpus's own weight stays.
    for question in ["What does the licence say?", "What does -x do?", "What changed in 1.0.8?", "Which, e.g. here?"]:
        assert exact_token_alpha(0.8, bm25_tokenize([question])[0], retriever) == 0.8, question
    assert exact_token_alpha(0.5, bm25_tokenize(["What does -L do?"])[0], retriever) == 0.5  # never raised
