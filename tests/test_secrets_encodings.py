"""A vendor that echoes the credentials, in any encoding, anywhere in its answers: results,
failure reasons, trace ids, error messages. Nothing we print, log, raise or journal holds one.

Every check uses `leaks()`, which looks for a secret the way someone reading our output
could recover it (plain, percent-decoded, base64-decoded at every alignment), so it does not
depend on how mediagen.secrets finds the forms it scrubs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import sqlite3
import traceback
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest
from helpers import local_server

import mediagen
from mediagen.cli import main
from mediagen.errors import GenerationFailedError, MediagenError, NotFoundError
from mediagen.secrets import MARKER, Scrubber, secret_values
from mediagen.testing import Emulator, EmulatorThread, Fault

# Characters that change under each encoding: "/", "+", " ", "=", "?", "&", and lengths
# that are not multiples of 3, so base64 pads and its URL-safe alphabet differs.
MEDIAIO_KEY = "sk-mio/Zq7+x SECRET=31?&~>>!"
APP_KEY = "public-app-key"
TOMOVIEE_SECRET = "tmv secret/Q9+SECRET?>~!x"
CREDENTIALS = {
    "mediaio": {"api_key": MEDIAIO_KEY},
    "tomoviee": {"app_key": APP_KEY, "app_secret": TOMOVIEE_SECRET},
    "edrawmax": {},
}
SECRETS = (MEDIAIO_KEY, TOMOVIEE_SECRET)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _urlsafe(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


ENCODINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "quote": lambda s: quote(s, safe=""),
    "quote_keep_slash": quote,
    "quote_plus": quote_plus,
    "quote_lower_hex": lambda s: re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(s)),
    "base64": _b64,
    "base64_unpadded": lambda s: _b64(s).rstrip("="),
    "base64_urlsafe": _urlsafe,
    "base64_urlsafe_unpadded": lambda s: _urlsafe(s).rstrip("="),
    "base64_quoted": lambda s: quote(_b64(s), safe=""),
    # Inside a longer base64 stream, at byte offsets 1 and 2 (offset 0 is "base64").
    "base64_stream_offset_1": lambda s: _b64("x" + s + "tail"),
    "base64_stream_offset_2": lambda s: _urlsafe("xy" + s + "tail"),
    # The Basic token as Tomoviee's auth sends it (for Media.io: its key in such a token).
    "basic_token": lambda s: _b64(f"{APP_KEY}:{s}"),
    "basic_header": lambda s: "Basic " + _b64(f"{APP_KEY}:{s}"),
    "basic_token_quoted": lambda s: quote(_b64(f"{APP_KEY}:{s}"), safe=""),
}


def leaks(text: str | bytes, secret: str) -> bool:
    """Whether `secret` can be read back from `text`: plainly, percent-decoded, or from any
    run of base64 (standard or URL-safe, percent-encoded or not) decoded at any alignment."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    raw = secret.encode()
    for candidate in {text, unquote(text), unquote_plus(text)}:
        if secret in candidate:
            return True
        for run in re.findall(r"[A-Za-z0-9+/_\-]{8,}", candidate):
            run = run.translate(str.maketrans("-_", "+/"))
            for shift in range(4):
                chunk = run[shift:]
                if len(chunk) % 4 == 1:
                    chunk = chunk[:-1]
                chunk += "=" * (-len(chunk) % 4)
                try:
                    if raw in base64.b64decode(chunk):
                        return True
                except ValueError:
                    continue
    return False


def assert_clean(label: str, text: str | bytes) -> None:
    for secret in SECRETS:
        assert not leaks(text, secret), f"a credential leaked into {label}"


def journal_texts(journal: Path) -> list[tuple[str, str | bytes]]:
    """The journal's files as bytes (WAL included), and every row of every table."""
    texts: list[tuple[str, str | bytes]] = [
        (p.name, p.read_bytes()) for p in journal.parent.iterdir() if p.is_file()
    ]
    with sqlite3.connect(journal) as db:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            rows = db.execute(f"SELECT * FROM {table}").fetchall()
            texts.append((f"journal table {table}", repr(rows)))
    return texts


