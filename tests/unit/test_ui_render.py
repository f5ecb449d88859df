"""The chat UI's HTML: escaping, highlighting, verdicts (no model, no server)."""

from __future__ import annotations

import subprocess
import sys

from hkai_qa import Answer, Hit
from hkai_qa.ui import NOT_FOUND, render_answer, render_error, render_hit, render_question

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


def hit(text: str = "First sentence. Second one.", evidence=((0, 15),), **fields) -> Hit:
    values = {"rank": 1, "section": "Intro", "score": 0.54, "doc_id": "a.txt", "passage_id": "a.txt#0"}
    values.update(source="a.txt", start=0, end=len(text))
    values.update(fields)
    return Hit(text=text, evidence=tuple(evidence), **values)


def test_evidence_is_highlighted_and_the_rest_kept():
    card = render_hit(hit())
    assert "<mark>First sentence.</mark> Second one." in card
    assert '<span class="hkai-section">Intro</span>' in card
    assert "score 0.540 · 54%" in card and 'style="width: 54%"' in card


def test_corpus_html_is_escaped_everywhere():
    text = f"Before {SCRIPT} after {IMG}."
    card = render_hit(hit(text, evidence=[(0, 20)], section=IMG, source=f'"{SCRIPT}".txt', passage_id=SCRIPT))
    assert "<script" not in card and "<img" not in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card
    assert "&lt;img src=x onerror=alert(1)&gt;" in card
    # The highlight may cut a tag in two; both halves stay text.
    assert "<mark>Before &lt;script&gt;alert</mark>(1)&lt;/script&gt; after" in card


def test_question_and_error_text_are_escaped():
    assert (
        render_question(f"  why {IMG}?\n")
        == '<span class="hkai-question">why &lt;img src=x onerror=alert(1)&gt;?</span>'
    )
    assert "&lt;b&gt;" in render_error("the question <b> is bad")
    assert render_error("the question is empty.").startswith('<p class="hkai-error">The question')


def test_multi_line_text_stays_one_html_line():
    """The chatbot strips indentation from multi-line messages, which would change the text."""
    card = render_hit(hit("Line one.\n    indented line two.", evidence=()))
    assert "\n" not in card and "Line one.&#10;    indented line two." in card


def test_long_question_is_shortened_for_display():
    shown = render_question("x" * 3000)
    assert "x" * 400 + "… (3,000 characters)" in shown and "x" * 401 not in shown


def test_unanswerable_answer_says_so_first_and_dims_the_passages():
    answer = Answer("What is the capital of France?", [hit(score=0.12), hit(rank=2, score=0.1)], False, ["a note"])
    page = render_answer(answer, threshold=0.3)
    assert page.index("I couldn&#x27;t find this in the documents.") < page.index("hkai-card")
    assert NOT_FOUND == "I couldn't find this in the documents."
    assert '<div class="hkai-cards hkai-dimmed">' in page
    assert "0.120, below the threshold 0.300" in page and '<p class="hkai-note">a note</p>' in page
    assert page.count('class="hkai-card hkai-card-') == 2


def test_answerable_answer_is_not_dimmed():
    page = render_answer(Answer("q", [hit()], True), threshold=0.3)
    assert "Answered from the documents (best score 0.540, threshold 0.300)" in page
    assert "hkai-dimmed" not in page and "couldn" not in page


def test_scores_outside_0_1_keep_the_bar_in_range():
    assert 'style="width: 100%"' in render_hit(hit(score=3.2))
    assert 'style="width: 0%"' in render_hit(hit(score=-0.2))


def test_cli_and_ui_modules_import_without_gradio():
    code = "import sys, hkai_qa.cli, hkai_qa.ui; print('gradio' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_a_reranked_hit_shows_the_cross_encoders_score_beside_its_own():
    assert "score 0.540 · 54% · rerank 0.812" in render_hit(hit(rerank_score=0.812))
    assert "rerank" not in render_hit(hit())


def test_declined_for_its_answer_type_shows_the_reason_not_a_threshold():
    note = "The question asks for a number, and none of the best passages gives one."
    page = render_answer(Answer("How many people live here?", [hit(score=0.5)], False, [note]), threshold=0.3)
    assert "I couldn&#x27;t find this in the documents." in page and note in page
    assert "below the threshold" not in page
