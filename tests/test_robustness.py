"""Edge cases found in review: each one a way a task could be lost, paid twice, or a user stuck."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp import web
from helpers import local_server

import mediagen
from mediagen.batch import BatchItem
from mediagen.errors import ConfigurationError, NotFoundError, UnsafeDownloadError
from mediagen.journal import Journal
from mediagen.results import Artifact, Result
from mediagen.testing import EMULATOR_CREDENTIALS, Emulator


def test_a_redirect_cannot_lead_a_download_off_the_allowed_hosts(tmp_path: Path) -> None:
    async def go() -> None:
        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPFound(f"http://localhost:{request.url.port}/secret.png")

        async with local_server([web.get("/a.png", redirect)]) as base:
            async with mediagen.AsyncClient(base_urls={"edrawmax": base}, journal=False) as client:
                result = Result(
                    "edrawmax", "flowchart", (Artifact(f"{base}/a.png", "diagram"),), raw=None
                )
                with pytest.raises(UnsafeDownloadError, match="redirects to a refused place"):
                    await client.download(result, tmp_path)
            assert list(tmp_path.iterdir()) == []

    asyncio.run(go())


def test_a_batch_item_that_fails_before_sending_is_not_resubmitted_by_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEDIAIO_API_KEY", raising=False)
    monkeypatch.delenv("API_KEY", raising=False)
    journal = tmp_path / "j.sqlite3"

    async def go() -> None:
        async with Emulator(duration=0.05) as emu:
            options = {**emu.client_options(), "journal": journal, "credentials": {}}
            async with mediagen.AsyncClient(**options) as client:
                (outcome,) = await client.batch([BatchItem("mediaio", "imagen_4", {"prompt": "x"})])
                assert outcome.state == "rejected" and "MEDIAIO_API_KEY" in str(outcome.error)
            assert Journal(journal).entries()[0].state == "rejected"
            async with mediagen.AsyncClient(
                **{**emu.client_options(), "journal": journal}
            ) as client:
                assert await client.resume() == []
            assert emu.requests == []

    asyncio.run(go())


def test_waiting_on_an_id_the_vendor_does_not_know_is_journaled_as_failed(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"

    async def go() -> None:
        async with (
            Emulator() as emu,
            mediagen.AsyncClient(**{**emu.client_options(), "journal": journal}) as client,
        ):
            with pytest.raises(NotFoundError):
                await client.task("mediaio", "imagen_4", "no-such-task").wait()
            (entry,) = Journal(journal).entries()
            assert (entry.task_id, entry.state) == ("no-such-task", "failed")
            assert await client.resume() == []  # nothing left to retry forever

    asyncio.run(go())


def test_two_processes_adopting_one_task_share_one_entry(tmp_path: Path) -> None:
    first, second = Journal(tmp_path / "j.sqlite3"), Journal(tmp_path / "j.sqlite3")
    assert first.adopt("tomoviee", "text_to_video", "t-1") == second.adopt(
        "tomoviee", "text_to_video", "t-1"
    )
    (entry,) = first.entries()
    assert (entry.task_id, entry.state) == ("t-1", "queued")


def test_one_unreadable_stored_result_does_not_break_the_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    good = journal.record_intent("mediaio", "imagen_4", {"prompt": "x"})
    journal.record_result(
        good, Result("mediaio", "imagen_4", (Artifact("https://x/a.png", "image"),), raw={})
    )
    bad = journal.record_intent("mediaio", "imagen_4", {"prompt": "y"})
    journal._set(
        bad,
        state="succeeded",
        result=json.dumps({"provider": "mediaio", "artifacts": [{"kind": 7}]}),
    )
    entries = journal.entries()
    assert entries[0].result is not None and entries[1].result is None


def test_a_batch_whose_files_cannot_be_saved_reports_download_failed(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")

    async def go() -> None:
        async with (
            Emulator(duration=0.05) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            (outcome,) = await client.batch(
                [BatchItem("mediaio", "imagen_4", {"prompt": "x"})], output=blocker
            )
            assert outcome.state == "download_failed"
            assert outcome.result is not None and outcome.task_id
            assert "cannot" in str(outcome.error) and "imagen_4" in str(outcome.error)

    asyncio.run(go())


def test_a_closed_client_refuses_work() -> None:
    async def go() -> None:
        async with Emulator() as emu:
            client = mediagen.AsyncClient(**emu.client_options())
            await client.close()
            with pytest.raises(ConfigurationError, match="closed"):
                await client.mediaio.credits()
            assert emu.requests == []

    asyncio.run(go())


def test_option_copies_do_not_close_their_parent() -> None:
    async def go() -> None:
        async with Emulator() as emu, mediagen.AsyncClient(**emu.client_options()) as client:
            async with client.with_options(timeouts=mediagen.Timeouts(request=5)) as copy:
                assert await copy.mediaio.credits() == {"credits": 1000}
            assert await client.mediaio.credits() == {"credits": 1000}

    asyncio.run(go())


def test_blocking_option_copies_share_the_loop_without_closing_it(
    mediagen_emulator: Emulator,
) -> None:
    with mediagen.Client(**mediagen_emulator.client_options()) as client:
        with client.with_options(retry=mediagen.defaults.RetryPolicy(attempts=1)) as copy:
            assert copy.mediaio.credits() == {"credits": 1000}
        assert client.mediaio.credits() == {"credits": 1000}


def test_calling_the_blocking_client_from_its_own_callback_fails_fast(
    mediagen_emulator: Emulator,
) -> None:
    with mediagen.Client(**mediagen_emulator.client_options()) as client:
        task = client.mediaio.imagen_4(prompt="x")
        seen: list[BaseException] = []

        def callback(status: object) -> None:
            try:
                client.mediaio.credits()
            except RuntimeError as exc:
                seen.append(exc)

        task.wait(on_progress=callback)
        assert seen and "use AsyncClient there" in str(seen[0])


def test_emulator_outcomes_must_exist_for_the_provider() -> None:
    emu = Emulator()
    with pytest.raises(ValueError, match="mediaio has no vendor status for 'cancelled'"):
        emu.set_outcome("mediaio.imagen_4", "cancelled")
    emu.set_outcome("tomoviee.text_to_video", "cancelled")


def test_emulator_client_options_never_touch_the_users_journal() -> None:
    assert Emulator().client_options()["journal"] is False
    assert EMULATOR_CREDENTIALS["mediaio"]["api_key"].startswith("emulator-")
