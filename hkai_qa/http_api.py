"""The JSON API for programs: `POST /api/ask`, `GET /api/health`, `GET /api/info`, described at /openapi.json.

Programs get the `hkai-qa ask --json` shape over plain HTTP, without Gradio's queue
and session protocol. Every mistake in a request is a 4xx whose JSON `detail` is the
library's own message; the server never answers a bad request with a 500.

Questions are CPU-bound, so answering more of them at once than there are cores
only slows every one down. `QuestionQueue` runs one worker per core (by default),
each answering in a thread the questions waiting for it, several in one batch when
several wait; at most `queue_limit` wait, and anything beyond that is turned away at
once with 503 and Retry-After instead of letting every client's wait grow without bound.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Literal

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hkai_qa import QA, Answer, HkaiQaError, __version__
from hkai_qa.errors import did_you_mean

# A question is at most 2,000 characters: anything near this size is not a question, and
# reading it first would let a client fill memory (16 bodies of 50 MB raised the UI
# server's memory by 1.5 GB). The chat page posts its whole history with every turn, so
# the rest of the app allows more.
API_BODY_LIMIT = 64 * 1024
PAGE_BODY_LIMIT = 4 * 1024 * 1024
# How many questions may wait for a worker before the API says 503: enough for a burst
# from a few dozen clients, few enough that a waiting client hears back in seconds.
QUEUE_LIMIT = 64
# Questions answered in one call when that many wait: past a few dozen a batch saves little
# more per question and only delays the first asker in it.
MAX_BATCH = 16
RETRY_AFTER_SECONDS = 1
TOKEN_VARIABLE = "HKAI_QA_TOKEN"
MODES = ("hybrid", "dense", "bm25")
ASK_FIELDS = ("question", "k", "mode")
GOVERNMENT_EXAMPLE = "How does the government support AI?"
EXAMPLE_REQUEST = '{"question": "How does the government support AI?", "k": 3}'


class ApiError(Exception):
    """A request the API refuses: its HTTP status and the message sent back as {"detail": ...}."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


