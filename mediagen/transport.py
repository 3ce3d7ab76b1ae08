"""HTTP over one pooled aiohttp session per client; aiohttp's exceptions stop here.

Everything above this module sees `HttpResponse` or a `TransportError` that says whether the
request provably never left (no byte of it was written): the fact retry decisions need. API
calls never follow redirects and their answers are size-capped; downloads follow redirects by
hand, each hop checked.
"""

from __future__ import annotations

import inspect
import json as jsonlib
import logging
import os
import tempfile
from collections.abc import Callable, Coroutine, Mapping
from contextvars import ContextVar
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.payload import BytesPayload
from multidict import CIMultiDict, CIMultiDictProxy

from .credentials import SecretMapping
from .defaults import MAX_REDIRECTS, MAX_RESPONSE_BYTES, POOL_SIZE, USER_AGENT, Timeouts
from .errors import (
    ConfigurationError,
    DownloadError,
    MalformedResponseError,
    RateLimitError,
    RedirectRefusedError,
    TransportError,
    UnsafeDownloadError,
)
from .protocol import retry_after
from .strategies import HttpResponse, new_response

log = logging.getLogger(__name__)

_DEBUG = logging.DEBUG

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
PART_PREFIX = ".mediagen-"
PART_SUFFIX = ".part"
"""Downloads stream into `.mediagen-<pid>-<random>.part` in the target folder."""


