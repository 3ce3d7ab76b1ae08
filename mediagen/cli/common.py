"""What every command shares: the usage error, and writing to the terminal."""

from __future__ import annotations

import sys


class UsageError(Exception):
    """A command-line mistake: printed as one line, exit status 2."""


def err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
