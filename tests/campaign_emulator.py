"""The emulator as the kill -9 campaign needs it: on a thread of the test process (so it
outlives every killed CLI process), remembering which request created which task, and serving
artifact files slowly enough that a download can be cut off halfway."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from mediagen.loop import LoopThread
from mediagen.testing import Emulator


class CampaignEmulator(Emulator):
    """An Emulator that also records, per request that created something, its body.

    Args:
        file_delay: seconds each artifact download pauses halfway through its body.
        options: as for Emulator.
    """

    def __init__(self, *, file_delay: float = 0.0, **options: Any) -> None:
        super().__init__(**options)
        self.file_delay = file_delay
        self.created: dict[str, str] = {}
        """vendor task id -> the JSON text of the submit body that created it."""
        self.ran: list[str] = []
        """JSON text of each synchronous run body that was answered with a result."""
        self.file_requests: list[str] = []
        """Artifact file names, in the order their downloads started."""
        self.crashes: list[str] = []
        """Requests the emulator failed to answer (an exception: HTTP 500), each as
        "METHOD path: error". A campaign against a broken emulator proves nothing."""

    def bodies(self, *phases: str) -> list[str]:
        """JSON text of every recorded request body in these phases (answered or not)."""
        return [json.dumps(r.body) for r in list(self.requests) if r.phase in phases]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            if request.path.startswith("/_files/"):
                return await self._slow_file(request)
            return await super()._handle(request)
        except Exception as exc:
            self.crashes.append(f"{request.method} {request.path}: {exc!r}")
            raise

    def _respond(
        self,
        route: Any,
        path_params: dict[str, str],
        request: web.Request,
        body: Any,
        query: dict[str, list[str]],
    ) -> web.Response:
        # Synchronous from here to the answer: the tasks added meanwhile are this request's.
        before = set(self.tasks)
        response = super()._respond(route, path_params, request, body, query)
        for task_id in set(self.tasks) - before:
            self.created[task_id] = json.dumps(body)
        if route.phase == "run" and response.status == 200:
            self.ran.append(json.dumps(body))
        return response

    async def _slow_file(self, request: web.Request) -> web.StreamResponse:
        name = request.path.rsplit("/", 1)[-1]
        self.file_requests.append(name)
        found = self._artifact(name)
        if found is None:
            return web.Response(status=404, text="no such file")
        data, content_type, _provider = found
        response = web.StreamResponse(
            headers={"Content-Type": content_type, "Content-Length": str(len(data))}
        )
        try:
            await response.prepare(request)
            await response.write(data[: len(data) // 2])
            await asyncio.sleep(self.file_delay)  # the window for a kill mid-download
            await response.write(data[len(data) // 2 :])
            await response.write_eof()
        except ConnectionError:  # the downloading process was killed
            pass
        return response


@contextmanager
def serving(emulator: CampaignEmulator) -> Iterator[CampaignEmulator]:
    """Run `emulator` on a private loop thread for the duration of the block."""
    loop = LoopThread("campaign-emulator")
    try:
        loop.run(emulator.start())
        yield emulator
    finally:
        try:
            loop.run(emulator.stop())
        finally:
            loop.close()
