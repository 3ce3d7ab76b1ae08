"""Batched journal writes keep the durability order: an intent is committed before its submit
is sent and a task id before its handle is returned, whether the write is committed alone or
in a batch with other tasks' writes; queued writes land by close; one bad write in a batch
spoils no other. Commits are checked from a second SQLite connection, which sees only what is
committed."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from journal_checks import IntentCheckingEmulator, committed

import mediagen
import mediagen.journal
from mediagen.engine import NOTHING_SENT
from mediagen.journal import Journal
from mediagen.testing import Emulator


def test_many_submits_at_once_commit_each_intent_before_sending_and_each_id_before_the_handle(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    prompts = [f"cat {i}" for i in range(24)]
    ids_at_handle: dict[str, list[tuple[Any, ...]]] = {}

    async def one(client: mediagen.AsyncClient, prompt: str) -> None:
        task = await client.mediaio.imagen_4(prompt=prompt)
        ids_at_handle[prompt] = committed(
            path, "SELECT state FROM tasks WHERE task_id = ?", task.task_id
        )

    async def go() -> IntentCheckingEmulator:
        async with (
            IntentCheckingEmulator(path, duration=0.1) as emu,
            mediagen.AsyncClient(**{**emu.client_options(), "journal": path}) as client,
        ):
            await asyncio.gather(*(one(client, p) for p in prompts))
        return emu

    emu = asyncio.run(go())
    assert emu.at_submit == {p: ["pending"] for p in prompts}
    assert ids_at_handle == {p: [("queued",)] for p in prompts}


def test_a_submit_alone_commits_its_intent_before_sending_too(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"

    async def go() -> IntentCheckingEmulator:
        async with (
            IntentCheckingEmulator(path, duration=0.1) as emu,
            mediagen.AsyncClient(**{**emu.client_options(), "journal": path}) as client,
        ):
            task = await client.mediaio.imagen_4(prompt="alone")
            rows = committed(path, "SELECT state FROM tasks WHERE task_id = ?", task.task_id)
            assert rows == [("queued",)]
        return emu

    assert asyncio.run(go()).at_submit == {"alone": ["pending"]}


def test_a_submit_cancelled_while_its_intent_commits_is_rejected_and_never_sent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"

    async def go() -> Emulator:
        async with (
            Emulator(duration=0.1) as emu,
            mediagen.AsyncClient(**{**emu.client_options(), "journal": path}) as client,
        ):
            assert client.journal is not None
            with client.journal.caller():  # another submit in progress: the intent is batched
                submit = asyncio.create_task(client.mediaio.imagen_4(prompt="never sent"))
                await asyncio.sleep(0)  # the submit runs until it waits for its intent
                submit.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await submit
        return emu

    emu = asyncio.run(go())
    assert emu.requests_for("mediaio", "submit") == []
    assert committed(path, "SELECT state, error FROM tasks") == [("rejected", NOTHING_SENT)]


def test_queued_state_changes_and_results_are_committed_by_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mediagen.journal, "JOURNAL_FLUSH_DELAY", 3600.0)  # only close commits
    path = tmp_path / "j.sqlite3"

    async def go() -> str:
        async with (
            Emulator(duration=0.2) as emu,
            mediagen.AsyncClient(**{**emu.client_options(), "journal": path}) as client,
        ):
            task = await client.tomoviee.text_to_music(prompt="calm piano", duration=30, qty=1)
            await task.wait()
            return task.task_id

    task_id = asyncio.run(go())
    ((entry_id, state, result),) = committed(path, "SELECT id, state, result FROM tasks")
    assert state == "succeeded" and task_id in result
    states = [s for (s,) in committed(path, "SELECT state FROM events WHERE task = ?", entry_id)]
    assert states[:2] == ["pending", "queued"] and "running" in states
    assert states[-1] == "succeeded"


def test_one_failing_write_in_a_batch_spoils_no_other(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "j.sqlite3"

    async def go() -> tuple[int, int]:
        journal = Journal(path)
        try:
            first = journal.record_intent("mediaio", "imagen_4", {"prompt": "a"})
            with journal.caller(), journal.caller():  # several callers: one batch
                journal.defer("record_state", first, "running", 10.0)
                journal.defer("record_files", first, [("https://x.test/a.png", None)])  # NOT NULL
                second = await journal.commit("record_intent", "mediaio", "imagen_4", {"p": 1})
        finally:
            journal.close()
        return first, second

    with caplog.at_level(logging.ERROR, logger="mediagen.journal"):
        first, second = asyncio.run(go())
    assert committed(path, "SELECT id, state, progress FROM tasks ORDER BY id") == [
        (first, "running", 10.0),
        (second, "pending", None),
    ]
    assert committed(path, "SELECT count(*) FROM files") == [(0,)]
    assert "could not write to the task journal" in caplog.text
    assert "record_files" in caplog.text


def test_a_write_committed_alone_lands_after_the_queued_writes_of_its_entry(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"

    async def go() -> int:
        journal = Journal(path)
        try:
            entry = journal.record_intent("mediaio", "imagen_4", {"prompt": "a"})
            journal.defer("record_state", entry, "running", 5.0)
            await journal.commit("record_failure", entry, "failed", "boom")
        finally:
            journal.close()
        return entry

    entry = asyncio.run(go())
    events = committed(path, "SELECT state FROM events WHERE task = ? ORDER BY id", entry)
    assert [s for (s,) in events] == ["pending", "running", "failed"]
    assert committed(path, "SELECT state FROM tasks") == [("failed",)]
