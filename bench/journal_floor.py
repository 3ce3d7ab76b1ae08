"""The floor under the journal's cost per call: its two commits alone, in the same run.

Peers, in this process, against the emulator process (`_server.py`), sequential warm calls
(submit + one poll), interleaved rounds as `percall.py` runs them:
  mediagen       journal off
  +journal       a task journal in a temporary SQLite file (what its calls left queued is
                 committed inside its clock, as in `percall.py`)
  +2 commits     journal off, plus per call the two transactions the journal commits (the
                 intent with the previous call's result, then the task id), as bare sqlite3
                 statements on a file with the journal's schema and settings: SQLite's cost
                 of the durability order with no journal code around it
  +2 appends     journal off, plus per call two appends of a small JSON line (the intent's,
                 then the task id's, ~200 bytes each), one `os.write` each to an O_APPEND
                 file opened once: what a per-process append-only intent log (folded into
                 SQLite in batches off the hot path) would cost at best, with the durability
                 of a WAL commit with synchronous=NORMAL (survives a killed process, not a
                 power cut). A measure for a decision: no such log exists

    python bench/journal_floor.py [calls per round] [rounds]

Prints the median per-round ratios against journal off: what the journal adds, what two
transactions alone add (the floor while both commits stay) and what two appends alone add.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import _common

import mediagen
from mediagen.journal import Journal

Call = Callable[[int], Awaitable[None]]

RESULT = (
    '{"provider": "mediaio", "operation": "imagen_4", "artifacts": [{"url":'
    ' "http://127.0.0.1:1/_files/0123456789abcdef0123456789abcdef-0.png", "kind": "image",'
    ' "source_code": null, "source_language": null}], "raw": {"task_id":'
    ' "0123456789abcdef0123456789abcdef", "status": "completed", "result": {"images": [{"url":'
    ' "http://127.0.0.1:1/_files/0123456789abcdef0123456789abcdef-0.png", "width": 144,'
    ' "height": 256}]}}, "task_id": "0123456789abcdef0123456789abcdef", "skipped_urls": [],'
    ' "warnings": [], "journal_id": 1}'
)


def appending_peer(client: mediagen.AsyncClient, log: int) -> Call:
    """Journal off, plus the two durable points as appended JSON lines: the intent before the
    submit is sent, the task id before the handle is returned (each built per call, as a log
    would build them)."""
    encode = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
    origin = "http://127.0.0.1:1/mediaio"

    async def call(i: int) -> None:
        entry = i + 1
        os.write(
            log,
            (
                encode(
                    {
                        "entry": entry,
                        "at": time.time(),
                        "provider": "mediaio",
                        "operation": "imagen_4",
                        "params": {"prompt": f"cat {i}"},
                        "origin": origin,
                        "owner": "1@x/y",
                        "state": "pending",
                    }
                )
                + "\n"
            ).encode(),
        )
        task = await client.mediaio.imagen_4(prompt=f"cat {i}")
        os.write(
            log,
            (
                encode(
                    {
                        "entry": entry,
                        "at": time.time(),
                        "task_id": task.task_id,
                        "origin": origin,
                        "state": "queued",
                    }
                )
                + "\n"
            ).encode(),
        )
        result = await task.result()
        assert result.artifacts

    return call


def peer(client: mediagen.AsyncClient, db: sqlite3.Connection | None = None) -> Call:
    cursor = db.cursor() if db is not None else None
    previous = [0]

    def intent(i: int) -> int:
        assert cursor is not None
        now = time.time()
        cursor.execute("BEGIN IMMEDIATE")
        if previous[0]:
            cursor.execute(
                "UPDATE tasks SET state = ?, progress = ?, result = ?, updated_at = ? WHERE id = ?",
                ("succeeded", 100.0, RESULT, now, previous[0]),
            )
            cursor.execute(
                "INSERT INTO events (task, at, state, progress) VALUES (?, ?, ?, ?)",
                (previous[0], now, "succeeded", 100.0),
            )
        entry = cursor.execute(
            "INSERT INTO tasks (provider, operation, params, state, created_at, updated_at,"
            " owner, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ("mediaio", "imagen_4", f'{{"prompt": "cat {i}"}}', "pending", now, now, "1@x/y", "o"),
        ).lastrowid
        cursor.execute(
            "INSERT INTO events (task, at, state) VALUES (?, ?, ?)", (entry, now, "pending")
        )
        cursor.execute("COMMIT")
        return int(entry or 0)

    def submitted(entry: int, task_id: str) -> None:
        assert cursor is not None
        now = time.time()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(
            "UPDATE tasks SET state = 'queued', task_id = ?, updated_at = ? WHERE id = ?",
            (task_id, now, entry),
        )
        cursor.execute(
            "INSERT INTO events (task, at, state, progress) VALUES (?, ?, 'queued', NULL)",
            (entry, now),
        )
        cursor.execute("COMMIT")
        previous[0] = entry

    async def call(i: int) -> None:
        entry = intent(i) if cursor is not None else 0
        task = await client.mediaio.imagen_4(prompt=f"cat {i}")
        if cursor is not None:
            submitted(entry, task.task_id)
        result = await task.result()
        assert result.artifacts

    return call


async def cpu_per_call(
    call: Call, calls: int, start: int, settle: Callable[[], None] | None = None
) -> float:
    begin, _ = _common.cpu_wall()
    for i in range(start, start + calls):
        await call(i)
    if settle is not None:
        settle()  # work the peer deferred (the journal's batches) is charged to it
    end, _ = _common.cpu_wall()
    return (end - begin) / calls


async def measure(server: _common.Server, calls: int, rounds: int, folder: Path) -> None:
    Journal(folder / "bare.sqlite3").close()  # the journal's schema, WAL, synchronous=NORMAL
    bare = sqlite3.connect(folder / "bare.sqlite3", isolation_level=None)
    bare.execute("PRAGMA synchronous = NORMAL")
    log = os.open(folder / "intents.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    results: dict[str, list[float]] = {}
    async with (
        mediagen.AsyncClient(**server.client_options()) as off,
        mediagen.AsyncClient(**server.client_options(journal=folder / "tasks.sqlite3")) as on,
    ):
        peers = {
            "mediagen": peer(off),
            "+journal": peer(on),
            "+2 commits": peer(off, bare),
            "+2 appends": appending_peer(off, log),
        }
        journal = on.journal
        assert journal is not None
        settles = {"+journal": journal.flush}  # as percall.py: its queued batches on its clock
        for name, call in peers.items():  # warm-up
            await cpu_per_call(call, 30, 0, settles.get(name))
        for r in range(rounds):
            for name, call in peers.items():
                cost = await cpu_per_call(call, calls, (r + 1) * calls, settles.get(name))
                results.setdefault(name, []).append(cost)
    bare.close()
    os.close(log)
    base = results["mediagen"]

    def ratio(name: str) -> str:
        per_round = [x / y for x, y in zip(results[name], base, strict=True)]
        return f"{_common.median(per_round):.2f}x"

    print(f"client CPU per sequential call, medians of {rounds} rounds of {calls} calls")
    print(
        f"  journal off {_common.median(base) * 1e3:.3f} ms"
        f" | +journal {ratio('+journal')} | +2 bare commits {ratio('+2 commits')}"
        f" | +2 appends {ratio('+2 appends')}"
    )


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    with _common.server() as server, tempfile.TemporaryDirectory() as folder:
        asyncio.run(measure(server, calls, rounds, Path(folder)))


if __name__ == "__main__":
    main()
