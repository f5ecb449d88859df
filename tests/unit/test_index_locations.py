"""Where indexes and the bundled article live, and what a named index path must be; no model loads."""

from __future__ import annotations

import pytest

from hkai_qa import QA, IndexStoreError
from hkai_qa.build import BUNDLED_CORPUS, default_index_dir
from tests.conftest import BUNDLED_CORPUS as CHECKOUT_CORPUS
from tests.conftest import REPO


def test_the_bundled_article_is_package_data_and_the_checkout_links_to_it():
    assert BUNDLED_CORPUS.is_file() and BUNDLED_CORPUS.parent == REPO / "hkai_qa" / "data"
    linked = CHECKOUT_CORPUS / BUNDLED_CORPUS.name
    assert linked.is_symlink() and linked.resolve() == BUNDLED_CORPUS.resolve()


def test_an_index_path_that_does_not_exist_is_an_error_without_a_corpus(tmp_path):
    """Issue 17 item 2: QA(index=missing) answered from the bundled article and created the folder."""
    missing = tmp_path / "no_such_dir"
    with pytest.raises(IndexStoreError, match=f"no index at {missing} .*hkai-qa build CORPUS --index {missing}"):
        QA(index=missing)
    assert not missing.exists()


def test_default_index_folders_are_keyed_by_corpus_store_and_model(tmp_path):
    """Issue 17 item 5: one `--store milvus:…` or `--model X` must not take over the plain command's folder."""
    corpus = tmp_path / "docs"
    corpus.mkdir()
    plain = default_index_dir(corpus)
    assert plain.name.startswith("docs-")
    assert default_index_dir(corpus, "faiss", None) == plain
    assert default_index_dir(corpus, "faiss", "all-MiniLM-L6-v2") == plain, "the default model by name is the default"
    milvus = default_index_dir(corpus, "milvus:/srv/hk.db", None)
    other_model = default_index_dir(corpus, "faiss", "/models/multilingual")
    assert len({plain, milvus, other_model}) == 3
    assert milvus.parent == plain.parent == other_model.parent
    assert default_index_dir(tmp_path / "elsewhere") != plain
