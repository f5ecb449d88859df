"""One server for people and programs: the chat UI at `/` and the JSON API at `/api/`, on one host and port.

`hkai-qa serve` (and `python app.py`) run this. The JSON API is a FastAPI app
(`hkai_qa.http_api`); the Gradio chat page, with its own `/ask` endpoint, is
mounted on it, and uvicorn serves both from one socket that binds 127.0.0.1
unless told otherwise.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from hkai_qa import QA, HkaiQaError

if TYPE_CHECKING:
    from fastapi import FastAPI

DEFAULT_HOST = "127.0.0.1"
STARTUP_SECONDS = 60


def create_app(
    qa: QA,
    *,
    examples: Sequence[str] = (),
    token: str | None = None,
    cors_origins: Sequence[str] = (),
    workers: int | None = None,
) -> FastAPI:
    """The JSON API for `qa` with the chat UI mounted at `/`. Loads the model now, not on the first request."""
    import gradio as gr

    from hkai_qa.http_api import create_api
    from hkai_qa.ui import CSS, build_app

    api = create_api(qa, token=token, cors_origins=cors_origins, workers=workers)
    _add_source_route(api, qa.corpus_path)  # before the UI is mounted at `/`, which would take the path
    return gr.mount_gradio_app(
        api,
        build_app(qa, examples=examples),
        path="/",
        footer_links=["api"],
        show_error=False,
        ssr_mode=False,
        mcp_server=False,
        css=CSS,
        theme=gr.themes.Default(),
    )


def source_file(corpus_path: Path, relative: str) -> Path | None:
    """The corpus file a hit's `source` names, or None when `relative` names anything else.

    Only files the corpus is read from are served: inside the corpus folder (the
    file itself for a one-file corpus) once symlinks are resolved, of a suffix
    the corpus reads, and not hidden; never `..`, an absolute path or a folder.
    """
    from hkai_qa.corpus import SUPPORTED_SUFFIXES

    if corpus_path == Path(""):  # an index opened without its corpus: nothing to serve, not the working folder
        return None
    path = PurePosixPath(relative)
    if not relative or "\\" in relative or path.is_absolute() or any(part in ("", ".", "..") for part in path.parts):
        return None
    if any(part.startswith(".") for part in path.parts) or path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return None
    corpus = Path(corpus_path).resolve()
    base = corpus if corpus.is_dir() else corpus.parent
    candidate = (base / path).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    if corpus.is_file() and candidate != corpus:
        return None
    return candidate


def _add_source_route(api: FastAPI, corpus_path: Path) -> None:
    """`/source/<path>`: a corpus file, so a page link opens the PDF at the page (`#page=7`)."""
    import mimetypes

    from fastapi import HTTPException
    from fastapi.responses import FileResponse

    from hkai_qa.ui import SOURCE_ROUTE

    @api.get(SOURCE_ROUTE + "/{relative:path}", include_in_schema=False)
    def source(relative: str) -> FileResponse:
        found = source_file(corpus_path, relative)
        if found is None:
            raise HTTPException(status_code=404, detail=f"{relative!r} is not a file of this corpus.")
        media_type = mimetypes.guess_type(found.name)[0] or "text/plain"
        if media_type.startswith("text/"):
            media_type += "; charset=utf-8"
        return FileResponse(found, media_type=media_type, content_disposition_type="inline")


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach: 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or HkaiQaError saying why not and what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say they are TCP, and
    # without it a response whose body follows its headers waits for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once after a stop
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise HkaiQaError(
            f"cannot listen on {host}:{port}: the port is in use or the address is not this machine's. "
            f"Stop the other server, or pick another port: --port {port + 1} (or GRADIO_SERVER_PORT={port + 1})."
        ) from None
    sock.set_inheritable(True)
    return sock


def _server(app: FastAPI, on_start: Callable[[], None] | None = None):
    """A uvicorn server for `app` that calls `on_start` once it accepts connections."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started and on_start is not None:
                on_start()

    return Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3))


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def running(app: FastAPI, host: str = DEFAULT_HOST, port: int = 0) -> Iterator[str]:
    """Serve `app` on host:port in a background thread (port 0: any free one); yields its URL, then stops it."""
    sock = listen(host, port)
    started = threading.Event()
    server = _server(app, started.set)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="hkai-qa-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not started.wait(0.05):
            if not thread.is_alive() or time.monotonic() > deadline:
                raise HkaiQaError(
                    f"the server on {host}:{sock.getsockname()[1]} did not start; see the messages above."
                )
        yield _url(host, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve(
    qa: QA,
    *,
    host: str = DEFAULT_HOST,
    port: int = 7860,
    examples: Sequence[str] = (),
    cors_origins: Sequence[str] = (),
) -> None:
    """Serve the chat UI and the JSON API for `qa` until Ctrl+C (or SIGTERM).

    A bearer token in $HKAI_QA_TOKEN, when set, guards the JSON API.
    """
    from hkai_qa.http_api import TOKEN_VARIABLE

    token = os.environ.get(TOKEN_VARIABLE) or None
    if not is_loopback(host) and token is None:
        print(
            f"Warning: the JSON API on {host}:{port} answers anyone who can reach it. "
            f"Set {TOKEN_VARIABLE} to require a bearer token.",
            file=sys.stderr,
        )
    sock = listen(host, port)  # first: a port in use is reported before the app is built
    url = _url(host, sock.getsockname()[1])

    def announce() -> None:
        print(f"hkai-qa: chat on {url}, JSON API on {url}/api (docs: {url}/docs). Ctrl+C to stop.", flush=True)

    try:
        app = create_app(qa, examples=examples, token=token, cors_origins=cors_origins)
        _server(app, announce).run(sockets=[sock])
    finally:
        sock.close()
