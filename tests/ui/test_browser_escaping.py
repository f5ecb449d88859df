"""A corpus holding HTML shows it as text in the browser, and runs none of it."""

from __future__ import annotations

import pytest

from tests.ui.conftest import ask_in_page, running_app

pytestmark = [pytest.mark.slow, pytest.mark.ui]

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    from hkai_qa import QA

    folder = tmp_path_factory.mktemp("payloads")
    (folder / "payloads.md").write_text(
        f"# {SCRIPT} Volcano notes\n\nVolcanoes erupt lava {IMG} and ash.\n\n"
        f"## {IMG}\n\nThe payload {SCRIPT} sits in this passage about volcanoes erupting lava.\n",
        encoding="utf-8",
    )
    qa = QA(corpus=folder, index=tmp_path_factory.mktemp("payload-index") / "index")
    with running_app(qa, examples=[f"<b>{IMG}</b>"]) as app_url:
        yield app_url


def test_corpus_and_question_html_is_shown_as_text(page, url):
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.locator(".hkai-corpus-name")).to_have_text(f"{SCRIPT} Volcano notes", timeout=TIMEOUT_MS)
    question = f"Which volcano erupts lava? {SCRIPT}"
    ask_in_page(page, question)
    expect(page.locator('[data-testid="user"]')).to_have_text(question, timeout=TIMEOUT_MS)
    cards = page.locator(".hkai-card")
    expect(cards).to_have_count(2, timeout=TIMEOUT_MS)
    expect(page.locator(".hkai-section").filter(has_text=IMG)).to_have_count(1)
    expect(page.locator(".hkai-text").filter(has_text=f"The payload {SCRIPT} sits")).to_have_count(1)
    expect(page.locator(".hkai-text").filter(has_text=f"lava {IMG} and ash")).to_have_count(1)
    expect(page.get_by_role("button", name=f"<b>{IMG}</b>")).to_be_visible()
    # Nothing from the corpus became an element, and nothing ran.
    assert page.locator("#hkai-chat img, #hkai-chat script, .hkai-header script, .hkai-header img").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []
