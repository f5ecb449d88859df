"""How small a section may be and still stand alone as a passage (issue 11, part 1).

    python benchmarks/experiments/small_sections.py [--settings 24:yes 24:no 48:yes 48:no] [--work DIR]

A section whose body has fewer than `passages.MIN_SECTION_TOKENS` tokens joins its next neighbour
(else its previous one), unless it holds a sentence of `MIN_SENTENCE_WORDS` words or more
(`passages._Part.small`). The exception keeps a one-sentence section ("Each hook has these environment
variables set when executed.") on its own, whose vector is then mostly its heading path. Each setting
`TOKENS:yes|no` sets the token floor and whether a sentence still saves a section under it; every small
corpus of benchmarks/quality.py is built with it and evaluated through `QA.evaluate` (derived
thresholds, abstention and all): passages, hit@1/@3/@5, off-topic, near-miss and answerable wrongly
flagged. A one-off experiment, kept to be re-run; not library code.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from quality import hkai_row, suites  # noqa: E402

import hkai_qa.passages  # noqa: E402
from hkai_qa import QA  # noqa: E402

SHIPPED_SMALL = hkai_qa.passages._Part.small


def small_under(tokens: int, sentence_saves: bool) -> property:
    """`_Part.small` with another token floor, with or without the one-sentence exception."""

    def small(part) -> bool:
        if part.cost - part.heading_cost >= tokens:
            return False
        if not sentence_saves:
            return True
        body = part.document.text[part.section.start : part.section.end]
        ends = hkai_qa.passages._sentence_ends(body)
        return not any(len(body[:end].split()) >= hkai_qa.passages.MIN_SENTENCE_WORDS for end in ends)

    return property(small)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["24:yes", "24:no", "48:yes", "48:no"])
    parser.add_argument("--work", type=Path, default=None, help="where indexes are built (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hkai-small-") as scratch:
        work = args.work or Path(scratch)
        for setting in args.settings:
            tokens, saves = setting.split(":")
            hkai_qa.passages._Part.small = small_under(int(tokens), saves == "yes")
            for suite in suites(skip_scifact=True):
                index = work / f"small-{tokens}-{saves}-{suite.name}"
                qa = QA(suite.corpus, index=index, rebuild=True, progress=False, notify=lambda _: None)
                row = hkai_row(qa.evaluate(suite.questions, k=(1, 3, 5), progress=False))
                cells = " ".join(f"{k} {v:.3f}" for k, v in row.items() if v is not None)
                print(f"{setting:7s} {suite.name:16s} passages {len(qa.passages):4d} {cells}", flush=True)


if __name__ == "__main__":
    main()
