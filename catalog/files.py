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
    """A YAML file's data, read by libyaml's C parser where PyYAML has it (about ten times
    faster on the catalogs; the same safe constructor, so the same data for every shipped
    catalog file, tested). It accepts a little the pure-Python parser refuses (a tab after
    `key:`); what it refuses is read again by the pure-Python parser, whose message names the
    mistake more fully ("found undefined alias 'x'")."""
    import yaml  # only codegen, diff and stale catalogs read YAML: not every start-up

    text = _read_text(path)
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.load(text, Loader=fast)
        except yaml.YAMLError:
            pass  # read again below, for the message
        except ValueError as exc:  # a value the safe constructor cannot make
            raise _unreadable_value(path, exc) from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UnreadableFile(path, f"invalid YAML{where}: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise UnreadableFile(path, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise UnreadableFile(path, "invalid YAML: nested too deeply") from None
    except ValueError as exc:
        raise _unreadable_value(path, exc) from None


def _unreadable_value(path: Path, exc: ValueError) -> UnreadableFile:
    """A value that parses but cannot be made (a date like 2023-02-30): the parsers say what,
    not where."""
    return UnreadableFile(path, f"invalid YAML: a value that cannot be read ({exc})")


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
