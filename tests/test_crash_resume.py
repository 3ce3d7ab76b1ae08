"""Kill the CLI with SIGKILL in the middle of a batch; `resume` finishes every task, resubmits none."""

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
from cli_zygote import Zygote
from helpers import mediagen_main

from mediagen.journal import Journal
from mediagen.testing import EMULATOR_CREDENTIALS, EmulatorThread
from mediagen.testing.artifacts import sniff

pytestmark = pytest.mark.usefixtures("loopback_children")  # children skip the CA bundle

ITEMS = (
    [
        {"provider": "mediaio", "operation": "imagen_4", "params": {"prompt": f"cat {i}"}}
        for i in range(4)
    ]
    + [
        {"provider": "tomoviee", "operation": "text_to_speech", "params": {"text": f"hello {i}"}}
        for i in range(4)
    ]
    + [
        {
            "provider": "mediaio",
            "operation": "kling_2_1",
            "params": {"image": "https://x.test/a.png", "prompt": "sea"},
        },
    ]
)


def env_for(emu_urls: dict[str, str], journal: Path) -> dict[str, str]:
    env = {**os.environ, "MEDIAGEN_JOURNAL": str(journal)}
    env.update({f"MEDIAGEN_{p.upper()}_BASE_URL": url for p, url in emu_urls.items()})
    env["MEDIAIO_API_KEY"] = EMULATOR_CREDENTIALS["mediaio"]["api_key"]
    env["TOMOVIEE_APP_KEY"] = EMULATOR_CREDENTIALS["tomoviee"]["app_key"]
    env["TOMOVIEE_APP_SECRET"] = EMULATOR_CREDENTIALS["tomoviee"]["app_secret"]
    return env


