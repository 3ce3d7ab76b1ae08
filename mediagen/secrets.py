"""Keeping credentials out of everything a vendor sends back.

A vendor may echo what it received anywhere in an answer: an error message, a task's
failure reason, a trace id, a result object, a URL's query string. The engine passes every
decoded answer, and every error from a call, through a `Scrubber` before anything else sees
it, so statuses, results, the journal, logs and the CLI only ever hold the `MARKER`.

A secret is looked for in every encoding we send it in or a vendor is likely to echo it in:
plain (also as escaped inside a repr or a JSON string), percent-encoded (`quote`,
`quote_plus`, upper- and lower-case hex), base64 (standard and URL-safe, with and without
padding, and at each of the three byte alignments it can have inside a longer base64
stream, e.g. a Basic token), and percent-encoded base64. Secrets and forms shorter than
`SECRET_MIN_LENGTH` characters are left alone: replacing them would mangle ordinary text,
and no real key is that short.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from .catalog import Provider
from .defaults import SECRET_BYTE_SEARCHES, SECRET_MIN_LENGTH
from .errors import CallError, MalformedResponseError

MARKER = "***"
"""What every secret form is replaced with."""

_URLSAFE = str.maketrans("+/", "-_")
_PERCENT_HEX = re.compile(r"%[0-9A-F]{2}")


def secret_values(
    provider: Provider, credentials: Mapping[str, str], auth: Mapping[str, str]
) -> frozenset[str]:
    """Every string that must never be shown: the provider's secret credentials, and each
    auth header value that is not a public credential such as an app key, with its token
    alone when it has a scheme (`Basic <token>`, `Bearer <token>`)."""
    public = {
        credentials[c.name]
        for c in provider.auth.credentials
        if not c.secret and c.name in credentials
    }
    values = {
        credentials[c.name] for c in provider.auth.credentials if c.secret and c.name in credentials
    }
    for value in auth.values():
        if value not in public:
            values.add(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.isalpha():
                values.add(token)
    return frozenset(v for v in values if len(v) >= SECRET_MIN_LENGTH)


def encoded_forms(secret: str) -> set[str]:
    """The secret as it may appear in text: see the module docstring for the encodings."""
    raw = secret.encode("utf-8")
    # As written, and as escaped inside a Python repr or a JSON string (error snippets).
    forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]}
    whole = base64.b64encode(raw).decode("ascii")
    for form in (whole, whole.rstrip("=")):
        forms |= {form, form.translate(_URLSAFE)}
    forms |= _base64_cores(raw)
    for form in list(forms):
        for encoded in (quote(form, safe=""), quote(form), quote_plus(form)):
            forms |= {encoded, _PERCENT_HEX.sub(lambda m: m.group(0).lower(), encoded)}
    return {f for f in forms if len(f) >= SECRET_MIN_LENGTH}


def _base64_cores(raw: bytes) -> set[str]:
    """The base64 characters that depend on `raw` alone, for `raw` starting at byte offset
    0, 1 or 2 of a base64 stream: what shows of it inside any longer base64 text."""
    cores = set()
    for offset in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * offset + raw + b"\0\0").decode("ascii")
        # Character i carries bits [6i, 6i + 6); raw fills bits [8 * offset, 8 * (offset + n)).
        start = -(-8 * offset // 6)
        end = 8 * (offset + len(raw)) // 6
        core = encoded[start:end]
        cores |= {core, core.translate(_URLSAFE)}
    return cores


class Scrubber:
    """Replaces every encoded form of a set of secrets with `MARKER`, in text, in decoded JSON
    data and in a CallError's fields. Build one per set of credentials (`scrubber_for`)."""

    __slots__ = ("_forms", "_needles", "_pattern")

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) >= SECRET_MIN_LENGTH:
                forms |= encoded_forms(secret)
        # Longest first: where forms overlap, the alternation takes the whole one.
        self._forms = tuple(sorted(forms, key=lambda f: (-len(f), f)))
        self._pattern = re.compile("|".join(map(re.escape, self._forms))) if forms else None
        self._needles = _needles(self._forms)

    def __repr__(self) -> str:
        return f"<Scrubber of {len(self._forms)} secret forms>"

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        """The text with every secret form replaced; the same object when there is none."""
        return text if self._pattern is None else self._pattern.sub(MARKER, text)

    def raw(self, body: bytes) -> bytes:
        """An answer's body with every secret form replaced, before anything decodes it or
        cuts a snippet from it (a cut could keep part of a key); the same object when it holds
        none. Bytes that are not UTF-8 are kept as they are (surrogateescape)."""
        if self._pattern is None:
            return body
        try:  # the usual answer is UTF-8: the same text as surrogateescape gives, sooner
            text = body.decode()
        except UnicodeDecodeError:
            text = body.decode("utf-8", "surrogateescape")
        if self._needles is not None:
            # Substring tests on the text: `in` on str takes its operand directly, where each
            # `bytes.find` builds and parses an argument tuple (~1 k instructions apiece).
            for needle in self._needles:
                if needle in text:
                    break
            else:  # no form in the text (each holds a needle, see _needles): the usual answer
                return body
        if not self._pattern.search(text):
            return body
        return self._pattern.sub(MARKER, text).encode("utf-8", "surrogateescape")

    def data(self, value: Any) -> Any:
        """Decoded JSON data (dicts, lists, strings, numbers) with every string scrubbed,
        keys included: a cleaned copy, or the value itself when it holds no secret."""
        if self._pattern is None:
            return value
        try:
            strings: list[str] = []
            _collect(value, strings)
            # One search over all the strings: the usual answer holds no secret and is
            # returned untouched. (Credentials are header values: they hold no NUL.)
            if not self._pattern.search("\0".join(strings)):
                return value
            return self._data(value)
        except RecursionError:
            raise MalformedResponseError(
                "the answer nests too deeply to check it for echoed credentials"
            ) from None

    def _data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                (self.text(k) if isinstance(k, str) else k): self._data(v) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            cleaned = [self._data(v) for v in value]
            return cleaned if isinstance(value, list) else tuple(cleaned)
        return value

    def error(self, error: CallError) -> CallError:
        """The error with every vendor-supplied field scrubbed (message, vendor message,
        trace id, task id, a text vendor code); returns the same error."""
        if self._pattern is None:
            return error
        error.detail = self.text(error.detail)
        if error.vendor_message is not None:
            error.vendor_message = self.text(error.vendor_message)
        if error.trace_id is not None:
            error.trace_id = self.text(error.trace_id)
        if error.task_id is not None:
            error.task_id = self.text(error.task_id)
        if isinstance(error.code, str):
            error.code = self.text(error.code)
        error.args = (error._compose(),)
        return error


def _needles(forms: Iterable[str]) -> tuple[str, ...] | None:
    """The forms that hold no shorter form, for `Scrubber.raw` to look for in an answer's text
    before running the pattern: every form holds one of them, so a text holding none of them
    holds no form, and the pattern would find nothing. None when there are more than
    SECRET_BYTE_SEARCHES: then one pattern search is cheaper."""
    kept: list[str] = []
    for form in sorted(forms, key=len):
        if not any(shorter in form for shorter in kept):
            kept.append(form)
    if len(kept) > SECRET_BYTE_SEARCHES:
        return None
    return tuple(kept)


def _collect(value: Any, strings: list[str]) -> None:
    """Every string inside decoded JSON data, keys included, into `strings`."""
    if isinstance(value, str):
        strings.append(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _collect(key, strings)
            _collect(item, strings)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, strings)


@functools.lru_cache(maxsize=64)
def scrubber_for(secrets: frozenset[str]) -> Scrubber:
    """The Scrubber of a set of secrets, built once per set: the hot path only looks it up."""
    return Scrubber(secrets)
