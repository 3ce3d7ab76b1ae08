"""What an outside plugin's trial found: result parsers that lose, repeat or invent files, and
operations whose valid params depend on an `x-required-if` rule.

The plugin is `kestrel`, made by `mediagen new-plugin` with one operation
added to its catalog: `image_to_image`, whose required `source` (url or job) decides whether
`image_url` or `job_id` is required. Each test reads the checks of a conformance class
registering a variant of it (`ProviderPlugin` with another result parser); the classes run
together, with pytest, in a process of their own, once per test run. Name lookups off
loopback are refused in that run (they fail, and never leave the machine), so a suite that tried one cannot pass, nor send anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple
from xml.etree import ElementTree

import pytest
from helpers import NO_CA_BUNDLE, kept_renders_env, shared_folder, taking_turns

from mediagen.catalog.loader import load_provider
from mediagen.scaffold import PluginNames, render_files
from mediagen.testing.conformance._params import INPUT_URL, TEXT, minimal_params

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

class {name}(ProviderConformance):
    provider = "kestrel"
    operations = {operations!r}
    plugins = [
        ProviderPlugin(
            "kestrel", catalog=CATALOG, generated="mediagen_kestrel.generated", results={results}
        )
    ]
"""


def built_once(name: str, content: str, build: Callable[[Path], None]) -> Path:
    """The folder `build` fills, made once per run for this `content` (a digest of it names
    the folder in the run's shared one) whichever xdist worker asks first; the others wait
    for it, then find it made."""
    folder = shared_folder("kestrel-trial")
    done = folder / f"{name}-{hashlib.sha256(content.encode()).hexdigest()[:16]}"
    with taking_turns(folder, done.name):
        if not done.is_dir():
            partial = folder / f"{done.name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            build(partial)
            partial.rename(done)
    return done


@pytest.fixture
def kestrel() -> Path:
    """The files `new-plugin kestrel` writes, with `image_to_image` added, and the package
    generated from that catalog by `mediagen generate` in its folder (`create_plugin` would
    generate it twice): made once per run (`built_once`; the tests only read it)."""
    files = render_files(PluginNames.for_provider("kestrel"))
    operations = "mediagen_kestrel/catalog/kestrel/operations.yaml"
    files = {**files, operations: files[operations] + IMAGE_TO_IMAGE}

    def build(root: Path) -> None:
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        subprocess.run(  # as an author runs it, and never importing the generator here
            [sys.executable, "-m", "mediagen", "generate"],
            cwd=root,
            check=True,
            capture_output=True,
            timeout=120,
            env={**os.environ, **kept_renders_env(os.environ)},  # one render per run
        )

    return built_once("mediagen-kestrel", json.dumps(files, sort_keys=True), build)


class Trial(NamedTuple):
    """A conformance class of the trial's run: a variant of the plugin (another result
    parser), the operations it tests and the checks it runs (a `-k` expression)."""

    parser: str
    results: str
    operations: tuple[str, ...]
    checks: str


class Outcome(NamedTuple):
    """One check of the run: `passed`, `failed`, `error` or `skipped`, and its report."""

    outcome: str
    report: str


def run_trials(kestrel: Path, trials: dict[str, Trial]) -> dict[str, dict[str, Outcome]]:
    """The conformance suite on every trial's class, in one pytest process of its own (the
    run imports the plugin's packages and leaves this one's modules as they were), run once
    per run (`built_once`: pytest's start-up and the suite's imports are most of a run's
    CPU); by class name, each check's outcome by test name (`test_round_trip[kestrel.x]`)."""
    code = HEADER
    for name, trial in trials.items():
        code += textwrap.dedent(trial.parser)
        code += CLASS.format(name=name, operations=list(trial.operations), results=trial.results)
    checks = " or ".join(f"({name} and ({t.checks}))" for name, t in trials.items())

    def run(folder: Path) -> None:
        (folder / "test_kestrel.py").write_text(code, encoding="utf-8")
        path = os.pathsep.join(p for p in (str(kestrel), os.environ.get("PYTHONPATH")) if p)
        done = subprocess.run(
            [
                *(sys.executable, "-m", "pytest", "test_kestrel.py", "-q"),
                *("-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:typeguard"),
                *("--junitxml", "report.xml", "-k", checks),
            ],
            cwd=folder,
            env={**os.environ, **NO_CA_BUNDLE, "PYTHONPATH": path},
            capture_output=True,
            text=True,
            timeout=600,
        )
        (folder / "output.txt").write_text(done.stdout + done.stderr, encoding="utf-8")

    folder = built_once("suite-run", code + checks + str(kestrel), run)
    output = (folder / "output.txt").read_text(encoding="utf-8")
    outcomes: dict[str, dict[str, Outcome]] = {name: {} for name in trials}
    report = folder / "report.xml"
    assert report.is_file(), output
    for case in ElementTree.parse(report).iter("testcase"):
        found = [c for c in case if c.tag in ("failure", "error", "skipped")]
        outcome = {"failure": "failed"}.get(found[0].tag, found[0].tag) if found else "passed"
        text = "".join(f"{c.get('message', '')}\n{c.text or ''}" for c in found)
        cls = case.get("classname", "").rsplit(".", 1)[-1]
        assert cls in outcomes, output
        outcomes[cls][case.get("name", "")] = Outcome(outcome, text)
    assert "test refuses a name lookup off loopback" not in output, output
    return outcomes


