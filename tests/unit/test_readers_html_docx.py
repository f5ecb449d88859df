"""The HTML and Word readers on pages pandoc wrote from the same Markdown (see tests/format_files.py)."""

from __future__ import annotations

import pytest

from hkai_qa.corpus import HEADING_PATH_SEPARATOR
from hkai_qa.errors import CorpusError
from hkai_qa.readers import read_document
from tests import format_files
from tests.format_files import TITLE

JOIN = HEADING_PATH_SEPARATOR.join
EXPECTED_HEADINGS = [
    JOIN([TITLE, "1 Scope"]),
    JOIN([TITLE, "2 Requirements"]),
    JOIN([TITLE, "2 Requirements", "2.1 Pressure limits"]),
    JOIN([TITLE, "2 Requirements", "2.2 Temperature monitoring"]),
    JOIN([TITLE, "3 Maintenance"]),
]


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    return format_files.generate(tmp_path_factory)


def read(path):
    (document,) = read_document(path.read_bytes(), path.name, path.suffix)
    return document


def body(document, heading_end: str) -> str:
    section = next(s for s in document.sections if s.heading.endswith(heading_end))
    return document.text[section.start : section.end]


@pytest.mark.parametrize("kind", ["html", "docx"])
def test_headings_become_section_paths_under_the_title(files, kind):
    document = read(files[kind])
    assert [s.heading for s in document.sections] == EXPECTED_HEADINGS
    assert body(document, "2.1 Pressure limits").startswith("The loop pressure must stay between 12 and 16 bar")
    assert all(s.pages == () for s in document.sections)


@pytest.mark.parametrize("kind", ["html", "docx"])
def test_tables_are_kept_whole_as_rows(files, kind):
    text = body(read(files[kind]), "2.2 Temperature monitoring")
    assert "Sensor | Range | Unit\nT1 | 0 to 120 | degrees Celsius\nP1 | 0 to 16 | bar" in text


def test_html_keeps_the_main_content_only(files):
    raw = files["html"].read_text(encoding="utf-8")
    text = read(files["html"]).text
    for boilerplate in ("Products menu link", "unrelated sidebar", "Newsletter signup", "Copyright footer", "tracking"):
        assert boilerplate in raw
        assert boilerplate not in text
    assert "<nav" in raw and "<style" in raw and "<script" in raw
    assert "font-family" not in text  # pandoc's inline style sheet
    assert "check_pressure --loop A --limit 16" in body(read(files["html"]), "3 Maintenance")


def test_html_pre_keeps_its_lines_and_br_breaks_a_line(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Runbook</title><style>p{color:red}</style></head><body>"
        "<header><a href='/'>Site banner</a></header><main><h1>Runbook</h1><p>Start the pump.</p>"
        "<h2>Commands</h2><pre>pump start\n  --speed 3\npump status</pre><p>Line one<br>line two</p>"
        "</main><footer>Site footer</footer></body></html>",
        encoding="utf-8",
    )
    document = read(page)
    assert [s.heading for s in document.sections] == ["Runbook", JOIN(["Runbook", "Commands"])]
    commands = body(document, "Commands")
    assert "pump start\n  --speed 3\npump status" in commands
    assert "Line one\nline two" in commands
    assert "Site banner" not in document.text and "Site footer" not in document.text


def test_html_chrome_named_by_class_or_id_is_dropped(tmp_path):
    page = tmp_path / "old.html"
    page.write_text(
        "<html><head><title>Pump guide</title></head><body>"
        "<div id='site-nav'><a href='/'>Home link</a></div><div class='left sidebar'>Sidebar promo</div>"
        "<div class='content'><h2>Priming</h2><p>Open the bleed valve before priming.</p></div>"
        "<div class='cookie-banner'>We use cookies</div><div id='footer'>Footer contact</div></body></html>",
        encoding="utf-8",
    )
    document = read(page)
    assert [s.heading for s in document.sections] == [JOIN(["Pump guide", "Priming"])]
    assert document.text.strip().endswith("Open the bleed valve before priming.")
    for chrome in ("Home link", "Sidebar promo", "cookies", "Footer contact"):
        assert chrome not in document.text