class Transport:
    def __init__(
        self,
        timeouts: Timeouts,
        *,
        pool_size: int = POOL_SIZE,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int):
            raise ConfigurationError(
                f"max_response_bytes={max_response_bytes!r} is not a number of bytes"
            )
        if max_response_bytes < 1:
            raise ConfigurationError(f"max_response_bytes={max_response_bytes} must be at least 1")
        self.timeouts = timeouts
        self.pool_size = pool_size
        self.max_response_bytes = max_response_bytes
        self._session: aiohttp.ClientSession | None = None
        self.closed = False

    def _client(self) -> aiohttp.ClientSession:
        if self.closed:
            raise ConfigurationError("the client is closed")
        # Created on first use, inside the running loop, as aiohttp requires.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.pool_size),
                timeout=aiohttp.ClientTimeout(
                    total=self.timeouts.request, sock_connect=self.timeouts.connect
                ),
                headers={"User-Agent": USER_AGENT},
                raise_for_status=False,
                request_class=_MarkingRequest,
            )
        return self._session

    async def close(self) -> None:
        self.closed = True
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        params: list[tuple[str, str]] | None = None,
    ) -> HttpResponse:
        """One API call. Raises RedirectRefusedError for a 3xx (never followed: it would carry
        the credential headers to another origin), MalformedResponseError for an answer over
        `max_response_bytes`, TransportError (sent=False when no byte left) for the rest.
        `params` (the query string) is never logged: it may carry a key."""
        debug = log.isEnabledFor(_DEBUG)  # asked once: the answer is logged too
        if debug:
            log.debug("%s %s", method, url)
        session = self._session
        if self.closed or session is None or session.closed:
            session = self._client()
        progress = _Progress()  # marked by _MarkingRequest once aiohttp starts sending
        token = _in_flight.set(progress)
        try:
            data: bytes | BytesPayload | None = None
            if json is not None:
                # Encoded here, as aiohttp's JSON payload would (json.dumps, UTF-8), without
                # building one; the engine's headers carry the Content-Type already.
                if _ENCODE is not None and not _MARKERS:  # as _json_bytes, written out
                    try:
                        data = "".join(_ENCODE(json, 0)).encode()
                    except BaseException:
                        _MARKERS.clear()  # an encoding cut short leaves its markers behind
                        raise
                else:
                    data = _json_bytes(json)
                if _LEAN_BODY and len(data) <= _LEAN_BODY_MAX:
                    data = _JsonBody(data)
                if headers is None or (
                    "Content-Type" not in headers and not _has_content_type(headers)
                ):
                    headers = SecretMapping({**(headers or {}), "Content-Type": "application/json"})
            # `headers` is passed as given: the engine's masked mapping keeps keys out of reprs.
            # Awaited without `async with`: its enter and exit are two coroutines more per
            # request; what its exit does (release, then wait for the writer) is done below.
            if _DIRECT_REQUEST:  # what `session.request` returns, awaited without its wrapper
                resp = await session._request(
                    method, url, data=data, headers=headers, params=params, allow_redirects=False
                )
            else:
                resp = await session.request(
                    method, url, data=data, headers=headers, params=params, allow_redirects=False
                )
            read_whole = False
            try:
                if 300 <= resp.status < 400:
                    resp.close()  # its body is of no use, and may be huge
                    raise _redirect_refused(resp.status, url, resp.headers.get("Location"))
                declared = resp.content_length
                if (
                    declared is not None
                    and declared <= self.max_response_bytes
                    and "Content-Encoding" not in resp.headers
                ):
                    # aiohttp reads exactly the declared length, which is within the cap, and
                    # waits for its writer (a compressed answer declares its compressed
                    # length: it is counted as it is inflated, by _read_capped).
                    body = await resp.read()
                    read_whole = True
                else:
                    body = await self._read_capped(resp, url)
            finally:
                resp.release()
                if not read_whole:  # the writer may still be at work
                    await resp.wait_for_close()
            if debug:
                log.debug("%s %s -> %s (%d bytes)", method, url, resp.status, len(body))
            # The response's own read-only, case-insensitive view: no copy needed.
            return new_response(resp.status, resp.headers, body)
        except aiohttp.ClientConnectorError as exc:
            # Refused / unreachable / DNS / TLS handshake: no byte of the request left.
            raise TransportError(
                f"cannot connect to {_origin(url)}: {exc.os_error or exc}", sent=False
            ) from None
        except aiohttp.ConnectionTimeoutError:
            # The connection never opened: nothing was sent either.
            raise TransportError(
                f"cannot connect to {_origin(url)} within {self.timeouts.connect:g}s", sent=False
            ) from None
        except TimeoutError:
            if not progress.sent:  # e.g. still waiting for a free connection in the pool
                raise TransportError(
                    f"could not send to {_origin(url)} within {self.timeouts.request:g}s; "
                    "nothing was sent",
                    sent=False,
                ) from None
            raise TransportError(
                f"no answer from {_origin(url)} within {self.timeouts.request:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            raise TransportError(
                f"connection to {_origin(url)} failed: {type(exc).__name__}: {exc}",
                sent=None if progress.sent else False,
            ) from None
        except ValueError as exc:
            # yarl / aiohttp refusing the URL or its parts while building the request.
            raise TransportError(
                f"cannot send to {_origin(url)}: {exc}", sent=None if progress.sent else False
            ) from None
        finally:
            _in_flight.reset(token)

    async def _read_capped(self, resp: aiohttp.ClientResponse, url: str) -> bytes:
        """The whole body, refusing (without reading on) one over max_response_bytes."""
        cap = self.max_response_bytes
        declared = resp.content_length
        if declared is not None and declared > cap:
            resp.close()
            raise MalformedResponseError(
                f"the answer from {_origin(url)} declares {declared} bytes, over the "
                f"{cap}-byte cap for API answers",
                status=resp.status,
            )
        if declared is not None and "Content-Encoding" not in resp.headers:
            return await resp.read()  # within the cap (`request` reads these itself)
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > cap:
                resp.close()  # drop the connection: the rest is never read
                raise MalformedResponseError(
                    f"the answer from {_origin(url)} is over the {cap}-byte cap for API answers",
                    status=resp.status,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def fetch_to_temp(
        self,
        url: str,
        directory: Path,
        *,
        max_bytes: int,
        allowed: Callable[[str], str | None] = lambda url: None,
    ) -> tuple[Path, str | None]:
        """Stream url into a hidden temp file in directory; returns (temp path, content type).

        Redirects are followed by hand, each target checked with `allowed` (None: fine, else
        the reason it is refused), so a redirect cannot lead around the host allow-list. The
        caller moves the file into place; on any failure the partial file is removed here.
        """
        try:
            directory.mkdir(parents=True, exist_ok=True)
            # The owner's pid is in the name: a later download into this folder removes the
            # .part files of dead processes (a kill -9), never those of a live one.
            fd, tmp_name = tempfile.mkstemp(
                prefix=f"{PART_PREFIX}{os.getpid()}-", suffix=PART_SUFFIX, dir=directory
            )
        except OSError as exc:
            raise DownloadError(f"cannot write into {directory}: {exc.strerror or exc}") from None
        tmp = Path(tmp_name)
        done = False
        try:
            with os.fdopen(fd, "wb") as out:
                content_type = await self._stream(url, out, max_bytes, allowed)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes it private; an artifact is an ordinary file
            done = True
            return tmp, content_type
        except OSError as exc:
            raise DownloadError(
                f"cannot write {url} into {directory}: {exc.strerror or exc}"
            ) from None
        finally:
            if not done:
                tmp.unlink(missing_ok=True)

    async def _stream(
        self, url: str, out: Any, max_bytes: int, allowed: Callable[[str], str | None]
    ) -> str | None:
        timeout = aiohttp.ClientTimeout(
            total=self.timeouts.download, sock_connect=self.timeouts.connect
        )
        size = 0
        try:
            for _ in range(MAX_REDIRECTS + 1):
                async with self._client().get(url, timeout=timeout, allow_redirects=False) as resp:
                    if resp.status in REDIRECT_STATUSES and "Location" in resp.headers:
                        target = urljoin(url, resp.headers["Location"])
                        if allowed(target):
                            # Named by origin and path only: a query string or user info may
                            # carry anything (a signature, our key), and the verdict depends
                            # on neither.
                            shown = _origin(target) + _path(target)
                            raise UnsafeDownloadError(
                                f"{url} redirects to a refused place: {allowed(shown)}"
                            )
                        url = target
                        continue
                    if resp.status == 429:
                        raise RateLimitError(
                            f"downloading {url} failed: HTTP 429",
                            status=429,
                            retry_after=retry_after(resp.headers),
                        )
                    if resp.status != 200:
                        raise TransportError(
                            f"downloading {url} failed: HTTP {resp.status}", status=resp.status
                        )
                    declared = resp.content_length
                    if declared is not None and declared > max_bytes:
                        raise UnsafeDownloadError(
                            f"{url} is {declared} bytes, over the {max_bytes}-byte cap"
                        )
                    async for chunk in resp.content.iter_chunked(1 << 16):
                        size += len(chunk)
                        if size > max_bytes:
                            raise UnsafeDownloadError(f"{url} is over the {max_bytes}-byte cap")
                        out.write(chunk)
                    log.debug("downloaded %s (%d bytes)", url, size)
                    return resp.headers.get("Content-Type")
            raise TransportError(f"downloading {url}: more than {MAX_REDIRECTS} redirects")
        except aiohttp.ClientError as exc:
            raise TransportError(f"downloading {url} failed: {type(exc).__name__}: {exc}") from None
        except TimeoutError:
            raise TransportError(
                f"downloading {url} took over {self.timeouts.download:g}s"
            ) from None


def _redirect_refused(status: int, url: str, location: str | None) -> RedirectRefusedError:
    # A 3xx instead of an answer is the vendor's (or a proxy's) own word that it did not handle
    # the request here, and we never send it to the target: for a submit, nothing was created
    # at either place. So the engine treats it as rejected (not "unknown") and retries nothing:
    # asking again would only be redirected again.
    if location is None:
        return RedirectRefusedError(
            f"{_origin(url)} answered with a redirect without a Location; "
            "API calls never follow redirects",
            status=status,
        )
    here = _origin(url)
    target = _origin(urljoin(url, location))
    # A same-origin Location is named as such: "nothing was sent to <this host>" would deny
    # the request we just sent it.
    where = f"another path on {here}" if target == here else target
    return RedirectRefusedError(
        f"{here} answered with a redirect to {where}; API calls never follow redirects, so"
        " nothing was sent to the redirect's location and nothing was created there",
        status=status,
    )


def _path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def _origin(url: str) -> str:
    """scheme://host[:port] of url, never its user info, path or query (they may hold secrets)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "an invalid URL"
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a port out of range or not a number: show it as written
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def _json_bytes(value: Any) -> bytes:
    """json.dumps(value).encode(), through the C encoder json.dumps itself builds (with its
    circular-reference check), without dumps' and JSONEncoder's Python layers."""
    if _ENCODE is None:  # no C accelerator: the plain way
        return jsonlib.dumps(value).encode()
    if _MARKERS:
        # The shared encoder is in use (a value whose own code encodes JSON, or another
        # thread: Python code runs inside an encoding only once a marker is set): a new one.
        return "".join(_new_encoder({})(value, 0)).encode()
    try:
        return "".join(_ENCODE(value, 0)).encode()
    except BaseException:
        _MARKERS.clear()  # an encoding cut short leaves its markers behind
        raise


def _new_encoder(markers: dict[int, Any]) -> Any:
    """The encoder json.dumps builds (default separators, ASCII, circular-reference check)."""
    return c_make_encoder(
        markers, _JSON_DEFAULT, encode_basestring_ascii, None, ": ", ", ", False, False, True
    )


_JSON_DEFAULT = jsonlib.JSONEncoder().default
"""What json.dumps does with a value JSON has no form for: raise TypeError."""

_MARKERS: dict[int, Any] = {}
"""The shared encoder's circular-reference markers: empty between encodings."""

_ENCODE = _new_encoder(_MARKERS) if c_make_encoder is not None else None
"""One encoder for every request body (making one per body cost a tenth of the encoding)."""


class SecretHeaders(CIMultiDict[str]):
    """Request headers as aiohttp keeps them (case-insensitive, ordered), shown without their
    values: they carry credentials. aiohttp takes a multidict as it is, where any other
    mapping is first copied into one (about 5 k instructions a request): the engine builds
    these once per provider and set of credentials."""

    def __repr__(self) -> str:
        return "<SecretHeaders(" + ", ".join(f"{k!r}: '***'" for k in self.keys()) + ")>"

    __str__ = __repr__


def _has_content_type(headers: Mapping[str, str]) -> bool:
    return any(k.lower() == "content-type" for k in headers)


class _JsonBody(BytesPayload):
    """An encoded JSON body as the `BytesPayload` aiohttp would make of its bytes, made
    without `Payload.__init__` (its keyword handling and a fresh header multidict: ~7 k
    instructions a request). The Content-Type it names is never sent: `request` puts one on
    the request's own headers first. Used only while `_lean_body_matches()` finds it holds
    what aiohttp's constructor gives (an aiohttp that sets more falls back to the bytes)."""

    _encoding = None
    _filename = None
    # Shared by every body, so read-only (aiohttp only reads a request body's headers).
    _headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))  # type: ignore[assignment]

    def __init__(self, value: bytes) -> None:  # Payload.__init__'s work, done once above
        self._value = value
        self._size = len(value)