def checks_that(outcomes: dict[str, Outcome], outcome: str) -> set[str]:
    """The names of the checks (parameters left out) that ended so."""
    return {name.split("[")[0] for name, o in outcomes.items() if o.outcome == outcome}


def reports(outcomes: dict[str, Outcome]) -> str:
    return "\n".join(o.report for o in outcomes.values())


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


TRIALS = {
    "TestFirstOnly": Trial(FIRST_ONLY, "FirstOnly", ("text_to_image",), "round_trip or several"),
    "TestSameUrl": Trial(SAME_URL, "SameUrl", ("text_to_image",), "round_trip or several or leaks"),
    "TestCatalogResults": Trial("", "None", ("text_to_image",), "round_trip or several or leaks"),
    "TestRequiredIf": Trial(
        "", "None", ("image_to_image",), "round_trip or bad_params or lost_submit or credentials"
    ),
}
"""The conformance classes of the run, by name: each test below reads its own class's checks.
They were four runs of one class each; sharing a process changes nothing a class checks (each
has its own plugins, registry and emulator), and a parser leaking into another class would
change that class's outcomes, which the tests pin."""


@pytest.fixture
def trials(kestrel: Path) -> dict[str, dict[str, Outcome]]:
    return run_trials(kestrel, TRIALS)


def test_a_parser_repeating_the_first_file_fails_naming_the_lost_and_repeated_urls(
    trials: dict[str, dict[str, Outcome]],
) -> None:
    checks = trials["TestFirstOnly"]
    output = reports(checks)
    # One file asked for: one served, one parsed; two asked for: the second is lost.
    assert checks_that(checks, "failed") == {"test_several_artifacts_when_the_count_says_so"}
    assert checks_that(checks, "passed") == {"test_round_trip"}, output
    assert (
        "kestrel.text_to_image: artifact URLs: expected the 2 file URL(s) the emulator served, "
        "in document order, each once (http://127.0.0.1:" in output
    )
    assert "; saw lost: http://127.0.0.1:" in output
    assert "; duplicated: http://127.0.0.1:" in output


def test_a_parser_inventing_a_url_fails_and_nothing_is_fetched_from_it(
    trials: dict[str, dict[str, Outcome]],
) -> None:
    checks = trials["TestSameUrl"]
    output = reports(checks)
    assert checks_that(checks, "failed") == {
        "test_round_trip",
        "test_several_artifacts_when_the_count_says_so",
        "test_no_credential_leaks",
    }
    assert len(checks) == 3, output  # nothing else ran, nothing errored
    assert "; saw lost: http://127.0.0.1:" in output
    assert "; invented (never served): https://files.kestrel.example/same.png" in output
    assert (
        "kestrel.text_to_image: downloading the result's files: expected only files the "
        "emulator served (the suite sends nothing off loopback); saw "
        "https://files.kestrel.example/same.png in the parsed result, which the emulator "
        "never served: refused before any request"
    ) in output
    # (run_trials: no name lookup off loopback was tried in the whole run)


def test_the_catalog_s_parser_passes_the_exact_url_checks(
    trials: dict[str, dict[str, Outcome]],
) -> None:
    checks = trials["TestCatalogResults"]
    assert [o.outcome for o in checks.values()] == ["passed"] * 3, reports(checks)


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
    trials: dict[str, dict[str, Outcome]],
) -> None:
    checks = trials["TestRequiredIf"]
    output = reports(checks)
    assert "is required when source is 'url'" not in output
    assert [o.outcome for o in checks.values()] == ["passed"] * 5, output
