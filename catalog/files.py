"""Reading catalog files, with errors that point at the line and column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import CatalogError, UnreadableFile


def read_json(path: Path) -> Any:
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(
            path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


def read_yaml(path: Path) -> Any:
    import yaml  # only codegen, diff and stale catalogs read YAML: not every start-up

    text = _read_text(path)
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        # libyaml's C parser (about ten times faster on the catalogs; the same safe
        # constructor, so the same data) says less about a mistake ("found undefined alias",
        # without its name): the pure-Python parser reads a file it refuses, and says more.
        pass
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UnreadableFile(path, f"invalid YAML{where}: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise UnreadableFile(path, f"invalid YAML: {exc}") from None


def read_data(path: Path) -> Any:
    """JSON or YAML, by extension."""
    if path.suffix == ".json":
        return read_json(path)
    return read_yaml(path)


def parse_embedded_json(path: Path, entry: str, field: str, text: object) -> Any:
    """Vendor exports nest JSON documents inside JSON strings."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(
            path,
            f"field {field!r} holds invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            entry=entry,
        ) from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableFile(path, f"cannot read: {exc}") from None
