"""The chat page as `hkai-qa serve` now serves it, mounted beside the JSON API, in a real browser."""

from __future__ import annotations

import pytest

from tests.conftest import GOVERNMENT_QUESTION, TITLE
from tests.ui.conftest import ask_in_page, browser, page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.ui]

TIMEOUT_MS = 30_000


def test_the_mounted_chat_page_answers_and_keeps_its_style(page, server_url):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(server_url)
    expect(page.locator(".hkai-corpus")).to_contain_text(TITLE, timeout=TIMEOUT_MS)
    ask_in_page(page, GOVERNMENT_QUESTION)
    first = page.locator(".hkai-card-1")
    expect(first.locator(".hkai-section")).to_have_text("Government Support", timeout=TIMEOUT_MS)
    expect(page.locator(".hkai-card")).to_have_count(3)
    # The app's CSS reached the page: the evidence is highlighted with its own colour.
    background = first.locator("mark").first.evaluate("mark => getComputedStyle(mark).backgroundColor")
    assert background == "rgb(253, 230, 138)"
    assert page.dialogs == []
