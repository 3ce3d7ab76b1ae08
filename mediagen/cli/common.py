"""What every command shares: the usage error, and writing to the terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUTPUT = Path("mediagen-output")


class UsageError(Exception):
    """A command-line mistake: printed as one line, exit status 2."""


def err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def add_output_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"download folder (default: ./{DEFAULT_OUTPUT})",
    )
