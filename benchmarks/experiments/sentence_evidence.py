"""The closest sentence's share of the hybrid score, measured on the quality suite's corpora.

    python benchmarks/experiments/sentence_evidence.py [--work DIR]

For each corpus of benchmarks/quality.py but SciFact (whose 5,000 abstracts are a large corpus:
no sentence vectors), builds the index as `QA` does, then ranks every answerable question with the
shipped `ranking.rank_passages` at several shares (0 is hybrid without sentence evidence) and
prints hit@1/@3 by the library's relevance rule. A one-off experiment, kept to be re-run; the
shipped share is `_defaults.SENTENCE_SHARE` (marked *).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from quality import suites  # noqa: E402

from hkai_qa import QA, load_questions  # noqa: E402
from hkai_qa._defaults import CANDIDATE_DEPTH, SENTENCE_SHARE  # noqa: E402
from hkai_qa.lexical import bm25_tokenize  # noqa: E402
from hkai_qa.metrics import first_relevant_rank, hit_at_k, is_relevant  # noqa: E402
from hkai_qa.ranking import fusion_mode, rank_passages  # noqa: E402

SHARES = (0.0, 0.1, 0.2, 0.3, 0.4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="where indexes are built (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hkai-sentences-") as scratch:
        work = args.work or Path(scratch)
        print(f"{'corpus':<10} {'share':>5} {'hit@1':>6} {'hit@3':>6}")
        for suite in suites(skip_scifact=True):
            qa = QA(suite.corpus, index=work / f"index-{suite.name}", progress=False, notify=lambda _: None)
            loaded = qa._loaded
            questions = [q for q in load_questions(suite.questions).questions if q.answerable]
            texts = [q.question for q in questions]
            vectors, tokens = qa.embedder.encode(texts), bm25_tokenize(texts)
            for share in SHARES:
                ranks = []
                for question, vector, question_tokens in zip(questions, vectors, tokens, strict=True):
                    mode = fusion_mode("hybrid", question_tokens, loaded.stored.bm25)
                    ranked = rank_passages(
                        mode,
                        vector,
                        question_tokens,
                        loaded.vectors,
                        loaded.stored.bm25,
                        CANDIDATE_DEPTH,
                        qa.hybrid_alpha,
                        keep=3,
                        sentences=loaded.stored.sentences,
                        sentence_share=share,
                    )
                    hits = [loaded.stored.passages[r.passage] for r in ranked]
                    relevance = [is_relevant(h.text, h.heading, question.answers, question.section) for h in hits]
                    ranks.append(first_relevant_rank(relevance))
                mark = " *" if share == SENTENCE_SHARE else ""
                print(f"{suite.name:<10} {share:>5} {hit_at_k(ranks, 1):>6.3f} {hit_at_k(ranks, 3):>6.3f}{mark}")


if __name__ == "__main__":
    main()
