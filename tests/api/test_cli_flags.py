"""The CLI's new flags: `serve --cors`, `mcp --http`; mistakes end in one `Error:` line before anything loads."""

from __future__ import annotations

import pytest

from hkai_qa.cli import _parser, main


def test_serve_takes_cors_origins():
    args = _parser().parse_args(["serve", "--cors", "https://a.example", "--cors", "https://b.example"])
    assert args.cors == ["https://a.example", "https://b.example"] and args.host == "127.0.0.1"
    assert _parser().parse_args(["serve"]).cors == []


def test_mcp_defaults_to_stdio_on_loopback():
    args = _parser().parse_args(["mcp", "--index", "ix"])
    assert (args.http, args.host, args.index) == (None, "127.0.0.1", "ix")


@pytest.mark.parametrize("port", ["0", "70000"])
def test_mcp_http_port_out_of_range_is_a_one_line_error(capsys, port):
    assert main(["mcp", "--http", port]) == 2
    err = capsys.readouterr().err
    assert err == f"Error: port {port} is out of range. Pass a port between 1 and 65535, e.g. --http 8765.\n"
