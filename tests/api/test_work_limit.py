"""WorkLimit: at most `workers` calls at once, `queue_limit` more waiting, the rest refused with 503 at once."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hkai_qa.http_api import ApiError, WorkLimit


def test_runs_at_most_workers_at_once_and_refuses_past_the_queue():
    release = threading.Event()
    running_now, most = [0], [0]
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            running_now[0] += 1
            most[0] = max(most[0], running_now[0])
        release.wait(10)
        with lock:
            running_now[0] -= 1
        return n * 2

    async def main():
        limit = WorkLimit(workers=2, queue_limit=1)
        tasks = [asyncio.create_task(limit.run(work, n)) for n in range(3)]
        while limit.in_flight < 2 or limit.waiting < 1:
            await asyncio.sleep(0.01)
        with pytest.raises(ApiError) as refused:
            await limit.run(work, 99)
        assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}
        assert "2 questions are being answered and 1 are waiting" in str(refused.value)
        release.set()
        results = await asyncio.gather(*tasks)
        return results, limit

    results, limit = asyncio.run(main())
    assert results == [0, 2, 4]
    assert most[0] == 2
    assert (limit.in_flight, limit.waiting) == (0, 0)


def test_an_error_in_the_work_frees_its_place():
    def fail() -> None:
        raise ValueError("boom")

    async def main():
        limit = WorkLimit(workers=1, queue_limit=0)
        for _ in range(3):
            with pytest.raises(ValueError, match="boom"):
                await limit.run(fail)
        return await limit.run(lambda: "fine")

    assert asyncio.run(main()) == "fine"


def test_workers_default_to_the_cores_this_process_may_use():
    from hkai_qa.http_api import available_cores

    assert WorkLimit().workers == available_cores() >= 1
