"""One chat turn with the real model and index, without a server: what the chat appends."""

from __future__ import annotations

import pytest

from hkai_qa.ui import chat_turn

pytestmark = pytest.mark.slow


def test_answer_is_appended_after_the_question(bundled_qa):
    earlier = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    history = chat_turn(bundled_qa, "How does the government support AI?", earlier, 2)
    assert history[:2] == earlier and [m["role"] for m in history[2:]] == ["user", "assistant"]
    answer = history[-1]["content"]
    assert answer.count('class="hkai-card hkai-card-') == 2
    assert '<span class="hkai-section">Government Support</span>' in answer.split("hkai-card-2")[0]


def test_chinese_question_gets_the_english_only_note(bundled_qa):
    answer = chat_turn(bundled_qa, "香港政府如何支持人工智能?", [], 3)[-1]["content"]
    assert "The default model reads English only" in answer


@pytest.mark.parametrize(
    ("question", "shown"),
    [("", "The question is empty."), ("   ", "The question is empty."), ("x" * 2001, "the limit is 2,000")],
)
def test_user_errors_are_friendly_chat_messages(bundled_qa, question, shown):
    history = chat_turn(bundled_qa, question, [], 3)
    assert shown in history[-1]["content"] and history[-1]["content"].startswith('<p class="hkai-error">')
    assert len(history) == (2 if question.strip() else 1)


@pytest.mark.parametrize(("k", "cards"), [(None, 3), (0, 1), (50, 7), (4.0, 4)])
def test_passage_count_is_kept_in_range(bundled_qa, k, cards):
    answer = chat_turn(bundled_qa, "Which universities do AI research?", [], k)[-1]["content"]
    assert answer.count('class="hkai-card hkai-card-') == cards


def test_a_question_ranked_by_meaning_alone_shows_the_dense_threshold(bundled_qa):
    dense = bundled_qa.ask("What is the capital of France?").threshold
    answer = chat_turn(bundled_qa, "What is the capital of France?", [], 3)[-1]["content"]
    assert f"below the threshold {dense:.3f}." in answer and f"{bundled_qa.threshold:.3f}" not in answer
