"""A batch commits runs of like writes (intents, task ids, states, results) with one executemany
per statement, and an awaited write made alone takes what is queued into its transaction. The
rows must be the ones the writes make one by one, in the same order, and the durability order
must hold: each intent's future gives its own entry, committed; nothing queued after a write
lands before it. Commits are checked from a second SQLite connection."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from journal_checks import committed

import mediagen
from mediagen.journal import Journal
from mediagen.results import Artifact, Result
from mediagen.testing import Emulator

TASK_COLUMNS = "id, provider, operation, params, task_id, state, progress, error, result, origin"


def result(entry: int, task_id: str) -> Result:
    return Result(
        provider="mediaio",
        operation="imagen_4",
        artifacts=(Artifact(url=f"http://127.0.0.1:9/{task_id}.png", kind="png"),),
        raw={"data": {"task_id": task_id, "status": "completed"}},
        task_id=task_id,
        journal_id=entry,
    )


async def lifecycle(journal: Journal, prompts: list[str], *, together: bool) -> list[int]:
    """Each prompt's intent, task id, a state change and a result: all at once through the
    queue (`together`, so runs of like writes share a batch) or each committed alone."""
    if together:
        with journal.caller(), journal.caller():  # several submits: the intents are batched
            intents = [
                journal.commit("record_intent", "mediaio", "imagen_4", {"prompt": p}, origin=None)
                for p in prompts
            ]
            entries = [int(e) for e in await asyncio.gather(*intents)]
            await asyncio.gather(
                *(journal.commit("record_submitted", e, f"t-{e}") for e in entries)
            )
        for progress, entry in enumerate(entries):
            journal.defer("record_state", entry, "running", float(progress))
        for entry in entries:
            journal.defer("record_result", entry, result(entry, f"t-{entry}"))
        journal.flush()
        return entries
    entries = []
    for progress, prompt in enumerate(prompts):
        entry = journal.record_intent("mediaio", "imagen_4", {"prompt": prompt}, origin=None)
        journal.record_submitted(entry, f"t-{entry}")
        journal.record_state(entry, "running", float(progress))
        journal.record_result(entry, result(entry, f"t-{entry}"))
        entries.append(entry)
    return entries


def test_a_batch_of_like_writes_makes_the_rows_the_writes_make_one_by_one(tmp_path: Path) -> None:
    prompts = [f"cat {i}" for i in range(40)]
    rows = {}
    for together in (True, False):
        path = tmp_path / f"{together}.sqlite3"
        journal = Journal(path)
        try:
            journal.record_intent("mediaio", "imagen_4", {"prompt": "already there"})
            entries = asyncio.run(lifecycle(journal, prompts, together=together))
        finally:
            journal.close()
        # Each intent's future gave the entry holding its own parameters.
        params = dict(committed(path, "SELECT id, json_extract(params, '$.prompt') FROM tasks"))
        assert [params[e] for e in entries] == prompts
        rows[together] = (
            committed(path, f"SELECT {TASK_COLUMNS} FROM tasks ORDER BY id"),
            # Each entry's history in order (entries' events interleave differently).
            committed(path, "SELECT task, state, progress, at > 0 FROM events ORDER BY task, id"),
        )
    assert rows[True] == rows[False]
    tasks, events = rows[True]
    assert len(tasks) == 41 and {t[5] for t in tasks[1:]} == {"succeeded"}
    assert [e[1] for e in events if e[0] == tasks[1][0]] == [
        "pending",
        "queued",
        "running",
        "succeeded",
    ]


def test_a_reissued_task_id_in_a_batch_is_recorded_and_spoils_no_other_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"

    async def go(journal: Journal) -> tuple[int, int, int]:
        old = journal.record_intent("mediaio", "imagen_4", {"prompt": "old"})
        journal.record_submitted(old, "t-1")
        with journal.caller(), journal.caller():
            first, new = await asyncio.gather(
                journal.commit("record_intent", "mediaio", "imagen_4", {"prompt": "a"}),
                journal.commit("record_intent", "mediaio", "imagen_4", {"prompt": "new"}),
            )
            await asyncio.gather(  # one run of task ids, one of them issued again
                journal.commit("record_submitted", first, "t-2"),
                journal.commit("record_submitted", new, "t-1"),
            )
        return old, first, new

    journal = Journal(path)
    try:
        old, first, new = asyncio.run(go(journal))
    finally:
        journal.close()
    states = dict(committed(path, "SELECT id, task_id || ' ' || state FROM tasks"))
    assert states[first] == "t-2 queued" and states[new] == "t-1 queued"
    ((task_id, state, error),) = committed(
        path, "SELECT task_id, state, error FROM tasks WHERE id = ?", old
    )
    assert task_id is None and state == "unknown" and f"journal entry {new}" in error


def test_a_write_committed_alone_takes_the_queued_writes_first_in_its_transaction(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"

    async def go(journal: Journal) -> tuple[int, int, list[tuple[Any, ...]]]:
        other = journal.record_intent("mediaio", "imagen_4", {"prompt": "other"})
        journal.defer("record_state", other, "running", 50.0)  # waits for its batch
        mine = await journal.commit("record_intent", "mediaio", "imagen_4", {"prompt": "mine"})
        # Right after the awaited write: the queued one is committed too, and before it.
        seen = committed(path, "SELECT task, state FROM events ORDER BY id")
        return other, mine, seen

    journal = Journal(path)
    try:
        other, mine, seen = asyncio.run(go(journal))
    finally:
        journal.close()
    assert seen == [(other, "pending"), (other, "running"), (mine, "pending")]


def test_a_fresh_tasks_first_queued_poll_is_not_journaled_twice(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"

    async def go() -> int:
        async with (
            Emulator(duration=3600) as emu,  # queued for its first quarter: all of this test
            mediagen.AsyncClient(**{**emu.client_options(), "journal": path}) as client,
        ):
            task = await client.mediaio.imagen_4(prompt="cat")
            assert (await task.status()).state == "queued"
            assert task.journal_id is not None
            return task.journal_id

    entry = asyncio.run(go())
    states = committed(path, "SELECT state FROM events WHERE task = ? ORDER BY id", entry)
    assert [s for (s,) in states] == ["pending", "queued"]


def test_a_batch_of_like_writes_commits_as_one_transaction(tmp_path: Path) -> None:
    """The grouped path itself, not its fallback: a failing batch is rolled back and its
    writes committed one by one, which makes the same rows (as above) in 200 transactions."""
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    seen: list[str] = []
    try:
        journal._db.set_trace_callback(seen.append)
        asyncio.run(lifecycle(journal, [f"cat {i}" for i in range(40)], together=True))
    finally:
        journal.close()
    assert "ROLLBACK" not in seen
    # The intents, the task ids, and the states and results of the final flush.
    assert seen.count("COMMIT") == 3


def test_an_intent_row_is_the_same_whichever_optional_columns_are_unset(tmp_path: Path) -> None:
    """An intent is inserted without its None columns (no NULL bound), alone or in a batch of
    intents that leave the same columns unset; a batch of unlike ones binds every column. The
    rows are the same either way, for each mix of set and unset columns."""
    kinds = [
        {"batch": b, "item": i, "origin": o, "item_key": k, "output": out}
        for b in (None, "b-1")
        for i in (None, 3)
        for o in (None, "http://127.0.0.1:9/mediaio")
        for k in (None, "k-\u00e9")
        for out in (None, "/tmp/out")
    ]
    columns = "provider, operation, params, state, batch, item, origin, item_key, output"

    def rows(path: Path, how: str) -> list[tuple[Any, ...]]:
        journal = Journal(path)

        async def batched(groups: list[list[tuple[int, dict[str, Any]]]]) -> None:
            with journal.caller(), journal.caller():
                for group in groups:  # each group one batch (gathered, then committed)
                    await asyncio.gather(
                        *(
                            journal.commit("record_intent", "mediaio", "imagen_4", {"n": n}, **k)
                            for n, k in group
                        )
                    )

        numbered = list(enumerate(kinds))
        if how == "alone":
            for n, kind in numbered:
                journal.commit_now("record_intent", "mediaio", "imagen_4", {"n": n}, **kind)
        elif how == "unlike":
            asyncio.run(batched([numbered]))
        else:  # "alike": two of a kind per batch
            asyncio.run(batched([[(n, k), (n, k)] for n, k in numbered]))
        journal.close()
        assert committed(path, "SELECT count(*) FROM tasks WHERE owner IS NULL") == [(0,)]
        return committed(path, f"SELECT {columns} FROM tasks ORDER BY id")

    alone = rows(tmp_path / "alone.sqlite3", "alone")
    assert alone == rows(tmp_path / "unlike.sqlite3", "unlike")
    assert [row for row in alone for _ in range(2)] == rows(tmp_path / "alike.sqlite3", "alike")
    assert len(alone) == len(kinds) == 32
    assert [row[4:9] for row in alone] == [tuple(k.values()) for k in kinds]
