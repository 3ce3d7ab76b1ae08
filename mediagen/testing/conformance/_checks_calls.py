"""Checks on calls that go right: round trips, artifacts, credentials, refused params."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import pytest

from ...catalog.ir import Operation
from ...errors import AuthenticationError, ParamError
from ...protocol import CatalogAuth
from ...results import Result
from ._base import CheckBase, run
from ._harness import artifact_problems, conformance_credentials, described, expect, fail
from ._params import count_of
from ._scopes import each

CUSTOM_AUTH_HINT = (
    "custom auth: the emulator accepts any credentials unless your emulator profile's "
    "check_auth checks them; see docs/writing-a-plugin.md §4"
)


def _has_output(op: Operation) -> bool:
    return op.output != "none"


class CallChecks(CheckBase):
    # -- round trips ----------------------------------------------------------------------

    @each("operation")
    def test_round_trip(self, case: str) -> None:
        """The operation completes on the emulator with minimal valid params: a task is
        submitted and finishes, a synchronous call returns its result, a query its data;
        a result's artifacts are all of the operation's output kind, and exactly the files
        the emulator served (document order, each URL once)."""
        ctx, op = self._context(), self._op(case)
        where = op.qualified_id

        async def check() -> None:
            async with ctx.session() as s:
                params = await s.params_for(op)
                try:
                    out = await s.complete(s.client, op, params)
                except Exception as exc:
                    fail(
                        where,
                        "round trip with minimal params",
                        f"a result ({params})",
                        described(exc),
                    )
                if op.kind == "query":
                    expect(
                        isinstance(out, dict), where, "a query's answer", "a dict", repr(out)[:200]
                    )
                    return
                assert isinstance(out, Result)
                _check_artifacts(op, out, 1, s.served(out))

        run(check())

    @each(
        "operation",
        "task",
        "sync",
        where=lambda op: _has_output(op) and op.result_count_param is not None,
        why=" with a count parameter",
    )
    def test_several_artifacts_when_the_count_says_so(self, case: str) -> None:
        """Asking for two files (the count parameter at 2) yields two artifacts or more, all
        of the operation's output kind."""
        ctx, op = self._context(), self._op(case)
        name = op.result_count_param
        value = count_of(op, 2)
        if name is None or value is None:
            pytest.skip(f"{op.qualified_id}: its count parameter {name} cannot be 2")

        async def check() -> None:
            async with ctx.session() as s:
                params = {**await s.params_for(op), name: value}
                try:
                    out = await s.complete(s.client, op, params)
                except Exception as exc:
                    fail(
                        op.qualified_id, f"a call with {name}={value!r}", "a result", described(exc)
                    )
                assert isinstance(out, Result)
                _check_artifacts(op, out, 2, s.served(out))

        run(check())

    # -- credentials ------------------------------------------------------------------------

    @each("kind")
    def test_credentials_are_sent_as_declared(self, case: str) -> None:
        """The request carries every credential where the catalog's auth block says (header
        or query parameter, with the declared scheme)."""
        ctx, op = self._context(), self._op(case)
        provider, where = ctx.provider, op.qualified_id
        if provider.auth.kind == "custom":
            pytest.skip(f"{provider.name}'s auth kind is custom: only its plugin knows the scheme")

        credentials = conformance_credentials(provider)
        expected_headers = CatalogAuth(provider).headers(credentials)
        expected_query = CatalogAuth(provider).query(credentials)
        if not expected_headers and not expected_query:
            pytest.skip(f"{provider.name} declares no credential to send")

        async def check() -> None:
            async with ctx.session() as s:
                params = await s.params_for(op)
                before = len(s.requests())
                try:
                    await s.call(s.client, op, params)
                except Exception as exc:
                    # A refused request is reported below, by what it carried.
                    error = described(exc)
                else:
                    error = "none"
                sent = s.requests()[before:]
                expect(bool(sent), where, "credentials sent", "one request", f"none ({error})")
                first = sent[0]
                headers = {k.lower(): v for k, v in first.headers.items()}
                for header, value in expected_headers.items():
                    seen = headers.get(header.lower())
                    expect(
                        seen == value,
                        where,
                        f"credentials sent as declared (auth kind {provider.auth.kind})",
                        f"header {header}: {_shown(value, s.credentials)}",
                        f"header {header}: {_shown(seen, s.credentials)}"
                        + f" (headers sent: {', '.join(sorted(first.headers))})",
                    )
                for key, value in expected_query.items():
                    seen = (first.query.get(key) or [None])[-1]
                    expect(
                        seen == value,
                        where,
                        "credentials sent as declared",
                        f"query parameter {key}: {_shown(value, s.credentials)}",
                        f"query parameter {key}: {_shown(seen, s.credentials)}",
                    )

        run(check())

    @each("kind")
    def test_wrong_credentials_raise_authentication_error(self, case: str) -> None:
        """With a wrong value for every required credential, the call raises
        AuthenticationError (the emulator refuses it as the vendor would)."""
        ctx, op = self._context(), self._op(case)
        provider, where = ctx.provider, op.qualified_id
        required = [c.name for c in provider.auth.credentials if c.required]
        if provider.auth.kind == "none" or not required:
            pytest.skip(f"{provider.name} requires no credential (auth kind {provider.auth.kind})")

        async def check() -> None:
            async with ctx.session() as s:
                params = await s.params_for(op)
                wrong = {**s.credentials, **conformance_credentials(provider, "wrong")}
                client = s.new_client(credentials=wrong)
                try:
                    out = await s.complete(client, op, params)
                except AuthenticationError:
                    return
                except Exception as exc:
                    fail(where, "wrong credentials", "AuthenticationError", described(exc))
                seen = f"a result: {out!r:.120}"
                if provider.auth.kind == "custom":  # the catalog cannot tell the emulator how
                    seen += f"; {CUSTOM_AUTH_HINT}"
                fail(where, "wrong credentials", "AuthenticationError", seen)

        run(check())

    # -- bad params ------------------------------------------------------------------------

    @each("operation")
    def test_bad_params_are_refused_before_any_request(self, case: str) -> None:
        """A value of the wrong type, outside the allowed values or past a limit raises
        ParamError naming the operation and the field, and nothing reaches the emulator."""
        ctx, op = self._context(), self._op(case)
        where = op.qualified_id

        async def check() -> None:
            async with ctx.session() as s:
                params = await s.params_for(op)
                before = len(s.requests())
                endpoints = s.client.provider(ctx.provider.name)
                method = getattr(endpoints, op.id)
                for field, bad, what in _bad_values(op):
                    kwargs = {op.param(k).python_name: v for k, v in params.items()}
                    kwargs[field] = bad
                    try:
                        out = await method(**kwargs)
                    except ParamError as exc:
                        text = str(exc)
                        expect(
                            op.qualified_id in text and field in text,
                            where,
                            f"the ParamError for {what}",
                            f"a message naming {op.qualified_id} and {field}",
                            repr(text),
                        )
                    except Exception as exc:
                        fail(where, f"refusing {what}", "ParamError", described(exc))
                    else:
                        fail(
                            where,
                            f"refusing {what}",
                            "ParamError",
                            f"it was accepted: {out!r:.100}",
                        )
                sent = s.requests()[before:]
                expect(
                    not sent,
                    where,
                    "bad params refused before any request",
                    "no request",
                    f"{len(sent)} request(s): {', '.join(r.method + ' ' + r.path for r in sent)}",
                )

        run(check())


