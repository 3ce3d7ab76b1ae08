"""The command line's argparse parser and help formatters, which look up the terminal's width
only to print help.

argparse builds a help formatter for every argument it adds (to check its metavar), and each
asks shutil for the terminal's width: importing shutil (and bz2, lzma and fnmatch with it) was
a twentieth of `mediagen list`, which prints no help. These formatters ask when they first
format something, and compute what argparse computes.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn


class _DeferredWidth(argparse.HelpFormatter):
    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        self._asked = (indent_increment, max_help_position, width)
        self._sizes: tuple[int, int] | None = None
        super().__init__(prog, indent_increment, max_help_position, width=0)  # not looked up

    def _size(self) -> tuple[int, int]:
        """(width, max help position), as argparse's HelpFormatter.__init__ computes them."""
        if self._sizes is None:
            indent_increment, max_help_position, width = self._asked
            if width is None:
                import shutil

                width = shutil.get_terminal_size().columns - 2
            self._sizes = (width, min(max_help_position, max(width - 20, indent_increment * 2)))
        return self._sizes

    @property
    def _width(self) -> int:
        return self._size()[0]

    @_width.setter
    def _width(self, value: int) -> None:
        """Set by argparse's __init__ (from the placeholder width): looked up instead."""

    @property
    def _max_help_position(self) -> int:
        return self._size()[1]

    @_max_help_position.setter
    def _max_help_position(self, value: int) -> None:
        """As `_width`."""


class HelpFormatter(_DeferredWidth, argparse.HelpFormatter):
    """argparse.HelpFormatter, the width looked up when help is formatted."""


class RawDescriptionHelpFormatter(_DeferredWidth, argparse.RawDescriptionHelpFormatter):
    """argparse.RawDescriptionHelpFormatter, the width looked up when help is formatted."""


class Parser(argparse.ArgumentParser):
    """argparse.ArgumentParser with `HelpFormatter` by default (its subcommands' parsers too),
    and no abbreviated options: `--emulat` is a typo to name, not `--emulate` (an abbreviation
    that works today would break the day another option shares its prefix)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """A mistake argparse found (a bad option value, a missing argument) is a UsageError
        like every other mistake caught before the network: one line, exit status 2, and one
        object under --json (`main` prints them), not argparse's usage block."""
        from .common import UsageError

        raise UsageError(f"{message} (`{self.prog} --help` shows what is allowed)")
