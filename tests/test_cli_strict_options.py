"""Options are spelled out in full, and a journal that is not there is said to be missing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import install_editable, mediagen_main

ACME_ROOT = Path(__file__).resolve().parent / "plugins" / "acme"


@pytest.mark.parametrize(
    "args",
    [
        ("run", "mediaio", "imagen_4", "prompt=a cat", "--emulat"),
        ("tasks", "--unfinish"),
        ("list", "--jso"),
    ],
)
def test_an_abbreviated_option_is_a_usage_error_naming_it(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    done = mediagen_main(*args, cwd=tmp_path, env={"MEDIAGEN_JOURNAL": str(tmp_path / "j.sqlite3")})
    assert done.returncode == 2
    assert f"unrecognized arguments: {args[-1]}" in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "j.sqlite3").exists()  # refused before anything ran


def test_tasks_on_a_journal_that_is_not_there_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "tasks.sqlite3"
    done = mediagen_main("tasks", "--journal", str(missing), cwd=tmp_path)
    assert done.returncode == 0  # an empty journal is not an error: nothing has run yet
    assert (
        done.stdout.strip()
        == f"no tasks in {missing}: no journal there yet (nothing has been recorded in it)"
    )
    assert not missing.parent.exists()  # listing creates nothing
    as_json = mediagen_main("tasks", "--journal", str(missing), "--json", cwd=tmp_path)
    assert (as_json.returncode, as_json.stdout.strip()) == (0, "[]")


def test_an_in_process_run_sees_the_plugins_its_own_environment_allows(tmp_path: Path) -> None:
    """`mediagen_main` stands for a process: a run without the allow-list loads every installed
    plugin, and the next run, with the suite's empty allow-list, must not inherit them."""
    install_editable(ACME_ROOT, "mediagen-acme")
    everything = {k: v for k, v in os.environ.items() if k != "MEDIAGEN_PLUGINS"}
    listed = mediagen_main("plugins", "--json", cwd=tmp_path, base_env=everything)
    assert listed.returncode == 0, listed.stderr
    assert "acme" in {p for d in json.loads(listed.stdout)["plugins"] for p in d["providers"]}
    out = mediagen_main("list", "nope", cwd=tmp_path)
    assert (
        out.stderr.strip()
        == "mediagen: error: no provider 'nope'; known: edrawmax, mediaio, tomoviee"
    )
