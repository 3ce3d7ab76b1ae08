"""Strategies, downloads and retry decisions, one small piece at a time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import mediagen
from mediagen.catalog import default_catalog
from mediagen.catalog.ir import Operation, Provider
from mediagen.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    UnsafeDownloadError,
)
from mediagen.hookspecs import hookimpl
from mediagen.hosts import Target, download_allowed, is_loopback
from mediagen.plugins.edrawmax import DiagramResults
from mediagen.plugins.tomoviee import TomovieeErrors
from mediagen.protocol import (
    CatalogAuth,
    CatalogResults,
    CatalogTaskStrategy,
    fill_path,
    iter_urls,
    retry_after,
)
from mediagen.registry import Registry
from mediagen.results import Artifact, Result
from mediagen.strategies import Call, HttpRequest, HttpResponse
from mediagen.testing import Emulator

CATALOG = default_catalog()
MEDIAIO = CATALOG.provider("mediaio")
TOMOVIEE = CATALOG.provider("tomoviee")
EDRAWMAX = CATALOG.provider("edrawmax")


def test_auth_headers() -> None:
    assert CatalogAuth(MEDIAIO).headers({"api_key": "k"}) == {"X-API-KEY": "k"}
    assert CatalogAuth(TOMOVIEE).headers({"app_key": "a", "app_secret": "s"}) == {
        "X-App-Key": "a",
        "Authorization": "Basic YTpz",
    }
    assert CatalogAuth(EDRAWMAX).headers({}) == {}
    assert CatalogAuth(EDRAWMAX).headers({"user_id": "7"}) == {"X-User-ID": "7"}


def test_status_vocabularies() -> None:
    media = CatalogTaskStrategy(MEDIAIO)
    op = MEDIAIO.operation("imagen_4")
    assert media.status(op, {"status": "waiting"}).state == "queued"
    done = media.status(op, {"status": "succeeded", "result": {"a": ["https://x/1.png"]}})
    assert done.state == "succeeded" and done.payload == {"a": ["https://x/1.png"]}
    with pytest.raises(MalformedResponseError, match="unknown task status 'exploded'"):
        media.status(op, {"status": "exploded"})
    tomo = CatalogTaskStrategy(TOMOVIEE)
    top = TOMOVIEE.operation("text_to_video")
    running = tomo.status(top, {"status": 2, "progress": 40})
    assert (running.state, running.progress) == ("running", 40.0)
    ok = tomo.status(top, {"status": 3, "result": json.dumps({"video_path": ["https://x/v.mp4"]})})
    assert ok.payload == {"video_path": ["https://x/v.mp4"]}
    failed = tomo.status(top, {"status": 4, "reason": "bad input"})
    assert (failed.state, failed.reason) == ("failed", "bad input")
    with pytest.raises(MalformedResponseError, match="not the JSON string"):
        tomo.status(top, {"status": 3, "result": "{oops"})


def test_submit_and_poll_requests() -> None:
    media = CatalogTaskStrategy(MEDIAIO)
    req = media.submit_request(MEDIAIO.operation("imagen_4"), {"prompt": "x"})
    assert (req.method, req.path, req.json) == (
        "POST",
        "/generation/imagen/t2i-imagen-4",
        {"data": {"prompt": "x"}},
    )
    poll = media.poll_request(MEDIAIO.operation("imagen_4"), "a/b")
    assert poll.path == "/generation/result/a%2Fb" and poll.json == {}
    tomo = CatalogTaskStrategy(TOMOVIEE).poll_request(TOMOVIEE.operation("text_to_video"), "t1")
    assert (tomo.path, tomo.json) == ("/v1/open/pub/task", {"task_id": "t1"})
    with pytest.raises(MalformedResponseError, match="no 'task_id'"):
        media.task_id(MEDIAIO.operation("imagen_4"), {"id": "x"})
    assert fill_path("/r/{task_id}", {"task_id": "../x"}) == "/r/..%2Fx"


def test_result_parsers() -> None:
    payload = {
        "list": [{"url": "https://cdn/a.png"}, {"nested": {"thumb": "https://cdn/b.jpg?x=1"}}],
        "n": 2,
        "again": "https://cdn/a.png",
    }
    assert list(iter_urls(payload)) == [
        "https://cdn/a.png",
        "https://cdn/b.jpg?x=1",
        "https://cdn/a.png",
    ]
    arts = CatalogResults(MEDIAIO).artifacts(
        MEDIAIO.operation("kling_2_1"), {"video": "https://c/v.mp4", "cover": "https://c/c.png"}
    )
    assert [(a.url, a.kind) for a in arts] == [
        ("https://c/v.mp4", "video"),
        ("https://c/c.png", "image"),
    ]
    older = CatalogResults(TOMOVIEE).artifacts(
        TOMOVIEE.operation("image_to_image"), {"image_path": ["https://x/1.png"]}
    )
    newer = CatalogResults(TOMOVIEE).artifacts(
        TOMOVIEE.operation("image_to_image"), {"images_path": ["https://x/1.png"]}
    )
    assert older == newer == (Artifact("https://x/1.png", "image"),)
    masks = CatalogResults(TOMOVIEE).artifacts(
        TOMOVIEE.operation("image_recognition"), {"mask_path": ["https://x/m.png"]}
    )
    assert masks[0].kind == "mask"
    diagram = DiagramResults().artifacts(
        EDRAWMAX.operation("gantt"),
        {
            "png_url": "https://a.aliyuncs.com/t.png",
            "svg_url": "https://a.aliyuncs.com/m.svg",
            "source_code": "gantt",
        },
    )
    assert [a.kind for a in diagram] == ["diagram", "diagram"] and diagram[0].source_code == "gantt"
    with pytest.raises(MalformedResponseError):
        DiagramResults().artifacts(EDRAWMAX.operation("gantt"), {"source_code": "x"})


def _response(status: int, body: object, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, headers or {}, raw)


def test_error_classification() -> None:
    errors = TomovieeErrors(TOMOVIEE)
    op = TOMOVIEE.operation("text_to_video")
    poll = Call(TOMOVIEE, op, "poll", "t1")
    submit = Call(TOMOVIEE, op, "submit")
    assert errors.check(poll, _response(200, {"code": 1, "msg": "x", "data": {"status": 4}})) == {
        "status": 4
    }
    with pytest.raises(APIError) as unknown:  # an undocumented code: the base API error
        errors.check(submit, _response(200, {"code": 1, "msg": "x", "data": {"status": 4}}))
    assert type(unknown.value) is APIError and unknown.value.code == 1
    with pytest.raises(AuthenticationError) as auth:
        errors.check(submit, _response(401, {"code": 401, "msg": "bad token"}))
    assert (auth.value.status, auth.value.vendor_message, auth.value.operation) == (
        401,
        "bad token",
        "text_to_video",
    )
    with pytest.raises(RateLimitError) as limited:
        errors.check(submit, _response(429, b"slow down", {"Retry-After": "3"}))
    assert limited.value.retry_after == 3
    with pytest.raises(MalformedResponseError):
        errors.check(submit, _response(200, [1, 2]))


def test_mediaio_not_found_code() -> None:
    from mediagen.protocol import CatalogErrorClassifier

    call = Call(MEDIAIO, MEDIAIO.operation("task_result"), "query", "t9")
    with pytest.raises(NotFoundError) as info:
        CatalogErrorClassifier(MEDIAIO).check(
            call, _response(200, {"code": 40003, "msg": "", "trace_id": "tr"})
        )
    assert info.value.trace_id == "tr" and info.value.task_id == "t9"
    assert "Task not found" in str(info.value)


def test_retry_after_header_forms() -> None:
    assert retry_after({"retry-after": "2.5"}) == 2.5
    assert retry_after({}) is None
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after({"Retry-After": "soon"}) is None


def test_poll_schedule_backs_off_to_a_cap() -> None:
    op = TOMOVIEE.operation("text_to_video")
    schedule = CatalogTaskStrategy(TOMOVIEE).poll_schedule(op)
    intervals = [schedule.interval(n) for n in range(10)]
    assert intervals[0] == 5.0 and intervals == sorted(intervals) and intervals[-1] == 15.0
    image = CatalogTaskStrategy(TOMOVIEE).poll_schedule(TOMOVIEE.operation("image_to_image"))
    assert image.initial < schedule.initial


def test_download_host_policy() -> None:
    catalog_target = Target(EDRAWMAX.base_url, overridden=False)
    assert (
        download_allowed(EDRAWMAX, catalog_target, "https://bucket.oss.aliyuncs.com/a.png") is None
    )
    assert "not https" in (
        download_allowed(EDRAWMAX, catalog_target, "http://bucket.aliyuncs.com/a.png") or ""
    )
    assert "not among" in (
        download_allowed(EDRAWMAX, catalog_target, "https://evil.com/a.png") or ""
    )
    assert "not among" in (
        download_allowed(EDRAWMAX, catalog_target, "https://aliyuncs.com.evil.com/a") or ""
    )
    local = Target("http://127.0.0.1:9000/edrawmax", overridden=True)
    assert download_allowed(EDRAWMAX, local, "http://127.0.0.1:9000/_files/a.png") is None
    assert download_allowed(EDRAWMAX, local, "http://127.0.0.1:9001/_files/a.png") is not None
    assert (
        download_allowed(MEDIAIO, Target(MEDIAIO.base_url, False), "https://any.cdn.test/x.png")
        is None
    )
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1")


def test_downloads_refuse_other_hosts_and_never_clobber(tmp_path: Path) -> None:
    async def go() -> None:
        async with Emulator() as emu, mediagen.AsyncClient(**emu.client_options()) as client:
            bad = Result(
                "edrawmax",
                "flowchart",
                (Artifact("https://evil.example/x.png", "diagram"),),
                raw=None,
            )
            with pytest.raises(UnsafeDownloadError, match=r"evil\.example"):
                await client.download(bad, tmp_path)
            result = await (await client.mediaio.imagen_4(prompt="x")).wait()
            first = await client.download(result, tmp_path)
            second = await client.download(result, tmp_path)
            assert first[0] != second[0] and second[0].name.endswith(".1.png")
            third = await client.download(result, tmp_path, overwrite=True)
            assert third == first
            tiny = mediagen.AsyncClient(**emu.client_options(), max_download_bytes=10)
            with pytest.raises(UnsafeDownloadError, match="cap"):
                await tiny.download(result, tmp_path / "tiny")
            await tiny.close()
            assert list((tmp_path / "tiny").iterdir()) == [], "no partial file left behind"
            files = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
            assert files == sorted([first[0].name, second[0].name])

    asyncio.run(go())


class _Redirecting(CatalogTaskStrategy):
    """A task strategy whose submit request tries to leave the provider's host."""

    def __init__(self, provider: Provider, path: str) -> None:
        super().__init__(provider)
        self.path = path

    def submit_request(self, op: Operation, params: object) -> HttpRequest:
        return HttpRequest("POST", self.path, {})


