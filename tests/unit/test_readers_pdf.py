"""The PDF reader on real PDFs made by LibreOffice from a Word file (see tests/format_files.py)."""

from __future__ import annotations

import gzip
import io
import re
from collections import Counter
from pathlib import Path

import pypdf
import pytest

from hkai_qa.corpus import HEADING_PATH_SEPARATOR, Section
from hkai_qa.errors import CorpusError
from hkai_qa.readers import page_span, read_document
from tests import format_files
from tests.format_files import HEADER, TITLE


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    return format_files.generate(tmp_path_factory)


def read(path):
    (document,) = read_document(path.read_bytes(), path.name, ".pdf")
    return document


def section(document, heading_end: str) -> Section:
    return next(s for s in document.sections if s.heading.endswith(heading_end))


def page_of(document, sentence: str) -> int:
    """The physical page that `sentence` is printed on, by the reader's own page records."""
    found = re.search(r"\s+".join(map(re.escape, sentence.split())), document.text)
    holder = next(s for s in document.sections if s.start <= found.start() < s.end)
    first, last = page_span(holder, found.start(), found.end())
    assert first == last
    return first


def printed_page(path, sentence: str) -> int:
    """The page pypdf alone finds `sentence` on (the oracle for page numbers)."""
    words = sentence.split()
    for number, page in enumerate(pypdf.PdfReader(str(path)).pages, start=1):
        if " ".join(page.extract_text().split()).find(" ".join(words[:6])) >= 0:
            return number
    raise AssertionError(f"{sentence!r} is on no page")


def test_the_generated_pdf_has_what_the_tests_need(files):
    reader = pypdf.PdfReader(str(files["pdf"]))
    raw = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 4
    assert [item["/Title"] for item in reader.outline if not isinstance(item, list)][:2] == [
        "1 Scope",
        "2 Requirements",
    ]
    assert not pypdf.PdfReader(str(files["pdf_without_outline"])).outline
    assert raw.count(HEADER) == len(reader.pages)  # a running header on every page
    assert re.search(r"[a-z]-\n[a-z]", raw), "LibreOffice hyphenated no word at a line end"


@pytest.mark.parametrize("kind", ["pdf", "pdf_without_outline"])
def test_sections_follow_the_outline_or_the_numbered_headings(files, kind):
    document = read(files[kind])
    headings = [s.heading for s in document.sections]
    join = HEADING_PATH_SEPARATOR.join
    assert headings == [
        join([TITLE, "1 Scope"]),
        join([TITLE, "2 Requirements"]),
        join([TITLE, "2 Requirements", "2.1 Pressure limits"]),
        join([TITLE, "2 Requirements", "2.2 Temperature monitoring"]),
        join([TITLE, "3 Maintenance"]),
    ]
    pressure = section(document, "2.1 Pressure limits")
    body = document.text[pressure.start : pressure.end]
    assert body.startswith("The loop pressure must stay between 12 and 16 bar")
    assert "Sensor T1 reports" not in body


def test_page_numbers_are_physical_and_sections_cross_pages(files):
    path = files["pdf"]
    document = read(path)
    for sentence in (
        "The coolant loop keeps the reactor vessel below its design temperature.",
        "The pressure procedure relies on",
        "Sensor T1 reports the outlet temperature every second.",
        "The pump seals are replaced every eighteen months.",
    ):
        assert page_of(document, sentence) == printed_page(path, sentence)
    pressure = section(document, "2.1 Pressure limits")
    assert len(pressure.pages) >= 2, "2.1 should run over a page break"
    first, last = page_span(pressure, pressure.start, pressure.end)
    assert last > first
    assert [number for _, number, _ in pressure.pages] == list(range(first, last + 1))
    assert all(label is None for s in document.sections for _, _, label in s.pages)


