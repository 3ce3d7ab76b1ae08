"""What every command shares: the usage error, and writing to the terminal."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUTPUT = Path("mediagen-output")


class UsageError(Exception):
    """A command-line mistake: printed as one line, exit status 2."""


# C0 controls, DEL, C1 controls and lone surrogates: what can drive a terminal (move the
# cursor, clear the screen, retitle the window) or cannot be encoded at all; and the bidi
# controls (ALM, LRM, RLM, LRE..RLO, LRI..PDI), which reorder what is shown after them (a task
# id that reads as another one).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNPRINTABLE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
# In JSON text: json.dumps(ensure_ascii=False) escapes only C0, and only inside strings can
# these occur (the rest of the document is ASCII).
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{_BIDI}\ud800-\udfff]")


def printable(text: object) -> str:
    """Text safe to show at a terminal: control characters, bidi controls and lone surrogates
    as repr-style escapes (`\\x1b`, `\\x9b`, `\\u202e`, `\\ud800`); everything else,
    non-ASCII text included, as is. Use it on everything printed for people that may hold
    vendor text or file names."""
    return _UNPRINTABLE.sub(_escape, str(text))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def json_text(value: Any, **options: Any) -> str:
    """json.dumps for output: valid JSON with non-ASCII text readable, but DEL, C1 controls,
    bidi controls and lone surrogates escaped as `\\uXXXX` too, so it is safe at a terminal
    and encodable."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def out(text: object) -> None:
    """Print a line for people on stdout, made printable."""
    print(printable(text))


def err(message: str) -> None:
    """Print a line for people on stderr, made printable."""
    print(printable(message), file=sys.stderr, flush=True)


def add_output_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"download folder (default: ./{DEFAULT_OUTPUT})",
    )
