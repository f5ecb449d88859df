"""Format parity: the same documents and questions as Markdown, HTML, Word, PDF and plain text.

    python benchmarks/format_parity.py [--corpus attrs] [--formats html,pdf] [--keep DIR]

For each documentation folder of benchmarks/data/ with a questions.jsonl (as benchmarks/quality.py
finds them), every Markdown file of docs/ is converted by real tools into its own folder per format,
with the same file stems: pandoc reads it as CommonMark (`-f gfm`: the sources are MyST and MkDocs
Markdown, whose fence titles such as ```python title="app.py" pandoc's own Markdown reads as inline
code, swallowing the rest of a file into code) and writes standalone HTML (`-s`), Word (.docx) and
plain text (`-t plain`); LibreOffice turns each Word file into PDF (`soffice --headless --convert-to
pdf`, with bookmarks, as tests/format_files.py does). hkai-qa builds a fresh index on each folder
(`QA`, hybrid mode) and is scored on the same questions (`QA.evaluate`), the Markdown folder itself
being the baseline measured in the same run. `make formats-tools` installs pandoc and LibreOffice.

Relevance is by answer strings, so it carries across formats only where the strings survive
conversion. The answer strings quote the Markdown source; for the other formats they are judged
as rendered, without Markdown's inline markup (code ticks, emphasis stars, link brackets), which no
rendered format prints. "answers lost" counts answer strings of answerable questions that no
longer occur verbatim in the text the reader extracted (folded as the relevance rule folds it:
case, quotes, dashes), and "(at line breaks)" those that occur once line breaks count as spaces (a
PDF's or wrapped plain text's lines). The library's relevance rule reads line breaks as spaces
(hkai_qa.metrics.is_relevant), so those are still judged; "hit@1 / hit@5, line breaks as spaces"
re-judges the same hits that way here, a check that stays equal to hit@1 and hit@5 while the rule does.

Writes benchmarks/results/format_parity.md (and .json).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from measure import REPO, report, table
from quality import KS, hkai_row, share

sys.path.insert(0, str(REPO))

from tests.format_files import run  # noqa: E402

DATA = REPO / "benchmarks" / "data"
CORPORA = tuple(sorted(p.name for p in DATA.iterdir() if (p / "questions.jsonl").is_file()))
FORMATS = ("markdown", "html", "docx", "pdf", "plain")
_WHITESPACE = re.compile(r"\s+")
# Markdown's inline markup outside code spans, which no other format prints: emphasis stars, link brackets and
# underscores around a word (`_tokens_`), not those inside a name (`__attrs_attrs__`).
_EMPHASIS_STARS = re.compile(r"\*+")
_LINK_TEXT = re.compile(r"\[([^\]]+)\]")
_LINKED_CODE = re.compile(r"\[(`[^`\s]+`)\]")  # a link on one code span: [`contextvars.ContextVar`]
_UNDERSCORE_EMPHASIS = re.compile(r"(?<![\w_])_([A-Za-z][^_]*?)_(?![\w_])")


def convert(docs: Path, fmt: str, out: Path) -> Path:
    """Every Markdown file under `docs` written as `fmt` into `out` (same stems and subfolders); the Markdown
    itself for "markdown"."""
    if fmt == "markdown":
        return docs
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "pdf":
        words = convert(docs, "docx", out.parent / f"{out.name}-docx")
        for folder in sorted({path.parent for path in words.rglob("*.docx")}):
            target = out / folder.relative_to(words)
            target.mkdir(parents=True, exist_ok=True)
            _docx_to_pdf(sorted(folder.glob("*.docx")), target, profile=out / ".lo-profile")
        shutil.rmtree(out / ".lo-profile", ignore_errors=True)
        return out
    suffix, options = {"html": (".html", ["-s"]), "docx": (".docx", []), "plain": (".txt", ["-t", "plain"])}[fmt]
    for source in sorted(docs.rglob("*.md")):
        target = (out / source.relative_to(docs)).with_suffix(suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        run("pandoc", "-f", "gfm", source, *options, "-o", target)
    return out


def _docx_to_pdf(files: list[Path], out: Path, profile: Path) -> None:
    """LibreOffice's PDF export with bookmarks (tests/format_files.to_pdf's options), a folder's files in one run."""
    options = json.dumps({"ExportBookmarks": {"type": "boolean", "value": "true"}})
    run(
        "soffice",
        f"-env:UserInstallation=file://{profile.resolve()}",
        "--headless",
        "--convert-to",
        f"pdf:writer_pdf_Export:{options}",
        "--outdir",
        out,
        *files,
    )


def rendered(answer: str) -> str:
    """An answer string as a rendered document prints it: code spans verbatim without their ticks, the rest
    without emphasis or link markup.

    An answer cut out of a code span has one tick: the span is its first part when no space comes before
    that tick (`__attrs_attrs__` class attribute), else its last part.
    """
    parts = _LINKED_CODE.sub(r"\1", answer).split("`")
    code_first = len(parts) % 2 == 0 and " " not in parts[0]
    rendered_parts = []
    for index, part in enumerate(parts):
        in_code = index % 2 == (0 if code_first else 1)
        if not in_code:
            part = _UNDERSCORE_EMPHASIS.sub(r"\1", _LINK_TEXT.sub(r"\1", _EMPHASIS_STARS.sub("", part)))
        rendered_parts.append(part)
    return "".join(rendered_parts)


