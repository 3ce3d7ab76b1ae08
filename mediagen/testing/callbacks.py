"""Task callbacks: when a submit names a `callback` URL (Tomoviee's documented parameter),
the emulator POSTs the finished task there as the vendor does: task_id, status, result (as
the poll answer encodes it), reason when it failed, and the caller's `params` passthrough.

Only loopback URLs are accepted: the emulator never sends traffic off this machine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import attrs

from ..hosts import is_loopback

log = logging.getLogger(__name__)

CALLBACK_PARAM = "callback"
PASSTHROUGH_PARAM = "params"
CALLBACK_TIMEOUT = 10.0
"""Seconds one callback POST may take."""


@attrs.frozen
class SentCallback:
    """A callback the emulator made: where, what, and the HTTP status (None: it failed)."""

    url: str
    payload: Any
    status: int | None


def callback_problem(url: Any) -> str | None:
    """Why a callback URL is refused, or None when the emulator will call it."""
    if not isinstance(url, str):
        return "callback must be a URL string"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return f"callback {url!r} is not a URL"
    if parts.scheme != "http" or not is_loopback(host):
        return (
            f"callback {url!r} is not allowed by the emulator; allowed: http:// on a loopback "
            "address (127.0.0.1, ::1, localhost): it never sends traffic off this machine"
        )
    return None


class CallbackSender:
    """Schedules one POST per finished task and keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[SentCallback] = []
        self._pending: set[asyncio.Task[None]] = set()

    def schedule(self, delay: float, url: str, payload: Callable[[], Any]) -> None:
        """POST payload() to url once `delay` seconds have passed (the task has finished)."""
        task = asyncio.get_running_loop().create_task(self._send(delay, url, payload))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, delay: float, url: str, payload: Callable[[], Any]) -> None:
        await asyncio.sleep(delay)
        body = payload()
        status: int | None = None
        try:
            timeout = aiohttp.ClientTimeout(total=CALLBACK_TIMEOUT)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(url, json=body, allow_redirects=False) as response,
            ):
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("emulator callback to %s failed: %s", url, exc)
        self.sent.append(SentCallback(url, body, status))

    async def close(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        self._pending.clear()
