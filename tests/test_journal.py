"""The task journal: a real SQLite file, written before every submit and after every change."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

import mediagen
from mediagen.errors import AuthenticationError, SubmitOutcomeUnknownError
from mediagen.journal import Journal, configured_path
from mediagen.testing import Emulator, Fault


def run_with(journal: Path, body, **options):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with (
            Emulator(duration=0.1) as emu,
            mediagen.AsyncClient(
                **{**emu.client_options(), **options, "journal": journal}
            ) as client,
        ):
            return await body(emu, client)

    return asyncio.run(go())


def test_a_task_is_journaled_from_intent_to_files(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> str:
        task = await client.tomoviee.text_to_music(prompt="calm piano", duration=30, qty=2)
        result = await task.wait()
        await client.download(result, tmp_path / "out")
        return task.task_id

    task_id = run_with(path, body)
    journal = Journal(path)
    (entry,) = journal.entries()
    assert (entry.provider, entry.operation, entry.task_id, entry.state) == (
        "tomoviee",
        "text_to_music",
        task_id,
        "succeeded",
    )
    assert entry.params == {"prompt": "calm piano", "duration": 30, "qty": 2}
    states = [s for s, _ in journal.events(entry.id)]
    assert states[0] == "pending" and states[1] == "queued" and states[-1] == "succeeded"
    assert "running" in states
    assert entry.result is not None and entry.result.artifacts[0].kind == "audio"
    assert len(entry.files) == 2  # qty=2: two files, each journaled
    for (url, saved), artifact in zip(entry.files, entry.result.artifacts, strict=True):
        assert url == artifact.url and Path(saved).exists()


def test_the_intent_survives_a_lost_submit_answer(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.inject(Fault("reset_after", provider="mediaio", phase="submit"))
        with pytest.raises(SubmitOutcomeUnknownError):
            await client.mediaio.vidu_q2(image="https://x.test/a.png", prompt="waves")

    run_with(path, body)
    (entry,) = Journal(path).entries()
    assert entry.state == "unknown" and entry.task_id is None
    assert entry.params == {
        "image": "https://x.test/a.png",
        "prompt": "waves",
        "duration": "4s",
        "resolution": "720P",
    }
    assert "may have created the task" in (entry.error or "")


def test_a_rejected_submit_is_journaled_as_rejected(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        with pytest.raises(AuthenticationError):
            await client.mediaio.imagen_4(prompt="x")

    run_with(path, body, credentials={"mediaio": {"api_key": "wrong"}})
    (entry,) = Journal(path).entries()
    assert entry.state == "rejected" and "authentication failed" in (entry.error or "")


def test_resuming_by_id_adopts_an_unknown_task(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> str:
        async with mediagen.AsyncClient(**emu.client_options()) as other:
            task = await other.mediaio.imagen_4(prompt="x")
        await client.task("mediaio", "imagen_4", task.task_id).wait()
        return task.task_id

    task_id = run_with(path, body)
    (entry,) = Journal(path).entries()
    assert (entry.task_id, entry.state) == (task_id, "succeeded")


def test_turned_off_and_configured_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIAGEN_JOURNAL", "off")
    assert configured_path() is None
    monkeypatch.setenv("MEDIAGEN_JOURNAL", str(tmp_path / "x.sqlite3"))
    assert configured_path() == tmp_path / "x.sqlite3"
    monkeypatch.delenv("MEDIAGEN_JOURNAL")
    assert configured_path().name == "tasks.sqlite3"  # type: ignore[union-attr]
    client = mediagen.AsyncClient(journal=False)
    assert client.journal is None
    asyncio.run(client.close())


def test_only_one_process_can_claim_a_planned_entry(tmp_path: Path) -> None:
    first, second = Journal(tmp_path / "j.sqlite3"), Journal(tmp_path / "j.sqlite3")
    entry = first.record_intent("mediaio", "imagen_4", {"prompt": "x"}, state="planned")
    assert first.claim(entry) is True
    assert second.claim(entry) is False
    assert second.get(entry).state == "pending"


WRITER = """
import sys
from mediagen.journal import Journal
j = Journal(sys.argv[1])
for i in range(int(sys.argv[3])):
    e = j.record_intent("mediaio", "imagen_4", {"prompt": f"{sys.argv[2]}-{i}"})
    j.record_submitted(e, f"{sys.argv[2]}-{i}")
    j.record_state(e, "running", 50.0)
"""


def test_concurrent_writers_in_several_processes(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"w{n}", "40"],
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
    entries = Journal(path).entries()
    assert len(entries) == 160
    assert {e.state for e in entries} == {"running"}
    assert len({e.task_id for e in entries}) == 160


def test_tasks_command_lists_and_filters(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    done = journal.record_intent("tomoviee", "text_to_video", {"prompt": "a"})
    journal.record_submitted(done, "t-1")
    journal.record_state(done, "running", 10.0)
    lost = journal.record_intent("mediaio", "imagen_4", {"prompt": "b"})
    journal.record_unknown(lost, "connection reset")
    out = subprocess.run(
        [sys.executable, "-m", "mediagen", "tasks", "--journal", str(path), "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    rows = json.loads(out.stdout)
    assert [(r["operation"], r["state"], r["task_id"]) for r in rows] == [
        ("text_to_video", "running", "t-1"),
        ("imagen_4", "unknown", None),
    ]
    unknown = subprocess.run(
        [sys.executable, "-m", "mediagen", "tasks", "--journal", str(path), "--state", "unknown"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert "mediaio.imagen_4" in unknown.stdout and "text_to_video" not in unknown.stdout
    assert "connection reset" in unknown.stdout
