"""The Gradio chat UI: a `gr.Blocks` app built from a `QA`, served on 127.0.0.1.

Every answer is a list of numbered passage cards (section heading, score, source,
text with its best-matching sentence highlighted). Everything that reaches the
page from a corpus or a person is HTML-escaped here, so a corpus holding
`<script>` shows those characters and runs nothing. The same answers are served
to programs by the `/ask` endpoint as `Answer.to_dict()`, the JSON of
`hkai-qa ask --json`. `hkai-qa serve` mounts this app beside the JSON API
(`hkai_qa.server`); `launch` serves it alone, as Gradio does.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hkai_qa import QA, Answer, Hit, HkaiQaError

if TYPE_CHECKING:
    import gradio as gr

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_PASSAGES = 3
# Where a card's page link opens its corpus file (`/source/manual.pdf#page=7`); `hkai_qa.server` serves it.
SOURCE_ROUTE = "/source"
MAX_PASSAGES = 10
# How many questions are answered at once, shared by the chat and /ask. An answer is
# CPU-bound (torch encodes the question on both cores, then FAISS and BM25 search), so
# running more at once on this 2-core machine only time-slices them and makes every one
# slower; 2 lets one request's Python work (tokenising, evidence, JSON) overlap another's
# matrix maths. Others wait in the queue, in order. benchmarks/server.py measures it;
# HKAI_QA_UI_CONCURRENCY overrides it for a machine with more cores.
QUEUE_CONCURRENCY = 2
QUEUE_MAX_SIZE = 256
SHOWN_QUESTION_CHARS = 400
NOT_FOUND = "I couldn't find this in the documents."

# Questions the bundled article answers, and one it does not, offered as buttons.
ARTICLE_EXAMPLES = (
    "How does the government support AI?",
    "Which universities are key players in AI research?",
    "How do banks and financial institutions use AI?",
    "What challenges does Hong Kong's AI ecosystem face?",
    "What is the capital of France?",
)
# The same in Chinese (Cantonese as written in Hong Kong), offered when the index's model reads it.
ARTICLE_EXAMPLES_ZH = (
    "香港政府點樣支持人工智能發展？",
    "香港邊間大學喺AI研究方面好出名？",
    "法國嘅首都係邊度？",
)


def article_examples(qa: QA) -> tuple[str, ...]:
    """The example questions for the bundled article: the Chinese ones too with a multilingual model."""
    return ARTICLE_EXAMPLES + (ARTICLE_EXAMPLES_ZH if getattr(qa.embedder, "multilingual", False) else ())


CSS = """
.hkai-header h1 { margin: 0 0 .2em 0; font-size: 1.6em; }
.hkai-header .hkai-corpus { color: var(--body-text-color-subdued); margin: 0; }
.hkai-answer { display: flex; flex-direction: column; gap: .5em; }
.hkai-verdict { margin: 0; font-weight: 600; }
.hkai-verdict.hkai-not-found { color: var(--body-text-color); }
.hkai-note { margin: 0; font-size: .9em; color: var(--body-text-color-subdued); }
.hkai-error { margin: 0; }
.hkai-card { border: 1px solid var(--border-color-primary); border-left: 4px solid var(--color-accent);
  border-radius: 6px; padding: .5em .75em; background: var(--background-fill-secondary); }
.hkai-dimmed .hkai-card { opacity: .55; border-left-color: var(--border-color-primary); }
.hkai-card-head { display: flex; align-items: baseline; gap: .5em; flex-wrap: wrap; }
.hkai-rank { font-weight: 700; min-width: 1.6em; }
.hkai-section { font-weight: 700; }
.hkai-score { margin-left: auto; font-variant-numeric: tabular-nums; font-size: .9em; }
.hkai-bar { height: 4px; border-radius: 2px; background: var(--border-color-primary); margin: .3em 0; }
.hkai-bar-fill { display: block; height: 100%; border-radius: 2px; background: var(--color-accent); }
.hkai-source { font-size: .85em; color: var(--body-text-color-subdued); }
.hkai-text { margin: .4em 0 0 0; padding-left: .6em; border-left: 2px solid var(--border-color-primary);
  white-space: pre-wrap; }
