"""Plain http(s) URLs split without `urllib.parse`: artifact URLs are read on every result.

`split_plain` reads only URLs whose parts need no decoding or checks (a scheme, a host of
ASCII letters, digits, dots and hyphens, an optional port, then a path, query and fragment
without whitespace), and reads them exactly as `urlsplit` does; anything else gives None,
for the caller to hand to `urlsplit`.
"""

from __future__ import annotations

import re

_PLAIN = re.compile(
    r"(https?)://([A-Za-z0-9.-]+(?::[0-9]{1,5})?)(/[^?#\s]*)?(?:[?#]\S*)?", re.IGNORECASE
).fullmatch


_PLAIN_ASCII = re.compile(
    r"([Hh][Tt][Tt][Pp][Ss]?)://([A-Za-z0-9.-]+(?::[0-9]{1,5})?)"
    r"(/[^?#\t\n\v\f\r\x1c-\x20]*)?(?:[?#][^\t\n\v\f\r\x1c-\x20]*)?"
).fullmatch
"""`_PLAIN` for ASCII text: the same matches, each case spelt out and `\\s` as the ASCII
characters it matches, so no character is case-folded or looked up by category (about a
fifth cheaper on the usual artifact URL)."""


def split_plain(url: str) -> tuple[str, str, str] | None:
    """(scheme, netloc, path) of a plain http(s) URL, as `urlsplit` gives them (the scheme
    lower-cased, the netloc as written, "" for no path); None for any other text."""
    match = _PLAIN_ASCII(url) if url.isascii() else _PLAIN(url)
    if match is None:
        return None
    scheme, netloc, path = match.groups()
    return scheme.lower(), netloc, path or ""


def host_of(netloc: str) -> str:
    """The hostname `urlsplit` gives for a netloc `split_plain` returned: lower-cased, no port."""
    return netloc.partition(":")[0].lower()
