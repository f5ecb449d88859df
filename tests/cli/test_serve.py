"""`hkai-qa serve`: the mistakes a person can make starting it end in one `Error:` line."""

from __future__ import annotations

import socket

import pytest

from hkai_qa.cli import main

pytestmark = pytest.mark.slow


def test_a_port_in_use_is_a_one_line_error(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Error: cannot listen on 127.0.0.1:{port}") and "--port" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["serve"], {"GRADIO_SERVER_PORT": "eighty"}, "GRADIO_SERVER_PORT='eighty' is not a port number"),
        (["serve", "--port", "70000"], {}, "port 70000 is out of range"),
        (["serve", "--corpus", "/nonexistent/docs"], {}, "does not exist"),
    ],
)
def test_bad_settings_are_one_line_errors(monkeypatch, capsys, args, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and message in err and err.count("\n") == 1