def test_the_encodings_are_distinct_and_the_detector_sees_each() -> None:
    """The parametrisation is not vacuous: each encoding is a different string, none holds
    the plain secret, and leaks() finds the secret in every one of them."""
    for secret in SECRETS:
        forms = {name: encode(secret) for name, encode in ENCODINGS.items()}
        assert len(set(forms.values())) == len(forms)
        for name, form in forms.items():
            assert name == "plain" or secret not in form
            assert leaks(f"vendor says: {form}.", secret), name


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_scrubber_removes_each_encoding_from_text_and_data(encoding: str) -> None:
    scrubber = Scrubber(SECRETS)
    for secret in SECRETS:
        form = ENCODINGS[encoding](secret)
        assert not leaks(scrubber.text(f"echo {form} end"), secret)
        cleaned = scrubber.data({"a": [f"x{form}", {form: 1}], "n": 2, "ok": None})
        assert not leaks(json.dumps(cleaned), secret)
        assert cleaned["n"] == 2 and MARKER in cleaned["a"][0]


def test_short_secrets_are_left_alone_and_clean_data_is_not_copied() -> None:
    scrubber = Scrubber(["abc"])  # below SECRET_MIN_LENGTH: replacing it would mangle text
    assert not scrubber and scrubber.text("abcabc") == "abcabc"
    data = {"status": "completed", "result": {"images": [{"url": "https://x.test/a.png"}]}}
    assert Scrubber(SECRETS).data(data) is data
    assert MEDIAIO_KEY not in repr(Scrubber(SECRETS))


def test_escaped_forms_in_reprs_and_json_strings_are_scrubbed() -> None:
    secret = 'sk-"quoted"\\back'
    scrubber = Scrubber([secret])
    for text in (repr({"msg": secret}), json.dumps({"msg": secret})):
        assert secret not in text and MARKER in scrubber.text(text)


def test_secret_values_split_a_scheme_from_its_token_only() -> None:
    catalog = mediagen.catalog.default_catalog()
    mediaio, tomoviee = catalog.provider("mediaio"), catalog.provider("tomoviee")
    key = {"api_key": MEDIAIO_KEY}
    assert secret_values(mediaio, key, {"X-API-KEY": MEDIAIO_KEY}) == {MEDIAIO_KEY}
    creds = {"app_key": APP_KEY, "app_secret": TOMOVIEE_SECRET}
    token = _b64(f"{APP_KEY}:{TOMOVIEE_SECRET}")
    auth = {"X-App-Key": APP_KEY, "Authorization": f"Basic {token}"}
    assert secret_values(tomoviee, creds, auth) == {TOMOVIEE_SECRET, f"Basic {token}", token}


# The length of the snippet of a non-JSON error body that an error quotes (mediagen.protocol).
SNIPPET = 80


@pytest.mark.parametrize("offset", [SNIPPET - 20, SNIPPET - 13, SNIPPET - 1, SNIPPET, 3])
def test_a_key_in_a_non_json_error_body_is_scrubbed_before_the_snippet_is_cut(
    offset: int, tmp_path: Path
) -> None:
    """A 500 with an HTML body holding the key at `offset`: cutting the snippet first used to
    keep the part of the key before the cut, which no scrubber recognises."""
    from aiohttp import web

    body = ("<html>" + "x" * SNIPPET)[:offset] + MEDIAIO_KEY + "</html>"

    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=500, text=body, content_type="text/html")

    async def go() -> tuple[str, str]:
        async with (
            local_server([web.post("/{tail:.*}", fail)]) as url,
            mediagen.AsyncClient(
                base_urls={"mediaio": url},
                credentials=CREDENTIALS,
                retry=mediagen.RetryPolicy(attempts=1),
                journal=tmp_path / "j.sqlite3",
            ) as client,
        ):
            with pytest.raises(MediagenError) as caught:
                await client.mediaio.imagen_4(prompt="a cat")
            assert client.journal is not None
            (entry,) = client.journal.entries()
            return str(caught.value), str(entry.error)

    message, journaled = asyncio.run(go())
    assert "non-JSON body" in message and "non-JSON body" in journaled
    for text in (message, journaled):
        # Not even a piece of the key: any 6 characters of it in a row.
        pieces = [MEDIAIO_KEY[i : i + 6] for i in range(len(MEDIAIO_KEY) - 5)]
        assert not any(piece in text for piece in pieces), text


