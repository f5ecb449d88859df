"""PDF ingestion speed: hkai-qa's PDF reader in pages/second beside bare pypdf text extraction of the
same files, measured in the same run; pdfminer.six's plain extraction beside them when it is installed
(the library we did not choose, docs/formats.md); and HTML parsing with lxml (chosen) beside
selectolax and BeautifulSoup when installed.

    python benchmarks/ingest_formats.py [PDF ...] [--rounds 5]

Without arguments it reads the real PDFs Debian ships (libtasn1-doc's manual, shared-mime-info's
specification) and a specification LibreOffice makes from Word at run time (tests/format_files.py).
The reader does more than bare extraction (font sizes and heights for headings, running headers,
hyphens, sections); the target is to stay within 2x of bare pypdf. Rounds alternate the two, and
the median of each is kept.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from measure import REPO, machine, report, table

sys.path.insert(0, str(REPO))

DEBIAN_PDFS = [
    Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"),  # apt-get install libtasn1-doc
    Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"),
]


def bare_pypdf(data: bytes) -> int:
    import pypdf

    return sum(len(page.extract_text()) for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def reader(data: bytes, name: str) -> int:
    from hkai_qa.readers import read_document

    return sum(len(d.text) for d in read_document(data, name, ".pdf"))


def pdfminer_text(data: bytes) -> int | None:
    try:
        from pdfminer.high_level import extract_text
    except ImportError:
        return None
    return len(extract_text(io.BytesIO(data)))


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def generated_pdf(folder: Path) -> Path | None:
    from tests import format_files

    if format_files.missing_tools():
        return None
    return format_files.to_pdf(format_files.make_docx(folder), folder / "pdf")


def big_html_page(folder: Path) -> bytes:
    """pandoc's standalone page of the test specification, its body thirty times (a long manual page)."""
    from tests import format_files

    source = folder / "long.md"
    head, body = format_files.spec_markdown().split("---\n", 2)[1:]
    source.write_text("---\n" + head + "---\n" + body * 30, encoding="utf-8")
    page = folder / "long.html"
    format_files.run("pandoc", source, "-s", "--toc", "-o", page)
    return page.read_bytes()


def html_parsers(page: bytes, rounds: int) -> list[list[object]]:
    """Seconds to parse one page and walk its text, per library (lxml is what hkai-qa uses)."""

    def with_lxml():
        import lxml.html

        return lxml.html.document_fromstring(page).text_content()

    def with_selectolax():
        from selectolax.lexbor import LexborHTMLParser

        return LexborHTMLParser(page).body.text()

    def with_beautifulsoup():
        from bs4 import BeautifulSoup

        return BeautifulSoup(page, "html.parser").get_text()

    def with_reader():
        from hkai_qa.readers import read_document

        return read_document(page, "page.html", ".html")

    rows = []
    for name, function in [
        ("hkai-qa HTML reader (lxml)", with_reader),
        ("lxml.html parse + text", with_lxml),
        ("selectolax (lexbor) parse + text", with_selectolax),
        ("BeautifulSoup (html.parser) parse + text", with_beautifulsoup),
    ]:
        try:
            function()
        except ImportError:
            rows.append([name, "not installed"])
            continue
        seconds = statistics.median(timed(function) for _ in range(rounds))
        rows.append([name, f"{seconds * 1000:.2f} ms"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdfs", nargs="*", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import pypdf

    with tempfile.TemporaryDirectory() as scratch:
        pdfs = args.pdfs or [p for p in DEBIAN_PDFS if p.is_file()]
        made = None if args.pdfs else generated_pdf(Path(scratch))
        if made:
            pdfs.append(made)
        html_page = None
        if not args.pdfs:
            from tests import format_files

            if not format_files.missing_tools():
                html_page = big_html_page(Path(scratch))
        rows, figures = [], {"files": {}}
        total_pages = total_bare = total_reader = 0.0
        for path in pdfs:
            data = path.read_bytes()
            pages = len(pypdf.PdfReader(io.BytesIO(data)).pages)
            bare, ours, miner = [], [], []
            for _ in range(args.rounds):
                bare.append(timed(bare_pypdf, data))
                ours.append(timed(reader, data, path.name))
            if pdfminer_text(data) is not None:
                miner = [timed(pdfminer_text, data) for _ in range(max(1, args.rounds // 2))]
            bare_s, ours_s = statistics.median(bare), statistics.median(ours)
            miner_s = statistics.median(miner) if miner else None
            total_pages, total_bare, total_reader = total_pages + pages, total_bare + bare_s, total_reader + ours_s
            rows.append(
                [
                    path.name,
                    pages,
                    f"{pages / ours_s:.0f}",
                    f"{pages / bare_s:.0f}",
                    f"{ours_s / bare_s:.2f}x",
                    f"{pages / miner_s:.0f}" if miner_s else "not installed",
                ]
            )
            figures["files"][path.name] = {
                "pages": pages,
                "reader_s": ours_s,
                "bare_pypdf_s": bare_s,
                "pdfminer_s": miner_s,
            }
        rows.append(
            [
                "all",
                int(total_pages),
                f"{total_pages / total_reader:.0f}",
                f"{total_pages / total_bare:.0f}",
                f"{total_reader / total_bare:.2f}x",
                "",
            ]
        )
        notes = [
            f"Median of {args.rounds} alternating rounds per file, one process, {machine()}.",
            "Bare pypdf: `PdfReader(...).pages[i].extract_text()` for every page. The reader also collects font sizes",
            "and heights, drops running headers and page numbers, joins hyphenated words and builds sections.",
            "Reproduce: `.venv/bin/python benchmarks/ingest_formats.py`.",
        ]
        text = table(
            "PDF ingestion (pages/second)",
            ["file", "pages", "hkai-qa reader", "bare pypdf", "reader time / bare", "pdfminer.six extract_text"],
            rows,
            notes,
        )
        if html_page:
            html_rows = html_parsers(html_page, args.rounds)
            text += "\n" + table(
                f"HTML parsing (one {len(html_page) // 1024} KB page made by pandoc)",
                ["parser", "median time"],
                html_rows,
                ["Each row parses the page and takes its text; the reader also drops boilerplate and builds sections."],
            )
            figures["html"] = {row[0]: row[1] for row in html_rows}
        figures["total"] = {"pages": total_pages, "reader_s": total_reader, "bare_pypdf_s": total_bare}
        report("ingest_formats", text, figures)


if __name__ == "__main__":
    main()
