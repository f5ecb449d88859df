"""A question naming a flag, a version or a dotted name the corpus holds finds the passage that holds it.

Meaning alone puts a licence text first for "What does the -L or --license flag do?";
the option list that has "-L --license" is the one meant (benchmarks/pdf_pages.py's bzip2-16).
"""

from __future__ import annotations

from hkai_qa import QA

LICENCE = """# GNU Free Documentation License

## Applicability and definitions

This License applies to any manual or other work that contains a notice placed by the copyright holder saying
it can be distributed under the terms of this License. The license terms and conditions grant a world-wide,
royalty-free license to use the work.

## Verbatim copying

You may copy and distribute the Document in any medium, provided that this License, the copyright notices,
and the license notice saying this License applies are reproduced in all copies.
"""

MANUAL = """# bzip2 manual

## Options

-c --stdout
Compress or decompress to standard output.

-s --small
Reduce memory usage, for compression, decompression and testing.

-L --license -V --version
Display the software version, license terms and conditions.

## Memory management

bzip2 compresses large files in blocks. The block size affects both the compression ratio achieved, and the
amount of memory needed for compression and decompression.
"""


def test_a_flag_in_the_question_finds_the_option_list_over_a_licence_text(tmp_path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "licence.md").write_text(LICENCE, encoding="utf-8")
    (corpus / "manual.md").write_text(MANUAL, encoding="utf-8")
    qa = QA(corpus, index=tmp_path / "ix")
    hits = qa.ask("What does the -L or --license flag do?").hits
    assert hits[0].section == "bzip2 manual › Options"
    assert hits[1].section.startswith("GNU Free Documentation License")
    # Without a token the corpus holds, the corpus's own weights rank: the licence text is closest in meaning.
    assert qa.ask("What do the license terms and conditions say?").hits[0].section.startswith("GNU Free")
