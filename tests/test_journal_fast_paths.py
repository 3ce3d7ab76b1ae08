"""The journal's fast paths write what the general paths they skip would: parameters and
results as JSON from json's C encoder, byte for byte what `json.JSONEncoder` writes; a commit's
future, which a cancelled waiter does not cancel, still settles with the write's outcome.
Commits are checked from a second SQLite connection."""

from __future__ import annotations

import asyncio
import datetime
import json
import math
from pathlib import Path
from typing import Any

import pytest
from journal_checks import committed

import mediagen.journal
from mediagen.journal import Journal

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
