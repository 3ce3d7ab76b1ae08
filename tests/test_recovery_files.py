"""Downloads that survive trouble: each file journaled as soon as it is placed and never fetched
twice, transient failures retried, `.part` files of killed processes cleaned up."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import TASK_SECONDS, fast_client_options

import mediagen
from mediagen.batch import BatchItem
from mediagen.defaults import STALE_PART_AGE, RetryPolicy
from mediagen.download import remove_stale_parts, source_keys
from mediagen.errors import (
    ConfigurationError,
    DownloadError,
    RateLimitError,
    ServerError,
    TransportError,
    UnsafeDownloadError,
)
from mediagen.journal import Journal
from mediagen.retry import retry_download
from mediagen.testing import Emulator, Fault
from mediagen.testing.artifacts import sniff

POLICY = RetryPolicy(attempts=3, base=0.01, cap=0.02)


def client_for(emu: Emulator, journal: Path | None = None) -> mediagen.AsyncClient:
    return mediagen.AsyncClient(**fast_client_options(emu, retry=POLICY, journal=journal or False))


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(proc.stdout)


# -- which download failures are retried ------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (TransportError("connection reset"), True),
        (TransportError("refused", sent=False), True),
        (TransportError("HTTP 500", status=500), True),
        (TransportError("HTTP 503", status=503), True),
        (TransportError("HTTP 408", status=408), True),
        (RateLimitError("HTTP 429", status=429, retry_after=1.0), True),
        (TransportError("HTTP 404", status=404), False),
        (TransportError("HTTP 403", status=403), False),
        (TransportError("HTTP 400", status=400), False),
        (UnsafeDownloadError("not https"), False),
        (DownloadError("disk full"), False),
        (ServerError("an API answer, not a download", status=500), False),
    ],
)
def test_download_retry_decisions(error: Any, retried: bool) -> None:
    assert retry_download(error, 1, POLICY) is retried
    assert retry_download(error, POLICY.attempts, POLICY) is False  # attempts used up


# -- one emulator task, its files -------------------------------------------------------------


async def finished_image(client: mediagen.AsyncClient) -> tuple[Any, mediagen.Result]:
    task = await client.mediaio.imagen_4(prompt="a file")
    return task, await task.wait(timeout=30)


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", phase="download", status=500),
        Fault("status", phase="download", status=429, retry_after=0.01),
        Fault("reset", phase="download", times=2),
    ],
    ids=["http500", "http429-retry-after", "reset"],
)
def test_one_transient_download_failure_is_retried(tmp_path: Path, fault: Fault) -> None:
    async def go() -> None:
        async with Emulator(duration=TASK_SECONDS) as emu, client_for(emu) as client:
            _, result = await finished_image(client)
            emu.inject(fault)
            (path,) = await client.download(result, tmp_path)
            assert sniff(path.read_bytes()) == "png"
            assert fault.times == 0 and len(emu.downloads) >= 2

    asyncio.run(go())


def test_a_missing_file_is_not_retried(tmp_path: Path) -> None:
    async def go() -> None:
        async with Emulator(duration=TASK_SECONDS) as emu, client_for(emu) as client:
            _, result = await finished_image(client)
            emu.inject(Fault("status", phase="download", status=404, times=5))
            with pytest.raises(TransportError, match="HTTP 404"):
                await client.download(result, tmp_path)
            assert len(emu.downloads) == 1
            assert list(tmp_path.iterdir()) == []  # no partial file left

    asyncio.run(go())


def test_a_file_recorded_earlier_is_not_downloaded_again(tmp_path: Path) -> None:
    async def go() -> None:
        async with (
            Emulator(duration=TASK_SECONDS) as emu,
            client_for(emu, tmp_path / "j.sqlite3") as client,
        ):
            task, result = await finished_image(client)
            (first,) = await task.download(tmp_path / "a")
            assert await client.download(result, tmp_path / "b") == [first]
            assert len(emu.downloads) == 1 and not (tmp_path / "b").exists()
            first.unlink()  # gone: fetched again
            (again,) = await client.download(result, tmp_path / "b")
            assert len(emu.downloads) == 2 and again.parent == tmp_path / "b"
            assert client.journal is not None and task.journal_id is not None
            files = client.journal.get(task.journal_id).files
            assert files == ((result.artifacts[0].url, str(again.resolve())),)

    asyncio.run(go())


def test_a_failure_on_the_second_file_keeps_the_first_and_resume_fetches_only_the_rest(
    tmp_path: Path,
) -> None:
    """A diagram has two files (png, svg): the svg keeps failing, the png stays recorded."""
    out = tmp_path / "out"

    async def go() -> None:
        async with (
            Emulator(duration=TASK_SECONDS) as emu,
            client_for(emu, tmp_path / "j.sqlite3") as client,
        ):
            emu.inject(
                Fault("status", phase="download", status=500, file="-1.", times=POLICY.attempts)
            )
            item = BatchItem("edrawmax", "flowchart", {"prompt": "a login flow"})
            (outcome,) = await client.batch([item], output=out)
            assert outcome.state == "download_failed"
            message = str(outcome.error)
            assert "file 2 of 2" in message and "HTTP 500" in message
            assert "the 1 file(s) before it are saved" in message
            journal = Journal(tmp_path / "j.sqlite3")
            assert outcome.journal_id is not None
            # The png, and the source written with it, are recorded.
            ((_, png), (key, source)) = journal.get(outcome.journal_id).files
            assert Path(png).suffix == ".png" and Path(png).is_file()
            assert key.startswith("source:") and Path(source).suffix == ".mmd"

            (resumed,) = await client.resume(output=out)
            assert resumed.state == "succeeded", resumed.error
            png_fetches = [name for name in emu.downloads if name.endswith(".png")]
            assert len(png_fetches) == 1  # the saved file was not fetched again
            assert resumed.paths[0] == Path(png)
            assert {Path(p).suffix for _, p in journal.get(outcome.journal_id).files} == {
                ".png",
                ".svg",
                ".mmd",
            }
            assert resumed.paths[-1] == Path(source)  # listed again, not written again
            assert sorted(p.suffix for p in out.iterdir()) == [".mmd", ".png", ".svg"]

    asyncio.run(go())


def test_a_synchronous_result_records_its_files_where_it_is_journaled(tmp_path: Path) -> None:
    """A diagram has no task id to find its entry by: the result carries its entry, so the
    files are recorded and a later resume fetches nothing again (found by the kill campaign)."""
    out = tmp_path / "out"

    async def go() -> None:
        async with (
            Emulator(duration=TASK_SECONDS) as emu,
            client_for(emu, tmp_path / "j.sqlite3") as client,
        ):
            result = await client.edrawmax.flowchart(prompt="a login flow")
            assert result.journal_id is not None
            paths = await client.download(result, out)
            assert client.journal is not None
            recorded = dict(client.journal.get(result.journal_id).files)
            sources = set(source_keys(result.artifacts).values())
            assert {a.url for a in result.artifacts} | sources == set(recorded)
            assert {str(p.resolve()) for p in paths} == set(recorded.values())
            fetched = len(emu.downloads)
            assert await client.resume(output=out) == []
            assert len(emu.downloads) == fetched

    asyncio.run(go())


# -- .part files ------------------------------------------------------------------------------


def test_part_files_of_dead_processes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    tmp_path.joinpath("keep.part").write_text("not ours")
    dead = tmp_path / f".mediagen-{dead_pid()}-abcd1234.part"
    mine = tmp_path / f".mediagen-{os.getpid()}-efgh5678.part"  # a download in flight here
    parent = tmp_path / f".mediagen-{os.getppid()}-ijkl9012.part"  # another live process
    legacy_old = tmp_path / ".mediagen-mnop3456.part"  # an older name, without a pid
    legacy_new = tmp_path / ".mediagen-qrst7890.part"
    for path in (dead, mine, parent, legacy_old, legacy_new):
        path.write_bytes(b"partial")
    long_ago = time.time() - STALE_PART_AGE - 60
    os.utime(legacy_old, (long_ago, long_ago))

    async def go() -> None:
        async with Emulator(duration=TASK_SECONDS) as emu, client_for(emu) as client:
            _, result = await finished_image(client)
            (path,) = await client.download(result, tmp_path)
            assert sniff(path.read_bytes()) == "png"

    asyncio.run(go())
    left = {p.name for p in tmp_path.iterdir()}
    assert dead.name not in left and legacy_old.name not in left
    assert {mine.name, parent.name, legacy_new.name, "keep.part"} <= left


def test_a_part_file_names_its_owner(tmp_path: Path) -> None:
    """While a download streams, its hidden file carries our pid (so a kill -9 can be told)."""
    seen: list[str] = []

    async def go() -> None:
        async with Emulator(duration=TASK_SECONDS) as emu, client_for(emu) as client:
            _, result = await finished_image(client)
            emu.inject(Fault("slow", phase="download", delay=0.5))
            download = asyncio.create_task(client.download(result, tmp_path))
            while not seen and not download.done():
                seen.extend(p.name for p in tmp_path.glob(".mediagen-*.part"))
                await asyncio.sleep(0.01)
            await download

    asyncio.run(go())
    assert seen and seen[0].startswith(f".mediagen-{os.getpid()}-")
    assert remove_stale_parts(tmp_path) == []  # and nothing is left over
    assert not list(tmp_path.glob("*.part"))


def test_a_journaled_task_is_resumed_only_as_its_own_operation(tmp_path: Path) -> None:
    """Under another operation its files would be named and journaled as that one's: refused
    before any request, naming the operation it was submitted as."""

    async def go() -> None:
        async with (
            Emulator(duration=TASK_SECONDS) as emu,
            client_for(emu, tmp_path / "j.sqlite3") as client,
        ):
            task = await client.tomoviee.text_to_video(prompt="a paper boat")
            sent = len(emu.requests)
            for journaled in (True, False):
                with pytest.raises(ConfigurationError) as caught:
                    client.task("tomoviee", "image_to_video", task.task_id, journal=journaled)
                assert str(caught.value) == (
                    f"task {task.task_id!r} was submitted as tomoviee.text_to_video (journal"
                    f" entry {task.journal_id}), not tomoviee.image_to_video; allowed:"
                    " tomoviee.text_to_video"
                )
            assert len(emu.requests) == sent
            again = client.task("tomoviee", "text_to_video", task.task_id)
            assert again.journal_id == task.journal_id
            assert (await again.wait()).artifacts

    asyncio.run(go())
