"""Real servers for the API tests: the JSON API and the chat UI on one uvicorn server, in a thread."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def server_url(bundled_qa):
    """`hkai-qa serve`'s app (JSON API + Gradio UI) for the bundled article, on a free loopback port."""
    from hkai_qa.server import create_app, running

    with running(create_app(bundled_qa)) as url:
        yield url
