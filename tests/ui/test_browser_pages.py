"""A passage card from a PDF says its page and links to the PDF opened at it, in a real browser."""

from __future__ import annotations

import pytest

from tests.conftest import PDF_ANSWER, PDF_QUESTION, printed_on
from tests.ui.conftest import ask_in_page

pytestmark = [pytest.mark.slow, pytest.mark.ui]

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def url(pdf_qa):
    from hkai_qa.server import create_app, running

    with running(create_app(pdf_qa)) as app_url:
        yield app_url


def test_the_card_shows_the_page_and_links_to_the_pdf_at_it(page, url, pdf_qa):
    from playwright.sync_api import expect

    number, label = printed_on(pdf_qa.corpus_path / "spec.pdf", PDF_ANSWER)
    page.goto(url)
    ask_in_page(page, PDF_QUESTION)
    link = page.locator(".hkai-card-1 .hkai-page")
    expect(link).to_have_text(f"p. {number} (printed {label})", timeout=TIMEOUT_MS)
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    assert href == f"/source/spec.pdf#page={number}"
    # The link resolves on this server to the PDF itself.
    response = page.request.get(url + href.split("#")[0])
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body() == (pdf_qa.corpus_path / "spec.pdf").read_bytes()
