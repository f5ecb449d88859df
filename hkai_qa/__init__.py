"""hkai-qa: retrieval-based question answering that cites its sections.

    >>> from hkai_qa import QA
    >>> QA().ask("How does the government support AI?").hits[0].section
    'Government Support'

Importing this package loads no model, torch, FAISS or Gradio: they load on first use.
"""

from .answer import Answer, Hit
from .errors import CorpusError, HkaiQaError, IndexStoreError, ModelError, QuestionError
from .evaluation import EvalReport, load_questions
from .passages import Passage
from .qa import QA

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
]
__version__ = "0.1.0"