def _lean_body_matches() -> bool:
    """Whether a `_JsonBody` is what `BytesPayload(body, content_type=...)` builds: the same
    attributes with equal values (and the same class defaults, as a subclass)."""
    made = BytesPayload(b"{}", content_type="application/json")
    lean = _JsonBody(b"{}")
    fields = vars(made)
    return set(fields) == {"_encoding", "_filename", "_headers", "_value", "_size"} and all(
        getattr(lean, name) == value for name, value in fields.items()
    )


_LEAN_BODY = _lean_body_matches()
_LEAN_BODY_MAX = getattr(aiohttp.payload, "TOO_LARGE_BYTES_BODY", 0)
"""Larger bodies go as bytes: aiohttp's constructor warns about those."""


def _thin_request(self: Any, method: str, url: str, **kwargs: Any) -> Any:
    """What aiohttp's `ClientSession.request` is: its coroutine `_request`, wrapped in an
    object whose `__await__` is the coroutine's own (and which adds `async with`)."""
    return _RequestContextManager(self._request(method, url, **kwargs))


def _direct_request_matches() -> bool:
    """Whether awaiting `session._request(...)` is awaiting `session.request(...)`: aiohttp's
    `request` compiles to `_thin_request`'s code, and its wrapper's `__await__` hands over the
    coroutine's own. (Awaited directly, a request makes no wrapper, no `**kwargs` dict and two
    calls fewer.) An aiohttp where either differs is called through `request`."""
    session = aiohttp.ClientSession
    wrapper = getattr(aiohttp.client, "_RequestContextManager", None)
    request = getattr(session.request, "__code__", None)
    awaits = getattr(getattr(wrapper, "__await__", None), "__code__", None)
    mine = _thin_request.__code__
    return (
        request is not None
        and awaits is not None
        and inspect.iscoroutinefunction(getattr(session, "_request", None))
        and (request.co_code, request.co_names, request.co_varnames, request.co_flags & _KIND)
        == (mine.co_code, mine.co_names, mine.co_varnames, mine.co_flags & _KIND)
        and (awaits.co_code, awaits.co_names, awaits.co_varnames)
        == (_AWAITS.co_code, _AWAITS.co_names, _AWAITS.co_varnames)
    )


