"""The PDF reader on real PDFs made by LibreOffice from a Word file (see tests/format_files.py)."""

from __future__ import annotations

import re
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