def dead_owner() -> str:
    """pid@host of a process that has exited."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return f"{proc.stdout.strip()}@{socket.gethostname()}"


def journal_counts(path: Path) -> tuple[int, int, int]:
    """(entries, with a task id, pending) read straight from the SQLite file."""
    if not path.exists():
        return 0, 0, 0
    with sqlite3.connect(path, timeout=5) as db:
        try:
            rows = db.execute("SELECT task_id, state FROM tasks").fetchall()
        except sqlite3.OperationalError:
            return 0, 0, 0
    return len(rows), sum(1 for t, _ in rows if t), sum(1 for _, s in rows if s == "pending")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_mid_batch_then_resume_finishes_everything_without_resubmits(
    tmp_path: Path,
) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(json.dumps(i) for i in ITEMS) + "\n", encoding="utf-8")
    journal = tmp_path / "journal.sqlite3"
    with EmulatorThread(duration=3.0) as emu:
        env = env_for(emu.base_urls, journal)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mediagen",
                "batch",
                str(batch),
                "--concurrency",
                "2",
                "--output",
                "out",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # Kill once the first wave (2 per provider) is submitted and no submit is in flight.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            total, submitted, pending = journal_counts(journal)
            if total == len(ITEMS) and submitted >= 4 and pending == 0:
                break
            time.sleep(0.01)
        else:
            proc.kill()
            pytest.fail(f"the batch never reached the kill point: {journal_counts(journal)}")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL

        before = Journal(journal).entries()
        assert len(before) == len(ITEMS)
        assert {e.state for e in before} <= {"planned", "queued", "running"}
        unfinished = [e for e in before if e.state != "succeeded"]
        assert unfinished, "the kill came after the batch finished: nothing was tested"

        resumed = subprocess.run(
            [sys.executable, "-m", "mediagen", "resume", "--output", "out", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert resumed.returncode == 0, resumed.stderr
        outcomes = [json.loads(line) for line in resumed.stdout.splitlines()]
        assert len(outcomes) == len(unfinished)
        assert {o["state"] for o in outcomes} == {"succeeded"}

        after = Journal(journal).entries()
        assert [e.state for e in after] == ["succeeded"] * len(ITEMS)
        # Zero resubmits: one submit request per item, one emulated task per item.
        assert len(emu.requests_for("mediaio", "submit")) + len(
            emu.requests_for("tomoviee", "submit")
        ) == len(ITEMS)
        assert len(emu.tasks) == len(ITEMS)
        assert len({e.task_id for e in after}) == len(ITEMS)
        for entry in after:
            assert entry.files, f"{entry.qualified_operation} has no downloaded file"
            for _, path in entry.files:
                assert sniff(Path(path).read_bytes()) in ("png", "mp3", "mp4")
        again = mediagen_main("resume", "--output", "out", cwd=tmp_path, base_env=env)
        assert again.returncode == 0 and "nothing to resume" in again.stdout
        quiet = mediagen_main("resume", "--json", cwd=tmp_path, base_env=env)
        assert quiet.returncode == 0 and quiet.stdout == "", quiet.stdout
        assert (
            quiet.stderr == "mediagen: nothing to resume: every task in the journal is finished\n"
        )


def test_resume_downloads_missing_files_and_marks_cut_off_submits_unknown(
    tmp_path: Path, cli_zygote: Zygote
) -> None:
    journal_path = tmp_path / "journal.sqlite3"
    with EmulatorThread(duration=0.1) as emu:
        env = env_for(emu.base_urls, journal_path)
        # Another process, which then ends (forked: cli_zygote; the sigkill test runs both
        # commands as their own `python -m mediagen`).
        done = cli_zygote.run(
            *("run", "mediaio", "imagen_4", "prompt=x", "--output", "first", "--json"),
            cwd=tmp_path,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        first_file = Path(json.loads(done.stdout)["artifacts"][0]["path"])
        first_file.unlink()  # the file is gone: resume fetches it again
        journal = Journal(journal_path)
        cut = journal.record_intent("tomoviee", "text_to_video", {"prompt": "p"})  # left "pending"
        journal._set(cut, owner=dead_owner())  # ...by a process that has since died
        # In this process: the entries are a dead process's, as they would be to any other.
        resumed = mediagen_main("resume", "--output", "again", "--json", cwd=tmp_path, base_env=env)
        assert resumed.returncode == 1  # one item could not be finished
        states = sorted(json.loads(line)["state"] for line in resumed.stdout.splitlines())
        assert states == ["succeeded", "unknown"]
        assert journal.get(cut).state == "unknown"
        # Fetched again into the folder the run named (journaled), not resume's --output.
        assert [p.name for p in (tmp_path / "first").iterdir()] == [first_file.name]
        assert not (tmp_path / "again").exists()  # nothing went there, not even the folder
        assert len(emu.requests_for("mediaio", "submit")) == 1
        assert emu.requests_for("tomoviee", "submit") == []


def test_resume_leaves_the_entries_of_a_live_process_alone(
    tmp_path: Path, cli_zygote: Zygote
) -> None:
    """`resume` in another process (forked: cli_zygote) finds this one's entry and leaves it."""
    journal_path = tmp_path / "journal.sqlite3"
    journal = Journal(journal_path)
    mine = journal.record_intent(
        "mediaio", "imagen_4", {"prompt": "x"}, state="planned"
    )  # this process
    with EmulatorThread(duration=0.1) as emu:
        env = env_for(emu.base_urls, journal_path)
        resumed = cli_zygote.run("resume", "--json", cwd=tmp_path, env=env, timeout=60)
        assert resumed.returncode == 0, resumed.stderr  # left to its owner: not a failure
        assert json.loads(resumed.stdout)["state"] == "skipped"
        assert journal.get(mine).state == "planned"  # still ours: not claimed, not submitted
        assert emu.requests == []
        journal._set(mine, owner=dead_owner())
        again = mediagen_main("resume", "--json", cwd=tmp_path, base_env=env)  # a dead owner's
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["state"] == "succeeded"
        assert len(emu.requests_for("mediaio", "submit")) == 1
