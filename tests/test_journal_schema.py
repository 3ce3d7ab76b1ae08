"""The journal's indexes: a journal written by mediagen before the partial state index (main at
1f1099a: tests/fixtures/journal/) migrates in place and reads and resumes as before; unfinished
entries are found through the partial index; a state change writes one page of it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
from pathlib import Path

import pytest
from helpers import TASK_SECONDS, mediagen_process

from mediagen.journal import Journal
from mediagen.journal_states import UNFINISHED
from mediagen.results import Result
from mediagen.testing import EmulatorThread

pytestmark = pytest.mark.usefixtures("loopback_children")  # children skip the CA bundle

WRITTEN_BY_MAIN = Path(__file__).parent / "fixtures" / "journal" / "main-1f1099a.sqlite3"
"""Made by fixtures/journal/make_main_journal.py with mediagen at 1f1099a: entries 1 succeeded
(with a file), 2 failed, 3 rejected, 4 unknown, 5 pending, 6 planned (a batch item)."""


def indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        names = {name for (name,) in rows}
    db.close()
    return names


def test_a_journal_from_before_migrates_in_place_and_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    shutil.copy(WRITTEN_BY_MAIN, path)
    assert "tasks_by_state" in indexes(path)
    old = Journal(path, read_only=True)  # what `mediagen tasks` reads, before any migration
    before = old.entries()
    unfinished_before = old.entries(states=UNFINISHED)
    old.close()
    assert [e.state for e in before] == [
        "succeeded",
        "failed",
        "rejected",
        "unknown",
        "pending",
        "planned",
    ]

    journal = Journal(path)
    assert indexes(path) == {
        "tasks_by_origin_and_vendor_id",
        "tasks_by_state_but_succeeded",
        "tasks_by_item_key",
    }
    assert journal.entries() == before  # every column, result and file as it was
    assert isinstance(before[0].result, Result) and before[0].files
    assert journal.entries(states=UNFINISHED) == unfinished_before == before[4:]
    assert [e.id for e in journal.entries(states=["failed", "rejected"])] == [2, 3]
    assert [e.id for e in journal.entries(states=["succeeded", "unknown"])] == [1, 4]
    assert journal.find_item("k-0") == before[5]
    assert journal.find("mediaio", "done-1", origin="http://127.0.0.1:9/mediaio") == before[0]
    assert [s for s, _ in journal.events(1)] == ["pending", "queued", "running", "succeeded"]
    journal.close()
    assert "tasks_by_state" not in indexes(path)  # and it stays migrated
    Journal(path).close()
    assert "tasks_by_state_but_succeeded" in indexes(path)


def test_a_journal_from_before_resumes_after_migrating(tmp_path: Path) -> None:
    from mediagen.testing import EMULATOR_CREDENTIALS

    path = tmp_path / "j.sqlite3"
    shutil.copy(WRITTEN_BY_MAIN, path)
    with EmulatorThread(duration=TASK_SECONDS) as emu:
        env = {
            **os.environ,
            "MEDIAIO_API_KEY": EMULATOR_CREDENTIALS["mediaio"]["api_key"],
            **{f"MEDIAGEN_{p.upper()}_BASE_URL": url for p, url in emu.base_urls.items()},
        }
        resumed = mediagen_process(
            "resume", "--journal", str(path), "--json", cwd=tmp_path, env=env
        )
        assert emu.requests_for("mediaio", "submit") == []  # a pending submit is never resent
        assert len(emu.requests_for("edrawmax", "run")) == 1  # the planned item is sent
    outcomes = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert [(o["operation"], o["state"]) for o in outcomes] == [
        ("imagen_4", "unknown"),  # entry 5, pending: its submit's outcome is unknown
        ("flowchart", "succeeded"),  # entry 6, the planned batch item
    ]
    assert resumed.returncode == 1, resumed.stderr  # the unknown one is left to a person
    journal = Journal(path)
    assert [e.state for e in journal.entries()] == [
        "succeeded",
        "failed",
        "rejected",
        "unknown",
        "unknown",
        "succeeded",
    ]
    assert journal.entries(states=UNFINISHED) == []
    journal.close()


def test_unfinished_entries_are_read_through_the_partial_index(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.record_intent("mediaio", "imagen_4", {"prompt": "x"})
    statements: list[str] = []
    journal._db.set_trace_callback(statements.append)
    journal.entries(states=UNFINISHED)
    journal.entries(states=["failed"])
    journal._db.set_trace_callback(None)
    assert len([sql for sql in statements if sql.startswith("SELECT * FROM tasks")]) == 2
    for sql in (sql for sql in statements if sql.startswith("SELECT * FROM tasks")):
        plan = " ".join(row[3] for row in journal._db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "USING INDEX tasks_by_state_but_succeeded" in plan, (sql, plan)
    journal.close()


def wal_pages(path: Path) -> list[int]:
    """The page numbers of the frames in the journal's WAL file, oldest first."""
    data = Path(f"{path}-wal").read_bytes()
    page_size, salts = struct.unpack(">I", data[8:12])[0], data[16:24]
    pages, offset = [], 32
    while offset + 24 + page_size <= len(data) and data[offset + 8 : offset + 16] == salts:
        pages.append(struct.unpack(">I", data[offset : offset + 4])[0])
        offset += 24 + page_size
    return pages


def test_a_state_change_writes_one_page_of_the_state_index(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    db = journal._db
    if not db.execute("SELECT count(*) FROM pragma_module_list WHERE name = 'dbstat'").fetchone()[
        0
    ]:
        pytest.skip("this SQLite has no dbstat table to say which index a page belongs to")
    # A journal with history: many finished tasks, then one in flight.
    done = '{"provider": "mediaio", "raw": "' + "x" * 300 + '"}'
    with db:
        db.executemany(
            "INSERT INTO tasks (provider, operation, params, task_id, state, result, created_at,"
            " updated_at) VALUES ('mediaio', 'imagen_4', '{}', ?, 'succeeded', ?, 0, 0)",
            [(f"old-{i}", done) for i in range(3000)],
        )
    entry = journal.record_intent("mediaio", "imagen_4", {"prompt": "x"})
    journal.record_submitted(entry, "t-1")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    journal.record_failure(entry, "failed", "no")  # one commit: queued -> failed
    owners = dict(db.execute("SELECT pageno, name FROM dbstat"))
    written = [owners.get(page) for page in wal_pages(path)]
    assert [w for w in written if w and w.startswith("tasks_by_state")] == [
        "tasks_by_state_but_succeeded"
    ]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    journal.record_submitted(journal.record_intent("mediaio", "imagen_4", {}), "t-2")
    entry_2 = journal.find("mediaio", "t-2")
    assert entry_2 is not None
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    journal.record_state(entry_2.id, "succeeded", 100.0)  # leaves the partial index
    written = [owners.get(page) for page in wal_pages(path)]
    assert [w for w in written if w and w.startswith("tasks_by_state")] == [
        "tasks_by_state_but_succeeded"
    ]
    journal.close()
