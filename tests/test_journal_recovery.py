"""Recovery beside other processes: who owns a journal entry, and claims that cover every step.

Ownership is an OS lock held by the live owner (mediagen.ownership): these tests use real
child processes to hold or drop it, the real CLI, the emulator over loopback and a real
SQLite journal.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mediagen
from mediagen.cli import main
from mediagen.journal import Journal
from mediagen.testing import EMULATOR_CREDENTIALS, EmulatorThread

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX owner locks"),
    pytest.mark.usefixtures("loopback_children"),  # children skip the CA bundle
]

FLOWCHART = {"prompt": "sign-up flow", "lang": "en"}


def credentials_env() -> dict[str, str]:
    return {
        "MEDIAIO_API_KEY": EMULATOR_CREDENTIALS["mediaio"]["api_key"],
        "TOMOVIEE_APP_KEY": EMULATOR_CREDENTIALS["tomoviee"]["app_key"],
        "TOMOVIEE_APP_SECRET": EMULATOR_CREDENTIALS["tomoviee"]["app_secret"],
    }


def point_at(monkeypatch: pytest.MonkeyPatch, emu: mediagen.testing.Emulator) -> None:
    for provider, url in emu.base_urls.items():
        monkeypatch.setenv(f"MEDIAGEN_{provider.upper()}_BASE_URL", url)
    for name, value in credentials_env().items():
        monkeypatch.setenv(name, value)


def resume(
    capsys: pytest.CaptureFixture[str], journal: Path, *extra: str
) -> tuple[int, list[dict[str, object]]]:
    """`mediagen resume --json` through the CLI's main(); (exit status, outcomes)."""
    code = main(["resume", "--journal", str(journal), "--json", "--output", "out", *extra])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines()]


HOLDER = """
import sys
from mediagen.journal import Journal
journal = Journal(sys.argv[1])
ids = [journal.record_intent("edrawmax", "flowchart", {"prompt": "p", "lang": "en"},
                             state="planned") for _ in range(2)]
print(json.dumps({"ids": ids, "owner": journal.owner}), flush=True)
sys.stdin.read()  # hold the owner lock until told to stop (or killed)
"""


def test_a_crashed_owner_on_another_host_or_with_a_reused_pid_is_resumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    elsewhere = journal.record_intent("edrawmax", "flowchart", FLOWCHART, state="planned")
    reused = journal.record_intent("edrawmax", "flowchart", FLOWCHART, state="planned")
    # A container that restarted with another hostname: its lock died with it.
    journal._set(elsewhere, owner="4242@old-container/0123456789abcdef")
    # A PID now used by a live, unrelated process (our parent), but no lock held for it.
    journal._set(reused, owner=f"{os.getppid()}@{socket.gethostname()}/fedcba9876543210")
    with EmulatorThread(duration=0.05) as emu:
        point_at(monkeypatch, emu)
        code, outcomes = resume(capsys, path)
        assert code == 0
        assert [o["state"] for o in outcomes] == ["succeeded", "succeeded"]
        assert len(emu.requests_for("edrawmax", "run")) == 2
    assert {journal.get(e).state for e in (elsewhere, reused)} == {"succeeded"}


