"""Checks on what must never happen: an answer that ends in anything but a MediagenError or
hangs, and a credential that shows up in logs, errors, reprs, the journal or files."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from ...catalog.ir import Operation, Provider
from ...credentials import SecretMapping
from ...defaults import SECRET_MIN_LENGTH
from ...engine import AsyncTaskHandle
from ...errors import MediagenError
from ...loop import LoopThread
from ...results import Result
from ...secrets import secret_values
from ..emulator import Fault
from ._base import CheckBase, run
from ._fuzz import MUTATIONS, Mutation
from ._harness import POLICY, Session, conformance_credentials, described, fail
from ._scopes import each

FUZZ_EXAMPLES = 30
"""Fuzzed answers per operation kind: a smoke test that runs in seconds, the same each run."""
FUZZ_WAIT = 2.0
"""How long a fuzzed task is waited for (an answer with an edited task id polls a task the
emulator does not know: read-after-write lag, polled until this timeout)."""
HANG = 15.0
"""Seconds after which a fuzzed call counts as a hang: every wait in it is bounded well below."""


class SafetyChecks(CheckBase):
    @each("kind")
    def test_fuzzed_answers_end_in_a_mediagen_error(self, case: str) -> None:
        """Success answers edited at random (hypothesis, derandomized) lead to a result or a
        MediagenError, never another exception, and never a hang."""
        ctx, op = self._context(), self._op(case)
        loop = LoopThread("mediagen-conformance-fuzz")
        session = ctx.session()
        try:
            loop.run(session.__aenter__())
            params = loop.run(session.params_for(op))

            @settings(
                max_examples=FUZZ_EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                # No shrinking: each step is a round trip; the message lists the edits made.
                phases=(Phase.explicit, Phase.generate),
                report_multiple_bugs=False,
                suppress_health_check=list(HealthCheck),
            )
            @given(mutation=MUTATIONS)
            def fuzz(mutation: Mutation) -> None:
                ctx.steering.mutate = mutation
                try:
                    loop.run(
                        asyncio.wait_for(
                            session.complete(session.client, op, params, FUZZ_WAIT), HANG
                        )
                    )
                except MediagenError:
                    pass
                except TimeoutError:
                    fail(
                        op.qualified_id,
                        "a fuzzed answer",
                        f"an end within {HANG:g} s",
                        f"a hang, after {'; '.join(mutation.done)}",
                    )
                except Exception as exc:
                    fail(
                        op.qualified_id,
                        "a fuzzed answer",
                        "a result or a MediagenError",
                        f"{described(exc)}, after {'; '.join(mutation.done)}",
                    )
                finally:
                    ctx.steering.mutate = None

            fuzz()
        finally:
            loop.run(session.__aexit__(None, None, None))
            loop.close()

    @each("kind")
    def test_no_credential_leaks(
        self, case: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """With logging at DEBUG, a call that succeeds (its files downloaded), a vendor that
        echoes the credentials in an error and in a failure reason, and a call with wrong
        credentials leave no credential (nor an auth header's value) in a log record, an
        error's text, repr or traceback, a repr, the journal or a file written; nor does
        what the provider's auth strategy itself raises, given the right or wrong
        credentials (see `_auth_values`)."""
        ctx, op = self._context(), self._op(case)
        provider = ctx.provider
        auth = ctx.registry.strategies(provider.name).auth
        forms: dict[str, str] = {}
        echoed: list[str] = []  # the client's own: the only ones it can know to scrub
        for tag in ("ok", "wrong"):
            # Masked when shown: a failure's traceback lists the arguments of each call.
            creds = SecretMapping(conformance_credentials(provider, tag))
            auth_values = _auth_values(op, provider, auth, creds)
            for value in secret_values(provider, creds, auth_values):
                name = next((f"the {n} credential" for n, v in creds.items() if v == value), None)
                forms[value] = name or "an auth header's value"
                echoed += [value] if tag == "ok" else []
        if not forms:
            pytest.skip(f"{provider.name} declares no secret credential")
        caplog.set_level(logging.DEBUG)
        texts: list[tuple[str, str]] = []
        echo = "the vendor echoes: " + " ".join(echoed)

        def error(place: str, exc: BaseException) -> None:
            chain = "".join(traceback.format_exception(exc))
            texts.extend([(f"{place}: str()", str(exc)), (f"{place}: repr()", repr(exc))])
            texts.append((f"{place}: traceback", chain))

        async def calls() -> None:
            async with ctx.session(journal=tmp_path / "journal.sqlite3") as s:
                params = await s.params_for(op)
                out = await s.call(s.client, op, params)
                texts.append(("repr of the call's answer", repr(out)))
                if isinstance(out, AsyncTaskHandle):
                    out = await out.wait()
                if isinstance(out, Result):
                    texts.append(("repr of the result", repr(out)))
                    await s.download(op, out, tmp_path / "files")
                times = POLICY.attempts * POLICY.wait_failures + 1
                s.emulator.inject(
                    Fault("status", provider.name, status=400, message=echo, times=times)
                )
                await _catch(s, op, params, error, "an error echoing them")
                s.emulator.faults.clear()
                if op.kind == "task":
                    s.emulator.set_outcome(op.qualified_id, "failed", echo)
                    await _catch(s, op, params, error, "a failure reason echoing them")
                bad = s.new_client(credentials=conformance_credentials(provider, "wrong"))
                await _catch(s, op, params, error, "a call with wrong credentials", client=bad)
                texts.extend(
                    [("repr of the client", repr(s.client)), ("repr of a client", repr(bad))]
                )
                sent.extend(json.dumps([dict(r.headers), r.query]) for r in s.emulator.requests)

        sent: list[str] = []
        run(calls())
        # The search below is not vacuous: the credentials did go out.
        if not any(value in text for text in sent for value in echoed):
            fail(
                op.qualified_id,
                "no credential leaks",
                "requests carrying the credentials (to look for them elsewhere)",
                "no request carrying any of them",
            )
        formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
        for record in caplog.records:
            place = f"a {record.levelname} log record of logger {record.name!r}"
            texts.append((place, formatter.format(record)))
        for path in sorted(tmp_path.rglob("*")):
            if path.is_file():
                kind = "the journal" if path.name.startswith("journal") else "a file written"
                texts.append((f"{kind} ({path.name})", path.read_bytes().decode("latin-1")))
        for place, text in texts:
            for value, name in forms.items():
                if value in text:
                    fail(
                        op.qualified_id,
                        "no credential in logs, errors, reprs, the journal or files",
                        f"{name} nowhere",
                        f"it in {place}: {_around(text, value, name)}",
                    )


async def _catch(
    s: Session,
    op: Operation,
    params: Mapping[str, Any],
    record: Any,
    place: str,
    client: Any = None,
) -> None:
    try:
        await s.complete(client or s.client, op, params)
    except Exception as exc:
        record(place, exc)


def _auth_values(
    op: Operation, provider: Provider, auth: Any, credentials: Mapping[str, str]
) -> dict[str, str]:
    """The headers and query parameters `auth` puts on a request with `credentials`; {} when
    it raises, once what it raised is found to hold no secret credential's value (in its
    text, repr, arguments, attributes or traceback, or in any exception chained to it): a
    strategy that refuses a credential must not quote it, since whatever reaches a log or a
    bug report carries it along."""
    try:
        return {**auth.headers(credentials), **_query(auth, credentials)}
    except Exception as exc:
        leak = _leak(exc, provider, credentials)
        raised = type(exc).__name__
    if leak is not None:  # failed here, not in the except block: the error is not chained
        place, snippet, name = leak
        fail(
            op.qualified_id,
            "no credential in what the auth strategy raises",
            f"the {name} credential nowhere",
            f"{type(auth).__name__} raising {raised} with it in {place}: {snippet}; name the "
            "credential, never quote its value, and raise without chaining an error that "
            "holds it (`raise ... from None`)",
        )
    return {}


def _leak(
    error: BaseException, provider: Provider, credentials: Mapping[str, str]
) -> tuple[str, str, str] | None:
    """(where, the text around it with the value replaced by its name, the name) of the
    first secret credential the error shows, or None."""
    secrets = [
        (c.name, credentials[c.name])
        for c in provider.auth.credentials
        if c.secret and len(credentials.get(c.name, "")) >= SECRET_MIN_LENGTH
    ]
    for place, text in _error_texts(error):
        for name, value in secrets:
            if value in text:
                return place, _around(text, value, name), name
    return None


def _error_texts(error: BaseException) -> list[tuple[str, str]]:
    """(where, text) of everything an exception shows: its text, repr, arguments and
    attributes, those of each exception chained to it, and its formatted traceback."""
    texts: list[tuple[str, str]] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        of = (
            "its {}"
            if current is error
            else f"the {{}} of the {type(current).__name__} chained to it"
        )
        texts += [
            (of.format("text"), str(current)),
            (of.format("repr"), repr(current)),
            (of.format("arguments"), repr(current.args)),
            (of.format("attributes"), repr(vars(current))),
        ]
        current = current.__cause__ or current.__context__
    texts.append(("its traceback", "".join(traceback.format_exception(error))))
    return texts


def _query(auth: Any, credentials: Mapping[str, str]) -> dict[str, str]:
    query = getattr(auth, "query", None)
    return dict(query(credentials)) if callable(query) else {}


def _around(text: str, value: str, name: str, width: int = 60) -> str:
    """The text around the first occurrence, with the secret replaced by its name."""
    at = text.index(value)
    snippet = text[max(0, at - width) : at + len(value) + width]
    return repr(snippet.replace(value, f"<{name}>"))
