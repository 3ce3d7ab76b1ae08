"""A deliberately broken plugin fails the conformance suite, and the failure names the problem.

Each test writes a test module holding one broken variant of a provider (the built-in
Tomoviee, with one strategy replaced or wrapped by a plugin through the public hooks, as a
third party would) and a `ProviderConformance` subclass that registers it through
`plugins`; pytester runs the suite on it in-process. Only `text_to_music` is checked, so each
run takes seconds.
"""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

HEADER = """
import logging

from mediagen.plugin import (
    CatalogTaskStrategy,
    MalformedResponseError,
    RateLimitError,
    hookimpl,
)
from mediagen.testing.conformance import ProviderConformance
"""

CLASS = """

class TestBrokenConformance(ProviderConformance):
    provider = "tomoviee"
    operations = ["text_to_music"]
    plugins = [Broken()]
"""


def run_suite(pytester: pytest.Pytester, plugin: str) -> tuple[pytest.RunResult, str]:
    pytester.makepyfile(test_broken=HEADER + textwrap.dedent(plugin) + CLASS)
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "-p", "no:randomly")
    return result, result.stdout.str()


def failed_checks(output: str) -> set[str]:
    """The names of the checks the short summary lists as failed."""
    return {
        line.split("::")[-1].split("[")[0]
        for line in output.splitlines()
        if line.startswith("FAILED ")
    }


def test_a_wrong_auth_header_fails_naming_the_header(pytester: pytest.Pytester) -> None:
    result, output = run_suite(
        pytester,
        '''
        class BearerAuth:
            """Sends the secret as a bearer token: the catalog says Basic app_key:app_secret."""

            def headers(self, credentials):
                return {
                    "X-App-Key": credentials["app_key"],
                    "Authorization": "Bearer " + credentials["app_secret"],
                }


        class Broken:
            @hookimpl
            def mediagen_auth(self, provider):
                return BearerAuth() if provider.name == "tomoviee" else None
        ''',
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "test_credentials_are_sent_as_declared" in failed_checks(output)
    assert (
        "tomoviee.text_to_music: credentials sent as declared (auth kind basic): "
        "expected header Authorization: 'Basic " in output
    )
    assert "saw header Authorization: 'Bearer <app_secret>'" in output


def test_an_unmapped_vendor_status_fails_naming_the_word(pytester: pytest.Pytester) -> None:
    result, output = run_suite(
        pytester,
        """
        KNOWN = {1, 2, 3, 4, 6}  # 5 (cancelled) forgotten


        class HandMappedStates(CatalogTaskStrategy):
            def status(self, op, data):
                if data.get("status") not in KNOWN:
                    raise MalformedResponseError(f"unknown task status {data.get('status')!r}")
                return super().status(op, data)


        class Broken:
            @hookimpl
            def mediagen_task_strategy(self, provider):
                return HandMappedStates(provider) if provider.name == "tomoviee" else None
        """,
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_checks(output) == {"test_vendor_status_maps_to_a_state"}
    assert "test_vendor_status_maps_to_a_state[tomoviee.text_to_music-status-5]" in output
    assert (
        "tomoviee.text_to_music: vendor status 5 (catalog: cancelled): expected state "
        "cancelled; saw MalformedResponseError" in output
    )


def test_a_retried_lost_submit_fails_naming_the_retry(pytester: pytest.Pytester) -> None:
    result, output = run_suite(
        pytester,
        '''
        class BusyOn5xx:
            """Calls any 5xx "busy, try again": a rate limit, which the engine retries even
            for a submit. But a 5xx may come after the vendor created the task."""

            def __init__(self, inner):
                self.inner = inner

            def check(self, call, response):
                if response.status >= 500:
                    raise RateLimitError("the vendor is busy", status=response.status)
                return self.inner.check(call, response)


        class Broken:
            @hookimpl(wrapper=True)
            def mediagen_error_classifier(self, provider):
                inner = yield
                return BusyOn5xx(inner) if provider.name == "tomoviee" else inner
        ''',
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "test_lost_submit_answer_is_never_retried" in failed_checks(output)
    assert (
        "tomoviee.text_to_music: a lost submit answer (HTTP 500 after the request was sent) "
        "is never retried: expected exactly 1 submit request; saw 2 submit requests" in output
    )


def test_a_key_leaked_into_a_log_fails_naming_the_credential(pytester: pytest.Pytester) -> None:
    result, output = run_suite(
        pytester,
        """
        log = logging.getLogger("leaky_plugin")


        class LoggingAuth:
            def __init__(self, inner):
                self.inner = inner

            def headers(self, credentials):
                # The mapping's repr hides its values; a value taken out of it does not.
                log.debug("signing with secret %s", credentials["app_secret"])
                return self.inner.headers(credentials)


        class Broken:
            @hookimpl(wrapper=True)
            def mediagen_auth(self, provider):
                inner = yield
                return LoggingAuth(inner) if provider.name == "tomoviee" else inner
        """,
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_checks(output) == {"test_no_credential_leaks"}
    assert (
        "tomoviee.text_to_music: no credential in logs, errors, reprs, the journal or files: "
        "expected the app_secret credential nowhere; saw it in a DEBUG log record of logger "
        "'leaky_plugin'" in output
    )


def test_a_class_that_names_no_provider_it_can_find_says_what_to_do(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_misnamed="""
        from mediagen.testing.conformance import ProviderConformance


        class TestNoSuchConformance(ProviderConformance):
            provider = "nosuch"


        class TestWrongOperationConformance(ProviderConformance):
            provider = "edrawmax"
            operations = ["flowchart", "sankey"]
        """
    )
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    output = result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED  # collection errors
    assert "no installed mediagen plugin registers provider 'nosuch'" in output
    assert "install the plugin (pip install -e .)" in output
    assert "TestWrongOperationConformance: edrawmax has no operation sankey; it has" in output