def test_page_labels_are_kept_beside_physical_pages(files):
    document = read(files["pdf_with_labels"])
    labels = {number: label for s in document.sections for _, number, label in s.pages}
    assert labels[1] == "i"
    assert labels[2] == "1"
    assert labels[3] == "2"


def test_running_header_footer_and_page_numbers_are_removed(files):
    document = read(files["pdf"])
    assert HEADER not in document.text
    assert not re.search(r"^Page \d+$", document.text, re.MULTILINE)
    assert not re.search(r"^\d+$", document.text, re.MULTILINE)
    for s in document.sections:
        assert document.text[s.start : s.end].strip() not in ("", HEADER)


def test_words_hyphenated_at_line_ends_are_joined(files):
    path = files["pdf"]
    raw = "\n".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)
    broken = re.findall(r"(\w+)-\n(\w+)", raw)
    assert broken
    text = read(path).text
    assert not re.search(r"[a-z]-\n[a-z]", text)
    for head, tail in broken:
        assert re.search(rf"\b{head}{tail}\b", text), f"{head}-{tail} was not joined"
    for word in format_files.spec_markdown().split():
        word = word.strip(".,")
        if word.isalpha() and len(word) > 12:
            assert word in text


def test_a_pdf_without_text_names_the_fix(files):
    with pytest.raises(CorpusError, match=r"scanned\.pdf: this PDF has no text layer.*ocrmypdf in\.pdf out\.pdf"):
        read(files["pdf_scanned"])


def test_an_encrypted_pdf_says_it_needs_the_password(files):
    with pytest.raises(CorpusError, match=r"encrypted\.pdf: this PDF is encrypted with a password"):
        read(files["pdf_encrypted"])


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 3],
        lambda data: b"%PDF-1.7\n" + bytes(range(256)) * 20,
        lambda data: b"not a pdf at all",
    ],
)
def test_a_damaged_pdf_is_one_clear_error(files, tmp_path, damage):
    path = tmp_path / "broken.pdf"
    path.write_bytes(damage(files["pdf"].read_bytes()))
    try:
        document = read(path)
    except CorpusError as error:
        assert "broken.pdf" in str(error)
    else:  # pypdf recovers some damage; then the text it finds must still make sense
        assert document.sections


def test_page_span_maps_offsets_to_pages():
    section = Section("S", 100, 400, pages=((0, 3, "ii"), (120, 4, "iii"), (250, 5, "iv")))
    assert page_span(section, 100, 150) == (3, 3)
    assert page_span(section, 150, 260) == (3, 4)
    assert page_span(section, 220, 400) == (4, 5)
    assert page_span(section, 360, 380) == (5, 5)
    assert page_span(Section("T", 0, 10), 0, 10) == (None, None)


LIBTASN1_MANUAL = Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf")  # Debian's libtasn1-doc (make formats-tools)


def test_a_real_pdftex_manual_keeps_outline_labels_and_drops_chapter_headers():
    assert LIBTASN1_MANUAL.is_file(), "install Debian's libtasn1-doc: make formats-tools"
    document = read(LIBTASN1_MANUAL)
    naming = section(document, "2.2 Naming")
    assert naming.heading == HEADING_PATH_SEPARATOR.join(["Libtasn1", "2 ASN.1 structure handling", "2.2 Naming"])
    assert document.text[naming.start :].startswith("Consider this definition:")
    labels = {number: label for s in document.sections for _, number, label in s.pages}
    assert labels[1] == "T-1" and labels[3] == "i" and labels[4] == "1"
    assert naming.pages[0][1:] == (6, "3")  # physical page 6 is printed as page 3
    assert not re.search(r"^Chapter \d+: .* \d+$", document.text, re.MULTILINE)  # running chapter headers
    assert "SEQUENCE" in document.text and "SE-\nQUENCE" not in document.text


BZIP2_MANUAL = Path("/usr/share/doc/bzip2/manual.pdf.gz")  # Debian's bzip2-doc: no outline (make formats-tools)
CRC_PAPER = Path("/usr/share/doc/zlib1g-dev/crc-doc.1.0.pdf.gz")  # a LaTeX paper without an outline
MIME_SPEC = Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf")  # a specification with an outline


