"""HTML pages: the main content only, `h1`-`h6` as section paths under the page's title.

Parsed with lxml (already required by python-docx; libxml2's HTML parser
copes with real-world markup). Navigation, page headers and footers, asides,
forms, scripts and styles are dropped; `pre` blocks keep their line breaks and
are fenced as Markdown code, and a table becomes one block of `cell | cell` rows,
so neither is cut apart.
"""

from __future__ import annotations

import re

from ..documents import Document, title_from_filename
from ..errors import CorpusError
from .assembly import DocumentAssembler

# Never content: dropped with everything inside them.
_DROPPED_TAGS = {
    "script", "style", "noscript", "template", "nav", "aside", "form", "iframe", "svg", "canvas",
    "button", "select", "textarea", "input", "label", "dialog", "object", "embed", "head",
}  # fmt: skip
_DROPPED_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "dialog"}
# Pages without semantic tags name their chrome in class or id ("site-nav", "sidebar", "cookie-banner").
_BOILERPLATE_NAME = re.compile(
    r"(?:^|[-_])(?:nav|navbar|navigation|menu|sidebar|breadcrumbs?|cookies?|footer|skip-?link|toc)(?:$|[-_])"
)
_NEVER_BOILERPLATE = {"html", "body", "main", "article"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Elements that end a run of inline text: what is inside them becomes its own block.
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "body", "blockquote", "ul", "ol", "li", "dl", "dt", "dd",
    "figure", "figcaption", "address", "details", "summary", "hr", "center", "fieldset", "caption",
    "header", "footer", "hgroup",
}  # fmt: skip
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)


def read_html(data: bytes, source: str) -> Document:
    """One HTML page as a document whose sections are rooted at its title: the content's only `h1`, else `<title>`.

    A page's one `h1` is the title its readers see; its `<title>` is often that plus the site's name
    ("Initialization — attrs documentation") or only a file name, which pandoc writes when it has no title.
    """
    import lxml.etree
    import lxml.html

    text = _decode(data)
    try:
        tree = lxml.html.document_fromstring(
            text.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
        )
    except (lxml.etree.ParserError, ValueError) as error:
        raise CorpusError(f"{source}: not a readable HTML page ({error}). Check the file, or remove it.") from None
    title = " ".join((tree.findtext(".//title") or "").split())
    _drop_boilerplate(tree)
    content = _main_content(tree)
    top_headings = [" ".join(h.text_content().split()) for h in content.iter("h1")]
    if len(top_headings) == 1 and top_headings[0]:
        title = top_headings[0]
    assembler = DocumentAssembler(root=title or None)
    walker = _Walker(assembler)
    walker.walk(content)
    walker.flush()
    if not title:
        first = tree.find(".//h1")
        title = " ".join(first.text_content().split()) if first is not None else title_from_filename(source)
    return assembler.document(doc_id=source, source=source, title=title)


def _decode(data: bytes) -> str:
    """The page's text: its BOM, then its meta charset, then UTF-8, then Windows-1252."""
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    declared = _CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _drop_boilerplate(tree) -> None:
    """Remove what is never the page's content; page-level header and footer too (not an article's)."""
    doomed = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        role = (element.get("role") or "").lower()
        hidden = element.get("hidden") is not None or (element.get("aria-hidden") or "").lower() == "true"
        if tag in _DROPPED_TAGS or role in _DROPPED_ROLES or hidden or _named_as_boilerplate(element, tag):
            doomed.append(element)
        elif tag in ("header", "footer") and not any(a.tag in ("article", "main") for a in element.iterancestors()):
            doomed.append(element)
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()


def _named_as_boilerplate(element, tag: str) -> bool:
    if tag in _NEVER_BOILERPLATE or tag in _HEADINGS:
        return False
    names = (element.get("class") or "").lower().split() + (element.get("id") or "").lower().split()
    return any(_BOILERPLATE_NAME.search(name) for name in names)


def _main_content(tree):
    """`<main>` (or role=main), else the only `<article>`, else the body."""
    for xpath in ("//main", "//*[@role='main']"):
        found = tree.xpath(xpath)
        if found:
            return found[0]
    articles = tree.xpath("//article")
    if len(articles) == 1:
        return articles[0]
    body = tree.find("body")
    return body if body is not None else tree


def _table_rows(table) -> str:
    """A table as readable rows: the caption, then `cell | cell | cell` per row."""
    lines = []
    caption = table.find("caption")
    if caption is not None and caption.text_content().strip():
        lines.append(" ".join(caption.text_content().split()))
    for row in table.iter("tr"):
        cells = [" ".join(cell.text_content().split()) for cell in row if cell.tag in ("td", "th")]
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def _spaces(text: str) -> str:
    """Source line breaks are spaces in HTML; only `<br>` breaks a line."""
    return re.sub(r"\s+", " ", text)


class _Walker:
    """Walks the content in document order, gathering inline text into blocks."""

    def __init__(self, assembler: DocumentAssembler) -> None:
        self.assembler = assembler
        self.inline: list[str] = []

    def flush(self) -> None:
        text = "".join(self.inline)
        self.inline = []
        lines = [" ".join(line.split()) for line in text.split("\n")]
        self.assembler.block("\n".join(line for line in lines if line))

    def walk(self, element) -> None:
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if tag in _HEADINGS:
            self.flush()
            self.assembler.heading(_HEADINGS[tag], element.text_content())
        elif tag == "pre":
            self.flush()
            self.assembler.code(element.text_content().rstrip())
        elif tag == "table":
            self.flush()
            self.assembler.block(_table_rows(element))
        elif tag == "br":
            self.inline.append("\n")
        else:
            block = tag in _BLOCK_TAGS
            if block:
                self.flush()
                if tag == "li":
                    self.inline.append("- ")
            if element.text:
                self.inline.append(_spaces(element.text))
            for child in element:
                self.walk(child)
                if child.tail:
                    self.inline.append(_spaces(child.tail))
            if block:
                self.flush()
