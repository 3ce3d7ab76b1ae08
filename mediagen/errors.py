"""mediagen's error tree. Everything the library raises on purpose is a `MediagenError`.

```
MediagenError
├── ParamError (also ValueError)           bad parameter, raised before any network call
│   ├── UnknownParams, MissingParams
├── ConfigurationError                     bad client setup, raised before any network call
│   ├── MissingCredentialError
│   └── AuthStrategyError                  a plugin's auth strategy failed (credentials masked)
├── APIError                               the vendor answered with an error
│   ├── AuthenticationError, InsufficientCreditsError, ContentRejectedError,
│   │   RateLimitError, InvalidParameterError, PayloadTooLargeError, NotFoundError,
│   │   GenerationFailedError (terminal task states too), TransientError, ServerError,
│   │   RedirectRefusedError (a 3xx: API calls never follow redirects)
├── TransportError                         no usable answer: connection, timeout
├── MalformedResponseError                 an answer we cannot read
│   └── UnknownTaskStatusError             a status word the catalog does not list
├── SubmitOutcomeUnknownError               a submit's answer was lost: never resubmitted
├── TaskTimeoutError                       we stopped waiting; the task may still finish
├── DownloadError                          an artifact we could not save
└── UnsafeDownloadError                    an artifact URL we refuse to fetch
```

Errors from a call carry provider, operation, task id (when known), vendor code, vendor
message and trace id, and say in words what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class MediagenError(Exception):
    """Base of every error mediagen raises on purpose."""

    def to_json(self) -> dict[str, Any]:
        """The error as the one JSON object every `--json` output uses: `type`, `message`,
        `provider`, `operation`, `task_id`, vendor `code`, HTTP `status`, `trace_id`."""
        operation = getattr(self, "operation", None)
        provider = getattr(self, "provider", None)
        if provider is None and isinstance(operation, str) and "." in operation:
            provider, _, operation = operation.partition(".")  # a ParamError's provider.op
        return {
            "type": type(self).__name__,
            "message": " ".join(str(self).split()) or type(self).__name__,
            "provider": provider,
            "operation": operation,
            "task_id": getattr(self, "task_id", None),
            "code": getattr(self, "code", None),
            "status": getattr(self, "status", None),
            "trace_id": getattr(self, "trace_id", None),
        }


class ParamError(MediagenError, ValueError):
    """A parameter value the operation does not accept; raised before any network call.

    Carries the operation (``provider.operation``), the field, the offending value and a
    description of what is allowed, so callers (and the CLI) can say exactly what to fix.
    """

    def __init__(
        self,
        operation: str,
        field: str,
        value: Any,
        allowed: str,
        *,
        problem: str | None = None,
    ) -> None:
        self.operation = operation
        self.field = field
        self.value = value
        self.allowed = allowed
        what = problem or f"{field}={shown(value)} is not accepted"
        super().__init__(f"{operation}: {what}" + (f"; allowed: {allowed}" if allowed else ""))


class UnknownParams(ParamError):
    """Keys that the operation does not define (typos, params of another model)."""

    def __init__(self, operation: str, names: Sequence[str], known: Sequence[str]) -> None:
        listed = ", ".join(names)
        plural = "s" if len(names) > 1 else ""
        super().__init__(
            operation,
            names[0],
            None,
            ", ".join(known) or "no parameters",
            problem=f"unknown parameter{plural} {listed}",
        )


class MissingParams(ParamError):
    def __init__(self, operation: str, names: Sequence[str]) -> None:
        listed = " and ".join(", ".join(names).rsplit(", ", 1))
        plural = "s" if len(names) > 1 else ""
        super().__init__(
            operation,
            names[0],
            None,
            "",
            problem=f"missing the required parameter{plural} {listed}",
        )


class ConfigurationError(MediagenError, ValueError):
    """The client is set up in a way that cannot work (unknown provider, bad base URL, ...).
    `provider` and `operation` locate it, where it concerns one (its `to_json` names them)."""

    def __init__(
        self, message: str = "", *, provider: str | None = None, operation: str | None = None
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.operation = operation


class MissingCredentialError(ConfigurationError):
    """A credential the provider requires was neither given to the client nor found in the
    environment. `shortcut`: the client's own keyword for it, where it has one. `more`: the
    provider's other missing credentials, as (name, environment variables, shortcut), so that
    one error names everything to set; `missing` holds them all in that form, `credentials`
    their names."""

    def __init__(
        self,
        provider: str,
        credential: str,
        env: Sequence[str],
        *,
        shortcut: str | None = None,
        more: Sequence[tuple[str, Sequence[str], str | None]] = (),
    ) -> None:
        self.credential = credential
        self.env = tuple(env)
        missing = [(credential, tuple(env), shortcut), *((n, tuple(e), s) for n, e, s in more)]
        self.missing: tuple[tuple[str, tuple[str, ...], str | None], ...] = tuple(missing)
        self.credentials = tuple(name for name, _, _ in missing)
        names = " and ".join(self.credentials)
        variables = " and ".join(" or ".join(e) for _, e, _ in missing)
        keys = ", ".join(f"{name!r}: ..." for name in self.credentials)
        given = f"credentials={{{provider!r}: {{{keys}}}}}"
        if all(s for _, _, s in missing):
            given = " and ".join(f"{s}=..." for _, _, s in missing) + f" or {given}"
        them = "them" if len(missing) > 1 else "it"
        super().__init__(
            f"{provider}: no {names} given; set {variables} or pass {them} to the client ({given})",
            provider=provider,
        )


class AuthStrategyError(ConfigurationError):
    """A provider's auth strategy (a plugin's) raised an exception that is not a
    MediagenError while building a request's credentials, so nothing was sent. The message
    names the provider, the strategy's class and the original exception's type, with its
    text scrubbed of every credential; the original itself is not kept (its text, arguments
    or traceback may hold a credential)."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        operation: str | None,
        strategy: str,
        original: str,
    ) -> None:
        self.strategy = strategy
        """The auth strategy's class, as module.qualname."""
        self.original = original
        """The type name of the exception the strategy raised."""
        super().__init__(message, provider=provider, operation=operation)