class QuestionQueue:
    """Questions wait here in order; `workers` tasks answer them, several at a time when several wait.

    `answer_batch(key, items)` answers items that share a key (the QA and k) in one call,
    returning one result or exception per item; encoding and searching a batch costs far
    less per question than one by one, so under load the server keeps up instead of
    falling behind. A lone question is answered at once, never held back for company.
    At most `queue_limit` questions wait for a busy worker; past that `submit` refuses with 503. Lives on
    one event loop, so it needs no lock.
    """

    def __init__(
        self,
        answer_batch: Callable[[Hashable, list[Any]], list[Any]],
        workers: int | None = None,
        queue_limit: int = QUEUE_LIMIT,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.answer_batch = answer_batch
        self.workers = workers or available_cores()
        self.queue_limit = queue_limit
        self.max_batch = max_batch
        self.in_flight = 0
        self._busy = 0  # workers answering a batch
        self._pending: deque[tuple[Hashable, Any, asyncio.Future]] = deque()
        self._arrived: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []

    @property
    def waiting(self) -> int:
        return len(self._pending)

    async def submit(self, key: Hashable, item: Any) -> Any:
        """The answer to `item` once a worker has it; ApiError 503 when the queue is full."""
        idle_workers = self.workers - self._busy
        if len(self._pending) >= self.queue_limit + idle_workers:
            raise ApiError(
                503,
                f"the server is busy: {self.in_flight} questions are being answered and {self.waiting} are waiting. "
                f"Try again in {RETRY_AFTER_SECONDS} s.",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        if not self._tasks:  # started on the serving loop, not at import
            self._arrived = asyncio.Event()
            self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        answer = asyncio.get_running_loop().create_future()
        self._pending.append((key, item, answer))
        self._arrived.set()
        return await answer

    async def _work(self) -> None:
        while True:
            while not self._pending:
                self._arrived.clear()
                await self._arrived.wait()
            key, item, answer = self._pending.popleft()
            batch = [(item, answer)]
            for waiting in [w for w in self._pending if w[0] == key][: self.max_batch - 1]:
                self._pending.remove(waiting)
                batch.append(waiting[1:])
            self.in_flight += len(batch)
            self._busy += 1
            try:
                results = await anyio.to_thread.run_sync(self.answer_batch, key, [item for item, _ in batch])
            except Exception as error:  # a bug, not a bad question: every asker gets it
                results = [error] * len(batch)
            finally:
                self.in_flight -= len(batch)
                self._busy -= 1
            for (_, answer), result in zip(batch, results, strict=True):
                if answer.done():  # the client went away
                    continue
                if isinstance(result, BaseException):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)


def answer_batch(key: tuple[QA, int], questions: list[Any]) -> list[Answer | Exception]:
    """`QA.ask_many` for questions that share a QA and k; when one is unusable, each is asked alone for its own."""
    qa, k = key
    try:
        return list(qa.ask_many(questions, k=k))
    except (HkaiQaError, ValueError) as error:
        if len(questions) == 1:
            return [error]
    results: list[Answer | Exception] = []
    for question in questions:
        try:
            results.append(qa.ask(question, k=k))
        except (HkaiQaError, ValueError) as error:
            results.append(error)
    return results


class BodyLimit:
    """ASGI middleware: a request body over the limit gets 413 before any of it is parsed.

    A declared Content-Length over the limit is refused unread; a body sent without one
    (chunked) is read up to the limit and refused as soon as it passes it.
    """

    def __init__(self, app: Any, api_limit: int = API_BODY_LIMIT, page_limit: int = PAGE_BODY_LIMIT) -> None:
        self.app = app
        self.api_limit = api_limit
        self.page_limit = page_limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.api_limit if scope["path"].startswith("/api/") else self.page_limit
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > limit:
                await _send_too_large(send, limit)
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await _send_too_large(send, limit)
                return
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _send_too_large(send: Callable, limit: int) -> None:
    message = f"the request body is over the limit of {limit // 1024:,} KB. A question is at most 2,000 characters."
    payload = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


# --- the shapes in /openapi.json (answers are sent as Answer.to_dict(), not through these) ----------


class AskRequest(BaseModel):
    question: str = Field(
        description="the question, 1 to 2,000 characters", examples=["How does the government support AI?"]
    )
    k: int = Field(3, ge=1, description="how many passages to return")
    mode: Literal["hybrid", "dense", "bm25"] | None = Field(None, description="retrieval mode (default: the server's)")


class HitOut(BaseModel):
    rank: int
    section: str = Field(description="the heading of the section the passage comes from")
    text: str
    score: float = Field(description="orders the hits; comparable across questions")
    doc_id: str
    passage_id: str
    source: str = Field(description="the file the passage comes from")
    start: int
    end: int
    dense_score: float
    bm25_score: float
    dense_rank: int | None
    bm25_rank: int | None
    evidence: list[list[int]] = Field(description="[start, end] offsets into text of the best-matching sentences")
    rerank_score: float | None
    page: int | None = Field(None, description="first physical page (1-based) in a paged source (PDF), else null")
    page_end: int | None = Field(None, description="last physical page, else null")
    page_label: str | None = Field(None, description="the first page's printed label, only where it differs")
    evidence_page: int | None = Field(None, description="the page the first evidence sentence is on (PDF only)")


class AnswerOut(BaseModel):
    question: str
    answerable: bool = Field(description="false when the documents do not answer it; the closest hits still follow")
    best_score: float
    notes: list[str]
    hits: list[HitOut]


class ErrorOut(BaseModel):
    detail: str = Field(description="what is wrong and how to fix it")


# --- the app -------------------------------------------------------------------------------------


def create_api(
    qa: QA,
    *,
    token: str | None = None,
    cors_origins: Sequence[str] = (),
    workers: int | None = None,
    queue_limit: int = QUEUE_LIMIT,
) -> FastAPI:
    """A FastAPI app answering from `qa` under /api; other apps (the chat UI) can be mounted beside it.

    With `token`, /api/ask and /api/info want `Authorization: Bearer <token>`. `cors_origins`
    lists the web origins whose pages may call the API; none by default.
    """
    from fastapi.middleware.cors import CORSMiddleware

    work = QuestionQueue(answer_batch, workers, queue_limit)
    by_mode = {qa.mode: qa}
    errors = {422: {"model": ErrorOut}, 413: {"model": ErrorOut}, 503: {"model": ErrorOut}}
    if token:
        errors[401] = {"model": ErrorOut}

    def check_token(request: Request) -> None:
        if not token:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise ApiError(
                401,
                f"this server wants a bearer token: send the header 'Authorization: Bearer <token>' "
                f"with the token in the server's ${TOKEN_VARIABLE}.",
                {"WWW-Authenticate": "Bearer"},
            )

    app = FastAPI(
        title="hkai-qa",
        version=__version__,
        summary="Answers questions from documents with the passages and section headings that answer them.",
    )
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodyLimit)

    @app.exception_handler(ApiError)
    async def refuse(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=error.status, headers=error.headers)

    @app.post(
        "/api/ask",
        summary="Answer a question",
        response_model=AnswerOut,
        responses=errors,
        dependencies=[Depends(check_token)],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": AskRequest.model_json_schema()}},
            }
        },
    )
    async def ask(request: Request) -> JSONResponse:
        """The `k` best passages for `question`, best first, and whether they answer it (`hkai-qa ask --json`)."""
        question, k, mode = _ask_arguments(await request.body())
        mode = qa.mode if mode is None else mode
        try:
            selected = by_mode.get(mode) if isinstance(mode, str) else None
            if selected is None:
                selected = by_mode[mode] = qa.with_mode(mode)
            if type(k) is not int:  # the library refuses it before any work: its message, at once
                selected.ask(question, k)
            answer = await work.submit((selected, k), question)
        except (HkaiQaError, ValueError) as error:
            raise ApiError(422, str(error)) from None
        return JSONResponse(answer.to_dict())

    @app.get("/api/health", summary="Whether the server is up, and how busy")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "passages": len(qa.passages),
            "workers": work.workers,
            "in_flight": work.in_flight,
            "waiting": work.waiting,
            "queue_limit": work.queue_limit,
        }

    @app.get("/api/info", summary="The corpus, model, store and abstention rule", dependencies=[Depends(check_token)])
    async def info() -> dict[str, Any]:
        return describe(qa)

    return app


