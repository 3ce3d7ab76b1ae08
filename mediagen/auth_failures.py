"""What a provider's auth strategy raises, made safe to show and located.

An auth strategy holds the credentials, so whatever it raises may quote one: a plugin's
`AuthenticationError(f"token {token} was refused")`, a `KeyError` of a credential's value, a
cause chained from a library it called. The engine passes every such exception through
`auth_failure` before anything else sees it: the error that comes out names the provider and
the operation, holds no credential in its text, arguments or attributes, and carries no
cause, context or traceback of the original (a traceback's frames hold the strategy's locals).
"""

from __future__ import annotations

from collections.abc import Mapping

from .catalog import Provider
from .errors import AuthStrategyError, CallError, MediagenError
from .secrets import Scrubber, scrubber_for, secret_values

ORIGINAL_TEXT_LIMIT = 200
"""Characters of the original exception's (scrubbed) text an AuthStrategyError quotes."""


def auth_failure(
    exc: Exception,
    strategy: object,
    provider: Provider,
    credentials: Mapping[str, str],
    operation: str | None,
) -> MediagenError:
    """The error to raise for `exc`, raised by `strategy` (the provider's auth strategy) with
    `credentials`: a MediagenError is kept (scrubbed and located); anything else becomes an
    AuthStrategyError. Raise it outside the `except` block that caught `exc`, or Python
    chains `exc` to it as its context."""
    scrubber = scrubber_for(secret_values(provider, credentials, {}))
    error = (
        exc
        if isinstance(exc, MediagenError)
        else _strategy_error(exc, strategy, provider, operation, scrubber)
    )
    _forget_origin(error)
    if error is exc:
        _scrub_in_place(error, scrubber)
        if isinstance(error, CallError):
            error.locate(provider.name, operation)  # recomposes its text from the fields
        else:
            fields = vars(error)
            if fields.get("provider") is None:
                fields["provider"] = provider.name
            if fields.get("operation") is None:
                fields["operation"] = operation
    return error


def _strategy_error(
    exc: Exception, strategy: object, provider: Provider, operation: str | None, scrubber: Scrubber
) -> AuthStrategyError:
    kind = type(strategy)
    name = f"{kind.__module__}.{kind.__qualname__}"
    original = type(exc).__name__
    try:
        text = str(exc)
    except Exception:  # an exception whose str() fails says nothing more than its type
        text = ""
    # Scrubbed before it is clipped: a cut could keep part of a credential.
    text = " ".join(scrubber.text(text).split())
    if len(text) > ORIGINAL_TEXT_LIMIT:
        text = text[: ORIGINAL_TEXT_LIMIT - 3] + "..."
    where = f"{provider.name}.{operation}" if operation else provider.name
    said = f"{original}: {text}" if text else original
    return AuthStrategyError(
        f"{where}: the auth strategy {name} of provider {provider.name} failed ({said}); "
        f"check the {provider.name} credentials, or report it to the plugin's author",
        provider=provider.name,
        operation=operation,
        strategy=name,
        original=original,
    )


def _forget_origin(error: BaseException) -> None:
    """No cause, context or traceback: each may hold the original text or the strategy's
    frames (and so its locals, the credentials among them)."""
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True
    error.__traceback__ = None


def _scrub_in_place(error: MediagenError, scrubber: Scrubber) -> None:
    """Every argument and attribute of the error that is text (or a list, tuple or mapping of
    text) with the credentials masked (a CallError's message is recomposed from its fields
    by `locate`)."""
    if not scrubber:
        return
    error.args = tuple(scrubber.data(a) for a in error.args)
    fields = vars(error)
    for key, value in list(fields.items()):
        if isinstance(value, str | list | tuple | Mapping):
            fields[key] = scrubber.data(value)