def rendered_questions(source: Path, out: Path) -> Path:
    """`source` with every answer string rendered, for judging a format converted from Markdown."""
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            answers = record.get("answer")
            if isinstance(answers, str):
                record["answer"] = rendered(answers)
            elif isinstance(answers, list):
                record["answer"] = [rendered(a) for a in answers]
            line = json.dumps(record, ensure_ascii=False)
        lines.append(line)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def spaced(text: str) -> str:
    """Line breaks and runs of spaces as one space: how a reader sees text that a layout wrapped."""
    return _WHITESPACE.sub(" ", text)


def answer_survival(folder: Path, questions) -> dict:
    """Answer strings of answerable questions not in the extracted text: verbatim, and with line breaks as spaces."""
    from hkai_qa.corpus import load_corpus
    from hkai_qa.folding import fold

    text = fold("\n".join(d.text for d in load_corpus(folder).documents))
    flat = spaced(text)
    answers = {a for q in questions if q.answerable for a in q.answers}
    lost = sorted(a for a in answers if fold(a) not in text)
    return {
        "answers": len(answers),
        "lost": lost,
        "lost_at_line_breaks": sorted(a for a in lost if spaced(fold(a)) in flat),
    }


def scores(evaluation) -> dict:
    """One row of figures from an EvalReport: quality.py's hits and flags, and hits re-judged with line breaks as
    spaces."""
    from hkai_qa.folding import fold

    row = hkai_row(evaluation)
    answerable = [r for r in evaluation.rows if r.answerable and r.judged]
    spaced_ranks = []
    for r in answerable:
        wanted = [spaced(fold(a)) for a in r.answers]
        spaced_ranks.append(
            next((h.rank for h in r.hits if any(w in spaced(fold(h.text)) for w in wanted)), None) if wanted else r.rank
        )
    for k in (1, 5):
        row[f"spaced_hit@{k}"] = share(spaced_ranks, lambda rank, k=k: rank is not None and rank <= k)
    row["missed_at_1"] = sorted(r.id for r in answerable if r.rank != 1)
    return row


def measure(name: str, fmt: str, folder: Path, work: Path, questions_path: Path) -> dict:
    from hkai_qa import QA, load_questions

    questions = load_questions(questions_path).questions
    started = time.perf_counter()
    qa = QA(folder, index=work / f"index-{name}-{fmt}", rebuild=True, progress=False, notify=lambda _: None)
    result = {"passages": len(qa.passages), "build_seconds": round(time.perf_counter() - started, 1)}
    result.update(scores(qa.evaluate(questions_path, k=KS, progress=False)))
    result.update(answer_survival(folder, questions))
    return result


COLUMNS = [
    "corpus",
    "format",
    "passages",
    "hit@1",
    "hit@3",
    "hit@5",
    "off-topic flagged",
    "near-miss flagged",
    "answerable wrongly flagged",
    "answers lost (at line breaks)",
    "hit@1 / hit@5, line breaks as spaces",
]


def table_row(name: str, fmt: str, r: dict) -> list:
    def cell(value) -> str:
        return "–" if value is None else f"{value:.3f}"

    return [
        name,
        fmt,
        r["passages"],
        cell(r["hit@1"]),
        cell(r["hit@3"]),
        cell(r["hit@5"]),
        cell(r["off_topic_flagged"]),
        cell(r["near_miss_flagged"]),
        cell(r["answerable_wrongly_flagged"]),
        f"{len(r['lost'])}/{r['answers']} ({len(r['lost_at_line_breaks'])})",
        f"{cell(r['spaced_hit@1'])} / {cell(r['spaced_hit@5'])}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", choices=CORPORA, help="only this corpus (repeatable)")
    parser.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated, of {','.join(FORMATS)}")
    parser.add_argument("--keep", type=Path, help="write the converted folders and indexes here and keep them")
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    if unknown := set(formats) - set(FORMATS):
        raise SystemExit(f"unknown formats {sorted(unknown)}; choose from {', '.join(FORMATS)}")
    figures: dict[str, dict] = {}
    rows = []
    with tempfile.TemporaryDirectory(prefix="hkai-format-parity-") as scratch:
        work = args.keep or Path(scratch)
        for name in args.corpus or CORPORA:
            docs, questions = DATA / name / "docs", DATA / name / "questions.jsonl"
            figures[name] = {}
            for fmt in formats:
                print(f"{name} {fmt}: converting, building, asking …", flush=True)
                folder = convert(docs, fmt, work / f"{name}-{fmt}")
                if fmt != "markdown":
                    questions = rendered_questions(DATA / name / "questions.jsonl", work / f"{name}-questions.jsonl")
                figures[name][fmt] = measure(name, fmt, folder, work, questions)
                rows.append(table_row(name, fmt, figures[name][fmt]))
                print("  " + " | ".join(str(c) for c in rows[-1]), flush=True)
    notes = [
        "Every Markdown file of benchmarks/data/NAME/docs converted by pandoc (`-f gfm`; HTML `-s`, Word, "
        "`-t plain`) and LibreOffice (Word to PDF, with bookmarks); hybrid mode, a fresh index per format; "
        "Markdown measured in the same run. Columns as in benchmarks/quality.py; this script's docstring explains "
        "the last two.",
    ]
    for name, by_format in figures.items():
        for fmt, r in by_format.items():
            if r["lost"]:
                notes.append(f"{name} {fmt}, answer strings lost: " + "; ".join(repr(a) for a in r["lost"]) + ".")
    report("format_parity", table("Answer quality by document format", COLUMNS, rows, notes), figures)


if __name__ == "__main__":
    main()
