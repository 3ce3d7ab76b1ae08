"""Options are spelled out in full, and a journal that is not there is said to be missing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import TASK_SECONDS, install_editable, mediagen_main

from mediagen.hosts import base_url_env
from mediagen.testing import EMULATOR_CREDENTIALS, EmulatorThread

ACME_ROOT = Path(__file__).resolve().parent / "plugins" / "acme"


@pytest.mark.parametrize(
    ("args", "meant"),
    [
        (("run", "mediaio", "imagen_4", "prompt=a cat", "--emulat"), "--emulate"),
        (("tasks", "--unfinish"), "--unfinished"),
        (("list", "--jso"), "--json"),
    ],
)
def test_an_abbreviated_option_is_a_usage_error_naming_it(
    args: tuple[str, ...], meant: str, tmp_path: Path
) -> None:
    done = mediagen_main(*args, cwd=tmp_path, env={"MEDIAGEN_JOURNAL": str(tmp_path / "j.sqlite3")})
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"mediagen: error: unrecognized argument {args[-1]}: did you mean {meant}?"
        f" (`mediagen {args[0]} --help` shows what is allowed)"
    )
    assert done.stdout == ""
    assert not (tmp_path / "j.sqlite3").exists()  # refused before anything ran


def test_unrecognized_arguments_are_all_named_with_a_hint_where_one_is_close(
    tmp_path: Path,
) -> None:
    done = mediagen_main("list", "--jso", "--zzz", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "mediagen: error: unrecognized arguments: --jso --zzz; --jso: did you mean --json?"
        " (`mediagen list --help` shows what is allowed)"
    )


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


def test_wait_usage_names_one_task(tmp_path: Path) -> None:
    """`wait` takes one task: its usage must not promise a list (argparse renders nargs="+" as
    `OPERATION TASK_ID [OPERATION TASK_ID ...]`), and it fits 80 columns."""
    done = mediagen_main("wait", "--help", cwd=tmp_path, env={"COLUMNS": "80"})
    assert done.returncode == 0
    usage = done.stdout.split("\n\n")[0]
    assert usage.startswith("usage: mediagen wait [-h] PROVIDER OPERATION TASK_ID")
    assert "..." not in usage and "--timeout" in usage
    assert max(len(line) for line in done.stdout.splitlines()) <= 80


def test_wait_into_another_folder_says_the_files_were_downloaded_earlier(tmp_path: Path) -> None:
    """The journal's copy of a file is reused, not fetched again (AsyncClient.download): a
    `wait --output` naming another folder is told so instead of finding it empty."""
    with EmulatorThread(duration=TASK_SECONDS) as emulator:
        env = {base_url_env("mediaio"): emulator.base_urls["mediaio"]}
        env["MEDIAIO_API_KEY"] = EMULATOR_CREDENTIALS["mediaio"]["api_key"]
        env["MEDIAGEN_JOURNAL"] = str(tmp_path / "j.sqlite3")
        sent = mediagen_main(
            "run", "mediaio.imagen_4", "prompt=a cat", "--no-wait", "--json", cwd=tmp_path, env=env
        )
        task_id = json.loads(sent.stdout)["task_id"]
        first = mediagen_main(
            "wait", "mediaio.imagen_4", task_id, "--output", "a", cwd=tmp_path, env=env
        )
        assert first.returncode == 0, first.stderr
        assert "note:" not in first.stderr
        (saved,) = (tmp_path / "a").iterdir()
        again = mediagen_main(
            "wait", "mediaio.imagen_4", task_id, "--output", "b", cwd=tmp_path, env=env
        )
    assert again.returncode == 0, again.stderr
    assert f"mediagen: note: downloaded earlier, not fetched again into b: {saved}" in again.stderr
    assert str(saved) in again.stdout
    assert not list((tmp_path / "b").glob("*"))
