"""`hkai-qa`: build an index, ask questions, evaluate, serve the chat UI.

Uses only the public API. A user error prints one `Error: …` line on stderr
and exits with status 2; nothing here prints a traceback for it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import tempfile
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from hkai_qa._defaults import DEFAULT_ENCODER, DEFAULT_KS, DEFAULT_MODE, ENCODERS, MODES

EXIT_USER_ERROR = 2
EXIT_BROKEN_PIPE = 141  # what a shell reports for a tool ended by SIGPIPE
MAX_HIT_CHARS = 1000  # what `ask` prints of one passage; --json gives it whole
# Control characters other than tab and newline (C0, DEL, C1) and lone surrogates: a terminal
# would act on them (ESC starts an escape sequence), so they are printed as \x1b and the like.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
CORPUS_HELP = "a .txt, .md, .pdf, .html or .docx file, a folder of them, or a BEIR corpus"
RERANK_HELP = "reorder the best 20 passages with this sentence-transformers CrossEncoder folder (none ships)"


class _UsageError(Exception):
    """A command line argparse refuses; `main` prints it as one `Error:` line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message}. See: {self.prog} --help")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hkai-qa",
        description="Answer questions from your documents with the passages and section headings that answer them.",
        epilog="Without --corpus, commands use the bundled article on Hong Kong's AI ecosystem.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def corpus_options(command: argparse.ArgumentParser, corpus_flag: bool = True) -> None:
        if corpus_flag:
            command.add_argument("--corpus", metavar="PATH", help=CORPUS_HELP)
        command.add_argument("--index", metavar="DIR", help="index folder (default: one per corpus under index/)")
        command.add_argument(
            "--model",
            metavar="NAME_OR_PATH",
            help="embedding model (default: all-MiniLM-L6-v2; multilingual-e5-small reads Chinese and ~100 languages)",
        )
        command.add_argument("--mode", choices=MODES, default=None, help=f"retrieval mode (default: {DEFAULT_MODE})")
        command.add_argument(
            "--encoder",
            choices=ENCODERS,
            default=None,
            help="encode with onnxruntime (default; exported once, falls back to torch) or sentence-transformers",
        )
        command.add_argument(
            "--store",
            metavar="SPEC",
            default=None,
            help="where vectors live: faiss (default), milvus:FILE.db (Milvus Lite) or "
            "milvus:http://HOST:19530 (a Milvus server; token from $MILVUS_TOKEN)",
        )
        command.add_argument("--rerank", metavar="DIR", default=None, help=RERANK_HELP)

    build = commands.add_parser("build", help="build (or rebuild) the index for a corpus")
    build.add_argument("corpus", metavar="CORPUS", nargs="?", help=CORPUS_HELP)
    corpus_options(build, corpus_flag=False)
    build.add_argument(
        "--rebuild", action="store_true", help="embed every passage again (default: only new or changed ones)"
    )
    build.add_argument("--json", action="store_true", help="print what changed as one JSON object")

    status = commands.add_parser("status", help="what an index holds and which corpus files changed since")
    status.add_argument("--corpus", metavar="PATH", help=CORPUS_HELP)
    status.add_argument("--index", metavar="DIR", help="index folder (default: the corpus's own under index/)")
    status.add_argument("--model", metavar="NAME_OR_PATH", help="the model whose default index to read")
    status.add_argument("--store", metavar="SPEC", default=None, help="the store whose default index to read")
    status.add_argument("--json", action="store_true", help="print the status as JSON")

    ask = commands.add_parser("ask", help="ask one question")
    ask.add_argument("question", metavar="QUESTION")
    ask.add_argument("-k", type=int, default=3, help="how many passages to show (default: 3)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    corpus_options(ask)

    serve = commands.add_parser(
        "serve",
        help="serve the chat UI and the JSON API (/api/ask, /docs) on one port",
        epilog="With $HKAI_QA_TOKEN set, the JSON API wants 'Authorization: Bearer <token>'. See docs/http-api.md.",
    )
    corpus_options(serve)
    serve.add_argument(
        "--watch", action="store_true", help="poll the corpus every few seconds and update the index when it changes"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine)")
    serve.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    serve.add_argument(
        "--cors",
        metavar="ORIGIN",
        action="append",
        default=[],
        help="let web pages from ORIGIN (e.g. https://app.example.org) call the JSON API; repeatable (default: none)",
    )

    mcp = commands.add_parser(
        "mcp",
        help="serve search over the documents to AI agents (Model Context Protocol, stdio)",
        epilog="Needs the extra: pip install 'hkai-qa[mcp]'. See docs/mcp.md.",
    )
    corpus_options(mcp)
    mcp.add_argument("--http", metavar="PORT", type=int, default=None, help="serve streamable HTTP on PORT, not stdio")
    mcp.add_argument("--host", default="127.0.0.1", help="address for --http (default: 127.0.0.1, this machine)")

    calibrate = commands.add_parser(
        "calibrate", help="fit the 'not in the documents' thresholds on labelled questions, store them in the index"
    )
    calibrate.add_argument("questions", metavar="QUESTIONS", help='a question file with some "answerable": false rows')
    corpus_options(calibrate)

    evaluate = commands.add_parser("eval", help="score a question set or a BEIR benchmark and write a report")
    evaluate.add_argument(
        "questions", metavar="QUESTIONS", help="a .jsonl, .csv or .json question file, or a BEIR folder"
    )
    evaluate.add_argument("--corpus", metavar="PATH", help="the corpus to answer from (a BEIR folder brings its own)")
    evaluate.add_argument("--index", metavar="DIR", help="index folder (default: one per corpus under index/)")
    evaluate.add_argument(
        "--model",
        metavar="NAME_OR_PATH",
        help="embedding model (default: all-MiniLM-L6-v2; multilingual-e5-small reads Chinese and ~100 languages)",
    )
    evaluate.add_argument(
        "--mode", type=_modes, default=None, help="hybrid, dense, bm25, a comma list, or all: one report per mode"
    )
    evaluate.add_argument(
        "--k", type=_ks, default=DEFAULT_KS, metavar="K,K,…", help=f"hit@k cut-offs ({','.join(map(str, DEFAULT_KS))})"
    )
    evaluate.add_argument("--out", metavar="DIR", help="report folder (default: reports/<corpus>-<timestamp>/)")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars, only the summary table")
    evaluate.add_argument("--encoder", choices=ENCODERS, default=None, help=f"encoder (default: {DEFAULT_ENCODER})")
    evaluate.add_argument("--store", metavar="SPEC", default=None, help="faiss (default), milvus:FILE.db or milvus:URI")
    evaluate.add_argument("--rerank", metavar="DIR", default=None, help=RERANK_HELP)
    return parser


def _modes(text: str) -> list[str]:
    modes = list(MODES) if text.strip() == "all" else [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if not modes or unknown:
        raise argparse.ArgumentTypeError(f"unknown mode {', '.join(unknown) or text!r}; use {', '.join(MODES)} or all")
    return list(dict.fromkeys(modes))


def _ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(sorted({int(k) for k in text.split(",") if k.strip()}))
    except ValueError:
        ks = ()
    if not ks or ks[0] < 1:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers of 1 or more separated by commas, like 1,3,5,10; got {text!r}"
        )
    return ks


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        args = _parser().parse_args(argv)
    except _UsageError as error:
        print(f"Error: {printable(str(error))}", file=sys.stderr)
        return EXIT_USER_ERROR
    from hkai_qa import HkaiQaError

    try:
        with _notices_on_stderr():
            return _run(args)
    except HkaiQaError as error:
        print(f"Error: {printable(str(error))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`hkai-qa ask … | head`): stop quietly, as a shell tool does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so flushing stdout at exit cannot fail
        return EXIT_BROKEN_PIPE


@contextlib.contextmanager
def _notices_on_stderr() -> Iterator[None]:
    """Show the library's notices (the "hkai_qa" logger, INFO and up) as `hkai-qa: …` lines, for this run only."""
    logger = logging.getLogger("hkai_qa")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("hkai-qa: %(message)s"))
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _run(args: argparse.Namespace) -> int:
    from hkai_qa import QA

    if args.command == "build":
        return _build(args)
    if args.command == "status":
        from hkai_qa import index_status
        from hkai_qa.status import format_status

        status = index_status(args.corpus, args.index, store=args.store, model=args.model)
        print(json.dumps(status, ensure_ascii=False, indent=2) if args.json else format_status(status))
        return 0
    if args.command == "ask":
        qa = QA(args.corpus, args.index, model=args.model, **_mode(args))
        answer = qa.ask(args.question, k=args.k)
        if args.json:
            print(_printable_json(answer.to_dict()))
        else:
            print(_format_answer(answer, qa.threshold if answer.threshold is None else answer.threshold))
        return 0
    if args.command == "serve":
        return _serve(args)
    if args.command == "mcp":
        from hkai_qa.mcp_server import run

        run(corpus=args.corpus, index=args.index, model=args.model, http_port=args.http, host=args.host, **_mode(args))
        return 0
    if args.command == "eval":
        return _evaluate(args)
    if args.command == "calibrate":
        return _calibrate(args)
    raise AssertionError(args.command)


def _build(args: argparse.Namespace) -> int:
    """Bring the index up to date (only new or changed passages are embedded) and say what changed."""
    import time

    from hkai_qa import QA, UpdateReport

    started = time.perf_counter()
    qa = QA(args.corpus, args.index, model=args.model, rebuild=args.rebuild, progress=not args.json, **_mode(args))
    if qa.behind:  # another process is updating this index: `build` waits for it, then checks again
        qa.refresh()
    manifest = qa.manifest
    report = qa.last_update or UpdateReport.nothing(manifest["passage_count"], round(time.perf_counter() - started, 3))
    if args.json:
        print(json.dumps({"index": str(qa.index_dir), **report.to_dict()}, ensure_ascii=False))
        return 0
    store = manifest.get("store")
    where = f" (vectors in Milvus collection {store['collection']} at {store['uri']})" if store else ""
    documents = manifest["document_count"]
    verb = {"full": "Built", "incremental": "Updated", "none": "Up to date:"}[report.kind]
    print(
        f"{verb} {qa.index_dir}: {manifest['passage_count']:,} passages from {documents:,} "
        f"document{'' if documents == 1 else 's'}{where}; {_counts(report)}."
    )
    return 0


def _counts(report) -> str:
    """The report's passage counts, seconds and changed files, in one clause."""
    text = (
        f"{report.added:,} added, {report.updated:,} updated, {report.unchanged:,} unchanged, "
        f"{report.removed:,} removed in {report.seconds:.1f} s"
    )
    extra = [part for part in (report.files.summary(), report.reason) if part]
    return text + (f" ({'; '.join(extra)})" if extra else "")


def _serve(args: argparse.Namespace) -> int:
    """Gradio is imported only here, so the other commands stay quick to start."""
    from hkai_qa import QA, HkaiQaError
    from hkai_qa.server import serve
    from hkai_qa.ui import DEFAULT_PORT, article_examples

    port = args.port
    if port is None:
        setting = os.environ.get("GRADIO_SERVER_PORT", str(DEFAULT_PORT))
        if not setting.isdigit():
            raise HkaiQaError(f"GRADIO_SERVER_PORT={setting!r} is not a port number. Set it to one, e.g. 7860.")
        port = int(setting)
    if not 0 < port < 65536:
        raise HkaiQaError(f"port {port} is out of range. Pass a port between 1 and 65535, e.g. --port 7860.")
    qa = QA(args.corpus, args.index, model=args.model, **_mode(args))
    if args.watch:
        from hkai_qa.watch import CorpusWatcher

        CorpusWatcher(qa).start()  # a daemon thread: it ends with the server
    bundled = args.corpus is None and args.index is None
    serve(qa, host=args.host, port=port, examples=article_examples(qa) if bundled else (), cors_origins=args.cors)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """One report per mode; the questions are read and checked before any model loads."""
    import time
    import warnings
    from datetime import datetime

    from hkai_qa import QA, EvalReport, load_questions

    with warnings.catch_warnings():
        warnings.showwarning = _print_warning
        questions = load_questions(args.questions)
    corpus = args.corpus if args.corpus or not questions.is_beir else args.questions
    _check_writable(Path(args.out) if args.out else Path("reports"))  # before the evaluation, not after it
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    modes = args.mode or [None]
    out = Path(args.out) if args.out else None
    reports = []
    for mode in modes:
        started = time.perf_counter()
        qa = QA(
            corpus,
            args.index,
            model=args.model,
            progress=False if args.quiet else None,
            **({"mode": mode} if mode else {}),
            **{key: value for key, value in _mode(args).items() if key != "mode"},
        )
        ready_seconds = time.perf_counter() - started
        report = qa.evaluate(questions, k=args.k, progress=not args.quiet)
        report.timings["index_ready_seconds"] = round(ready_seconds, 3)
        out = out or Path("reports") / f"{_corpus_slug(qa)}-{stamp}"
        report.write(out / qa.mode if len(modes) > 1 else out)
        reports.append(report)
    table = EvalReport.table(reports)
    if len(reports) > 1:
        (out / "summary.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(
        f"\nReport: {out}{'/<mode>' if len(reports) > 1 else ''}/report.md (metrics.json, per_question.csv, plot.png)"
    )
    return 0


def _check_writable(folder: Path) -> None:
    """HkaiQaError unless a report can be written into `folder` (made if missing, as the report would)."""
    from hkai_qa import HkaiQaError

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise HkaiQaError(
            f"cannot write the report into {folder} ({error.strerror or error}). "
            "Choose a folder you can write with --out."
        ) from None


def _calibrate(args: argparse.Namespace) -> int:
    from hkai_qa import QA, load_questions

    questions = load_questions(args.questions)
    qa = QA(args.corpus, args.index, model=args.model, **_mode(args))
    fitted = qa.calibrate(questions)
    print(f"Abstention thresholds for {qa.index_dir} (fitted on {len(questions.questions)} questions):")
    print(f"{'mode':<8} {'threshold':>9} {'answerable kept':>16} {'out-of-scope flagged':>21}")
    for mode, c in fitted.items():
        print(f"{mode:<8} {c.threshold:>9.3f} {c.answerable_kept:>16.1%} {c.unanswerable_flagged:>21.1%}")
    return 0


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"Warning: {message}", file=sys.stderr)


