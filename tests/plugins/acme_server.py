"""A real local HTTP server speaking the Acme protocol, for the acme plugin's tests.

Bearer token; POST /v1/<operation> with a flat JSON body answers {"id"}; GET /v1/jobs/{id}
answers {"id", "status": queued|running|done|error, "progress", "output": {"files": [{"url"}]}};
no envelope; errors are HTTP statuses with {"error": {"code": "<string>", "message"}}.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import attrs
from aiohttp import web

from mediagen.testing import artifacts

ACME_KEY = "acme-test-key"


@attrs.define
class AcmeServer:
    """A real local HTTP server speaking the Acme protocol (not the emulator)."""

    url: str = ""
    requests: list[tuple[str, str, dict[str, str], Any]] = attrs.field(factory=list)
    jobs: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    ids: Iterator[int] = attrs.field(factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/{operation}", self.submit)
        app.router.add_get("/v1/jobs/{job_id}", self.poll)
        app.router.add_get("/files/{name}", self.file)
        return app

    async def _record(self, request: web.Request) -> Any:
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.method, request.path, dict(request.headers), body))
        return body

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") == f"Bearer {ACME_KEY}":
            return None
        return error(401, "unauthorized", "the token is not valid")

    async def submit(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        job_id = f"job-{next(self.ids)}"
        count = body.get("count", 2) if request.match_info["operation"] == "render" else 1
        self.jobs[job_id] = {"polls": 0, "count": count}
        return web.json_response({"id": job_id}, status=201)

    async def poll(self, request: web.Request) -> web.Response:
        await self._record(request)
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        job_id = request.match_info["job_id"]
        job = self.jobs.get(job_id)
        if job is None:
            return error(404, "not_found", f"no job {job_id}")
        job["polls"] += 1
        if job["polls"] < 2:
            data = {"id": job_id, "status": "running", "progress": 50}
        else:
            files = [{"url": f"{self.url}/files/{job_id}-{i}.png"} for i in range(job["count"])]
            data = {"id": job_id, "status": "done", "progress": 100, "output": {"files": files}}
        return web.json_response(data)

    async def file(self, request: web.Request) -> web.Response:
        return web.Response(body=artifacts.png(seed=7), content_type="image/png")


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
