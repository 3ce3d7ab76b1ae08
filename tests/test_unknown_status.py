"""A poll answering a status word the catalog does not list (issue 9): wait() polls on, but
says so (one WARNING per task) and bounds it; the error that ends the wait names the word,
and the task's journal entry stays resumable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import mediagen
from mediagen.defaults import RetryPolicy
from mediagen.engine import AsyncTaskHandle
from mediagen.errors import TaskTimeoutError, UnknownTaskStatusError
from mediagen.retry import decide
from mediagen.testing import Emulator, Fault

POLICY = RetryPolicy(attempts=4, wait_failures=3, base=0.01, cap=0.05)
FAST = mediagen.PollSchedule(initial=0.02, maximum=0.05, jitter=0.0, first=0.02)
WORD = "auditing"
KNOWN = "waiting"
"""One of Media.io's catalog words, which the error and the warning list."""


def unknown_word(times: int) -> Fault:
    """The next `times` Media.io polls answer the status WORD, as a vendor that added a state."""
    return Fault(
        "echo", provider="mediaio", phase="poll", fields=("data.status",), message=WORD, times=times
    )


def session(
    tmp_path: Path,
    body: Callable[[Emulator, mediagen.AsyncClient], Awaitable[None]],
    **options: object,
) -> None:
    async def go() -> None:
        async with Emulator(duration=0.05) as emu:
            merged = {
                **emu.client_options(),
                "retry": POLICY,
                "polling": FAST,
                "journal": tmp_path / "j.sqlite3",
                **options,
            }
            async with mediagen.AsyncClient(**merged) as client:
                await body(emu, client)

    asyncio.run(go())


def polls(emu: Emulator) -> int:
    return len(emu.requests_for("mediaio", "poll"))


def warnings_about(caplog: pytest.LogCaptureFixture, task: AsyncTaskHandle) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and task.task_id in r.getMessage()
    ]


def assert_resumable(client: mediagen.AsyncClient, task: AsyncTaskHandle) -> None:
    journal = client.journal
    assert journal is not None
    [entry] = journal.entries()
    assert entry.task_id == task.task_id
    assert entry.state in ("queued", "running")


def test_an_unknown_status_word_is_not_retried_within_one_poll() -> None:
    error = UnknownTaskStatusError("unknown task status 'x'", word="'x'", known=("waiting",))
    assert decide(error, "poll", 1, POLICY) == "raise"
    assert decide(error, "query", 1, POLICY) == "raise"


def test_polls_that_keep_answering_an_unknown_word_end_the_wait_naming_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        task = await client.mediaio.imagen_4(prompt="a red fox")
        emu.inject(unknown_word(1000))
        with (
            caplog.at_level(logging.WARNING, logger="mediagen"),
            pytest.raises(UnknownTaskStatusError) as info,
        ):
            await task.wait(timeout=30)
        message = str(info.value)
        assert f"the last {POLICY.wait_failures} polls answered an unknown task status" in message
        assert f"'{WORD}'" in message and KNOWN in message and task.task_id in message
        # One request per poll (the same word again at once tells nothing), wait_failures polls.
        assert polls(emu) == POLICY.wait_failures
        [warning] = warnings_about(caplog, task)
        assert "mediaio.imagen_4" in warning and f"'{WORD}'" in warning and KNOWN in warning
        assert_resumable(client, task)

    session(tmp_path, body)


def test_a_timeout_says_the_polls_answered_an_unknown_word_not_still_running(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    patient = RetryPolicy(attempts=4, wait_failures=1000, base=0.01, cap=0.05)

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        task = await client.mediaio.imagen_4(prompt="a red fox")
        emu.inject(unknown_word(1000))
        with (
            caplog.at_level(logging.WARNING, logger="mediagen"),
            pytest.raises(TaskTimeoutError) as info,
        ):
            await task.wait(timeout=0.3)
        message = str(info.value)
        assert "answered an unknown task status" in message and f"'{WORD}'" in message
        assert "still" not in message
        assert polls(emu) > 1
        assert len(warnings_about(caplog, task)) == 1  # once per task, not once per poll
        assert_resumable(client, task)

    session(tmp_path, body, retry=patient)


def test_a_word_the_vendor_stops_answering_lets_the_wait_finish(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        task = await client.mediaio.imagen_4(prompt="a red fox")
        emu.inject(unknown_word(POLICY.wait_failures - 1))
        with caplog.at_level(logging.WARNING, logger="mediagen"):
            result = await task.wait(timeout=30)
        assert result.artifacts
        assert len(warnings_about(caplog, task)) == 1

    session(tmp_path, body)


def test_an_answer_with_no_status_word_stays_an_unreadable_answer(tmp_path: Path) -> None:
    """An empty or cut-short answer is retried within the poll as before: only a word the
    catalog does not list is an UnknownTaskStatusError."""

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        task = await client.mediaio.imagen_4(prompt="a red fox")
        emu.inject(Fault("status", provider="mediaio", phase="poll", code=0, times=1))
        status = await task.status()  # one poll: its second request reads a status
        assert status.state in ("queued", "running", "succeeded")
        assert polls(emu) == 2

    session(tmp_path, body)
