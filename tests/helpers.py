"""Scaffolding shared by the test files: a small local aiohttp server, the CLI as its own
process, and plugin distributions installed for real (once per environment, xdist-safe)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import importlib.metadata
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import render_cache
from aiohttp import web

from mediagen.defaults import RetryPolicy
from mediagen.testing import FAST_POLLING, Emulator

CLI_TIMEOUT = 120.0
"""Seconds one CLI process may take: a hang fails its test instead of stalling the run."""

TASK_SECONDS = 0.05
"""How long an emulated task runs in this suite, unless a test needs it to take longer."""


FAST_RETRY = RetryPolicy(base=0.01, cap=0.05)
"""The default retry policy (as many tries) with pauses of milliseconds, not seconds: for tests
whose point is what is retried, not how long the client waits in between."""


def fast_client_options(emu: Emulator, **overrides: Any) -> dict[str, Any]:
    """AsyncClient options for `emu` that poll fast: its Retry-After hints already make polls
    quick, but an answer without one (not found, an error) falls back to the client's schedule."""
    return {**emu.client_options(), "polling": FAST_POLLING, **overrides}


@asynccontextmanager
async def local_server(routes: Iterable[web.AbstractRouteDef]) -> AsyncIterator[str]:
    """A real aiohttp server on 127.0.0.1 (a free port) serving `routes`, tried in order
    (`web.post("/{tail:.*}", handler)` and the like); yields its base URL, `http://127.0.0.1:N`."""
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class HeldAnswers:
    """A local server's "/" (GET and POST) that answers only once `release` is set; `entered`
    is set when a request has arrived (see `held_answers`)."""

    def __init__(self) -> None:
        import asyncio

        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.base = ""

    async def hold(self, request: web.Request) -> web.Response:
        self.entered.set()
        await self.release.wait()
        return web.json_response({})


@asynccontextmanager
async def held_answers() -> AsyncIterator[HeldAnswers]:
    """A request on the wire, held there: for what happens to other requests meanwhile. The
    answers are released on the way out, so the server can stop."""
    held = HeldAnswers()
    async with local_server([web.get("/", held.hold), web.post("/", held.hold)]) as base:
        held.base = base
        try:
            yield held
        finally:
            held.release.set()


NO_CA_BUNDLE = {"SSL_CERT_FILE": os.devnull, "SSL_CERT_DIR": os.devnull}
"""Environment for a child that talks plain HTTP to loopback only (every CLI child of this
suite): OpenSSL then finds no CA certificates. aiohttp builds its two default TLS contexts
when it is imported, loading the system's CA bundle into each (about 0.1 s of CPU, a third of
a `mediagen run` child's instructions), and these children never use them; a child that did
try TLS would fail verification, never pass it."""


