"""Shared fixtures: one real model load per session, indexes in temporary folders."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLED_CORPUS = REPO / "corpus"
# The article QA() answers from by default: package data (corpus/ in the checkout links to it).
PACKAGED_ARTICLE = REPO / "hkai_qa" / "data" / "hong_kong_ai_ecosystem.txt"
SCIFACT = REPO.parent / "shared" / "data" / "scifact"
ARTIFACTS = REPO / "tests" / "artifacts"

GOVERNMENT_QUESTION = "How does the government support AI?"
SECTION_QUESTIONS = [
    ("What makes Hong Kong's infrastructure suitable for AI?", "Infrastructure and Connectivity"),
    ("Which universities are key players in AI research?", "Research and Innovation"),
    (GOVERNMENT_QUESTION, "Government Support"),
    ("How do banks and financial institutions use AI?", "AI in Finance and Business"),
    ("How is AI used in transportation and healthcare in the city?", "Smart Cities and Urban Development"),
    ("What concerns about data privacy and ethics does AI raise?", "Challenges and Opportunities"),
]
TITLE = "Unleashing the Power of AI: A Closer Look at Hong Kong’s AI Ecosystem"
HEADINGS = [
    TITLE,
    "Infrastructure and Connectivity",
    "Research and Innovation",
    "Government Support",
    "AI in Finance and Business",
    "Smart Cities and Urban Development",
    "Challenges and Opportunities",
]


@pytest.fixture(autouse=True)
def _offline_and_isolated(monkeypatch, tmp_path_factory):
    """No test reaches a hub or writes indexes into the repository."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HKAI_QA_INDEX_ROOT", str(tmp_path_factory.getbasetemp() / "indexes"))
    monkeypatch.setenv("HKAI_QA_MODEL_CACHE", str(tmp_path_factory.getbasetemp() / "models"))


@pytest.fixture(scope="session")
def bundled_qa(tmp_path_factory):
    from hkai_qa import QA

    os.environ["HF_HUB_OFFLINE"] = "1"
    # Session fixtures start before the autouse one: the ONNX export goes where every test looks.
    os.environ["HKAI_QA_MODEL_CACHE"] = str(tmp_path_factory.getbasetemp() / "models")
    return QA(PACKAGED_ARTICLE, index=tmp_path_factory.mktemp("bundled") / "index")


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "volcanoes.md").write_text(
        "# Volcanoes\n\nA volcano is an opening in a planet's crust where molten rock escapes.\n\n"
        "## Eruptions\n\nAn eruption ejects lava, ash and gases; some are explosive.\n\n"
        "## Famous volcanoes\n\nMount Vesuvius buried Pompeii in the year 79.\n",
        encoding="utf-8",
    )
    (folder / "tea.txt").write_text(
        "Growing tea\n\nTea plants grow best on hillsides with acid soil and plenty of rain.\n\n"
        "Processing:\n\nLeaves are withered, rolled, oxidised and dried to make black tea.\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs, mounted for the test (root only)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill up (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


# A PDF question and where its answer is printed: the labelled spec (tests/format_files.py) numbers its
# pages i, 1, 2, ..., so the physical page and the printed label differ.
PDF_QUESTION = "How often are the pump seals replaced?"
PDF_ANSWER = "The pump seals are replaced every eighteen months."


@pytest.fixture(scope="session")
def pdf_qa(tmp_path_factory, bundled_qa):
    """A QA over a corpus folder holding a real PDF with page labels and a Markdown file."""
    import shutil

    from hkai_qa import QA
    from tests import format_files

    files = format_files.generate(tmp_path_factory)
    corpus = tmp_path_factory.mktemp("pdf_corpus")
    shutil.copy(files["pdf_with_labels"], corpus / "spec.pdf")
    (corpus / "tea.md").write_text("# Tea\n\nTea plants grow best on hillsides with acid soil.\n", encoding="utf-8")
    return QA(corpus, index=tmp_path_factory.mktemp("pdf_index") / "index")


def printed_on(pdf: Path, sentence: str) -> tuple[int, str]:
    """The physical page pypdf alone finds `sentence` on, and that page's printed label (the oracle)."""
    import pypdf

    reader = pypdf.PdfReader(str(pdf))
    for number, page in enumerate(reader.pages, start=1):
        if " ".join(sentence.split()) in " ".join(page.extract_text().split()):
            return number, reader.page_labels[number - 1]
    raise AssertionError(f"{sentence!r} is on no page of {pdf}")
