"""`server.listen`: the socket `hkai-qa serve` answers on."""

from __future__ import annotations

import socket

import pytest

from hkai_qa import HkaiQaError
from hkai_qa.server import DEFAULT_HOST, is_loopback, listen


def test_the_default_is_loopback_and_a_tcp_socket():
    sock = listen(DEFAULT_HOST, 0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
        # asyncio disables Nagle only on sockets created as IPPROTO_TCP; with proto 0 every
        # response whose body follows its headers waited for the client's delayed ACK.
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_a_port_in_use_is_an_error_that_names_the_fix():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(HkaiQaError, match=f"cannot listen on 127.0.0.1:{port}.*--port {port + 1}"):
            listen("127.0.0.1", port)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.1.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("::", False)],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback
