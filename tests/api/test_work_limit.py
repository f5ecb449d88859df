"""QuestionQueue: one worker per core, waiting questions answered together, the rest refused with 503 at once."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hkai_qa.http_api import ApiError, QuestionQueue, answer_batch


class Recorder:
    """A batch function that records its batches and, when told, holds them until released."""

    def __init__(self, hold: bool = False) -> None:
        self.batches: list[tuple[object, list]] = []
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def __call__(self, key, items):
        self.batches.append((key, list(items)))
        self.release.wait(10)
        return [ValueError(f"bad {item}") if item == "bad" else f"{key}:{item}" for item in items]


def test_waiting_items_with_the_same_key_are_answered_together_and_in_order():
    recorder = Recorder(hold=True)

    async def main():
        queue = QuestionQueue(recorder, workers=1, queue_limit=10, max_batch=3)
        first = asyncio.create_task(queue.submit("a", 1))
        while queue.in_flight < 1:
            await asyncio.sleep(0.01)
        rest = [
            asyncio.create_task(queue.submit(key, n)) for key, n in [("a", 2), ("b", 3), ("a", 4), ("a", 5), ("a", 6)]
        ]
        while queue.waiting < 5:
            await asyncio.sleep(0.01)
        recorder.release.set()
        return await asyncio.gather(first, *rest), queue

    results, queue = asyncio.run(asyncio.wait_for(main(), 20))
    assert results == ["a:1", "a:2", "b:3", "a:4", "a:5", "a:6"]
    assert recorder.batches == [("a", [1]), ("a", [2, 4, 5]), ("b", [3]), ("a", [6])]
    assert (queue.in_flight, queue.waiting) == (0, 0)


def test_past_the_queue_limit_it_refuses_with_503_at_once():
    recorder = Recorder(hold=True)

    async def main():
        queue = QuestionQueue(recorder, workers=2, queue_limit=1)
        working = [asyncio.create_task(queue.submit(n, n)) for n in range(2)]  # distinct keys: one each
        while queue.in_flight < 2:
            await asyncio.sleep(0.01)
        waiting = asyncio.create_task(queue.submit(9, 9))
        while queue.waiting < 1:
            await asyncio.sleep(0.01)
        with pytest.raises(ApiError) as refused:
            await queue.submit(7, 7)
        recorder.release.set()
        return refused.value, await asyncio.gather(*working, waiting)

    refused, results = asyncio.run(asyncio.wait_for(main(), 20))
    assert refused.status == 503 and refused.headers == {"Retry-After": "1"}
    assert "2 questions are being answered and 1 are waiting" in str(refused)
    assert results == ["0:0", "1:1", "9:9"]


def test_each_item_gets_its_own_error():
    async def main():
        queue = QuestionQueue(Recorder(), workers=1)
        good = asyncio.create_task(queue.submit("k", "fine"))
        bad = asyncio.create_task(queue.submit("k", "bad"))
        return await asyncio.gather(good, bad, return_exceptions=True)

    good, bad = asyncio.run(asyncio.wait_for(main(), 20))
    assert good == "k:fine"
    assert isinstance(bad, ValueError) and str(bad) == "bad bad"


def test_workers_default_to_the_cores_this_process_may_use():
    from hkai_qa.http_api import available_cores

    assert QuestionQueue(Recorder()).workers == available_cores() >= 1


@pytest.mark.slow
def test_a_batch_with_an_unusable_question_answers_the_others(bundled_qa):
    questions = ["How does the government support AI?", "   ", "Which universities are key players in AI research?"]
    results = answer_batch((bundled_qa, 2), questions)
    assert results[0] == bundled_qa.ask(questions[0], k=2) and results[2] == bundled_qa.ask(questions[2], k=2)
    assert isinstance(results[1], ValueError) and "the question is empty" in str(results[1])
    assert answer_batch((bundled_qa, 2), questions[:1])[0] == bundled_qa.ask(questions[0], k=2)
