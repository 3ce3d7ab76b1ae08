"""The per-call shortcuts change no outcome: the journal's result format is cattrs' own, an
artifact URL is checked and typed from one parse, and a key a vendor echoes behind a JSON
escape the raw scan cannot see (PHP's `\\/`) is still scrubbed from the decoded answer."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import attrs
import pytest
from aiohttp import web

import mediagen
from mediagen.journal import _cattrs_converter, _dump_result
from mediagen.protocol import is_http_url, unique_artifacts
from mediagen.results import Artifact, Result
from mediagen.secrets import MARKER


@attrs.frozen
class NotedArtifact(Artifact):
    """A plugin's own artifact class: journaled through cattrs as before."""

    note: str = "n"


RESULTS = [
    Result(
        provider="mediaio",
        operation="imagen_4",
        artifacts=(
            Artifact(url="https://x.test/a.png", kind="image"),
            Artifact(
                url="https://x.test/b.svg",
                kind="diagram",
                source_code="graph TD",
                source_language="mermaid",
            ),
        ),
        raw={"list": [1, (2, 3)], "odd": {"none": None, "float": 1.5, "lone": "\udc80"}},
        task_id="t\ud800",
        skipped_urls=("http://x.test/c.png",),
        warnings=("w",),
        journal_id=3,
    ),
    Result(provider="edrawmax", operation="flowchart", artifacts=(), raw=None),
    Result(provider="p", operation="o", artifacts=(), raw={"set": {1}, "obj": 1j}),
    Result(provider="p", operation="o", artifacts=(NotedArtifact(url="u", kind="other"),), raw=1),
]


@pytest.mark.parametrize("result", RESULTS)
def test_a_result_is_journaled_as_cattrs_writes_it(result: Result) -> None:
    assert _dump_result(result) == json.dumps(_cattrs_converter().unstructure(result), default=str)


def test_artifact_urls_are_checked_and_typed_as_before() -> None:
    urls = [
        "https://x.test/a.PNG",
        "https://x.test/a.PNG",  # a duplicate: one artifact
        "https://x.test/clip.mp4?sig=1",
        "https://x.test/a\u2003b.png",  # Unicode whitespace: not a URL
        "http://[x/a.png",  # unreadable: not a URL
        "ftp://x.test/a.png",
        "https:///no-host.png",
        "https://x.test/mask.png",
    ]
    assert unique_artifacts(urls, "image") == (
        Artifact(url="https://x.test/a.PNG", kind="image"),
        Artifact(url="https://x.test/clip.mp4?sig=1", kind="video"),
        Artifact(url="https://x.test/mask.png", kind="image"),
    )
    assert [a.kind for a in unique_artifacts(["https://x.test/m.png"], "mask")] == ["mask"]
    assert not is_http_url("https://x.test/a b") and not is_http_url(b"https://x.test/")


KEY = "sk-php/escapes+slashes"


def php_json(value: Any) -> bytes:
    """JSON as PHP's json_encode writes it: every `/` escaped as `\\/`."""
    return json.dumps(value).replace("/", "\\/").encode()


def test_a_key_echoed_behind_an_escaped_slash_is_scrubbed(tmp_path: Any) -> None:
    async def submit(request: web.Request) -> web.Response:
        return web.Response(body=php_json({"code": 0, "data": {"task_id": "t1"}}))

    async def poll(request: web.Request) -> web.Response:
        data = {
            "task_id": "t1",
            "status": "completed",
            "result": {"images": [{"url": f"http://{request.host}/f/a.png"}]},
            "echo": f"your key {KEY} was used",
        }
        return web.Response(body=php_json({"code": 0, "data": data}))

    async def go() -> Result:
        app = web.Application()
        app.router.add_post("/generation/imagen/t2i-imagen-4", submit)
        app.router.add_post("/generation/result/{task_id}", poll)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with mediagen.AsyncClient(
                base_urls={"mediaio": f"http://127.0.0.1:{port}"},
                credentials={"mediaio": {"api_key": KEY}},
                journal=tmp_path / "j.sqlite3",
            ) as client:
                task = await client.mediaio.imagen_4(prompt="x")
                return await task.result()
        finally:
            await runner.cleanup()

    result = asyncio.run(go())
    assert result.raw["echo"] == f"your key {MARKER} was used"
    assert not re.search(re.escape(KEY), repr(result))
    journal = mediagen.journal.Journal(tmp_path / "j.sqlite3")
    try:
        assert KEY not in journal.entries()[0].raw_params + repr(journal.entries()[0].result)
    finally:
        journal.close()