@pytest.mark.parametrize(
    "path", ["//evil.example/x", "@evil.example/x", "evil/x", "/x\\@evil.example"]
)
def test_a_plugin_cannot_point_a_request_at_another_host(path: str) -> None:
    class Plugin:
        @hookimpl
        def mediagen_task_strategy(self, provider: Provider) -> _Redirecting | None:
            return _Redirecting(provider, path) if provider.name == "edrawmax" else None

    registry = Registry(entry_points=False)
    registry.register(Plugin(), name="redirect")

    async def go() -> None:
        async with (
            Emulator(registry=registry) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            with pytest.raises(ConfigurationError, match="refusing request path"):
                await client.edrawmax.flowchart(prompt="x")
            assert emu.requests == []

    asyncio.run(go())


def test_file_names_from_vendor_ids_cannot_escape(tmp_path: Path) -> None:
    from mediagen.download import file_stem, safe_name

    evil = Result(
        "mediaio",
        "imagen_4",
        (Artifact("https://x/a.png", "image"),),
        raw=None,
        task_id="../../etc/passwd",
    )
    assert file_stem(evil) == "imagen_4-.._.._etc_passwd"
    assert "/" not in file_stem(evil) and not file_stem(evil).startswith(".")
    assert safe_name("...") == "artifact" and safe_name("a b/c") == "a_b_c"


def test_a_base_url_with_a_password_is_refused() -> None:
    from mediagen.hosts import resolve_target

    with pytest.raises(ConfigurationError, match="must not carry a user name or password"):
        resolve_target(MEDIAIO, {"mediaio": "https://me:pw@openapi.media.io"})
    assert resolve_target(MEDIAIO, {"mediaio": "https://proxy.example/media"}).overridden
