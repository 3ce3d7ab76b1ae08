"""The journal's fast paths write what the general paths they skip would: parameters and
results as JSON from json's C encoder, byte for byte what `json.JSONEncoder` writes; a deferred
result queued as its JSON, the same row and events as the Result committed itself; a commit's
future, which a cancelled waiter does not cancel, still settles with the write's outcome.
Commits are checked from a second SQLite connection."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import math
from pathlib import Path
from typing import Any

import pytest
from journal_checks import committed

import mediagen.journal
from mediagen.journal import Journal
from mediagen.results import Artifact, Result

PARAMS: list[dict[str, Any]] = [
    {},
    {"prompt": "a cat", "seed": 7, "ratio": 1.5, "hd": True, "negative": None},
    {"z": 1, "a": {"y": [1, 2.25, "x"], "b": {"d": None, "c": False}}},
    {"prompt": 'caf\u00e9 \u732b \U0001f408 "quoted" \\ \n\t\x00', "n": 10**30},
    {"f": [math.inf, -math.inf, 1e-300, -0.0], "e": "", "list": [[], {}]},
]


@pytest.mark.parametrize("params", PARAMS)
def test_params_json_is_what_the_sorted_json_encoder_writes(params: dict[str, Any]) -> None:
    assert mediagen.journal._params_json(params) == json.JSONEncoder(sort_keys=True).encode(params)


def test_params_json_refuses_a_cycle_as_the_json_encoder_does() -> None:
    params: dict[str, Any] = {"a": []}
    params["a"].append(params)
    with pytest.raises(ValueError, match="Circular reference"):
        json.JSONEncoder(sort_keys=True).encode(params)
    with pytest.raises(ValueError, match="Circular reference"):
        mediagen.journal._params_json(params)


@pytest.mark.parametrize(
    "value",
    [
        *PARAMS,
        {"b": 1, "a": 2},  # key order kept, not sorted
        {"at": datetime.date(2026, 12, 1), "path": Path("/tmp/x"), "n": math.nan},  # default=str
    ],
)
def test_result_json_is_what_the_result_encoder_writes(value: Any) -> None:
    reference = json.JSONEncoder(default=str, check_circular=False).encode(value)
    assert mediagen.journal._result_json(value) == reference


def result(entry: int) -> Result:
    return Result(
        provider="mediaio",
        operation="imagen_4",
        artifacts=(Artifact(url=f"http://127.0.0.1:9/{entry}.png", kind="image"),),
        raw={"data": {"task_id": f"t-{entry}", "status": "completed", "note": "\u732b"}},
        task_id=f"t-{entry}",
        journal_id=entry,
    )


ROW = "SELECT state, progress, result, error FROM tasks WHERE id = ?"
EVENTS = "SELECT state, progress FROM events WHERE task = ? ORDER BY id"


def test_a_deferred_result_queued_as_json_writes_the_row_its_result_writes(
    tmp_path: Path,
) -> None:
    """One entry's result deferred (queued as its JSON), another's committed through
    `record_result` with the Result itself: the same row, events and Result read back."""
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    deferred = journal.record_intent("mediaio", "imagen_4", {"p": 1})
    direct = journal.record_intent("mediaio", "imagen_4", {"p": 1})

    async def go() -> None:
        journal.defer("record_result", deferred, result(7))
        queued = [w.name for w in journal._queued]
        assert queued == [mediagen.journal._RESULT_JSON]  # the fast path was taken
        journal.flush()

    asyncio.run(go())
    journal.record_result(direct, result(7))
    assert committed(path, ROW, deferred) == committed(path, ROW, direct)
    assert committed(path, EVENTS, deferred) == committed(path, EVENTS, direct)
    assert committed(path, ROW, deferred)[0][:2] == ("succeeded", 100.0)
    assert journal.get(deferred).result == result(7) == journal.get(direct).result
    journal.close()


def test_a_result_that_cannot_be_encoded_when_deferred_is_logged_by_its_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The JSON fails at `defer`: the write is queued as it came, nothing raises to the
    caller, and its batch logs the failure as any failing deferred write."""
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    entry = journal.record_intent("mediaio", "imagen_4", {"p": 1})

    def refuse(_: Result) -> str:
        raise TypeError("not encodable")

    monkeypatch.setattr(mediagen.journal, "_dump_result", refuse)

    async def go() -> None:
        journal.defer("record_result", entry, result(1))
        assert [w.name for w in journal._queued] == ["record_result"]
        with caplog.at_level(logging.ERROR, logger="mediagen.journal"):
            journal.flush()

    asyncio.run(go())
    assert "could not write to the task journal" in caplog.text
    assert "not encodable" in caplog.text
    assert committed(path, ROW, entry) == [("pending", None, None, None)]
    journal.close()


def test_a_commit_future_is_not_cancelled_and_settles_with_the_write(tmp_path: Path) -> None:
    """Cancelling a batched intent's future (what cancelling a task awaiting it does) leaves
    it to settle: the entry id is there once committed, so its submitter can say what became
    of it."""
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)

    async def go() -> int:
        with journal.caller(), journal.caller():  # several submits: the intent is batched
            future = journal.commit("record_intent", "mediaio", "imagen_4", {"p": 1})
            assert not future.done()
            assert future.cancel() is False
            assert not future.cancelled()
            return int(await future)

    entry = asyncio.run(go())
    assert committed(path, "SELECT id, state FROM tasks") == [(entry, "pending")]
    journal.close()


def test_a_task_cancelled_while_awaiting_a_commit_is_cancelled_once_it_is_committed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)

    async def go() -> tuple[bool, Any]:
        with journal.caller(), journal.caller():
            future = journal.commit("record_intent", "mediaio", "imagen_4", {"p": 1})
            seen: list[Any] = []

            async def wait() -> None:
                try:
                    await future
                except asyncio.CancelledError:
                    seen.append(committed(path, "SELECT state FROM tasks"))
                    seen.append(future.result())
                    raise

            task = asyncio.create_task(wait())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return task.cancelled(), seen

    cancelled, seen = asyncio.run(go())
    assert cancelled
    assert seen == [[("pending",)], 1]  # committed, and its entry known, when cancelled
    journal.close()
