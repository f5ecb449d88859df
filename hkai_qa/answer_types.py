"""Answer types: a question asking for a number or a date is not answered by passages without one.

The bi-encoder scores "How many people live in Hong Kong?" as close to an article
about Hong Kong as a real question, because the topic matches. What the article
lacks is the kind of thing asked for. This is the classic answer-type check of
question answering, kept deliberately narrow: only wordings that clearly ask
for a quantity or a date, and any digit, number word or date in the best
passages satisfies them. Anything else expects nothing and is never flagged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

NUMBER = "number"
DATE = "date"

_FLAGS = re.IGNORECASE
_QUANTITY_WORDS = (
    r"money|cost|costs|price|prices|fare|fares|fee|fees|funding|budget|spent|paid|raised|invested|"
    r"given|total|worth|salary|wage|wages|revenue|income"
)
_EXPECTS = (
    (NUMBER, re.compile(r"\bhow many\b", _FLAGS)),
    (NUMBER, re.compile(rf"\bhow much\b(?=.*\b(?:{_QUANTITY_WORDS})\b)", _FLAGS)),
    (NUMBER, re.compile(r"\bhow much (?:is|are|was|were)\b", _FLAGS)),
    (NUMBER, re.compile(r"\bhow old\b|\bwhat (?:percentage|proportion|share|number)\b", _FLAGS)),
    (NUMBER, re.compile(r"\bwhat is the population\b", _FLAGS)),
    (DATE, re.compile(r"\bwhen (?:did|was|were)\b|\b(?:what|which) year\b|\bsince when\b", _FLAGS)),
)

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundreds?|"
    r"thousands?|millions?|billions?|trillions?|dozens?|half|percent|per cent"
)
_MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_HAS = {
    NUMBER: re.compile(rf"\d|%|\b(?:{_NUMBER_WORDS})\b", _FLAGS),
    DATE: re.compile(rf"\b(?:1[0-9]|20)\d\d\b|\b(?:{_MONTHS})\b|\bcentury\b|\bdecades?\b|\d+(?:st|nd|rd|th)\b", _FLAGS),
}


def expected_type(question: str) -> str | None:
    """NUMBER or DATE when the question's wording clearly asks for one, else None."""
    for kind, pattern in _EXPECTS:
        if pattern.search(question):
            return kind
    return None


def missing_answer_type(question: str, texts: Sequence[str]) -> str | None:
    """The type the question asks for when none of `texts` contains one (so they cannot answer it), else None."""
    kind = expected_type(question)
    if kind is None or any(_HAS[kind].search(text) for text in texts):
        return None
    return kind
