"""Answers the client must not choke on: JSON nested past any sane depth (from the vendor or on
the command line), "task not found" right after a submit, results with nothing to download."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from helpers import TASK_SECONDS, fast_client_options, local_server

import mediagen
from mediagen.catalog import default_catalog
from mediagen.cli import main
from mediagen.defaults import MAX_ANSWER_DEPTH, NOT_FOUND_GRACE, NOT_FOUND_GRACE_POLLS, RetryPolicy
from mediagen.engine import AsyncTaskHandle
from mediagen.errors import (
    MalformedResponseError,
    NotFoundError,
    SubmitOutcomeUnknownError,
    TaskTimeoutError,
)
from mediagen.journal import Journal
from mediagen.nesting import nested_deeper_than
from mediagen.protocol import CatalogErrorClassifier
from mediagen.retry import not_found_is_transient
from mediagen.strategies import Call, HttpResponse
from mediagen.testing import EMULATOR_CREDENTIALS, Emulator, EmulatorThread, Fault

POLICY = RetryPolicy(attempts=2, base=0.01, cap=0.02, wait_failures=2)


def nested(depth: int, leaf: Any = "x") -> Any:
    """A value `depth` lists deep, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def client_for(emu: Emulator, journal: Path | None = None, **options: Any) -> mediagen.AsyncClient:
    return mediagen.AsyncClient(
        **fast_client_options(emu, retry=POLICY, journal=journal or False, **options)
    )


# -- nesting ----------------------------------------------------------------------------------


def test_nesting_is_measured_without_recursion() -> None:
    assert not nested_deeper_than(nested(2), 2) and nested_deeper_than(nested(3), 2)
    assert not nested_deeper_than({"a": [{"b": 1}]}, 3) and nested_deeper_than({"a": [{}]}, 2)
    assert not nested_deeper_than("text", 0)
    assert nested_deeper_than(nested(200_000), MAX_ANSWER_DEPTH)  # no RecursionError


def test_a_vendor_answer_nested_past_the_limit_is_malformed() -> None:
    provider = default_catalog().provider("mediaio")
    call = Call(provider, provider.operation("imagen_4"), "poll", "t-1")
    classifier = CatalogErrorClassifier(provider)

    def body(depth: int) -> bytes:
        return json.dumps({"code": 0, "data": {"result": nested(depth)}}).encode()

    # The envelope and `data` are two levels: this body is exactly at the limit.
    at_limit = nested(MAX_ANSWER_DEPTH - 2)
    assert classifier.check(call, HttpResponse(200, {}, body(MAX_ANSWER_DEPTH - 2))) == {
        "result": at_limit
    }
    with pytest.raises(MalformedResponseError, match=f"deeper than {MAX_ANSWER_DEPTH} levels"):
        classifier.check(call, HttpResponse(200, {}, body(MAX_ANSWER_DEPTH - 1)))
    with pytest.raises(MalformedResponseError):  # past the decoder's own recursion limit
        classifier.check(call, HttpResponse(200, {}, b"[" * 50_000))


def test_a_deeply_nested_result_is_refused_and_the_entry_stays_resumable(tmp_path: Path) -> None:
    """~330 levels once passed the decoder, then broke the journal's cattrs: the run exited 0,
    the entry stayed queued and every resume downloaded the same file again."""

    async def go() -> None:
        async with (
            Emulator(duration=TASK_SECONDS) as emu,
            client_for(emu, tmp_path / "j.sqlite3") as c,
        ):
            emu.set_outcome("mediaio.imagen_4", "succeeded", result={"images": nested(330)})
            task = await c.mediaio.imagen_4(prompt="deep")
            with pytest.raises(MalformedResponseError, match="nests deeper than"):
                await task.wait(timeout=30)
            assert c.journal is not None and task.journal_id is not None
            entry = c.journal.get(task.journal_id)
            assert entry.state in ("queued", "running") and entry.result is None

    asyncio.run(go())


def test_a_deeply_nested_submit_answer_is_an_unknown_outcome(tmp_path: Path) -> None:
    """The answer to a submit that we cannot read may still mean a created task: never
    resubmitted, journaled unknown."""
    submits: list[str] = []

    async def deep(request: web.Request) -> web.Response:
        submits.append(request.path)
        return web.json_response({"code": 0, "data": {"task_id": "t-1", "extra": nested(100)}})

    async def go() -> None:
        async with (
            local_server([web.post("/{tail:.*}", deep)]) as url,
            mediagen.AsyncClient(
                base_urls={"mediaio": url},
                credentials=EMULATOR_CREDENTIALS,
                retry=POLICY,
                journal=tmp_path / "j.sqlite3",
            ) as client,
        ):
            with pytest.raises(SubmitOutcomeUnknownError, match="nests deeper than"):
                await client.mediaio.imagen_4(prompt="deep")
            assert client.journal is not None
            (entry,) = client.journal.entries()
            assert entry.state == "unknown" and len(submits) == 1

    asyncio.run(go())


