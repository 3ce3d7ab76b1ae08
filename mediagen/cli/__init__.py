"""The `mediagen` command line: one module per group of subcommands.

Errors print one line on stderr: exit status 2 for usage and parameter mistakes (caught
before any network call), 1 for failures of the call itself.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence

from ..batch import BatchInputError
from ..catalog import CatalogError
from ..errors import ConfigurationError, MediagenError, ParamError
from . import (
    catalog_commands,
    diff_command,
    emulate_command,
    generate_command,
    journal_commands,
    plugins_command,
    run_commands,
)
from .common import UsageError, err


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    level = os.environ.get("MEDIAGEN_LOG", "").strip().upper()
    if level:
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            err(
                f"mediagen: error: MEDIAGEN_LOG={level.lower()!r}; allowed: debug, info, warning, error"
            )
            return 2
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")

    try:
        return int(args.func(args))
    except (UsageError, CatalogError, ParamError, ConfigurationError, BatchInputError) as exc:
        err(f"mediagen: error: {_one_line(exc)}")
        return 2
    except MediagenError as exc:
        err(f"mediagen: error: {_one_line(exc)}")
        return 1
    except (OSError, sqlite3.Error) as exc:  # a folder or journal file we cannot use
        where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
        err(f"mediagen: error: {_one_line(exc)}{where}")
        return 1
    except KeyboardInterrupt:
        err("mediagen: interrupted")
        return 130
    except BrokenPipeError:
        return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mediagen",
        description="A typed client for AI media-generation APIs, compiled from a spec catalog.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        catalog_commands,
        run_commands,
        journal_commands,
        generate_command,
        diff_command,
        emulate_command,
        plugins_command,
    ):
        module.add_parsers(sub)
    return p


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
