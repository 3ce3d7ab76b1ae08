"""What an outside plugin's trial found: result parsers that lose, repeat or invent files, and
operations whose valid params depend on an `x-required-if` rule.

The plugin is `kestrel`, made by `mediagen new-plugin` with one operation
added to its catalog: `image_to_image`, whose required `source` (url or job) decides whether
`image_url` or `job_id` is required. Each test writes a conformance class registering a
variant of it (`ProviderPlugin` with another result parser) and runs the checks it concerns
with pytester, in a process of its own. Name lookups off loopback are refused in those runs (they fail, and
never leave the machine), so a suite that tried one cannot pass, nor send anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import kept_renders_env

from mediagen.catalog.loader import load_provider
from mediagen.scaffold import PluginNames, render_files
from mediagen.testing.conformance._params import INPUT_URL, TEXT, minimal_params

pytest_plugins = ["pytester"]

IMAGE_TO_IMAGE = """
  - id: image_to_image
    name: Image to Image
    kind: task
    output: image
    path: /v1/edits
    count_param: n
    source: https://api.kestrel.example/docs
    params:
      type: object
      required: [prompt, source]
      properties:
        prompt: {type: string, minLength: 1, maxLength: 2000}
        source: {type: string, enum: [url, job]}
        image_url:
          type: string
          format: uri
          x-required-if: {source: url}
        job_id:
          type: string
          x-required-if: {source: job}
        n: {type: integer, minimum: 1, maximum: 4, default: 1}
"""

HEADER = """
import socket
from pathlib import Path

import attrs
import pytest

import mediagen_kestrel
from mediagen.plugin import CatalogResults, ProviderPlugin
from mediagen.testing.conformance import ProviderConformance

CATALOG = Path(mediagen_kestrel.__file__).parent / "catalog" / "kestrel"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(autouse=True)
def no_lookups_off_loopback(monkeypatch):
    real = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK:
            raise OSError(f"test refuses a name lookup off loopback: {name}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)

"""

CLASS = """

class TestKestrelConformance(ProviderConformance):
    provider = "kestrel"
    operations = {operations!r}
    plugins = [
        ProviderPlugin(
            "kestrel", catalog=CATALOG, generated="mediagen_kestrel.generated", results={results}
        )
    ]
"""


@pytest.fixture
def kestrel(tmp_path: Path) -> Path:
    """The files `new-plugin kestrel` writes, with `image_to_image` added, and the package
    generated from that catalog by `mediagen generate` in its folder (`create_plugin` would
    generate it twice), rendered once per run."""
    root = tmp_path / "mediagen-kestrel"
    for rel, text in render_files(PluginNames.for_provider("kestrel")).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    package = root / "mediagen_kestrel"
    operations = package / "catalog" / "kestrel" / "operations.yaml"
    operations.write_text(operations.read_text(encoding="utf-8") + IMAGE_TO_IMAGE, encoding="utf-8")
    subprocess.run(  # as an author runs it, and never importing the generator here
        [sys.executable, "-m", "mediagen", "generate"],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, **kept_renders_env(os.environ)},  # one render per run
    )
    return root


def failed_checks(output: str) -> set[str]:
    """The names of the checks the short summary lists as failed."""
    return {
        line.split(" - ", 1)[0].split("::")[-1].split("[")[0]
        for line in output.splitlines()
        if line.startswith("FAILED ")
    }


def run_suite(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    kestrel: Path,
    checks: str,
    *,
    parser: str = "",
    results: str = "None",
    operations: tuple[str, ...] = ("text_to_image",),
) -> tuple[pytest.RunResult, str]:
    # A process of its own: the run imports the plugin's packages and leaves this one's
    # modules as they were.
    path = os.pathsep.join(p for p in (str(kestrel), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    code = (
        HEADER
        + textwrap.dedent(parser)
        + CLASS.format(operations=list(operations), results=results)
    )
    module = pytester.makepyfile(test_kestrel=code)
    result = pytester.runpytest_subprocess(module, "-q", "-p", "no:cacheprovider", "-k", checks)
    return result, result.stdout.str()


FIRST_ONLY = """
class FirstOnly(CatalogResults):
    '''Keeps the count, loses every file but the first.'''

    def artifacts(self, op, payload):
        arts = super().artifacts(op, payload)
        return tuple(arts[:1]) * len(arts)
"""

SAME_URL = """
class SameUrl(CatalogResults):
    '''Keeps the count, replaces every URL with one on the vendor's download host.'''

    def artifacts(self, op, payload):
        return tuple(
            attrs.evolve(a, url="https://files.kestrel.example/same.png")
            for a in super().artifacts(op, payload)
        )
"""


def test_a_parser_repeating_the_first_file_fails_naming_the_lost_and_repeated_urls(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kestrel: Path
) -> None:
    result, output = run_suite(
        pytester,
        monkeypatch,
        kestrel,
        "round_trip or several",
        parser=FIRST_ONLY,
        results="FirstOnly",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    # One file asked for: one served, one parsed; two asked for: the second is lost.
    assert failed_checks(output) == {"test_several_artifacts_when_the_count_says_so"}
    assert (
        "kestrel.text_to_image: artifact URLs: expected the 2 file URL(s) the emulator served, "
        "in document order, each once (http://127.0.0.1:" in output
    )
    assert "; saw lost: http://127.0.0.1:" in output
    assert "; duplicated: http://127.0.0.1:" in output


def test_a_parser_inventing_a_url_fails_and_nothing_is_fetched_from_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kestrel: Path
) -> None:
    result, output = run_suite(
        pytester,
        monkeypatch,
        kestrel,
        "round_trip or several or leaks",
        parser=SAME_URL,
        results="SameUrl",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert failed_checks(output) == {
        "test_round_trip",
        "test_several_artifacts_when_the_count_says_so",
        "test_no_credential_leaks",
    }
    assert "; saw lost: http://127.0.0.1:" in output
    assert "; invented (never served): https://files.kestrel.example/same.png" in output
    assert (
        "kestrel.text_to_image: downloading the result's files: expected only files the "
        "emulator served (the suite sends nothing off loopback); saw "
        "https://files.kestrel.example/same.png in the parsed result, which the emulator "
        "never served: refused before any request"
    ) in output
    assert "test refuses a name lookup off loopback" not in output


def test_the_catalog_s_parser_passes_the_exact_url_checks(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kestrel: Path
) -> None:
    result, _ = run_suite(pytester, monkeypatch, kestrel, "round_trip or several or leaks")
    result.assert_outcomes(passed=3)


def test_derived_params_meet_the_x_required_if_rules(kestrel: Path) -> None:
    provider = load_provider(kestrel / "mediagen_kestrel" / "catalog" / "kestrel" / "provider.yaml")
    op = provider.operation("image_to_image")
    # source's first value is url, which requires image_url (a loopback URL: a uri format).
    assert minimal_params(op) == {"prompt": TEXT, "source": "url", "image_url": INPUT_URL}
    # The class's params choose job: job_id is required instead, image_url is not.
    assert minimal_params(op, {"source": "job"}) == {
        "prompt": TEXT,
        "source": "job",
        "job_id": TEXT,
    }


def test_an_operation_with_an_x_required_if_rule_passes_without_params(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kestrel: Path
) -> None:
    result, output = run_suite(
        pytester,
        monkeypatch,
        kestrel,
        "round_trip or bad_params or lost_submit or credentials",
        operations=("image_to_image",),
    )
    assert "is required when source is 'url'" not in output
    result.assert_outcomes(passed=5)
