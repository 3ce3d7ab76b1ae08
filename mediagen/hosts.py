"""Where requests and downloads may go: base URL overrides and the download allow-list."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from .errors import ConfigurationError
from .urls import host_of, split_plain

if TYPE_CHECKING:
    from .catalog import Provider

HOST_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")
"""A DNS name or IPv4 address, after IDNA encoding: labels of letters, digits, - and _."""


class Target(NamedTuple):
    """Where a provider's calls go (a tuple, not an attrs class: `describe` shows it without
    loading attrs)."""

    base_url: str
    overridden: bool


def base_url_env(provider: str) -> str:
    return f"MEDIAGEN_{provider.upper()}_BASE_URL"


def resolve_target(provider: Provider, overrides: Mapping[str, str] | None = None) -> Target:
    """The catalog's base URL, or an explicit override (argument, then environment).

    An override may be any https URL, or plain http on a loopback address (a local emulator
    or test server): credentials are never sent in the clear to another machine. It must be a
    whole base URL: a host, a port in 1..65535 if any, an optional path, and nothing else.
    """
    given = (overrides or {}).get(provider.name)
    url = given or os.environ.get(base_url_env(provider.name))
    if not url:
        return Target(provider.base_url, overridden=False)
    source = "base_urls" if given else base_url_env(provider.name)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed [IPv6 bracket
        raise ConfigurationError(
            f"{provider.name}: base URL {url!r} (from {source}) is not a URL ({exc}); "
            "allowed: https://host[:port][/path], or http:// on a loopback address"
        ) from None
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            f"{provider.name}: a base URL must not carry a user name or password; "
            "give credentials to the client instead"
        )
    problem = _base_url_problem(url)
    if problem:
        raise ConfigurationError(
            f"{provider.name}: base URL {url!r} (from {source}) is not usable: {problem}; "
            "allowed: https://host[:port][/path], or http:// on a loopback address, "
            "with a port in 1..65535"
        )
    if parts.scheme == "https":
        return Target(url.rstrip("/"), overridden=True)
    if parts.scheme == "http" and is_loopback(parts.hostname or ""):
        return Target(url.rstrip("/"), overridden=True)
    raise ConfigurationError(
        f"{provider.name}: base URL {url!r} is not allowed; use https://..., or http:// only on "
        "a loopback address (127.0.0.1, ::1, localhost)"
    )


def _base_url_problem(url: str) -> str | None:
    """Why url cannot be a base URL (checked here, so no request is ever built from it)."""
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "it contains whitespace or control characters"
    if "\\" in url:
        return "it contains a backslash"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"the scheme is {parts.scheme or 'missing'!r}, not http or https"
    if not parts.hostname:
        return "it has no host"
    if not _valid_host(parts.hostname):
        return f"{parts.hostname!r} is not a host name or IP address"
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (port is not None and not 1 <= port <= 65535) or parts.netloc.endswith(":"):
        return f"the port {parts.netloc.rpartition(':')[2]!r} is not a number in 1..65535"
    if parts.query or url.rstrip("/").endswith("?"):
        return "a base URL takes no query (?...)"
    if parts.fragment or "#" in url:
        return "a base URL takes no fragment (#...)"
    return None


def _valid_host(host: str) -> bool:
    if ":" in host:  # only an IPv6 literal has colons in it
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    try:
        ascii_host = host.encode("idna").decode("ascii")
        ascii_host.encode("ascii").decode("idna")  # punycode labels must decode too
    except UnicodeError:
        return False
    return HOST_NAME.fullmatch(ascii_host) is not None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def download_allowed(provider: Provider, target: Target, url: str) -> str | None:
    """None when the artifact URL may be fetched, else the reason it may not."""
    plain = split_plain(url)  # the usual artifact URL, read as urlsplit reads it
    if plain is not None:
        scheme, netloc, _ = plain
        host = host_of(netloc)
    else:
        parts = urlsplit(url)
        scheme, netloc = parts.scheme, parts.netloc
        host = (parts.hostname or "").lower()
    if target.overridden:
        base = urlsplit(target.base_url)
        if (scheme, netloc) == (base.scheme, base.netloc):
            return None
    if scheme != "https":
        return f"{url!r} is not https"
    for allowed in provider.download_hosts:
        if allowed == "*":
            return None
        suffix = allowed.lower()
        if host == suffix.lstrip(".") or (suffix.startswith(".") and host.endswith(suffix)):
            return None
    return f"host {host!r} is not among {provider.name}'s download hosts ({', '.join(provider.download_hosts)})"
