"""A real Milvus server for the session (started once, on free ports; see tests/milvus_server.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory):
    """A Milvus 2.3.5 standalone server in a temporary data folder, stopped and removed after the session.

    Skipped, with the reason, only where the `milvus` package (Linux x86-64 wheels) is not installed or its
    binary cannot start; `make test` installs it.
    """
    pytest.importorskip("milvus", reason="the Milvus server tests need PyPI package milvus==2.3.5 (make test)")
    from tests.milvus_server import MilvusServerProcess

    server = MilvusServerProcess(tmp_path_factory.mktemp("milvus-server"))
    try:
        server.start()
    except (RuntimeError, OSError) as error:
        server.remove_data()
        pytest.skip(f"the Milvus server binary cannot start here: {error}")
    yield server
    server.stop()
    server.remove_data()
