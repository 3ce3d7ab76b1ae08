"""Catalog errors: each names the file, the entry, what is wrong and what was expected."""

from __future__ import annotations

from pathlib import Path


class CatalogError(Exception):
    """A catalog file that cannot be loaded as written."""

    def __init__(
        self,
        file: str | Path,
        problem: str,
        *,
        entry: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.file = str(file)
        self.entry = entry
        self.problem = problem
        self.expected = expected
        where = self.file if entry is None else f"{self.file}: {entry}"
        message = f"{where}: {problem}"
        if expected:
            message += f" (expected {expected})"
        super().__init__(message)


class UnreadableFile(CatalogError):
    """JSON or YAML that does not parse; the message carries line and column."""


class UnknownType(CatalogError):
    pass


class DuplicateName(CatalogError):
    pass


class InvalidDefault(CatalogError):
    pass


class UnboundPathParam(CatalogError):
    """A {placeholder} in an endpoint path with no parameter to fill it."""


class MissingFact(CatalogError):
    """A required provider-level fact (base URL, auth, states, ...) is absent or malformed."""


class InvalidEntry(CatalogError):
    """Anything else in an entry that does not fit the format."""
