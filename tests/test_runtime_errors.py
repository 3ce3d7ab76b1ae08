"""Typed errors from real answers: auth, vendor codes, terminal states, bad bodies, transport."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from helpers import FAST_RETRY

import mediagen
from mediagen.client import ClientOptions
from mediagen.credentials import CLIENT_SHORTCUTS
from mediagen.defaults import RetryPolicy, Timeouts
from mediagen.errors import (
    AuthenticationError,
    ConfigurationError,
    ContentRejectedError,
    GenerationFailedError,
    InsufficientCreditsError,
    MissingCredentialError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SubmitOutcomeUnknownError,
    TaskTimeoutError,
    TransportError,
)
from mediagen.testing import EMULATOR_CREDENTIALS, Emulator, Fault


def with_client(
    body: Callable[[Emulator, mediagen.AsyncClient], Awaitable[Any]], **client: Any
) -> Any:
    async def go() -> Any:
        async with Emulator(duration=0.05) as emu:
            options = {**emu.client_options(), "retry": FAST_RETRY, **client}
            async with mediagen.AsyncClient(**options) as c:
                return await body(emu, c)

    return asyncio.run(go())


def test_wrong_key_is_an_authentication_error() -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        with pytest.raises(AuthenticationError) as info:
            await client.mediaio.imagen_4(prompt="x")
        err = info.value
        assert (err.provider, err.operation, err.code) == ("mediaio", "imagen_4", 374004)
        # The vendor's documented wording (imagen_4's export entry lists no 40001).
        assert err.vendor_message == "authentication required"
        assert "wrong-key" not in str(err)

    with_client(body, credentials={"mediaio": {"api_key": "wrong-key"}})


def test_missing_credential_raises_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOMOVIEE_APP_KEY", raising=False)
    monkeypatch.delenv("TOMOVIEE_APP_SECRET", raising=False)

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        with pytest.raises(MissingCredentialError, match="TOMOVIEE_APP_SECRET"):
            await client.tomoviee.text_to_video(prompt="x")
        assert emu.requests == []

    with_client(body, credentials={"tomoviee": {"app_key": "k"}})


def test_a_missing_credential_names_the_client_keyword_that_supplies_it() -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> str:
        with pytest.raises(MissingCredentialError) as info:
            await client.tomoviee.text_to_video(prompt="x")
        assert emu.requests == []
        return str(info.value)

    message = with_client(body, credentials={"tomoviee": {"app_key": "k"}})
    assert "(tomoviee_app_secret=... or credentials={'tomoviee': {'app_secret': ...}})" in message

    async def fixed(emu: Emulator, client: mediagen.AsyncClient) -> None:
        task = await client.tomoviee.text_to_video(prompt="x")
        assert task.task_id and len(emu.requests) == 1

    # The keyword the message names is one the client takes.
    keys = EMULATOR_CREDENTIALS["tomoviee"]
    with_client(
        fixed,
        credentials={},
        tomoviee_app_key=keys["app_key"],
        tomoviee_app_secret=keys["app_secret"],
    )


def test_every_missing_credential_of_a_provider_is_named_in_one_error() -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> MissingCredentialError:
        with pytest.raises(MissingCredentialError) as info:
            await client.tomoviee.text_to_video(prompt="x")
        assert emu.requests == []
        return info.value

    error = with_client(body, credentials={})
    assert error.credentials == ("app_key", "app_secret")
    assert str(error) == (
        "tomoviee: no app_key and app_secret given; set TOMOVIEE_APP_KEY and TOMOVIEE_APP_SECRET"
        " or pass them to the client (tomoviee_app_key=... and tomoviee_app_secret=... or"
        " credentials={'tomoviee': {'app_key': ..., 'app_secret': ...}})"
    )


def test_a_plugin_credential_without_a_client_keyword_names_credentials_only() -> None:
    error = MissingCredentialError("zeta", "token", ["ZETA_TOKEN"])
    assert str(error) == (
        "zeta: no token given; set ZETA_TOKEN or pass it to the client"
        " (credentials={'zeta': {'token': ...}})"
    )
    assert set(CLIENT_SHORTCUTS.values()) <= set(ClientOptions.__annotations__)


def test_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIAIO_API_KEY", raising=False)
    monkeypatch.setenv("API_KEY", "emulator-mediaio-api_key")

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        assert await client.mediaio.credits() == {"credits": 1000}

    with_client(body, credentials={})


def test_vendor_codes_map_to_the_error_tree() -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.inject(Fault("vendor_code", provider="mediaio", code=490505, message="no credits left"))
        with pytest.raises(InsufficientCreditsError) as credits:
            await client.mediaio.imagen_4(prompt="x")
        assert credits.value.vendor_message == "no credits left" and credits.value.trace_id
        emu.inject(
            Fault("vendor_code", provider="edrawmax", code=2406, message="risk control rejection")
        )
        with pytest.raises(ContentRejectedError, match="risk control rejection"):
            await client.edrawmax.gantt(prompt="x")
        emu.inject(Fault("vendor_code", provider="edrawmax", code=3001, times=1))
        assert (await client.edrawmax.gantt(prompt="x")).artifacts  # retried: 3001 is a rejection
        emu.inject(Fault("vendor_code", provider="edrawmax", code=3001, times=10))
        with pytest.raises(RateLimitError):
            await client.edrawmax.gantt(prompt="x")
        emu.faults.clear()
        with pytest.raises(NotFoundError) as missing:
            await client.mediaio.task_result(task_id="nope")
        assert missing.value.code == 40003

    with_client(body)


def test_terminal_failure_states() -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        for state in ("failed", "cancelled", "timed_out"):
            emu.set_outcome("tomoviee.text_to_music", state, reason=f"boom {state}")
            task = await client.tomoviee.text_to_music(prompt="x", duration=10, qty=1)
            with pytest.raises(GenerationFailedError) as info:
                await task.wait()
            assert info.value.state == state
            assert info.value.task_id == task.task_id
            assert f"boom {state}" in str(info.value)
        emu.set_outcome("mediaio.imagen_4", "failed")
        task = await client.mediaio.imagen_4(prompt="x")
        with pytest.raises(GenerationFailedError, match="the task failed"):
            await task.wait()

    with_client(body)


def test_lost_submit_answers_are_unknown_and_never_resubmitted() -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.inject(Fault("status", provider="tomoviee", phase="submit", status=500))
        with pytest.raises(SubmitOutcomeUnknownError) as server:
            await client.tomoviee.text_to_video(prompt="x")
        assert isinstance(server.value.__cause__, ServerError) and server.value.status == 500
        emu.inject(Fault("malformed", provider="mediaio", phase="submit"))
        with pytest.raises(SubmitOutcomeUnknownError, match="the answer to the submit was lost"):
            await client.mediaio.imagen_4(prompt="x")
        emu.inject(Fault("html", provider="mediaio", phase="submit", status=502))
        with pytest.raises(SubmitOutcomeUnknownError, match="non-JSON body"):
            await client.mediaio.imagen_4(prompt="x")
        assert len(emu.requests_for("mediaio", "submit")) == 2
        assert len(emu.requests_for("tomoviee", "submit")) == 1

    with_client(body)


def test_rate_limits_honour_retry_after_then_give_up() -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.inject(
            Fault(
                "status", provider="mediaio", phase="submit", status=429, retry_after=0.1, times=5
            )
        )
        with pytest.raises(RateLimitError) as limited:
            await client.mediaio.imagen_4(prompt="x")
        assert limited.value.retry_after == 0.1
        assert len(emu.requests_for("mediaio", "submit")) == 2  # RetryPolicy(attempts=2)

    with_client(body, retry=RetryPolicy(attempts=2))


def test_transient_poll_failures_are_retried() -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        task = await client.mediaio.imagen_4(prompt="x")
        emu.inject(Fault("status", provider="mediaio", phase="poll", status=503, times=2))
        emu.inject(Fault("malformed", provider="mediaio", phase="poll", times=1))
        result = await task.wait()
        assert result.artifacts

    with_client(body)


def test_wait_timeout_leaves_the_task_resumable() -> None:
    async def go() -> None:
        async with (
            Emulator(duration=5) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            task = await client.tomoviee.video_soundtrack(video="https://example.test/v.mp4")
            with pytest.raises(TaskTimeoutError, match=r"stopped waiting after 0\.2s"):
                await task.wait(timeout=0.2)
            assert (await task.status()).state in ("queued", "running")

    asyncio.run(go())


def test_connection_refused_is_a_transport_error_that_was_not_sent() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def go() -> None:
        async with mediagen.AsyncClient(
            base_urls={"edrawmax": f"http://127.0.0.1:{port}"}, retry=FAST_RETRY
        ) as client:
            with pytest.raises(TransportError) as info:
                await client.edrawmax.flowchart(prompt="x")
            assert info.value.sent is False
            assert info.value.operation == "flowchart"

    asyncio.run(go())


def test_base_url_must_be_https_or_loopback() -> None:
    async def go() -> None:
        async with mediagen.AsyncClient(base_urls={"edrawmax": "http://example.com"}) as client:
            with pytest.raises(ConfigurationError, match="loopback"):
                await client.edrawmax.flowchart(prompt="x")

    asyncio.run(go())


def test_rebuilding_a_handle_checks_the_operation() -> None:
    client = mediagen.AsyncClient()
    with pytest.raises(ConfigurationError, match="sync operation"):
        client.task("edrawmax", "flowchart", "t1")
    with pytest.raises(ConfigurationError, match="no provider 'nope'"):
        client.task("nope", "imagen_4", "t1")
    # An operation the catalog lacks, for a task the journal does not hold as it: a typo
    # (one the journal holds is finished: tests/test_retired_operations.py).
    with pytest.raises(ConfigurationError, match="no mediaio operation 'imagen_9'; did you"):
        client.task("mediaio", "imagen_9", "t1")
    asyncio.run(client.close())


def test_dropped_connections_and_slow_answers() -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.inject(Fault("reset", provider="edrawmax", phase="run"))
        with pytest.raises(SubmitOutcomeUnknownError) as reset:
            await client.edrawmax.infographic(prompt="x")
        assert isinstance(reset.value.__cause__, TransportError)
        assert reset.value.__cause__.sent is None  # unknown: the request may have been read
        emu.inject(Fault("reset_after", provider="mediaio", phase="submit"))
        with pytest.raises(SubmitOutcomeUnknownError):
            await client.mediaio.imagen_4(prompt="x")
        assert len(emu.tasks) == 1  # the emulator created the task; the client never heard
        emu.inject(Fault("slow", provider="edrawmax", phase="run", delay=1.0))
        with pytest.raises(SubmitOutcomeUnknownError, match=r"no answer .* within 0\.3s"):
            await client.edrawmax.infographic(prompt="x")
        assert (await client.edrawmax.infographic(prompt="x")).artifacts  # and then it works
        emu.inject(Fault("reset", provider="mediaio", phase="poll"))
        emu.inject(Fault("slow", provider="mediaio", phase="query", delay=1.0))
        assert await client.mediaio.credits() == {"credits": 1000}  # reads are retried

    with_client(body, timeouts=Timeouts(request=0.3))


def test_options_per_client_and_per_call() -> None:
    with pytest.raises(TypeError, match=r"unknown client option.*retries"):
        mediagen.AsyncClient(retries=3)  # type: ignore[call-arg]

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        emu.inject(Fault("status", provider="mediaio", phase="query", status=503, times=2))
        patient = client.with_options(retry=RetryPolicy(attempts=3, base=0.01, cap=0.02))
        assert await patient.mediaio.credits() == {"credits": 1000}  # 2 failures, 3rd try
        emu.inject(Fault("status", provider="mediaio", phase="query", status=503, times=2))
        with pytest.raises(ServerError):
            await client.mediaio.credits()  # this client's own policy: 1 attempt
        assert patient.journal is client.journal

    with_client(body, retry=RetryPolicy(attempts=1))
