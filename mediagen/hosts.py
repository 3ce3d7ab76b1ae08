"""Where requests and downloads may go: base URL overrides and the download allow-list."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs

from .catalog import Provider
from .errors import ConfigurationError


@attrs.frozen
class Target:
    base_url: str
    overridden: bool


def base_url_env(provider: str) -> str:
    return f"MEDIAGEN_{provider.upper()}_BASE_URL"


def resolve_target(provider: Provider, overrides: Mapping[str, str] | None = None) -> Target:
    """The catalog's base URL, or an explicit override (argument, then environment).

    An override may be any https URL, or plain http on a loopback address (a local emulator
    or test server): credentials are never sent in the clear to another machine.
    """
    url = (overrides or {}).get(provider.name) or os.environ.get(base_url_env(provider.name))
    if not url:
        return Target(provider.base_url, overridden=False)
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            f"{provider.name}: a base URL must not carry a user name or password; "
            "give credentials to the client instead"
        )
    if parts.scheme == "https" and parts.hostname:
        return Target(url.rstrip("/"), overridden=True)
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return Target(url.rstrip("/"), overridden=True)
    raise ConfigurationError(
        f"{provider.name}: base URL {url!r} is not allowed; use https://..., or http:// only on "
        "a loopback address (127.0.0.1, ::1, localhost)"
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def download_allowed(provider: Provider, target: Target, url: str) -> str | None:
    """None when the artifact URL may be fetched, else the reason it may not."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if target.overridden:
        base = urlsplit(target.base_url)
        if (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
            return None
    if parts.scheme != "https":
        return f"{url!r} is not https"
    for allowed in provider.download_hosts:
        if allowed == "*":
            return None
        suffix = allowed.lower()
        if host == suffix.lstrip(".") or (suffix.startswith(".") and host.endswith(suffix)):
            return None
    return f"host {host!r} is not among {provider.name}'s download hosts ({', '.join(provider.download_hosts)})"
