"""`Journal.commit_now`, the engine's way to commit an intent or a task id: alone, the write
is committed inline before it returns (with what was queued before it, first, in the same
transaction); among other submits it hands back the future of the batch, and nothing is
committed before that batch. Commits are checked from a second SQLite connection."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from journal_checks import committed

from mediagen.journal import Journal


def test_a_write_alone_is_committed_before_commit_now_returns_after_what_was_queued(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"

    async def go(journal: Journal) -> None:
        other = journal.record_intent("mediaio", "imagen_4", {"prompt": "other"})
        journal.defer("record_state", other, "running", 50.0)  # waits for its batch
        entry, pending = journal.commit_now(
            "record_intent", "mediaio", "imagen_4", {"prompt": "mine"}
        )
        assert pending is None
        assert committed(path, "SELECT task, state FROM events ORDER BY id") == [
            (other, "pending"),
            (other, "running"),
            (entry, "pending"),
        ]
        value, pending = journal.commit_now("record_submitted", entry, "t-1")
        assert value is None and pending is None
        assert committed(path, "SELECT state, task_id FROM tasks WHERE id = ?", entry) == [
            ("queued", "t-1")
        ]

    journal = Journal(path)
    try:
        asyncio.run(go(journal))
    finally:
        journal.close()


def test_among_other_submits_commit_now_waits_for_the_batch(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"

    async def go(journal: Journal) -> None:
        with journal.caller(), journal.caller():
            entry, pending = journal.commit_now(
                "record_intent", "mediaio", "imagen_4", {"prompt": "mine"}
            )
            assert entry is None and pending is not None
            assert committed(path, "SELECT count(*) FROM tasks") == [(0,)]
            entry = await pending
        assert committed(path, "SELECT id, state FROM tasks") == [(entry, "pending")]

    journal = Journal(path)
    try:
        asyncio.run(go(journal))
    finally:
        journal.close()


def test_a_failing_queued_write_spoils_no_write_committed_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "j.sqlite3"

    async def go(journal: Journal) -> int:
        first = journal.record_intent("mediaio", "imagen_4", {"prompt": "a"})
        journal.defer("record_state", first, "running", 10.0)
        journal.defer("record_files", first, [("https://x.test/a.png", None)])  # NOT NULL
        entry, pending = journal.commit_now("record_intent", "mediaio", "imagen_4", {"p": 1})
        assert pending is None
        assert committed(path, "SELECT id, state FROM tasks ORDER BY id") == [
            (first, "running"),
            (entry, "pending"),
        ]
        return first

    journal = Journal(path)
    with caplog.at_level(logging.ERROR, logger="mediagen.journal"):
        try:
            asyncio.run(go(journal))
        finally:
            journal.close()
    assert committed(path, "SELECT count(*) FROM files") == [(0,)]
    assert "record_files" in caplog.text


def test_a_write_alone_that_fails_raises_and_commits_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"

    async def go(journal: Journal) -> None:
        entry = journal.record_intent("mediaio", "imagen_4", {"prompt": "a"})
        journal.record_submitted(entry, "t-1")
        # A read-only connection meanwhile makes every write fail as a locked journal does.
        journal._db.execute("PRAGMA query_only = ON")
        with pytest.raises(Exception, match="readonly"):
            journal.commit_now("record_submitted", entry, "t-2")
        journal._db.execute("PRAGMA query_only = OFF")

    journal = Journal(path)
    try:
        asyncio.run(go(journal))
    finally:
        journal.close()
    assert committed(path, "SELECT task_id FROM tasks") == [("t-1",)]