async def _workload(emu: Emulator, journal: Path, message: Callable[[str], str]) -> list[str]:
    """Media.io echoing its key in a result, a failed task's data and an error's trace id;
    Tomoviee echoing its secret in a failure reason and an error message."""
    texts: list[str] = []
    options = {**emu.client_options(), "journal": journal}
    echo_fields = ("data.result.note", "data.reason", "msg", "trace_id")
    async with mediagen.AsyncClient(**options) as client:
        # A finished task whose data.result (and the answer's trace id) echoes the key.
        emu.inject(
            Fault(
                "echo",
                provider="mediaio",
                phase="poll",
                fields=echo_fields,
                message=f"{emu.url}/_files/echo.png?sig={message(MEDIAIO_KEY)}",
                times=1000,
            )
        )
        task = await client.mediaio.imagen_4(prompt="a cat")
        result = await task.wait()
        note = result.raw["result"]["note"]
        assert MARKER in note  # the echo arrived, and was scrubbed
        if " " not in note:  # then it is an artifact URL, scrubbed in its query string
            assert any(MARKER in a.url for a in result.artifacts)
        texts += [repr(result), repr(task.last_status), json.dumps(result.raw)]
        # A failed task with the echo in its data.
        emu.set_outcome("mediaio.imagen_4", "failed")
        failed = await client.mediaio.imagen_4(prompt="a dog")
        with pytest.raises(GenerationFailedError) as caught:
            await failed.wait()
        texts += [repr(failed.last_status), str(caught.value), repr(caught.value)]
        # An error answer whose message and trace id echo the key.
        with pytest.raises(NotFoundError) as missing:
            await client.task("mediaio", "imagen_4", "no-such-task").wait()
        exc = missing.value
        assert exc.trace_id is not None and MARKER in exc.trace_id
        texts += [str(exc), repr(exc), exc.trace_id, str(exc.vendor_message)]
        texts.append("".join(traceback.format_exception(exc)))
        emu.faults.clear()

        # Tomoviee: a failure reason and an error message echoing the secret.
        emu.set_outcome(
            "tomoviee.image_recognition", "failed", reason=f"refused {message(TOMOVIEE_SECRET)}"
        )
        refused = await client.tomoviee.image_recognition(image="https://x.test/a.png")
        with pytest.raises(GenerationFailedError) as reason:
            await refused.wait()
        assert refused.last_status is not None and refused.last_status.reason is not None
        assert MARKER in refused.last_status.reason
        texts += [str(reason.value), repr(reason.value), str(reason.value.vendor_message)]
        texts += [repr(refused.last_status), "".join(traceback.format_exception(reason.value))]
        emu.inject(
            Fault(
                "echo",
                provider="tomoviee",
                phase="poll",
                fields=("msg",),
                message=f"bad credentials {message(TOMOVIEE_SECRET)}",
                times=10,  # not-found is polled again for a few answers before it counts
            )
        )
        with pytest.raises(MediagenError) as echoed:
            await client.task("tomoviee", "image_recognition", "no-such-task").wait()
        assert MARKER in str(echoed.value)
        texts += [str(echoed.value), repr(echoed.value)]
    return texts


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_echoed_credentials_never_reach_results_errors_logs_or_the_journal(
    encoding: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    journal = tmp_path / "journal" / "tasks.sqlite3"

    async def go() -> list[str]:
        # Unknown tasks are polled again at the emulator's hint: soon, as a lagging vendor's.
        async with Emulator(duration=0.0, credentials=CREDENTIALS, poll_hint=0.01) as emu:
            texts = await _workload(emu, journal, ENCODINGS[encoding])
            # The emulator really received the credentials: the search is not vacuous.
            seen = json.dumps([dict(r.headers) for r in emu.requests])
            assert all(leaks(seen, secret) for secret in SECRETS)
            return texts

    texts = asyncio.run(go())
    for i, text in enumerate(texts):
        assert_clean(f"result/error/repr #{i}", text)
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert_clean("the DEBUG log", caplog.text)
    for label, text in journal_texts(journal):
        assert_clean(label, text)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Credentials and base URLs in the environment, a journal in tmp_path; returns it."""
    journal = tmp_path / "j" / "tasks.sqlite3"
    monkeypatch.setenv("MEDIAGEN_JOURNAL", str(journal))
    monkeypatch.setenv("MEDIAGEN_LOG", "debug")
    monkeypatch.setenv("MEDIAIO_API_KEY", MEDIAIO_KEY)
    monkeypatch.setenv("TOMOVIEE_APP_KEY", APP_KEY)
    monkeypatch.setenv("TOMOVIEE_APP_SECRET", TOMOVIEE_SECRET)
    monkeypatch.chdir(tmp_path)
    return journal


def _finished_task(emu: Emulator, provider: str, operation: str, **params: object) -> str:
    """Submit a task through the library and let it finish, so `mediagen wait` needs no
    poll interval: it polls once and finds the task done."""

    async def go() -> str:
        async with mediagen.AsyncClient(**emu.client_options()) as client:
            task = await getattr(getattr(client, provider), operation)(**params)
            with contextlib.suppress(MediagenError):  # a failed task is finished too
                await task.wait()
            return str(task.task_id)

    return asyncio.run(go())


def every_encoding(secret: str) -> str:
    """One echo holding the secret in every encoding (one CLI run each keeps tests fast;
    the library test above covers each encoding on its own)."""
    return " ".join(encode(secret) for encode in ENCODINGS.values())


def test_cli_wait_json_output_and_journal_hold_no_echoed_credential(
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []
    with EmulatorThread(duration=0.0, credentials=CREDENTIALS) as emu:
        for provider, url in emu.base_urls.items():
            monkeypatch.setenv(f"MEDIAGEN_{provider.upper()}_BASE_URL", url)
        mediaio_task = _finished_task(emu, "mediaio", "imagen_4", prompt="x")
        emu.inject(
            Fault(
                "echo",
                provider="mediaio",
                phase="poll",
                fields=("data.result.note", "trace_id"),
                message=f"echo {every_encoding(MEDIAIO_KEY)}",
                times=2,  # `wait` polls once before adopting the id into the journal
            )
        )
        assert main(["wait", "mediaio", "imagen_4", mediaio_task, "--json"]) == 0
        captured = capsys.readouterr()
        doc = json.loads(captured.out)
        assert doc["state"] == "succeeded" and MARKER in doc["raw"]["result"]["note"]
        outputs += [captured.out, captured.err]

        emu.set_outcome(
            "tomoviee.image_recognition",
            "failed",
            reason=f"refused {every_encoding(TOMOVIEE_SECRET)}",
        )
        tomoviee_task = _finished_task(
            emu, "tomoviee", "image_recognition", image="https://x.test/a.png"
        )
        assert main(["wait", "tomoviee", "image_recognition", tomoviee_task, "--json"]) == 1
        captured = capsys.readouterr()
        doc = json.loads(captured.out)
        assert doc["state"] == "failed" and MARKER in doc["raw"]["reason"]
        assert "refused" in captured.err and MARKER in captured.err
        outputs += [captured.out, captured.err]
        assert main(["tasks", "--json"]) == 0
        outputs.append(capsys.readouterr().out)
    for i, text in enumerate(outputs):
        assert_clean(f"CLI output #{i}", text)
    assert_clean("the DEBUG log", caplog.text)
    for label, text in journal_texts(cli_env):
        assert_clean(label, text)


def test_cli_run_json_with_every_encoding_at_once(
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`run --json` end to end (submit, the first poll interval, download): one run per
    provider with every encoding in the echo, to keep the test fast."""
    caplog.set_level(logging.DEBUG)
    with EmulatorThread(duration=0.0, credentials=CREDENTIALS) as emu:
        for provider, url in emu.base_urls.items():
            monkeypatch.setenv(f"MEDIAGEN_{provider.upper()}_BASE_URL", url)
        emu.inject(
            Fault(
                "echo",
                provider="mediaio",
                phase="poll",
                fields=("data.result.note", "trace_id"),
                message=every_encoding(MEDIAIO_KEY),
                times=100,
            )
        )
        assert main(["run", "mediaio", "imagen_4", "prompt=x", "--json"]) == 0
        mediaio = capsys.readouterr()
        assert json.loads(mediaio.out)["raw"]["result"]["note"].count(MARKER) >= len(ENCODINGS)
        emu.set_outcome(
            "tomoviee.image_recognition", "failed", reason=every_encoding(TOMOVIEE_SECRET)
        )
        code = main(
            ["run", "tomoviee", "image_recognition", "image=https://x.test/a.png", "--json"]
        )
        tomoviee = capsys.readouterr()
        assert code == 1 and json.loads(tomoviee.out)["state"] == "failed"
    for label, text in {
        "mediaio stdout": mediaio.out,
        "mediaio stderr": mediaio.err,
        "tomoviee stdout": tomoviee.out,
        "tomoviee stderr": tomoviee.err,
        "the DEBUG log": caplog.text,
    }.items():
        assert_clean(label, text)
    for label, text in journal_texts(cli_env):
        assert_clean(label, text)