class CallError(MediagenError):
    """An error from a call to a provider; carries everything known about the call."""

    hint = ""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        operation: str | None = None,
        task_id: str | None = None,
        code: int | str | None = None,
        vendor_message: str | None = None,
        trace_id: str | None = None,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.retryable = retryable
        """The catalog's word on this vendor code or status, when it has one."""
        self.provider = provider
        self.operation = operation
        self.task_id = task_id
        self.code = code
        self.vendor_message = vendor_message
        self.trace_id = trace_id
        self.status = status
        self.detail = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = ".".join(x for x in (self.provider, self.operation) if x)
        parts = [f"{where}: {self.detail}" if where else self.detail]
        facts = []
        if self.task_id:
            facts.append(f"task {self.task_id}")
        if self.status is not None:
            facts.append(f"HTTP {self.status}")
        if self.code is not None and str(self.code) != str(self.status):  # not "404, 404"
            facts.append(f"vendor code {self.code}")
        if self.trace_id:
            facts.append(f"trace {self.trace_id}")
        if facts:
            parts.append(f"({', '.join(facts)})")
        if self.hint:
            parts.append(f"- {self.hint}")
        return " ".join(parts)

    def locate(
        self, provider: str | None = None, operation: str | None = None, task_id: str | None = None
    ) -> CallError:
        """Fill in where the error happened, where it is not known yet; returns self."""
        self.provider = self.provider or provider
        self.operation = self.operation or operation
        self.task_id = self.task_id or task_id
        self.args = (self._compose(),)
        return self


class APIError(CallError):
    """The vendor answered with an error."""

    category = "api"


class AuthenticationError(APIError):
    category = "auth"
    hint = "check the credentials (API key / app key and secret)"


class InsufficientCreditsError(APIError):
    category = "credits"
    hint = "top up the account's credits"


class ContentRejectedError(APIError):
    category = "content_rejected"
    hint = "the vendor's content check refused the input; rephrase it"