def describe(qa: QA) -> dict[str, Any]:
    """What a program needs to know about the answers it will get from `qa`."""
    manifest = qa.manifest
    store = manifest.get("store")
    abstention = manifest.get("abstention", {})
    return {
        "corpus": qa.corpus_name,
        "documents": manifest.get("document_count"),
        "passages": len(qa.passages),
        "model": manifest.get("model", {}).get("name"),
        "encoder": qa.encoder,
        "store": {"kind": "milvus", "collection": store.get("collection")} if store else {"kind": "faiss"},
        "mode": qa.mode,
        "modes": list(MODES),
        "built_at": manifest.get("built_at"),
        "abstention": {
            "threshold": qa.threshold,
            "fitted_on": abstention.get("fitted_on", "built-in defaults"),
            "rule": "answerable is false when the best passage's score is below the threshold, "
            "when the question asks for a number or a date that none of the first passages holds, "
            "or when its key term is one the documents never mention",
        },
        "version": __version__,
    }


def _ask_arguments(body: bytes) -> tuple[Any, Any, Any]:
    """question, k and mode from a request body; ApiError for anything but a JSON object of known fields.

    The values themselves are checked by the library, so the messages are its own.
    """
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise ApiError(400, f"the request body is not JSON ({error}). Send {EXAMPLE_REQUEST}.") from None
    if not isinstance(payload, dict):
        raise ApiError(422, f"the request body must be a JSON object, like {EXAMPLE_REQUEST}.")
    unknown = [name for name in payload if name not in ASK_FIELDS]
    if unknown:
        hint = did_you_mean(str(unknown[0]), ASK_FIELDS)
        raise ApiError(422, f"unknown field {unknown[0]!r}; the fields are question, k and mode.{hint}")
    if "question" not in payload:
        raise ApiError(422, f"the request has no question. Send {EXAMPLE_REQUEST}.")
    return payload["question"], payload.get("k", 3), payload.get("mode")
