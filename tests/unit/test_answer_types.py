"""Answer types: questions asking for a number or a date, and passages that hold one."""

from __future__ import annotations

import pytest

from hkai_qa.answer_types import DATE, NUMBER, expected_type, missing_answer_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many people live in Hong Kong?", NUMBER),
        ("How much money has the fund given out in total?", NUMBER),
        ("How much is the MTR fare from Central?", NUMBER),
        ("What percentage of banks use AI?", NUMBER),
        ("When did Hong Kong return to Chinese sovereignty?", DATE),
        ("In which year was HKSTP founded?", DATE),
        ("How does the government support AI?", None),
        ("How much does AI help hospitals?", None),  # a degree, not a quantity
        ("When should a startup apply for funding?", None),  # a condition, not a date
        ("We have pretty much burned through our savings; is there help?", None),
        ("whenever I ring my bank I talk to a bot, why?", None),
    ],
)
def test_expected_type_only_for_wordings_that_clearly_ask_for_one(question, kind):
    assert expected_type(question) == kind


def test_a_number_or_date_anywhere_in_the_passages_satisfies_the_question():
    assert missing_answer_type("How many people live here?", ["The city is home to people."]) == NUMBER
    assert missing_answer_type("How many people live here?", ["No figures.", "About 7.5 million people."]) is None
    assert missing_answer_type("How many people live here?", ["Seven million people live here."]) is None
    assert missing_answer_type("When was it founded?", ["It was founded long ago."]) == DATE
    assert missing_answer_type("When was it founded?", ["It was founded in 2001."]) is None
    assert missing_answer_type("When was it founded?", ["It opened in March."]) is None
    assert missing_answer_type("Why is it famous?", []) is None