def _awaits(self: Any) -> Any:
    ret = self._coro.__await__()
    return ret


_KIND = 0xFFFF
"""The code flags that say what a function is (`__future__` flags left out)."""

_AWAITS = _awaits.__code__
"""The code of aiohttp's `_BaseRequestContextManager.__await__`, as written there."""

_RequestContextManager: Any = getattr(aiohttp.client, "_RequestContextManager", None)
_DIRECT_REQUEST = _direct_request_matches()


class _Progress:
    """Whether a request may have left: set once aiohttp starts sending it."""

    sent = False  # a class default: making one runs no __init__


_in_flight: ContextVar[_Progress | None] = ContextVar("mediagen_request_in_flight", default=None)
"""The `_Progress` of the API request the current task is making (`Transport.request`): a
context variable, so concurrent requests, each in its own task, never share one."""


class _MarkingRequest(aiohttp.ClientRequest):
    """aiohttp's request (through ClientSession's documented `request_class`), marking the
    current request's `_Progress` as maybe sent the moment aiohttp starts to send it: until
    then, whatever fails (DNS, connect, pool wait, URL checks), nothing reached the server.
    Marked just before the first byte is written, never after: "maybe sent" is the safe side,
    since a submit that may have been sent is never retried. (A TraceConfig told the same, at
    the cost of several trace signals and objects on every request.)"""

    def send(self, conn: Any) -> Coroutine[Any, Any, aiohttp.ClientResponse]:
        progress = _in_flight.get()
        if progress is not None:
            progress.sent = True
        return _SEND(self, conn)  # super().send, without making the super object


_SEND = aiohttp.ClientRequest.send