def test_a_task_id_with_a_lone_surrogate_is_polled_as_the_vendor_named_it(tmp_path: Path) -> None:
    """JSON allows "\\ud800"; such an id cannot be UTF-8 encoded as is. Its poll goes out with the
    bytes it came as (surrogatepass), instead of a UnicodeEncodeError on every poll of a paid
    task."""
    polled: list[str] = []

    async def submit(request: web.Request) -> web.Response:
        return web.Response(
            content_type="application/json",
            text='{"code":0,"data":{"task_id":"ab\\ud800cd"}}',
            headers={"Retry-After": "0"},  # poll at once, not after an image's 10 s
        )

    async def poll(request: web.Request) -> web.Response:
        polled.append(request.raw_path)
        data = {"task_id": "x", "status": "completed", "result": {"images": []}}
        return web.json_response({"code": 0, "data": data})

    async def go() -> None:
        routes = [web.post("/generation/result/{tid:.*}", poll), web.post("/{tail:.*}", submit)]
        async with (
            local_server(routes) as url,
            mediagen.AsyncClient(
                base_urls={"mediaio": url},
                credentials=EMULATOR_CREDENTIALS,
                retry=POLICY,
                journal=tmp_path / "j.sqlite3",
            ) as client,
        ):
            task = await client.mediaio.imagen_4(prompt="odd id")
            assert task.task_id == "ab\ud800cd"
            result = await task.wait(timeout=30)
            assert result.task_id == "ab\ud800cd"
            assert client.journal is not None and task.journal_id is not None
            assert client.journal.get(task.journal_id).state == "succeeded"
        assert polled == ["/generation/result/ab%ED%A0%80cd"]

    asyncio.run(go())


