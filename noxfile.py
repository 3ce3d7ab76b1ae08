"""Developer sessions: tests, lint, typecheck, generate, generate_check, bench.

CI runs .ci/run instead (no nox needed on a fresh machine); both run the same tools.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "generate_check", "tests"]
nox.options.default_venv_backend = "venv"


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    # A strict editable install is a link tree mypy can follow (see pyproject.toml's layout).
    session.install("-e", ".[dev]", "--config-settings", "editable_mode=strict")
    package = session.run(
        "python",
        "-c",
        "import mediagen, os; print(os.path.dirname(mediagen.__file__))",
        silent=True,
    )
    session.run("mypy", "--config-file", "pyproject.toml", str(package).strip())


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate generated/ from catalog/."""
    session.install("-e", ".[codegen]")
    session.run("mediagen", "generate")


@nox.session
def generate_check(session: nox.Session) -> None:
    session.install("-e", ".[codegen]")
    session.run("mediagen", "generate", "--check")


BENCHMARKS = ("startup", "percall", "journal_floor", "polling", "concurrent_tasks")


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark, each printing ratios against peers run in the same run (see bench/).
    `nox -s bench -- percall polling` runs only those."""
    session.install("-e", ".")
    for name in session.posargs or BENCHMARKS:
        session.run("python", f"bench/{name}.py")