.hkai-text mark { background: #fde68a; color: inherit; padding: 0 .1em; border-radius: 2px; }
.hkai-question { white-space: pre-wrap; }
"""


# --- HTML: every piece of text goes through _text ------------------------------------------------


def _text(value: object) -> str:
    """Escaped text on one line: the chatbot trims indentation of multi-line messages."""
    return html.escape(str(value), quote=True).replace("\r", "").replace("\n", "&#10;")


def _highlighted(text: str, spans: Sequence[Sequence[int]]) -> str:
    parts, cursor = [], 0
    for start, end in sorted((int(s), int(e)) for s, e in spans):
        start, end = max(start, cursor), min(end, len(text))
        if end <= start:
            continue
        parts.append(_text(text[cursor:start]))
        parts.append(f"<mark>{_text(text[start:end])}</mark>")
        cursor = end
    parts.append(_text(text[cursor:]))
    return "".join(parts)


def render_hit(hit: Hit) -> str:
    """One numbered passage card."""
    percent = round(100 * min(max(hit.score, 0.0), 1.0))
    rerank = "" if hit.rerank_score is None else f" · rerank {hit.rerank_score:.3f}"
    return (
        f'<div class="hkai-card hkai-card-{hit.rank}">'
        f'<div class="hkai-card-head"><span class="hkai-rank">[{hit.rank}]</span>'
        f'<span class="hkai-section">{_text(hit.section)}</span>'
        f'<span class="hkai-score" title="score {hit.score:.3f}">'
        f"score {hit.score:.3f} · {percent}%{rerank}</span></div>"
        f'<div class="hkai-bar"><span class="hkai-bar-fill" style="width: {percent}%"></span></div>'
        f'<div class="hkai-source">{_text(hit.source)} · {_text(hit.passage_id)}{_page_link(hit)}</div>'
        f'<blockquote class="hkai-text">{_highlighted(hit.text, hit.evidence)}</blockquote>'
        "</div>"
    )


def _page_link(hit: Hit) -> str:
    """ " · p. 7" linking to the source opened at that page (served by `hkai-qa serve`); "" without pages."""
    if hit.pages is None:
        return ""
    href = f"{SOURCE_ROUTE}/{quote(hit.source)}#page={hit.evidence_page or hit.page}"  # where the evidence is
    return f' · <a class="hkai-page" href="{_text(href)}" target="_blank" rel="noopener">{_text(hit.pages)}</a>'


def render_answer(answer: Answer, threshold: float) -> str:
    """An answer as chat HTML: the verdict, any notes, then the passage cards."""
    best = answer.best_score
    if answer.answerable:
        verdict = (
            f'<p class="hkai-verdict">Answered from the documents (best score {best:.3f}, '
            f"threshold {threshold:.3f}):</p>"
        )
    else:
        closest = " The closest passages:" if answer.hits else ""
        why = f"The best passage scores {best:.3f}, below the threshold {threshold:.3f}." if best < threshold else ""
        verdict = (
            f'<p class="hkai-verdict hkai-not-found">{_text(NOT_FOUND)}</p><p class="hkai-note">{why}{closest}</p>'
        )
    notes = "".join(f'<p class="hkai-note">{_text(note)}</p>' for note in answer.notes)
    cards = "".join(render_hit(hit) for hit in answer.hits)
    dimmed = "" if answer.answerable else " hkai-dimmed"
    return f'<div class="hkai-answer">{verdict}{notes}<div class="hkai-cards{dimmed}">{cards}</div></div>'


def render_question(question: str) -> str:
    shown = question.strip()
    if len(shown) > SHOWN_QUESTION_CHARS:
        shown = f"{shown[:SHOWN_QUESTION_CHARS]}… ({len(question.strip()):,} characters)"
    return f'<span class="hkai-question">{_text(shown)}</span>'


def render_error(message: str) -> str:
    """A user error as a chat message: the library's message, capitalised, no traceback."""
    message = message[:1].upper() + message[1:]
    return f'<p class="hkai-error">{_text(message)}</p>'


def render_header(qa: QA) -> str:
    count = len(qa.passages)
    return (
        '<div class="hkai-header"><h1>hkai-qa · ask the documents</h1>'
        f'<p class="hkai-corpus">Corpus: <strong class="hkai-corpus-name">{_text(qa.corpus_name)}</strong>'
        f" · {count:,} passage{'s' if count != 1 else ''}</p></div>"
    )


# --- the app -------------------------------------------------------------------------------------


def chat_turn(qa: QA, question: str, history: list[dict[str, Any]] | None, k: float | None) -> list[dict[str, Any]]:
    """The chat history with `question` and its answer (or a friendly error) appended."""
    history = list(history or [])
    question = question if isinstance(question, str) else ""
    if question.strip():
        history.append({"role": "user", "content": render_question(question)})
    # The slider keeps k in 1-10 in the browser; a cleared number box sends nothing.
    passages = min(max(int(k), 1), MAX_PASSAGES) if isinstance(k, int | float) else DEFAULT_PASSAGES
    try:
        answer = qa.ask(question, k=passages)
    except (HkaiQaError, ValueError) as error:
        history.append({"role": "assistant", "content": render_error(str(error))})
    else:
        threshold = qa.threshold if answer.threshold is None else answer.threshold  # the one that judged it
        history.append({"role": "assistant", "content": render_answer(answer, threshold)})
    return history


def queue_concurrency() -> int:
    """QUEUE_CONCURRENCY, or $HKAI_QA_UI_CONCURRENCY when set to a whole number of 1 or more."""
    setting = os.environ.get("HKAI_QA_UI_CONCURRENCY", "")
    if not setting:
        return QUEUE_CONCURRENCY
    if not setting.isdigit() or int(setting) < 1:
        raise HkaiQaError(f"HKAI_QA_UI_CONCURRENCY={setting!r} must be a whole number, 1 or more (default 2).")
    return int(setting)


def build_app(qa: QA, *, examples: Sequence[str] = ()) -> gr.Blocks:
    """The chat page and the `/ask` endpoint for `qa`. Loads the model now, not on the first request."""
    import gradio as gr

    concurrency = queue_concurrency()
    qa.ask("warm-up", k=1)

    def respond(question: str, history: list[dict[str, Any]], k: float):
        return chat_turn(qa, question, history, k), ""

    def ask(question: str, k: int = DEFAULT_PASSAGES) -> dict:
        """Answer `question` with the `k` best passages: the JSON of `hkai-qa ask --json`."""
        try:
            return qa.ask(question, k=k).to_dict()
        except (HkaiQaError, ValueError) as error:
            raise gr.Error(str(error), print_exception=False) from None

    with gr.Blocks(title=f"hkai-qa · {qa.corpus_name}", analytics_enabled=False) as app:
        # Rendered on each page load, so a page opened after `serve --watch` updated the index shows the new count.
        header = gr.HTML(render_header(qa), js_on_load=None)
        app.load(lambda: render_header(qa), None, header, queue=False, api_visibility="private")
        chatbot = gr.Chatbot(
            label="Answers",
            show_label=False,
            elem_id="hkai-chat",
            height=620,
            layout="panel",
            render_markdown=False,  # messages are HTML built (and escaped) here
            latex_delimiters=[],
            allow_tags=False,
            feedback_options=None,
            buttons=[],
            placeholder="Ask a question about the documents. Each answer quotes the passages it comes from.",
        )
        with gr.Row():
            question = gr.Textbox(
                label="Question",
                elem_id="hkai-question",
                placeholder="Type a question and press Enter",
                lines=1,
                max_lines=4,
                autofocus=True,
                scale=5,
            )
            passages = gr.Slider(
                1, MAX_PASSAGES, value=DEFAULT_PASSAGES, step=1, label="Passages", elem_id="hkai-k", scale=2
            )
            clear = gr.Button(
                "Clear chat", variant="secondary", size="sm", elem_id="hkai-clear", scale=1, min_width=100
            )
        buttons = []
        if examples:
            gr.Markdown("Try one of these questions:")
            with gr.Row(elem_id="hkai-examples"):
                buttons = [gr.Button(q, size="sm", variant="secondary") for q in examples]

        shared = {"concurrency_limit": concurrency, "concurrency_id": "qa", "api_visibility": "private"}
        question.submit(respond, [question, chatbot, passages], [chatbot, question], **shared)
        for button in buttons:
            button.click(respond, [button, chatbot, passages], [chatbot, question], **shared)
        clear.click(lambda: ([], ""), None, [chatbot, question], queue=False, api_visibility="private")
        gr.api(ask, api_name="ask", concurrency_limit=concurrency, concurrency_id="qa")

    app.queue(default_concurrency_limit=concurrency, max_size=QUEUE_MAX_SIZE)
    return app


def launch(app: gr.Blocks, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, block: bool = True) -> str:
    """Serve `app` on host:port (never a share link); returns the local URL.

    With `block=False` the server runs in a background thread; stop it with `app.close()`.
    """
    import gradio as gr

    try:
        _, url, _ = app.launch(
            server_name=host,
            server_port=port,
            share=False,
            prevent_thread_lock=True,
            show_error=False,
            quiet=True,
            ssr_mode=False,
            mcp_server=False,
            footer_links=["api"],
            css=CSS,
            theme=gr.themes.Default(),
        )
    except OSError:
        raise HkaiQaError(
            f"cannot listen on {host}:{port}: the port is in use or the address is not this machine's. "
            f"Stop the other server, or pick another port: --port {port + 1} (or GRADIO_SERVER_PORT={port + 1})."
        ) from None
    url = url.rstrip("/")
    if block:
        print(f"hkai-qa: chat on {url} (Ctrl+C to stop)", flush=True)
        app.block_thread()
    return url
