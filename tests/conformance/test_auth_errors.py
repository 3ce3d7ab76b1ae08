"""The conformance suite on an auth strategy that raises: a strategy quoting the credential
in what it raises fails the leak check, naming the leak and the fix; one that raises without
quoting it passes (the suite's own setup survives it).

As in test_broken_plugins.py, each test writes a module holding the built-in Tomoviee with its
auth strategy wrapped by a plugin (through the public hook, as a third party would) and runs
the suite's leak check on `text_to_music` in-process with pytester.
"""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

MODULE = """
from mediagen.plugin import AuthenticationError, hookimpl
from mediagen.testing.conformance import ProviderConformance


class RefusingAuth:
    \"\"\"Tomoviee's auth, refusing the suite's wrong app secret the way `refuse` says.\"\"\"

    def __init__(self, inner):
        self.inner = inner

    def headers(self, credentials):
        secret = credentials["app_secret"]
        if "wrong" in secret:
            {refuse}
        return self.inner.headers(credentials)


class Refusing:
    @hookimpl(wrapper=True)
    def mediagen_auth(self, provider):
        inner = yield
        return RefusingAuth(inner) if provider.name == "tomoviee" else inner


class TestRefusingConformance(ProviderConformance):
    provider = "tomoviee"
    operations = ["text_to_music"]
    plugins = [Refusing()]
"""


def run_leak_check(pytester: pytest.Pytester, refuse: str) -> tuple[pytest.RunResult, str]:
    pytester.makepyfile(test_refusing=textwrap.dedent(MODULE.format(refuse=refuse)))
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "-k", "credential_leaks")
    return result, result.stdout.str()


def test_an_auth_error_quoting_the_secret_fails_naming_the_leak_and_the_fix(
    pytester: pytest.Pytester,
) -> None:
    result, output = run_leak_check(
        pytester, 'raise AuthenticationError(f"app secret {secret} was refused")'
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    shown = " ".join(output.split())
    assert (
        "tomoviee.text_to_music: no credential in what the auth strategy raises: expected the "
        "app_secret credential nowhere; saw RefusingAuth raising AuthenticationError with it "
        "in its text: 'app secret <app_secret> was refused" in shown
    )
    assert "; name the credential, never quote its value, and raise without chaining" in shown
    assert "-wrong-7f3a9c" not in output  # the suite names the leak without repeating it


def test_an_auth_error_chaining_the_secret_fails_naming_the_chain(
    pytester: pytest.Pytester,
) -> None:
    result, output = run_leak_check(
        pytester,
        "try:\n                {}[secret]\n            except KeyError as exc:\n"
        '                raise AuthenticationError("the app secret was refused") from exc',
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert (
        "saw RefusingAuth raising AuthenticationError with it in the text of the KeyError "
        "chained to it: \"'<app_secret>'\"" in " ".join(output.split())
    )


def test_an_auth_error_naming_no_secret_passes(pytester: pytest.Pytester) -> None:
    result, output = run_leak_check(pytester, 'raise KeyError("app_secret")')
    assert result.ret == pytest.ExitCode.OK, output
    assert "1 passed" in output
