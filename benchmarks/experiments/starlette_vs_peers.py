"""Per question, where a peer pipeline (Haystack by default) ranks the expected passage above hkai-qa.

    python benchmarks/experiments/starlette_vs_peers.py [--corpus starlette] [--framework haystack] [--work DIR]

Builds the corpus's index as `QA` does (reused from --work when it is there), asks every answerable
question of benchmarks/data/<corpus>/questions.jsonl in default (hybrid) mode, runs the peer through
benchmarks/peers.py in its own venv (cached in --work), and judges both with the library's relevance
rule. For each question the peer ranks better, prints what decides it: hkai-qa's first hit and its
first relevant passage with their score parts (passage cosine, closest sentence, BM25 coverage, the
fused score), whether the relevant section was windowed, and where an answer string sits in the
passages (whole in one window, split across two, or nowhere). A diagnostic for issue 11; not library code.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from peers import OFFLINE, PEERS_PYTHON  # noqa: E402
from quality import suites  # noqa: E402

from hkai_qa import QA, load_questions  # noqa: E402
from hkai_qa._defaults import CANDIDATE_DEPTH, sentence_share  # noqa: E402
from hkai_qa.folding import fold  # noqa: E402
from hkai_qa.lexical import bm25_tokenize  # noqa: E402
from hkai_qa.metrics import first_relevant_rank, is_relevant  # noqa: E402
from hkai_qa.ranking import fusion_mode, rank_passages  # noqa: E402

DEPTH = 10


def peer_rankings(framework: str, corpus: Path, questions: list[str], work: Path) -> dict:
    """The peer's passages and top-DEPTH rankings, run once and cached in `work`."""
    cached = work / f"{framework}-{corpus.parent.name}.json"
    if not cached.is_file():
        asked = work / f"{corpus.parent.name}-questions.json"
        asked.write_text(json.dumps(questions), encoding="utf-8")
        command = [str(PEERS_PYTHON), str(REPO / "benchmarks" / "peers.py"), "--framework", framework]
        command += ["--corpus", str(corpus), "--questions", str(asked), "--depth", str(DEPTH), "--out", str(cached)]
        subprocess.run(command, env={**os.environ, **OFFLINE}, check=True, capture_output=True)
    return json.loads(cached.read_text(encoding="utf-8"))


def where_answer_sits(passages, answers: list[str]) -> str:
    """'whole' if some passage holds an answer string, 'split' if only two neighbours joined do, else 'nowhere'."""
    folded = [fold(p.text) for p in passages]
    targets = [fold(a) for a in answers]
    if any(t in f for t in targets for f in folded):
        return "whole"
    joined = [a + " " + b for a, b in zip(folded, folded[1:], strict=False)]
    return "split" if any(t in j for t in targets for j in joined) else "nowhere"


def describe(label: str, passages, ranked, position: int) -> str:
    r = ranked[position]
    p = passages[r.passage]
    return (
        f"    {label} #{position + 1} p{r.passage} [{p.heading[:70]}] fused {r.score:.3f} cos {r.dense_score:.3f} "
        f"sent {r.sentence_score if r.sentence_score is not None else float('nan'):.3f} cov {r.bm25_coverage:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="starlette", help="a folder name under benchmarks/data, or 'article'")
    parser.add_argument("--framework", default="haystack", choices=("haystack", "llamaindex"))
    parser.add_argument("--work", type=Path, default=None, help="index and peer cache (default: a temp folder)")
    parser.add_argument("--all", action="store_true", help="print every question, not only those the peer wins")
    args = parser.parse_args()
    suite = next(s for s in suites(skip_scifact=True) if s.name == args.corpus)
    with tempfile.TemporaryDirectory(prefix="hkai-vs-peers-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        qa = QA(suite.corpus, index=work / f"index-{suite.name}", progress=False, notify=lambda _: None)
        loaded = qa._loaded
        passages = loaded.stored.passages
        questions = [q for q in load_questions(suite.questions).questions if q.answerable]
        peer = peer_rankings(args.framework, suite.corpus, [q.question for q in questions], work)
        texts = [q.question for q in questions]
        vectors, tokens = qa.embedder.encode(texts), bm25_tokenize(texts)
        share = sentence_share(len(passages))
        ours_ranks, peer_ranks, lost, won = [], [], 0, 0
        for n, (question, vector, question_tokens) in enumerate(zip(questions, vectors, tokens, strict=True)):
            mode = fusion_mode("hybrid", question_tokens, loaded.stored.bm25)
            ranked = rank_passages(
                mode,
                vector,
                question_tokens,
                loaded.vectors,
                loaded.stored.bm25,
                CANDIDATE_DEPTH,
                qa._question_alpha(loaded, question_tokens),
                sentences=loaded.stored.sentences,
                sentence_share=share,
            )
            relevant = [
                is_relevant(passages[r.passage].text, passages[r.passage].heading, question.answers, question.section)
                for r in ranked
            ]
            ours = first_relevant_rank(relevant[:DEPTH])
            hits = [peer["passages"][i] for i in peer["rankings"][n]]
            theirs = first_relevant_rank(
                is_relevant(h["text"], h["heading"], question.answers, question.section) for h in hits
            )
            ours_ranks.append(ours)
            peer_ranks.append(theirs)
            worse = (theirs or 99) < (ours or 99)
            lost += worse
            won += (ours or 99) < (theirs or 99)
            if not (worse or args.all):
                continue
            print(f"\n[{question.id}] {question.question}\n  expected {question.answers or question.section}")
            print(f"  hkai-qa rank {ours}, {args.framework} rank {theirs}; answer string in our passages: ", end="")
            print(where_answer_sits(passages, question.answers) if question.answers else "(section)")
            print(describe("ours first", passages, ranked, 0))
            first_good = first_relevant_rank(relevant)
            if first_good is not None:
                print(describe("ours relevant", passages, ranked, first_good - 1))
                heading = passages[ranked[first_good - 1].passage].heading
                windows = sum(1 for p in passages if p.heading == heading)
                print(f"    relevant section has {windows} passage(s) in our index")
            if hits:
                print(f"    {args.framework} first [{hits[0]['heading'][:70]}] ({len(hits[0]['text'])} chars)")
        for label, ranks in (("hkai-qa", ours_ranks), (args.framework, peer_ranks)):
            cells = [sum(1 for r in ranks if r and r <= k) / len(ranks) for k in (1, 3, 5)]
            print(f"{label:10s} hit@1/3/5 " + "/".join(f"{c:.3f}" for c in cells))
        print(f"{args.framework} better on {lost} questions, hkai-qa better on {won} (of {len(questions)})")


if __name__ == "__main__":
    main()
