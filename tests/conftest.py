"""Shared fixtures: the shipped catalog, a factory for small catalogs on disk, and plugin-author
virtualenvs."""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import importlib.util
import itertools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import threading
import venv
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import compile_first  # first: the workers take turns to compile (its docstring)
import pytest
from cli_zygote import Zygote, cli_processes  # the standard library only

if TYPE_CHECKING:
    from mediagen.catalog import Catalog

# No garbage collection until the tests are collected (`_young_collections_for_the_tests`
# turns it back on): importing and assertion-rewriting ~700 modules and building 1,800 items
# makes hardly any cyclic garbage, yet the collector walked the growing heap about 2,150
# times in a cold worker (~2 s of its ~10 s of CPU to collect) and ~230 in a warm one (~0.3 s).
gc.disable()

# helpers (aiohttp, attrs, the emulator), render_cache, the catalog and hypothesis are
# imported where they are used, not here: xdist's controller loads this file too, before any
# worker starts and without the run's bytecode folder, and it runs no test (_runs_tests).


@functools.cache
def _render_once() -> Callable[[Path], dict[str, str]]:
    """codegen's render_catalog, its output kept for the run (helpers.render_once)."""
    import helpers

    from mediagen.codegen.generate import render_catalog

    return helpers.render_once(render_catalog)


def __getattr__(name: str) -> Any:
    """RENDER_ONCE (codegen's render_catalog, kept for the run), made on first use."""
    if name == "RENDER_ONCE":
        return _render_once()
    raise AttributeError(name)


def _runs_tests(config: pytest.Config) -> bool:
    """False in xdist's controller (it hands tests to its workers and runs none itself): the
    test that xdist's own pytest_configure makes before registering it."""
    if hasattr(config, "workerinput"):
        return True
    return config.getoption("dist", "no") == "no" or bool(config.getoption("collectonly"))


# mediagen's own suite never loads the plugins installed in the environment (a plugin's log
# line or provider must not change a built-in test's output); tests of plugins opt in.
os.environ["MEDIAGEN_PLUGINS"] = ""

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


