"""Every python and sh block of README.md runs, offline, as a reader would run it.

A block runs as is unless an HTML comment on the line before it says otherwise:
`<!-- test: emulator -->` runs it with an emulator's base URLs and credentials in the
environment variables the README documents (what `mediagen emulate` prints); `<!-- test:
pytest -->` runs it as a pytest file (it uses the `mediagen_emulator` fixture); `<!-- test:
offline -->` says it needs nothing; `<!-- test: skip (why) -->` is not run (it installs from the
package index, or is a synopsis). No block goes untested without saying why.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO

from mediagen.hosts import base_url_env
from mediagen.testing import EMULATOR_CREDENTIALS, EmulatorThread

pytestmark = pytest.mark.usefixtures("loopback_children")  # children skip the CA bundle

BLOCK = re.compile(
    r"(?:<!--\s*test:\s*(?P<mark>[^>]*?)\s*-->[ \t]*\n[ \t]*)?```(?P<lang>\w*)\n(?P<code>.*?)^[ \t]*```[ \t]*$",
    re.S | re.M,
)
MARKS = ("emulator", "pytest", "offline", "skip")


def blocks() -> list[tuple[str, str, str]]:
    """(mark, language, code) of each python and sh block, in order."""
    found = []
    for m in BLOCK.finditer((REPO / "README.md").read_text(encoding="utf-8")):
        if m.group("lang") in ("python", "sh"):
            mark = (m.group("mark") or "offline").split()[0]
            found.append((mark, m.group("lang"), m.group("code")))
    return found


def test_every_block_is_run_or_says_why_not() -> None:
    found = blocks()
    assert len(found) >= 8
    assert {mark for mark, _, _ in found} <= set(MARKS)
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert all(
        re.search(r"<!-- test: skip \(.+\) -->", line)
        for line in text.splitlines()
        if "test: skip" in line
    )


OWN_PROCESS = {
    next((m, code) for m, lang, code in blocks() if lang == "python" and m == mark)
    for mark in ("emulator", "offline")
}
"""The python blocks that run as their own `python -c` (a fresh interpreter's start-up and
imports): the first of each mark. The others are forked from a warm interpreter."""


@pytest.fixture(scope="module")
def emulator_env() -> Iterator[dict[str, str]]:
    with EmulatorThread(duration=0.3) as emu:
        env = {base_url_env(p): url for p, url in emu.base_urls.items()}
        env["MEDIAIO_API_KEY"] = EMULATOR_CREDENTIALS["mediaio"]["api_key"]
        env["TOMOVIEE_APP_KEY"] = EMULATOR_CREDENTIALS["tomoviee"]["app_key"]
        env["TOMOVIEE_APP_SECRET"] = EMULATOR_CREDENTIALS["tomoviee"]["app_secret"]
        yield env


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """No credentials or base URLs from the machine, a journal of the test's own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEDIAGEN_", "MEDIAIO_", "TOMOVIEE_", "EDRAWMAX_")) and k != "API_KEY"
    }
    env["MEDIAGEN_JOURNAL"] = str(tmp_path / "journal.sqlite3")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.parametrize(
    ("mark", "lang", "code"),
    [pytest.param(*b, id=f"{i}-{b[1]}-{b[0]}") for i, b in enumerate(blocks())],
)
def test_readme_block_runs(
    mark: str,
    lang: str,
    code: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if mark == "skip":
        pytest.skip("the README says why this block is not run")
    env = _clean_env(tmp_path)
    if mark == "emulator":
        env.update(request.getfixturevalue("emulator_env"))
    if mark == "pytest":
        (tmp_path / "test_snippet.py").write_text(code, encoding="utf-8")
        # Without the plugins the snippet does not use (hypothesis's alone is ~0.3 s of
        # CPU to load): it needs mediagen's, for the `mediagen_emulator` fixture.
        unused = ("cacheprovider", "hypothesispytest", "xdist", "typeguard")
        command = [sys.executable, "-m", "pytest", "-q", "test_snippet.py"]
        command += [arg for name in unused for arg in ("-p", f"no:{name}")]
    elif lang == "python":
        command = [sys.executable, "-c", code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", code]
    if lang == "python" and mark != "pytest" and (mark, code) not in OWN_PROCESS:
        # A process forked from a warm interpreter (cli_zygote: `python -c` minus the
        # interpreter's start-up and the imports it had made), as a reader's own Python.
        zygote = request.getfixturevalue("cli_zygote")
        done = zygote.run(cwd=tmp_path, env=env, timeout=120, code=code)
    else:
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    # A progress callback that prints `running None` for a vendor without percentages is a bug.
    assert not re.search(r"^(queued|running|succeeded) None$", done.stdout, re.M), done.stdout
