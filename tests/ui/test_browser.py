"""The chat page in a real browser (Debian's chromium via Playwright) on the bundled article."""

from __future__ import annotations

import pytest

from tests.conftest import GOVERNMENT_QUESTION, TITLE
from tests.ui.conftest import ask_in_page, running_app

pytestmark = [pytest.mark.slow, pytest.mark.ui]

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def url(bundled_qa):
    from hkai_qa.ui import ARTICLE_EXAMPLES

    with running_app(bundled_qa, examples=ARTICLE_EXAMPLES) as app_url:
        yield app_url


def open_chat(page, url):
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.locator(".hkai-corpus")).to_contain_text(TITLE, timeout=TIMEOUT_MS)
    expect(page.locator(".hkai-corpus")).to_contain_text("7 passages")


def test_question_shows_numbered_cards_with_the_section_first(page, url):
    from playwright.sync_api import expect

    open_chat(page, url)
    ask_in_page(page, GOVERNMENT_QUESTION)
    first = page.locator(".hkai-card-1")
    expect(first.locator(".hkai-section")).to_have_text("Government Support", timeout=TIMEOUT_MS)
    expect(first.locator(".hkai-section")).to_be_visible()
    expect(first.locator("mark")).to_contain_text("The Hong Kong government has recognized")
    expect(first.locator(".hkai-score")).to_contain_text("%")
    expect(page.locator(".hkai-card")).to_have_count(3)
    expect(page.locator('[data-testid="user"]')).to_have_text(GOVERNMENT_QUESTION)
    expect(page.locator("#hkai-question textarea")).to_have_value("")


def test_unanswerable_question_says_so_and_dims_the_closest_passages(page, url):
    from playwright.sync_api import expect

    open_chat(page, url)
    ask_in_page(page, "What is the capital of France?")
    expect(page.locator(".hkai-not-found")).to_have_text("I couldn't find this in the documents.", timeout=TIMEOUT_MS)
    expect(page.locator(".hkai-cards.hkai-dimmed .hkai-card")).to_have_count(3)
    opacity = page.locator(".hkai-card").first.evaluate("card => getComputedStyle(card).opacity")
    assert float(opacity) < 1


def test_controls_errors_examples_and_clear(page, url):
    from playwright.sync_api import expect

    open_chat(page, url)
    ask_in_page(page, "   ")
    expect(page.locator(".hkai-error")).to_contain_text("The question is empty", timeout=TIMEOUT_MS)
    expect(page.locator(".toast-body")).to_have_count(0)

    page.locator("#hkai-k input[type=number]").fill("5")
    page.locator("#hkai-k input[type=number]").press("Enter")
    page.get_by_role("button", name="Which universities are key players in AI research?").click()
    first = page.locator(".hkai-card-1 .hkai-section")
    expect(first).to_have_text("Research and Innovation", timeout=TIMEOUT_MS)
    expect(page.locator(".hkai-card")).to_have_count(5)

    page.get_by_role("button", name="Clear chat").click()
    expect(page.locator(".hkai-card")).to_have_count(0, timeout=TIMEOUT_MS)
    expect(page.locator(".hkai-error")).to_have_count(0)
    assert page.dialogs == []
