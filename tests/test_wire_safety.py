"""Wire safety: API calls never follow redirects, API answers are size-capped, and base URLs are
checked before any request, so nothing that never left is journaled as a lost (maybe paid) submit.

Every server here is real and on loopback: the emulator (an aiohttp app) or a small aiohttp app.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from helpers import held_answers, local_server, mediagen_main

import mediagen
from mediagen.defaults import MAX_RESPONSE_BYTES, RetryPolicy, Timeouts
from mediagen.errors import (
    ConfigurationError,
    MalformedResponseError,
    RedirectRefusedError,
    SubmitOutcomeUnknownError,
    TransportError,
)
from mediagen.journal import Journal
from mediagen.registry import default_registry
from mediagen.retry import decide
from mediagen.testing import EMULATOR_CREDENTIALS, Emulator, Fault
from mediagen.transport import Transport

pytestmark = pytest.mark.usefixtures("loopback_children")  # children skip the CA bundle

SECRETS = [v for creds in EMULATOR_CREDENTIALS.values() for v in creds.values()]
QUICK = RetryPolicy(attempts=2, base=0.01, cap=0.02)


def op_path(provider: str, operation: str) -> str:
    return default_registry().catalog.provider(provider).operation(operation).path


def states(journal: Path) -> list[tuple[str, str | None]]:
    with_journal = Journal(journal)
    try:
        return [(e.state, e.task_id) for e in with_journal.entries()]
    finally:
        with_journal.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- defect 1: redirects ------------------------------------------------------------------------


async def redirected_submit(tmp_path: Path, provider: str, operation: str, **params: Any) -> None:
    """A submit (or sync run) answered 307 to another loopback origin (name and port): refused,
    the other server never sees a request, and the journal says rejected."""
    journal = tmp_path / "journal.sqlite3"
    async with Emulator() as vendor, Emulator() as elsewhere:
        # The other origin is a full emulator with the same credentials: had the client followed
        # the redirect, it would have created a task there and the client would have taken it.
        target = f"http://localhost:{elsewhere.port}/{provider}{op_path(provider, operation)}"
        vendor.inject(Fault("redirect", provider=provider, location=target))
        options = {**vendor.client_options(), "journal": journal}
        async with mediagen.AsyncClient(**options) as client:
            with pytest.raises(RedirectRefusedError) as info:
                await getattr(getattr(client, provider), operation)(**params)
        assert elsewhere.requests == []
        assert len(vendor.requests_for(provider)) == 1  # refused, not retried
        assert vendor.tasks == {}
    message = str(info.value)
    assert message.startswith(f"{provider}.{operation}: http://127.0.0.1:{vendor.port} answered")
    assert f"a redirect to http://localhost:{elsewhere.port};" in message
    assert "(HTTP 307)" in message
    assert "nothing was created there" in message
    assert not any(secret in message for secret in SECRETS)
    ((state, task_id),) = states(journal)
    assert (state, task_id) == ("rejected", None)


def test_mediaio_submit_redirected_elsewhere_is_refused_and_rejected(tmp_path: Path) -> None:
    asyncio.run(redirected_submit(tmp_path, "mediaio", "imagen_4", prompt="a cat"))


def test_tomoviee_submit_redirected_elsewhere_is_refused_and_rejected(tmp_path: Path) -> None:
    # X-App-Key is the header aiohttp would have carried along (it strips only Authorization).
    asyncio.run(redirected_submit(tmp_path, "tomoviee", "text_to_video", prompt="a boat"))


def test_sync_run_redirected_elsewhere_is_refused_and_rejected(tmp_path: Path) -> None:
    asyncio.run(redirected_submit(tmp_path, "edrawmax", "flowchart", prompt="sign-up", lang="en"))


@pytest.mark.parametrize(
    "provider,operation", [("mediaio", "imagen_4"), ("tomoviee", "text_to_music")]
)
def test_poll_redirected_elsewhere_is_refused(provider: str, operation: str) -> None:
    params = {"prompt": "x"} if provider == "mediaio" else {"prompt": "x", "duration": 10, "qty": 1}

    async def go() -> None:
        async with (
            Emulator() as vendor,
            Emulator() as elsewhere,
            mediagen.AsyncClient(**vendor.client_options(), retry=QUICK) as client,
        ):
            task = await getattr(getattr(client, provider), operation)(**params)
            vendor.inject(
                Fault(
                    "redirect",
                    provider=provider,
                    phase="poll",
                    status=302,
                    location=f"http://localhost:{elsewhere.port}/{provider}/task?k=v",
                )
            )
            with pytest.raises(
                RedirectRefusedError, match=r"answered with a redirect to .*\(task \w+, HTTP 302\)"
            ) as info:
                await task.status()
            assert info.value.task_id == task.task_id
            assert "?k=v" not in str(info.value)  # only the origin is named
            assert elsewhere.requests == []
            # A refused redirect is not retried as a transient poll failure.
            assert len(vendor.requests_for(provider, "poll")) == 1
            assert (await task.wait()).artifacts  # the fault used up, the task goes on

    asyncio.run(go())


def test_a_download_redirect_to_a_refused_place_shows_no_query_and_no_key(
    tmp_path: Path,
) -> None:
    """An artifact whose URL redirects to another origin with our key in its path and query
    string (percent-encoded and base64): `run --json` names the refused place by origin and
    path, and no form of the key reaches its output or the journal."""
    key = EMULATOR_CREDENTIALS["mediaio"]["api_key"] + "/x+y"
    forms = (key, quote(key, safe=""), base64.b64encode(key.encode()).decode())

    async def go() -> tuple[int, str, str]:
        async def submit(request: web.Request) -> web.Response:
            # Retry-After: poll at once, not after an image's first plausible finish (10 s).
            body = {"code": 0, "data": {"task_id": "t-1"}}
            return web.json_response(body, headers={"Retry-After": "0"})

        async def poll(request: web.Request) -> web.Response:
            image = {"url": f"{base}/files/a.png"}
            data = {"task_id": "t-1", "status": "completed", "result": {"images": [image]}}
            return web.json_response({"code": 0, "data": data})

        async def redirect(request: web.Request) -> web.Response:
            target = f"http://localhost:{port}/s/{forms[1]}.png?k={forms[1]}&b={forms[2]}"
            return web.Response(status=302, headers={"Location": target})

        routes = [
            web.post("/generation/result/{tid}", poll),
            web.post("/{tail:.*}", submit),
            web.get("/files/a.png", redirect),
        ]
        async with local_server(routes) as base:
            port = int(base.rsplit(":", 1)[1])
            env = {
                **os.environ,
                "MEDIAGEN_JOURNAL": str(tmp_path / "j.sqlite3"),
                "MEDIAGEN_MEDIAIO_BASE_URL": base,
                "MEDIAIO_API_KEY": key,
            }
            proc = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "mediagen", "run", "mediaio", "imagen_4", "prompt=x"),
                "--json",
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode or 0, out.decode(), err.decode()

    code, out, err = asyncio.run(go())
    assert code == 1, err
    # The path is shown, scrubbed: the provider's scrubber covers download errors too.
    assert "redirects to a refused place" in err and "/s/***.png" in err
    assert "?k=" not in err + out and "&b=" not in err + out
    journaled = sqlite3.connect(tmp_path / "j.sqlite3").execute("SELECT * FROM tasks").fetchall()
    for text in (out, err, repr(journaled)):
        assert not any(form in text for form in forms), text


def test_a_same_origin_redirect_does_not_claim_nothing_was_sent_to_the_host() -> None:
    async def go() -> str:
        async with Emulator() as vendor:
            vendor.inject(
                Fault("redirect", provider="mediaio", phase="query", location="/mediaio/moved")
            )
            async with mediagen.AsyncClient(**vendor.client_options()) as client:
                with pytest.raises(RedirectRefusedError) as info:
                    await client.mediaio.credits()
            assert len(vendor.requests_for("mediaio")) == 1  # the request did reach it
            here = f"http://127.0.0.1:{vendor.port}"
            assert f"{here} answered with a redirect to another path on {here};" in str(info.value)
            return str(info.value)

    message = asyncio.run(go())
    assert "nothing was sent to the redirect's location" in message
    assert "nothing was sent to http" not in message


def test_redirect_without_location_and_the_retry_verdict() -> None:
    async def go() -> None:
        async with Emulator() as vendor:
            vendor.inject(Fault("redirect", provider="mediaio", phase="query", status=301))
            async with mediagen.AsyncClient(**vendor.client_options()) as client:
                with pytest.raises(
                    RedirectRefusedError, match=r"a redirect without a Location; .*\(HTTP 301\)"
                ):
                    await client.mediaio.credits()

    asyncio.run(go())
    refused = RedirectRefusedError("moved", status=307)
    assert decide(refused, "submit", 1, RetryPolicy()) == "raise"  # rejected, not "unknown"
    assert decide(refused, "poll", 1, RetryPolicy()) == "raise"


# -- defect 10: capped API answers --------------------------------------------------------------


def test_a_huge_chunked_poll_answer_is_refused_without_reading_it() -> None:
    size = 64 * 1024**2
    cap = 64 * 1024

    async def go() -> Fault:
        async with Emulator() as vendor:
            options = {**vendor.client_options(), "max_response_bytes": cap}
            async with mediagen.AsyncClient(**options, retry=RetryPolicy(attempts=1)) as client:
                task = await client.mediaio.imagen_4(prompt="x")
                huge = vendor.inject(
                    Fault("huge", provider="mediaio", phase="poll", size=size, chunked=True)
                )
                with pytest.raises(MalformedResponseError) as info:
                    await task.status()
                assert f"over the {cap}-byte cap" in str(info.value)
                assert info.value.task_id == task.task_id
                # At the cap exactly, the answer is read (and is not JSON): no off-by-one.
                vendor.inject(Fault("huge", provider="mediaio", phase="poll", size=cap))
                with pytest.raises(MalformedResponseError, match="expected JSON, got 65536 bytes"):
                    await task.status()
                return huge

    huge = asyncio.run(go())
    assert huge.written < size // 2  # the client hung up instead of reading 64 MiB


def test_a_huge_declared_submit_answer_is_refused_and_the_submit_is_unknown(
    tmp_path: Path,
) -> None:
    size = 64 * 1024**2
    journal = tmp_path / "journal.sqlite3"

    async def go() -> Fault:
        async with Emulator() as vendor:
            huge = vendor.inject(Fault("huge", provider="tomoviee", phase="submit", size=size))
            options = {**vendor.client_options(), "journal": journal}
            async with mediagen.AsyncClient(**options) as client:
                with pytest.raises(SubmitOutcomeUnknownError) as info:
                    await client.tomoviee.text_to_video(prompt="x")
            cause = info.value.__cause__
            assert isinstance(cause, MalformedResponseError)
            assert f"declares {size} bytes, over the {MAX_RESPONSE_BYTES}-byte cap" in str(cause)
            return huge

    huge = asyncio.run(go())
    assert huge.written < size // 2
    assert states(journal) == [("unknown", None)]  # a lost answer, as for any unreadable one


def test_response_cap_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="max_response_bytes=0 must be at least 1"):
        mediagen.AsyncClient(max_response_bytes=0, journal=False)


# -- defect 13: base URLs and errors before the first byte ---------------------------------------


@pytest.mark.parametrize("port", ["0", "99999", "-1", "abc", ""])
def test_invalid_ports_are_configuration_errors_before_anything(tmp_path: Path, port: str) -> None:
    journal = tmp_path / "journal.sqlite3"
    url = f"http://127.0.0.1:{port}"

    async def go() -> None:
        async with mediagen.AsyncClient(
            base_urls={"mediaio": url}, credentials=EMULATOR_CREDENTIALS, journal=journal
        ) as client:
            with pytest.raises(ConfigurationError) as info:
                await client.mediaio.imagen_4(prompt="x")
        message = str(info.value)
        assert message.startswith(f"mediaio: base URL {url!r} (from base_urls) is not usable:")
        assert f"the port {port!r} is not a number in 1..65535" in message

    asyncio.run(go())
    assert states(journal) == []  # nothing was sent, so nothing is journaled


@pytest.mark.parametrize(
    "url,problem",
    [
        ("http://:8080", "it has no host"),
        ("http://127.0.0.1:8080/x?key=1", "takes no query"),
        ("http://127.0.0.1:8080/x#top", "takes no fragment"),
        (" http://127.0.0.1:8080", "whitespace"),
        ("http://127.0.0.1:8080/a\tb", "whitespace"),
        ("https://exa%mple.com", "is not a host name"),
        ("https://a..b", "is not a host name"),
        ("http://[::1", "is not a URL"),
        ("ftp://127.0.0.1", "scheme is 'ftp'"),
    ],
)
def test_malformed_base_urls_are_refused(url: str, problem: str) -> None:
    client = mediagen.AsyncClient(
        base_urls={"tomoviee": url}, credentials=EMULATOR_CREDENTIALS, journal=False
    )
    with pytest.raises(ConfigurationError, match=r"^tomoviee: base URL") as info:
        asyncio.run(client.tomoviee.text_to_video(prompt="x"))
    assert problem in str(info.value)
    asyncio.run(client.close())


def test_good_base_urls_still_work() -> None:
    async def go() -> None:
        async with Emulator() as vendor:
            urls = {"mediaio": f"http://localhost:{vendor.port}/mediaio/"}  # a trailing / too
            options = {**vendor.client_options(), "base_urls": urls}
            async with mediagen.AsyncClient(**options) as client:
                assert await client.mediaio.credits() == {"credits": 1000}

    asyncio.run(go())


def test_an_invalid_port_in_the_environment_fails_the_cli_cleanly(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    env = {
        "MEDIAGEN_JOURNAL": str(journal),
        "MEDIAGEN_MEDIAIO_BASE_URL": "http://127.0.0.1:99999",
        "MEDIAIO_API_KEY": EMULATOR_CREDENTIALS["mediaio"]["api_key"],
    }
    # main() in this process: `run` starts as its own process in test_cli_runtime.py.
    out = mediagen_main("run", "mediaio", "imagen_4", "prompt=x", cwd=tmp_path, env=env)
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "MEDIAGEN_MEDIAIO_BASE_URL" in line and "1..65535" in line
    assert not journal.exists() or states(journal) == []  # above all, no "unknown" entry


def test_a_closed_port_is_not_sent_and_the_submit_is_rejected(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    port = closed_port()

    async def go() -> None:
        async with mediagen.AsyncClient(
            base_urls={"mediaio": f"http://127.0.0.1:{port}"},
            credentials=EMULATOR_CREDENTIALS,
            journal=journal,
            retry=QUICK,
        ) as client:
            with pytest.raises(TransportError) as info:
                await client.mediaio.imagen_4(prompt="x")
        assert info.value.sent is False

    asyncio.run(go())
    assert states(journal) == [("rejected", None)]


def test_transport_errors_before_the_first_byte_are_not_sent() -> None:
    """Below the base URL checks: a URL yarl refuses, and a request that timed out while
    waiting for a free pooled connection, never left; both say so (sent=False)."""

    async def go() -> None:
        async with held_answers() as held:
            url = f"{held.base}/"
            transport = Transport(Timeouts(request=0.3), pool_size=1)
            try:
                with pytest.raises(TransportError) as bad_url:
                    await transport.request("GET", "http://127.0.0.1:99999/x")
                assert bad_url.value.sent is False
                # Occupy the transport's only pooled connection, with a request of our own that
                # has no short deadline (so it cannot time out and free the connection too early).
                session = transport._client()

                async def occupy() -> int:
                    async with session.get(url, timeout=aiohttp.ClientTimeout(total=60)) as resp:
                        return resp.status

                first = asyncio.create_task(occupy())
                await held.entered.wait()
                with pytest.raises(TransportError, match="nothing was sent") as queued:
                    await transport.request("GET", url)
                assert queued.value.sent is False
                held.release.set()
                assert await first == 200
            finally:
                held.release.set()
                await transport.close()

    asyncio.run(go())
