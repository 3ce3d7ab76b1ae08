"""The `mediagen` command line: one module per group of subcommands.

Errors print one line on stderr: exit status 2 for usage and parameter mistakes (caught
before any network call), 1 for failures of the call itself. With `--json`, stdout gets
exactly one JSON object (per item for batch/resume) whatever happens, errors included.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, cast

# Only what every command needs is imported here: each command's module (and with it the
# clients, aiohttp, the journal, the catalog loaders) is imported when that command runs, so
# `--help` and `list` stay fast.
from ..catalog.errors import CatalogError
from ..errors import ConfigurationError, MediagenError, ParamError
from .common import UsageError, emit_failure, err, one_line
from .formatting import Parser, RawDescriptionHelpFormatter

COMMANDS = {
    "list": ("catalog_commands", "list the operations of every provider (or one)"),
    "describe": (
        "catalog_commands",
        "show one operation's parameters, types, allowed values and limits",
    ),
    "run": ("run_commands", "run one operation: validate, submit, wait, download"),
    "wait": ("run_commands", "wait for a task submitted earlier, then download its result"),
    "demo": ("run_commands", "run one operation per provider against the built-in emulator"),
    "tasks": ("journal_commands", "list the tasks in the journal"),
    "resume": (
        "journal_commands",
        "finish every unfinished task in the journal; download missing files",
    ),
    "batch": ("journal_commands", 'run a JSON-lines file of {"provider", "operation", "params"}'),
    "generate": ("generate_command", "compile catalog/ into generated/ (run in a source checkout)"),
    "diff": ("diff_command", "report what changed between two catalogs: breaking or not"),
    "emulate": ("emulate_command", "serve the local emulator of every provider (Ctrl-C stops it)"),
    "plugins": (
        "plugins_command",
        "list loaded plugins: distribution, providers, strategies they override",
    ),
    "new-plugin": (
        "new_plugin_command",
        "create a provider plugin package (catalog, generated code, conformance tests)",
    ),
}
"""Command -> (its module in this package, its line in `mediagen --help`), in that order. The
module's `add_parsers(sub)` adds the full parsers of its commands (without `help=`: it is
here), and is imported and called only for the command being run."""

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
    try:
        p = parser()
        args, extra = p.parse_known_args(argv)
        if extra:
            _unrecognized(p, args, extra)
    except UsageError as exc:  # argparse's findings (Parser.error): its namespace is unfinished
        return _fail(argparse.Namespace(json="--json" in argv), exc, 2)
    level = os.environ.get("MEDIAGEN_LOG", "").strip().upper()
    if level:
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            return _fail(
                args,
                UsageError(f"MEDIAGEN_LOG={level.lower()!r}; allowed: debug, info, warning, error"),
                2,
            )
        import logging

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
    p = Parser(
        prog="mediagen",
        description="A typed client for AI media-generation APIs, compiled from a spec catalog.",
        epilog=EPILOG,
        formatter_class=RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action=_Version)
    sub = cast(
        "_Commands",
        p.add_subparsers(dest="command", required=True, metavar="COMMAND", action=_Commands),
    )
    for name, (_, line) in COMMANDS.items():
        sub.add_placeholder(name, line)
    return p


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """The subcommands, each a placeholder (its name and help line, no parser) until it is the
    one run: then its module is imported and adds its real parser. Building every parser (each
    a dozen gettext lookups and help formatters) and importing every command's module was most
    of what `--help` and `list` cost."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._placeholders: set[str] = set()

    def add_placeholder(self, name: str, line: str) -> None:
        """List `name` with its help line, as `add_parser(name, help=line)` would."""
        self._choices_actions.append(self._ChoicesPseudoAction(name, (), line))
        self._name_parser_map[name] = None  # a valid choice; no parser before it is run
        self._placeholders.add(name)

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if name in self._placeholders:  # its module adds it for real; help lists it already
            self._placeholders.discard(name)
            del self._name_parser_map[name]
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
        return parser

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        name = values[0]
        if name in self._placeholders:
            importlib.import_module(f"{__name__}.{COMMANDS[name][0]}").add_parsers(self)
        super().__call__(parser, namespace, values, option_string)
        # Whose options an unrecognized argument was meant for (see `_unrecognized`).
        setattr(namespace, _COMMAND_PARSER, self._name_parser_map.get(name))


_COMMAND_PARSER = "_command_parser"


def _unrecognized(p: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]) -> None:
    """Refuse arguments nobody took, through the command's own parser (so the error points at
    `mediagen COMMAND --help`), suggesting the option a misspelt one is closest to."""
    import difflib

    command = getattr(args, _COMMAND_PARSER, None) or p
    known = [o for o in command._option_string_actions if o.startswith("--")]
    hints = []
    for arg in extra:
        flag = arg.split("=", 1)[0]
        if flag.startswith("--"):
            close = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
            if close:
                hints.append(f"{flag}: did you mean {close[0]}?")
    if len(extra) == 1 and hints:  # "--emulat: did you mean --emulate?" names it already
        command.error(f"unrecognized argument {hints[0]}")
    command.error(f"unrecognized arguments: {' '.join(extra)}" + "".join(f"; {h}" for h in hints))


if __name__ == "__main__":
    sys.exit(main())
