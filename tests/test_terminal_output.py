"""Vendor text with terminal escape sequences never reaches the terminal raw.

A task id, a failure reason or an error message may hold ESC sequences (retitle the window,
clear the screen), BEL, C1 controls or lone surrogates. The CLI shows them as visible
escapes, keeps --json valid JSON, and does not crash printing them.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediagen.cli import main
from mediagen.cli.common import json_text, printable
from mediagen.cli.progress import Progress
from mediagen.testing import EMULATOR_CREDENTIALS, Emulator, EmulatorThread, Fault

HOSTILE = "id-\x1b]0;pwned\x07-\x1b[2J-\x9b31m-\x7f-\x85-\u202edne\u2066-\u061c-end"
# Everything a terminal may act on, except the newline that ends our lines; and the bidi
# controls, which reorder what follows them (RIGHT-TO-LEFT OVERRIDE makes "dne" read "end").
RAW_CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def assert_safe(label: str, text: str) -> None:
    found = RAW_CONTROL.search(text)
    assert found is None, f"raw control {found.group()!r} in {label}: {text!r}"
    text.encode("utf-8")  # no lone surrogate: it could not have been printed anyway


def test_printable_escapes_controls_and_keeps_ordinary_text() -> None:
    assert printable("café 日本 ok/\\path") == "café 日本 ok/\\path"
    assert printable("a\x1b[2Jb\x07c\x9bd\x7fe\nf\tg") == "a\\x1b[2Jb\\x07c\\x9bd\\x7fe\\x0af\\x09g"
    assert printable("x\ud800y") == "x\\ud800y"
    assert printable("a\u202eb\u200fc\u2069d\u061ce") == "a\\u202eb\\u200fc\\u2069d\\u061ce"
    assert printable(3) == "3"


def test_json_text_stays_valid_json_with_every_control_escaped() -> None:
    value = {"task_id": HOSTILE, "reason": "bad \ud800 half", "text": "café 日本"}
    text = json_text(value)
    assert_safe("json_text", text)
    assert json.loads(text) == value  # the same data, lone surrogate included
    assert "café 日本" in text  # non-ASCII stays readable


@pytest.mark.parametrize("live", [False, True])
def test_the_progress_line_escapes_what_it_shows(live: bool) -> None:
    stream = io.StringIO()
    progress = Progress(stream, enabled=True, live=live)
    progress.add(HOSTILE, HOSTILE)
    progress.close()
    drawn = stream.getvalue()
    assert "\\x1b" in drawn
    assert_safe(
        "the progress line",
        drawn.replace("\r", "").replace("\x1b[?25l", "").replace("\x1b[?25h", ""),
    )


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    with EmulatorThread(duration=0.0) as emu:
        monkeypatch.setenv("MEDIAGEN_JOURNAL", str(tmp_path / "tasks.sqlite3"))
        monkeypatch.setenv("MEDIAIO_API_KEY", EMULATOR_CREDENTIALS["mediaio"]["api_key"])
        monkeypatch.setenv("TOMOVIEE_APP_KEY", EMULATOR_CREDENTIALS["tomoviee"]["app_key"])
        monkeypatch.setenv("TOMOVIEE_APP_SECRET", EMULATOR_CREDENTIALS["tomoviee"]["app_secret"])
        for provider, url in emu.base_urls.items():
            monkeypatch.setenv(f"MEDIAGEN_{provider.upper()}_BASE_URL", url)
        monkeypatch.chdir(tmp_path)
        yield emu


RECOGNITION = ["tomoviee", "image_recognition", "image=https://x.test/a.png"]


def test_a_hostile_task_id_in_run_no_wait_tasks_and_wait(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    for suffix in ("", "-json"):  # two tasks: the journal keeps task ids unique
        emulator.inject(
            Fault(
                "echo",
                provider="tomoviee",
                phase="submit",
                fields=("data.task_id",),
                message=HOSTILE + suffix,
            )
        )
    assert main(["run", *RECOGNITION, "--no-wait"]) == 0
    run = capsys.readouterr()
    assert "\\x1b]0;pwned\\x07" in run.out  # shown, as visible escapes
    assert "\\u202edne\\u2066" in run.out
    assert_safe("run --no-wait stdout", run.out)
    assert_safe("run --no-wait stderr", run.err)

    assert main(["run", *RECOGNITION, "--no-wait", "--json"]) == 0
    doc = capsys.readouterr().out
    assert_safe("run --no-wait --json", doc)
    assert json.loads(doc)["task_id"] == HOSTILE + "-json"

    assert main(["tasks"]) == 0
    table = capsys.readouterr().out
    assert table.count("\\x1b[2J") == table.count("\\u202e") == 2
    assert_safe("tasks", table)

    # The emulator does not know the id it made up: the error names the task. (An hour old, so
    # "not found" is no longer the vendor's lag: the wait fails at once.)
    with sqlite3.connect(os.environ["MEDIAGEN_JOURNAL"]) as db:
        db.execute("UPDATE tasks SET updated_at = updated_at - 3600")
    assert main(["wait", "tomoviee", "image_recognition", HOSTILE]) == 1
    waited = capsys.readouterr()
    assert "\\x9b31m" in waited.err
    assert_safe("wait stderr", waited.out + waited.err)


def test_a_hostile_failure_reason_in_run_wait_json_and_tasks(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.set_outcome("tomoviee.image_recognition", "failed", reason=HOSTILE)
    assert main(["run", *RECOGNITION]) == 1
    run = capsys.readouterr()
    assert "the task failed: id-\\x1b]0;pwned\\x07" in run.err
    assert_safe("run", run.out + run.err)

    # --json, and a lone surrogate in the reason: valid JSON, and nothing crashes.
    emulator.set_outcome("tomoviee.image_recognition", "failed", reason=HOSTILE + " \ud800")
    assert main(["run", *RECOGNITION, "--no-wait", "--json"]) == 0
    task_id = json.loads(capsys.readouterr().out)["task_id"]
    assert main(["wait", "tomoviee", "image_recognition", task_id, "--json"]) == 1
    waited = capsys.readouterr()
    assert json.loads(waited.out)["raw"]["reason"] == HOSTILE + " \ud800"
    assert "\\ud800" in waited.err
    assert_safe("wait --json", waited.out + waited.err)

    assert main(["tasks"]) == 0
    table = capsys.readouterr().out
    assert "\\x1b]0;pwned" in table
    assert_safe("tasks", table)
