"""A diagram's source file (written from the result, no URL) is journaled like its rendered
files: a batch run again reports exactly what the first run did, `mediagen tasks` counts it,
and a download that finds its files saved earlier lists the source too."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import mediagen_main

import mediagen
from mediagen.batch import BatchItem, Outcome
from mediagen.download import source_keys
from mediagen.journal import Journal
from mediagen.testing import EMULATOR_CREDENTIALS
from mediagen.testing.thread import EmulatorThread

ITEMS = [BatchItem("edrawmax", "flowchart", {"prompt": "sign-up flow", "lang": "en"})]


@pytest.fixture(scope="module")
def emulator() -> Any:
    with EmulatorThread(duration=0.0) as emu:
        yield emu


def batch(emu: Any, journal: Path, out: Path) -> list[Outcome]:
    async def go() -> list[Outcome]:
        options = {**emu.client_options(), "journal": journal}
        async with mediagen.AsyncClient(**options) as client:
            return await client.batch(ITEMS, key="jobs", output=out)

    return asyncio.run(go())


def test_a_batch_run_again_reports_the_source_file_as_the_first_run_did(
    emulator: Any, tmp_path: Path
) -> None:
    journal, out = tmp_path / "tasks.sqlite3", tmp_path / "out"
    (first,) = batch(emulator, journal, out)
    assert first.state == "succeeded" and first.result is not None
    kinds = [a["kind"] for a in first.to_json()["artifacts"]]
    assert kinds.count("source") == 1 and len(kinds) == len(first.result.artifacts) + 1

    (again,) = batch(emulator, journal, out)  # done already: from the journal
    assert again.to_json()["artifacts"] == first.to_json()["artifacts"]
    assert again.paths == first.paths
    (entry,) = Journal(journal).entries()
    assert len(entry.files) == len(first.paths)
    (key,) = source_keys(first.result.artifacts).values()
    assert key == f"source:{first.result.artifacts[0].url}"
    assert (key, str(first.paths[-1].resolve())) in entry.files


def test_a_download_of_saved_files_lists_the_recorded_source(emulator: Any, tmp_path: Path) -> None:
    journal, out = tmp_path / "tasks.sqlite3", tmp_path / "out"
    (first,) = batch(emulator, journal, out)
    assert first.result is not None

    async def download_again() -> list[Path]:
        options = {**emulator.client_options(), "journal": journal}
        async with mediagen.AsyncClient(**options) as client:
            assert first.result is not None
            return await client._engine.download(first.result, out, journal_id=first.journal_id)

    assert asyncio.run(download_again()) == list(first.paths)
    assert sorted(out.iterdir()) == sorted(first.paths)  # nothing written twice


def test_cli_batch_twice_and_tasks_count_every_file(emulator: Any, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        "".join(
            json.dumps({"provider": i.provider, "operation": i.operation, "params": i.params})
            + "\n"
            for i in ITEMS
        ),
        encoding="utf-8",
    )
    env = {
        "MEDIAGEN_JOURNAL": str(tmp_path / "tasks.sqlite3"),
        "MEDIAGEN_EDRAWMAX_BASE_URL": emulator.base_urls["edrawmax"],
        "EDRAWMAX_USER_ID": EMULATOR_CREDENTIALS["edrawmax"]["user_id"],
    }
    command = ("batch", str(jobs), "--output", str(tmp_path / "out"), "--json")
    first = mediagen_main(*command, cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    artifacts = json.loads(first.stdout)["artifacts"]
    sources = [a for a in artifacts if a["kind"] == "source"]
    assert len(sources) == 1 and sources[0]["url"] is None and Path(sources[0]["path"]).is_file()

    again = mediagen_main(*command, cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["artifacts"] == artifacts

    tasks = mediagen_main("tasks", "--json", cwd=tmp_path, env=env)
    assert tasks.returncode == 0, tasks.stderr
    (row,) = json.loads(tasks.stdout)
    assert sorted(row["files"]) == sorted(a["path"] for a in artifacts)
    text = mediagen_main("tasks", cwd=tmp_path, env=env)
    assert f"{len(artifacts)} file(s)" in text.stdout


def test_a_journal_written_before_sources_were_recorded_still_reads(
    emulator: Any, tmp_path: Path
) -> None:
    """No schema change: an entry without its source row (as older versions wrote it) is
    reported with its rendered files, as before, and its source is not written twice."""
    journal, out = tmp_path / "tasks.sqlite3", tmp_path / "out"
    (first,) = batch(emulator, journal, out)
    with contextlib.closing(sqlite3.connect(journal)) as db, db:
        db.execute("DELETE FROM files WHERE url LIKE 'source:%'")
    (again,) = batch(emulator, journal, out)
    assert again.state == "succeeded" and again.paths == first.paths[:-1]
    assert sorted(out.iterdir()) == sorted(first.paths)
