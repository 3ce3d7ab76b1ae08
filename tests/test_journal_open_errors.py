"""A journal path that cannot be opened is a configuration mistake: one clear error naming the
path, what went wrong and what is allowed, raised before any request (found by an outside-user
trial: the CLI printed a bare `[Errno 2] ...` or `unable to open database file`, exit 1, and
`--json` named a `FileNotFoundError`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import mediagen_main

import mediagen
from mediagen.errors import ConfigurationError
from mediagen.testing import EMULATOR_CREDENTIALS, EmulatorThread


def bad_journals(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each kind of unusable path, with the reason its error must give."""
    not_sqlite = tmp_path / "notes.sqlite3"
    not_sqlite.write_bytes(b"not a database " * 512)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    return {
        "missing folder under a file": (blocker / "journal.sqlite3", f"File exists ({blocker})"),
        "a folder": (tmp_path, "unable to open database file"),
        "not SQLite": (not_sqlite, "file is not a database"),
    }


@pytest.mark.parametrize("kind", ["missing folder under a file", "a folder", "not SQLite"])
def test_the_client_names_the_journal_and_what_is_allowed(tmp_path: Path, kind: str) -> None:
    path, reason = bad_journals(tmp_path)[kind]
    with pytest.raises(ConfigurationError) as info:
        mediagen.Client(journal=path, credentials=EMULATOR_CREDENTIALS)
    message = str(info.value)
    assert message.startswith(f"cannot open the task journal {path}: {reason};"), message
    assert "MEDIAGEN_JOURNAL" in message and "off" in message


def test_the_cli_reports_it_in_one_line_exit_2_and_sends_nothing(tmp_path: Path) -> None:
    path, reason = bad_journals(tmp_path)["not SQLite"]
    with EmulatorThread() as emulator:
        env = {
            "MEDIAGEN_JOURNAL": str(path),
            "MEDIAGEN_MEDIAIO_BASE_URL": emulator.base_urls["mediaio"],
            "MEDIAIO_API_KEY": EMULATOR_CREDENTIALS["mediaio"]["api_key"],
        }
        out = mediagen_main("run", "mediaio", "imagen_4", "prompt=x", cwd=tmp_path, env=env)
        as_json = mediagen_main(
            "run", "mediaio", "imagen_4", "prompt=x", "--json", cwd=tmp_path, env=env
        )
        sent = list(emulator.requests)
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert f"cannot open the task journal {path}: {reason}" in line
    assert as_json.returncode == 2
    assert '"ConfigurationError"' in as_json.stdout + as_json.stderr
    assert sent == []
