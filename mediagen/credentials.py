"""Credentials: explicit values first, then the environment variables the catalog names.

Values are kept in `Secret` wrappers so they never show up in a repr, a log line or a
traceback's locals by accident; `reveal()` is the one way to read them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .catalog import Provider
from .errors import MissingCredentialError

CLIENT_SHORTCUTS: Mapping[tuple[str, str], str] = {
    ("mediaio", "api_key"): "mediaio_api_key",
    ("tomoviee", "app_key"): "tomoviee_app_key",
    ("tomoviee", "app_secret"): "tomoviee_app_secret",
    ("edrawmax", "user_id"): "edrawmax_user_id",
}
"""The client's keyword for a built-in provider's credential: `AsyncClient(mediaio_api_key=...)`
is `credentials={"mediaio": {"api_key": ...}}`."""


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


class SecretMapping(dict[str, str]):
    """A dict whose repr hides the values: credentials and auth headers in flight, so a
    traceback printed with its locals (Sentry, pytest --showlocals) shows no key."""

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: '***'" for k in self) + "}"

    __str__ = __repr__


class CredentialStore:
    """Credentials given to a client, per provider and credential name."""

    def __init__(self, given: Mapping[str, Mapping[str, str | None]] | None = None) -> None:
        self._given: dict[str, dict[str, Secret]] = {}
        for provider, values in (given or {}).items():
            for name, value in values.items():
                if value is not None and value != "":
                    self._given.setdefault(provider, {})[name] = Secret(str(value))
        self._shared: dict[str, tuple[Provider, SecretMapping]] = {}

    def __repr__(self) -> str:
        listed = {p: sorted(v) for p, v in self._given.items()}
        return f"CredentialStore({listed})"

    def resolve(self, provider: Provider) -> SecretMapping:
        """name -> value for the provider; a missing required one raises before any network."""
        given = self._given.get(provider.name, {})
        out = SecretMapping()
        missing: list[tuple[str, tuple[str, ...], str | None]] = []
        for cred in provider.auth.credentials:
            secret = given.get(cred.name)
            value = (
                secret.reveal()
                if secret
                else next((os.environ[e] for e in cred.env if os.environ.get(e)), None)
            )
            if value:
                out[cred.name] = value
            elif cred.required:
                shortcut = CLIENT_SHORTCUTS.get((provider.name, cred.name))
                missing.append((cred.name, tuple(cred.env), shortcut))
        if missing:  # every one named at once: fixing one should not reveal the next
            (name, env, shortcut), *more = missing
            raise MissingCredentialError(provider.name, name, env, shortcut=shortcut, more=more)
        return out

    def resolve_shared(self, provider: Provider) -> SecretMapping:
        """`resolve`, for the engine's hot path: when every credential of the provider was
        given (none is read from the environment, which may change between calls), the same
        mapping serves every call; callers must not change it."""
        known = self._shared.get(provider.name)
        if known is not None and known[0] is provider:
            return known[1]
        resolved = self.resolve(provider)
        given = self._given.get(provider.name, {})
        if all(cred.name in given for cred in provider.auth.credentials):
            self._shared[provider.name] = (provider, resolved)
        return resolved
