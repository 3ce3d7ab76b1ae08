"""HTTP over one pooled aiohttp session per client; aiohttp's exceptions stop here.

Everything above this module sees `HttpResponse` or a `TransportError` that says whether the
request provably never left (connection refused): the fact retry decisions need.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp

from .defaults import POOL_SIZE, USER_AGENT, Timeouts
from .errors import ConfigurationError, DownloadError, TransportError, UnsafeDownloadError
from .strategies import HttpResponse

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5


class Transport:
    def __init__(self, timeouts: Timeouts, *, pool_size: int = POOL_SIZE) -> None:
        self.timeouts = timeouts
        self.pool_size = pool_size
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
        """One request. `params` (the query string) is never logged: it may carry a key."""
        log.debug("%s %s", method, url)
        try:
            # `headers` is passed as given: the engine's masked mapping keeps keys out of reprs.
            async with self._client().request(
                method, url, json=json, headers=headers, params=params
            ) as resp:
                body = await resp.read()
                log.debug("%s %s -> %s (%d bytes)", method, url, resp.status, len(body))
                return HttpResponse(resp.status, dict(resp.headers), body)
        except aiohttp.ClientConnectorError as exc:
            # Refused / unreachable / DNS: no byte of the request reached the server.
            raise TransportError(
                f"cannot connect to {_origin(url)}: {exc.os_error or exc}", sent=False
            ) from None
        except aiohttp.ConnectionTimeoutError:
            # The connection never opened: nothing was sent either.
            raise TransportError(
                f"cannot connect to {_origin(url)} within {self.timeouts.connect:g}s", sent=False
            ) from None
        except TimeoutError:
            raise TransportError(
                f"no answer from {_origin(url)} within {self.timeouts.request:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            raise TransportError(
                f"connection to {_origin(url)} failed: {type(exc).__name__}: {exc}"
            ) from None

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
            fd, tmp_name = tempfile.mkstemp(prefix=".mediagen-", suffix=".part", dir=directory)
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
                    if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                        target = urljoin(url, resp.headers["Location"])
                        reason = allowed(target)
                        if reason:
                            raise UnsafeDownloadError(
                                f"{url} redirects to a refused place: {reason}"
                            )
                        url = target
                        continue
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


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
