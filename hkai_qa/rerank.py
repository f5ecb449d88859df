"""Optional reranking: a cross-encoder reads question and passage together and reorders the best candidates.

A bi-encoder compares two vectors made apart; a cross-encoder sees both texts at
once and usually ranks better, at the cost of one model pass per candidate. So it
only reorders the first RERANK_DEPTH candidates of the usual retrieval. It never
decides whether the corpus answers the question: that stays with the retrieval
score, so calibrated thresholds keep their meaning with or without a reranker.

No cross-encoder ships with hkai-qa (nothing is downloaded); save one where the
machine can read it and pass its folder::

    CrossEncoder("cross-encoder/ms-marco-MiniLM-L6-v2").save("models/ms-marco")   # once, online
    QA(rerank="models/ms-marco")          # or: hkai-qa ask "…" --rerank models/ms-marco
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import ModelError

RERANK_DEPTH = 20


class PairScorer(Protocol):
    """What a reranker needs: sentence-transformers' `CrossEncoder.predict` shape."""

    def predict(self, sentences: Sequence[tuple[str, str]], **kwargs: Any) -> Any: ...


class Reranker:
    """Scores (question, passage) pairs with a cross-encoder given as a folder or a loaded model."""

    def __init__(
        self,
        model: str | Path | PairScorer,
        *,
        depth: int = RERANK_DEPTH,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        if depth < 1:
            raise ModelError(f"rerank depth must be 1 or more, got {depth}.")
        self.depth = depth
        if isinstance(model, (str, Path)):
            self.name = str(model)
            self.model = _load_cross_encoder(Path(model).expanduser(), notify)
        elif callable(getattr(model, "predict", None)):
            self.name = type(model).__name__
            self.model = model
        else:
            raise ModelError(
                f"rerank= takes a cross-encoder folder or a loaded CrossEncoder, got {type(model).__name__}."
            )

    def scores(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """One score per passage, higher meaning more relevant to `question`."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        predicted = self.model.predict([(question, text) for text in passages], show_progress_bar=False)
        return np.asarray(predicted, dtype=np.float32).reshape(len(passages), -1)[:, -1]


def _load_cross_encoder(folder: Path, notify: Callable[[str], None] | None) -> PairScorer:
    """A CrossEncoder from a local folder, with errors that say what to pass instead."""
    if not folder.is_dir():
        raise ModelError(
            f"rerank model {folder} is not a folder. Pass the folder of a sentence-transformers CrossEncoder, "
            'saved once where there is internet: CrossEncoder("cross-encoder/ms-marco-MiniLM-L6-v2").save("DIR").'
        )
    config = folder / "config.json"
    if not config.is_file():
        raise ModelError(f"rerank model folder {folder} has no config.json; it is not a Hugging Face model folder.")
    try:
        architectures = json.loads(config.read_text(encoding="utf-8")).get("architectures") or []
    except (OSError, ValueError) as error:
        raise ModelError(f"rerank model {config} cannot be read: {error}.") from None
    if notify is not None and not any(a.endswith("ForSequenceClassification") for a in architectures):
        notify(
            f"{folder} looks like an embedding model, not a cross-encoder (architectures: "
            f"{', '.join(architectures) or 'none'}): its rerank scores will not mean much."
        )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import CrossEncoder
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    # The notice above says it once, in our words; the libraries' own warnings about it are noise.
    quiet = [logging.getLogger(name) for name in ("sentence_transformers", "transformers")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.ERROR)
    try:
        return CrossEncoder(str(folder), device="cpu", local_files_only=True)
    except Exception as error:  # transformers raises many kinds here
        first_line = str(error).splitlines()[0][:200] if str(error) else ""
        raise ModelError(f"cannot load rerank model {folder}: {type(error).__name__}: {first_line}.") from None
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