# -- the command line -------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`mediagen ...` through the CLI's main(), as the console script runs it."""
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def emulator_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator on its own thread, and the environment that points the CLI at it."""
    with EmulatorThread(duration=TASK_SECONDS) as emu:
        for provider, url in emu.base_urls.items():
            monkeypatch.setenv(f"MEDIAGEN_{provider.upper()}_BASE_URL", url)
        monkeypatch.setenv("MEDIAIO_API_KEY", EMULATOR_CREDENTIALS["mediaio"]["api_key"])
        yield emu


def test_a_cli_value_nested_50000_deep_is_a_one_line_error(
    emulator_env: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    for value in ("[" * 50_000, "[" * 100 + "]" * 100):
        code, out, err = run_cli(
            capsys, "run", "mediaio", "nano_banana", "prompt=p", f"images={value}"
        )
        assert (code, out) == (2, "")
        assert err == (
            "mediagen: error: mediaio.nano_banana: images is nested too deeply; "
            f"allowed: a JSON list nested at most {MAX_ANSWER_DEPTH} levels deep\n"
        )
    assert emulator_env.requests == []


# -- "task not found" right after a submit ----------------------------------------------------


def test_not_found_is_transient_within_the_grace_window() -> None:
    assert not_found_is_transient(0.0, 1)
    assert not_found_is_transient(None, NOT_FOUND_GRACE_POLLS)  # polls alone, submit time unknown
    assert not not_found_is_transient(None, NOT_FOUND_GRACE_POLLS + 1)
    assert not_found_is_transient(NOT_FOUND_GRACE - 1, 100)  # whichever lasts longer
    assert not_found_is_transient(NOT_FOUND_GRACE + 1, NOT_FOUND_GRACE_POLLS)
    assert not not_found_is_transient(NOT_FOUND_GRACE + 1, NOT_FOUND_GRACE_POLLS + 1)


@pytest.mark.parametrize(
    ("provider", "fault"),
    [
        ("mediaio", Fault("vendor_code", provider="mediaio", phase="poll", code=40003, times=2)),
        ("tomoviee", Fault("status", provider="tomoviee", phase="poll", status=404, times=2)),
    ],
    ids=["mediaio-40003", "tomoviee-http404"],
)
def test_a_task_the_vendor_cannot_see_yet_still_succeeds(
    tmp_path: Path, provider: str, fault: Fault
) -> None:
    async def go() -> None:
        async with (
            Emulator(duration=TASK_SECONDS) as emu,
            client_for(emu, tmp_path / "j.sqlite3") as c,
        ):
            if provider == "mediaio":
                task = await c.mediaio.imagen_4(prompt="lagging")
            else:
                task = await c.tomoviee.text_to_music(prompt="lagging", duration=10, qty=1)
            emu.inject(fault)
            with pytest.raises(NotFoundError):  # one poll says what the vendor said
                await task.status()
            result = await task.wait(timeout=30)
            assert fault.times == 0 and result.artifacts
            assert c.journal is not None and task.journal_id is not None
            assert c.journal.get(task.journal_id).state == "succeeded"

    asyncio.run(go())


def test_not_found_past_the_window_fails_the_task(tmp_path: Path) -> None:
    journal_path = tmp_path / "j.sqlite3"

    async def go() -> None:
        async with Emulator() as emu, client_for(emu, journal_path) as c:
            # Known only by id: the submit time is unknown, so the polls alone bound the grace.
            with pytest.raises(NotFoundError):
                await c.task("mediaio", "imagen_4", "no-such-task").wait(timeout=10)
            assert len(emu.requests_for("mediaio", "poll")) == NOT_FOUND_GRACE_POLLS + 1
            # Submitted from this journal an hour ago: past the time window too.
            journal = Journal(journal_path)
            old = journal.record_intent("mediaio", "imagen_4", {"prompt": "p"})
            journal.record_submitted(old, "gone-task")
            with sqlite3.connect(journal_path) as db:
                db.execute("UPDATE tasks SET created_at = 0, updated_at = 0 WHERE id = ?", (old,))
            handle = AsyncTaskHandle(c._engine, "mediaio", "imagen_4", "gone-task", journal_id=old)
            with pytest.raises(NotFoundError):
                await handle.wait(timeout=10)
            assert journal.get(old).state == "failed"
            # Submitted a moment ago: still within the window when our own timeout ends it.
            recent = journal.record_intent("mediaio", "imagen_4", {"prompt": "p"})
            journal.record_submitted(recent, "lagging-task")
            before = len(emu.requests_for("mediaio", "poll"))
            fast = c.with_options(
                polling=mediagen.PollSchedule(initial=0.001, maximum=0.001, jitter=0.0)
            )
            handle = AsyncTaskHandle(
                fast._engine, "mediaio", "imagen_4", "lagging-task", journal_id=recent
            )
            with pytest.raises(TaskTimeoutError):
                await handle.wait(timeout=1)
            assert len(emu.requests_for("mediaio", "poll")) - before > NOT_FOUND_GRACE_POLLS + 1
            assert journal.get(recent).state == "queued"

    asyncio.run(go())


# -- a result with nothing to download --------------------------------------------------------

HTTP_ONLY = {"images": [{"url": "http://localhost:9/a.png"}]}


@pytest.mark.parametrize(
    ("result", "skipped"),
    [(HTTP_ONLY, ("http://localhost:9/a.png",)), ({"images": []}, ())],
    ids=["only-http-urls", "no-url"],
)
def test_a_result_with_no_downloadable_file_says_so(
    caplog: pytest.LogCaptureFixture, result: Any, skipped: tuple[str, ...]
) -> None:
    async def go() -> None:
        async with Emulator(duration=TASK_SECONDS) as emu, client_for(emu) as c:
            emu.set_outcome("mediaio.imagen_4", "succeeded", result=result)
            task = await c.mediaio.imagen_4(prompt="nothing")
            with caplog.at_level(logging.WARNING, logger="mediagen"):
                done = await task.wait(timeout=30)
            assert done.artifacts == () and done.skipped_urls == skipped
            assert done.raw["result"] == result  # the raw result is kept
            (warning,) = done.warnings
            assert warning.startswith("the vendor's result has no downloadable file")
            assert "raw result kept: " in warning
            assert "no downloadable file" in caplog.text

    asyncio.run(go())


def test_a_result_with_some_refused_urls_keeps_the_others() -> None:
    async def go() -> None:
        async with Emulator(duration=TASK_SECONDS) as emu, client_for(emu) as c:
            mine = f"{emu.url}/_files/a.png"  # the emulator's origin: downloadable
            emu.set_outcome(
                "mediaio.imagen_4",
                "succeeded",
                result={"images": [{"url": mine}, {"url": "http://localhost:9/b.png"}]},
            )
            done = await (await c.mediaio.imagen_4(prompt="two")).wait(timeout=30)
            assert [a.url for a in done.artifacts] == [mine]
            assert done.skipped_urls == ("http://localhost:9/b.png",)
            assert "1 URL(s) in the result are not downloaded" in done.warnings[0]

    asyncio.run(go())


def test_the_cli_warns_when_a_result_has_no_downloadable_file(
    emulator_env: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    emulator_env.set_outcome("mediaio.imagen_4", "succeeded", result=HTTP_ONLY)
    code, out, err = run_cli(
        capsys, "run", "mediaio", "imagen_4", "prompt=p", "--json", "--output", str(tmp_path)
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["state"] == "succeeded" and doc["artifacts"] == []
    assert doc["raw"]["result"] == HTTP_ONLY
    (line,) = err.strip().splitlines()  # said once, not again by the library's log record
    assert line.startswith(
        "mediagen: warning: the vendor's result has no downloadable file "
        "('http://localhost:9/a.png' is not https); raw result kept: "
    )
