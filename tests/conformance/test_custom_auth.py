"""A provider with custom auth: the suite's wrong-credentials check says what the author must add.

The catalog cannot tell the emulator how a custom scheme signs, so the emulator accepts any
credentials unless the plugin's emulator profile checks them in `check_auth`. The provider
here is the golden Acme catalog with its auth turned into `custom`, registered in code with
an auth strategy of its own, once without and once with such a profile.
"""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

MODULE = """
from pathlib import Path

import attrs

from mediagen.contributions import load_contributed
from mediagen.plugin import CatalogEmulatorProfile, Register, hookimpl
from mediagen.testing.conformance import ProviderConformance

GOLDEN = Path({golden!r})
ACME = load_contributed(GOLDEN, "golden")
CUSTOM = attrs.evolve(ACME, auth=attrs.evolve(ACME.auth, kind="custom"))


class KeyAuth:
    def __init__(self, provider):
        self.provider = provider

    def headers(self, credentials):
        return {{"X-Key": credentials["api_key"]}}


class CheckingEmulator(CatalogEmulatorProfile):
    def check_auth(self, headers, credentials, query):
        return None if headers.get("X-Key") == credentials["api_key"] else "wrong X-Key header"


class Custom:
    @hookimpl
    def mediagen_providers(self, register: Register) -> None:
        register(CUSTOM, generated="golden", auth=KeyAuth{emulator})


class TestCustomAuth(ProviderConformance):
    provider = "acme"
    operations = ["paint"]
    plugins = [Custom()]
"""


def run_wrong_credentials_check(pytester: pytest.Pytester, emulator: str) -> pytest.RunResult:
    from pathlib import Path

    golden = Path(__file__).resolve().parents[1] / "fixtures" / "golden_catalog" / "acme"
    source = MODULE.format(golden=str(golden), emulator=emulator)
    pytester.makepyfile(test_custom=textwrap.dedent(source))
    return pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "-k", "wrong_credentials")


def test_custom_auth_without_check_auth_fails_saying_what_to_add(
    pytester: pytest.Pytester,
) -> None:
    result = run_wrong_credentials_check(pytester, "")
    output = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert "acme.paint: wrong credentials: expected AuthenticationError; saw a result" in output
    assert (
        "custom auth: the emulator accepts any credentials unless your emulator profile's "
        "check_auth checks them; see docs/writing-a-plugin.md §4"
    ) in output


def test_custom_auth_with_check_auth_passes_the_check(pytester: pytest.Pytester) -> None:
    result = run_wrong_credentials_check(pytester, ", emulator=CheckingEmulator")
    result.assert_outcomes(passed=1)
