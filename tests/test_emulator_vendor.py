"""The emulator answers with the vendors' documented codes and wording, and with the answers
the vendors give that it never did: Media.io's export status words, a Tomoviee poll answer
with a non-zero code and data, Tomoviee's callback. mediagen's client maps each of them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import mediagen
from mediagen.defaults import RetryPolicy
from mediagen.errors import (
    AuthenticationError,
    ContentRejectedError,
    GenerationFailedError,
    InsufficientCreditsError,
    InvalidParameterError,
    NotFoundError,
    RateLimitError,
)
from mediagen.testing import Emulator, Fault


def run(body: Callable[[Emulator, mediagen.AsyncClient], Awaitable[Any]], **client: Any) -> Any:
    async def go() -> Any:
        async with Emulator(duration=0.05) as emu:
            options = {**emu.client_options(), "retry": RetryPolicy(attempts=1), **client}
            async with mediagen.AsyncClient(**options) as c:
                return await body(emu, c)

    return asyncio.run(go())


async def post(url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


# -- vendor codes and wording -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        ({"lang": "en"}, "bad param: prompt is required"),
        ({"prompt": "x", "lang": "xx"}, "bad param: lang不合法"),
    ],
)
def test_edrawmax_refuses_a_bad_param_in_its_own_words(body: dict[str, str], msg: str) -> None:
    async def go(emu: Emulator, client: mediagen.AsyncClient) -> None:
        status, answer = await post(f"{emu.url}/edrawmax/skills/generate-flowchart", body)
        assert (status, answer["code"], answer["msg"]) == (200, 400, msg)

    run(go)


@pytest.mark.parametrize(
    ("code", "error", "msg"),
    [
        (400, InvalidParameterError, "bad param: prompt is required"),
        (2406, ContentRejectedError, "risk control rejection"),
        (3001, RateLimitError, "concurrency limit"),
    ],
)
def test_edrawmax_fault_codes_carry_the_vendor_message_and_map(
    code: int, error: type[Exception], msg: str
) -> None:
    async def go(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.inject(Fault("vendor_code", provider="edrawmax", code=code, times=5))
        with pytest.raises(error) as info:
            await client.edrawmax.flowchart(prompt="x")
        assert info.value.code == code and info.value.vendor_message == msg  # type: ignore[attr-defined]

    run(go)


def test_mediaio_credits_is_the_vendors_code_and_message() -> None:
    async def go(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.inject(Fault("vendor_code", provider="mediaio", phase="submit", code=490505))
        with pytest.raises(InsufficientCreditsError) as info:
            await client.mediaio.imagen_4(prompt="x")
        assert info.value.vendor_message == "insufficient credits"
        assert "injected" not in str(info.value)

    run(go)


def test_mediaio_wrong_key_is_40001_where_the_export_documents_it() -> None:
    async def go(emu: Emulator, client: mediagen.AsyncClient) -> None:
        with pytest.raises(AuthenticationError) as info:
            await client.mediaio.credits()  # its export entry lists 40001 Invalid API key
        assert (info.value.code, info.value.vendor_message) == (40001, "Invalid API key")
        with pytest.raises(AuthenticationError) as info:
            await client.mediaio.imagen_4(prompt="x")  # its entry lists no codes
        assert info.value.code == 374004
        _, answer = await post(f"{emu.url}/mediaio/user/credits", {})  # no key at all
        assert (answer["code"], answer["msg"]) == (374004, "authentication required")

    run(go, credentials={"mediaio": {"api_key": "wrong-key-1234"}})


def test_tomoviee_429_is_a_rate_limit_with_retry_after() -> None:
    async def go(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.inject(Fault("status", provider="tomoviee", status=429, retry_after=7))
        with pytest.raises(RateLimitError) as info:
            await client.tomoviee.text_to_music(prompt="x", duration=5, qty=1)
        assert info.value.retry_after == 7
        assert info.value.vendor_message == "Too Many Requests"

    run(go)


# -- answers the emulator never gave ------------------------------------------------------


def test_mediaio_export_status_words_and_rotation() -> None:
    async def go(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.set_status_words("mediaio", {"queued": "pending", "succeeded": "succeeded"})
        handle = await client.mediaio.imagen_4(prompt="x")
        result = await handle.wait(timeout=30)
        assert result.artifacts
        polled = await client.mediaio.task_result(task_id=handle.task_id)
        assert polled["status"] == "succeeded"
        emu.set_status_words("mediaio", "rotate")
        words = []
        for _ in range(2):
            handle = await client.mediaio.imagen_4(prompt="x")
            await handle.wait(timeout=30)
            words.append((await client.mediaio.task_result(task_id=handle.task_id))["status"])
        assert sorted(words) == ["completed", "succeeded"]

    run(go)


def test_status_words_are_checked() -> None:
    emu = Emulator()
    with pytest.raises(
        ValueError,
        match="'done' is not mediaio's word for succeeded; allowed: completed, succeeded",
    ):
        emu.set_status_words("mediaio", {"succeeded": "done"})


def test_tomoviee_failed_poll_with_a_code_and_data_is_a_task_state() -> None:
    async def go(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.set_outcome("tomoviee.text_to_music", "failed", reason="audio model busy", code=1)
        handle = await client.tomoviee.text_to_music(prompt="x", duration=5, qty=1)
        with pytest.raises(GenerationFailedError) as info:
            await handle.wait(timeout=30)
        assert "audio model busy" in str(info.value)
        _, answer = await post(
            f"{emu.url}/tomoviee/v1/open/pub/task",
            {"task_id": handle.task_id},
            dict(emu.requests_for("tomoviee", "poll")[-1].headers),
        )
        assert (answer["code"], answer["msg"], answer["data"]["status"]) == (
            1,
            "audio model busy",
            4,
        )

    run(go)


def test_tomoviee_callback_posts_the_finished_task_to_loopback() -> None:
    async def go(emu: Emulator, client: mediagen.AsyncClient) -> None:
        got: asyncio.Queue[Any] = asyncio.Queue()

        async def receive(request: web.Request) -> web.Response:
            await got.put(await request.json())
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_post("/hook", receive)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            handle = await client.tomoviee.text_to_music(
                prompt="x",
                duration=5,
                qty=1,
                callback=f"http://127.0.0.1:{port}/hook",
                params="ctx-7",
            )
            payload = await asyncio.wait_for(got.get(), timeout=20)
        finally:
            await runner.cleanup()
        assert (payload["task_id"], payload["status"], payload["params"]) == (
            handle.task_id,
            3,
            "ctx-7",
        )
        assert json.loads(payload["result"])["audio_path"][0].startswith(emu.url)
        assert [c.status for c in emu.callbacks.sent] == [200]

    run(go)


def test_a_callback_off_this_machine_is_refused() -> None:
    async def go(emu: Emulator, client: mediagen.AsyncClient) -> None:
        with pytest.raises(InvalidParameterError) as info:
            await client.tomoviee.text_to_music(
                prompt="x", duration=5, qty=1, callback="https://example.com/hook"
            )
        assert "allowed: http:// on a loopback address" in str(info.value)
        assert not emu.tasks and not emu.callbacks.sent

    run(go)


def test_an_undocumented_tomoviee_code_says_only_the_code() -> None:
    async def go(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.inject(Fault("vendor_code", provider="tomoviee", code=1001))
        headers = {"X-App-Key": "k", "Authorization": "Basic x"}  # the fault comes first
        status, answer = await post(f"{emu.url}/tomoviee/v1/open/pub/task", {}, headers)
        assert (status, answer) == (200, {"code": 1001, "msg": "error 1001", "data": {}})

    run(go)


def test_a_task_is_unknown_to_the_other_vendors_as_on_the_real_services() -> None:
    """A client that polls a task through the wrong provider gets "not found", never another
    vendor's result (one emulator serves all three, their task ids in one place)."""

    async def go(emu: Emulator, client: mediagen.AsyncClient) -> None:
        mediaio = await client.mediaio.imagen_4(prompt="x")
        tomoviee = await client.tomoviee.text_to_video(prompt="x")
        assert (await client.task("mediaio", "imagen_4", mediaio.task_id).status()).state
        with pytest.raises(NotFoundError):
            await client.task("tomoviee", "text_to_video", mediaio.task_id).status()
        with pytest.raises(NotFoundError):
            await client.task("mediaio", "imagen_4", tomoviee.task_id).status()
        with pytest.raises(NotFoundError):  # Media.io's own query by task id
            await client.mediaio.task_result(task_id=tomoviee.task_id)
        assert await client.mediaio.task_result(task_id=mediaio.task_id)

    run(go)
