"""The task journal: a real SQLite file, written before every submit and after every change."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import TASK_SECONDS, fast_client_options, mediagen_main, mediagen_process

import mediagen
from mediagen.errors import AuthenticationError, SubmitOutcomeUnknownError
from mediagen.journal import Journal, configured_path
from mediagen.testing import Emulator, Fault

pytestmark = pytest.mark.usefixtures("loopback_children")  # children skip the CA bundle


def run_with(journal: Path, body, **options):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with (
            Emulator(duration=TASK_SECONDS) as emu,
            mediagen.AsyncClient(**fast_client_options(emu, **options, journal=journal)) as client,
        ):
            return await body(emu, client)

    return asyncio.run(go())


def test_a_task_is_journaled_from_intent_to_files(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> str:
        # Long enough (running for the last 0.6 s) that a poll lands while it runs, even on a
        # loaded machine: the suite's 50 ms tasks can go from queued to done between two polls.
        emu.durations = {"tomoviee.text_to_music": 0.8}
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
    # The emulator answers with Media.io's documented wording for a refused key.
    assert entry.state == "rejected" and "authentication required" in (entry.error or "")


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
    out = mediagen_process("tasks", "--journal", str(path), "--json", cwd=tmp_path)
    rows = json.loads(out.stdout)
    assert [(r["operation"], r["state"], r["task_id"]) for r in rows] == [
        ("text_to_video", "running", "t-1"),
        ("imagen_4", "unknown", None),
    ]
    unknown = mediagen_main("tasks", "--journal", str(path), "--state", "unknown", cwd=tmp_path)
    assert "mediaio.imagen_4" in unknown.stdout and "text_to_video" not in unknown.stdout
    assert "connection reset" in unknown.stdout


# -- bad rows never block recovery ------------------------------------------------------------

BAD_ROWS = {  # planned entries: never sent, so each becomes rejected with its reason
    "corrupt params": ({"params": "{not json"}, "not valid JSON"),
    "params no longer valid": (
        {"params": json.dumps({"prompt": "x", "ratio": "7:7"})},
        "no longer valid",
    ),
    "unknown operation": ({"operation": "imagen_99"}, "unknown operation"),
    "unknown provider": ({"provider": "acme"}, "unknown operation"),
}


def test_bad_rows_are_reported_one_by_one_and_the_rest_recover(tmp_path: Path) -> None:
    from mediagen.testing import EMULATOR_CREDENTIALS, EmulatorThread

    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    bad = {}
    for kind, (fields, _) in BAD_ROWS.items():
        bad[kind] = journal.record_intent("mediaio", "imagen_4", {"prompt": "x"}, state="planned")
        journal._set(bad[kind], **fields)
    strange = journal.record_intent("acme", "render", {})  # submitted: left as it is
    journal.record_submitted(strange, "t-9")
    stuck = journal.record_intent("mediaio", "imagen_4", {"prompt": "y"})  # a task to poll
    journal.record_submitted(stuck, "t-1")
    good = journal.record_intent("edrawmax", "mindmap", {"prompt": "z"}, state="planned")
    journal.close()  # its entries are free for the CLI

    listed = mediagen_main("tasks", "--journal", str(path), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == len(BAD_ROWS) + 3
    for kind, (_, reason) in BAD_ROWS.items():
        (line,) = [x for x in listed.stderr.splitlines() if f"journal entry {bad[kind]} " in x]
        assert reason in line

    with EmulatorThread(duration=TASK_SECONDS) as emu:
        env = {
            **os.environ,
            "MEDIAIO_API_KEY": EMULATOR_CREDENTIALS["mediaio"]["api_key"],
            **{f"MEDIAGEN_{p.upper()}_BASE_URL": url for p, url in emu.base_urls.items()},
        }
        reopened = Journal(path)
        reopened._set(stuck, origin=emu.base_urls["mediaio"])  # submitted there
        # an hour ago: past the grace in which "not found" may be the vendor's lag
        reopened._db.execute(
            "UPDATE tasks SET updated_at = updated_at - 3600 WHERE id = ?", (stuck,)
        )
        reopened.close()
        resumed = mediagen_process(
            "resume", "--journal", str(path), "--json", cwd=tmp_path, env=env
        )
        assert resumed.returncode == 1, resumed.stderr  # bad rows are failures to look at
        outcomes = [json.loads(line) for line in resumed.stdout.splitlines()]
        assert [o["state"] for o in outcomes] == [
            *(["rejected"] * len(BAD_ROWS)),
            "invalid",
            "failed",
            "succeeded",
        ]
        for outcome, (kind, (_, reason)) in zip(outcomes, BAD_ROWS.items(), strict=False):
            message = outcome["error"]["message"]
            assert f"journal entry {bad[kind]} " in message and reason in message
        assert f"journal entry {strange} " in outcomes[len(BAD_ROWS)]["error"]["message"]
        assert len(emu.requests_for("mediaio", "poll")) >= 1  # the good rows went on
        assert emu.requests_for("mediaio", "submit") == []  # no bad planned row was sent
    after = Journal(path)
    assert {after.get(e).state for e in bad.values()} == {"rejected"}
    assert after.get(strange).state == "queued" and after.get(good).state == "succeeded"


def test_undecodable_odd_and_unknown_rows_are_reported_on_one_line_each(tmp_path: Path) -> None:
    from mediagen.testing import EMULATOR_CREDENTIALS, EmulatorThread

    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    good = journal.record_intent("edrawmax", "mindmap", {"prompt": "z"}, state="planned")
    bad_sql = {  # each leaves the row unusable, and used to crash `tasks` or `resume`
        "params=x'fffe00'": "not valid JSON",  # a BLOB that is not UTF-8
        "params=CAST(x'7b22ff22' AS TEXT)": "not valid JSON",  # TEXT holding invalid UTF-8
        "created_at='yesterday', updated_at='x'": "created_at is not a number ('yesterday')",
        "state='weird'": "state 'weird' is unknown",
    }
    bad = {}
    for sql, reason in bad_sql.items():
        entry = journal.record_intent("mediaio", "imagen_4", {"prompt": "x"}, state="planned")
        journal._db.execute(f"UPDATE tasks SET {sql} WHERE id = ?", (entry,))
        bad[entry] = reason
    odd_result = journal.record_intent("mediaio", "imagen_4", {"prompt": "y"})
    journal.record_submitted(odd_result, "t-2")
    journal._db.execute(
        "UPDATE tasks SET result = '{bad', state = 'succeeded' WHERE id = ?", (odd_result,)
    )
    journal.close()

    listed = mediagen_process("tasks", "--journal", str(path), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    assert len(listed.stdout.splitlines()) == len(bad) + 2  # what can be read is listed
    for entry, reason in bad.items():
        (line,) = [x for x in listed.stderr.splitlines() if f"journal entry {entry} " in x]
        assert reason in line
    (line,) = [x for x in listed.stderr.splitlines() if f"journal entry {odd_result}:" in x]
    assert "result could not be read" in line  # a warning on one line, not a traceback
    assert any(x.split()[1] == "?" for x in listed.stdout.splitlines())  # the bad timestamp

    with EmulatorThread(duration=TASK_SECONDS) as emu:
        env = {
            **os.environ,
            "MEDIAIO_API_KEY": EMULATOR_CREDENTIALS["mediaio"]["api_key"],
            **{f"MEDIAGEN_{p.upper()}_BASE_URL": url for p, url in emu.base_urls.items()},
        }
        resumed = mediagen_main("resume", "--journal", str(path), "--json", cwd=tmp_path, env=env)
        assert "Traceback" not in resumed.stderr
        assert resumed.returncode == 1, resumed.stderr  # bad rows are failures to look at
        outcomes = [json.loads(line) for line in resumed.stdout.splitlines()]
        assert [o["state"] for o in outcomes] == [
            "succeeded",
            *(["rejected"] * 3),  # planned, so never sent: rejected with the reason
            "invalid",  # the unknown state: left as it is
        ]
        for outcome, (entry, reason) in zip(outcomes[1:], bad.items(), strict=True):
            message = outcome["error"]["message"]  # --json's error object
            assert f"journal entry {entry} " in message and reason in message
        assert emu.requests_for("mediaio", "submit") == []  # no bad planned row was sent
    assert Journal(path).get(good).state == "succeeded"


# -- task ids are keyed per origin; any str is stored ------------------------------------------


def test_one_task_id_from_two_vendor_hosts_is_two_tasks(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    first = journal.record_intent("mediaio", "imagen_4", {}, origin="http://127.0.0.1:8001")
    journal.record_submitted(first, "t-1")
    second = journal.record_intent("mediaio", "imagen_4", {}, origin="http://127.0.0.1:8002")
    journal.record_submitted(second, "t-1")  # a second stand-in issuing the same id
    default = journal.record_intent("mediaio", "imagen_4", {})
    journal.record_submitted(default, "t-1")
    found = journal.find("mediaio", "t-1", origin="http://127.0.0.1:8002")
    assert found is not None and found.id == second
    assert journal.find("mediaio", "t-1").id == default  # type: ignore[union-attr]
    assert journal.adopt("mediaio", "imagen_4", "t-1", origin="http://127.0.0.1:8001") == first
    assert {e.state for e in journal.entries()} == {"queued"}


def test_an_id_reissued_by_a_restarted_stand_in_is_recorded(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    origin = "http://127.0.0.1:8001"
    old = journal.record_intent("mediaio", "imagen_4", {}, origin=origin)
    journal.record_submitted(old, "t-1")
    new = journal.record_intent("mediaio", "imagen_4", {}, origin=origin)
    journal.record_submitted(new, "t-1")  # the same host restarted and counts from 1 again
    assert (journal.get(new).task_id, journal.get(new).state) == ("t-1", "queued")
    older = journal.get(old)
    assert older.task_id is None and older.state == "unknown"
    assert f"journal entry {new}" in (older.error or "")


def test_lone_surrogates_in_a_task_id_and_an_error_are_stored(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    odd_id = "t-\udc80"
    entry = journal.record_intent("mediaio", "imagen_4", {"prompt": "\udcff"})
    journal.record_submitted(entry, odd_id)
    rejected = journal.record_intent("mediaio", "imagen_4", {"prompt": "y"})
    journal.record_rejected(rejected, "the vendor said \udc80 no")
    again = Journal(path)
    assert again.get(entry).task_id == odd_id and again.get(entry).params == {"prompt": "\udcff"}
    assert again.find("mediaio", odd_id) is not None
    assert again.get(rejected).error == "the vendor said \udc80 no"
    listed = mediagen_process("tasks", "--journal", str(path), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "\\udc80" in listed.stdout


def test_a_vendor_rejection_with_a_lone_surrogate_is_journaled_as_rejected(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.inject(
            Fault("status", provider="mediaio", phase="submit", status=400, message="bad \udc80")
        )
        with pytest.raises(mediagen.errors.MediagenError):
            await client.mediaio.imagen_4(prompt="x")

    run_with(path, body)
    (entry,) = Journal(path).entries()
    assert entry.state == "rejected" and "\udc80" in (entry.error or "")


# -- commands that only read open the journal read-only ----------------------------------------


def test_tasks_reads_an_old_journal_without_migrating_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE tasks (id INTEGER PRIMARY KEY, provider TEXT NOT NULL,"
            " operation TEXT NOT NULL, params TEXT NOT NULL, task_id TEXT, state TEXT NOT NULL,"
            " progress REAL, error TEXT, result TEXT, batch TEXT, item INTEGER,"
            " created_at REAL NOT NULL, updated_at REAL NOT NULL)"
        )
        db.execute("CREATE TABLE files (task INTEGER, url TEXT, path TEXT, at REAL)")
        db.execute(
            "INSERT INTO tasks (provider, operation, params, task_id, state, created_at,"
            " updated_at) VALUES ('mediaio', 'imagen_4', '{}', 't-1', 'queued', 0, 0)"
        )
    db.close()
    before = path.read_bytes()
    listed = mediagen_main("tasks", "--journal", str(path), "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [r["task_id"] for r in json.loads(listed.stdout)] == ["t-1"]
    assert path.read_bytes() == before  # not migrated, not switched to WAL: nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.sqlite3"]


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root ignores file permissions"
)
def test_tasks_reads_a_journal_in_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "j.sqlite3"
    journal = Journal(path)
    journal.record_submitted(journal.record_intent("mediaio", "imagen_4", {}), "t-1")
    journal.close()
    path.chmod(0o444)
    folder.chmod(0o555)
    try:
        listed = mediagen_main("tasks", "--journal", str(path), "--json", cwd=tmp_path)
    finally:
        folder.chmod(0o755)
    assert listed.returncode == 0, listed.stderr
    assert [r["task_id"] for r in json.loads(listed.stdout)] == ["t-1"]


def test_a_task_id_the_journal_cannot_store_is_logged_and_kept_in_the_entry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "j.sqlite3"
    Journal(path).close()
    with sqlite3.connect(path) as db:  # a real SQLite failure on exactly that write
        db.execute(
            "CREATE TRIGGER no_ids BEFORE UPDATE OF task_id ON tasks"
            " WHEN NEW.task_id IS NOT NULL BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"
        )
    db.close()

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> str:
        task = await client.mediaio.imagen_4(prompt="x")
        return task.task_id

    task_id = run_with(path, body)
    assert any(
        task_id in r.getMessage() and "mediagen wait" in r.getMessage() for r in caplog.records
    )
    (entry,) = Journal(path).entries()
    assert entry.state == "unknown" and task_id in (entry.error or "")
