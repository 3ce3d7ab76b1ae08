"""The acme distribution owns its generated code: `mediagen generate` runs in its root, and
mypy checks calls on its provider as strictly as on the built-ins."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import kept_renders_env, mypy

from mediagen.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_generate_check_runs_in_the_plugins_root(
    acme: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = subprocess.run(  # as a plugin author runs it: in a shell, in the plugin's folder
        [sys.executable, "-m", "mediagen", "generate", "--check"],
        cwd=acme / "acme_mediagen",  # [tool.mediagen] is found upward too
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **kept_renders_env(os.environ)},  # one render of acme's per run
    )
    assert out.returncode == 0, out.stderr
    assert "acme_mediagen/generated is up to date" in out.stdout

    root = tmp_path / "acme"
    shutil.copytree(acme, root, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    ops = root / "acme_mediagen" / "catalog" / "acme" / "operations.yaml"
    ops.write_text(ops.read_text(encoding="utf-8").replace("voice: {", "voix: {"))
    hand_written = root / "acme_mediagen" / "generated" / "helpers.py"
    hand_written.write_text('"""Mine."""\n', encoding="utf-8")
    monkeypatch.chdir(root)
    assert main(["generate", "--check"]) == 1
    err = capsys.readouterr().err
    assert "stale:   acme/endpoints.py" in err and "helpers.py" not in err
    assert main(["generate"]) == 0
    assert "voix" in (root / "acme_mediagen" / "generated" / "acme" / "models.py").read_text()
    assert hand_written.exists()
    assert main(["generate", "--check"]) == 0


SNIPPET = """\
import pytest

import mediagen
from mediagen.cli import main
from acme_mediagen.generated import ACME
from mediagen.generated import MEDIAIO


async def use(client: mediagen.AsyncClient) -> None:
    task = await client.provider(ACME).render(prompt="a kite", count=2, style="poster")
    result = await task.wait()
    print(result.artifacts, (await client.provider(MEDIAIO).credits()))
    await client.provider(ACME).render(prompt=1)  # error: arg-type
    await client.provider(ACME).render(prompt="x", style="watercolour")  # error: arg-type
    await client.provider(ACME).paint(prompt="x")  # error: attr-defined
    await client.provider("acme").anything()  # by name: not typed, not checked


def use_blocking(client: mediagen.Client) -> None:
    result = client.provider(ACME).narrate(text="hi", voice="bo").wait()
    count: int = result  # error: assignment
    client.provider(ACME).narrate()  # error: call-arg
"""


def test_mypy_checks_calls_on_the_plugin_provider(acme: Path, tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    out = mypy(str(snippet), cwd=tmp_path, path=[acme])
    found = {
        (int(m[1]), m[2])
        for m in re.finditer(r"snippet\.py:(\d+): error: .*\[([a-z-]+)\]$", out.stdout, re.M)
    }
    expected = {
        (number, line.rsplit("# error: ", 1)[1])
        for number, line in enumerate(SNIPPET.splitlines(), start=1)
        if "# error: " in line
    }
    assert found == expected, out.stdout + out.stderr
    assert textwrap.dedent(out.stdout).count("error:") == len(expected), out.stdout
