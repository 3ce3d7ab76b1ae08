"""The vendors' own error codes and messages, as their docs write them, for the emulator's
answers: a client that branches on `bad param: ...` or `40001` can be tested against it.

Sources (/work/shared/vendor-docs): edrawmax-diagram/references/api-reference.md "Error Codes";
mediaio-aigc-generate/scripts/c_api_doc_detail.json `api_code_demo` (40001..40003) and
references/mediaio-aigc-api-reference.md 1.3 (374004, 490505). Tomoviee's docs name no codes or
messages (only "code != 0"), so it answers with its HTTP statuses and their standard reasons.
A provider not listed here (a plugin's) keeps the catalog's own messages.
"""

from __future__ import annotations

from http import HTTPStatus

from ..catalog.ir import Operation, Provider, code_key
from ..errors import MissingParams, ParamError

MESSAGES: dict[str, dict[str, str]] = {
    "edrawmax": {
        "400": "bad param: prompt is required",
        "2406": "risk control rejection",
        "3001": "concurrency limit",
        "212200": "生成失败",
        "212201": "渲染失败",
        "500": "panic",
    },
    "mediaio": {
        "374004": "authentication required",
        "40001": "Invalid API key",
        "40002": "API key expired",
        "40003": "Task not found",
        "490505": "insufficient credits",
    },
    "tomoviee": {},
}
"""Per provider: vendor code -> the message the vendor documents for it."""

MEDIAIO_INVALID_KEY = 40001
MEDIAIO_NOT_AUTHENTICATED = 374004


def knows(provider: Provider) -> bool:
    """Whether the emulator words this provider's errors as its vendor does."""
    return provider.name in MESSAGES


def message_for(provider: Provider, code: int | str | None, status: int) -> str:
    """The vendor's message for an error code; for a provider without documented wording
    the catalog's description of the code; else the HTTP error status's standard reason, or
    just the code (a vendor code on HTTP 200 the docs give no words for)."""
    found = MESSAGES.get(provider.name, {}).get(code_key(code) or "")
    if found is not None:
        return found
    entry = next((e for e in provider.vendor_codes if code_key(e.code) == code_key(code)), None)
    if entry is not None and entry.message and not knows(provider):
        return entry.message
    if status >= 400 or code is None:
        return message_for_status(status)
    return f"error {code}"


def message_for_status(status: int) -> str:
    """The standard reason phrase of an HTTP status (what a plain server answers with)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def param_message(provider: Provider, exc: Exception) -> str:
    """An invalid-parameter answer: EdrawMax's `bad param: X is required` / `bad param: X不合法`
    (its documented forms); other vendors document none, so the problem without mediagen's
    `provider.operation:` prefix."""
    if not isinstance(exc, ParamError):
        return str(exc)
    if provider.name == "edrawmax":
        missing = isinstance(exc, MissingParams) or exc.value == ""
        return f"bad param: {exc.field} is required" if missing else f"bad param: {exc.field}不合法"
    if knows(provider):
        return str(exc).removeprefix(f"{exc.operation}: ")
    return str(exc)


def auth_code(provider: Provider, op: Operation | None, missing: bool) -> int | None:
    """Media.io's code for a refused key: 374004 (not authenticated) when none was sent;
    40001 (invalid key) for a wrong one where the operation's export entry documents 40001."""
    if provider.name != "mediaio":
        return None
    if missing:
        return MEDIAIO_NOT_AUTHENTICATED
    documented = op is None or str(MEDIAIO_INVALID_KEY) in op.vendor_codes
    return MEDIAIO_INVALID_KEY if documented else MEDIAIO_NOT_AUTHENTICATED
