"""The `mediagen` command line: one module per group of subcommands.

Errors print one line on stderr: exit status 2 for usage and parameter mistakes (caught
before any network call), 1 for failures of the call itself. With `--json`, stdout gets
exactly one JSON object (per item for batch/resume) whatever happens, errors included.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

# Only what every command needs is imported here: each command imports the rest (clients,
# aiohttp, the journal, the catalog loaders) when it runs, so `--help` and `list` stay fast.
from ..catalog.errors import CatalogError
from ..errors import ConfigurationError, MediagenError, ParamError
from . import (
    catalog_commands,
    diff_command,
    emulate_command,
    generate_command,
    journal_commands,
    new_plugin_command,
    plugins_command,
    run_commands,
)
from .common import UsageError, emit_failure, err, one_line

EPILOG = """\
credentials (from the environment):
  MEDIAIO_API_KEY (or API_KEY)               Media.io
  TOMOVIEE_APP_KEY + TOMOVIEE_APP_SECRET     Tomoviee
  EDRAWMAX_USER_ID                           EdrawMax (optional)
  MEDIAGEN_<PROVIDER>_BASE_URL               another base URL (https, or http on loopback)
  MEDIAGEN_JOURNAL                           the task journal file (off turns it off)

examples:
  mediagen demo
  mediagen list mediaio
  mediagen describe mediaio imagen_4
  mediagen run mediaio.imagen_4 prompt="a lighthouse at dusk" --emulate
  mediagen run tomoviee text_to_video prompt="a paper boat" --no-wait --json
  mediagen tasks --unfinished
  mediagen new-plugin zeta
"""


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # a bare `mediagen`: what it can do, not an error
        parser().print_help()
        return 0
    args = parser().parse_args(argv)
    level = os.environ.get("MEDIAGEN_LOG", "").strip().upper()
    if level:
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            return _fail(
                args,
                UsageError(f"MEDIAGEN_LOG={level.lower()!r}; allowed: debug, info, warning, error"),
                2,
            )
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")

    try:
        status = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return status
    except BrokenPipeError:  # `mediagen list --json | head -1`: the reader has had enough
        _silence_stdout()
        return 0
    # An except clause's classes are looked up only when an exception reaches it, so the
    # classes of modules a command may never import (batch, sqlite3) cost nothing.
    except _usage_errors() as exc:
        return _fail(args, exc, 2)
    except MediagenError as exc:
        return _fail(args, exc, 1)
    except _file_errors() as exc:  # a folder or journal file we cannot use
        where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
        return _fail(args, exc, 1, suffix=where)
    except KeyboardInterrupt:
        note = getattr(args, "interrupt_note", None)
        message = f"interrupted{f'; {note}' if note else ''}"
        with contextlib.suppress(BrokenPipeError):
            emit_failure(args, KeyboardInterrupt(message))
        err(f"mediagen: {message}")
        return 130


def _fail(args: argparse.Namespace, exc: BaseException, status: int, suffix: str = "") -> int:
    try:
        emit_failure(args, exc)
        err(f"mediagen: error: {one_line(exc)}{suffix}")
    except BrokenPipeError:
        _silence_stdout()
    return status


def _usage_errors() -> tuple[type[Exception], ...]:
    """Mistakes of the command line (exit status 2); a batch file's bad lines among them when
    mediagen.batch is loaded (if it is not, none was raised)."""
    batch = sys.modules.get("mediagen.batch")
    found = (batch.BatchInputError,) if batch is not None else ()
    return (UsageError, CatalogError, ParamError, ConfigurationError, *found)


def _file_errors() -> tuple[type[Exception], ...]:
    """A folder or file we cannot use; SQLite's errors when sqlite3 is loaded (if it is not,
    none was raised)."""
    sqlite3 = sys.modules.get("sqlite3")
    return (OSError, sqlite3.Error) if sqlite3 is not None else (OSError,)


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the interpreter's final flush does
    not fail again (the recipe in Python's signal documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (tests capturing it): nothing to flush
        pass


class _Version(argparse.Action):
    """--version, looked up only when asked (importlib.metadata is not free at start-up)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kw: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kw: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("mediagen")
        except PackageNotFoundError:
            number = "unknown (not installed)"
        print(f"mediagen {number}")
        parser.exit()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mediagen",
        description="A typed client for AI media-generation APIs, compiled from a spec catalog.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action=_Version)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        catalog_commands,
        run_commands,
        journal_commands,
        generate_command,
        diff_command,
        emulate_command,
        plugins_command,
        new_plugin_command,
    ):
        module.add_parsers(sub)
    return p


if __name__ == "__main__":
    sys.exit(main())
