"""Copy a few headline rows from benchmarks/results/*.md into the README, so no figure is retyped.

    python benchmarks/headline.py           # rewrite the block between the README's headline markers
    python benchmarks/headline.py --check   # exit 1 when the README's block differs from the results

Each headline names a results file, the first cell of the rows to copy and the columns to show;
the rows are read from that file's tables as the benchmark scripts wrote them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE.parent / "README.md"
START, END = "<!-- headline:start -->", "<!-- headline:end -->"

# (results file, what the rows show, first cells of the rows (prefixes), columns to show)
HEADLINES = [
    (
        "quality.md",
        "answer quality, hybrid (default) beside the naive pipeline",
        ["article", "attrs", "starlette", "bump-my-version", "scifact"],
        ["corpus", "mode", "hit@1", "hit@3", "off topic flagged", "near miss flagged", "ndcg@10"],
    ),
    (
        "cold_start.md",
        "cold start, process start to answer",
        ["bare", "hkai-qa ask --json (onnx)"],
        ["median s", "vs bare"],
    ),
    ("query_latency_article.md", "warm QA.ask, the article", ["bare", "QA.ask, hybrid"], ["p50 ms", "p50 vs bare"]),
    (
        "server.md",
        "JSON API beside in-process QA.ask",
        ["JSON API", "in-process"],
        ["p50 ms", "p95 ms", "p50 vs in-process"],
    ),
    ("index_build.md", "index build, SciFact", ["bare", "hkai-qa build"], ["passages/s", "peak RSS MB", "vs bare"]),
]
QUALITY_MODES = {"hybrid", "naive"}


def tables(path: Path) -> list[list[list[str]]]:
    """Every Markdown table in `path`, as rows of cells (the header row first, the rule dropped)."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(set(cell) <= set("-: ") for cell in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def headline_rows(name: str, prefixes: list[str], columns: list[str]) -> list[list[str]]:
    path = RESULTS / name
    if not path.is_file():
        return [[f"(no {name} yet: run its benchmark)"] + [""] * (len(columns) - 1)]
    rows = []
    for table in tables(path):
        header = table[0]
        wanted = [header.index(c) if c in header else None for c in columns]
        for row in table[1:]:
            label = row[0]
            if not any(label.startswith(p) for p in prefixes):
                continue
            if name == "quality.md" and row[header.index("mode")] not in QUALITY_MODES:
                continue
            cells = [row[i] if i is not None else "" for i in wanted]
            if name != "quality.md":
                cells = [label, *cells]
            rows.append(cells)
    return rows


def block() -> str:
    lines = [START]
    for name, what, prefixes, columns in HEADLINES:
        head = columns if name == "quality.md" else ["", *columns]
        lines += ["", f"{what} ([results/{name}](benchmarks/results/{name})):", ""]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        lines += ["| " + " | ".join(cells) + " |" for cells in headline_rows(name, prefixes, columns)]
    lines += ["", END]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the README is up to date")
    args = parser.parse_args()
    readme = README.read_text(encoding="utf-8")
    if START not in readme or END not in readme:
        print(f"{README} lacks the markers {START} … {END}", file=sys.stderr)
        return 1
    before, rest = readme.split(START, 1)
    after = rest.split(END, 1)[1]
    updated = before + block() + after
    if args.check:
        if updated != readme:
            print("README.md's headline figures differ from benchmarks/results: run python benchmarks/headline.py")
            return 1
        return 0
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
