"""Never strand a task: an operation removed from the catalog between a submit (journaled) and
a wait or resume. Media.io and Tomoviee poll by task id alone, so `client.task(...)`,
`resume` and `mediagen wait` finish the task and say the operation is not in the catalog; where
polling cannot work without the operation, the error says so.

The submit uses the full catalog; the later client reads a fixture catalog without the
operation (the emulator still knows the task, as the vendor would).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

import mediagen
from mediagen.catalog import Catalog, default_catalog
from mediagen.errors import ConfigurationError
from mediagen.journal import Journal
from mediagen.registry import Registry
from mediagen.retired import is_retired, retired_operation
from mediagen.testing import Emulator
from mediagen.testing.thread import EmulatorThread

CASES = [("mediaio", "imagen_4", {"prompt": "x"}), ("tomoviee", "text_to_speech", {"text": "hi"})]


def without(provider: str, op_id: str) -> Catalog:
    """The shipped catalog after a vendor update that removed one operation."""
    catalog = default_catalog()
    old = catalog.provider(provider)
    new = attrs.evolve(old, operations=tuple(o for o in old.operations if o.id != op_id))
    return attrs.evolve(
        catalog, providers=tuple(new if p.name == provider else p for p in catalog.providers)
    )


@pytest.fixture(scope="module")
def emulator() -> Any:
    with EmulatorThread(duration=0.0) as emu:
        yield emu


def submit(emu: Emulator, journal: Path, provider: str, op_id: str, params: dict[str, Any]) -> str:
    async def go() -> str:
        async with mediagen.AsyncClient(**{**emu.client_options(), "journal": journal}) as client:
            task = await getattr(getattr(client, provider), op_id)(**params)
            return str(task.task_id)

    return asyncio.run(go())


def after_update(emu: Emulator, journal: Path, provider: str, op_id: str) -> dict[str, Any]:
    registry = Registry(without(provider, op_id), entry_points=False)
    return {**emu.client_options(), "journal": journal, "registry": registry}


@pytest.mark.parametrize(("provider", "op_id", "params"), CASES)
def test_client_task_finishes_a_task_of_a_retired_operation(
    emulator: Emulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    provider: str,
    op_id: str,
    params: dict[str, Any],
) -> None:
    journal = tmp_path / "tasks.sqlite3"
    task_id = submit(emulator, journal, provider, op_id, params)

    async def go() -> mediagen.Result:
        async with mediagen.AsyncClient(**after_update(emulator, journal, provider, op_id)) as c:
            return await c.task(provider, op_id, task_id).wait(timeout=30)

    with caplog.at_level(logging.WARNING, logger="mediagen"):
        result = asyncio.run(go())
    assert (result.provider, result.operation, result.task_id) == (provider, op_id, task_id)
    assert result.artifacts and all(a.url.startswith("http://127.0.0.1:") for a in result.artifacts)
    assert f"operation {provider}.{op_id} is not in the catalog (retired" in caplog.text
    assert "; finishing task by id" in caplog.text
    (entry,) = Journal(journal).entries()
    assert (entry.state, entry.task_id) == ("succeeded", task_id)


def test_resume_finishes_it_and_downloads(emulator: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "tasks.sqlite3"
    task_id = submit(emulator, journal, "mediaio", "imagen_4", {"prompt": "x"})
    # Planned (never sent) under a catalog that had hailuo_01, which neither has now.
    earlier = Journal(journal)  # another process's journal handle, since closed
    planned = earlier.record_intent("mediaio", "hailuo_01", {"prompt": "y"}, state="planned")
    earlier.close()

    async def go() -> list[mediagen.batch.Outcome]:
        async with mediagen.AsyncClient(
            **after_update(emulator, journal, "mediaio", "imagen_4")
        ) as c:
            return await c.resume(output=tmp_path / "out")

    done, rejected = sorted(asyncio.run(go()), key=lambda o: o.state != "succeeded")
    assert (done.state, done.task_id) == ("succeeded", task_id)
    assert done.paths and all(p.is_file() for p in done.paths)
    # A planned entry of the retired operation was never sent: it cannot be, and says why.
    assert (rejected.state, rejected.journal_id) == ("rejected", planned)
    assert "unknown operation" in str(rejected.error) and "never sent" in str(rejected.error)
    assert Journal(journal).get(planned).state == "rejected"


def test_mediagen_wait_on_a_retired_operation(emulator: Emulator, tmp_path: Path) -> None:
    """`mediagen wait` with an operation the installed catalog no longer has."""
    journal = tmp_path / "tasks.sqlite3"
    task_id = submit(emulator, journal, "mediaio", "imagen_4", {"prompt": "x"})
    # As a catalog that still had hailuo_01 would have journaled it (`wait` refuses a task
    # under another operation than the one the journal holds it as).
    with contextlib.closing(sqlite3.connect(journal)) as db, db:
        db.execute("UPDATE tasks SET operation = 'hailuo_01' WHERE task_id = ?", (task_id,))
    env = {
        **os.environ,
        "MEDIAGEN_JOURNAL": str(journal),
        "MEDIAGEN_MEDIAIO_BASE_URL": emulator.base_urls["mediaio"],
        "MEDIAIO_API_KEY": str(emulator.credentials["mediaio"]["api_key"]),
    }
    out = subprocess.run(
        [sys.executable, "-m", "mediagen", "wait", "mediaio", "hailuo_01", task_id, "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["operation"], doc["task_id"], doc["state"]) == ("hailuo_01", task_id, "succeeded")
    assert all(a["path"] and Path(a["path"]).is_file() for a in doc["artifacts"])
    # The engine cannot tell a retired operation from a typo: it names the close one.
    assert (
        "operation mediaio.hailuo_01 is not in the catalog (retired, or a misspelt hailuo_02?); "
        "finishing task by id"
    ) in out.stderr


def test_a_synchronous_provider_has_nothing_to_poll(emulator: Emulator) -> None:
    with (
        mediagen.Client(**emulator.client_options()) as client,
        pytest.raises(ConfigurationError, match="answers synchronously: there is no task"),
    ):
        client.task("edrawmax", "orgchart", "t-1")


def test_where_polling_needs_the_operation_the_error_says_so() -> None:
    mediaio = default_catalog().provider("mediaio")
    assert mediaio.task is not None
    per_model = attrs.evolve(
        mediaio,
        task=attrs.evolve(
            mediaio.task,
            poll=attrs.evolve(mediaio.task.poll, path="/generation/{model}/result/{task_id}"),
        ),
    )
    with pytest.raises(ConfigurationError, match="needs more than the task id"):
        retired_operation(per_model, "hailuo_01")
    stand_in = retired_operation(mediaio, "hailuo_01")
    assert is_retired(stand_in) and stand_in.kind == "task" and stand_in.output == "none"


def test_submitting_still_needs_a_known_operation(emulator: Emulator) -> None:
    """Only polling falls back: a query or submit of an unknown operation is still refused."""
    with mediagen.Client(**emulator.client_options()) as client:
        engine = client._async._engine
        with pytest.raises(ConfigurationError, match="no mediaio operation 'hailuo_01'"):
            engine.operation("mediaio", "hailuo_01")
