"""hkai-qa: retrieval-based question answering that cites its sections.

    >>> from hkai_qa import QA
    >>> QA().ask("How does the government support AI?").hits[0].section
    'Government Support'

Importing this package loads nothing, not even numpy: the public names load on
first use, so `hkai-qa --help` starts in a few hundredths of a second and no
model, torch, FAISS or Gradio loads until a question needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .answer import Answer, Hit
    from .errors import CorpusError, HkaiQaError, IndexStoreError, ModelError, QuestionError
    from .passages import Passage
    from .qa import QA
    from .questions import load_questions
    from .report import EvalReport
    from .status import index_status
    from .update import UpdateReport

_PUBLIC = {
    "QA": ".qa",
    "Answer": ".answer",
    "Hit": ".answer",
    "Passage": ".passages",
    "HkaiQaError": ".errors",
    "CorpusError": ".errors",
    "IndexStoreError": ".errors",
    "QuestionError": ".errors",
    "ModelError": ".errors",
    "EvalReport": ".report",
    "load_questions": ".questions",
    "UpdateReport": ".update",
    "index_status": ".status",
}
__all__ = [
    "QA",
    "Answer",
    "Hit",
    "Passage",
    "HkaiQaError",
    "CorpusError",
    "IndexStoreError",
    "QuestionError",
    "ModelError",
    "EvalReport",
    "load_questions",
    "UpdateReport",
    "index_status",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hkai_qa' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