def read_installed(path: Path):
    assert path.is_file(), f"{path} is missing: make formats-tools"
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    (document,) = read_document(data, path.name.removesuffix(".gz"), ".pdf")
    return document


def test_headings_the_outline_leaves_out_nest_under_it_and_appendix_titles_match():
    document = read_installed(LIBTASN1_MANUAL)
    write_value = section(
        document, "asn1 write value"
    )  # a function entry, set larger than the body, not in the outline
    assert write_value.heading == HEADING_PATH_SEPARATOR.join(
        ["Libtasn1", "4 Function reference", "4.2 ASN.1 field functions", "asn1 write value"]
    )
    assert "BOOLEAN: VALUE must be" in document.text[write_value.start : write_value.end]
    assert section(document, "A.1 GNU Free Documentation License").heading.startswith(
        HEADING_PATH_SEPARATOR.join(["Libtasn1", "Appendix A Copying Information"])
    )
    assert not re.search(
        r"^Appendix A Copying Information$",
        document.text[section(document, "A.1 GNU Free Documentation License").start :],
        re.MULTILINE,
    )


def test_without_an_outline_a_wrapped_heading_is_one_and_numbered_siblings_share_a_level():
    bzip2 = read_installed(BZIP2_MANUAL)
    damaged = section(bzip2, "2.6. RECOVERING DATA FROM DAMAGED FILES")
    assert damaged.heading.endswith(
        HEADING_PATH_SEPARATOR.join(["2. How to use bzip2", damaged.heading.split(HEADING_PATH_SEPARATOR)[-1]])
    )
    memory = section(bzip2, "2.5. MEMORY MANAGEMENT")
    assert not bzip2.text[memory.start : memory.end].rstrip().endswith("DAMAGED")
    crc = read_installed(CRC_PAPER)
    root = "Everything we know about CRC but afraid to forget"  # the title, set on two lines
    assert section(crc, "2 Related work").heading == HEADING_PATH_SEPARATOR.join([root, "2 Related work"])
    assert section(crc, "References").heading == HEADING_PATH_SEPARATOR.join([root, "References"])


def test_contents_dot_leaders_are_shortened_and_paragraphs_are_kept_apart():
    bzip2 = read_installed(BZIP2_MANUAL)
    assert ". . . . ." not in bzip2.text
    assert re.search(r"^2\.4\. OPTIONS … 4$", bzip2.text, re.MULTILINE)
    options = bzip2.text[section(bzip2, "2.4. OPTIONS").start :]
    # each option is its own paragraph (set apart by a wider gap on the page)
    assert "Compress or decompress to standard output.\n\n-d --decompress\n" in options


@pytest.mark.parametrize("path", [LIBTASN1_MANUAL, BZIP2_MANUAL, CRC_PAPER, MIME_SPEC], ids=lambda p: p.name)
def test_no_passage_of_a_real_pdf_is_only_a_header_footer_or_page_number(path):
    from hkai_qa.passages import split_documents

    document = read_installed(path)
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    pages = [page.extract_text().splitlines() for page in pypdf.PdfReader(io.BytesIO(data)).pages]
    # what pypdf prints at the top and bottom of most pages: the running headers and footers
    edges = Counter(re.sub(r"\d+", "#", line.strip()) for lines in pages for line in lines[:1] + lines[-1:])
    running = {line for line, count in edges.items() if count >= len(pages) // 3}
    assert running, "the file should have a running header or footer"
    passages = split_documents([document], lambda texts: [len(t.split()) for t in texts], 60)
    for passage in passages:
        lines = {re.sub(r"\d+", "#", line.strip()) for line in passage.text.splitlines() if line.strip()}
        assert not lines <= running | {"#"}, passage.text
