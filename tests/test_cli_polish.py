"""Issue 12: what a new user hit in the first hour, each item run the way a person runs it."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from fcntl import ioctl
from pathlib import Path

import pytest
from helpers import default_sigint, mediagen_main

import mediagen
from mediagen.errors import GenerationFailedError, ParamError
from mediagen.generated.mediaio import models as mediaio
from mediagen.generated.tomoviee import models as tomoviee_models
from mediagen.hosts import base_url_env
from mediagen.registry import Registry
from mediagen.testing import EMULATOR_CREDENTIALS, Emulator, EmulatorThread, Fault

pytestmark = pytest.mark.usefixtures("loopback_children")  # children skip the CA bundle

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def mediagen_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI's `main()` in this process (as a person runs it, minus the interpreter's
    start-up): its exit status, stdout and stderr, in a clean environment plus `env`."""
    return mediagen_main(*args, cwd=cwd, env=env, base_env=_no_credentials())


def _no_credentials(environ: dict[str, str] | None = None) -> dict[str, str]:
    return {
        k: v
        for k, v in (os.environ if environ is None else environ).items()
        if k not in ("API_KEY", "MEDIAIO_API_KEY", "TOMOVIEE_APP_KEY", "TOMOVIEE_APP_SECRET")
        and not k.startswith("MEDIAGEN_")
    }


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[tuple[Emulator, dict[str, str]]]:
    """An emulator, and the environment `mediagen emulate` would have us export."""
    with EmulatorThread(duration=0.6) as emulator:
        env = {base_url_env(p): url for p, url in emulator.base_urls.items()}
        env["MEDIAIO_API_KEY"] = EMULATOR_CREDENTIALS["mediaio"]["api_key"]
        env["TOMOVIEE_APP_KEY"] = EMULATOR_CREDENTIALS["tomoviee"]["app_key"]
        env["TOMOVIEE_APP_SECRET"] = EMULATOR_CREDENTIALS["tomoviee"]["app_secret"]
        env["MEDIAGEN_JOURNAL"] = str(tmp_path / "journal.sqlite3")
        yield emulator, env


def journal_rows(path: Path) -> list[sqlite3.Row]:
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return list(db.execute("SELECT * FROM tasks ORDER BY id"))
    finally:
        db.close()


# -- 1. the progress display --------------------------------------------------------------------


def run_in_terminal(args: list[str], cwd: Path, *, columns: int = 80) -> str:
    """Run the CLI on a pseudo-terminal of `columns` columns; everything it drew."""
    main, child = pty.openpty()
    ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in _no_credentials().items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediagen", *args],
        cwd=cwd,
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        close_fds=True,
    )
    os.close(child)
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1)
        if ready:
            try:
                data = os.read(main, 65536)
            except OSError:  # EIO: the child side is closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(main)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_the_demo_progress_fits_an_80_column_terminal_one_line_per_task(tmp_path: Path) -> None:
    drawn = run_in_terminal(["demo", "--output", "out"], tmp_path, columns=80)
    screen_lines = [ANSI.sub("", part) for part in re.split(r"[\r\n]", drawn)]
    labels = ("mediaio.imagen_4", "tomoviee.text_to_video", "edrawmax.flowchart")
    rows = [line for line in screen_lines if line.startswith(labels) and "s]" in line]
    assert rows and all(len(row) <= 80 for row in rows), max(rows, key=len)
    # One row per task (never two tasks on a line), and a clock that ticks between polls.
    assert all(sum(label in row for label in labels) == 1 for row in rows)
    clock = {
        m.group(1)
        for row in rows
        if row.startswith(labels[1])
        for m in [re.search(r"\[(\d+\.\d)s\]", row)]
        if m
    }
    assert len(clock) >= 3, rows
    assert "All artifacts are in" in drawn


