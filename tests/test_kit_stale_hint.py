"""A catalog edited without `mediagen generate`: `describe` shows the new value, `run` refuses
it through the old generated model, and the refusal says why and what to run.

The plugin is a `mediagen new-plugin` package whose `aspect_ratio` gained "4:3" in its catalog
only; the CLI's `main()` runs with a registry holding it (as an installed plugin would be).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mediagen import registry
from mediagen.cli import main
from mediagen.codegen.generate import write
from mediagen.plugin import ProviderPlugin
from mediagen.scaffold import PluginNames, render_files

HINT = "the generated package is older than the catalog: run `mediagen generate`"


@pytest.fixture
def stale_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    root = tmp_path / "mediagen-stalekit"
    for rel, text in render_files(PluginNames.for_provider("stalekit")).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    package = root / "mediagen_stalekit"
    write(package / "catalog", package / "generated")  # conftest keeps renders for the run
    operations = package / "catalog" / "stalekit" / "operations.yaml"
    text = operations.read_text(encoding="utf-8")
    assert 'enum: ["1:1", "16:9", "9:16"]' in text
    operations.write_text(
        text.replace('enum: ["1:1", "16:9", "9:16"]', 'enum: ["1:1", "16:9", "9:16", "4:3"]'),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(root))
    plugin = ProviderPlugin(
        "stalekit",
        catalog=package / "catalog" / "stalekit",
        generated="mediagen_stalekit.generated",
    )
    found = registry.Registry(entry_points=False)
    found.register(plugin, name="stalekit")
    monkeypatch.setattr(registry, "_default", found)
    yield


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["run", "stalekit", "text_to_image", *argv, "--emulate"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_a_value_the_catalog_allows_and_the_old_model_refuses_says_to_regenerate(
    stale_plugin: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["describe", "stalekit", "text_to_image"]) == 0
    described = capsys.readouterr().out
    assert "allowed: 1:1, 16:9, 9:16, 4:3\n" in described  # the edited catalog
    assert f"  stale: {HINT} (calls are checked by its models until then)\n" in described
    line = run(capsys, "prompt=a kite", "aspect_ratio=4:3")
    assert line.startswith("mediagen: error: stalekit.text_to_image: aspect_ratio='4:3' ")
    assert line.endswith(f"; {HINT}") and line.count(HINT) == 1


def test_the_library_s_refusal_by_a_stale_model_says_to_regenerate_too(stale_plugin: None) -> None:
    """From Python (the generated model a client call builds), the same refusal carries the
    same hint: a value refused, and a key the old model does not know."""
    from mediagen.errors import ParamError
    from mediagen.params import model_for

    model = model_for("stalekit.text_to_image")
    with pytest.raises(ParamError) as refused:
        model(prompt="a kite", aspect_ratio="4:3")  # type: ignore[call-arg]
    assert str(refused.value).endswith(f"; {HINT}")
    with pytest.raises(ParamError) as unknown:
        model.from_dict({"prompt": "a kite", "style": "x"})
    assert str(unknown.value).endswith(f"; {HINT}")
    tomoviee = model_for("tomoviee.text_to_video")
    with pytest.raises(ParamError) as fresh:
        tomoviee.from_dict({"prompt": "x", "duration": 7})
    assert HINT not in str(fresh.value)


def test_the_hint_is_only_for_a_generated_package_older_than_the_catalog(
    stale_plugin: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # An up-to-date provider refusing a value: no hint; its description says nothing of it.
    assert main(["describe", "tomoviee", "text_to_video"]) == 0
    assert "stale:" not in capsys.readouterr().out
    assert main(["run", "tomoviee", "text_to_video", "prompt=x", "duration=7", "--emulate"]) == 2
    assert HINT not in capsys.readouterr().err
    # The stale provider refusing a value for another reason: the hint still holds (its model
    # is older than the catalog), and says what to run.
    assert run(capsys, "prompt=a kite", "n=9").endswith(f"; {HINT}")


def test_a_batch_line_the_old_model_refuses_says_to_regenerate(
    stale_plugin: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`batch` validates every line before sending anything: a line the stale model refuses
    carries the same hint as `run`; a line refused by an up-to-date provider does not."""
    lines = tmp_path / "items.jsonl"
    lines.write_text(
        '{"provider": "stalekit", "operation": "text_to_image",'
        ' "params": {"prompt": "a kite", "aspect_ratio": "4:3"}}\n'
        '{"provider": "tomoviee", "operation": "text_to_video",'
        ' "params": {"prompt": "x", "duration": 7}}\n',
        encoding="utf-8",
    )
    journal = str(tmp_path / "journal.sqlite3")
    assert main(["batch", str(lines), "--journal", journal, "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    first, second = err.split("; line 2: ")
    assert "line 1: stalekit.text_to_image: aspect_ratio='4:3' " in first
    assert first.endswith(f"; {HINT}")
    assert HINT not in second
    assert not (tmp_path / "out").exists()


def test_a_refusal_never_builds_the_registry_for_the_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """A library process that has built no registry (no client, no `model_for`) gets the
    model's refusal as it is: the hint's check loads no plugin."""
    from mediagen.errors import ParamError
    from mediagen.generated.tomoviee.models import TextToVideoParams

    monkeypatch.setattr(registry, "_default", None)
    with pytest.raises(ParamError, match="duration=7") as refused:
        TextToVideoParams(prompt="x", duration=7)  # type: ignore[arg-type]
    assert HINT not in str(refused.value)
    assert registry.built_default_registry() is None
