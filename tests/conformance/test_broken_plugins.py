"""A deliberately broken plugin fails the conformance suite, and the failure names the problem.

Each test writes a test module holding one broken variant of a provider (the built-in
Tomoviee, with one strategy replaced or wrapped by a plugin through the public hooks, as a
third party would) and a `ProviderConformance` subclass that registers it through
`plugins`; pytester runs the suite on it in-process. Only `text_to_music` and the checks the
break concerns run, so each run takes a few seconds.
"""

from __future__ import annotations

import sys
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


INNER = ("-q", "--tb=native", "-p", "no:cacheprovider")
"""The inner runs' options. Every message these tests look for is the failure's own text,
which Python's native traceback prints whole, as pytest's long one does; the long one also
parsed each source file in the traceback (the suite's check modules) to show its statements:
about a fifth of these tests' CPU."""


def run_suite(pytester: pytest.Pytester, plugin: str, checks: str) -> tuple[pytest.RunResult, str]:
    """Run the checks matching `checks` (a -k expression: the ones the break concerns, to
    keep each run short) on the broken variant; the result and its output."""
    pytester.makepyfile(test_broken=HEADER + textwrap.dedent(plugin) + CLASS)
    result = pytester.runpytest_inprocess(*INNER, "-k", checks)
    return result, result.stdout.str()


def failed_checks(output: str) -> set[str]:
    """The names of the checks the short summary lists as failed (its lines carry the failure
    message after " - " when pytest does not clip them, as under CI=true)."""
    return {
        line.split(" - ", 1)[0].split("::")[-1].split("[")[0]
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
        "credentials",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_checks(output) == {"test_credentials_are_sent_as_declared"}
    assert (
        "tomoviee.text_to_music: credentials sent as declared (auth kind basic): "
        "expected header Authorization: 'Basic <base64 of app_key:app_secret>'" in output
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
        "status",
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
        "lost",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_checks(output) == {"test_lost_submit_answer_is_never_retried"}
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
        "leak",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_checks(output) == {"test_no_credential_leaks"}
    assert (
        "tomoviee.text_to_music: no credential in logs, errors, reprs, the journal or files: "
        "expected the app_secret credential nowhere; saw it in a DEBUG log record of logger "
        "'leaky_plugin'" in output
    )


def test_careless_results_and_a_dropped_progress_fail_naming_each(
    pytester: pytest.Pytester,
) -> None:
    result, output = run_suite(
        pytester,
        """
        import attrs

        from mediagen.plugin import Artifact


        class CarelessResults:
            \"\"\"Calls every file a video, and trusts the payload's shape.\"\"\"

            def artifacts(self, op, payload):
                return tuple(Artifact(url=u, kind="video") for u in payload["audio_path"])


        class NoProgress(CatalogTaskStrategy):
            def status(self, op, data):
                return attrs.evolve(super().status(op, data), progress=None)


        class Broken:
            @hookimpl
            def mediagen_result_parser(self, provider):
                return CarelessResults() if provider.name == "tomoviee" else None

            @hookimpl
            def mediagen_task_strategy(self, provider):
                return NoProgress(provider) if provider.name == "tomoviee" else None
        """,
        "round_trip or artifacts or progress or fuzz",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_checks(output) == {
        "test_round_trip",
        "test_several_artifacts_when_the_count_says_so",
        "test_progress_is_read",
        "test_fuzzed_answers_end_in_a_mediagen_error",
    }
    assert (
        "tomoviee.text_to_music: artifact kinds: expected every artifact of kind audio; "
        "saw ['video']" in output
    )
    assert (
        "tomoviee.text_to_music: progress read (catalog task.progress_field: progress): "
        "expected progress 42; "
        "saw progress None" in output
    )
    assert (
        "tomoviee.text_to_music: a fuzzed answer: expected a result or a MediagenError; "
        "saw KeyError: 'audio_path'" in output
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
    result = pytester.runpytest_inprocess(*INNER)
    output = result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED  # collection errors
    assert "no installed mediagen plugin registers provider 'nosuch'" in output
    assert "install the plugin (pip install -e .)" in output
    assert "TestWrongOperationConformance: edrawmax has no operation sankey; it has" in output


def test_params_the_operation_refuses_are_named_with_the_fix(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_params="""
        from mediagen.testing.conformance import ProviderConformance


        class TestBadParamsConformance(ProviderConformance):
            provider = "edrawmax"
            operations = ["flowchart"]
            params = {"flowchart": {"lang": "xx"}}
        """
    )
    result = pytester.runpytest_inprocess(*INNER, "-k", "round_trip")
    output = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        "edrawmax.flowchart: minimal params (derived from the catalog, then the class's "
        "`params`): expected params the operation accepts; saw edrawmax.flowchart: lang='xx'"
    ) in output
    assert "give valid ones in the class: params = {'flowchart': {...}}" in output


STALE_CLASS = """
from mediagen_stalecat.plugin import plugin
from mediagen.testing.conformance import ProviderConformance


class TestStaleConformance(ProviderConformance):
    provider = "stalecat"
    plugins = [plugin]
"""


def test_a_catalog_edited_without_regenerating_fails_naming_the_stale_files(
    pytester: pytest.Pytester,
) -> None:
    """A `new-plugin` package whose catalog raised a maximum (4 to 12) without `mediagen
    generate`: describe would say 12 while the generated model refuses 12 (issue 9)."""
    from mediagen.scaffold import create_plugin

    root = pytester.path / "stalecat"
    create_plugin("stalecat", root)
    operations = root / "mediagen_stalecat" / "catalog" / "stalecat" / "operations.yaml"
    text = operations.read_text(encoding="utf-8")
    assert "maximum: 4" in text
    operations.write_text(text.replace("maximum: 4", "maximum: 12", 1), encoding="utf-8")
    pytester.syspathinsert(root)
    module = pytester.makepyfile(test_stale=STALE_CLASS)
    result = pytester.runpytest_inprocess(module, *INNER, "-k", "generated")
    output = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert failed_checks(output) == {"test_generated_package_is_up_to_date"}
    assert f"generated package is stale: run `mediagen generate` in {root}" in output
    assert "stale: stalecat/models.py" in output


def test_without_the_code_generator_the_generated_check_is_skipped_saying_why(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)  # imports as a missing package would
    pytester.makepyfile(
        test_plain="""
from mediagen.testing.conformance import ProviderConformance


class TestTomovieeConformance(ProviderConformance):
    provider = "tomoviee"
"""
    )
    result = pytester.runpytest_inprocess("-q", "-rs", "-p", "no:cacheprovider", "-k", "generated")
    output = result.stdout.str()
    result.assert_outcomes(skipped=1)
    assert "the code generator is not installed (jinja2 missing)" in output
    assert "pip install 'mediagen[codegen]'" in output