def _bad_values(op: Operation) -> list[tuple[str, Any, str]]:
    """(python name, bad value, what is wrong) for the operation's parameters."""
    out: list[tuple[str, Any, str]] = []
    for param in op.params:
        name = param.python_name
        out.append((name, {"not": "a value"}, f"{name} of the wrong type"))
        if param.enum:
            out.append((name, _outside(param.enum), f"{name} outside its allowed values"))
        elif param.type == "string" and param.max_length is not None:
            out.append((name, "x" * (param.max_length + 1), f"{name} past its maxLength"))
        elif param.type in ("integer", "number") and param.maximum is not None:
            out.append((name, param.maximum + 1, f"{name} above its maximum"))
    return out


def _outside(enum: tuple[Any, ...]) -> Any:
    sample = enum[0]
    if isinstance(sample, str):
        return "not-" + "-".join(str(v) for v in enum)[:40]
    if isinstance(sample, int) and not isinstance(sample, bool):
        return max(enum) + 1
    return "not-allowed"


def _check_artifacts(op: Operation, result: Result, at_least: int, served: list[str]) -> None:
    """At least `at_least` artifacts, all of the output kind, and exactly the file URLs the
    emulator served in its answer (catalog format: document order, each URL once)."""
    where = op.qualified_id
    if op.output == "none":
        return
    kinds = [a.kind for a in result.artifacts]
    expect(
        len(kinds) >= at_least,
        where,
        "artifacts of the result",
        f"at least {at_least} artifact(s) of kind {op.output}",
        f"{len(kinds)}: {kinds}",
    )
    wrong = [k for k in kinds if k != op.output]
    expect(not wrong, where, "artifact kinds", f"every artifact of kind {op.output}", f"{kinds}")
    problems = artifact_problems(served, [a.url for a in result.artifacts])
    expect(
        problems is None,
        where,
        "artifact URLs",
        f"the {len(served)} file URL(s) the emulator served, in document order, each once "
        f"({', '.join(served) or 'none'})",
        str(problems),
    )


def _shown(value: str | None, credentials: Mapping[str, str]) -> str:
    """A header value with the credentials in it named, not shown (a Basic token too)."""
    if value is None:
        return "(not sent)"
    names = list(credentials)
    for user, password in ((u, p) for u in names for p in names if u != p):
        pair = f"{credentials[user]}:{credentials[password]}".encode()
        value = value.replace(base64.b64encode(pair).decode(), f"<base64 of {user}:{password}>")
    for name, secret in credentials.items():
        value = value.replace(secret, f"<{name}>")
    return repr(value)
