"""The example plugin packages in examples/ work as their READMEs say: installed with pip (as
tests/plugins installs acme), each one passes its own tests (the conformance suite included)
and `mediagen generate --check` in its root, runs on the emulator with no token, and its
plugin module and tests are mypy --strict clean.

Everything runs in subprocesses with the environment a user has: mediagen's suite empties
MEDIAGEN_PLUGINS (tests/conftest.py), a user's shell does not set it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import NO_CA_BUNDLE, hypothesis_env, install_editable, kept_renders_env, mypy

import mediagen
from mediagen.registry import Registry
from mediagen.scaffold import mediagen_requirement
from mediagen.testing import EmulatorThread

REPO = Path(__file__).resolve().parents[1]
REPLICATE = REPO / "examples" / "replicate"


# Installed while pytest collects, before any test of the run starts (as acme is): an install
# made during the run is seen half done by the other workers' child processes, which load
# every plugin entry point of this environment (a CI run failed so: `mediagen new-plugin` in
# an author's virtualenv found the entry point but not yet the module it names).
install_editable(REPLICATE, "mediagen-replicate")


@pytest.fixture(scope="session")
def replicate_installed() -> Path:
    """`pip install --no-deps -e examples/replicate` into this environment (done on import)."""
    return install_editable(REPLICATE, "mediagen-replicate")


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A user's environment: no plugin allow-list, no Replicate token, a journal of its own
    (and `helpers.NO_CA_BUNDLE`)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MEDIAGEN_PLUGINS", "REPLICATE_API_TOKEN", "MEDIAGEN_REPLICATE_BASE_URL")
    }
    env["MEDIAGEN_JOURNAL"] = str(tmp_path / "journal.sqlite3")
    # Its processes talk plain HTTP to loopback only (the emulator, the tests' local servers):
    # they skip loading the CA bundle, as every such child of this suite does.
    return {**env, **NO_CA_BUNDLE}


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_replicate_example_passes_its_own_tests(
    replicate_installed: Path, user_env: dict[str, str]
) -> None:
    out = run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"],
        replicate_installed,
        # Its generated-package check compares with the run's render of its catalog, and
        # hypothesis keeps what it reads of mediagen's sources in the run's storage.
        {**user_env, **kept_renders_env(user_env), **hypothesis_env()},
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    # Its conformance class ran the suite on every one of its operations.
    for op in ("flux_schnell", "minimax_video_01", "minimax_speech_02_turbo", "cancel_prediction"):
        node = f"TestReplicateConformance::test_round_trip[replicate.{op}]"
        assert f"{node} PASSED" in out.stdout, out.stdout[-4000:]


def test_the_replicate_readme_installs_what_its_test_commands_need() -> None:
    """Its README's `pip install -e '.[X]'` names an extra that exists and brings the code
    generator (`mediagen generate --check`) and the conformance suite's tools, as a
    `mediagen new-plugin` package's `dev` extra does; mediagen is pinned to its release series,
    the one generated/ is written for (issue 9: `.[test]` had no jinja2, and no pin)."""
    project = tomllib.loads((REPLICATE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    major, minor = mediagen.__version__.split(".")[:2]
    assert project["dependencies"] == [mediagen_requirement(f"{major}.{minor}.0")]
    extras = project["optional-dependencies"]
    assert extras == {"dev": ["mediagen[codegen,testing]"]}
    readme = (REPLICATE / "README.md").read_text(encoding="utf-8")
    installs = re.findall(r"pip install -e '\.\[(\w+)\]'", readme)
    assert installs == ["dev"]


def test_the_replicate_example_is_generated_from_its_catalog(
    replicate_installed: Path, user_env: dict[str, str]
) -> None:
    env = {**user_env, **kept_renders_env(user_env)}  # one render of its catalog per run
    out = run([sys.executable, "-m", "mediagen", "generate", "--check"], REPLICATE, env)
    assert out.returncode == 0, out.stderr
    assert "mediagen_replicate/generated is up to date" in out.stdout


def test_a_replicate_model_runs_on_the_emulator_with_no_token(
    replicate_installed: Path, user_env: dict[str, str], tmp_path: Path
) -> None:
    out = run(
        [
            *(sys.executable, "-m", "mediagen", "run", "replicate", "flux_schnell"),
            *("prompt=a red kite over the sea", "num_outputs=2"),
            *("--emulate", "--json", "--output", str(tmp_path / "out")),
        ],
        tmp_path,
        user_env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    answer = json.loads(out.stdout)
    assert answer["state"] == "succeeded" and answer["error"] is None
    assert [a["kind"] for a in answer["artifacts"]] == ["image", "image"]
    assert all(Path(a["path"]).stat().st_size > 0 for a in answer["artifacts"])
    # Replicate's prediction object, with flux-schnell's list of output URLs.
    assert answer["raw"]["model"] == "black-forest-labs/flux-schnell"
    assert answer["raw"]["output"] == [a["url"] for a in answer["artifacts"]]


def test_the_readmes_python_block_runs_as_written_against_the_emulator(
    replicate_installed: Path,
    user_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (block,) = re.findall(r"```python\n(.*?)```", (REPLICATE / "README.md").read_text(), re.S)
    if str(REPLICATE) not in sys.path:  # what the install's .pth file does in new processes
        monkeypatch.syspath_prepend(str(REPLICATE))
    monkeypatch.setenv("MEDIAGEN_PLUGINS", "replicate")
    with EmulatorThread(registry=Registry()) as emulator:
        # What `mediagen emulate` prints for the user to export: the URL and its fake token.
        user_env["MEDIAGEN_REPLICATE_BASE_URL"] = emulator.base_urls["replicate"]
        user_env["REPLICATE_API_TOKEN"] = emulator.credentials["replicate"]["api_token"]
        out = run([sys.executable, "-c", block], tmp_path, user_env)
        submits = emulator.requests_for("replicate", "submit")

    assert out.returncode == 0, out.stdout + out.stderr
    assert [r.path for r in submits] == ["/replicate/v1/models/minimax/video-01/predictions"]
    assert [p.suffix for p in (tmp_path / "out").iterdir()] == [".mp4"]


def test_the_replicate_plugin_module_and_tests_are_mypy_strict_clean() -> None:
    out = mypy("mediagen_replicate", "tests", cwd=REPLICATE, path=[REPLICATE])
    assert out.returncode == 0, out.stdout + out.stderr
