"""`hkai-qa`: build an index, ask questions, evaluate, serve the chat UI.

Uses only the public API. A user error prints one `Error: …` line on stderr
and exits with status 2; nothing here prints a traceback for it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence

EXIT_USER_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hkai-qa",
        description="Answer questions from your documents with the passages and section headings that answer them.",
        epilog="Without --corpus, commands use the bundled article on Hong Kong's AI ecosystem.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def corpus_options(command: argparse.ArgumentParser, corpus_flag: bool = True) -> None:
        if corpus_flag:
            command.add_argument("--corpus", metavar="PATH", help="a .txt/.md file, a folder, or a BEIR corpus")
        command.add_argument("--index", metavar="DIR", help="index folder (default: one per corpus under index/)")
        command.add_argument("--model", metavar="NAME_OR_PATH", help="embedding model (default: all-MiniLM-L6-v2)")
        command.add_argument(
            "--mode", choices=("hybrid", "dense", "bm25"), default=None, help="retrieval mode (default: the library's)"
        )
        command.add_argument(
            "--encoder",
            choices=("onnx", "onnx-int8", "torch"),
            default=None,
            help="onnxruntime (default; exported once, falls back to torch), onnx-int8 (int8 passages: faster "
            "builds, nDCG within 0.005) or sentence-transformers",
        )

    build = commands.add_parser("build", help="build (or rebuild) the index for a corpus")
    build.add_argument("corpus", metavar="CORPUS", nargs="?", help="a .txt/.md file, a folder, or a BEIR corpus")
    corpus_options(build, corpus_flag=False)

    ask = commands.add_parser("ask", help="ask one question")
    ask.add_argument("question", metavar="QUESTION")
    ask.add_argument("-k", type=int, default=3, help="how many passages to show (default: 3)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    corpus_options(ask)

    serve = commands.add_parser("serve", help="open the chat UI in the browser (Gradio)")
    corpus_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine)")
    serve.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = _parser().parse_args(argv)
    from hkai_qa import HkaiQaError

    try:
        return _run(args)
    except HkaiQaError as error:
        print(f"Error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from hkai_qa import QA

    if args.command == "build":
        qa = QA(args.corpus, args.index, model=args.model, rebuild=True, progress=True, **_mode(args))
        manifest = qa.manifest
        print(
            f"Built {qa.index_dir}: {manifest['passage_count']:,} passages from "
            f"{manifest['document_count']:,} documents in {manifest['build_seconds']:.1f} s."
        )
        return 0
    if args.command == "ask":
        qa = QA(args.corpus, args.index, model=args.model, **_mode(args))
        answer = qa.ask(args.question, k=args.k)
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        else:
            print(_format_answer(answer, qa.threshold))
        return 0
    if args.command == "serve":
        return _serve(args)
    raise AssertionError(args.command)


def _serve(args: argparse.Namespace) -> int:
    """Gradio is imported only here, so the other commands stay quick to start."""
    from hkai_qa import QA, HkaiQaError
    from hkai_qa.ui import ARTICLE_EXAMPLES, DEFAULT_PORT, serve

    port = args.port
    if port is None:
        setting = os.environ.get("GRADIO_SERVER_PORT", str(DEFAULT_PORT))
        if not setting.isdigit():
            raise HkaiQaError(f"GRADIO_SERVER_PORT={setting!r} is not a port number. Set it to one, e.g. 7860.")
        port = int(setting)
    if not 0 < port < 65536:
        raise HkaiQaError(f"port {port} is out of range. Pass a port between 1 and 65535, e.g. --port 7860.")
    qa = QA(args.corpus, args.index, model=args.model, **_mode(args))
    bundled = args.corpus is None and args.index is None
    serve(qa, host=args.host, port=port, examples=ARTICLE_EXAMPLES if bundled else ())
    return 0


def _mode(args: argparse.Namespace) -> dict[str, str]:
    options = {"mode": args.mode} if args.mode else {}
    if args.encoder:
        options["encoder"] = args.encoder
    return options


def _format_answer(answer, threshold: float) -> str:
    lines = [f"Q: {answer.question}"]
    best = answer.hits[0].score if answer.hits else 0.0
    if answer.answerable:
        lines.append(f"Answered from the documents (best score {best:.2f}, threshold {threshold:.2f}).")
    else:
        lines.append(
            f"I couldn't find this in the documents (best score {best:.2f} < threshold {threshold:.2f}). "
            "Closest passages:"
        )
    lines.extend(answer.notes)
    for hit in answer.hits:
        lines.append("")
        lines.append(f"[{hit.rank}] {hit.section}  (score {hit.score:.3f} · {hit.source})")
        text = hit.text
        for start, end in reversed(hit.evidence):
            text = f"{text[:start]}»{text[start:end]}«{text[end:]}"
        lines.extend(textwrap.wrap(" ".join(text.split()), width=96, initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