def test_a_live_owner_is_left_alone_until_it_dies_and_force_takes_other_hosts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "j.sqlite3"
    Journal(path).close()  # the schema exists before the holder starts
    holder = subprocess.Popen(
        [sys.executable, "-c", "import json\n" + HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        started = json.loads(holder.stdout.readline())
        shared_disk, local = started["ids"]
        journal = Journal(path)
        # The same live lock, recorded as if the holder ran on another host sharing the disk.
        pid_host, _, token = started["owner"].partition("/")
        journal._set(shared_disk, owner=f"{pid_host.split('@')[0]}@other-host/{token}")
        with EmulatorThread(duration=0.05) as emu:
            point_at(monkeypatch, emu)
            code, outcomes = resume(capsys, path)
            assert code == 0  # left to their owner: not a failure
            assert [o["state"] for o in outcomes] == ["skipped", "skipped"]
            assert "handled by another process" in str(outcomes[0]["error"])
            assert emu.requests == []

            code, outcomes = resume(capsys, path, "--force")
            assert code == 0
            # --force takes the other host's entry; a lock held on this host stays respected.
            assert [o["state"] for o in outcomes] == ["succeeded", "skipped"]
            assert journal.get(shared_disk).state == "succeeded"
            assert journal.get(local).state == "planned"

            holder.send_signal(signal.SIGKILL)  # the OS drops its lock
            holder.wait(timeout=10)
            code, outcomes = resume(capsys, path)
            assert code == 0
            assert [o["state"] for o in outcomes] == ["succeeded"]
            assert len(emu.requests_for("edrawmax", "run")) == 2
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_an_old_journal_is_migrated_and_its_owners_judged_by_pid(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the schema before owner locks, origins and keys
        db.executescript(
            """
            CREATE TABLE tasks (id INTEGER PRIMARY KEY, provider TEXT NOT NULL,
                operation TEXT NOT NULL, params TEXT NOT NULL, task_id TEXT, state TEXT NOT NULL,
                progress REAL, error TEXT, result TEXT, batch TEXT, item INTEGER,
                created_at REAL NOT NULL, updated_at REAL NOT NULL, owner TEXT);
            CREATE UNIQUE INDEX tasks_by_vendor_id ON tasks (provider, task_id)
                WHERE task_id IS NOT NULL;
            """
        )
        host = socket.gethostname()
        for owner in (f"{os.getpid()}@{host}", "1@another-host", f"{2**22 + 7}@{host}"):
            db.execute(
                "INSERT INTO tasks (provider, operation, params, task_id, state, created_at,"
                " updated_at, owner) VALUES ('mediaio', 'imagen_4', '{}', ?, 'queued', ?, ?, ?)",
                (f"t-{owner}", time.time(), time.time(), owner),
            )
    journal = Journal(path)
    live, other_host, dead = journal.entries()
    assert (live.origin, live.item_key) == (None, None)
    # An old-style owner: possibly alive only if its PID runs on this host (another host:
    # free); it holds no lock, so that is never proof (--force takes it over).
    assert [journal.liveness(e) for e in (live, other_host, dead)] == [
        "alive_unproven",
        "free",
        "free",
    ]
    # The new key allows one id at two origins (the old unique index would refuse it).
    again = journal.record_intent("mediaio", "imagen_4", {}, origin="http://127.0.0.1:9")
    journal.record_submitted(again, live.task_id or "")
    assert journal.get(live.id).task_id == live.task_id


def test_an_old_style_owner_with_a_reused_pid_is_resumed_and_force_takes_any(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    reused, maybe_live = (
        journal.record_intent("edrawmax", "flowchart", FLOWCHART, state="planned") for _ in range(2)
    )
    # Owners written before owner locks (`pid@host`, no token), naming a live PID (ours).
    old_style = f"{os.getpid()}@{socket.gethostname()}"
    journal._set(maybe_live, owner=old_style)  # written now: the PID may still be its owner
    with journal._tx() as db:  # written long before this PID's process started: reused
        db.execute(
            "UPDATE tasks SET owner = ?, updated_at = 1000 WHERE id = ?", (old_style, reused)
        )
    with EmulatorThread(duration=0.05) as emu:
        point_at(monkeypatch, emu)
        code, outcomes = resume(capsys, path)
        assert code == 0
        expected = ["succeeded", "skipped"] if sys.platform == "linux" else ["skipped", "skipped"]
        assert [o["state"] for o in outcomes] == expected
        # It can hold no lock, so nothing proves it alive: --force takes it over.
        code, outcomes = resume(capsys, path, "--force")
        assert code == 0
        assert {o["state"] for o in outcomes} == {"succeeded"}
        assert len(emu.requests_for("edrawmax", "run")) == 2
    assert {journal.get(e).state for e in (reused, maybe_live)} == {"succeeded"}


RESUMER = [sys.executable, "-m", "mediagen", "resume", "--json", "--output"]


def test_two_resumes_at_once_never_work_on_the_same_entry(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with EmulatorThread(duration=0.3) as emu:
        # Three tasks submitted by a process that has ended, three items it never sent.
        with mediagen.Client(**{**emu.client_options(), "journal": path}) as client:
            submitted = [client.mediaio.imagen_4(prompt=f"sent {i}") for i in range(3)]
            for i in range(3):
                client.journal.record_intent(  # type: ignore[union-attr]
                    "mediaio", "imagen_4", {"prompt": f"planned {i}"}, state="planned"
                )
        env = {
            **os.environ,
            **credentials_env(),
            "MEDIAGEN_JOURNAL": str(path),
            **{f"MEDIAGEN_{p.upper()}_BASE_URL": url for p, url in emu.base_urls.items()},
        }
        procs = [
            subprocess.Popen(
                [*RESUMER, f"out-{n}"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(2)
        ]
        results = [proc.communicate(timeout=120) for proc in procs]
        for proc, (_, stderr) in zip(procs, results, strict=True):
            assert proc.returncode == 0, stderr  # neither reports a failure
        outcomes = [json.loads(line) for out, _ in results for line in out.splitlines()]
        finished = [o["task_id"] for o in outcomes if o["state"] == "succeeded"]
        assert {o["state"] for o in outcomes} <= {"succeeded", "skipped"}
        assert len(finished) == len(set(finished)) == 6  # each entry finished exactly once
        assert {t.task_id for t in submitted} < set(finished)
        assert len(emu.requests_for("mediaio", "submit")) == 6  # the planned three sent once
        # Each entry was polled and downloaded by one process only: one file per task.
        files = [
            f
            for n in range(2)
            if (tmp_path / f"out-{n}").exists()
            for f in (tmp_path / f"out-{n}").iterdir()
        ]
        assert len(files) == 6
    assert {e.state for e in Journal(path).entries()} == {"succeeded"}


def test_a_task_submitted_to_another_base_url_is_not_polled_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    entry = journal.record_intent("mediaio", "imagen_4", {}, origin="http://127.0.0.1:9")
    journal.record_submitted(entry, "t-1")
    journal.close()
    with EmulatorThread(duration=0.05) as emu:
        point_at(monkeypatch, emu)
        code, outcomes = resume(capsys, path)
        assert code == 1
        assert [o["state"] for o in outcomes] == ["other_origin"]
        assert "http://127.0.0.1:9" in str(outcomes[0]["error"])
        assert emu.requests == []  # its id names nothing (or someone else's task) here
    assert Journal(path).get(entry).state == "queued"  # left for a client that talks there


def test_an_entry_claimed_by_another_process_first_is_skipped_not_rejected(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    with EmulatorThread(duration=0.05) as emu:
        ours, theirs = Journal(path), Journal(path)
        entry = ours.record_intent("edrawmax", "flowchart", FLOWCHART, state="planned")
        with mediagen.Client(**{**emu.client_options(), "journal": ours}) as client:
            from mediagen.batch import _Job, _run_jobs  # the step after a claim was won
            from mediagen.params import model_for

            assert theirs.claim(entry)  # another process wins the race to submit it
            params = model_for("edrawmax.flowchart").from_dict(FLOWCHART)
            job = _Job(0, "edrawmax", "flowchart", params, entry)
            (outcome,) = client._loop.run(_run_jobs(client._async, [job], 1, None, None))
        assert outcome.state == "skipped" and not outcome.failed
        assert ours.get(entry).state == "pending"  # left to the winner, not marked rejected
        assert emu.requests == []