@functools.cache
def outside_the_checkout() -> Path:
    """An empty folder to start child interpreters in, so that `import mediagen` finds the
    installed package: in the checkout's parent, a checkout cloned as `mediagen/` would be
    imported instead, as an empty namespace package."""
    folder = Path(tempfile.mkdtemp(prefix="child-cwd-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


FIXTURES = TESTS / "fixtures"
GOLDEN_CATALOG = FIXTURES / "golden_catalog"
GOLDEN_OUTPUT = TESTS / "golden"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    from mediagen.catalog import default_catalog

    return default_catalog()


MINIMAL_PROVIDER = """\
format: mediagen-provider/2
name: acme
title: Acme
base_url: https://api.acme.test
credential_hosts: [api.acme.test]
download_hosts: ["*"]
auth:
  kind: api_key
  name: X-Key
  credentials:
    - {name: api_key, env: [ACME_KEY], secret: true, required: true}
response:
  envelope: {code: code, success: [0], message: msg, data: data}
task:
  id_field: task_id
  poll: {method: POST, path: "/result/{task_id}", task_id_in: path}
  status_field: status
  result_field: result
  states: {running: running, done: succeeded, error: failed}
operations:
  format: mediagen-operations
  file: operations.yaml
"""

MINIMAL_OPERATIONS = """\
format: mediagen-operations/1
operations:
  - id: draw
    name: Draw
    kind: task
    output: image
    path: /draw
    source: test
    params:
      type: object
      required: [prompt]
      properties:
        prompt: {type: string, description: What to draw.}
        ratio: {type: string, enum: ["1:1", "16:9"], default: "1:1", description: Shape.}
"""


class CatalogDir:
    """A throwaway catalog folder: start from a minimal valid provider, then break it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / "acme"
        self.folder.mkdir(parents=True)
        self.write("provider.yaml", MINIMAL_PROVIDER)
        self.write("operations.yaml", MINIMAL_OPERATIONS)

    def write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def replace(self, name: str, old: str, new: str) -> None:
        path = self.folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def catalog_dir(tmp_path: Path) -> CatalogDir:
    return CatalogDir(tmp_path / "catalog")


def import_generated(out_dir: Path, provider: str, package: str) -> ModuleType:
    """Import a provider package generated into out_dir under a unique top-level name."""
    shutil.copytree(out_dir, out_dir.parent / package, dirs_exist_ok=True)
    spec = importlib.util.spec_from_file_location(
        package,
        out_dir.parent / package / "__init__.py",
        submodule_search_locations=[str(out_dir.parent / package)],
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    spec.loader.exec_module(module)
    return importlib.import_module(f"{package}.{provider}")


@pytest.fixture(scope="session")
def _journal_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This process's folder of per-test journal folders (`_journal_of_its_own`)."""
    yield tmp_path_factory.mktemp("journals")


_JOURNAL_FOLDER_NUMBERS = itertools.count()


@pytest.fixture(autouse=True)
def _journal_of_its_own(_journal_folders: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test (and the CLI processes it starts) writes to a journal of its own, in an empty
    folder of its own: never the user's, never another test's (tests run in any order, on
    several xdist workers). The folders are numbered in one folder per process: `mktemp` lists
    the whole basetemp to number each new folder, which every test of a worker paid for."""
    folder = _journal_folders / str(next(_JOURNAL_FOLDER_NUMBERS))
    folder.mkdir()
    monkeypatch.setenv("MEDIAGEN_JOURNAL", str(folder / "tasks.sqlite3"))


@pytest.fixture
def loopback_children(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child processes this test starts (the CLI, `python -c`, an inner pytest) talk plain
    HTTP to loopback only: they inherit `helpers.NO_CA_BUNDLE` and skip loading the system's
    CA certificates on start-up. Tests that start pip (HTTPS to a package index) do not use it."""
    import helpers

    for name, value in helpers.NO_CA_BUNDLE.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def cli_zygote() -> Iterator[Zygote]:
    """CLI processes forked from one warm interpreter per worker (tests/cli_zygote.py), for
    tests that start many `mediagen` processes and whose point is not the start-up. Its
    modules are imported as a loopback child's are (`helpers.NO_CA_BUNDLE`); each child gets
    the environment it is given. Where no zygote can run (not Linux), each is its own
    `python -m mediagen` (cli_zygote.OwnProcesses)."""
    import helpers

    with cli_processes({**os.environ, **helpers.NO_CA_BUNDLE}) as zygote:
        yield zygote


@pytest.fixture(autouse=True)
def _codegen_once_per_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """`mediagen generate [--check]` in this process (and the conformance suite's generated
    check) compile each catalog's content once per run (helpers.render_once)."""
    from mediagen.codegen import generate

    monkeypatch.setattr(generate, "render_catalog", _render_once())


@pytest.hookimpl(trylast=True)  # after the tmpdir plugin has made its factory
def pytest_configure(config: pytest.Config) -> None:
    """In CI, hypothesis replays a fixed sequence of examples: a red run is reproducible, and
    never a new random find on an unrelated change. Locally it keeps exploring."""
    _cache_bytecode_for_the_run(config)
    if not _runs_tests(config):
        gc.enable()  # xdist's controller collects no tests: it collects garbage as usual
        _remove_old_runs_meanwhile(config)
        return
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")


def _cache_bytecode_for_the_run(config: pytest.Config) -> None:
    """With PYTHONDONTWRITEBYTECODE set, every process of the run would compile the same
    sources again: each xdist worker its assertion-rewritten test modules and plugins (seconds
    of CPU each), each CLI or pytest subprocess all of mediagen. Instead the run keeps the
    bytecode it compiles in its own temporary folder (`PYTHONPYCACHEPREFIX`), never beside the
    sources: the workers and subprocesses started from here inherit it. Python checks each
    cached file against its source's size and mtime, as it does any `__pycache__`. The
    bytecode installed with the interpreter and the virtualenv's packages is linked in
    (`compile_first.link_installed_bytecode`), not compiled again."""
    if not sys.dont_write_bytecode or hasattr(config, "workerinput"):
        return  # bytecode is written as usual, or the controller has set this up already
    prefix = config._tmp_path_factory.getbasetemp() / "pycache"  # type: ignore[attr-defined]
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    sys.pycache_prefix = str(prefix)
    sys.dont_write_bytecode = False
    compile_first.link_installed_bytecode(str(prefix))  # before any worker starts


_OLD_RUNS_STOP = pytest.StashKey[tuple[threading.Event, threading.Thread]]()
"""The stop signal and thread of `_remove_old_runs_meanwhile`, per session (pytester runs
pytest again in this process)."""


def _remove_old_runs_meanwhile(config: pytest.Config) -> None:
    """In xdist's controller, which runs no test: remove the temporary folders of earlier runs
    while the workers start and test, instead of after the last test. pytest keeps the last
    `tmp_path_retention_count` runs' folders and removes older ones when the run ends; one of
    this suite's (venvs, the bytecode folder's links) is thousands of files, and on a busy
    disk their removal took up to 29 s of the run's wall time after its last test. This is the
    same removal (pytest's own, with its locks: a folder in use by a live run is never
    touched) on a thread, at once and again every OLD_RUNS_PASS seconds (other runs on the
    machine make new folders, and so older ones to remove), so that pytest's own pass at the
    end finds little or nothing left. Only where pytest itself would remove them: numbered
    folders (no --basetemp), a retention policy that keeps some, this run's folder locked."""
    factory: pytest.TempPathFactory = config._tmp_path_factory  # type: ignore[attr-defined]
    if factory._given_basetemp is not None or factory._retention_policy == "none":
        return
    keep = factory._retention_count
    if keep < 1:
        return  # with keep 0 pytest removes this run's folder too: left to it, at the end
    try:  # pytest's own helpers (private): without them, pytest's pass at the end does it
        from _pytest.pathlib import LOCK_TIMEOUT, cleanup_numbered_dir
    except ImportError:
        return
    basetemp = factory.getbasetemp()
    if not (basetemp / ".lock").exists():  # this run's folder must be one pytest protects
        return
    dead_before = basetemp.stat().st_mtime - LOCK_TIMEOUT  # as pytest computes it
    stop = threading.Event()

    def passes() -> None:
        while not stop.is_set():
            # Another run removing the same folders: the next pass retries.
            with contextlib.suppress(OSError):
                cleanup_numbered_dir(basetemp.parent, "pytest-", keep, dead_before)
            stop.wait(OLD_RUNS_PASS)

    # A daemon: an interrupted run does not wait for it (a half-removed folder is left as
    # pytest's `garbage-*`, which the next run's pass removes).
    thread = threading.Thread(target=passes, name="remove-old-runs", daemon=True)
    config.stash[_OLD_RUNS_STOP] = (stop, thread)
    thread.start()


OLD_RUNS_PASS = 5.0
"""Seconds between two passes of `_remove_old_runs_meanwhile` (each lists one folder)."""


@pytest.hookimpl(tryfirst=True)  # before pytest's own removal at the session's end
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The removal thread stops; pytest's own pass, next, does what it had left."""
    running = session.config.stash.get(_OLD_RUNS_STOP, None)
    if running is not None:
        stop, thread = running
        stop.set()
        thread.join(OLD_RUNS_PASS)  # the pass it is in, if any


def pytest_collection_finish(session: pytest.Session) -> None:
    compile_first.collected()
    _young_collections_for_the_tests()


GC_THRESHOLD = (5000, 10, 10)
"""The garbage collector's thresholds while tests run: a collection of the young generation
every 5000 net allocations instead of CPython's 700 (then, as by default, one of the middle
generation every 10 young ones and a full one every 10 of those)."""


def _young_collections_for_the_tests() -> None:
    """Before the first test: what collection built (pytest, hypothesis, aiohttp, mediagen, the
    test modules and their 1,700 items: over a million objects) is frozen out of the garbage
    collector's sight, and young collections come less often (GC_THRESHOLD). Every full
    collection during the tests walked all of it again, and young ones came every 700
    allocations of the fuzz tests' and the emulator's garbage: about 13 s of CPU of a run went
    to collections. Garbage made by tests is collected as before, only later."""
    gc.collect()  # what collection left as cyclic garbage is freed, not frozen
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    gc.enable()  # off since this file was imported (at its top)


LONG_CHAINS = (
    "tests/plugins/test_docs_plugin_page.py::"
    "test_the_tutorial_runs_from_new_plugin_to_an_installed_wheel",
    "tests/test_examples.py::test_the_replicate_example_passes_its_own_tests",
)
"""Tests that are one long chain of child processes (pip, pytest), run first. `--dist worksteal`
hands each worker a contiguous slice of the collection and lets idle workers take from the
others' queues, but a test once started runs to its end on its worker: the tutorial (about 25
s of CPU in one serial chain, four times the next longest test) came about halfway through
its slice and was the run's last test to end, its worker's neighbours idle. First in the
first slice, it ends well before the others, who take the rest of that slice from its
worker. The rest keep collection order (the heavy tests do not start together: a render or
a compile one of them leaves in the run's caches serves the others)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """LONG_CHAINS first, in collection order; every worker sorts its collection alike."""
    items.sort(key=lambda item: item.nodeid not in LONG_CHAINS)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per core. Much of the suite waits (child processes, emulated
    durations, slow answers), so one worker per core left the CPU about a third idle: on 2
    cores the suite took 166 s with 2 workers and 135 s with 4, which used the CPU in full."""
    return 2 * (os.cpu_count() or 1)


def pytest_sessionstart(session: pytest.Session) -> None:
    """The folder this run's caches share (helpers.shared_folder): plugins are installed while
    the suite is collected, before any fixture could name it."""
    if not _runs_tests(session.config):
        return
    import helpers

    factory: pytest.TempPathFactory = session.config._tmp_path_factory  # type: ignore[attr-defined]
    helpers.SHARED[:] = [helpers.run_folder(factory.getbasetemp())]


class AuthorVenv:
    """A virtualenv of a test's own that sees this environment's packages (mediagen, pytest,
    the code generator), with `mediagen`, `pip` and `pytest` on PATH: a plugin author's
    environment, where a test may `pip install` without touching the running one."""

    def __init__(self, root: Path, journal: Path) -> None:
        import helpers
        import render_cache

        # What `python -m venv --without-pip ROOT` does (symlinks: its default here), without
        # an interpreter's start-up for it; its site-packages is the venv scheme's purelib.
        venv.EnvBuilder(symlinks=True, with_pip=False).create(root)
        self.python = root / "bin" / "python"
        site = sysconfig.get_path("purelib", "venv", vars={"base": root, "platbase": root})
        assert Path(site).is_dir(), site
        ours = sysconfig.get_paths()["purelib"]
        # A venv made from a venv sees the base interpreter's packages, not ours: add ours,
        # after this run's build tools (helpers.BUILD_ENV: pip builds with them).
        tools = helpers.build_tools()
        Path(site, "_outer_environment.pth").write_text(
            f"import site; site.addsitedir({str(tools)!r}); site.addsitedir({ours!r})\n",
            encoding="utf-8",
        )
        # Every process started here keeps codegen's renders in the run's cache, as this
        # process does (render_cache: `new-plugin`, `generate`, the generated check in pytest).
        hook = render_cache.MODULE
        shutil.copyfile(TESTS / "render_cache.py", Path(site, f"{hook}.py"))
        Path(site, f"{hook}.pth").write_text(f"import {hook}; {hook}.install()\n")
        # `mediagen` and `pytest` here talk plain HTTP to loopback only: they skip the CA
        # bundle, as every CLI child of this suite does (helpers.NO_CA_BUNDLE); pip keeps it.
        no_ca = "".join(f"export {k}={v}\n" for k, v in helpers.NO_CA_BUNDLE.items())
        for command, prefix in (("mediagen", no_ca), ("pip", ""), ("pytest", no_ca)):
            script = root / "bin" / command
            script.write_text(f'#!/bin/sh\n{prefix}exec "{self.python}" -m {command} "$@"\n')
            script.chmod(0o755)
        # Plugins not restricted (unlike this suite), no vendor credentials, a journal apart.
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MEDIAGEN_", "MEDIAIO_", "TOMOVIEE_", "EDRAWMAX_"))
            and k not in ("API_KEY", "PYTHONPATH")
        }
        self.env["MEDIAGEN_JOURNAL"] = str(journal)
        self.env.update(helpers.BUILD_ENV)
        self.env.update(helpers.PIP_ENV)
        self.env.update(helpers.hypothesis_env())  # the author's `pytest` (helpers says why)
        self.env[render_cache.ENV] = str(helpers.shared_folder("codegen"))
        self.env["PATH"] = f"{root / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"

    def run(self, *argv: str | Path, cwd: Path, **env: str) -> str:
        """Run a command in this environment; it must succeed; returns its stdout."""
        done = subprocess.run(
            [str(a) for a in argv],
            cwd=cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{argv}:\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        return done.stdout


@pytest.fixture
def author_venv(tmp_path: Path) -> Callable[[str], AuthorVenv]:
    """Make plugin-author virtualenvs under the test's tmp_path, by name."""
    return lambda name: AuthorVenv(tmp_path / name, tmp_path / f"{name}-journal.sqlite3")


def _utf8_safe(data: Any) -> Any:
    """`data` (a serialized report: dicts, lists, strings) with every string encodable as
    UTF-8: lone surrogates, which tests feed on purpose, escaped."""
    if isinstance(data, str):
        return data.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(data, dict):
        return {_utf8_safe(k): _utf8_safe(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return type(data)(_utf8_safe(v) for v in data)
    return data


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(report: pytest.TestReport) -> Any:
    """An xdist worker sends each report to the controller as UTF-8: captured output or a
    failure message holding a lone surrogate (a vendor's odd task id, logged) would crash the
    whole run, so such characters are escaped on the way."""
    return _utf8_safe((yield))
