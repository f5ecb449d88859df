"""The errors hkai-qa raises on purpose.

Every message names what went wrong, the value involved and how to fix it, so
the CLI and the UI can show it as it is, without a traceback::

    HkaiQaError
    ├── CorpusError       a corpus path is missing, empty, binary or malformed
    ├── IndexStoreError   an index folder is missing, damaged or from another format
    │   └── StoreIncompleteError  a vector store lacks some of the index's vectors (a build resumes it)
    ├── QuestionError     a question (or question file) is unusable; also a ValueError
    └── ModelError        a model cannot be found, loaded or verified
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class HkaiQaError(Exception):
    """Base class: a problem the user can fix, described in the message."""


class CorpusError(HkaiQaError):
    """The corpus cannot be read into passages."""


class IndexStoreError(HkaiQaError):
    """An index folder cannot be read or written."""


class StoreIncompleteError(IndexStoreError):
    """The store lacks some of the index's vectors (never built, or a build was interrupted): a build resumes it."""


class QuestionError(HkaiQaError, ValueError):
    """A question, or a file of questions, is unusable."""


class ModelError(HkaiQaError):
    """The embedding model cannot be found, loaded or verified."""


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean "x"?' for the closest choice, or an empty string."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f' Did you mean "{close[0]}"?' if close else ""