def test_html_charset_from_the_meta_tag(tmp_path):
    page = tmp_path / "latin.html"
    page.write_bytes(
        '<html><head><meta charset="iso-8859-1"><title>Caf\xe9</title></head><body><p>Cr\xe8me br\xfbl\xe9e</p></body>'
        "</html>".encode("latin-1")
    )
    document = read(page)
    assert "Crème brûlée" in document.text
    assert document.sections[0].heading == "Café"


def test_docx_title_comes_from_the_file_when_it_has_none(files, tmp_path):
    import docx

    word = docx.Document()
    word.add_heading("Installation", level=1)
    word.add_paragraph("Unpack the archive.")
    word.add_heading("Checks", level=2)
    table = word.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Step", "Result"
    table.cell(1, 0).text, table.cell(1, 1).text = "Power on", "Green light"
    path = tmp_path / "field_guide.docx"
    word.save(str(path))
    document = read(path)
    assert [s.heading for s in document.sections] == ["Installation", JOIN(["Installation", "Checks"])]
    assert body(document, "Checks") == "Step | Result\nPower on | Green light"


def test_a_damaged_docx_is_one_clear_error(tmp_path):
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(CorpusError, match=r"broken\.docx: not a readable Word \.docx file"):
        read(path)


CODE_WITH_BLANK_LINES = "import coolant\n\nloader = coolant.Loader()\n\nloader.run()"


@pytest.mark.parametrize("suffix", [".html", ".docx"])
def test_a_code_block_with_blank_lines_is_one_block(tmp_path, suffix):
    """pandoc's <pre> and Word "Source Code" paragraph keep the code's blank lines; fenced, the passage
    splitter reads it as one code block, not as three paragraphs it could window apart."""
    from hkai_qa.passages import blocks

    if "pandoc" in format_files.missing_tools():
        pytest.fail("this test needs pandoc: run `make formats-tools` (as root) or `make test`")
    source = tmp_path / "loader.md"
    source.write_text(
        f"# Loader\n\nWrite a loader like this:\n\n```python\n{CODE_WITH_BLANK_LINES}\n```\n\nThen start it.\n",
        encoding="utf-8",
    )
    path = tmp_path / f"loader{suffix}"
    format_files.run("pandoc", source, *(["-s"] if suffix == ".html" else []), "-o", path)
    document = read(path)
    [section] = document.sections
    found = blocks(document.text, section.start, section.end)
    assert [b.kind for b in found] == ["paragraph", "fence", "paragraph"]
    assert CODE_WITH_BLANK_LINES in document.text[found[1].start : found[1].end]


def test_consecutive_word_paragraphs_in_a_code_style_are_one_code_block(tmp_path):
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    word = docx.Document()
    word.styles.add_style("Plain Text", WD_STYLE_TYPE.PARAGRAPH)  # Word's built-in code style, by its name
    word.add_heading("Loader", level=1)
    word.add_paragraph("Write a loader like this:")
    for line in CODE_WITH_BLANK_LINES.split("\n"):
        word.add_paragraph(line, style="Plain Text")  # one paragraph per line, as people type code in Word
    word.add_paragraph("Then start it.")
    path = tmp_path / "loader.docx"
    word.save(str(path))
    assert (
        body(read(path), "Loader")
        == f"Write a loader like this:\n\n```\n{CODE_WITH_BLANK_LINES}\n```\n\nThen start it."
    )


def test_a_page_with_one_h1_is_rooted_in_it_not_in_its_title_tag(tmp_path):
    """pandoc titles a page without a title by its file name; sites add their own name. The one h1 is what
    the page calls itself, as Markdown's top heading roots its paths."""
    if "pandoc" in format_files.missing_tools():
        pytest.fail("this test needs pandoc: run `make formats-tools` (as root) or `make test`")
    source = tmp_path / "init.md"
    source.write_text("# Initialization\n\nHow objects start.\n\n## Defaults\n\nA default is used.\n", encoding="utf-8")
    page = tmp_path / "init.html"
    format_files.run("pandoc", source, "-s", "-o", page)
    assert "<title>init</title>" in page.read_text(encoding="utf-8")
    assert [s.heading for s in read(page).sections] == ["Initialization", JOIN(["Initialization", "Defaults"])]
    site = tmp_path / "site.html"
    site.write_text(
        page.read_text(encoding="utf-8").replace("<title>init</title>", "<title>Initialization — attrs docs</title>"),
        encoding="utf-8",
    )
    assert read(site).sections[1].heading == JOIN(["Initialization", "Defaults"])
