"""What every command shares: the usage error, and writing to the terminal."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, MediagenError

if TYPE_CHECKING:
    from ..catalog import Operation

DEFAULT_OUTPUT = Path("mediagen-output")


class UsageError(Exception):
    """A command-line mistake: printed as one line, exit status 2."""


class CredentialsNotInEnvironment(ConfigurationError):
    """The environment lacks credentials a command will need, found before any request (exit
    status 2). `missing` maps each such provider to the environment variables to set, one
    entry per credential (alternatives joined by " or "); `provider` and `operation` name the
    call when there is one. `--json` reports it as the library's MissingCredentialError."""

    def __init__(self, missing: dict[str, list[str]], *, operation: str | None = None) -> None:
        self.missing = missing
        provider = next(iter(missing)) if len(missing) == 1 else None
        problems = "; ".join(
            f"set {' and '.join(variables)} for {name}" for name, variables in missing.items()
        )
        super().__init__(
            f"missing credentials: {problems} in the environment"
            " (or try it offline: `mediagen run ... --emulate`, or `mediagen emulate`)",
            provider=provider,
            operation=operation if provider is not None else None,
        )

    def to_json(self) -> dict[str, Any]:
        # One word for one condition, whether the library or the command line found it.
        return {**super().to_json(), "type": "MissingCredentialError"}


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


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (never empty)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def error_json(exc: BaseException) -> dict[str, Any]:
    """The `error` object of every `--json` output: `type`, `message`, `provider`,
    `operation`, `task_id`, vendor `code`, `status`, `trace_id` (None where unknown)."""
    if isinstance(exc, MediagenError):
        return exc.to_json()
    return {
        "type": type(exc).__name__,
        "message": one_line(exc),
        "provider": None,
        "operation": None,
        "task_id": None,
        "code": None,
        "status": None,
        "trace_id": None,
    }


def json_context(args: argparse.Namespace) -> dict[str, Any]:
    """What a command's `--json` failure object says besides `error`: a command that knows
    more (run: provider, operation, task id, state) fills it in as it goes."""
    context: dict[str, Any] = vars(args).setdefault("json_context", {})
    return context


def emit_json(args: argparse.Namespace, doc: dict[str, Any]) -> None:
    """Print a command's one JSON object, and remember that it was printed."""
    print(json_text(doc))
    args.json_emitted = True


def emit_failure(args: argparse.Namespace, exc: BaseException) -> None:
    """--json keeps its promise on failure: one object with an `error`, unless the command
    already printed its object."""
    if getattr(args, "json", False) and not getattr(args, "json_emitted", False):
        emit_json(args, {**json_context(args), "error": error_json(exc)})


def add_output_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"download folder (default: ./{DEFAULT_OUTPUT})",
    )


def dotted_arguments(
    provider: str | None, rest: list[str]
) -> tuple[str | None, str | None, list[str]]:
    """A command's PROVIDER OPERATION and the arguments after them, where the first may be
    `provider.operation` (then the next argument is not the operation)."""
    if provider and "." in provider:
        first, _, second = provider.partition(".")
        return first, second, rest
    return provider, (rest[0] if rest else None), rest[1:]


def find_operation(provider: str, operation: str, *, retired_ok: bool = False) -> Operation:
    """The catalog's operation, or a UsageError naming the closest names; with `retired_ok`
    (waiting on a task), a stand-in for one that left the catalog, when its provider can finish
    tasks by id."""
    from ..registry import default_registry

    catalog = default_registry().catalog  # plugins' providers included
    try:
        spec = catalog.provider(provider)
    except KeyError:
        names = [p.name for p in catalog.providers]
        raise UsageError(_unknown("provider", provider, names, "mediagen list")) from None
    try:
        return spec.operation(operation)
    except KeyError:
        if retired_ok:
            from ..retired import retired_operation

            return retired_operation(spec, operation)
        names = [op.id for op in spec.operations]
        raise UsageError(
            _unknown(f"{provider} operation", operation, names, f"mediagen list {provider}")
        ) from None


def find_provider_operations(provider: str) -> list[Operation]:
    from ..registry import default_registry

    catalog = default_registry().catalog  # plugins' providers included
    try:
        return list(catalog.provider(provider).operations)
    except KeyError:
        names = [p.name for p in catalog.providers]
        raise UsageError(_unknown("provider", provider, names, "mediagen list")) from None


def _unknown(what: str, name: str, known: list[str], lister: str) -> str:
    from ..names import close_names

    close = close_names(name, known)
    if close:
        return f"no {what} {name!r}; did you mean {' or '.join(close)}? (`{lister}` shows all)"
    if len(known) <= 6:
        return f"no {what} {name!r}; known: {', '.join(sorted(known))}"
    return f"no {what} {name!r}; `{lister}` shows the {len(known)} known"


def check_credentials(providers: Iterable[str], *, operation: str | None = None) -> None:
    """Every credential the command line will need, from the environment, before the first
    request: a CredentialsNotInEnvironment naming the variables to set, all of a provider's at
    once (`operation`: the one call's operation, for its `--json` error)."""
    from ..credentials import CredentialStore
    from ..errors import MissingCredentialError
    from ..registry import default_registry

    catalog = default_registry().catalog  # plugins' providers included
    from_environment = CredentialStore({})  # the command line takes none of its own
    missing: dict[str, list[str]] = {}
    for name in sorted(set(providers)):
        try:
            from_environment.resolve(catalog.provider(name))
        except MissingCredentialError as exc:
            settable = [" or ".join(env) for _, env, _ in exc.missing if env]
            if settable:
                missing[name] = settable
    if missing:
        raise CredentialsNotInEnvironment(missing, operation=operation)
