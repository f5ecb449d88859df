"""The chat page over a multilingual index: Chinese examples beside the English ones, answered in the browser."""

from __future__ import annotations

import pytest

from tests.conftest import BUNDLED_CORPUS, TITLE
from tests.ui.conftest import ask_in_page, running_app

pytestmark = [pytest.mark.slow, pytest.mark.ui]

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def e5_qa(tmp_path_factory):
    from hkai_qa import QA
    from hkai_qa.e5_encoder import MODEL_NAME

    return QA(BUNDLED_CORPUS, index=tmp_path_factory.mktemp("e5-ui") / "index", model=MODEL_NAME)


@pytest.fixture(scope="module")
def url(e5_qa):
    from hkai_qa.ui import article_examples

    with running_app(e5_qa, examples=article_examples(e5_qa)) as app_url:
        yield app_url


def test_examples_offer_chinese_only_with_a_multilingual_model(e5_qa, bundled_qa):
    from hkai_qa.ui import ARTICLE_EXAMPLES, ARTICLE_EXAMPLES_ZH, article_examples

    assert article_examples(bundled_qa) == ARTICLE_EXAMPLES
    assert article_examples(e5_qa) == ARTICLE_EXAMPLES + ARTICLE_EXAMPLES_ZH


def test_chinese_example_is_shown_and_answered(page, url):
    from playwright.sync_api import expect

    from hkai_qa.ui import ARTICLE_EXAMPLES_ZH

    page.goto(url)
    expect(page.locator(".hkai-corpus")).to_contain_text(TITLE, timeout=TIMEOUT_MS)
    for question in ARTICLE_EXAMPLES_ZH:
        expect(page.get_by_role("button", name=question)).to_be_visible()
    expect(page.get_by_role("button", name="How does the government support AI?")).to_be_visible()

    page.get_by_role("button", name=ARTICLE_EXAMPLES_ZH[0]).click()
    first = page.locator(".hkai-card-1 .hkai-section")
    expect(first).to_have_text("Government Support", timeout=TIMEOUT_MS)
    expect(page.locator('[data-testid="user"]')).to_have_text(ARTICLE_EXAMPLES_ZH[0])
    expect(page.locator(".hkai-note")).to_contain_text("ranked by meaning alone")
    expect(page.locator(".hkai-note")).not_to_contain_text("English only")

    ask_in_page(page, "法國嘅首都係邊度？")
    expect(page.locator(".hkai-not-found")).to_have_text("I couldn't find this in the documents.", timeout=TIMEOUT_MS)
    assert page.dialogs == []