def test_progress_is_plain_lines_when_not_a_terminal(tmp_path: Path) -> None:
    out = mediagen_cli("run", "tomoviee", "text_to_video", "prompt=x", "--emulate", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "\r" not in out.stderr and "\x1b" not in out.stderr
    lines = out.stderr.splitlines()
    assert lines[0].startswith("tomoviee.text_to_video: queued [")
    assert re.fullmatch(r"tomoviee\.text_to_video: succeeded \[\d+\.\ds\]", lines[-1])


# -- 2. pipes -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["list", "--json"], ["tasks", "--json"]])
def test_a_closed_pipe_ends_quietly(command: list[str], tmp_path: Path) -> None:
    env = {**_no_credentials(), "MEDIAGEN_JOURNAL": str(tmp_path / "j.sqlite3")}
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written (`| head -0`)
    proc = subprocess.run(
        [sys.executable, "-m", "mediagen", *command],
        cwd=tmp_path,
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=60,
    )
    os.close(write)
    assert proc.returncode == 0 and proc.stderr == ""


# -- 3. one --json contract -------------------------------------------------------------------

ERROR_KEYS = {"type", "message", "provider", "operation", "task_id", "code", "status", "trace_id"}


def test_a_failed_run_json_carries_the_error_object(
    emu: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    emulator, env = emu
    emulator.set_outcome("mediaio.imagen_4", "failed", reason="nsfw")
    out = mediagen_cli("run", "mediaio", "imagen_4", "prompt=x", "--json", cwd=tmp_path, env=env)
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["state"] == "failed" and set(doc["error"]) == ERROR_KEYS
    assert doc["error"]["type"] == "GenerationFailedError"
    assert doc["error"]["task_id"] == doc["task_id"] and "nsfw" in doc["error"]["message"]
    assert (doc["error"]["provider"], doc["error"]["operation"]) == ("mediaio", "imagen_4")


def test_a_refused_submit_is_rejected_in_run_batch_and_tasks_alike(
    emu: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    emulator, env = emu
    emulator.inject(Fault("status", provider="mediaio", phase="submit", status=401, times=2))
    run = mediagen_cli("run", "mediaio", "imagen_4", "prompt=x", "--json", cwd=tmp_path, env=env)
    batch_file = tmp_path / "b.jsonl"
    batch_file.write_text(
        json.dumps({"provider": "mediaio", "operation": "imagen_4", "params": {"prompt": "y"}})
        + "\n",
        encoding="utf-8",
    )
    batch = mediagen_cli("batch", str(batch_file), "--json", cwd=tmp_path, env=env)
    tasks = mediagen_cli("tasks", "--json", cwd=tmp_path, env=env)
    run_doc, batch_doc = json.loads(run.stdout), json.loads(batch.stdout)
    assert run_doc["state"] == batch_doc["state"] == "rejected"
    assert [t["state"] for t in json.loads(tasks.stdout)] == ["rejected", "rejected"]
    # The same error object in both, with the vendor's code.
    assert set(run_doc["error"]) == set(batch_doc["error"]) == ERROR_KEYS
    assert run_doc["error"]["type"] == batch_doc["error"]["type"] == "AuthenticationError"
    assert run_doc["error"]["status"] == 401


def test_errors_before_the_network_still_print_one_json_object(tmp_path: Path) -> None:
    for args in (
        ["run", "mediaio", "imagen_4", "--json"],  # a missing parameter
        ["run", "mediaio", "imagen_4", "prompt=x", "--json"],  # no credentials
        ["list", "nope", "--json"],
        ["describe", "mediaio", "nope", "--json"],
        ["wait", "mediaio", "credits", "abc", "--json"],
    ):
        out = mediagen_cli(*args, cwd=tmp_path)
        assert out.returncode == 2, args
        (line,) = out.stdout.splitlines()
        doc = json.loads(line)
        assert set(doc["error"]) == ERROR_KEYS and doc["error"]["message"], args
        if args[0] == "run":  # refused before a task existed
            assert doc["state"] == "rejected" and doc["artifacts"] == []
        if args[0] == "wait":  # the task's state is not known: the vendor was not asked
            assert doc["state"] is None and doc["task_id"] == "abc"


def test_what_argparse_refuses_is_one_line_and_one_json_object_too(tmp_path: Path) -> None:
    """A bad option value or choice (argparse's own checks) keeps the promises of every other
    mistake caught before the network: exit 2, one line on stderr naming what is wrong and
    where to see what is allowed, and under --json one object with an `error`."""
    for args, wrong in (
        (
            ["run", "mediaio", "imagen_4", "prompt=x", "--timeout", "abc", "--emulate", "--json"],
            "argument --timeout: invalid float value: 'abc'",
        ),
        (["tasks", "--state", "bogus", "--json"], "argument --state: invalid choice: 'bogus'"),
    ):
        out = mediagen_cli(*args, cwd=tmp_path)
        assert out.returncode == 2, args
        (line,) = out.stderr.splitlines()
        assert line.startswith(f"mediagen: error: {wrong}"), line
        assert f"`mediagen {args[0]} --help` shows what is allowed" in line
        (doc,) = [json.loads(line) for line in out.stdout.splitlines()]
        assert set(doc["error"]) == ERROR_KEYS
        assert doc["error"]["type"] == "UsageError" and wrong in doc["error"]["message"]
    without_json = mediagen_cli("tasks", "--state", "bogus", cwd=tmp_path)
    assert without_json.returncode == 2 and without_json.stdout == ""
    assert len(without_json.stderr.splitlines()) == 1


# -- 4. describe and list read as text ------------------------------------------------------------


def test_describe_shows_limits_as_text_and_bookkeeping_only_when_verbose(tmp_path: Path) -> None:
    out = mediagen_cli("describe", "mediaio", "nano_banana", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "file size: up to 20 MB" in out.stdout
    assert "{'" not in out.stdout and "['" not in out.stdout  # no Python reprs
    assert "source:" not in out.stdout and "c_api_doc_detail.json" not in out.stdout
    verbose = mediagen_cli("describe", "mediaio.nano_banana", "--verbose", cwd=tmp_path)
    assert "source: c_api_doc_detail.json" in verbose.stdout


# -- 5. nothing paid before what can fail is checked ------------------------------------------------


def test_what_would_fail_after_paying_is_refused_before_the_submit(
    emu: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    emulator, env = emu
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    cases = {
        "--output a-file": (["--output", str(blocker)], "it is a file"),
        "--output a-file/sub": (["--output", str(blocker / "sub")], f"{blocker} is a file"),
        "--output /proc/x": (["--output", "/proc/x/out"], "cannot write there"),
        "--timeout 0": (["--timeout", "0"], "allowed: a number of seconds above 0"),
        "--timeout -1": (["--timeout=-1"], "allowed: a number of seconds above 0"),
    }
    for name, (options, message) in cases.items():
        out = mediagen_cli(
            "run", "mediaio", "imagen_4", "prompt=x", *options, cwd=tmp_path, env=env
        )
        assert out.returncode == 2 and message in out.stderr, (name, out.stderr)
        assert len(out.stderr.splitlines()) == 1, name
    no_wait = mediagen_cli(
        "run", "mediaio", "imagen_4", "prompt=x", "--emulate", "--no-wait", cwd=tmp_path
    )
    assert no_wait.returncode == 2 and "--no-wait with --emulate" in no_wait.stderr
    assert emulator.requests_for("mediaio", "submit") == []
    assert journal_rows(Path(env["MEDIAGEN_JOURNAL"])) == []


def test_an_output_folder_is_created_by_the_download_not_by_a_command_that_fails(
    emu: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    _, env = emu
    failed = mediagen_cli(
        "wait", "mediaio", "imagen_4", "no-such-task", "--output", "never", cwd=tmp_path, env=env
    )
    assert failed.returncode == 1 and "Task not found" in failed.stderr, failed.stderr
    assert not (tmp_path / "never").exists()
    done = mediagen_cli(
        "run", "mediaio", "imagen_4", "prompt=x", "--output", "new/deeper", cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    assert [p.suffix for p in (tmp_path / "new" / "deeper").iterdir()] == [".png"]


def test_batch_without_credentials_fails_once_before_anything_is_journaled(tmp_path: Path) -> None:
    batch_file = tmp_path / "b.jsonl"
    batch_file.write_text(
        "".join(
            json.dumps({"provider": p, "operation": o, "params": {"prompt": "x"}}) + "\n"
            for p, o in [("mediaio", "imagen_4"), ("tomoviee", "text_to_video")] * 3
        ),
        encoding="utf-8",
    )
    journal = tmp_path / "j.sqlite3"
    out = mediagen_cli(
        "batch", str(batch_file), cwd=tmp_path, env={"MEDIAGEN_JOURNAL": str(journal)}
    )
    assert out.returncode == 2
    (line,) = out.stderr.splitlines()
    assert "set MEDIAIO_API_KEY or API_KEY for mediaio" in line
    assert "set TOMOVIEE_APP_KEY and TOMOVIEE_APP_SECRET for tomoviee" in line
    assert journal_rows(journal) == []


def test_run_json_names_the_provider_and_operation_a_credential_is_missing_for(
    tmp_path: Path,
) -> None:
    out = mediagen_cli("run", "tomoviee.text_to_video", "prompt=x", "--json", cwd=tmp_path)
    assert out.returncode == 2
    doc = json.loads(out.stdout)
    assert doc["state"] == "rejected" and doc["task_id"] is None
    error = doc["error"]
    assert error["type"] == "MissingCredentialError"
    assert (error["provider"], error["operation"]) == ("tomoviee", "text_to_video")
    assert "set TOMOVIEE_APP_KEY and TOMOVIEE_APP_SECRET for tomoviee" in error["message"]
    # Two providers (a batch): no one provider to name.
    batch_file = tmp_path / "b.jsonl"
    batch_file.write_text(
        "".join(
            json.dumps({"provider": p, "operation": o, "params": {"prompt": "x"}}) + "\n"
            for p, o in [("mediaio", "imagen_4"), ("tomoviee", "text_to_video")]
        ),
        encoding="utf-8",
    )
    both = mediagen_cli("batch", str(batch_file), "--json", cwd=tmp_path)
    assert both.returncode == 2
    error = json.loads(both.stdout)["error"]
    assert error["type"] == "MissingCredentialError" and error["provider"] is None


# -- 6. URL parameters ------------------------------------------------------------------------


def test_parameters_documented_as_urls_must_be_urls(tmp_path: Path) -> None:
    out = mediagen_cli(
        "run",
        "mediaio",
        "nano_banana",
        "prompt=x",
        "images=a.png",
        "images=b.png",
        "--emulate",
        cwd=tmp_path,
    )
    assert out.returncode == 2
    assert "images[0]='a.png' is not a URL" in out.stderr and "upload the file" in out.stderr
    for value in ("ftp://x.test/a.png", "http://example.com/a.png", "/tmp/a.png"):
        with pytest.raises(ParamError, match="allowed: an https URL"):
            tomoviee_models.ImageToVideoParams(prompt="p", image=value)
    # The emulator serves its files on loopback over http: accepted.
    ok = mediagen_cli(
        "run",
        "tomoviee",
        "image_recognition",
        "image=http://127.0.0.1:9/a.png",
        "--emulate",
        "--json",
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr


# -- 7. wrong types, repeated keys, empty values, bad counts ----------------------------------------


def test_a_wrong_type_names_the_type() -> None:
    with pytest.raises(ParamError) as info:
        mediaio.Imagen4Params(prompt="x", counts=2)  # type: ignore[arg-type]
    assert "counts=2 is an integer, not a string" in str(info.value)


def test_repeated_keys_empty_values_and_zero_concurrency_are_refused(tmp_path: Path) -> None:
    twice = mediagen_cli(
        "run", "mediaio", "imagen_4", "prompt=x", "prompt=y", "--emulate", cwd=tmp_path
    )
    assert twice.returncode == 2 and "prompt is given twice" in twice.stderr
    empty = mediagen_cli("run", "mediaio", "imagen_4", "prompt=", "--emulate", cwd=tmp_path)
    assert empty.returncode == 2 and "the required parameter prompt is empty" in empty.stderr
    no_images = mediagen_cli(
        "run", "mediaio", "nano_banana", "prompt=x", "images=[]", "--emulate", cwd=tmp_path
    )
    assert no_images.returncode == 2
    assert "the required parameter images is empty" in no_images.stderr
    assert "a list of one or more items" in no_images.stderr
    (tmp_path / "b.jsonl").write_text("{}\n", encoding="utf-8")
    for command in (["batch", "b.jsonl"], ["resume"]):
        zero = mediagen_cli(*command, "--concurrency", "0", cwd=tmp_path)
        assert (
            zero.returncode == 2
            and "--concurrency 0; allowed: a whole number of 1 or more" in zero.stderr
        )


def test_an_unknown_plugin_name_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MEDIAGEN_PLUGINS", "no-such-plugin")
    Registry()
    assert "MEDIAGEN_PLUGINS names 'no-such-plugin', not an installed mediagen plugin" in (
        caplog.text
    )


# -- 8. interrupts and our own timeout ---------------------------------------------------------


def test_our_timeout_names_the_task_and_the_command_to_continue(
    emu: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    emulator, env = emu
    emulator.durations["tomoviee.text_to_video"] = 60
    out = mediagen_cli(
        "run",
        "tomoviee",
        "text_to_video",
        "prompt=x",
        "--timeout",
        "0.2",
        "--json",
        cwd=tmp_path,
        env=env,
    )
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    task_id = doc["task_id"]
    assert doc["state"] == "queued" and doc["error"]["type"] == "TaskTimeoutError"
    assert "unknown" not in out.stderr and "still queued" in out.stderr
    assert "safe in the journal" in out.stderr
    assert f"mediagen wait tomoviee text_to_video {task_id} --json" in out.stderr


def test_ctrl_c_names_the_task_and_the_command_to_continue(
    emu: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    emulator, env = emu
    emulator.durations["tomoviee.text_to_video"] = 60
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediagen", "run", "tomoviee", "text_to_video", "prompt=x"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**_no_credentials(), **env},
        preexec_fn=default_sigint,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the first progress line: the task is submitted
    while "queued" not in line and line:
        line = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert len(emulator.requests_for("tomoviee", "submit")) == 1
    (task,) = journal_rows(Path(env["MEDIAGEN_JOURNAL"]))
    assert task["state"] == "queued"
    message = stderr.strip().splitlines()[-1]
    assert message.startswith(f"mediagen: interrupted; task {task['task_id']} goes on")
    assert "safe in the journal" in message
    assert message.endswith(f"mediagen wait tomoviee text_to_video {task['task_id']}")


# -- 9. resume downloads what was asked for, where it was asked ----------------------------------


def test_resume_downloads_into_the_folder_the_command_named(
    emu: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    _, env = emu
    first, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    first.mkdir()
    elsewhere.mkdir()
    stopped = mediagen_cli(
        "run",
        "mediaio",
        "imagen_4",
        "prompt=x",
        "--output",
        "pics",
        "--timeout",
        "0.1",
        cwd=first,
        env=env,
    )
    assert stopped.returncode == 1, stopped.stderr
    # A library call that never asked for files.
    os.environ.update(env)
    try:
        with mediagen.Client() as client:
            client.mediaio.imagen_4(prompt="library")
    finally:
        for key in env:
            os.environ.pop(key, None)
    resumed = mediagen_cli("resume", cwd=elsewhere, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert [p.suffix for p in (first / "pics").iterdir()] == [".png"]
    assert not (elsewhere / "mediagen-output").exists()
    assert f"files are in: {first / 'pics'}" in resumed.stdout


# -- 10. wait and tasks ---------------------------------------------------------------------


def test_a_batch_run_again_lists_its_files_as_the_first_run_did(
    emu: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    _, env = emu
    batch_file = tmp_path / "b.jsonl"
    batch_file.write_text(
        json.dumps({"provider": "mediaio", "operation": "imagen_4", "params": {"prompt": "x"}})
        + "\n",
        encoding="utf-8",
    )
    first = mediagen_cli("batch", "b.jsonl", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    again = mediagen_cli("batch", "b.jsonl", cwd=tmp_path, env=env)  # done: from the journal
    assert again.returncode == 0, again.stderr
    listed = [line.strip() for line in first.stdout.splitlines() if line.startswith("      ")]
    assert len(listed) == 1 and listed[0].startswith("mediagen-output/"), first.stdout
    assert again.stdout == first.stdout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    away = mediagen_cli("batch", str(batch_file), cwd=elsewhere, env=env)
    assert f"      {tmp_path / listed[0]}" in away.stdout.splitlines()  # not under the cwd


def test_wait_with_a_mistyped_id_leaves_no_journal_row(
    emu: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    _, env = emu
    out = mediagen_cli("wait", "mediaio", "imagen_4", "deadbeef", cwd=tmp_path, env=env)
    assert out.returncode == 1 and "Task not found (task deadbeef," in out.stderr
    assert "not found: task not found" not in out.stderr.lower()  # said once
    assert journal_rows(Path(env["MEDIAGEN_JOURNAL"])) == []


def test_tasks_limit_and_iso_times(emu: tuple[Emulator, dict[str, str]], tmp_path: Path) -> None:
    _, env = emu
    for prompt in ("a", "b", "c"):
        mediagen_cli("run", "edrawmax", "flowchart", f"prompt={prompt}", cwd=tmp_path, env=env)
    out = mediagen_cli("tasks", "--json", "--limit", "2", cwd=tmp_path, env=env)
    rows = json.loads(out.stdout)
    assert len(rows) == 2 and rows[-1]["id"] == 3
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", rows[0]["created_at"])
    bad = mediagen_cli("tasks", "--limit", "0", cwd=tmp_path, env=env)
    assert bad.returncode == 2


# -- 11. help and names ------------------------------------------------------------------------


def test_version_help_and_names_that_paste_back(tmp_path: Path) -> None:
    version = mediagen_cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and re.fullmatch(r"mediagen \d+\.\d+\.\d+\n", version.stdout)
    bare = mediagen_cli(cwd=tmp_path)
    assert bare.returncode == 0 and bare.stdout.startswith("usage: mediagen")
    assert "MEDIAIO_API_KEY" in bare.stdout and "examples:" in bare.stdout
    op_help = mediagen_cli("run", "mediaio", "imagen_4", "--help", cwd=tmp_path)
    assert op_help.returncode == 0
    assert (
        "ratio=  (string; optional; one of 9:16, 16:9, 1:1, 4:3, 3:4; default 9:16)"
        in op_help.stdout
    )
    dotted = mediagen_cli(
        "run", "mediaio.imagen_4", "prompt=x", "--emulate", "--json", cwd=tmp_path
    )
    assert dotted.returncode == 0 and json.loads(dotted.stdout)["state"] == "succeeded"
    typo = mediagen_cli("describe", "mediaio.imagen4", cwd=tmp_path)
    assert typo.returncode == 2 and "did you mean imagen_4?" in typo.stderr


# -- 12. messages read as English ------------------------------------------------------------------


def test_messages_read_as_english(tmp_path: Path) -> None:
    missing = mediagen_cli("run", "mediaio", "imagen_4", "--emulate", cwd=tmp_path)
    assert missing.stderr.strip() == (
        "mediagen: error: mediaio.imagen_4: missing the required parameter prompt"
    )
    not_pair = mediagen_cli("run", "mediaio", "imagen_4", "prompt", "--emulate", cwd=tmp_path)
    assert "the argument 'prompt' has no key=value form" in not_pair.stderr
    with pytest.raises(ParamError, match=r"allowed: a list of strings$"):
        mediaio.NanoBananaParams(images=[1], prompt="p")  # type: ignore[list-item]
    tomoviee = mediagen_cli("run", "tomoviee", "text_to_video", "prompt=x", cwd=tmp_path)
    assert "set TOMOVIEE_APP_KEY and TOMOVIEE_APP_SECRET for tomoviee" in tomoviee.stderr
    assert "credentials={" not in tomoviee.stderr


# -- 13. the emulator ----------------------------------------------------------------------


def test_emulate_refuses_a_bad_port_and_explains_a_busy_one(tmp_path: Path) -> None:
    bad = mediagen_cli("emulate", "--port", "80000", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip() == (
        "mediagen: error: --port 80000; allowed: 1..65535, or 0 for any free port"
    )
    with EmulatorThread() as running:
        busy = mediagen_cli("emulate", "--port", str(running.port), cwd=tmp_path)
    assert busy.returncode == 2 and "is in use" in busy.stderr and "--port 0" in busy.stderr


def test_emulate_on_all_interfaces_prints_exports_the_client_accepts(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediagen", "emulate", "--host", "0.0.0.0", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    exports = dict(line.split()[1].split("=", 1) for line in lines if "_BASE_URL=" in line)
    assert len(exports) == 3
    os.environ.update(exports)
    try:
        repr(mediagen.AsyncClient(journal=False))  # resolving them raises if refused
        for url in exports.values():
            assert url.startswith("http://127.0.0.1:")
    finally:
        for key in exports:
            os.environ.pop(key, None)


def test_the_emulator_honours_counts_qty_and_mediaio_failure_reasons() -> None:
    with (
        EmulatorThread(duration=0.1) as emulator,
        mediagen.Client(**emulator.client_options()) as client,
    ):
        assert len(client.mediaio.imagen_4(prompt="x", counts="3").wait().artifacts) == 3
        music = client.tomoviee.text_to_music(prompt="x", duration=10, qty=2).wait()
        assert len(music.artifacts) == 2
        emulator.set_outcome("mediaio.imagen_4", "failed", reason="nsfw content")
        with pytest.raises(GenerationFailedError, match="nsfw content"):
            client.mediaio.imagen_4(prompt="x").wait()


# -- 14. reprs ------------------------------------------------------------------------------


def test_reprs_say_what_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    with EmulatorThread(duration=5) as emulator:
        for provider, url in emulator.base_urls.items():
            monkeypatch.setenv(base_url_env(provider), url)
        client = mediagen.Client(credentials=emulator.credentials, journal=False)
        with client:
            assert f"'mediaio': '{emulator.base_urls['mediaio']}'" in repr(client)
            task = client.mediaio.imagen_4(prompt="x")
            assert repr(task).endswith(" queued>")


def test_an_http_status_repeated_as_the_vendor_code_is_said_once() -> None:
    error = mediagen.errors.NotFoundError(
        "task not found", task_id="deadbeef", status=404, code=404
    )
    assert "(task deadbeef, HTTP 404)" in str(error)
    other = mediagen.errors.NotFoundError("task not found", status=200, code=40003)
    assert "(HTTP 200, vendor code 40003)" in str(other)
