"""An installed plugin whose catalog does not load: the suite and `mediagen plugins` say why.

The plugin is a stand-in entry point (what importlib.metadata returns for an installed
distribution) of a `ProviderPlugin` whose provider.yaml has a key mediagen does not know;
nothing is installed into the environment.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import Dist, StandInEntryPoint

from mediagen.plugin import ProviderPlugin

pytest_plugins = ["pytester"]

PROVIDER_YAML = """\
format: mediagen-provider/2
name: zeta
title: Zeta
base_url: https://api.zeta.example
credential_hosts: [api.zeta.example]
auth: {kind: none}
colour: blue
"""


@pytest.fixture
def broken_zeta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`zeta` installed (as an entry point of mediagen-zeta), its catalog broken; the
    provider.yaml it reads."""
    catalog = tmp_path / "catalog" / "zeta"
    catalog.mkdir(parents=True)
    (catalog / "provider.yaml").write_text(PROVIDER_YAML, encoding="utf-8")
    (catalog / "operations.yaml").write_text(
        "format: mediagen-operations/1\noperations: []\n", encoding="utf-8"
    )
    plugin = ProviderPlugin("zeta", catalog=catalog, generated="mediagen_zeta.generated")
    installed = [
        StandInEntryPoint(
            "zeta", plugin, Dist("mediagen-zeta", "0.1.0"), "mediagen_zeta.plugin:plugin"
        )
    ]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: list(installed))
    monkeypatch.delenv("MEDIAGEN_PLUGINS", raising=False)
    from mediagen import registry

    monkeypatch.setattr(registry, "_default", None)
    yield catalog / "provider.yaml"


def test_the_suite_reports_the_catalog_problem_not_a_missing_plugin(
    broken_zeta: Path, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(
        test_zeta="""
        from mediagen.testing.conformance import ProviderConformance


        class TestZetaConformance(ProviderConformance):
            provider = "zeta"
        """
    )
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    output = " ".join(result.stdout.str().split())  # pytest wraps long lines
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error
    assert "no installed mediagen plugin registers" not in output
    assert (
        "provider 'zeta' cannot be tested: mediagen plugin 'zeta': its provider catalog does "
        "not load:"
    ) in output
    assert str(broken_zeta) in output and "colour" in output


def test_the_plugins_command_lists_the_problem_under_the_plugin(
    broken_zeta: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mediagen.cli import main

    assert main(["plugins", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (zeta,) = [p for p in report["plugins"] if p["name"] == "zeta"]
    (problem,) = zeta["problems"]
    assert problem.startswith(
        "mediagen plugin 'zeta' (distribution mediagen-zeta): its provider catalog does not load:"
    )
    assert str(broken_zeta) in problem and "colour" in problem
    assert problem.endswith("; its providers are disabled")
    assert report["problems"] == [problem]
    assert all(p["problems"] == [] for p in report["plugins"] if p["name"] != "zeta")

    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    assert f"zeta (mediagen-zeta 0.1.0)\n  problem: {problem}\n" in text
    assert "problems:" not in text  # shown once, under its plugin
