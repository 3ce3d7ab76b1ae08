"""`mediagen new-plugin`: bad input is refused writing nothing, and what it creates works at once.

Issue 9's "done when", run as a user would (from an empty folder `mediagen new-plugin zeta`,
`pip install -e`, `mediagen list zeta`, `mediagen run zeta ... --emulate --json`, `mediagen
generate --check` and `pytest` in the new package, then the name is taken), is the tutorial's
test (tests/plugins/test_docs_plugin_page.py): it ran the same new-plugin, install and list as
this file's own end-to-end test did, in a virtualenv of its own.
"""

from __future__ import annotations

import ast
import os
import warnings
from pathlib import Path

import pytest
from cli_zygote import Zygote

from mediagen.cli import main
from mediagen.cli.common import DEFAULT_OUTPUT
from mediagen.codegen.generate import check
from mediagen.scaffold import PluginNames, mediagen_requirement, render_files


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the command, expect exit 2 and one line on stderr; return that line."""
    assert main(["new-plugin", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mediagen: error: "), captured.err
    return lines[0]


@pytest.mark.parametrize("name", ["Zeta", "9lives", "my-vendor", "zeta!", "_zeta", "class", ""])
def test_a_name_that_is_not_a_lowercase_identifier_is_refused(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    line = refused(capsys, name, "--output", "out")
    problem = "is a Python keyword" if name == "class" else "is not allowed"
    assert f"provider name {name!r} {problem}: use a lowercase Python identifier" in line
    assert "not a keyword (a letter a-z, then letters a-z, digits or _" in line
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("name", ["mediaio", "tomoviee", "edrawmax"])
def test_a_built_in_provider_is_refused(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    line = refused(capsys, name)
    assert f"provider {name!r} already exists" in line and "choose another name" in line
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("name", ["mediagen", "mediagen_extra"])
def test_a_name_like_mediagen_itself_is_refused(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    line = refused(capsys, name, "--output", "out")
    assert (
        f"provider name {name!r} is not allowed: it would make the package mediagen_{name}" in line
    )
    assert "without a mediagen prefix" in line
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("name", ["task", "download", "provider", "journal", "close"])
def test_a_name_that_a_client_method_would_shadow_is_refused(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    line = refused(capsys, name, "--output", "out")
    assert f"provider name {name!r} is not allowed: `client.{name}` is already a client" in line
    assert "must not be one of: " in line and "download" in line and "with_options" in line
    assert files_under(tmp_path) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc, where mkdir fails")
def test_a_folder_that_cannot_be_created_is_a_one_line_refusal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = refused(capsys, "zeta", "--output", "/proc/nope")
    assert line.startswith("mediagen: error: cannot create /proc/nope: ")
    assert "give a folder you can write to with --output DIR" in line
    assert "[Errno" not in line


def test_a_folder_that_is_not_empty_or_is_a_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "a-file").write_text("mine", encoding="utf-8")
    before = files_under(tmp_path)

    line = refused(capsys, "zeta", "--output", "taken")
    assert "taken is a folder that is not empty" in line and "new or empty folder" in line
    line = refused(capsys, "zeta", "--output", "a-file")
    assert "a-file exists and is not a folder" in line
    assert files_under(tmp_path) == before


def test_without_the_code_generator_it_says_what_to_install(
    tmp_path: Path, cli_zygote: Zygote
) -> None:
    # An import of None in sys.modules fails as a missing package would. In a process of its
    # own (forked: cli_zygote, which never imports the code generator), this one may have.
    script = (
        "import sys\n"
        "loaded = ('datamodel_code_generator', 'mediagen.codegen', 'mediagen.scaffold')\n"
        "assert not [m for m in sys.modules if m.startswith(loaded)], 'imported already'\n"
        "sys.modules['datamodel_code_generator'] = None\n"
        "from mediagen.cli import main\n"
        "sys.exit(main(['new-plugin', 'zeta', '--output', 'zeta']))\n"
    )
    done = cli_zygote.run(cwd=tmp_path, env=dict(os.environ), timeout=120, code=script)
    assert done.returncode == 2
    assert done.stderr == (
        "mediagen: error: new-plugin runs the code generator, which needs "
        "datamodel_code_generator: pip install 'mediagen[codegen]'\n"
    )
    assert files_under(tmp_path) == []


def test_it_fills_an_empty_default_folder_with_a_package_that_matches_its_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mediagen-my-vendor").mkdir()  # the default folder, already there and empty

    assert main(["new-plugin", "my_vendor"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith(
        "created mediagen-my-vendor/: provider my_vendor, distribution mediagen-my-vendor, "
        "package mediagen_my_vendor"
    )
    assert "pip install -e 'mediagen-my-vendor[dev]'  # with its tests' needs (pytest)\n" in shown

    root = tmp_path / "mediagen-my-vendor"
    package = root / "mediagen_my_vendor"
    assert files_under(tmp_path) == [
        "mediagen-my-vendor",
        *(f"mediagen-my-vendor/{f}" for f in files_under(root)),
    ]
    assert check(package / "catalog", package / "generated").clean
    assert (package / "generated" / "my_vendor" / "endpoints.py").is_file()

    plugin = ast.parse((package / "plugin.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(plugin) if isinstance(node, ast.ImportFrom)} | {
        alias.name
        for node in ast.walk(plugin)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert {m for m in imported if m and m.startswith("mediagen")} == {"mediagen.plugin"}

    test_module = (root / "tests" / "test_conformance.py").read_text(encoding="utf-8")
    assert "class TestMyVendorConformance(ProviderConformance):" in test_module
    assert 'provider = "my_vendor"' in test_module
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert 'my_vendor = "mediagen_my_vendor.plugin:plugin"' in pyproject
    ignored = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert f"{DEFAULT_OUTPUT}/" in ignored  # what `mediagen run` writes by default
    assert f'"{mediagen_requirement("0.1.0")}"' in pyproject


def test_the_mediagen_pin_is_the_release_series() -> None:
    assert mediagen_requirement("0.1.0") == "mediagen>=0.1.0,<0.2"
    assert mediagen_requirement("1.2.3") == "mediagen>=1.2.3,<2"
    assert mediagen_requirement("unknown") == "mediagen>=unknown"


def test_output_names_the_folder_it_fills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--output DIR` (the tutorial's test uses the default folder): the package goes there."""
    monkeypatch.chdir(tmp_path)
    assert main(["new-plugin", "zeta", "--output", "zeta"]) == 0
    assert capsys.readouterr().out.startswith(
        "created zeta/: provider zeta, distribution mediagen-zeta, package mediagen_zeta"
    )
    assert files_under(tmp_path)[0] == "zeta"
    package = tmp_path / "zeta" / "mediagen_zeta"
    assert check(package / "catalog", package / "generated").clean
    assert 'zeta = "mediagen_zeta.plugin:plugin"' in (
        tmp_path / "zeta" / "pyproject.toml"
    ).read_text(encoding="utf-8")


