"""`/source/<path>`: the app serves the corpus's own files, so a page link opens the PDF, and nothing else."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pdf_server(pdf_qa):
    from hkai_qa.server import create_app, running

    with running(create_app(pdf_qa)) as url:
        yield url


def test_a_corpus_pdf_is_served_as_a_pdf(pdf_qa, pdf_server):
    response = httpx.get(f"{pdf_server}/source/spec.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" not in response.headers.get("content-disposition", "")
    assert response.content == (pdf_qa.corpus_path / "spec.pdf").read_bytes()
    markdown = httpx.get(f"{pdf_server}/source/tea.md")
    assert markdown.status_code == 200 and markdown.text.startswith("# Tea")


def test_nothing_outside_the_corpus_is_served(pdf_qa, pdf_server, tmp_path_factory):
    corpus = pdf_qa.corpus_path
    secret = corpus.parent / "secret.pdf"
    secret.write_bytes(b"%PDF-1.4 outside the corpus")
    (corpus / ".hidden.md").write_text("# hidden\n", encoding="utf-8")
    link = corpus / "link.pdf"
    link.symlink_to(secret)
    try:
        for path in (
            "..%2Fsecret.pdf",
            "%2e%2e/secret.pdf",
            "%2e%2e%2fsecret.pdf",
            "/" + str(secret).lstrip("/"),
            "%2F" + str(secret).lstrip("/").replace("/", "%2F"),
            "link.pdf",
            ".hidden.md",
            "missing.pdf",
        ):
            response = httpx.get(f"{pdf_server}/source/{path}")
            assert response.status_code == 404, path
            assert b"outside the corpus" not in response.content
        # A client that does not normalise the path (curl --path-as-is) gets no further.
        with httpx.Client() as client:
            request = client.build_request("GET", f"{pdf_server}/source/x")
            request.url = request.url.copy_with(raw_path=b"/source/../secret.pdf")
            assert client.send(request).status_code == 404
    finally:
        link.unlink()
        (corpus / ".hidden.md").unlink()
        secret.unlink()
