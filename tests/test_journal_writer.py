"""The journal's writer thread: batches (writes of several tasks at once, state changes and
results) are committed off the event loop, in the same durability order as inline: an intent
is committed before its submit is sent, a task id before its handle is returned. A failing
commit there surfaces as it does inline (the submit raises the SQLite error, nothing is sent,
nothing hangs), and closing the client commits what is queued and ends the thread. Commits are
checked from a second SQLite connection, which sees only what is committed."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from journal_checks import IntentCheckingEmulator, committed

import mediagen
import mediagen.journal
from mediagen.journal import Journal
from mediagen.testing import Emulator

WRITER = "mediagen journal"


def writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(WRITER)]


def commits_by_thread(journal: Journal) -> dict[str, int]:
    """Counts each COMMIT of the journal's connection by the name of the thread running it."""
    seen: dict[str, int] = {}

    def trace(statement: str) -> None:
        if statement == "COMMIT":
            name = threading.current_thread().name
            seen[name] = seen.get(name, 0) + 1

    journal._db.set_trace_callback(trace)
    return seen


def test_batches_of_several_tasks_commit_on_the_writer_thread_in_durability_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    prompts = [f"cat {i}" for i in range(16)]
    ids_at_handle: dict[str, list[tuple[Any, ...]]] = {}

    async def one(client: mediagen.AsyncClient, prompt: str) -> None:
        task = await client.mediaio.imagen_4(prompt=prompt)
        ids_at_handle[prompt] = committed(
            path, "SELECT state FROM tasks WHERE task_id = ?", task.task_id
        )
        await task.wait()

    async def go() -> tuple[IntentCheckingEmulator, dict[str, int], int]:
        async with (
            IntentCheckingEmulator(path, duration=0.05) as emu,
            mediagen.AsyncClient(**{**emu.client_options(), "journal": path}) as client,
        ):
            assert client.journal is not None
            seen = commits_by_thread(client.journal)
            await asyncio.gather(*(one(client, p) for p in prompts))
            during = len(writers())
        return emu, seen, during

    emu, seen, during = asyncio.run(go())
    # The batches were the writer thread's, and the loop's thread committed less than one
    # transaction per write.
    assert during == 1 and any(name.startswith(WRITER) for name in seen)
    assert emu.at_submit == {p: ["pending"] for p in prompts}
    assert ids_at_handle == {p: [("queued",)] for p in prompts}
    assert committed(path, "SELECT DISTINCT state FROM tasks") == [("succeeded",)]
    assert writers() == []  # closing the client ended it


def test_a_locked_journal_fails_batched_submits_as_inline_ones_and_sends_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    Journal(path).close()

    async def go() -> tuple[Emulator, list[BaseException | None], BaseException, str]:
        async with (
            Emulator(duration=0.05) as emu,
            mediagen.AsyncClient(**{**emu.client_options(), "journal": path}) as client,
        ):
            assert client.journal is not None
            client.journal._db.execute("PRAGMA busy_timeout = 50")  # a lock not waited out
            seen = commits_by_thread(client.journal)
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            try:
                together = await asyncio.wait_for(  # a guard: a hang fails, never blocks
                    asyncio.gather(
                        *(client.mediaio.imagen_4(prompt=f"cat {i}") for i in range(6)),
                        return_exceptions=True,
                    ),
                    timeout=60,
                )
                with pytest.raises(sqlite3.OperationalError) as alone:
                    await client.mediaio.imagen_4(prompt="alone")
            finally:
                other.execute("ROLLBACK")
                other.close()
            # The writer thread failed those batches and lives on: the next batch commits.
            tasks = await asyncio.gather(
                *(client.mediaio.imagen_4(prompt=f"later {i}") for i in range(3))
            )
            assert all(t.journal_id is not None for t in tasks)
            on_writer = ", ".join(name for name in seen if name.startswith(WRITER))
        return (
            emu,
            [r if isinstance(r, BaseException) else None for r in together],
            alone.value,
            on_writer,
        )

    emu, errors, alone, on_writer = asyncio.run(go())
    assert on_writer  # the later batch was the writer's
    # Each batched submit raised what a submit alone raises (inline), and none was sent.
    assert [type(e) for e in errors] == [sqlite3.OperationalError] * 6
    assert {str(e) for e in errors} == {str(alone)} == {"database is locked"}
    sent = [r for r in emu.requests_for("mediaio", "submit")]
    assert len(sent) == 3
    states = committed(path, "SELECT json_extract(params, '$.prompt'), state FROM tasks")
    assert sorted(states) == [(f"later {i}", "queued") for i in range(3)]


def test_a_state_change_failing_on_the_writer_thread_is_logged_as_inline(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mediagen.journal, "JOURNAL_FLUSH_DELAY", 0.001)
    path = tmp_path / "j.sqlite3"

    async def go(journal: Journal) -> None:
        entry = journal.record_intent("mediaio", "imagen_4", {"prompt": "a"})
        journal._db.execute("PRAGMA busy_timeout = 50")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            journal.defer("record_state", entry, "running", 10.0)
            for _ in range(2000):  # until the writer thread has tried (bounded)
                if "could not write to the task journal" in caplog.text:
                    break
                await asyncio.sleep(0.005)
        finally:
            other.execute("ROLLBACK")
            other.close()

    journal = Journal(path)
    try:
        with caplog.at_level(logging.ERROR, logger="mediagen.journal"):
            asyncio.run(go(journal))
            threads = {r.threadName for r in caplog.records}
    finally:
        journal.close()
    assert "record_state" in caplog.text and "database is locked" in caplog.text
    assert any(name.startswith(WRITER) for name in threads)
    assert writers() == []
    assert committed(path, "SELECT state FROM tasks") == [("pending",)]


def test_closing_a_client_commits_what_is_queued_and_ends_the_writer_of_a_shared_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)  # the caller's: the client does not close it

    async def go() -> int:
        async with (
            Emulator(duration=0.05) as emu,
            mediagen.AsyncClient(**{**emu.client_options(), "journal": journal}) as client,
        ):
            tasks = await asyncio.gather(
                *(client.mediaio.imagen_4(prompt=f"cat {i}") for i in range(8))
            )
            assert len(writers()) == 1
            # Results are queued for the next batch; this one is far off: close commits them.
            monkeypatch.setattr(mediagen.journal, "JOURNAL_FLUSH_DELAY", 3600.0)
            await asyncio.gather(*(t.wait() for t in tasks))
            return len(tasks)

    try:
        count = asyncio.run(go())
        assert writers() == []
        assert committed(path, "SELECT state, count(*) FROM tasks GROUP BY state") == [
            ("succeeded", count)
        ]
    finally:
        journal.close()
