"""Small checks shared by the provider-file readers: each raises a precise CatalogError."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import InvalidEntry, MissingFact
from .paths import PATH_SYNTAX, FieldPath, parse_path


def known_keys(file: Path, block: Mapping[str, Any], entry: str, allowed: frozenset[str]) -> None:
    """Refuse keys the loader would otherwise ignore: a typo must not pass silently."""
    unknown = set(block) - allowed
    if unknown:
        raise InvalidEntry(
            file,
            f"unknown keys {sorted(unknown, key=str)}",
            entry=entry,
            expected=", ".join(sorted(allowed)),
        )


def required(
    file: Path, doc: Mapping[str, Any], key: str, kind: type, *, entry: str | None = None
) -> Any:
    value = doc.get(key)
    if value is None or (kind is str and value == ""):
        raise MissingFact(file, f"missing {key!r}", entry=entry, expected=f"a {kind.__name__}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidEntry(file, f"{key} is {value!r}", entry=entry, expected=f"a {kind.__name__}")
    return value


def optional_str(file: Path, doc: Mapping[str, Any], key: str, *, entry: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidEntry(file, f"{key} is {value!r}", entry=entry, expected="a non-empty string")
    return value


def str_list(
    file: Path, doc: Mapping[str, Any], key: str, *, required: bool = False
) -> tuple[str, ...]:
    value = doc.get(key)
    if value is None and not required:
        return ()
    if (
        not isinstance(value, list)
        or not all(isinstance(v, str) for v in value)
        or (required and not value)
    ):
        raise MissingFact(
            file,
            f"{key} is {value!r}",
            expected="a non-empty list of strings" if required else "a list of strings",
        )
    return tuple(value)


def field_path(
    file: Path, doc: Mapping[str, Any], key: str, *, entry: str, needed: bool = False
) -> FieldPath | None:
    """A `*_field`-style entry parsed once into a FieldPath (None when absent and optional)."""
    raw = doc.get(key)
    if raw is None or raw == "":
        if needed:
            raise MissingFact(file, f"missing {key!r}", entry=entry, expected=PATH_SYNTAX)
        return None
    path = parse_path(raw)
    if path is None:
        raise InvalidEntry(
            file, f"{key} {raw!r} is not a field path", entry=entry, expected=PATH_SYNTAX
        )
    return path


def is_code(value: object) -> bool:
    """A vendor code or status value as the catalog may write it: an int or a string."""
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.strip() != ""
    )