class RateLimitError(APIError):
    category = "rate_limited"
    hint = "too many requests or concurrent tasks; retry later"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class InvalidParameterError(APIError):
    category = "invalid_param"
    hint = "the vendor refused a parameter value"


class PayloadTooLargeError(APIError):
    category = "payload_too_large"
    hint = "an input file is too large for the vendor"


class NotFoundError(APIError):
    category = "not_found"
    hint = "the vendor does not know this task or resource"


class GenerationFailedError(APIError):
    """The vendor could not produce the result (failed, cancelled or timed-out task)."""

    category = "generation_failed"

    def __init__(self, message: str, *, state: str | None = None, **kw: Any) -> None:
        self.state = state
        super().__init__(message, **kw)


class TransientError(APIError):
    category = "transient"
    hint = "a temporary vendor problem; retry later"


class ServerError(APIError):
    category = "server"
    hint = "the vendor's server failed; retry later"


class RedirectRefusedError(APIError):
    """The vendor answered an API call with a redirect (HTTP 3xx), which is never followed.

    Following it would carry the credential headers to wherever Location points. Nothing was
    sent to the redirect target, so nothing was created there; for a submit this is the
    vendor's own answer instead of a task, journaled as rejected (see `Transport.request`).
    """

    category = "redirect"
    hint = "check the provider's base URL, and any proxy in between"


class TransportError(CallError):
    """No usable answer reached us: connection refused or reset, DNS, timeout."""

    hint = "check the network and the base URL"

    def __init__(self, message: str, *, sent: bool | None = None, **kw: Any) -> None:
        self.sent = sent
        """False when the request provably never left (connection refused), else None/True."""
        super().__init__(message, **kw)


class MalformedResponseError(CallError):
    """The vendor answered with something we cannot read (not JSON, wrong shape)."""

    hint = "the vendor's answer did not match its documented protocol"


class UnknownTaskStatusError(MalformedResponseError):
    """A poll answered a status word the provider's catalog does not list: the vendor added
    or renamed a state, or the catalog is behind it. `word` is what it answered (its repr, clipped),
    `known` the words the catalog lists."""

    hint = "the provider's catalog does not list this status word; update the catalog or plugin"

    def __init__(self, message: str, *, word: str, known: tuple[str, ...], **located: Any) -> None:
        super().__init__(message, **located)
        self.word = word
        self.known = known


class SubmitOutcomeUnknownError(CallError):
    """A submit whose answer was lost: the vendor may or may not have created the task.

    Never retried (a blind resubmit could pay twice). The intent stays in the task journal
    as `unknown`; check the vendor's console before submitting again.
    """

    hint = "not resubmitted; check the vendor's console before trying again (mediagen tasks --state unknown)"


class TaskTimeoutError(CallError):
    """We stopped waiting; the task itself may still finish: resume it by id."""

    hint = "wait again later with the task id"


class DownloadError(CallError):
    """An artifact could not be saved (the output folder is not writable, the disk is full)."""

    hint = "check the output folder"


class UnsafeDownloadError(CallError):
    """An artifact URL outside the provider's allowed hosts, not https, or too large."""


CATEGORY_ERRORS: dict[str, type[APIError]] = {
    cls.category: cls
    for cls in (
        AuthenticationError,
        InsufficientCreditsError,
        ContentRejectedError,
        RateLimitError,
        InvalidParameterError,
        PayloadTooLargeError,
        NotFoundError,
        GenerationFailedError,
        TransientError,
        ServerError,
    )
}


def shown(value: Any, limit: int = 80) -> str:
    """A short, safe repr for messages: clipped, and never failing (huge ints, odd objects)."""
    try:
        text = repr(value)
    except Exception:  # e.g. an int past the 4300-digit repr limit
        return f"<{type(value).__name__} too large to show>"
    if len(text) > limit:
        if isinstance(value, list | tuple):
            size = f"{len(value)} items"
        else:
            size = f"{len(value) if isinstance(value, str) else len(text)} chars"
        text = f"{text[: limit - 20]}... ({size})"
    return text