def _corpus_slug(qa) -> str:
    """A readable folder name: the corpus file's, or its folder's."""
    files = list(qa.manifest.get("corpus_files", {}))
    name = qa.corpus_path.resolve().name
    if len(files) == 1 and not files[0].endswith("corpus.jsonl"):
        name = files[0].rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name) or "corpus"


def _mode(args: argparse.Namespace) -> dict[str, str]:
    """The QA options every command shares and passes on when given: --mode, --encoder, --store, --rerank."""
    options = {"mode": args.mode} if args.mode else {}
    if getattr(args, "encoder", None):
        options["encoder"] = args.encoder
    if getattr(args, "store", None):
        options["store"] = args.store
    if getattr(args, "rerank", None):
        options["rerank"] = args.rerank
    return options


def _format_answer(answer, threshold: float) -> str:
    lines = [f"Q: {printable(answer.question)}"]
    best = answer.best_score
    if answer.answerable:
        lines.append(f"Answered from the documents (best score {best:.3f}, threshold {threshold:.3f}).")
    elif best < threshold:
        lines.append(
            f"I couldn't find this in the documents (best score {best:.3f} < threshold {threshold:.3f}). "
            "Closest passages:"
        )
    else:
        lines.append("I couldn't find this in the documents. Closest passages:")
    lines.extend(answer.notes)
    for hit in answer.hits:
        lines.append("")
        where = f", {hit.pages}" if hit.pages else ""
        if hit.evidence_page is not None and hit.page_end not in (None, hit.page):
            where += f", evidence on p. {hit.evidence_page}"  # which of the passage's pages to open
        lines.append(printable(f"[{hit.rank}] {hit.section}{where}  (score {hit.score:.3f} · {hit.source})"))
        text = hit.text
        for start, end in reversed(hit.evidence):
            text = f"{text[:start]}»{text[start:end]}«{text[end:]}"
        text = printable(" ".join(text[: MAX_HIT_CHARS * 2].split()))
        if len(text) > MAX_HIT_CHARS or len(hit.text) > MAX_HIT_CHARS * 2:
            text = text[:MAX_HIT_CHARS].rstrip() + " …"
        lines.extend(textwrap.wrap(text, width=96, initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)


def printable(text: str) -> str:
    """`text` safe to print on a terminal: control characters (but tab and newline) written as `\\x1b` and the like."""
    return _UNPRINTABLE.sub(lambda found: ascii(found.group())[1:-1], text)


def _printable_json(data: object) -> str:
    """JSON that keeps non-ASCII text readable; C1 controls and lone surrogates escaped (json escapes C0 itself)."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _UNPRINTABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


if __name__ == "__main__":
    sys.exit(main())
