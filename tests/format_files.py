"""Real PDF, HTML and Word files for the reader tests, made by real tools at test time.

pandoc writes Word and HTML from Markdown; python-docx adds a running header,
a page-number footer and automatic hyphenation; LibreOffice turns the Word
file into PDF (with or without bookmarks); pypdf adds page labels or a
password; pdftoppm and img2pdf make a scan without a text layer. `make test`
installs the Debian packages (see the Makefile's `formats-tools` target).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

TOOLS = ("pandoc", "soffice", "pdftoppm", "img2pdf")
HEADER = "ACME Coolant Loop Specification, revision 4"
TITLE = "Coolant Loop Specification"
# Long words in narrow justified text make LibreOffice hyphenate at line ends.
_LONG_WORDS = (
    "instrumentation characterisation internationalisation electromagnetic thermodynamically "
    "uncharacteristically counterbalancing incomprehensibility interchangeability "
    "overcompensation misunderstanding representativeness"
).split()


def _filler(topic: str, count: int, seed: int) -> str:
    """Deterministic sentences about `topic`, with long words to hyphenate."""
    sentences = []
    for index in range(count):
        a = _LONG_WORDS[(seed + index) % len(_LONG_WORDS)]
        b = _LONG_WORDS[(seed * 3 + index * 7) % len(_LONG_WORDS)]
        sentences.append(f"The {topic} procedure relies on {a} and {b} checks in step {index + 1}.")
    return " ".join(sentences)


SECTIONS = [
    (
        1,
        "1 Scope",
        "The coolant loop keeps the reactor vessel below its design temperature. " + _filler("scope", 12, 1),
    ),
    (
        1,
        "2 Requirements",
        "Every requirement below is mandatory for loop A and loop B. " + _filler("requirement", 8, 2),
    ),
    (
        2,
        "2.1 Pressure limits",
        "The loop pressure must stay between 12 and 16 bar at all times. " + _filler("pressure", 60, 3),
    ),
    (
        2,
        "2.2 Temperature monitoring",
        "Sensor T1 reports the outlet temperature every second. " + _filler("temperature", 30, 4),
    ),
    (1, "3 Maintenance", "The pump seals are replaced every eighteen months. " + _filler("maintenance", 40, 5)),
]
TABLE = "| Sensor | Range | Unit |\n|---|---|---|\n| T1 | 0 to 120 | degrees Celsius |\n| P1 | 0 to 16 | bar |"


def spec_markdown() -> str:
    parts = [f"---\ntitle: {TITLE}\nlang: en-US\n---\n"]
    for level, heading, body in SECTIONS:
        parts.append(f"{'#' * level} {heading}\n\n{body}\n")
        if heading.startswith("2.2"):
            parts.append(TABLE + "\n")
    parts.append("```\ncheck_pressure --loop A --limit 16\n```\n")
    return "\n".join(parts)


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def run(*command: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([str(c) for c in command], check=True, capture_output=True, cwd=cwd, timeout=180)


def make_docx(folder: Path, name: str = "spec.docx") -> Path:
    """pandoc's Word file plus a header, a page-number footer and hyphenation (as a writer would set them)."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm

    source = folder / "spec.md"
    source.write_text(spec_markdown(), encoding="utf-8")
    plain = folder / "plain.docx"
    run("pandoc", source, "-o", plain)
    word = docx.Document(str(plain))
    section = word.sections[0]
    section.left_margin = section.right_margin = Cm(5)  # narrow lines: more hyphenation
    section.header.paragraphs[0].text = HEADER
    footer = section.footer.paragraphs[0]
    footer.text = "Page "
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run_element, text = OxmlElement("w:r"), OxmlElement("w:t")
    text.text = "1"
    run_element.append(text)
    field.append(run_element)
    footer._p.append(field)
    word.settings.element.append(OxmlElement("w:autoHyphenation"))
    for paragraph in word.paragraphs:  # justified text hyphenates more
        if not paragraph.style.name.lower().startswith(("heading", "title")):
            paragraph.alignment = 3
    path = folder / name
    word.save(str(path))
    return path


def to_pdf(docx_path: Path, out_dir: Path, bookmarks: bool = True) -> Path:
    """LibreOffice's PDF export of a Word file; with `bookmarks` False the PDF has no outline."""
    out_dir.mkdir(parents=True, exist_ok=True)
    options = json.dumps({"ExportBookmarks": {"type": "boolean", "value": "true" if bookmarks else "false"}})
    profile = (out_dir / ".lo-profile").resolve()
    run(
        "soffice",
        f"-env:UserInstallation=file://{profile}",
        "--headless",
        "--convert-to",
        f"pdf:writer_pdf_Export:{options}",
        "--outdir",
        out_dir,
        docx_path,
    )
    return out_dir / (docx_path.stem + ".pdf")


def with_page_labels(pdf: Path, out: Path) -> Path:
    """The same PDF whose first page is labelled "i" and the rest "1", "2", ... (front matter)."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=str(pdf))
    writer.set_page_label(0, 0, style="/r", start=1)
    writer.set_page_label(1, len(writer.pages) - 1, style="/D", start=1)
    writer.write(str(out))
    return out


def encrypted(pdf: Path, out: Path) -> Path:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=str(pdf))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    writer.write(str(out))
    return out


def scanned(pdf: Path, out: Path) -> Path:
    """The first page rendered to an image and wrapped back into a PDF: no text layer."""
    prefix = out.parent / (out.stem + "-page")
    run("pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", pdf, prefix)
    image = next(out.parent.glob(prefix.name + "*.png"))
    run("img2pdf", image, "-o", out)
    return out


def make_html(folder: Path) -> Path:
    """pandoc's standalone page plus a site menu, aside, form, footer and script around the content."""
    source = folder / "spec.md"
    source.write_text(spec_markdown(), encoding="utf-8")
    before = folder / "before.html"
    before.write_text(
        '<nav class="site-menu"><a href="/">Home</a> <a href="/products">Products menu link</a></nav>\n'
        "<aside>Related: unrelated sidebar article</aside>\n",
        encoding="utf-8",
    )
    after = folder / "after.html"
    after.write_text(
        '<form><label>Newsletter signup</label><input name="mail"></form>\n'
        "<footer>Copyright footer text ACME</footer>\n"
        "<script>var trackingCode = 'analytics tracking';</script>\n",
        encoding="utf-8",
    )
    path = folder / "spec.html"
    run("pandoc", source, "-s", "--toc", "-o", path, "--include-before-body", before, "--include-after-body", after)
    return path


_GENERATED: dict[str, Path] = {}


def generate(tmp_path_factory) -> dict[str, Path]:
    """Every test file, made once per test session (LibreOffice takes seconds per file)."""
    if _GENERATED:
        return _GENERATED
    missing = missing_tools()
    if missing:
        import pytest

        pytest.fail(f"the format tests need {', '.join(missing)}: run `make formats-tools` (as root) or `make test`")
    folder = tmp_path_factory.mktemp("formats")
    docx_path = make_docx(folder)
    outlined = to_pdf(docx_path, folder / "outlined")
    plain = to_pdf(docx_path, folder / "plain", bookmarks=False)
    _GENERATED.update(
        docx=docx_path,
        html=make_html(folder),
        pdf=outlined,
        pdf_without_outline=plain,
        pdf_with_labels=with_page_labels(outlined, folder / "labelled.pdf"),
        pdf_encrypted=encrypted(outlined, folder / "encrypted.pdf"),
        pdf_scanned=scanned(outlined, folder / "scanned.pdf"),
    )
    return _GENERATED