def test_the_package_data_ships_every_file_the_catalog_folder_may_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A built (non-editable) plugin keeps its whole catalog folder: the loader reads the
    operations file provider.yaml names, whatever its extension (`.json` is JSON, any other
    YAML) and folder, and the compiled catalog is used only while the digest of every file
    there matches. setuptools' own build_py, reading the rendered pyproject as a wheel build
    does, lists the files it would put in the wheel."""
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    for rel, text in render_files(PluginNames.for_provider("zeta")).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    folder = tmp_path / "mediagen_zeta" / "catalog" / "zeta"
    for extra in ("operations.json", "operations.yml", "ops/images.yaml", "NOTES.md"):
        (folder / extra).parent.mkdir(parents=True, exist_ok=True)
        (folder / extra).write_text("{}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    dist = Distribution()
    with warnings.catch_warnings():  # setuptools' note that [tool.setuptools] is "beta"
        warnings.simplefilter("ignore")
        apply_configuration(dist, tmp_path / "pyproject.toml")
    dist.include_package_data = False  # package-data alone, not files a MANIFEST.in would add
    build = dist.get_command_obj("build_py")
    build.ensure_finalized()
    shipped = {
        (tmp_path / src_dir / name).resolve()
        for _package, src_dir, _build_dir, names in build.data_files
        for name in names
    }
    catalog_files = {p.resolve() for p in folder.rglob("*") if p.is_file()}
    assert len(catalog_files) == 6
    assert catalog_files - shipped == set()
    assert (tmp_path / "mediagen_zeta" / "py.typed").resolve() in shipped