def mediagen_process(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    base_env: Mapping[str, str] | None = None,
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """`python -m mediagen ARGS` as its own process, the way a person runs it: its exit status,
    stdout and stderr. Its environment is `base_env` (default: this process's), `NO_CA_BUNDLE`,
    then `env`."""
    return subprocess.run(
        [sys.executable, "-m", "mediagen", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**(os.environ if base_env is None else base_env), **NO_CA_BUNDLE, **(env or {})},
    )


def mediagen_main(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    base_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The CLI's `main()` in this process, as `mediagen_process` runs it minus the interpreter's
    start-up (about a second of CPU a run): same environment rules, same result. For what only
    a process shows (start-up, signals, exit codes of the interpreter) use `mediagen_process`."""
    from mediagen import registry
    from mediagen.cli import main

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update({**(saved_env if base_env is None else base_env), **(env or {})})
    os.chdir(cwd)
    # A process builds its registry from MEDIAGEN_PLUGINS once: so does each run here, or one
    # run without the allow-list would leave every installed plugin to the next ones.
    allowed = os.environ.get(registry.ALLOW_LIST_ENV)
    saved_registry = registry._default
    registry._default = _REGISTRIES.get(allowed)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: --help, --version, usage errors
                code = exc.code if isinstance(exc.code, int) else 0
    finally:
        if registry._default is not None:
            _REGISTRIES[allowed] = registry._default
        registry._default = saved_registry
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


_REGISTRIES: dict[str | None, Any] = {}
"""The registry `mediagen_main` runs have built, by their MEDIAGEN_PLUGINS value."""


def run_folder(basetemp: Path) -> Path:
    """The folder every process of this test run shares, for caches: the parent of an xdist
    worker's basetemp (one per run), else the basetemp itself. pytest deletes it with the run's
    other temporary folders; nothing in it outlives three runs."""
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


SHARED: list[Path] = []
"""This run's shared folder, set by conftest.py's pytest_configure (collection needs it too)."""


def shared_folder(name: str) -> Path:
    """A folder of this run's shared one, made on first use (`run_folder`)."""
    folder = SHARED[0] / "shared" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def taking_turns(folder: Path, name: str = "") -> Iterator[None]:
    """Hold the lock file of `folder` (or of `name` in it): xdist workers (or two runs) sharing
    it take turns."""
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def render_once(render: Callable[[Path], dict[str, str]]) -> Callable[[Path], dict[str, str]]:
    """`render` (codegen's render_catalog) with its output kept for the rest of the run, by the
    content of the catalog folder (render_cache.kept, in this run's shared folder): rendering
    the shipped catalog takes 1-2 s of CPU, and a dozen tests (the conformance suite's
    generated check on each worker, `generate --check` in-process) compile the same files."""
    return render_cache.kept(render, lambda: shared_folder("codegen"))


CHILD_SITE = ("sitecustomize.py", f"{render_cache.MODULE}.py")
"""What `kept_renders_env` puts on a child's path: a sitecustomize that installs the render
cache (then runs any other sitecustomize, which it would otherwise shadow), and the cache."""


def kept_renders_env(env: Mapping[str, str]) -> dict[str, str]:
    """Environment entries that make a Python started with `env` (this environment's
    `python -m mediagen generate`, `python -m pytest` in a plugin's root) keep codegen's renders
    in this run's cache, as the test processes and author virtualenvs do (render_cache): each
    catalog content is rendered once per run, whichever process asks first."""
    folder = shared_folder("child-site")
    with taking_turns(folder):
        if not all((folder / name).is_file() for name in CHILD_SITE):
            shutil.copyfile(Path(render_cache.__file__), folder / CHILD_SITE[1])
            (folder / "partial").write_text(render_cache.SITECUSTOMIZE, encoding="utf-8")
            (folder / "partial").rename(folder / CHILD_SITE[0])
    path = os.pathsep.join(p for p in (str(folder), env.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, render_cache.ENV: str(shared_folder("codegen"))}


class GenerateCheck(NamedTuple):
    """What `shipped_generate_check`'s process did: its exit status and output, and the modules
    it imported (from `-X importtime`, whose lines are left out of `stderr`)."""

    returncode: int
    stdout: str
    stderr: str
    imported: frozenset[str]


def _tree_digest(*folders: Path) -> str:
    """sha256 over the names and bytes of the files under `folders` (no bytecode caches)."""
    h = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(f"{path.relative_to(folder.parent).as_posix()}\0".encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def shipped_generate_check() -> GenerateCheck:
    """`python -X importtime -m mediagen generate --check` as a person runs it, from the
    catalog/ folder of a copy of this checkout's catalog/ and generated/ (the project is found
    from a subfolder), once per run for this content: test_cli reads that it passes,
    test_startup_imports what it imported. The process reads and renders the catalog itself
    (`render_cache.RENDER_ANYWAY`), and that render then serves the run's other processes."""
    repo = Path(__file__).resolve().parents[1]
    folder = shared_folder("shipped-generate-check")
    done = folder / _tree_digest(repo / "catalog", repo / "generated")[:16]
    result = done / "result.json"
    with taking_turns(folder, done.name):
        if not result.is_file():
            shutil.rmtree(done, ignore_errors=True)
            for name in ("catalog", "generated"):
                ignore = shutil.ignore_patterns("__pycache__")
                shutil.copytree(repo / name, done / "checkout" / name, ignore=ignore)
            env = {**os.environ, **NO_CA_BUNDLE, "MEDIAGEN_PLUGINS": ""}
            out = subprocess.run(
                # -P: the catalog folder it runs in is not put on sys.path (its modules would
                # shadow top-level names), as the `mediagen` script does not put it there.
                [sys.executable, "-P", "-X", "importtime", "-m", "mediagen", "generate", "--check"],
                cwd=done / "checkout" / "catalog",
                capture_output=True,
                text=True,
                timeout=CLI_TIMEOUT,
                env={**env, **kept_renders_env(env), render_cache.RENDER_ANYWAY: "1"},
            )
            partial = done / "result.partial"
            partial.write_text(json.dumps([out.returncode, out.stdout, out.stderr]), "utf-8")
            partial.rename(result)
    returncode, stdout, stderr = json.loads(result.read_text(encoding="utf-8"))
    timing = [line for line in stderr.splitlines() if line.startswith("import time:")]
    rest = "".join(line for line in stderr.splitlines(True) if not line.startswith("import time:"))
    imported = frozenset(line.rsplit("|", 1)[1].strip() for line in timing[1:])  # [0]: header
    return GenerateCheck(returncode, stdout, rest, imported)


def hypothesis_env() -> dict[str, str]:
    """HYPOTHESIS_STORAGE_DIRECTORY for a `pytest` child (a plugin's own tests): the storage
    this run's hypothesis uses. Before its first example in a process, hypothesis reads every
    loaded local module (all of mediagen, from a checkout or an editable install) for constants
    to try, about 3 s of CPU, and keeps what it found by each file's content (sha1) in its
    storage; a child started elsewhere (a temporary folder, examples/replicate) would read them
    all again into a `.hypothesis` folder of its own. The conformance suite's examples are
    derandomized and use no example database, so only these constants are shared."""
    from hypothesis.configuration import storage_directory

    where = storage_directory()
    return {"HYPOTHESIS_STORAGE_DIRECTORY": str(getattr(where, "path", where))}


BUILD_TOOLS = ("setuptools", "wheel")
"""What pip's build isolation installs to build a setuptools project (its build-system
requires, then the `wheel` that setuptools' get_requires_for_build_wheel asks for)."""


def build_tools() -> Path:
    """A folder holding the newest setuptools and wheel the package index offers, installed
    once per run: what pip's build isolation would install, again, for every build (about
    7 s of CPU each). Builds use it with isolation off (`build_env`)."""
    folder = shared_folder("build-tools")
    tools = folder / hashlib.sha256(" ".join(BUILD_TOOLS).encode()).hexdigest()[:16]
    with taking_turns(folder):
        if not tools.is_dir():
            partial = folder / "partial"
            shutil.rmtree(partial, ignore_errors=True)
            subprocess.run(
                [
                    *(sys.executable, "-m", "pip", "install", "--quiet", "--no-compile"),
                    *("--target", str(partial), *BUILD_TOOLS),
                ],
                check=True,
            )
            partial.rename(tools)
    return tools


BUILD_ENV = {"PIP_NO_BUILD_ISOLATION": "0", "PIP_CHECK_BUILD_DEPENDENCIES": "1"}
"""pip builds with the environment's build tools instead of a fresh isolated set (pip's
option is inverted: "0" turns isolation off), after checking that they satisfy the project's
build-system requires. With `build_tools` first on the path, the build runs the same
setuptools an isolated build would, and the wheel holds the same files."""


PIP_ENV = {"PIP_NO_WARN_CONFLICTS": "0"}
"""After installing, pip checks every installed distribution's requirements against the new
set to warn of conflicts (its `--no-warn-conflicts` turns that off; "0" in the environment, as
pip inverts it): about a third of the Python calls of an editable install here. A warning
never fails the install, and no test reads pip's warnings."""


def build_path(env: Mapping[str, str]) -> str:
    """`env`'s PYTHONPATH with this run's `build_tools` first."""
    return os.pathsep.join(p for p in (str(build_tools()), env.get("PYTHONPATH")) if p)


def default_sigint() -> None:
    """`preexec_fn` for a CLI process that a test interrupts (SIGINT, as Ctrl-C does): a Python
    started with SIGINT ignored ignores it for good, and a suite run from a shell's background
    job without job control hands that down; the process gets SIGINT as a terminal gives it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def install_editable(root: Path, distribution: str) -> Path:
    """`pip install --no-deps -e ROOT` into this environment, as a user installs a plugin,
    unless `distribution` is installed already; returns `root`.

    Once per environment: xdist workers (or two test runs) sharing the virtualenv take turns
    on a lock file in it, and whoever comes second finds the distribution installed. The build
    uses this run's `build_tools` (`BUILD_ENV`).
    """
    with open(Path(sys.prefix) / ".mediagen-tests-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        importlib.invalidate_caches()
        try:
            importlib.metadata.distribution(distribution)
        except importlib.metadata.PackageNotFoundError:
            subprocess.run(
                [
                    *(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"),
                    *("--config-settings", "editable_mode=compat", "-e", str(root)),
                ],
                check=True,
                env={**os.environ, **BUILD_ENV, **PIP_ENV, "PYTHONPATH": build_path(os.environ)},
            )
            importlib.invalidate_caches()
    if str(root) not in sys.path:  # what the install's .pth file does in new processes
        sys.path.append(str(root))
    return root


# mediagen's subpackages that live outside its folder in the source tree (pyproject's
# package-dir), each linked into place by `link_tree`.
SUBPACKAGES = ("catalog", "codegen", "plugins", "generated", "testing", "cli")


def link_tree(target: Path) -> Path:
    """The installed mediagen as one folder mypy can read, whatever the install mode (setuptools'
    default editable finder maps catalog/, plugins/, ... into it at import time only)."""
    import mediagen

    package = target / "mediagen"
    package.mkdir(parents=True)
    own = Path(mediagen.__file__).resolve().parent
    for item in own.iterdir():
        if item.name not in SUBPACKAGES and item.name != "__pycache__":
            (package / item.name).symlink_to(item)
    for sub in SUBPACKAGES:
        (package / sub).symlink_to(
            Path(importlib.import_module(f"mediagen.{sub}").__path__[0]).resolve()
        )
    return target


MYPY_CONFIG = """\
[mypy]
strict = True
warn_unused_ignores = True

# mediagen is checked by its own mypy run (.ci/run): here it is only read, as a dependency.
[mypy-mediagen.*]
follow_imports = silent
"""


def mypy(*targets: str, cwd: Path, path: Iterable[Path]) -> subprocess.CompletedProcess[str]:
    """`mypy --strict` (MYPY_CONFIG) on `targets`, with the installed mediagen (`link_tree`)
    and then `path` on MYPYPATH.

    Every check of the run shares one cache and one mediagen tree, under the run's shared
    folder, and takes turns on them: the standard library, mediagen's dependencies and mediagen
    itself are analysed once per run (about 15 s of CPU), not once per check. The cache starts
    as a copy of the project's (`.ci/run` type-checks mediagen first) when there is one.
    """
    folder = shared_folder("mypy")
    config, cache, site = folder / "mypy.ini", folder / "cache", folder / "site"
    with taking_turns(folder):
        if not config.exists():
            repo = Path(__file__).resolve().parents[1]
            version = f"{sys.version_info.major}.{sys.version_info.minor}"
            project = repo / ".mypy_cache" / version
            if project.is_dir():
                shutil.copytree(project, cache / version)
            link_tree(site)
            config.write_text(MYPY_CONFIG, encoding="utf-8")
        return subprocess.run(
            [
                *(sys.executable, "-m", "mypy", "--config-file", str(config)),
                *("--no-error-summary", "--cache-dir", str(cache), *targets),
            ],
            cwd=cwd,
            env={**os.environ, "MYPYPATH": os.pathsep.join(str(p) for p in (site, *path))},
            capture_output=True,
            text=True,
            timeout=600,
        )


@attrs.frozen
class Dist:
    """The `dist` of a stand-in entry point: what mediagen reads of a distribution."""

    name: str
    version: str


@attrs.frozen
class StandInEntryPoint:
    """What importlib.metadata returns for an installed plugin: name, value, dist, load()."""

    name: str
    plugin: object
    dist: Dist
    value: str = "stand_in:plugin"

    def load(self) -> object:
        return self.plugin
